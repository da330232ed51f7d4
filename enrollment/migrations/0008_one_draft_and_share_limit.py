"""Two things the database now refuses, however the rows are written:

* a second open draft (uploaded, checking, checked, refused or returned) of one unit, plan and
  coverage start: a partial unique index;
* cover beyond the plan's share limit on any day: a trigger on the enrollment table. For each
  enrollment written (inserted, or updated so that it holds more: revived, more shares, a longer
  period, another person, plan or version), it adds up the shares of the person's live cover in
  the plan on the first day of the period and on every day inside it where other cover begins
  (the total only rises on such days), and refuses the statement when one of them passes the
  share limit of the version the enrollment was written under. Rows already in the database are
  left as they are.

On PostgreSQL the trigger runs once per statement (over its transition tables, so an import of
100,000 rows is one check, not 100,000) and first locks the rows of the plans concerned, in id
order, FOR NO KEY UPDATE (which leaves other rows free to refer to the plan): two transactions
writing cover in one plan are served one after the other, and the second one's check sees what
the first committed. Roster imports already hold that lock (``enrollment.enrolling``). (One
lock per plan, not per person: an import writes 100,000 people, and as many row locks would
cost seconds.) The check therefore holds at READ COMMITTED, the isolation level the portal
uses. On SQLite, which lets one transaction write at a time, a row trigger does the same check.

The message starts with ``enrollment_shares_over_limit`` (``enrollment.models.SHARE_LIMIT_ERROR``),
by which the portal tells a refused share from other integrity errors."""

import django.db.models.deletion
from django.db import migrations, models

_SUM_AT = """(SELECT sum(e.shares) FROM enrollment_enrollment e
    WHERE e.member_id = {n}.member_id AND e.plan_id = {n}.plan_id AND e.status <> 'cancelled'
      AND e.coverage_start <= p.coverage_start AND e.coverage_end >= p.coverage_start)"""

POSTGRES_CREATE = """
CREATE FUNCTION enrollment_shares_within_limit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
    plans bigint[];
    bad record;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(n.id), array_agg(DISTINCT n.plan_id) INTO ids, plans
        FROM new_rows n WHERE n.status <> 'cancelled';
    ELSE
        SELECT array_agg(n.id), array_agg(DISTINCT n.plan_id) INTO ids, plans
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE n.status <> 'cancelled'
          AND (o.status = 'cancelled' OR n.shares > o.shares
               OR n.coverage_start < o.coverage_start OR n.coverage_end > o.coverage_end
               OR n.member_id <> o.member_id OR n.plan_id <> o.plan_id
               OR n.plan_version_id <> o.plan_version_id);
    END IF;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    -- Writers of one plan's cover wait here for each other; the query below then sees what the
    -- one before committed.
    PERFORM 1 FROM plans_plan p WHERE p.id = ANY (plans) ORDER BY p.id FOR NO KEY UPDATE;
    WITH limits AS MATERIALIZED (
        SELECT v.id, coalesce((v.rules #>> '{shares,max}')::integer, 0) AS max_shares
        FROM plans_planversion v WHERE v.plan_id = ANY (plans)
    )
    SELECT n.member_id, n.plan_id, p.coverage_start AS day, l.max_shares INTO bad
    FROM unnest(ids) AS c(id)
    JOIN enrollment_enrollment n ON n.id = c.id
    JOIN limits l ON l.id = n.plan_version_id
    JOIN enrollment_enrollment p
      ON p.member_id = n.member_id AND p.plan_id = n.plan_id AND p.status <> 'cancelled'
     AND p.coverage_start BETWEEN n.coverage_start AND n.coverage_end
    WHERE SUM_AT > l.max_shares
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'enrollment_shares_over_limit: member % would hold more than % shares of plan % on %',
            bad.member_id, bad.max_shares, bad.plan_id, bad.day
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER enrollment_shares_within_limit_insert
    AFTER INSERT ON enrollment_enrollment
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION enrollment_shares_within_limit();
CREATE TRIGGER enrollment_shares_within_limit_update
    AFTER UPDATE ON enrollment_enrollment
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION enrollment_shares_within_limit();
""".replace("SUM_AT", _SUM_AT.format(n="n"))

POSTGRES_DROP = """
DROP TRIGGER IF EXISTS enrollment_shares_within_limit_insert ON enrollment_enrollment;
DROP TRIGGER IF EXISTS enrollment_shares_within_limit_update ON enrollment_enrollment;
DROP FUNCTION IF EXISTS enrollment_shares_within_limit();
"""

_SQLITE_CHECK = """
BEGIN
    SELECT RAISE(ABORT, 'enrollment_shares_over_limit')
    WHERE EXISTS (
        SELECT 1 FROM enrollment_enrollment p
        WHERE p.member_id = NEW.member_id AND p.plan_id = NEW.plan_id
          AND p.status <> 'cancelled'
          AND p.coverage_start BETWEEN NEW.coverage_start AND NEW.coverage_end
          AND SUM_AT > coalesce(
              (SELECT json_extract(v.rules, '$.shares.max') FROM plans_planversion v
               WHERE v.id = NEW.plan_version_id), 0)
    );
END""".replace("SUM_AT", _SUM_AT.format(n="NEW"))

SQLITE_CREATE = [
    """CREATE TRIGGER enrollment_shares_within_limit_insert
    AFTER INSERT ON enrollment_enrollment
    FOR EACH ROW WHEN NEW.status <> 'cancelled'"""
    + _SQLITE_CHECK,
    """CREATE TRIGGER enrollment_shares_within_limit_update
    AFTER UPDATE OF status, shares, coverage_start, coverage_end, member_id, plan_id,
        plan_version_id ON enrollment_enrollment
    FOR EACH ROW WHEN NEW.status <> 'cancelled'
        AND (OLD.status = 'cancelled' OR NEW.shares > OLD.shares
             OR NEW.coverage_start < OLD.coverage_start OR NEW.coverage_end > OLD.coverage_end
             OR NEW.member_id <> OLD.member_id OR NEW.plan_id <> OLD.plan_id
             OR NEW.plan_version_id <> OLD.plan_version_id)"""
    + _SQLITE_CHECK,
]

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS enrollment_shares_within_limit_insert",
    "DROP TRIGGER IF EXISTS enrollment_shares_within_limit_update",
]


def create_share_limit_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_CREATE, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_CREATE:
            schema_editor.execute(statement, params=None)


def drop_share_limit_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("enrollment", "0007_roster_plan"),
    ]

    operations = [
        migrations.AlterField(
            model_name="roster",
            name="plan",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="plans.plan",
                verbose_name="plan",
            ),
        ),
        migrations.AddConstraint(
            model_name="roster",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    ("status__in", ("uploaded", "checking", "checked", "refused", "returned"))
                ),
                fields=("union", "plan", "coverage_start"),
                name="roster_one_draft_per_period",
            ),
        ),
        migrations.RunPython(create_share_limit_trigger, drop_share_limit_trigger),
    ]
