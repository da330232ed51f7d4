"""A database made before the organisation app migrates forward with nothing lost.

The snapshots in tests/migration_snapshots/ were made with the last main before the move
(commit f3b67ad): ``migrate``, ``load_plans`` and ``load_demo`` under the test settings (so
their ID and bank numbers are encrypted with the keys derived from the test SECRET_KEY), on
SQLite and on PostgreSQL (``pg_dump --no-owner --no-privileges``). Beside each is what that code
read from it: every table's row count, decrypted ID numbers, bank cards and payee accounts, the
users and the permissions of each group.

Each test migrates a copy with this code's ``manage.py migrate`` in a separate process, as an
office would, then reads the same things through the moved models and compares. The schema
after the move must also be the schema a new database gets.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from mutualaid.crypto import derive_keys

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = Path(__file__).resolve().parent / "migration_snapshots"
TEST_SECRET = "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"

# The move itself; later migrations (every one in the code) must be applied too.
MOVE_MIGRATIONS = {
    ("auditlog", "0001_initial"),
    ("organisation", "0001_initial"),
    ("organisation", "0002_content_types_moved"),
    ("enrollment", "0006_people_and_audit_moved_out"),
    ("claims", "0007_unions_in_organisation"),
    ("plans", "0003_office_in_organisation"),
}
MOVED_TYPES = {
    ("enrollment", "union"): ("organisation", "union"),
    ("enrollment", "user"): ("organisation", "user"),
    ("enrollment", "member"): ("organisation", "member"),
    ("enrollment", "auditentry"): ("auditlog", "auditentry"),
}
# Permissions are named by their model's app: the moved models' now carry the new label.
RELABELLED = {
    "enrollment.add_union": "organisation.add_union",
    "enrollment.change_union": "organisation.change_union",
    "enrollment.view_union": "organisation.view_union",
    "enrollment.view_member": "organisation.view_member",
}

READ_STATE = r"""
import json, sys
import django
django.setup()
from django.contrib.auth.models import Group
from django.db import connection
from claims.models import Claim, Payout
from organisation.models import Member, User

counts = {}
with connection.cursor() as cursor:
    for table in sorted(connection.introspection.table_names()):
        cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
        counts[table] = cursor.fetchone()[0]
    cursor.execute("SELECT app, name FROM django_migrations")
    migrations = sorted(cursor.fetchall())
    cursor.execute("SELECT app_label, model FROM django_content_type")
    content_types = sorted(cursor.fetchall())
from django.db.migrations.loader import MigrationLoader
graph_nodes = sorted(MigrationLoader(connection).graph.nodes)
schema = {}
for table in sorted(connection.introspection.table_names()):
    with connection.cursor() as cursor:
        columns = connection.introspection.get_table_description(cursor, table)
        constraints = connection.introspection.get_constraints(cursor, table)
    schema[table] = {
        "columns": sorted([c.name, c.type_code if isinstance(c.type_code, str) else str(c.type_code), bool(c.null_ok)] for c in columns),
        "constraints": sorted(
            [sorted(v["columns"] or []), bool(v["primary_key"]), bool(v["unique"]), bool(v["index"]), bool(v["check"]), list(v["foreign_key"] or [])]
            for v in constraints.values()
        ),
    }
