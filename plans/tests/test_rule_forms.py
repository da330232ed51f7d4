"""The structured rule editor (plans.rule_forms): every shipped plan opens in it and saves back
unchanged, and each problem the engine finds lands beside the field that caused it.

A "browser post" here is what a browser would send: the editor is rendered to HTML (with
crispy, as the pages render it), and every input, checkbox, select and textarea is read back.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from crispy_forms.utils import render_crispy_form
from django.http import QueryDict
from django.utils import translation

from plans.engine.rules import parse_rules
from plans.rule_forms import (
    NEGATIVE_MONEY,
    TYPE_FIELDS,
    RulesEditor,
    fraction_to_percent,
    percent_to_fraction,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "plans"
PLAN_CODES = sorted(path.stem for path in FIXTURES.glob("*.json"))


def fixture_rules(code: str) -> dict[str, Any]:
    with open(FIXTURES / f"{code}.json", encoding="utf-8") as fh:
        return copy.deepcopy(json.load(fh)["versions"][0]["rules"])


class _Inputs(HTMLParser):
    """Collects what a browser would submit from a piece of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pairs: list[tuple[str, str]] = []
        self._select: dict | None = None
        self._textarea: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "disabled" in a:
            return
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "reset", "file", "image") or not a.get("name"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.pairs.append((a["name"], a.get("value") or "on"))
                return
            self.pairs.append((a["name"], a.get("value") or ""))
        elif tag == "select":
            self._select = {"name": a.get("name"), "chosen": [], "first": None}
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._select["first"] is None:
                self._select["first"] = value
            if "selected" in a:
                self._select["chosen"].append(value)
        elif tag == "textarea":
            self._textarea = {"name": a.get("name"), "text": ""}

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["text"] += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            chosen = self._select["chosen"] or [self._select["first"] or ""]
            self.pairs += [(self._select["name"], value) for value in chosen]
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = self._textarea["text"]
            if text.startswith("\n"):  # the HTML parser of a browser drops it too
                text = text[1:]
            self.pairs.append((self._textarea["name"], text))
            self._textarea = None


def render(editor: RulesEditor) -> str:
    parts = [
        render_crispy_form(form, form.helper)
        for form in (editor.general, editor.eligibility, editor.shares, editor.fees, editor.funding)
    ]
    for formset in (editor.subsidies, editor.min_shares, editor.modes, editor.participation):
        parts.append(render_crispy_form(formset, editor.row_helper))
    parts.append(str(editor.benefit_formset.management_form))
    for bundle in editor.benefits:
        parts.append(render_crispy_form(bundle.form, bundle.form.helper))
        parts.append(render_crispy_form(bundle.tiers, editor.row_helper))
        parts.append(render_crispy_form(bundle.documents, editor.row_helper))
    return "\n".join(parts)


def browser_post(editor: RulesEditor) -> dict[str, Any]:
    """The editor as a page shows it, read back as the flat dict a browser would post."""
    parser = _Inputs()
    parser.feed(render(editor))
    post: dict[str, Any] = {}
    for name, value in parser.pairs:
        if "__prefix__" in name:
            continue  # the hidden template rows for "add"; Django ignores them anyway
        post.setdefault(name, []).append(value)
    return post


def as_querydict(post: dict[str, Any]) -> QueryDict:
    data = QueryDict(mutable=True)
    for name, value in post.items():
        data.setlist(name, value if isinstance(value, list) else [value])
    return data


def submit(post: dict[str, Any], rules: Any) -> RulesEditor:
    editor = RulesEditor(as_querydict(post), rules=rules)
    editor.is_valid()
    return editor


def opened(code: str) -> tuple[dict[str, Any], dict[str, Any]]:
    rules = fixture_rules(code)
    return rules, browser_post(RulesEditor(rules=rules))


def benefit_index(rules: dict, code: str) -> int:
    return [b["code"] for b in rules["benefits"]].index(code)


def errors_of(editor: RulesEditor) -> dict[str, Any]:
    """Every error of the editor, by where it shows, for failure messages."""
    found: dict[str, Any] = {}
    for name in ("general", "eligibility", "shares", "fees", "funding"):
        if getattr(editor, name).errors:
            found[name] = getattr(editor, name).errors
    for name in ("subsidies", "min_shares", "modes", "participation", "benefit_formset"):
        formset = getattr(editor, name)
        if formset.non_form_errors() or any(formset.errors):
            found[name] = (formset.non_form_errors(), formset.errors)
    for i, bundle in enumerate(editor.benefits):
        if bundle.form.errors:
            found[f"benefits[{i}]"] = bundle.form.errors
        for key in ("tiers", "documents"):
            formset = getattr(bundle, key)
            checked = formset.is_bound and formset._errors is not None
            if checked and (formset.non_form_errors() or any(formset.errors)):
                found[f"benefits[{i}].{key}"] = (formset.non_form_errors(), formset.errors)
    if editor.top_errors:
        found["top"] = editor.top_errors
    return found


# --- round trip -------------------------------------------------------------------------------


def test_all_eleven_shipped_plans_are_covered():
    assert len(PLAN_CODES) == 11


@pytest.mark.parametrize("code", PLAN_CODES)
def test_shipped_plan_opens_and_saves_back_unchanged(code):
    rules, post = opened(code)
    editor = submit(post, rules)
    assert editor.is_valid(), errors_of(editor)
    assert editor.to_rules_dict() == rules
    assert editor.rules.to_dict() == rules
    # Same keys in the same order too, so the stored JSON text does not change either.
    assert json.dumps(editor.to_rules_dict(), ensure_ascii=False) == json.dumps(
        rules, ensure_ascii=False
    )


@pytest.mark.parametrize("code", PLAN_CODES)
def test_shipped_plan_opens_from_parsed_rules_and_posted_without_a_source(code):
    rules = fixture_rules(code)
    post = browser_post(RulesEditor(rules=parse_rules(rules)))
    editor = submit(post, None)  # a view may rebuild the editor without the old rules
    assert editor.is_valid(), errors_of(editor)
    assert editor.to_rules_dict() == rules


def test_round_trip_in_chinese_pages_too():
    rules = fixture_rules("jilin-allowance-2020")
    with translation.override("zh-hans"):
        post = browser_post(RulesEditor(rules=rules))
        editor = submit(post, rules)
        assert editor.is_valid(), errors_of(editor)
    assert editor.to_rules_dict() == rules


def test_opened_values_are_what_an_admin_reads():
    _rules, post = opened("jilin-allowance-2020")
    assert post["rules-fees-per_share"] == ["110.00"]
    assert post["rules-participation-0-min_rate"] == ["100"]
    assert post["rules-participation-1-min_rate"] == ["80"]
    assert post["rules-participation-1-headcount_to"] == [""]
    assert post["rules-eligibility-employment_types"] == [
        "正式职工",
        "合同制职工",
        "临时职工",
        "新就业形态劳动者",
    ]
    assert post["rules-benefits-0-type"] == ["hospital_allowance"]
    assert post["rules-benefits-0-stay_cap_local"] == ["4500.00"]
    assert post["rules-benefits-1-diseases"][0].splitlines()[0] == "恶性肿瘤"
    assert len(post["rules-benefits-1-diseases"][0].splitlines()) == 15
    assert post["rules-benefits-2-grade_4"] == ["70"]
    _rules, post = opened("linyi-inpatient-2019")
    assert post["rules-min_shares-0-min_percent"] == ["70"]
    assert post["rules-min_shares-0-payers"] == ["unit", "union"]
    assert post["rules-benefits-0-rate"] == ["50"]


def test_rules_the_engine_refuses_still_open_and_saving_names_the_problem():
    rules = fixture_rules("jilin-allowance-2020")
    rules["benefits"][0]["stay_cap"]["local"] = "10.00"
    rules["participation"][0]["min_rate"] = "not a number"
    post = browser_post(RulesEditor(rules=rules))
    assert post["rules-benefits-0-stay_cap_local"] == ["10.00"]
    editor = submit(post, rules)
    assert not editor.is_valid()
    assert editor.benefits[0].form.errors["stay_cap_local"] == ["每次住院封顶额低于一天的津贴"]
    assert editor.participation.forms[0].errors["min_rate"]


def test_retired_is_never_offered():
    editor = RulesEditor(rules=fixture_rules("jilin-allowance-2020"))
    values = [value for value, _label in editor.eligibility.fields["employment_types"].choices]
    assert "退休" not in values
    assert len(values) == 4


def test_an_unbound_editor_is_not_valid_and_has_no_rules():
    editor = RulesEditor(rules=fixture_rules("jilin-allowance-2020"))
    assert not editor.is_valid()
    with pytest.raises(ValueError):
        editor.to_rules_dict()


def test_forms_for_template_names_every_part():
    editor = RulesEditor(rules=fixture_rules("jilin-allowance-2020"))
    parts = editor.forms_for_template()
    assert len(parts["benefits"]) == 3
    assert parts["benefits"][1].diseases.name == "diseases"
    assert parts["benefits"][1].kind == "critical_illness"
    assert "__prefix__" in parts["empty_benefit"].prefix
    html = render_crispy_form(editor.benefits[0].form, editor.benefits[0].form.helper)
    assert 'name="rules-benefits-0-DELETE"' in html
    assert 'data-benefit-types="hospital_allowance"' in html


# --- conversions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("percent", "fraction"),
    [("80", "0.80"), ("100", "1.00"), ("50", "0.50"), ("12.5", "0.125"), ("0", "0.00")],
)
def test_percent_and_fraction_convert_exactly(percent, fraction):
    assert percent_to_fraction(Decimal(percent)) == fraction
    assert fraction_to_percent(fraction) == Decimal(percent)


