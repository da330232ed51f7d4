"""python manage.py quote_claim: a trial payout calculation (试算), CONTRACTS §4.

Reads one JSON object, judges it with the payout engine against the plan version in force on
the coverage start, and prints the decision. Reads the database, writes nothing.
"""

from __future__ import annotations

import datetime
import json
import sys
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from plans.engine.payout import (
    FACT_FIELDS,
    PRIOR_FIELDS,
    FactsError,
    decide,
    facts_from_json,
    priors_from_json,
)
from plans.engine.rules import RulesError
from plans.models import Plan
from plans.selectors import version_in_force

EXIT_UNUSABLE = 2
ENVELOPE = ("plan", "coverage_start", "shares", "prior_payouts")
KNOWN_KEYS = frozenset(ENVELOPE + FACT_FIELDS)


class InputProblem(Exception):
    """Input that cannot be used; the message is for the person at the terminal."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


class Command(BaseCommand):
    help = (
        "试算一笔理赔的给付金额，不保存任何内容。"
        "--json FILE 给出一个JSON对象（FILE 为 - 时从标准输入读取），"
        "字段：plan（计划代码）、coverage_start（保障开始日 YYYY-MM-DD）、benefit（保障项目代码）、"
        "filed_date（申请日期，默认今天）、prior_payouts（同一参保此前的给付，默认无："
        "[{benefit, amount, event_date, admission_date?, discharge_date?, applied_base?}]）、"
        "shares（份数，默认 1，须在计划允许的范围内）；按保障项目："
        "hospital_allowance（admission_date, discharge_date, hospital_locality local/elsewhere, "
        "hospital_grade 1–3）；critical_illness（diagnosis_date）；accident（accident_date, "
        "outcome death/disability, disability_grade 1–10, during_hospital_stay true/false, "
        "work_injury true/false：计划不保工伤时工伤为 not_covered）；inpatient_reimbursement"
        "（admission_date, discharge_date, hospital_grade, eligible_cost）；accident_medical"
        "（accident_date, eligible_cost）；fire_loss（fire_date, eligible_cost 为核定损失）。"
        '金额写成文字，例如 "1500.00"（JSON数字按十进制精确读取）。其他字段一律拒绝。'
        '输出 {"decision", "amount", "reasons", "lines"}，任何决定退出码均为 0。'
        "计划中没有、但属于已知保障项目的代码，结果为 reject / benefit_not_in_plan；"
        "无法使用的输入（JSON有误、计划不存在、没有生效版本、字段缺失或无效、"
        '不认识的保障项目代码）输出 {"error": "说明"}，退出码 2。'
    )
    # call_command(..., stdin=StringIO(...)) lets tests feed "-" without touching sys.stdin.
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument(
            "--json", dest="json_file", metavar="FILE", help="输入JSON文件；- 表示标准输入"
        )

    def handle(self, *args, **options):
        try:
            payload = self._quote(options)
        except InputProblem as problem:
            self._print({"error": str(problem)})
            raise SystemExit(EXIT_UNUSABLE) from None
        self._print(payload)

    def _print(self, payload: dict) -> None:
        self.stdout.write(json.dumps(payload, ensure_ascii=False))

    def _quote(self, options) -> dict:
        data = _read(options)
        # A misspelt optional field would silently change the amount, so unknown keys are
        # refused rather than ignored.
        unknown = sorted(set(data) - KNOWN_KEYS)
        priors = data.get("prior_payouts")
        if isinstance(priors, list):
            for index, item in enumerate(priors):
                if isinstance(item, dict):
                    unknown += [
                        f"prior_payouts[{index}].{key}"
                        for key in sorted(item)
                        if key not in PRIOR_FIELDS
                    ]
        if unknown:
            raise InputProblem(f"不认识的字段：{'、'.join(unknown)}。")

        code = data.get("plan")
        if not isinstance(code, str) or not code.strip():
            raise InputProblem("请在 plan 中给出保障计划代码，例如 jilin-allowance-2020。")
        plan = Plan.objects.filter(code=code.strip()).first()
        if plan is None:
            raise InputProblem(f"没有代码为“{code}”的保障计划。")
        start = _date(data.get("coverage_start"))
        version = version_in_force(plan, start)
        if version is None:
            raise InputProblem(f"保障计划“{plan.code}”在 {start} 没有已发布、生效的版本。")
        try:
            rules = version.parsed_rules
        except RulesError as exc:
            raise InputProblem(f"计划版本 {version} 的规则无法使用：{exc}") from None

        shares = data.get("shares", 1)
        low, high = rules.shares.min, rules.shares.max
        if type(shares) is not int or not low <= shares <= high:
            raise InputProblem(f"份数（shares）应为 {low} 至 {high} 的整数。")

        try:
            facts = facts_from_json(data, today=timezone.localdate(), rules=rules)
            prior = priors_from_json(data.get("prior_payouts"))
            decision = decide(rules, coverage_start=start, shares=shares, facts=facts, prior=prior)
        except FactsError as exc:
            raise InputProblem(f"输入无法使用：{exc}") from None
        return decision.as_json()


def _read(options) -> dict:
    source = options.get("json_file")
    if not source:
        raise InputProblem("请用 --json FILE 给出输入文件（- 表示从标准输入读取）。")
    try:
        if source == "-":
            text = (options.get("stdin") or sys.stdin).read()
        else:
            with open(source, encoding="utf-8-sig") as handle:
                text = handle.read()
    except FileNotFoundError:
        raise InputProblem(f"找不到输入文件：{source}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputProblem(f"无法读取输入文件 {source}：{exc}") from None
    try:
        data = json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise InputProblem(f"输入不是有效的JSON：{exc}") from None
    if not isinstance(data, dict):
        raise InputProblem("输入应为一个JSON对象（{...}）。")
    return data


def _date(value: Any) -> datetime.date:
    if not isinstance(value, str):
        raise InputProblem("请在 coverage_start 中给出保障开始日（YYYY-MM-DD）。")
    try:
        if len(value) != 10:
            raise ValueError(value)
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise InputProblem(
            f"保障开始日“{value}”不是有效日期，应写作 YYYY-MM-DD，例如 2024-01-01。"
        ) from None
