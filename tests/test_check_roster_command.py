"""The check_roster command (CONTRACTS §3): one JSON object on stdout, exit status 0/1/2, and
nothing written to the database."""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command

from plans.tests.roster_builders import (
    long_shared_string,
    person,
    sheet_stored_as,
    wide_row,
    write_roster,
)
from tests import factories

KEYS = ["plan", "rows", "valid_rows", "fee_total", "findings"]
FINDING_KEYS = ["row", "column", "code", "level", "message"]
PLAN = "jilin-allowance-2020"


def run(*args: str) -> tuple[int, dict, str]:
    """Run the command; return (exit status, the JSON printed, everything printed)."""
    out, err = io.StringIO(), io.StringIO()
    status = 0
    try:
        call_command("check_roster", *args, stdout=out, stderr=err)
    except SystemExit as stop:
        status = stop.code
    printed = out.getvalue()
    return status, json.loads(printed), printed


def row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


@pytest.fixture
def catalog(db):
    return factories.catalog_version(PLAN)


def roster_of(tmp_path, people, name="roster.xlsx") -> str:
    return str(write_roster(tmp_path / name, people))


def test_a_valid_roster_exits_0_with_the_contract_json(tmp_path, catalog):
    path = roster_of(tmp_path, [person(1), person(2, bank_card="123")])
    status, payload, printed = run(path, "--plan", PLAN, "--coverage-start", "2026-01-01", "--json")

    assert status == 0
    assert list(payload) == KEYS
    assert payload["plan"] == PLAN
    assert (payload["rows"], payload["valid_rows"], payload["fee_total"]) == (2, 2, "220.00")
    assert [list(f) for f in payload["findings"]] == [FINDING_KEYS]
    assert payload["findings"][0]["level"] == "warning"
    assert printed.count("\n") == 1 and "\\u" not in printed


def test_errors_exit_1(tmp_path, catalog):
    path = roster_of(tmp_path, [person(1), person(2, phone="12")])
    status, payload, _ = run(path, "--plan", PLAN, "--coverage-start", "2026-01-01", "--json")

    assert status == 1
    assert payload["findings"] == [
        {
            "row": 3,
            "column": "手机号码",
            "code": "phone_invalid",
            "level": "error",
            "message": payload["findings"][0]["message"],
        }
    ]
    assert (payload["valid_rows"], payload["fee_total"]) == (1, "110.00")


def test_an_unusable_file_exits_2_with_its_file_finding(tmp_path, catalog):
    path = tmp_path / "names.xlsx"
    path.write_text("姓名,身份证号\n张三,1\n", encoding="utf-8")
    status, payload, _ = run(str(path), "--plan", PLAN, "--coverage-start", "2026-01-01", "--json")

    assert status == 2
    assert payload == {
        "plan": PLAN,
        "rows": 0,
        "valid_rows": 0,
        "fee_total": "0.00",
        "findings": [
            {
                "row": None,
                "column": None,
                "code": "file_not_xlsx",
                "level": "error",
                "message": payload["findings"][0]["message"],
            }
        ],
    }


@pytest.mark.parametrize(
    "arguments",
    [
        ["--plan", "no-such-plan", "--coverage-start", "2026-01-01"],
        ["--plan", PLAN, "--coverage-start", "2026-13-01"],
        ["--plan", PLAN, "--coverage-start", "2019-06-01"],
        ["--plan", PLAN],
        ["--coverage-start", "2026-01-01"],
        ["--plan", PLAN, "--coverage-start", "2026-01-01", "--union", "NOPE"],
        ["--plan", PLAN, "--coverage-start", "2026-01-01", "--headcount", "many"],
    ],
)
def test_bad_arguments_exit_2_with_an_error(tmp_path, catalog, arguments):
    path = roster_of(tmp_path, [person(1)])
    status, payload, _ = run(path, *arguments, "--json")
    assert status == 2
    assert list(payload) == ["error"] and payload["error"]


def test_a_missing_file_exits_2_with_an_error(tmp_path, catalog):
    status, payload, _ = run(
        str(tmp_path / "absent.xlsx"), "--plan", PLAN, "--coverage-start", "2026-01-01", "--json"
    )
    assert status == 2 and "找不到" in payload["error"]