def test_typed_percentages_are_stored_exactly():
    rules, post = opened("linyi-inpatient-2019")
    post["rules-min_shares-0-min_percent"] = "75.5"
    post["rules-benefits-0-rate"] = "12.5"
    post["rules-participation-0-headcount_from"] = "0"
    post["rules-participation-0-min_rate"] = "80"
    editor = submit(post, rules)
    assert editor.is_valid(), errors_of(editor)
    saved = editor.to_rules_dict()
    assert saved["funding"]["min_shares"] == [{"payers": ["unit", "union"], "min_percent": "75.5"}]
    assert saved["benefits"][0]["rate"] == "0.125"
    assert saved["participation"] == [
        {"headcount_from": 0, "headcount_to": None, "min_rate": "0.80"}
    ]


def test_money_is_stored_with_two_decimals():
    rules, post = opened("jilin-allowance-2020")
    post["rules-fees-per_share"] = "120"
    post["rules-fees-high_risk_surcharge_per_share"] = ""
    post["rules-benefits-0-daily_rate_local"] = "55.5"
    editor = submit(post, rules)
    assert editor.is_valid(), errors_of(editor)
    saved = editor.to_rules_dict()
    assert saved["fees"]["per_share"] == "120.00"
    assert saved["fees"]["high_risk_surcharge_per_share"] == "0.00"
    assert saved["benefits"][0]["daily_rate"]["local"] == "55.50"


