"""Django's ``migrate``, with one step first for databases made before the organisation app.

Union, User and Member moved from the enrollment app into this one, and the user model with
them (AUTH_USER_MODEL). Django's history check would then refuse such a database: migrations it
has applied (``admin 0001``, ``claims 0002``...) depend on the user model's first migration,
``organisation 0001``, which it has not. That migration only changes Django's record of the
models, never the database, so on a database that holds the tables it describes (enrollment up
to 0005) it is recorded as applied before the check, which is exactly what running it would do.
Everything else is Django's own command.
"""

from __future__ import annotations

from django.core.management.base import CommandError
from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.recorder import MigrationRecorder

STATE_ONLY = ("organisation", "0001_initial")
TABLES_READY = ("enrollment", "0005_personal_data_encrypted")


def record_state_only_move(connection) -> bool:
    """Record ``organisation 0001`` as applied where the database is from before the move;
    True when it did."""
    recorder = MigrationRecorder(connection)
    if not recorder.has_table():
        return False
    applied = recorder.applied_migrations()
    if STATE_ONLY in applied or ("enrollment", "0001_initial") not in applied:
        return False
    if TABLES_READY not in applied:
        raise CommandError(
            "This database is older than the release before the organisation app: migrate it "
            "with that release first (up to enrollment 0005), then with this one."
        )
    recorder.record_applied(*STATE_ONLY)
    return True


class Command(DjangoMigrate):
    def handle(self, *args, **options):
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        if record_state_only_move(connection) and options.get("verbosity", 1) >= 1:
            self.stdout.write(
                "Recorded organisation.0001_initial as applied: the union, user and member "
                "tables are already there (only Django's record of them moved)."
            )
        return super().handle(*args, **options)