def test_union_counts_existing_enrollments_and_its_headcount(tmp_path, world):
    version = factories.catalog_version(PLAN)
    factories.enroll(world.member_a, version, coverage_start=datetime.date(2026, 1, 1))
    # The same person a year later, and someone else, are not held in this period.
    factories.enroll(world.member_b, version, coverage_start=datetime.date(2025, 1, 1))
    people = [
        person(1, name="甲职工", id_number=world.member_a.id_number),
        person(2, name="乙职工", id_number=world.member_b.id_number),
        person(3),
    ]
    path = roster_of(tmp_path, people)
    arguments = [path, "--plan", PLAN, "--coverage-start", "2026-01-01"]
    before = row_counts()

    status, payload, _ = run(*arguments, "--union", world.unit_a.code, "--json")

    assert status == 1
    codes = [(f["code"], f["row"]) for f in payload["findings"]]
    # unit_a has 100 members on its books: a unit under 200 must enroll all of them.
    assert codes == [("already_enrolled", 2), ("participation_below_minimum", None)]
    assert "在册 100 人，有效参保 2 人" in payload["findings"][-1]["message"]
    assert payload["valid_rows"] == 2

    status, payload, _ = run(*arguments, "--union", world.unit_a.code, "--headcount", "2")
    assert status == 1
    # Three people listed for a unit of two: a warning, after the row findings.
    assert [f["code"] for f in payload["findings"]] == ["already_enrolled", "rows_exceed_headcount"]

    status, payload, _ = run(*arguments, "--json")
    assert (status, payload["findings"]) == (0, [])

    assert row_counts() == before


def test_headcount_alone_enables_the_participation_check(tmp_path, catalog):
    path = roster_of(tmp_path, [person(i) for i in range(1, 151)])
    arguments = [path, "--plan", PLAN, "--coverage-start", "2026-01-01", "--json"]
    status, payload, _ = run(*arguments, "--headcount", "200")
    assert status == 1
    assert payload["findings"][-1]["message"].startswith(
        "参保率 75.0%，低于本计划要求的 80%（在册 200 人，有效参保 150 人）"
    )
    status, _, _ = run(*arguments, "--headcount", "180")
    assert status == 1
    status, _, _ = run(*arguments, "--headcount", "150")
    assert status == 0


def test_more_rows_than_the_headcount_is_a_warning_with_exit_0(tmp_path, catalog):
    path = roster_of(tmp_path, [person(i) for i in range(1, 6)])
    arguments = [path, "--plan", PLAN, "--coverage-start", "2026-01-01", "--json"]
    status, payload, _ = run(*arguments, "--headcount", "4")
    assert status == 0
    assert payload["valid_rows"] == 5
    [finding] = payload["findings"]
    assert list(finding) == FINDING_KEYS
    assert (finding["code"], finding["level"], finding["row"], finding["column"]) == (
        "rows_exceed_headcount",
        "warning",
        None,
        None,
    )
    assert "5人" in finding["message"] and "4人" in finding["message"]
    status, payload, _ = run(*arguments, "--headcount", "5")
    assert (status, payload["findings"]) == (0, [])


@pytest.mark.parametrize(
    ("build", "code"),
    [
        (lambda base: sheet_stored_as(base, "xl/media/sheet1.bin"), "file_corrupt"),
        (lambda base: long_shared_string(base, 60 * 1024 * 1024, 60), "file_too_large"),
        (lambda base: wide_row(base, 20_000_000), "file_too_large"),
    ],
    ids=["sheet-in-media", "long-shared-string", "wide-row"],
)
def test_hostile_files_exit_2_with_their_file_finding(tmp_path, catalog, monkeypatch, build, code):
    # Small uploads that once aborted or exhausted the process reading them (issue 12). The
    # command reads in a limited child process: reading in this process would fail the test.
    import plans.engine.roster

    def not_here(*args, **kwargs):
        raise AssertionError("the workbook was read in the command's own process")

    monkeypatch.setattr(plans.engine.roster, "read_table", not_here)
    path = tmp_path / "hostile.xlsx"
    path.write_bytes(build(Path(roster_of(tmp_path, [person(1), person(2)])).read_bytes()))
    before = row_counts()
    status, payload, _ = run(str(path), "--plan", PLAN, "--coverage-start", "2026-01-01", "--json")

    assert status == 2
    assert (payload["rows"], payload["valid_rows"], payload["fee_total"]) == (0, 0, "0.00")
    [finding] = payload["findings"]
    assert (finding["code"], finding["level"], finding["row"]) == (code, "error", None)
    assert finding["message"]
    assert row_counts() == before

    # A good roster after them reads as usual.
    status, payload, _ = run(
        roster_of(tmp_path, [person(1)], "good.xlsx"),
        "--plan",
        PLAN,
        "--coverage-start",
        "2026-01-01",
        "--json",
    )
    assert (status, payload["valid_rows"]) == (0, 1)


def test_nothing_is_written_whatever_the_outcome(tmp_path, world):
    factories.catalog_version(PLAN)
    good = roster_of(tmp_path, [person(1)], "good.xlsx")
    bad = roster_of(tmp_path, [person(1, phone="1")], "bad.xlsx")
    before = row_counts()
    for path in (good, bad, str(tmp_path / "absent.xlsx")):
        run(path, "--plan", PLAN, "--coverage-start", "2026-01-01", "--union", world.unit_b.code)
    assert row_counts() == before