# --- errors beside their fields ---------------------------------------------------------------


def test_overlapping_illness_tiers_show_on_that_benefits_tiers():
    rules, post = opened("jilin-allowance-2020")
    i = benefit_index(rules, "critical_illness")
    post[f"rules-benefits-{i}-tiers-0-through_day"] = "120"
    editor = submit(post, rules)
    assert not editor.is_valid()
    assert "给付档次的天数范围重叠" in editor.benefits[i].tiers.non_form_errors()
    assert not editor.benefits[i].form.errors
    assert not editor.top_errors


def test_a_tier_ending_before_it_starts_shows_on_the_tier_row():
    rules, post = opened("jilin-allowance-2020")
    i = benefit_index(rules, "critical_illness")
    post[f"rules-benefits-{i}-tiers-0-through_day"] = "10"
    editor = submit(post, rules)
    assert not editor.is_valid()
    assert editor.benefits[i].tiers.forms[0].errors["through_day"] == [
        "档次的结束天数应大于开始天数"
    ]


def test_stay_cap_below_one_days_allowance_shows_on_stay_cap_local():
    rules, post = opened("jilin-allowance-2020")
    post["rules-benefits-0-stay_cap_local"] = "40.00"
    editor = submit(post, rules)
    assert not editor.is_valid()
    assert editor.benefits[0].form.errors["stay_cap_local"] == ["每次住院封顶额低于一天的津贴"]
    assert "period_cap" not in editor.benefits[0].form.errors


