"""Enrolling a submitted roster's people, and giving their cover back.

One person holds at most the plan's share limit on any day, whichever units enrolled them and
whichever coverage periods they chose: cover that *overlaps* counts, not only cover that starts
on the same day. Three things keep it so:

* the roster check and the import count the shares held on any day of the new period
  (``enrollment.selectors.held_shares``) and refuse the rows that would pass the limit;
* writers of one plan's cover are serialised by a lock on the plan row (FOR NO KEY UPDATE,
  which leaves rows that refer to the plan free to be written), so what the import read is
  still true when it writes;
* the database refuses an enrollment that passes the limit however it is written: a trigger on
  the enrollment table (migration ``0008_one_draft_and_share_limit``) sums the shares of
  overlapping cover and, on PostgreSQL, first takes the same lock on the plan row, so two
  writers racing for one person are served one after the other and the second sees the first.

Split from ``enrollment.rosters``, which calls these from the roster's state changes.
"""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from enrollment.models import SHARE_LIMIT_ERROR, Enrollment, Roster, ShareHolding
from enrollment.selectors import held_shares
from mutualaid.auditlog import audit
from organisation.models import Member, User
from plans.engine.findings import ERROR, Finding
from plans.engine.roster import RosterRow
from plans.models import Plan

# Rows are handled in batches of this size: big enough to keep round trips few, small enough
# to keep each statement's parameters within SQLite's limits.
BATCH = 2000


class ImportRefused(Exception):
    def __init__(self, findings: list[Finding]):
        self.findings = findings
        super().__init__(f"{len(findings)} rows cannot be enrolled")


def _chunks(items: list, size: int = BATCH):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def import_rows(roster: Roster, rows: list[RosterRow]) -> None:
    """Enroll ``rows`` inside the caller's transaction, or raise ImportRefused and write nothing.

    Imports of one plan are serialised by a lock on the plan row, so the shares read here are
    still true when the new ones are added; the database's share-limit trigger backs that up.
    """
    version = roster.plan_version
    plan = Plan.objects.select_for_update(no_key=True).get(pk=version.plan_id)
    limit = version.parsed_rules.shares.max
    held = held_shares(
        plan_id=plan.pk,
        coverage_start=roster.coverage_start,
        coverage_end=roster.coverage_end,
        id_numbers=[r.id_number for r in rows],
        exclude_roster_id=roster.pk,
    )
    over = [r for r in rows if held.get(r.id_number, 0) + (r.shares or 1) > limit]
    if over:
        raise ImportRefused(
            [
                Finding(
                    "already_enrolled",
                    ERROR,
                    r.row,
                    None,
                    f"此人在与本次保障期重叠的期间已持有本计划 {held.get(r.id_number, 0)} 份，"
                    f"再加 {r.shares or 1} 份将超过每人最多 {limit} 份的限制。",
                    None,
                )
                for r in over
            ]
        )
    _write_enrollments(roster, plan, rows, limit)
    bulk_audit(roster, "member", len(rows), "roster_members")
    bulk_audit(roster, "enrollment", len(rows), "roster_enrolled")


def bulk_audit(
    roster: Roster, object_type: str, count: int, note: str, user: User | None = None
) -> None:
    """One audit entry for a statement that changed ``count`` rows of the roster's people."""
    audit.record_bulk(
        object_type=object_type,
        count=count,
        note=note,
        params={"roster": roster.pk},
        union_id=roster.union_id,
        trail=f"roster:{roster.pk}",
        user=user,
    )


def share_limit_refused(exc: IntegrityError) -> bool:
    """Whether the database refused a write because it passed a share limit (the holding's check
    constraint or the enrollment table's share-limit trigger), rather than for another reason."""
    text = str(exc)
    return SHARE_LIMIT_ERROR in text or "holding_within_share_limit" in text


def _over_limit() -> ImportRefused:
    """The database refused a share beyond the limit: someone was enrolled meanwhile."""
    return ImportRefused(
        [
            Finding(
                "already_enrolled",
                ERROR,
                None,
                None,
                "有人在与本次保障期重叠的期间已在其他单位参保，份数超过上限，请重新检查名单。",
                None,
            )
        ]
    )


# The staging table holds one roster's rows for the set-based statements below; it lives only
# for the importing transaction. ID and bank numbers are in it as they are in the member table
# (ciphertext, and the ID number's lookup digest to match people by), never in clear.
_STAGE_COLUMNS = (
    "id_number_digest",
    "id_number",
    "name",
    "birth_date",
    "gender",
    "phone",
    "bank_card",
    "employment_type",
    "occupation",
    "medical_insurance",
    "high_risk",
    "shares",
    "fee",
)
_STAGE_TABLE = """CREATE TEMPORARY TABLE roster_import_stage (
    id_number_digest char(64) PRIMARY KEY, id_number text NOT NULL,
    name varchar(30) NOT NULL, birth_date date NOT NULL,
    gender varchar(1) NOT NULL, phone varchar(11) NOT NULL, bank_card text NOT NULL,
    employment_type varchar(16) NOT NULL, occupation varchar(16) NOT NULL,
    medical_insurance boolean NOT NULL, high_risk boolean NOT NULL,
    shares integer NOT NULL, fee numeric(10, 2) NOT NULL)"""


