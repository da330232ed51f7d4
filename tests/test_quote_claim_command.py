"""The quote_claim command (CONTRACTS §4): one JSON object on stdout, exit status 0 for any
decision and 2 for unusable input, and nothing written to the database."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command

from plans.models import PlanVersion
from tests import factories

ROOT = Path(__file__).resolve().parent.parent
CONTRACT_INPUT = {
    "plan": "jilin-allowance-2020",
    "coverage_start": "2024-01-01",
    "benefit": "hospital_allowance",
    "admission_date": "2024-03-01",
    "discharge_date": "2024-03-11",
    "hospital_locality": "local",
    "hospital_grade": 3,
    "filed_date": "2024-03-20",
    "prior_payouts": [
        {"benefit": "hospital_allowance", "amount": "500.00", "event_date": "2024-02-01"}
    ],
}
CONTRACT_OUTPUT = {
    "decision": "pay",
    "amount": "500.00",
    "reasons": [],
    "lines": [{"label": "住院津贴 10天 × 50元", "amount": "500.00"}],
}


@pytest.fixture
def catalog(db):
    factories.catalog_version("jilin-allowance-2020")


def run_file(tmp_path, payload, *, raw: str | None = None) -> tuple[int, dict, str]:
    path = tmp_path / "claim.json"
    path.write_text(raw if raw is not None else json.dumps(payload), encoding="utf-8")
    return run("--json", str(path))


def run(*args: str, stdin: str | None = None) -> tuple[int, dict, str]:
    out, err = io.StringIO(), io.StringIO()
    status = 0
    options = {"stdin": io.StringIO(stdin)} if stdin is not None else {}
    try:
        call_command("quote_claim", *args, stdout=out, stderr=err, **options)
    except SystemExit as stop:
        status = stop.code
    printed = out.getvalue()
    return status, json.loads(printed), printed


def row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def test_the_contract_example_gives_the_contract_output_exactly(tmp_path, catalog):
    status, payload, printed = run_file(tmp_path, CONTRACT_INPUT)
    assert status == 0
    assert payload == CONTRACT_OUTPUT
    assert list(payload) == ["decision", "amount", "reasons", "lines"]
    assert printed == json.dumps(CONTRACT_OUTPUT, ensure_ascii=False) + "\n"


def test_stdin_is_read_for_a_dash(catalog):
    status, payload, _ = run("--json", "-", stdin=json.dumps(CONTRACT_INPUT))
    assert (status, payload) == (0, CONTRACT_OUTPUT)


def test_a_rejection_exits_0_with_its_reasons(tmp_path, catalog):
    data = {**CONTRACT_INPUT, "discharge_date": "2024-03-02", "hospital_grade": 1}
    status, payload, _ = run_file(tmp_path, data)
    assert status == 0
    assert payload["decision"] == "reject" and payload["amount"] == "0.00"
    assert payload["reasons"] == ["hospital_grade_too_low", "stay_too_short"]


def test_caps_are_lines_with_negative_amounts(tmp_path, catalog):
    data = {
        **CONTRACT_INPUT,
        "discharge_date": "2024-06-09",
        "prior_payouts": [
            {"benefit": "hospital_allowance", "amount": "8500.00", "event_date": "2024-02-01"}
        ],
    }
    status, payload, _ = run_file(tmp_path, data)
    assert status == 0
    assert payload == {
        "decision": "pay",
        "amount": "500.00",
        "reasons": [],
        "lines": [
            {"label": "住院津贴 100天 × 50元", "amount": "5000.00"},
            {"label": "每次住院封顶 4500元（本地）", "amount": "-500.00"},
            {"label": "保障期累计封顶 9000元，已付 8500元", "amount": "-4000.00"},
        ],
    }


def test_shares_and_accident_fields(tmp_path, db):
    factories.catalog_version("linyi-accident-2019")
    data = {
        "plan": "linyi-accident-2019",
        "coverage_start": "2024-01-01",
        "benefit": "accident",
        "accident_date": "2024-05-01",
        "outcome": "disability",
        "disability_grade": 5,
        "during_hospital_stay": False,
        "work_injury": True,
        "filed_date": "2024-05-20",
        "shares": 3,
    }
    status, payload, _ = run_file(tmp_path, data)
    assert (status, payload["amount"]) == (0, "18000.00")
    medical = {
        "plan": "linyi-accident-2019",
        "coverage_start": "2024-01-01",
        "benefit": "accident_medical",
        "accident_date": "2024-05-01",
        "eligible_cost": 600.50,
        "filed_date": "2024-05-20",
        "shares": 2,
    }
    status, payload, _ = run_file(tmp_path, None, raw=json.dumps(medical))
    assert (status, payload["amount"]) == (0, "400.40")


def test_fire_date_for_the_fire_loss_plan(tmp_path, db):
    factories.catalog_version("beijing-nonwork-2011")
    data = {
        "plan": "beijing-nonwork-2011",
        "coverage_start": "2024-01-01",
        "benefit": "fire_loss",
        "fire_date": "2024-05-01",
        "eligible_cost": "1200.00",
        "filed_date": "2024-05-20",
    }
    status, payload, _ = run_file(tmp_path, data)
    assert (status, payload["amount"]) == (0, "1200.00")


def test_a_known_benefit_missing_from_the_plan_is_a_rejection(tmp_path, catalog):
    data = {
        "plan": "jilin-allowance-2020",
        "coverage_start": "2024-01-01",
        "benefit": "inpatient_reimbursement",
        "filed_date": "2024-03-20",
    }
    status, payload, _ = run_file(tmp_path, data)
    assert status == 0
    assert (payload["decision"], payload["reasons"]) == ("reject", ["benefit_not_in_plan"])


def test_filed_date_defaults_to_today(tmp_path, catalog):
    data = {k: v for k, v in CONTRACT_INPUT.items() if k != "filed_date"}
    status, payload, _ = run_file(tmp_path, data)
    # Today is long after the 24-month deadline of a 2024 stay.
    assert (status, payload["reasons"]) == (0, ["filing_deadline_passed"])


@pytest.mark.parametrize(
    "change, words",
    [
        ({"plan": "no-such-plan"}, "没有代码为“no-such-plan”的保障计划"),
        ({"plan": None}, "plan"),
        ({"coverage_start": "2019-06-01"}, "没有已发布、生效的版本"),
        ({"coverage_start": "2024-02-30"}, "不是有效日期"),
        ({"coverage_start": None}, "coverage_start"),
        ({"benefit": "banana"}, "不认识的保障项目“banana”"),
        ({"benefit": None}, "benefit"),
        ({"hospital_locality": None}, "医院所在地（hospital_locality）：必填"),
        ({"hospital_grade": 5}, "hospital_grade"),
        ({"discharge_date": "2024-02-01"}, "出院日期不能早于入院日期"),
        ({"filed_date": "2024-02-01"}, "申请日期不能早于出险日期"),
        ({"shares": 2}, "份数（shares）应为 1 至 1 的整数"),
        ({"shares": "1"}, "shares"),
        ({"prior_payouts": [{"benefit": "hospital_allowance"}]}, "prior_payouts[0].amount"),
        ({"prior_payouts": {}}, "prior_payouts"),
        ({"admision_date": "2024-03-01"}, "不认识的字段：admision_date"),
        (
            {"prior_payouts": [{**CONTRACT_INPUT["prior_payouts"][0], "base": "1"}]},
            "不认识的字段：prior_payouts[0].base",
        ),
    ],
)
def test_unusable_input_exits_2_with_an_error(tmp_path, catalog, change, words):
    data = {**CONTRACT_INPUT, **change}
    status, payload, _ = run_file(tmp_path, {k: v for k, v in data.items() if v is not None})
    assert status == 2
    assert list(payload) == ["error"]
    assert words in payload["error"]


@pytest.mark.parametrize("raw", ["{", "[]", '"text"', '{"plan": NaN}', ""])
def test_bad_json_exits_2(tmp_path, catalog, raw):
    status, payload, _ = run_file(tmp_path, None, raw=raw)
    assert status == 2 and list(payload) == ["error"]


def test_a_missing_file_or_option_exits_2(tmp_path, catalog):
    status, payload, _ = run("--json", str(tmp_path / "absent.json"))
    assert status == 2 and "找不到输入文件" in payload["error"]
    status, payload, _ = run()
    assert status == 2 and "--json" in payload["error"]


def test_a_draft_version_is_not_in_force(tmp_path, catalog):
    PlanVersion.objects.filter(plan__code="jilin-allowance-2020").update(
        status=PlanVersion.Status.DRAFT
    )
    status, payload, _ = run_file(tmp_path, CONTRACT_INPUT)
    assert status == 2 and "没有已发布、生效的版本" in payload["error"]


def test_nothing_is_written(tmp_path, catalog):
    before = row_counts()
    run_file(tmp_path, CONTRACT_INPUT)
    run_file(tmp_path, {**CONTRACT_INPUT, "plan": "no-such-plan"})
    assert row_counts() == before


def test_help_documents_the_extra_fields():
    out = subprocess.run(
        [sys.executable, "manage.py", "quote_claim", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "mutualaid.test_settings"},
    ).stdout
    for word in ("shares", "work_injury", "fire_date", "prior_payouts", "benefit_not_in_plan"):
        assert word in out