def test_period_cap_below_a_stay_cap_shows_on_period_cap():
    rules, post = opened("jilin-allowance-2020")
    post["rules-benefits-0-period_cap"] = "4000.00"
    editor = submit(post, rules)
    assert not editor.is_valid()
    assert editor.benefits[0].form.errors["period_cap"] == ["保障期封顶额低于每次住院封顶额"]


@pytest.mark.parametrize(
    ("field", "where"),
    [
        ("rules-fees-per_share", ("fees", "per_share")),
        ("rules-subsidies-0-amount_per_member", ("subsidies", "amount_per_member")),
        ("rules-benefits-0-daily_rate_local", ("benefit", "daily_rate_local")),
        ("rules-benefits-1-tiers-1-amount", ("tier", "amount")),
        ("rules-benefits-2-death_amount", ("benefit2", "death_amount")),
    ],
)
def test_negative_money_is_refused_on_its_field(field, where):
    rules, post = opened("jilin-allowance-2020")
    post[field] = "-5.00"
    editor = submit(post, rules)
    assert not editor.is_valid()
    part, name = where
    form = {
        "fees": editor.fees,
        "subsidies": editor.subsidies.forms[0],
        "benefit": editor.benefits[0].form,
        "tier": editor.benefits[1].tiers.forms[1],
        "benefit2": editor.benefits[2].form,
    }[part]
    assert form.errors[name] == [str(NEGATIVE_MONEY)]


def test_field_errors_hold_back_section_errors_they_would_cause():
    # per_share left out for its error would otherwise make the subsidy "exceed the fee".
    rules, post = opened("jilin-allowance-2020")
    post["rules-fees-per_share"] = "-1"
    editor = submit(post, rules)
    assert not editor.is_valid()
    assert list(editor.fees.errors) == ["per_share"]
    assert not editor.subsidies.non_form_errors()
    assert not editor.top_errors


def test_field_and_engine_errors_show_together():
    rules, post = opened("jilin-allowance-2020")
    post["rules-fees-per_share"] = "-1"
    post["rules-benefits-0-stay_cap_local"] = "40.00"
    post["rules-eligibility-age_min"] = "61"
    editor = submit(post, rules)
    assert not editor.is_valid()
    assert "per_share" in editor.fees.errors
    assert "stay_cap_local" in editor.benefits[0].form.errors
    assert "age_max" in editor.eligibility.errors


def test_empty_age_range_shows_on_age_max():
    rules, post = opened("jilin-allowance-2020")
    post["rules-eligibility-age_min"] = "60"
    post["rules-eligibility-age_max"] = "16"
    editor = submit(post, rules)
    assert not editor.is_valid()
    assert editor.eligibility.errors["age_max"] == ["年龄上限不能小于下限（年龄范围为空）"]
    assert "age_min" not in editor.eligibility.errors


