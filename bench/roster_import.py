"""Benchmark: commit 100,000 enrollments of one roster to PostgreSQL (target ≤ 5 s).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mutualaid_bench \
        .venv/bin/python bench/roster_import.py

The database named in DATABASE_URL is dropped and created afresh (it must not be a real one),
migrated, and given the plan catalog, one unit and 100,000 valid roster rows; then the same
service the worker uses (`_import_rows`) enrolls them all in one transaction, and the time of
that transaction is printed. Members are new on the first pass; a second pass into a new
period shows the cost when every member already exists. As in production, ID numbers are
encrypted and digested on the way in (the keys are derived from the debug SECRET_KEY here).
"""

from __future__ import annotations

import datetime
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mutualaid.settings")
os.environ.setdefault("DEBUG", "true")
os.environ["PORTAL_IGNORE_DOTENV"] = "1"

ROWS = int(os.environ.get("BENCH_ROWS", "100000"))


def _recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1]
    if not name.startswith("mutualaid_bench"):
        sys.exit("Refusing: the benchmark database's name must start with mutualaid_bench.")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def main() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL database named mutualaid_bench...")
    _recreate_database(url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from enrollment.models import Enrollment, Roster
    from enrollment.rosters import _import_rows
    from organisation.models import Union, User
    from plans.engine.identity import id_check_digit
    from plans.engine.roster import RosterRow
    from plans.models import PlanVersion
    from plans.services import plans_load_catalog

    call_command("migrate", verbosity=0)
    plans_load_catalog()
    version = PlanVersion.objects.get(plan__code="jilin-allowance-2020")
    office = Union.objects.create(code="B0", name="基准办事处", level="office")
    unit = Union.objects.create(
        code="B1", name="基准单位工会", level="grassroots", parent=office, headcount=ROWS
    )
    clerk = User.objects.create(username="bench", role="clerk", union=unit)

    rows = []
    for i in range(ROWS):
        birth = datetime.date(1970, 1, 1) + datetime.timedelta(days=i // 1000)
        first17 = f"220102{birth:%Y%m%d}{i % 1000:03d}"
        number = first17 + id_check_digit(first17)
        rows.append(
            RosterRow(
                row=i + 2,
                name=f"职工{i}",
                id_number=number,
                birth_date=birth,
                gender="M" if int(first17[16]) % 2 else "F",
                phone=f"139{i:08d}",
                employment_type="正式职工",
                occupation="",
                medical_insurance=True,
                shares=1,
                high_risk=False,
                bank_card="",
                note="",
                fee=Decimal("110.00"),
                ok=True,
            )
        )
    # Different birth dates and sequences can still collide; keep each ID once.
    unique = list({r.id_number: r for r in rows}.values())

    for label, start in (
        ("new members", datetime.date(2026, 1, 1)),
        ("existing members, next period", datetime.date(2027, 1, 1)),
    ):
        roster = Roster.objects.create(
            union=unit,
            plan_version=version,
            coverage_start=start,
            coverage_end=start.replace(year=start.year + 1) - datetime.timedelta(days=1),
            status=Roster.Status.SUBMITTING,
            created_by=clerk,
        )
        began = time.perf_counter()
        with transaction.atomic():
            _import_rows(roster, unique)
        elapsed = time.perf_counter() - began
        count = Enrollment.objects.filter(roster=roster).count()
        print(f"import {count:,} enrollments ({label}): {elapsed:.2f} s")


if __name__ == "__main__":
    main()
