"""The payee's bank number on claims and payouts encrypted at rest.

The columns become text (ciphertext is longer than the number), then every existing row is
encrypted with plain SQL in chunks (the historical model's field would try to decrypt the clear
text it reads). A value that already has the ciphertext's shape is left as it is; going back
decrypts every row.
"""

from django.db import migrations

import mutualaid.fields

CHUNK = 2000
TABLES = (("claims", "Claim"), ("claims", "Payout"))


def _rewrite(apps, schema_editor, convert) -> None:
    quote = schema_editor.quote_name
    with schema_editor.connection.cursor() as cursor:
        for app_label, model_name in TABLES:
            table = quote(apps.get_model(app_label, model_name)._meta.db_table)
            last = 0
            while True:
                cursor.execute(
                    f"SELECT id, payee_account FROM {table} WHERE id > %s ORDER BY id LIMIT %s",
                    [last, CHUNK],
                )
                rows = cursor.fetchall()
                if not rows:
                    break
                cursor.executemany(
                    f"UPDATE {table} SET payee_account = %s WHERE id = %s",
                    [(convert(account), pk) for pk, account in rows],
                )
                last = rows[-1][0]


def encrypt_accounts(apps, schema_editor) -> None:
    from mutualaid import crypto

    def convert(value):
        if value is None or crypto.is_encrypted(value):
            return value
        return crypto.encrypt(value)

    _rewrite(apps, schema_editor, convert)


def decrypt_accounts(apps, schema_editor) -> None:
    from mutualaid import crypto

    def convert(value):
        if value is None or not crypto.is_encrypted(value):
            return value
        return crypto.decrypt(value)

    _rewrite(apps, schema_editor, convert)


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0005_queue_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="claim",
            name="payee_account",
            field=mutualaid.fields.EncryptedCharField(max_length=30, verbose_name="payee account"),
        ),
        migrations.AlterField(
            model_name="payout",
            name="payee_account",
            field=mutualaid.fields.EncryptedCharField(max_length=30),
        ),
        migrations.RunPython(encrypt_accounts, decrypt_accounts),
    ]