def test_overlapping_participation_tiers_show_on_the_participation_formset():
    rules, post = opened("jilin-allowance-2020")
    post["rules-participation-0-headcount_to"] = "250"
    editor = submit(post, rules)
    assert not editor.is_valid()
    assert "参保率档次的人数范围重叠" in editor.participation.non_form_errors()


def test_participation_range_upside_down_shows_on_the_row():
    rules, post = opened("jilin-allowance-2020")
    post["rules-participation-1-headcount_to"] = "100"
    editor = submit(post, rules)
    assert not editor.is_valid()
    assert editor.participation.forms[1].errors["headcount_to"] == ["人数上限不能小于下限"]


def test_child_plan_without_child_age_shows_on_child_age_max():
    rules, post = opened("beijing-child-accident-2011")
    post["rules-eligibility-child_age_max"] = ""
    editor = submit(post, rules)
    assert not editor.is_valid()
    assert editor.eligibility.errors["child_age_max"] == ["保障子女的计划须写明子女的年龄上限"]


def test_no_employment_type_ticked_shows_on_employment_types():
    rules, post = opened("jilin-allowance-2020")
    del post["rules-eligibility-employment_types"]
    editor = submit(post, rules)
    assert not editor.is_valid()
    assert editor.eligibility.errors["employment_types"] == ["至少选择一项"]


def test_funding_mode_against_the_minimum_shows_on_the_mode_payers():
    rules, post = opened("linyi-inpatient-2019")
    post.update(
        {
            "rules-modes-0-code": "member_all",
            "rules-modes-0-label": "职工个人全额负担",
            "rules-modes-0-payers": ["member"],
        }
    )
    editor = submit(post, rules)
    assert not editor.is_valid()
    assert editor.modes.forms[0].errors["payers"] == ["这种筹资方式与最低负担比例的要求相矛盾"]


def test_subsidies_above_the_fee_show_on_the_subsidies_formset():
    rules, post = opened("jilin-allowance-2020")
    post["rules-subsidies-0-amount_per_member"] = "200.00"
    editor = submit(post, rules)
    assert not editor.is_valid()
    assert "补贴不能超过最低会费" in editor.subsidies.non_form_errors()


def test_duplicate_benefit_codes_show_on_the_benefits_formset():
    rules, post = opened("jilin-allowance-2020")
    post["rules-benefits-2-code"] = "hospital_allowance"
    editor = submit(post, rules)
    assert not editor.is_valid()
    assert "保障项目代码重复" in editor.benefit_formset.non_form_errors()


def test_duplicate_diseases_show_on_the_diseases_field():
    rules, post = opened("beijing-female-2021")
    post["rules-benefits-0-diseases"] = "乳腺癌\n宫颈癌\n乳腺癌\n"
    editor = submit(post, rules)
    assert not editor.is_valid()
    assert editor.benefits[0].form.errors["diseases"] == ["疾病名称重复"]


def test_deductible_days_not_below_min_stay_days_shows_on_deductible_days():
    rules, post = opened("beijing-allowance-2011")
    post["rules-benefits-0-deductible_days"] = "4"
    editor = submit(post, rules)
    assert not editor.is_valid()
    assert "deductible_days" in editor.benefits[0].form.errors


def test_a_missing_field_of_the_chosen_kind_is_required():
    rules, post = opened("jilin-allowance-2020")
    post["rules-benefits-0-daily_rate_elsewhere"] = ""
    editor = submit(post, rules)
    assert not editor.is_valid()
    assert editor.benefits[0].form.errors["daily_rate_elsewhere"]
    assert list(editor.benefits[0].form.errors) == ["daily_rate_elsewhere"]


def test_fields_of_other_kinds_are_ignored_whatever_they_hold():
    rules, post = opened("jilin-allowance-2020")
    post["rules-benefits-0-grade_1"] = "banana"
    post["rules-benefits-0-rate"] = "-3"
    post["rules-benefits-0-diseases"] = "感冒"
    post["rules-benefits-0-tiers-TOTAL_FORMS"] = "garbage"
    editor = submit(post, rules)
    assert editor.is_valid(), errors_of(editor)
    assert editor.to_rules_dict() == rules


