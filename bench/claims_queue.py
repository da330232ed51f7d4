"""Benchmark: the review queue with 1,000,000 members and 200,000 claims in PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mutualaid_bench_claims \\
        .venv/bin/python bench/claims_queue.py

Target (from the claims issue): the queue's first page and a filtered page served in at most
150 ms median. The database named in DATABASE_URL is dropped and created afresh (its name must
start with mutualaid_bench), migrated and filled by COPY with one office, 2 counties, 200 units,
1,000,000 members with active cover and 200,000 claims in every status. Then the real view is
requested through Django's test client as an office user (login, scoping, filters, template and
all), 30 times each, and the median and 90th percentile are printed. The data set is kept, so a
second run with BENCH_REUSE=1 only measures.
"""

from __future__ import annotations

import datetime
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mutualaid.settings")
os.environ.setdefault("DEBUG", "true")
os.environ["PORTAL_IGNORE_DOTENV"] = "1"

MEMBERS = int(os.environ.get("BENCH_MEMBERS", "1000000"))
CLAIMS = int(os.environ.get("BENCH_CLAIMS", "200000"))
UNITS = 200
REPEAT = 30


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


def _fill() -> None:
    from django.db import connection

    from claims.models import Claim
    from enrollment.models import Enrollment
    from mutualaid.crypto import digest, encrypt
    from organisation.models import Member, Union, User
    from plans.engine.identity import id_check_digit
    from plans.models import PlanVersion
    from plans.services import plans_load_catalog

    plans_load_catalog()
    version = PlanVersion.objects.get(plan__code="jilin-allowance-2020")
    office = Union.objects.create(code="BQ", name="基准办事处", level="office")
    counties = [
        Union.objects.create(code=f"BQ-{i}", name=f"基准区总工会{i}", level="county", parent=office)
        for i in range(2)
    ]
    units = [
        Union.objects.create(
            code=f"BQ-U{i:03d}",
            name=f"基准单位工会{i:03d}",
            level="grassroots",
            parent=counties[i % 2],
            headcount=5000,
        )
        for i in range(UNITS)
    ]
    User.objects.create_user(
        "bench-office",
        password="bench-office-pw",
        role="office_staff",
        union=office,
        full_name="基准业务员",
    )
    clerk = User.objects.create_user(
        "bench-clerk", password="bench-clerk-pw", role="clerk", union=units[0]
    )
    rng = random.Random(7)
    start = datetime.date(2026, 1, 1)
    end = datetime.date(2026, 12, 31)
    member_table = Member._meta.db_table
    enrollment_table = Enrollment._meta.db_table
    claim_table = Claim._meta.db_table
    began = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            f"COPY {member_table} (id_number_digest, id_number, name, birth_date, gender, phone, "
            "bank_card, employment_type, occupation, medical_insurance, high_risk, union_id, "
            "created_at, updated_at) FROM STDIN"
        ) as copy,
    ):
        now = datetime.datetime.now(datetime.UTC)
        for i in range(MEMBERS):
            birth = datetime.date(1966, 1, 1) + datetime.timedelta(days=i // 1000)
            first17 = f"220102{birth:%Y%m%d}{i % 1000:03d}"
            number = first17 + id_check_digit(first17)
            # As the portal stores them: ID and bank numbers encrypted, the ID's lookup digest.
            copy.write_row(
                (
                    digest(number),
                    encrypt(number),
                    f"职工{i}",
                    birth,
                    "M" if i % 2 else "F",
                    f"139{i:08d}",
                    encrypt("6222021234567890128"),
                    "正式职工",
                    "",
                    True,
                    False,
                    units[i % UNITS].pk,
                    now,
                    now,
                )
            )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {enrollment_table} (member_id, plan_id, plan_version_id, union_id, "
            "coverage_start, coverage_end, shares, fee, status, created_at) "
            f"SELECT id, %s, %s, union_id, %s, %s, 1, 110.00, 'active', now() FROM {member_table}",
            [version.plan_id, version.pk, start, end],
        )
        cursor.execute(f"SELECT id, union_id FROM {enrollment_table} ORDER BY id")
        enrollments = cursor.fetchall()
    statuses = [
        "reported",
        "reviewing",
        "reviewing",
        "investigating",
        "approved",
        "paid",
        "paid",
        "paid",
        "rejected",
        "returned",
    ]
    benefits = ["hospital_allowance", "hospital_allowance", "critical_illness", "accident"]
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            f"COPY {claim_table} (number, enrollment_id, union_id, benefit, event_date, facts, "
            "status, payee_name, payee_account, proposed_amount, proposal, approved_amount, "
            "reject_reasons, override_reason, reported_by_id, reported_at, completed_at, due_date, "
            "due_basis, notice) FROM STDIN"
        ) as copy,
    ):
        for i in range(CLAIMS):
            enrollment_id, union_id = enrollments[rng.randrange(len(enrollments))]
            status = statuses[i % len(statuses)]
            event = start + datetime.timedelta(days=rng.randrange(300))
            reported = datetime.datetime.combine(
                event + datetime.timedelta(days=rng.randrange(30)),
                datetime.time(9),
                tzinfo=datetime.UTC,
            )
            amount = "500.00" if status in ("approved", "paid") else None
            copy.write_row(
                (
                    f"LPB{i:09d}",
                    enrollment_id,
                    union_id,
                    benefits[i % 4],
                    event,
                    "{}",
                    status,
                    "职工",
                    encrypt("6222021234567890128"),
                    amount,
                    "{}",
                    amount,
                    "[]",
                    "",
                    clerk.pk,
                    reported,
                    reported,
                    reported.date() + datetime.timedelta(days=14),
                    "official",
                    "",
                )
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"filled {MEMBERS:,} members and {CLAIMS:,} claims in {time.perf_counter() - began:.0f} s"
    )


def _measure(client, label: str, url: str) -> None:
    times = []
    for _ in range(REPEAT):
        began = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.status_code
    times.sort()
    print(
        f"{label:<48} median {statistics.median(times):6.1f} ms   "
        f"p90 {times[int(len(times) * 0.9) - 1]:6.1f} ms   (n={REPEAT})"
    )


def bench_queue() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print(
            "review queue: skipped (set DATABASE_URL to a mutualaid_bench... PostgreSQL database)"
        )
        return
    reuse = os.environ.get("BENCH_REUSE") == "1"
    if not reuse:
        _recreate_database(url)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    settings.ALLOWED_HOSTS = ["*"]
    if not reuse:
        call_command("migrate", verbosity=0)
        _fill()
    from organisation.models import User

    client = Client()
    # force_login: django-axes needs a request to check a password, which Client.login lacks.
    client.force_login(User.objects.get(username="bench-office"))
    client.get("/claims/")  # warm caches, as a running server would be
    _measure(client, "review queue, first page", "/claims/")
    _measure(
        client,
        "review queue, status=reviewing, sorted by due",
        "/claims/?status=reviewing&sort=due",
    )
    _measure(
        client,
        "review queue, overdue, hospital allowance",
        "/claims/?overdue=on&benefit=hospital_allowance",
    )
    _measure(client, "review queue, one unit, page 3", "/claims/?union=5&page=3")


if __name__ == "__main__":
    bench_queue()