def _write_enrollments(roster: Roster, plan: Plan, rows: list[RosterRow], limit: int) -> None:
    """Members, holdings and enrollments written as three set-based statements from a staging
    table (filled by COPY on PostgreSQL), instead of a round trip per person: a roster of
    100,000 people commits in seconds. Runs inside the caller's transaction.

    ID and bank numbers are encrypted here, in Python, before anything reaches the database;
    people are matched by the ID number's lookup digest."""
    from mutualaid.crypto import digest, encrypt

    member, holding, enrollment = (m._meta.db_table for m in (Member, ShareHolding, Enrollment))
    values = [
        (
            digest(r.id_number),
            encrypt(r.id_number),
            r.name,
            r.birth_date,
            r.gender,
            r.phone,
            encrypt(r.bank_card),
            r.employment_type,
            r.occupation or "",
            bool(r.medical_insurance),
            bool(r.high_risk),
            r.shares or 1,
            r.fee,
        )
        for r in rows
    ]
    now = timezone.now()
    postgres = connection.vendor == "postgresql"
    # The statements below name tables from the models' own metadata and take every value as a
    # parameter, which is why ruff's S608 (SQL built from strings) is silenced on them.
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS roster_import_stage")
        cursor.execute(_STAGE_TABLE)
        if postgres:
            with cursor.cursor.copy(
                f"COPY roster_import_stage ({', '.join(_STAGE_COLUMNS)}) FROM STDIN"
            ) as copy:
                for value in values:
                    copy.write_row(value)
        else:
            marks = ", ".join(["%s"] * len(_STAGE_COLUMNS))
            cursor.executemany(
                f"INSERT INTO roster_import_stage ({', '.join(_STAGE_COLUMNS)}) VALUES ({marks})",
                [(*v[:-1], str(v[-1])) for v in values],
            )
        # WHERE true keeps SQLite's parser from reading ON CONFLICT as part of a join.
        cursor.execute(
            f"""INSERT INTO {member} (id_number_digest, id_number, name, birth_date, gender,
                    phone, bank_card, employment_type, occupation, medical_insurance, high_risk,
                    union_id, created_at, updated_at)
                SELECT id_number_digest, id_number, name, birth_date, gender, phone, bank_card,
                    employment_type, occupation, medical_insurance, high_risk, %s, %s, %s
                FROM roster_import_stage WHERE true
                ON CONFLICT (id_number_digest) DO UPDATE SET name = excluded.name,
                    phone = excluded.phone, bank_card = excluded.bank_card,
                    employment_type = excluded.employment_type,
                    occupation = excluded.occupation,
                    medical_insurance = excluded.medical_insurance,
                    high_risk = excluded.high_risk, union_id = excluded.union_id,
                    updated_at = excluded.updated_at""",
            [roster.union_id, now, now],
        )
        try:
            with transaction.atomic():
                cursor.execute(
                    f"""INSERT INTO {holding} (member_id, plan_id, coverage_start, shares,
                            share_limit)
                        SELECT m.id, %s, %s, s.shares, %s
                        FROM roster_import_stage s
                        JOIN {member} m ON m.id_number_digest = s.id_number_digest
                        WHERE true
                        ON CONFLICT (member_id, plan_id, coverage_start)
                        DO UPDATE SET shares = {holding}.shares + excluded.shares""",
                    [plan.pk, roster.coverage_start, limit],
                )
                # The share-limit trigger checks these rows against overlapping cover.
                cursor.execute(
                    f"""INSERT INTO {enrollment} (member_id, plan_id, plan_version_id, union_id,
                            roster_id, coverage_start, coverage_end, shares, fee, status,
                            created_at)
                        SELECT m.id, %s, %s, %s, %s, %s, %s, s.shares, s.fee, %s, %s
                        FROM roster_import_stage s
                        JOIN {member} m ON m.id_number_digest = s.id_number_digest""",
                    [
                        plan.pk,
                        roster.plan_version_id,
                        roster.union_id,
                        roster.pk,
                        roster.coverage_start,
                        roster.coverage_end,
                        Enrollment.Status.PENDING,
                        now,
                    ],
                )
        except IntegrityError as exc:
            if not share_limit_refused(exc):
                raise
            raise _over_limit() from exc
        cursor.execute("DROP TABLE roster_import_stage")


def release(roster: Roster) -> None:
    """Cancel a roster's enrollments and give their shares back, in one pass per batch."""
    live = roster.enrollments.exclude(status=Enrollment.Status.CANCELLED)
    pairs = list(live.values_list("member_id", "shares"))
    for batch in _chunks(pairs):
        for member_id, shares in batch:
            ShareHolding.objects.filter(
                member_id=member_id,
                plan_id=roster.plan_version.plan_id,
                coverage_start=roster.coverage_start,
            ).update(shares=F("shares") - shares)
    cancelled = live.update(status=Enrollment.Status.CANCELLED)
    bulk_audit(roster, "enrollment", cancelled, "roster_released")