def test_engine_errors_without_a_field_go_to_the_top():
    rules, post = opened("jilin-allowance-2020")
    editor = submit(post, rules)
    assert editor.is_valid()
    editor._place_errors([("schema_version", "规则格式版本应为 1"), ("nowhere.at.all", "怪")], True)
    assert list(editor.top_errors) == ["schema_version: 规则格式版本应为 1", "nowhere.at.all: 怪"]


# --- adding and removing ----------------------------------------------------------------------


def test_a_removed_benefit_disappears():
    rules, post = opened("jilin-allowance-2020")
    i = benefit_index(rules, "critical_illness")
    post[f"rules-benefits-{i}-DELETE"] = "on"
    post[f"rules-benefits-{i}-tiers-0-amount"] = "-1"  # what a removed benefit holds is moot
    editor = submit(post, rules)
    assert editor.is_valid(), errors_of(editor)
    expected = copy.deepcopy(rules)
    del expected["benefits"][i]
    assert editor.to_rules_dict() == expected


def test_removing_every_benefit_is_refused_on_the_benefits_formset():
    rules, post = opened("beijing-female-2021")
    post["rules-benefits-0-DELETE"] = "on"
    editor = submit(post, rules)
    assert not editor.is_valid()
    assert "至少要有一项保障" in editor.benefit_formset.non_form_errors()


def _add_benefit(post: dict, index: int, fields: dict[str, Any]) -> None:
    """What the page's "add a benefit" does: copy the empty benefit, fill it in."""
    editor = RulesEditor(rules=None)
    empty = browser_post_of_bundle(editor)
    for name, value in empty.items():
        post[name.replace("__prefix__", str(index), 1).replace("__prefix__", "0")] = value
    post["rules-benefits-TOTAL_FORMS"] = str(index + 1)
    for name, value in fields.items():
        post[f"rules-benefits-{index}-{name}"] = value


def browser_post_of_bundle(editor: RulesEditor) -> dict[str, Any]:
    bundle = editor.empty_benefit
    parser = _Inputs()
    parser.feed(
        "\n".join(
            [
                render_crispy_form(bundle.form, bundle.form.helper),
                str(bundle.tiers.management_form),
                str(bundle.documents.management_form),
            ]
        )
    )
    post: dict[str, Any] = {}
    for name, value in parser.pairs:
        post.setdefault(name, []).append(value)
    return post


def test_an_added_accident_benefit_appears_with_its_ten_grades():
    rules, post = opened("linyi-inpatient-2019")
    index = len(rules["benefits"])
    grades = {f"grade_{g}": str(p) for g, p in zip(range(1, 11), range(100, 0, -10), strict=True)}
    grades["grade_10"] = "5"
    _add_benefit(
        post,
        index,
        {
            "type": "accident",
            "code": "accident",
            "label": "意外伤害",
            "death_amount": "20000",
            "disability_base": "20000",
            "disability_base_in_hospital": "",
            "waiting_days": "0",
            **grades,
            "documents-TOTAL_FORMS": "2",
            "documents-0-code": "id_copy",
            "documents-0-label": "身份证复印件",
            "documents-1-code": "",
            "documents-1-label": "意外事故证明",
        },
    )
    editor = submit(post, rules)
    assert editor.is_valid(), errors_of(editor)
    saved = editor.to_rules_dict()
    assert saved["benefits"][:index] == rules["benefits"]
    assert saved["benefits"][index] == {
        "code": "accident",
        "label": "意外伤害",
        "death_amount": "20000.00",
        "disability_base": "20000.00",
        "disability_base_in_hospital": None,
        "disability_percent": {
            "1": 100,
            "2": 90,
            "3": 80,
            "4": 70,
            "5": 60,
            "6": 50,
            "7": 40,
            "8": 30,
            "9": 20,
            "10": 5,
        },
        "cap_at_applied_base": True,
        "excludes_work_injury": False,
        "per_share": False,
        "waiting_days": 0,
        "documents": [
            {"code": "id_copy", "label": "身份证复印件"},
            {"code": "doc_1", "label": "意外事故证明"},
        ],
        "type": "accident",
    }
    assert editor.rules.benefit("accident").disability_percent["10"] == 5


