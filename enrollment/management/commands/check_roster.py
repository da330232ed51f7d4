"""python manage.py check_roster: check a roster workbook without saving anything (CONTRACTS §3)."""

from __future__ import annotations

import datetime
import json
import os

from django.conf import settings
from django.core.management.base import BaseCommand

from enrollment.selectors import held_shares
from enrollment.services import coverage_end_for
from organisation.models import Union
from plans.engine.roster import RosterFileError, check_roster
from plans.models import Plan
from plans.reading import roster_read_limits
from plans.selectors import version_in_force

EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_UNUSABLE = 2


class ArgumentProblem(Exception):
    """An argument that cannot be used; the message is for the person at the terminal."""


class Command(BaseCommand):
    help = (
        "检查一份参保名单（.xlsx），不保存任何内容。输出一个JSON对象："
        '{"plan", "rows", "valid_rows", "fee_total", "findings"}。'
        "退出码：0 没有错误（可以有警告）；1 发现错误；2 文件或参数无法使用。"
        "文件无法使用时，JSON的 findings 中是那一条文件级问题；"
        "参数无法使用时（计划不存在、日期格式不对、保障开始日没有生效的计划版本、工会不存在、"
        '文件不存在），输出 {"error": "说明"}。'
    )

    def add_arguments(self, parser):
        # Everything is checked here rather than by argparse, so that a bad argument is also
        # reported as JSON with exit status 2, as the contract promises.
        parser.add_argument("path", nargs="?", help="名单文件（.xlsx）的路径")
        parser.add_argument("--plan", help="保障计划代码，例如 jilin-allowance-2020")
        parser.add_argument("--coverage-start", help="保障开始日，YYYY-MM-DD")
        parser.add_argument(
            "--union", help="基层工会代码：计入已有参保（份数上限），并用其在册人数核算参保率"
        )
        parser.add_argument(
            "--headcount",
            help="在册人数：核算参保率，名单人数多于它时提醒（优先于工会的人数）",
        )
        parser.add_argument("--json", action="store_true", help="输出JSON（唯一的输出格式）")

    def handle(self, *args, **options):
        try:
            job = self._arguments(options)
        except ArgumentProblem as problem:
            self._print({"error": str(problem)})
            raise SystemExit(EXIT_UNUSABLE) from None

        try:
            result = check_roster(
                job["path"],
                rules=job["version"].parsed_rules,
                plan_code=job["plan"].code,
                coverage_start=job["coverage_start"],
                headcount=job["headcount"],
                held_shares=job["held_shares"],
                max_bytes=settings.ROSTER_MAX_UPLOAD_MB * 1024 * 1024,
                # Read in a limited child process, as the worker reads uploads.
                sandbox=roster_read_limits(),
            )
        except RosterFileError as refused:
            self._print(
                {
                    "plan": job["plan"].code,
                    "rows": 0,
                    "valid_rows": 0,
                    "fee_total": "0.00",
                    "findings": [refused.finding.as_json()],
                }
            )
            raise SystemExit(EXIT_UNUSABLE) from None

        self._print(result.as_json())
        if any(finding.level == "error" for finding in result.findings):
            raise SystemExit(EXIT_ERRORS)

    def _print(self, payload: dict) -> None:
        self.stdout.write(json.dumps(payload, ensure_ascii=False))

    def _arguments(self, options) -> dict:
        path = options["path"]
        if not path:
            raise ArgumentProblem("请给出名单文件的路径。")
        if not os.path.isfile(path):
            raise ArgumentProblem(f"找不到名单文件：{path}")
        code = options["plan"]
        if not code:
            raise ArgumentProblem("请用 --plan 给出保障计划代码。")
        plan = Plan.objects.filter(code=code).first()
        if plan is None:
            raise ArgumentProblem(f"没有代码为“{code}”的保障计划。")
        raw_start = options["coverage_start"]
        if not raw_start:
            raise ArgumentProblem("请用 --coverage-start 给出保障开始日（YYYY-MM-DD）。")
        try:
            coverage_start = datetime.date.fromisoformat(raw_start)
        except ValueError:
            raise ArgumentProblem(
                f"保障开始日“{raw_start}”不是有效日期，应写作 YYYY-MM-DD，例如 2026-01-01。"
            ) from None
        version = version_in_force(plan, coverage_start)
        if version is None:
            raise ArgumentProblem(
                f"保障计划“{code}”在 {coverage_start:%Y-%m-%d} 没有已发布、生效的版本。"
            )

        headcount = None
        if options["headcount"] is not None:
            try:
                headcount = int(options["headcount"])
            except ValueError:
                headcount = -1
            if headcount < 0:
                raise ArgumentProblem(f"在册人数“{options['headcount']}”应为不小于0的整数。")

        lookup = None
        if options["union"]:
            union = Union.objects.filter(code=options["union"]).first()
            if union is None:
                raise ArgumentProblem(f"没有代码为“{options['union']}”的工会。")
            if headcount is None:
                headcount = union.headcount or None

            coverage_end = coverage_end_for(coverage_start, version.parsed_rules.coverage_months)

            def lookup(ids: list[str]) -> dict[str, int]:
                return held_shares(
                    plan_id=plan.pk,
                    coverage_start=coverage_start,
                    coverage_end=coverage_end,
                    id_numbers=ids,
                )

        return {
            "path": path,
            "plan": plan,
            "version": version,
            "coverage_start": coverage_start,
            "headcount": headcount,
            "held_shares": lookup,
        }