state = {
    "counts": counts,
    "migrations": migrations,
    "graph_nodes": graph_nodes,
    "content_types": content_types,
    "schema": schema,
    "samples": {
        "members": [[m.pk, m.id_number, m.bank_card, m.id_number_digest] for m in Member.objects.order_by("pk")[:25]],
        "claims": [[c.pk, c.payee_account] for c in Claim.objects.order_by("pk")],
        "payouts": [[p.pk, p.payee_account] for p in Payout.objects.order_by("pk")],
        "users": [[u.pk, u.username, u.role, u.union_id] for u in User.objects.order_by("pk")],
    },
    "groups": {
        g.name: sorted(f"{p.content_type.app_label}.{p.codename}" for p in g.permissions.all())
        for g in Group.objects.all()
    },
    "found_by_digest": Member.objects.filter(
        id_number_digest=Member.objects.order_by("pk").first().id_number_digest
    ).count(),
}
json.dump(state, sys.stdout, default=str)
"""


def _env(database_url: str, data_dir: Path) -> dict[str, str]:
    key, lookup_key = derive_keys(TEST_SECRET)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PERSONAL_DATA_", "DATABASE_URL", "CELERY_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="mutualaid.test_settings",
        SECRET_KEY=TEST_SECRET,
        PERSONAL_DATA_KEYS=key,
        PERSONAL_DATA_LOOKUP_KEY=lookup_key,
        DATABASE_URL=database_url,
        DATA_DIR=str(data_dir),
        PYTHONPATH=str(ROOT),
    )
    return env


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _migrate_and_read(database_url: str, data_dir: Path) -> dict:
    env = _env(database_url, data_dir)
    output = _run(["manage.py", "migrate", "--noinput"], env)
    assert "Recorded organisation.0001_initial as applied" in output
    # Running it again is a no-op.
    again = _run(["manage.py", "migrate", "--noinput"], env)
    assert "No migrations to apply" in again
    _run(["manage.py", "makemigrations", "--check", "--dry-run"], env)
    return json.loads(_run(["-c", READ_STATE], env))


_SCHEMA_ONLY = READ_STATE.split("state = {")[0] + "json.dump({'schema': schema}, sys.stdout)\n"


def _fresh_schema(database_url: str, data_dir: Path) -> dict:
    """The schema a new, empty database gets from the same migrations."""
    env = _env(database_url, data_dir)
    _run(["manage.py", "migrate", "--noinput"], env)
    return json.loads(_run(["-c", _SCHEMA_ONLY], env))


def _check(before: dict, after: dict, fresh_schema: dict) -> None:
    # Every migration of this code is applied, the move's among them.
    applied = {tuple(m) for m in after["migrations"]}
    assert applied == {tuple(m) for m in after["graph_nodes"]}
    assert MOVE_MIGRATIONS.issubset(applied)
    # Every row is still there, in every table that was there before.
    bookkeeping = {"django_migrations", "django_content_type", "auth_permission"}
    for table, count in before["counts"].items():
        if table not in bookkeeping:
            assert after["counts"][table] == count, table
    # Tables added since hold nothing yet, but where plans are offered: every plan the database
    # had is offered under every office it had (plans 0004; the snapshots' demo has one office).
    filled = {"plans_plan_offered_under": before["counts"]["plans_plan"]}
    # Each payout in a batch gets the transfer its batch sent (claims 0008); every payout of the
    # snapshots' demo is in its paid batch.
    filled["claims_transfer"] = before["counts"]["claims_payout"]
    for table in set(after["counts"]) - set(before["counts"]):
        assert after["counts"][table] == filled.get(table, 0), table
    # Every content type is kept (the moved ones relabelled); new models add their own, with
    # Django's four permissions each.
    old_types = {MOVED_TYPES.get(tuple(t), tuple(t)) for t in before["content_types"]}
    new_types = {tuple(t) for t in after["content_types"]} - old_types
    assert old_types <= {tuple(t) for t in after["content_types"]}
    assert after["counts"]["auth_permission"] == (
        before["counts"]["auth_permission"] + 4 * len(new_types)
    )
    # Encrypted values still decrypt to what they were; digests still find people.
    assert after["samples"] == before["samples"]
    assert after["found_by_digest"] == 1
    # Groups keep every right, now named by the models' new apps.
    assert after["groups"] == {
        name: sorted(RELABELLED.get(perm, perm) for perm in perms)
        for name, perms in before["groups"].items()
    }
    # The moved models kept their tables, and the schema is the one a new database gets.
    assert {"enrollment_union", "enrollment_user", "enrollment_member"} <= set(after["schema"])
    assert after["schema"] == fresh_schema


def test_sqlite_database_from_before_the_move_migrates_forward(tmp_path):
    database = tmp_path / "before.sqlite3"
    with gzip.open(SNAPSHOTS / "before-organisation.sqlite3.gz") as source:
        database.write_bytes(source.read())
    before = json.loads((SNAPSHOTS / "before-organisation.sqlite3.json").read_text())
    after = _migrate_and_read(f"sqlite:///{database}", tmp_path)
    fresh = _fresh_schema(f"sqlite:///{tmp_path / 'fresh.sqlite3'}", tmp_path)["schema"]
    _check(before, after, fresh)


@pytest.mark.postgres
def test_postgresql_database_from_before_the_move_migrates_forward(tmp_path):
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL")
    psql = shutil.which("psql")
    assert psql, "psql is needed to load the PostgreSQL snapshot"
    import psycopg

    base = url.rsplit("/", 1)[0]
    admin_url = f"{base}/postgres".replace("postgres://", "postgresql://", 1)
    names = [f"mutualaid_move_{uuid.uuid4().hex[:8]}", f"mutualaid_fresh_{uuid.uuid4().hex[:8]}"]
    with psycopg.connect(admin_url, autocommit=True) as connection:
        for name in names:
            connection.execute(f'CREATE DATABASE "{name}"')
    try:
        dump = tmp_path / "before.sql"
        with gzip.open(SNAPSHOTS / "before-organisation.postgresql.sql.gz") as source:
            dump.write_bytes(source.read())
        target = f"{base}/{names[0]}".replace("postgres://", "postgresql://", 1)
        loaded = subprocess.run(
            [psql, "-q", "-v", "ON_ERROR_STOP=1", "-d", target, "-f", str(dump)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert loaded.returncode == 0, loaded.stderr
        before = json.loads((SNAPSHOTS / "before-organisation.postgresql.json").read_text())
        after = _migrate_and_read(f"{base}/{names[0]}", tmp_path)
        fresh = _fresh_schema(f"{base}/{names[1]}", tmp_path)["schema"]
        _check(before, after, fresh)
        # The audit log is still append-only: its trigger stayed with its table.
        with (
            psycopg.connect(target) as connection,
            pytest.raises(psycopg.Error, match="append-only"),
        ):
            connection.execute("UPDATE enrollment_auditentry SET note = 'x'")
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            for name in names:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
