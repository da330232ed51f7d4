"""Benchmark: claims (targets in bench/README.md).

    .venv/bin/python bench/claims.py [SECTION ...]

Each section is a function that prints its own figures; with no argument every section runs.

- ``engine``: the payout engine alone (no database): 200,000 claims of a realistic mix across
  the eleven catalog plans (hospital allowance, critical illness, accident, reimbursements, with
  earlier payouts on many of them), generated in memory, then decided with ``decide_many``.
  Generation is not timed. Target: at least 20,000 claims/s.
- ``notices``: 1,000 decision notices (理赔决定通知书) rendered as one-notice PDFs by two spawned
  worker processes, 500 each, from unsaved model instances. Targets: at most 60 s wall, no
  notice over 200 KB, each worker's memory flat (printed after 10, 100, 250 and 500 renders).
"""

from __future__ import annotations

import collections
import datetime
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ENGINE_CLAIMS = 200_000
ENGINE_RUNS = 3
SEED = 2026


def _catalog_rules() -> dict:
    from plans.engine.rules import parse_rules

    rules = {}
    for path in sorted((ROOT / "fixtures" / "plans").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        rules[data["code"]] = parse_rules(data["versions"][0]["rules"])
    return rules


def _money(rnd: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rnd.randint(low * 100, high * 100)) / 100


def _stay_days(rnd: random.Random) -> int:
    # Most stays are a week or two; a few are a single day, a few run for months.
    roll = rnd.random()
    if roll < 0.08:
        return rnd.randint(0, 1)
    if roll < 0.95:
        return rnd.randint(2, 20)
    return rnd.randint(21, 150)


def _claims(count: int, seed: int = SEED) -> list[tuple]:
    """``count`` claims as decide_many takes them: (rules, coverage_start, shares, facts, prior).

    About 8% of events fall outside the coverage period and 2% are filed after the deadline;
    many claims carry earlier payouts of the same benefit, so counts and caps come into play.
    """
    from plans.engine.payout import ClaimFacts, PriorPayout

    rnd = random.Random(seed)
    catalog = _catalog_rules()
    plans = list(catalog.values())
    starts = [datetime.date(year, month, 1) for year in (2024, 2025, 2026) for month in (1, 4, 7)]
    day = datetime.timedelta
    claims = []
    for _ in range(count):
        rules = rnd.choice(plans)
        benefit = rnd.choice(rules.benefits)
        start = rnd.choice(starts)
        shares = rnd.randint(rules.shares.min, rules.shares.max)
        event = start + day(rnd.randint(-10, 380))
        prior: list[PriorPayout] = []
        kind = benefit.type
        if kind == "hospital_allowance" or getattr(benefit, "event", "") == "hospital_stay":
            discharge = event + day(_stay_days(rnd))
            filed = discharge + day(rnd.randint(0, 60) if rnd.random() > 0.02 else 800)
            for _ in range(rnd.choice((0, 0, 0, 1, 1, 2, 3))):
                admitted = start + day(rnd.randint(0, 300))
                prior.append(
                    PriorPayout(
                        benefit=benefit.code,
                        amount=_money(rnd, 100, 4500),
                        event_date=admitted,
                        admission_date=admitted,
                        discharge_date=admitted + day(rnd.randint(2, 30)),
                    )
                )
            facts = ClaimFacts(
                benefit=benefit.code,
                filed_date=filed,
                admission_date=event,
                discharge_date=discharge,
                hospital_locality="local" if rnd.random() < 0.8 else "elsewhere",
                hospital_grade=rnd.choices((1, 2, 3), (1, 4, 5))[0],
                eligible_cost=_money(rnd, 0, 30000) if kind == "reimbursement" else None,
            )
        elif kind == "critical_illness":
            if rnd.random() < 0.1:
                prior.append(PriorPayout(benefit.code, benefit.tiers[-1].amount, start))
            facts = ClaimFacts(
                benefit=benefit.code,
                filed_date=event + day(rnd.randint(0, 90)),
                diagnosis_date=event,
            )
        elif kind == "accident":
            for _ in range(rnd.choice((0, 0, 0, 1, 2))):
                prior.append(
                    PriorPayout(
                        benefit.code,
                        _money(rnd, 1000, 12000),
                        start,
                        applied_base=benefit.disability_base * (shares if benefit.per_share else 1),
                    )
                )
            death = rnd.random() < 0.1
            facts = ClaimFacts(
                benefit=benefit.code,
                filed_date=event + day(rnd.randint(0, 120)),
                accident_date=event,
                outcome="death" if death else "disability",
                disability_grade=None if death else rnd.randint(1, 10),
                during_hospital_stay=rnd.random() < 0.1,
                work_injury=rnd.random() < 0.1,
            )
        else:
            for _ in range(rnd.choice((0, 0, 1, 2))):
                prior.append(PriorPayout(benefit.code, _money(rnd, 50, 1500), start))
            field = "accident_date" if benefit.event == "accident" else "fire_date"
            facts = ClaimFacts(
                benefit=benefit.code,
                filed_date=event + day(rnd.randint(0, 90)),
                eligible_cost=_money(rnd, 0, 5000),
                **{field: event},
            )
        claims.append((rules, start, shares, facts, tuple(prior)))
    return claims


def bench_engine(count: int = ENGINE_CLAIMS, runs: int = ENGINE_RUNS) -> None:
    from plans.engine.payout import decide_many

    began = time.perf_counter()
    claims = _claims(count)
    print(f"engine: generated {count:,} claims in {time.perf_counter() - began:.2f} s (not timed)")

    timings = []
    decisions: list = []
    for _ in range(runs):
        began = time.perf_counter()
        decisions = decide_many(claims)
        timings.append(time.perf_counter() - began)
    median = statistics.median(timings)
    runs_text = ", ".join(f"{t:.2f}" for t in timings)
    print(
        f"engine: decide_many over {count:,} claims, median of {runs}: {median:.2f} s "
        f"(runs: {runs_text}) = {count / median:,.0f} claims/s"
    )

    paid = [d for d in decisions if d.decision == "pay"]
    total = sum((d.amount for d in paid), Decimal("0.00"))
    reasons = collections.Counter(r for d in decisions for r in d.reasons)
    flags = collections.Counter(f for d in decisions for f in d.flags)
    print(f"engine: paid {len(paid):,} ({len(paid) / count:.0%}), total {total} yuan")
    print("engine: reasons " + ", ".join(f"{k} {v:,}" for k, v in reasons.most_common()))
    print("engine: flags " + ", ".join(f"{k} {v:,}" for k, v in flags.most_common()))


# --- decision notices ------------------------------------------------------------------------
#
# 1,000 理赔决定通知书 rendered by two fresh worker processes (multiprocessing, spawn), 500 each,
# as one-notice PDFs. The claims are unsaved model instances with their related objects attached,
# as a select_related query returns them, so no database is needed; everything else a worker does
# per notice is timed: parsing the plan's rules, building the context, the template, WeasyPrint's
# layout and PDF writing, and writing the file. The wall time runs from starting the workers to
# the last one finishing (process start, Django set-up and font loading included).

NOTICES = 1_000
NOTICE_WORKERS = 2
NOTICE_CHECKPOINTS = (10, 100, 250, 500)
NOTICE_PLANS = ("jilin-allowance-2020", "linyi-inpatient-2019", "shaanxi-gig-2023")
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
_REJECTIONS = (
    ["waiting_period"],
    ["hospital_grade_too_low", "stay_too_short"],
    ["not_covered", "filing_deadline_passed"],
    ["period_cap_reached"],
)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _setup_django() -> None:
    import logging
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mutualaid.settings")
    os.environ.setdefault("DEBUG", "true")
    os.environ["PORTAL_IGNORE_DOTENV"] = "1"
    import django

    django.setup()
    # WeasyPrint logs each step at INFO, which DEBUG settings would print for every notice.
    logging.getLogger("weasyprint").setLevel(logging.WARNING)


def _notice_lines(code: str, number: int) -> tuple[str, list[dict[str, str]]]:
    """The benefit claimed and the engine's explanation lines for it."""
    if code == "linyi-inpatient-2019":
        cost = Decimal(1000 + number * 37 % 20000)
        due = (cost - 500) / 2
        lines = [
            {
                "label": f"住院医疗费用自付部分 {cost:.2f} 元，扣除起付线 500 元后按 50% 给付",
                "amount": f"{due:.2f}",
            }
        ]
        if due > 10000:
            lines.append({"label": "本保障期间最高给付 10000 元", "amount": f"{10000 - due:.2f}"})
        return "inpatient_reimbursement", lines
    days = 3 + number % 100
    lines = [{"label": f"住院津贴 {days}天 × 50元（本地医院）", "amount": f"{days * 50:.2f}"}]
    if days * 50 > 4500:
        lines.append({"label": "单次住院最高给付 4500 元", "amount": f"{4500 - days * 50:.2f}"})
    return "hospital_allowance", lines


def _notice_claims(first: int, count: int) -> tuple[list, object]:
    """``count`` decided claims numbered from ``first`` and their office, as unsaved instances:
    every fourth rejected, every seventh approved with an amount staff changed, the rest approved
    as proposed. Each claim has its own PlanVersion instance, so its rules are parsed once per
    notice, as when one notice is printed."""
    from claims.models import Claim
    from enrollment.models import Enrollment
    from organisation.models import Member, Union
    from plans.engine.identity import id_check_digit
    from plans.models import Plan, PlanVersion

    catalog = {
        code: json.loads((ROOT / "fixtures" / "plans" / f"{code}.json").read_text("utf-8"))
        for code in NOTICE_PLANS
    }
    office = Union(
        pk=1,
        code="B0",
        name="吉林省职工保险互助会长春办事处",
        level="office",
        path="000001/",
        contact_name="刘主任",
        contact_phone="0431-88886666",
    )
    units = [
        Union(
            pk=10 + i,
            code=f"B{i}",
            name=f"长春市第{i + 1}机械厂工会",
            level="grassroots",
            path=f"000001/{10 + i:06d}/",
            contact_name="王会计",
            contact_phone="0431-85550000",
        )
        for i in range(20)
    ]
    decided = datetime.datetime(2026, 4, 2, 9, 30, tzinfo=datetime.UTC)
    claims = []
    for number in range(first, first + count):
        code = NOTICE_PLANS[number % len(NOTICE_PLANS)]
        item = catalog[code]["versions"][0]
        plan = Plan(pk=1 + NOTICE_PLANS.index(code), code=code, name=catalog[code]["name"])
        version = PlanVersion(pk=plan.pk, plan=plan, number=item["number"], rules=item["rules"])
        birth = datetime.date(1970 + number % 30, 1 + number % 12, 1 + number % 28)
        first17 = f"220102{birth:%Y%m%d}{number % 1000:03d}"
        name = _SURNAMES[number % len(_SURNAMES)] + _GIVEN[number % len(_GIVEN)]
        name += _GIVEN[number * 7 % len(_GIVEN)]
        member = Member(name=name, id_number=first17 + id_check_digit(first17))
        unit = units[number % len(units)]
        enrollment = Enrollment(
            member=member,
            plan=plan,
            plan_version=version,
            union=unit,
            coverage_start=datetime.date(2026, 1, 1),
            coverage_end=datetime.date(2026, 12, 31),
        )
        benefit, lines = _notice_lines(code, number)
        amount = sum((Decimal(line["amount"]) for line in lines), Decimal("0.00"))
        claim = Claim(
            number=f"LP2026{number:06d}",
            enrollment=enrollment,
            union=unit,
            benefit=benefit,
            event_date=datetime.date(2026, 3, 1),
            payee_name=name,
            payee_account=f"622202{number:013d}",
            decided_at=decided,
            reported_at=decided - datetime.timedelta(days=12),
        )
        if number % 4 == 0:
            claim.status = Claim.Status.REJECTED
            claim.reject_reasons = _REJECTIONS[number // 4 % len(_REJECTIONS)]
            claim.proposal = {"decision": "reject", "amount": "0.00", "lines": []}
            claim.proposal["reasons"] = claim.reject_reasons
        else:
            claim.status = Claim.Status.APPROVED
            claim.proposal = {"decision": "pay", "amount": f"{amount:.2f}", "lines": lines}
            claim.approved_amount = amount
            if number % 7 == 0:
                claim.approved_amount = amount - Decimal("100.00")
                claim.override_reason = "住院期间有 2 天请假离院，按实际在院天数核减。"
        claims.append(claim)
    return claims, office


def _notice_worker(first: int, count: int, out: Path, queue) -> None:
    started = time.perf_counter()
    _setup_django()
    from claims.notices import decision_notice_context, render_notices

    claims, office = _notice_claims(first, count)
    rss = {}
    largest = 0
    for done, claim in enumerate(claims, start=1):
        # The office stands for what a worker reads from the database once per batch.
        pdf = render_notices([decision_notice_context(claim, office=office)])
        out.write_bytes(pdf)
        largest = max(largest, len(pdf))
        if done in NOTICE_CHECKPOINTS:
            rss[done] = _rss_mb()
    queue.put(
        {"first": first, "largest": largest, "rss": rss, "seconds": time.perf_counter() - started}
    )


def bench_notices() -> None:
    import multiprocessing

    out = ROOT / "data" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    share = NOTICES // NOTICE_WORKERS
    began = time.perf_counter()
    workers = [
        context.Process(
            target=_notice_worker,
            args=(1 + index * share, share, out / f"notice-worker-{index + 1}.pdf", queue),
        )
        for index in range(NOTICE_WORKERS)
    ]
    for worker in workers:
        worker.start()
    results = sorted((queue.get() for _ in workers), key=lambda r: r["first"])
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - began
    if any(worker.exitcode for worker in workers):
        raise SystemExit("notices: a worker failed")
    print(
        f"notices: {NOTICES:,} decision notices by {NOTICE_WORKERS} spawned workers in "
        f"{wall:.1f} s wall (target <= 60 s) = {NOTICES / wall:.1f} notices/s"
    )
    largest = max(r["largest"] for r in results)
    print(f"notices: largest notice {largest / 1024:.0f} KB (target <= 200 KB)")
    for index, result in enumerate(results, start=1):
        marks = ", ".join(f"{done}: {mb:.0f} MB" for done, mb in result["rss"].items())
        print(
            f"notices: worker {index}, {share} notices in {result['seconds']:.1f} s; "
            f"RSS after {marks}"
        )


def bench_queue() -> None:
    """The review queue on PostgreSQL with 1,000,000 members and 200,000 claims, in its own
    process because it needs its own database (see bench/claims_queue.py)."""
    import subprocess

    env = dict(os.environ)
    env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mutualaid_bench_claims")
    subprocess.run(  # noqa: S603 - our own script, with the interpreter running this one
        [sys.executable, str(Path(__file__).with_name("claims_queue.py"))], env=env, check=True
    )


SECTIONS: dict[str, Callable[[], None]] = {
    "engine": bench_engine,
    "queue": bench_queue,
    "notices": bench_notices,
}


def main(argv: list[str]) -> int:
    names = argv or list(SECTIONS)
    unknown = [name for name in names if name not in SECTIONS]
    if unknown:
        print(f"unknown section(s): {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
        return 2
    for name in names:
        SECTIONS[name]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
