"""Benchmark: claims (targets in bench/README.md).

    .venv/bin/python bench/claims.py [SECTION ...]

Each section is a function that prints its own figures; with no argument every section runs.

- ``engine``: the payout engine alone (no database): 200,000 claims of a realistic mix across
  the eleven catalog plans (hospital allowance, critical illness, accident, reimbursements, with
  earlier payouts on many of them), generated in memory, then decided with ``decide_many``.
  Generation is not timed. Target: at least 20,000 claims/s.
"""

from __future__ import annotations

import collections
import datetime
import json
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


SECTIONS: dict[str, Callable[[], None]] = {
    "engine": bench_engine,
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
