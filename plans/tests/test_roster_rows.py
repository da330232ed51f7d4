"""Row- and unit-level findings of the roster check (CONTRACTS §2), one code per test.

Each roster has the template header in row 1 (序号 in A, 姓名 B, 性别 C, 身份证号 D, 出生日期 E,
手机号码 F, 用工类型 G, 职业类别 H, 是否参加医保 I, 份数 J, 高危行业 K, 银行卡号 L, 备注 M), so
the first person is row 2.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from plans.engine.findings import ERROR, ROW_CODES, WARNING
from plans.engine.roster import check_roster
from plans.tests.roster_builders import (
    COVERAGE_START,
    HEADER,
    HEADER_KEYS,
    TODAY,
    make_id,
    person,
    plan_rules,
    write_roster,
)

JILIN = "jilin-allowance-2020"


def run(tmp_path, people, *, plan=JILIN, rules=None, header=HEADER, keys=HEADER_KEYS, **kwargs):
    path = write_roster(tmp_path / "roster.xlsx", people, header=header, keys=keys)
    return check_roster(
        path,
        rules=rules or plan_rules(plan),
        plan_code=plan,
        coverage_start=kwargs.pop("coverage_start", COVERAGE_START),
        today=kwargs.pop("today", TODAY),
        **kwargs,
    )


def only(result, code):
    found = [f for f in result.findings if f.code == code]
    assert len(found) == 1, result.findings
    return found[0]


def test_a_valid_roster_has_no_findings_and_the_fee_of_every_row(tmp_path):
    result = run(tmp_path, [person(1), person(2), person(3)])

    assert result.findings == []
    assert (result.rows, result.valid_rows) == (3, 3)
    assert result.fee_total == Decimal("330.00")
    assert [row.row for row in result.valid] == [2, 3, 4]
    first = result.valid[0]
    assert first.ok and first.fee == Decimal("110.00")
    assert first.birth_date == datetime.date(1988, 3, 20) and first.gender == "M"
    assert result.sheet_name == "参保名单" and result.header_row == 1
    assert result.columns["id_number"] == (3, "身份证号")


@pytest.mark.parametrize(
    ("key", "header", "column"),
    [
        ("name", "姓名", 1),
        ("id_number", "身份证号", 3),
        ("phone", "手机号码", 5),
        ("employment_type", "用工类型", 6),
        ("medical_insurance", "是否参加医保", 8),
    ],
)
def test_required_missing_for_each_required_column(tmp_path, key, header, column):
    result = run(tmp_path, [person(1), person(2, **{key: None})])

    finding = only(result, "required_missing")
    assert (finding.row, finding.column, finding.col, finding.level) == (3, header, column, ERROR)
    assert "必填" in finding.message
    assert result.valid_rows == 1 and result.fee_total == Decimal("110.00")


def test_name_longer_than_30_characters_is_invalid(tmp_path):
    result = run(tmp_path, [person(1, name="  " + "长" * 31 + "  "), person(2, name="长" * 30)])

    finding = only(result, "name_invalid")
    assert (finding.row, finding.column, finding.level) == (2, "姓名", ERROR)
    assert "30" in finding.message


def test_name_with_digits_is_invalid(tmp_path):
    finding = only(run(tmp_path, [person(1, name="张三2")]), "name_invalid")
    assert (finding.row, finding.column) == (2, "姓名")
    assert "数字" in finding.message


def test_id_of_wrong_length_is_id_format(tmp_path):
    finding = only(run(tmp_path, [person(1, id_number=make_id()[:17])]), "id_format")
    assert (finding.row, finding.column, finding.level) == (2, "身份证号", ERROR)
    assert "17位" in finding.message


def test_id_stored_as_a_number_tells_to_format_the_column_as_text(tmp_path):
    number = float(make_id()[:17] + "1")
    result = run(tmp_path, [person(1, id_number=number), person(2, id_number=number)])
    finding = result.findings[0]
    assert (finding.code, finding.row, finding.column) == ("id_format", 2, "身份证号")
    assert "文本" in finding.message
    # The rounded digits are not an ID: no duplicate is claimed, and the row keeps no ID.
    assert [f.code for f in result.findings] == ["id_format", "id_format"]
    assert result.all_rows[0].id_number == ""


@pytest.mark.parametrize("reader", ["calamine", "streaming"])
@pytest.mark.parametrize("kind", [int, float, Decimal])
def test_a_number_cell_is_never_an_id_even_an_intact_18_digit_integer(
    tmp_path, monkeypatch, reader, kind
):
    """openpyxl's streaming reader gives a plain 18-digit ``<v>`` as an exact int; calamine a
    float. Either way the cell was a number, and 220102199003070064 became 220102199003070080
    (valid too) on its way through a double: never accepted, whichever reader reads it."""
    from plans.engine import roster as roster_module

    if reader == "streaming":
        monkeypatch.setattr(roster_module, "_CalamineBook", roster_module._OpenpyxlBook)
    valid = make_id(datetime.date(1990, 3, 7), 32, "F")
    result = run(tmp_path, [person(1, id_number=kind(valid), sex="F"), person(2)])
    finding = only(result, "id_format")
    assert (finding.row, finding.column) == (2, "身份证号")
    assert "文本格式" in finding.message
    assert result.valid_rows == 1 and result.all_rows[0].id_number == ""


def test_id_with_a_wrong_check_digit_is_id_checksum(tmp_path):
    good = make_id()
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    finding = only(run(tmp_path, [person(1, id_number=bad)]), "id_checksum")
    assert (finding.row, finding.column, finding.level) == (2, "身份证号", ERROR)


def _with_check_digit(first17: str) -> str:
    from plans.engine.identity import id_check_digit

    return first17 + id_check_digit(first17)


@pytest.mark.parametrize("birth", ["19901332", "20261201"])
def test_id_with_an_impossible_or_future_birth_date_is_id_birthdate_invalid(tmp_path, birth):
    number = _with_check_digit(f"220102{birth}123")
    finding = only(run(tmp_path, [person(1, id_number=number)]), "id_birthdate_invalid")
    assert (finding.row, finding.column, finding.level) == (2, "身份证号", ERROR)


def test_gender_that_differs_from_the_id_is_gender_mismatch(tmp_path):
    finding = only(run(tmp_path, [person(1, gender="女")]), "gender_mismatch")
    assert (finding.row, finding.column, finding.level) == (2, "性别", ERROR)
    assert "女" in finding.message and "男" in finding.message


def test_unreadable_gender_is_value_invalid_naming_the_accepted_values(tmp_path):
    finding = only(run(tmp_path, [person(1, gender="未知")]), "value_invalid")
    assert (finding.row, finding.column) == (2, "性别")
    assert "男" in finding.message and "女" in finding.message


def test_gender_m_and_f_are_accepted(tmp_path):
    result = run(tmp_path, [person(1, gender="M"), person(2, sex="F", gender="f")])
    assert result.findings == []


def test_birth_date_that_differs_from_the_id_is_birthdate_mismatch(tmp_path):
    finding = only(run(tmp_path, [person(1, birth_date="1988-03-21")]), "birthdate_mismatch")
    assert (finding.row, finding.column, finding.level) == (2, "出生日期", ERROR)
    assert "1988-03-20" in finding.message


def test_unreadable_birth_date_is_value_invalid_saying_it_cannot_be_read(tmp_path):
    finding = only(run(tmp_path, [person(1, birth_date="八五年六月")]), "value_invalid")
    assert (finding.row, finding.column) == (2, "出生日期")
    assert "无法识别" in finding.message and "1990年1月2日" in finding.message


def test_impossible_birth_date_is_value_invalid_naming_the_accepted_forms(tmp_path):
    finding = only(run(tmp_path, [person(1, birth_date="1990年2月30日")]), "value_invalid")
    assert (finding.row, finding.column, finding.level) == (2, "出生日期", ERROR)
    assert "不是真实存在的日期" in finding.message and "19900102" in finding.message


@pytest.mark.parametrize(
    "value",
    [
        datetime.date(1988, 3, 20),
        datetime.datetime(1988, 3, 20),
        "1988-03-20",
        "1988/3/20",
        "19880320",
        "1988年3月20日",
        "１９８８年３月２０日",
    ],
)
def test_birth_date_in_every_accepted_form_matches(tmp_path, value):
    assert run(tmp_path, [person(1, birth_date=value)]).findings == []


def test_age_below_the_minimum_on_the_coverage_start(tmp_path):
    # 16 is the minimum: born 2010-01-01 is 16 on 2026-01-01, born a day later is 15.
    people = [
        person(1, birth=datetime.date(2010, 1, 1)),
        person(2, birth=datetime.date(2010, 1, 2)),
    ]
    finding = only(run(tmp_path, people), "age_below_min")
    assert (finding.row, finding.column, finding.level) == (3, "身份证号", ERROR)
    assert "15周岁" in finding.message and "16周岁" in finding.message


def test_age_above_the_maximum_on_the_coverage_start(tmp_path):
    # 60 is the maximum, inclusive: born 1965-01-02 is 60 on 2026-01-01, 1965-01-01 is 61.
    people = [
        person(1, birth=datetime.date(1965, 1, 2)),
        person(2, birth=datetime.date(1965, 1, 1)),
    ]
    finding = only(run(tmp_path, people), "age_above_max")
    assert (finding.row, finding.column, finding.level) == (3, "身份证号", ERROR)
    assert "61周岁" in finding.message and "60周岁" in finding.message


def test_born_after_the_coverage_start_is_below_the_minimum(tmp_path):
    people = [person(1, birth=datetime.date(2026, 3, 1))]
    finding = only(run(tmp_path, people, today=datetime.date(2026, 11, 24)), "age_below_min")
    assert "晚于保障开始日" in finding.message


def test_leap_day_birthday_turns_older_on_the_first_of_march():
    from plans.engine.roster_check import _earliest_birth, _latest_birth

    assert _latest_birth(datetime.date(2027, 2, 28), 16) == datetime.date(2011, 2, 28)
    assert _latest_birth(datetime.date(2028, 2, 29), 16) == datetime.date(2012, 2, 29)
    assert _earliest_birth(datetime.date(2026, 1, 1), 60) == datetime.date(1965, 1, 2)


def test_invalid_phone(tmp_path):
    finding = only(run(tmp_path, [person(1, phone="1234")]), "phone_invalid")
    assert (finding.row, finding.column, finding.level) == (2, "手机号码", ERROR)


def test_phone_as_a_numeric_cell_is_fine(tmp_path):
    result = run(tmp_path, [person(1, phone=13812345678)])
    assert result.findings == []
    assert result.valid[0].phone == "13812345678"


def test_unknown_employment_type(tmp_path):
    finding = only(run(tmp_path, [person(1, employment_type="临时工")]), "employment_type_invalid")
    assert (finding.row, finding.column, finding.level) == (2, "用工类型", ERROR)
    assert "正式职工" in finding.message


def test_retired_is_never_eligible(tmp_path):
    finding = only(run(tmp_path, [person(1, employment_type="退休")]), "employment_type_ineligible")
    assert (finding.row, finding.column, finding.level) == (2, "用工类型", ERROR)


def test_employment_type_the_plan_does_not_take(tmp_path):
    people = [person(1, employment_type="正式职工", occupation="快递员")]
    finding = only(run(tmp_path, people, plan="shaanxi-gig-2023"), "employment_type_ineligible")
    assert (finding.row, finding.column) == (2, "用工类型")
    assert "新就业形态劳动者" in finding.message


def test_plan_that_requires_medical_insurance(tmp_path):
    people = [person(1), person(2, medical_insurance="否")]
    finding = only(run(tmp_path, people, plan="linyi-inpatient-2019"), "medical_insurance_required")
    assert (finding.row, finding.column, finding.level) == (3, "是否参加医保", ERROR)


def test_no_medical_insurance_is_fine_where_the_plan_does_not_require_it(tmp_path):
    assert run(tmp_path, [person(1, medical_insurance="否")]).findings == []


@pytest.mark.parametrize("key", ["medical_insurance", "high_risk"])
def test_unrecognised_yes_no_is_value_invalid_not_required_missing(tmp_path, key):
    result = run(tmp_path, [person(1, **{key: "不清楚"})])
    finding = only(result, "value_invalid")
    header = "是否参加医保" if key == "medical_insurance" else "高危行业"
    assert (finding.row, finding.column) == (2, header)
    assert "不清楚" in finding.message and "应填“是”或“否”" in finding.message
    assert not [f for f in result.findings if f.code == "required_missing"]


def test_male_member_of_a_women_only_plan(tmp_path):
    people = [person(1, sex="F"), person(2)]
    finding = only(run(tmp_path, people, plan="beijing-female-2021"), "gender_ineligible")
    assert (finding.row, finding.column, finding.level) == (3, "性别", ERROR)


def test_gender_ineligible_points_at_the_id_when_there_is_no_gender_column(tmp_path):
    header = [h for h in HEADER if h != "性别"]
    keys = [k for k in HEADER_KEYS if k != "gender"]
    result = run(tmp_path, [person(1)], plan="beijing-female-2021", header=header, keys=keys)
    finding = only(result, "gender_ineligible")
    assert (finding.row, finding.column) == (2, "身份证号")


GIG = {"employment_type": "新就业形态劳动者"}


def test_occupation_outside_the_plan(tmp_path):
    people = [
        person(1, occupation="外卖员", **GIG),
        person(2, occupation="厨师", **GIG),
        person(3, **GIG),
    ]
    result = run(tmp_path, people, plan="shaanxi-gig-2023")
    found = [
        (f.row, f.column, f.level) for f in result.findings if f.code == "occupation_ineligible"
    ]
    assert found == [(3, "职业类别", ERROR), (4, "职业类别", ERROR)]
    assert result.valid_rows == 1 and result.fee_total == Decimal("100.00")


def test_occupation_required_by_the_plan_but_no_column(tmp_path):
    header = [h for h in HEADER if h != "职业类别"]
    keys = [k for k in HEADER_KEYS if k != "occupation"]
    result = run(tmp_path, [person(1, **GIG)], plan="shaanxi-gig-2023", header=header, keys=keys)
    finding = only(result, "occupation_ineligible")
    assert (finding.row, finding.column, finding.col) == (2, None, None)
    assert "职业类别" in finding.message


@pytest.mark.parametrize("value", [1.5, "两", "1.5", "一份"])
def test_shares_that_are_not_whole_numbers(tmp_path, value):
    finding = only(run(tmp_path, [person(1, shares=value)]), "shares_invalid")
    assert (finding.row, finding.column, finding.level) == (2, "份数", ERROR)


@pytest.mark.parametrize("value", [2, 0, -1])
def test_shares_outside_the_plan_range(tmp_path, value):
    finding = only(run(tmp_path, [person(1, shares=value)]), "shares_out_of_range")
    assert (finding.row, finding.column, finding.level) == (2, "份数", ERROR)


@pytest.mark.parametrize("value", [None, 1, 1.0, "1", " 1 ", "１"])
def test_shares_default_to_one_and_accept_whole_number_forms(tmp_path, value):
    result = run(tmp_path, [person(1, shares=value)])
    assert result.findings == []
    assert result.valid[0].shares == 1


def test_shares_default_to_one_without_the_column(tmp_path):
    header = [h for h in HEADER if h != "份数"]
    keys = [k for k in HEADER_KEYS if k != "shares"]
    result = run(tmp_path, [person(1)], header=header, keys=keys)
    assert result.findings == [] and result.valid[0].shares == 1


def test_shares_not_uniform_flags_the_rows_that_differ_from_the_most_common(tmp_path):
    people = [person(1, shares=2), person(2, shares=1), person(3, shares=2)]
    result = run(tmp_path, people, plan="linyi-accident-2019")
    finding = only(result, "shares_not_uniform")
    assert (finding.row, finding.column, finding.level) == (3, "份数", ERROR)
    assert result.fee_total == Decimal("104.00")


def test_shares_not_uniform_tie_goes_to_the_smaller_value(tmp_path):
    people = [person(1, shares=3), person(2, shares=1)]
    finding = only(run(tmp_path, people, plan="linyi-accident-2019"), "shares_not_uniform")
    assert finding.row == 2


def test_fee_includes_the_high_risk_surcharge(tmp_path):
    people = [person(1, shares=2, high_risk="是"), person(2, shares=2)]
    result = run(tmp_path, people, plan="linyi-accident-2019")
    assert result.findings == []
    assert [row.fee for row in result.valid] == [Decimal("62.00"), Decimal("52.00")]
    assert result.fee_total == Decimal("114.00")
    assert [row.high_risk for row in result.valid] == [True, False]


def test_every_occurrence_after_the_first_is_duplicate_in_file(tmp_path):
    same = make_id(serial=7)
    people = [
        person(1, id_number=same),
        person(2),
        person(3, id_number=same.lower()),
        person(4, id_number=" " + same),
    ]
    result = run(tmp_path, people)
    found = [(f.row, f.column, f.level) for f in result.findings if f.code == "duplicate_in_file"]
    assert found == [(4, "身份证号", ERROR), (5, "身份证号", ERROR)]
    assert "第2行" in result.findings[0].message
    assert result.valid_rows == 2


def test_already_enrolled_counts_shares_held_elsewhere(tmp_path):
    held_id = make_id(serial=1)
    calls = []

    def held(ids):
        calls.append(list(ids))
        return {held_id: 1}

    result = run(tmp_path, [person(1), person(2)], held_shares=held)
    finding = only(result, "already_enrolled")
    assert (finding.row, finding.column, finding.level) == (2, "身份证号", ERROR)
    assert calls == [[make_id(serial=1), make_id(serial=2)]]
    assert result.valid_rows == 1


def test_already_enrolled_allows_up_to_the_plan_maximum(tmp_path):
    a, b = make_id(serial=1), make_id(serial=2)
    people = [person(1, shares=2), person(2, shares=2)]
    result = run(tmp_path, people, plan="linyi-accident-2019", held_shares=lambda ids: {a: 2, b: 3})
    finding = only(result, "already_enrolled")
    assert finding.row == 3


def test_held_shares_is_called_once_with_distinct_well_formed_ids(tmp_path):
    calls = []
    same = make_id(serial=1)
    people = [person(1), person(2, id_number=same), person(3, id_number="123")]
    run(tmp_path, people, held_shares=lambda ids: calls.append(list(ids)) or {})
    assert calls == [[same]]


def test_bad_bank_card_is_only_a_warning(tmp_path):
    people = [person(1, bank_card="6222021234567890123"), person(2, bank_card="6222 abc")]
    result = run(tmp_path, people)
    assert [(f.code, f.row, f.column, f.level) for f in result.findings] == [
        ("bank_card_invalid", 2, "银行卡号", WARNING),
        ("bank_card_invalid", 3, "银行卡号", WARNING),
    ]
    assert result.valid_rows == 2 and result.fee_total == Decimal("220.00")
    assert result.as_json()["valid_rows"] == 2


def test_a_row_carries_all_its_problems_ordered_by_column(tmp_path):
    people = [person(1, name="张3", phone="1", employment_type="退休", shares=5)]
    result = run(tmp_path, people)
    assert [(f.code, f.column) for f in result.findings] == [
        ("name_invalid", "姓名"),
        ("phone_invalid", "手机号码"),
        ("employment_type_ineligible", "用工类型"),
        ("shares_out_of_range", "份数"),
    ]
    assert result.all_rows[0].ok is False and result.all_rows[0].fee == 0
    assert result.valid == []


def test_participation_below_minimum_for_a_large_unit(tmp_path):
    result = run(tmp_path, [person(i) for i in range(1, 151)], headcount=200)
    finding = result.findings[-1]
    assert (finding.code, finding.level, finding.row, finding.column) == (
        "participation_below_minimum",
        ERROR,
        None,
        None,
    )
    assert finding.message.startswith(
        "参保率 75.0%，低于本计划要求的 80%（在册 200 人，有效参保 150 人）"
    )


def test_participation_for_a_small_unit_needs_everyone(tmp_path):
    result = run(tmp_path, [person(i) for i in range(1, 10)], headcount=10)
    assert only(result, "participation_below_minimum").message.startswith(
        "参保率 90.0%，低于本计划要求的 100%（在册 10 人，有效参保 9 人）"
    )
    assert run(tmp_path, [person(i) for i in range(1, 11)], headcount=10).findings == []


def test_participation_counts_valid_rows_only_and_is_skipped_without_a_rule(tmp_path):
    people = [person(1), person(2, phone="1")]
    result = run(tmp_path, people, headcount=2)
    assert "有效参保 1 人" in result.findings[-1].message
    assert run(tmp_path, people, plan="linyi-accident-2019", headcount=100).findings[-1].code == (
        "phone_invalid"
    )


def test_rows_exceed_headcount_is_a_unit_warning_giving_both_numbers(tmp_path):
    people = [person(i) for i in range(1, 6)] + [person(6, phone="1")]
    result = run(tmp_path, people, headcount=4)
    finding = result.findings[-1]
    assert (finding.code, finding.level, finding.row, finding.column) == (
        "rows_exceed_headcount",
        WARNING,
        None,
        None,
    )
    # Every data row counts, valid or not: the file lists 6 people for a unit of 4.
    assert "6人" in finding.message and "4人" in finding.message
    assert finding.as_json()["row"] is None


def test_no_headcount_warning_up_to_the_headcount_or_without_one(tmp_path):
    people = [person(i) for i in range(1, 4)]
    assert run(tmp_path, people, headcount=3).findings == []
    assert run(tmp_path, people, headcount=None).findings == []
    assert run(tmp_path, people, headcount=0).findings == []


def test_as_json_is_the_contract_object(tmp_path):
    result = run(tmp_path, [person(1), person(2, phone="1")])
    assert result.as_json() == {
        "plan": JILIN,
        "rows": 2,
        "valid_rows": 1,
        "fee_total": "110.00",
        "findings": [
            {
                "row": 3,
                "column": "手机号码",
                "code": "phone_invalid",
                "level": "error",
                "message": result.findings[0].message,
            }
        ],
    }


def test_progress_is_reported_every_2000_rows_and_at_the_end(tmp_path):
    calls = []
    run(
        tmp_path,
        [person(i) for i in range(4500)],
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(2000, 4500), (4000, 4500), (4500, 4500)]


def test_every_row_code_is_covered_by_a_test_here():
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__])
    assert [code for code in ROW_CODES if f'"{code}"' not in source] == []


def test_every_code_has_a_chinese_label_and_no_label_is_shared():
    from plans.engine.findings import CODE_LABELS, FILE_CODES, UNIT_CODES, code_label

    codes = (*FILE_CODES, *ROW_CODES, *UNIT_CODES)
    assert sorted(CODE_LABELS) == sorted(codes)
    assert len(set(CODE_LABELS.values())) == len(codes)
    for code in codes:
        label = CODE_LABELS[code]
        assert "_" not in label and any("\u4e00" <= c <= "\u9fff" for c in label), code
    assert code_label("id_checksum") == "身份证校验位错误"
    assert code_label("no_such_code") == "no_such_code"