def test_an_added_benefit_starts_with_the_standard_disability_table():
    editor = RulesEditor(rules=None)
    form = editor.empty_benefit.form
    assert [form[f"grade_{g}"].value() for g in range(1, 11)] == list(range(100, 0, -10))


def test_an_added_critical_illness_with_tiers_and_diseases():
    rules, post = opened("beijing-inpatient-2011")
    _add_benefit(
        post,
        1,
        {
            "type": "critical_illness",
            "code": "critical_illness",
            "label": "重大疾病",
            "diseases": "恶性肿瘤\r\n  急性心肌梗塞  \r\n\r\n",
            "tiers-TOTAL_FORMS": "2",
            "tiers-0-after_day": "90",
            "tiers-0-through_day": "",
            "tiers-0-amount": "10000",
            "tiers-0-label": "重大疾病互助金",
            "tiers-1-after_day": "30",
            "tiers-1-through_day": "90",
            "tiers-1-amount": "500",
            "tiers-1-label": "慰问金",
            "documents-0-code": "diagnosis",
            "documents-0-label": "诊断证明",
        },
    )
    editor = submit(post, rules)
    assert editor.is_valid(), errors_of(editor)
    added = editor.rules.to_dict()["benefits"][1]
    assert added["diseases"] == ["恶性肿瘤", "急性心肌梗塞"]
    assert [t["after_day"] for t in added["tiers"]] == [30, 90]  # the engine orders them
    assert added["times_per_period"] == 1


def test_an_added_benefit_with_a_missing_required_field_is_refused_on_that_field():
    rules, post = opened("beijing-inpatient-2011")
    _add_benefit(post, 1, {"type": "accident", "code": "accident", "label": "意外"})
    editor = submit(post, rules)
    assert not editor.is_valid()
    assert set(editor.benefits[1].form.errors) == {"death_amount", "disability_base"}


def test_an_added_but_untouched_benefit_is_ignored():
    rules, post = opened("beijing-inpatient-2011")
    _add_benefit(post, 1, {})
    editor = submit(post, rules)
    assert editor.is_valid(), errors_of(editor)
    assert editor.to_rules_dict() == rules


def test_subsidy_rows_are_added_and_removed():
    rules, post = opened("jilin-allowance-2020")
    post["rules-subsidies-0-DELETE"] = "on"
    post["rules-subsidies-1-name"] = "市总工会补贴"
    post["rules-subsidies-1-amount_per_member"] = "20"
    editor = submit(post, rules)
    assert editor.is_valid(), errors_of(editor)
    assert editor.to_rules_dict()["fees"]["subsidies"] == [
        {"name": "市总工会补贴", "amount_per_member": "20.00"}
    ]


def test_a_new_plan_editor_has_one_blank_benefit_and_asks_for_the_essentials():
    editor = RulesEditor(rules=None)
    assert len(editor.benefits) == 1
    post = browser_post(editor)
    editor = submit(post, None)
    assert not editor.is_valid()
    assert "age_min" in editor.eligibility.errors
    assert "per_share" in editor.fees.errors


def test_every_kind_reads_only_its_own_fields():
    assert "stay_cap_local" in TYPE_FIELDS["hospital_allowance"]
    assert "stay_cap_local" not in TYPE_FIELDS["reimbursement"]
    assert {f"grade_{g}" for g in range(1, 11)} <= set(TYPE_FIELDS["accident"])
    assert "waiting_days" not in TYPE_FIELDS["critical_illness"]
    assert "diseases" in TYPE_FIELDS["critical_illness"]
