"""Re-encrypt every encrypted column with the current key and recompute the lookup digests.

Key rotation: put the new key first in PERSONAL_DATA_KEYS and keep the old one after it, restart
the portal, run this command, then remove the old key. A new PERSONAL_DATA_LOOKUP_KEY is taken
the same way (searches by ID number miss until the command has run).

Rows are read and written by id in chunks, each chunk in its own transaction (rows locked on
PostgreSQL). A value already encrypted with the current key and a digest already right are left
alone, so the command can be run again, or resumed after an interruption, at no harm.
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from mutualaid import crypto
from mutualaid.fields import EncryptedCharField, LookupDigestField


def encrypted_models():
    """(model, encrypted fields, digest fields) for every model with an encrypted column."""
    found = []
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedCharField)]
        names = {f.name for f in fields}
        digests = [
            f
            for f in model._meta.concrete_fields
            if isinstance(f, LookupDigestField) and f.source in names
        ]
        if fields:
            found.append((model, fields, digests))
    return found


class Command(BaseCommand):
    help = (
        "Re-encrypt ID and bank numbers with the first key of PERSONAL_DATA_KEYS and recompute "
        "their lookup digests (for key rotation). Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--chunk", type=int, default=1000, help="rows per transaction (default 1000)"
        )

    def handle(self, *args, chunk: int, **options):
        if chunk < 1:
            raise CommandError("--chunk must be at least 1.")
        for model, fields, digests in encrypted_models():
            try:
                rows, rewritten, values, recomputed = self._model(model, fields, digests, chunk)
            except crypto.DecryptionError as exc:
                raise CommandError(f"{model._meta.label}: {exc}") from exc
            self.stdout.write(
                f"{model._meta.label}: {rows:,} rows, {rewritten:,} rewritten "
                f"({values:,} values re-encrypted, {recomputed:,} digests recomputed)"
            )

    def _model(self, model, fields, digests, chunk):
        quote = connection.ops.quote_name
        table = quote(model._meta.db_table)
        pk = quote(model._meta.pk.column)
        columns = [f.column for f in fields] + [d.column for d in digests]
        by_name = {f.name: i for i, f in enumerate(fields)}
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        # Table and column names come from the models' metadata; every value is a parameter.
        names = ", ".join(quote(c) for c in columns)
        assignments = ", ".join(f"{quote(c)} = %s" for c in columns)
        select = (
            f"SELECT {pk}, {names} FROM {table} WHERE {pk} > %s "  # noqa: S608
            f"ORDER BY {pk} LIMIT %s{lock}"
        )
        update = f"UPDATE {table} SET {assignments} WHERE {pk} = %s"  # noqa: S608
        rows = rewritten = values = recomputed = 0
        last = None
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(select, [last if last is not None else _lowest(model), chunk])
                batch = cursor.fetchall()
                if not batch:
                    break
                changes = []
                for row_pk, *stored in batch:
                    new = list(stored)
                    encrypted = stored[: len(fields)]
                    clear = [crypto.decrypt(v) if v is not None else None for v in encrypted]
                    for i, value in enumerate(encrypted):
                        if value is not None and not crypto.is_current(value):
                            new[i] = crypto.encrypt(clear[i])
                            values += 1
                    for j, field in enumerate(digests, start=len(fields)):
                        source = clear[by_name[field.source]]
                        right = field.compute(source)
                        if stored[j] != right:
                            new[j] = right
                            recomputed += 1
                    if new != stored:
                        changes.append((*new, row_pk))
                if changes:
                    cursor.executemany(update, changes)
                rows += len(batch)
                rewritten += len(changes)
                last = batch[-1][0]
        return rows, rewritten, values, recomputed


def _lowest(model):
    """A value below every primary key, for the first chunk."""
    if model._meta.pk.get_internal_type() in ("AutoField", "BigAutoField", "SmallAutoField"):
        return 0
    raise CommandError(f"{model._meta.label}: only integer primary keys are supported.")
