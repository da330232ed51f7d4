"""Model fields for personal data at rest (see mutualaid/crypto.py).

``EncryptedCharField`` holds a short text (an ID or bank number) encrypted in a text column: the
model sees the clear value, the database only ciphertext. It cannot be searched, so every
lookup but ``isnull`` is refused with a FieldError instead of silently matching nothing; people
are found through a ``LookupDigestField`` beside it, which the model keeps up to date on every
save (``bulk_create`` too).
"""

from __future__ import annotations

from django.core.exceptions import FieldError
from django.db import models

from mutualaid import crypto

__all__ = ["EncryptedCharField", "LookupDigestField"]

_ALLOWED_LOOKUPS = frozenset({"isnull"})


class EncryptedCharField(models.CharField):
    """A CharField whose column holds AES-GCM ciphertext; ``max_length`` bounds the clear value
    (forms and model validation), not the column, which is text."""

    description = "Text encrypted at rest"

    def get_internal_type(self) -> str:
        return "TextField"

    def db_type(self, connection):
        # Ciphertext is longer than the clear value, so the column is unbounded text whatever
        # max_length says.
        return models.TextField().db_type(connection)

    def cast_db_type(self, connection):
        return models.TextField().cast_db_type(connection)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None:
            return None
        return crypto.encrypt(value)

    def _digest_field_name(self) -> str | None:
        model = getattr(self, "model", None)
        if model is None:
            return None
        for field in model._meta.get_fields():
            if isinstance(field, LookupDigestField) and field.source == self.name:
                return field.name
        return None

    def _refuse(self, kind: str, name: str):
        where = f"{self.model.__name__}.{self.name}" if hasattr(self, "model") else self.name
        digest_field = self._digest_field_name()
        if digest_field:
            hint = (
                f"Look it up through {digest_field}=crypto.digest(value) "
                f"(or {digest_field}__in=[...]) instead."
            )
        else:
            hint = "It has no lookup digest, so it cannot be searched at all."
        raise FieldError(
            f"{where} is encrypted in the database; the {kind} {name!r} cannot work on it. {hint}"
        )

    def get_lookup(self, lookup_name):
        if lookup_name not in _ALLOWED_LOOKUPS:
            self._refuse("lookup", lookup_name)
        return super().get_lookup(lookup_name)

    def get_transform(self, lookup_name):
        self._refuse("transform", lookup_name)


class LookupDigestField(models.CharField):
    """The keyed digest of another field's clear value (``crypto.digest``), computed on every
    save from ``source``; search by it with ``crypto.digest(value)``."""

    description = "Keyed lookup digest of another field"

    def __init__(self, *args, source: str, purpose: str | None = None, **kwargs):
        self.source = source
        self.purpose = purpose or source
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        if self.purpose != self.source:
            kwargs["purpose"] = self.purpose
        if kwargs.get("max_length") == 64:
            del kwargs["max_length"]
        if kwargs.get("editable") is False:
            del kwargs["editable"]
        else:
            kwargs["editable"] = True
        return name, path, args, kwargs

    def db_type(self, connection):
        # Digests are always 64 hex characters: a fixed-length column. On PostgreSQL this also
        # spares the second "_like" (varchar_pattern_ops) index Django adds to unique varchar
        # columns; nobody searches digests with LIKE, and every import would maintain it.
        # There it is spelled bpchar(64), the same type as char(64): bulk_create casts values
        # to the type name without its length, and a bare "char" would mean char(1).
        if connection.vendor == "postgresql":
            return f"bpchar({self.max_length})"
        return f"char({self.max_length})"

    def from_db_value(self, value, expression, connection):
        # PostgreSQL pads char(n); only an empty digest (no source value) has anything to pad.
        return value.rstrip(" ") if value else value

    def compute(self, value: str | None) -> str | None:
        if value is None:
            return None
        return crypto.digest(value, self.purpose)

    def pre_save(self, model_instance, add):
        value = self.compute(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value
