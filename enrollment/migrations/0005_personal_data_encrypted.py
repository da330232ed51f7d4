"""ID and bank numbers of members encrypted at rest, with a keyed lookup digest of the ID number.

Steps: the digest column is added empty and nullable; the two columns become text (ciphertext is
longer than the numbers) and lose the ID number's unique index; every existing row is encrypted
and given its digest; then the digest becomes unique and required.

The rows are rewritten with plain SQL in chunks, not through the historical model: its field
would try to decrypt the clear text it reads. A value that already has the ciphertext's shape is
left as it is, so running the step again changes nothing. Going back decrypts every row.
"""

from django.db import migrations

import mutualaid.fields

CHUNK = 2000


def _rewrite(schema_editor, table: str, columns: tuple[str, ...], convert) -> None:
    """Pass every row of ``table`` (by id, in chunks) through ``convert(values) -> values``."""
    quote = schema_editor.quote_name
    names = ", ".join(quote(c) for c in columns)
    assignments = ", ".join(f"{quote(c)} = %s" for c in columns)
    last = 0
    with schema_editor.connection.cursor() as cursor:
        while True:
            cursor.execute(
                f"SELECT id, {names} FROM {quote(table)} WHERE id > %s ORDER BY id LIMIT %s",
                [last, CHUNK],
            )
            rows = cursor.fetchall()
            if not rows:
                return
            cursor.executemany(
                f"UPDATE {quote(table)} SET {assignments} WHERE id = %s",
                [(*convert(tuple(row[1:])), row[0]) for row in rows],
            )
            last = rows[-1][0]


def _encrypted(value):
    from mutualaid import crypto

    if value is None or crypto.is_encrypted(value):
        return value
    return crypto.encrypt(value)


def _clear(value):
    from mutualaid import crypto

    if value is None or not crypto.is_encrypted(value):
        return value
    return crypto.decrypt(value)


def encrypt_members(apps, schema_editor) -> None:
    from mutualaid import crypto

    table = apps.get_model("enrollment", "Member")._meta.db_table

    def convert(values):
        number, card, _digest = values
        return _encrypted(number), _encrypted(card), crypto.digest(_clear(number))

    _rewrite(schema_editor, table, ("id_number", "bank_card", "id_number_digest"), convert)


def decrypt_members(apps, schema_editor) -> None:
    table = apps.get_model("enrollment", "Member")._meta.db_table

    def convert(values):
        number, card, _digest = values
        return _clear(number), _clear(card), None

    _rewrite(schema_editor, table, ("id_number", "bank_card", "id_number_digest"), convert)


class Migration(migrations.Migration):
    dependencies = [
        ("enrollment", "0004_audit_log"),
    ]

    operations = [
        migrations.AddField(
            model_name="member",
            name="id_number_digest",
            field=mutualaid.fields.LookupDigestField(null=True, source="id_number"),
        ),
        migrations.AlterField(
            model_name="member",
            name="id_number",
            field=mutualaid.fields.EncryptedCharField(max_length=18, verbose_name="ID number"),
        ),
        migrations.AlterField(
            model_name="member",
            name="bank_card",
            field=mutualaid.fields.EncryptedCharField(
                blank=True, max_length=30, verbose_name="bank card"
            ),
        ),
        migrations.RunPython(encrypt_members, decrypt_members),
        migrations.AlterField(
            model_name="member",
            name="id_number_digest",
            field=mutualaid.fields.LookupDigestField(source="id_number", unique=True),
        ),
    ]
