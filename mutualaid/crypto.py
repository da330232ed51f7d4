"""Personal data at rest: ID and bank numbers encrypted in the database, found by a keyed digest.

Encryption is AES-256-GCM with a fresh random 96-bit nonce for every value. A stored value reads

    e1:<key id>:<urlsafe base64 of nonce + ciphertext + tag>

where ``e1`` is the format's version and the key id (8 hex characters, derived from the key
itself) says which of the configured keys encrypted it, so keys can be rotated: the first key of
``settings.PERSONAL_DATA_KEYS`` encrypts, every key listed decrypts, and the
``reencrypt_personal_data`` command moves old rows to the first key. The prefix is also
authenticated (it is the cipher's associated data). An empty string stays empty.

Encrypted columns cannot be searched, so a person is found by ``digest()``: an HMAC-SHA256 under
a separate lookup key (``settings.PERSONAL_DATA_LOOKUP_KEY``) of the normalised value, prefixed
with the kind of value (``id_number``), stored in an indexed column beside the ciphertext. There
is one lookup key at a time: after changing it, the same command recomputes every digest (with
the portal stopped, since nobody can be found by ID number until it has).

Both keys are 32 random bytes written in URL-safe base64. ``derive_keys()`` makes stand-ins from
SECRET_KEY for a laptop in debug mode and for the test suite; production refuses to start
without real ones (see ``mutualaid/settings.py``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import threading
import unicodedata

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

__all__ = [
    "GENERATE_KEY_COMMAND",
    "PREFIX",
    "DecryptionError",
    "decrypt",
    "derive_keys",
    "digest",
    "encrypt",
    "is_current",
    "is_encrypted",
    "key_id",
    "parse_key",
]

VERSION = "e1"
PREFIX = VERSION + ":"
NONCE_BYTES = 12
KEY_BYTES = 32
KEY_ID_CHARS = 8
GENERATE_KEY_COMMAND = (
    'python -c "import base64, secrets; '
    'print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())"'
)

_ENCRYPTION_LABEL = b"mutualaid personal-data encryption key v1"
_LOOKUP_LABEL = b"mutualaid personal-data lookup key v1"
_KEY_ID_LABEL = b"mutualaid personal-data key id v1:"


class DecryptionError(ValueError):
    """A stored value that is not our ciphertext, names an unknown key, or fails authentication.

    The message never repeats the value: it may be a clear ID or bank number.
    """


# --- keys -----------------------------------------------------------------------------------


def parse_key(text: str, name: str) -> bytes:
    """A key as configured (URL-safe base64 of 32 bytes), or ImproperlyConfigured naming it."""
    raw = text.strip()
    try:
        key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise ImproperlyConfigured(
            f"{name} must hold keys of 32 random bytes in URL-safe base64 (44 characters); "
            f"generate one with `{GENERATE_KEY_COMMAND}`."
        )
    return key


def _encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii")


def derive_keys(secret_key: str) -> tuple[str, str]:
    """Stand-in (encryption key, lookup key) derived from SECRET_KEY with HKDF, for debug mode
    and tests only: two distinct labels give two independent keys."""

    def derive(label: bytes) -> str:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=label)
        return _encode_key(hkdf.derive(secret_key.encode("utf-8")))

    return derive(_ENCRYPTION_LABEL), derive(_LOOKUP_LABEL)


def key_id(key: bytes) -> str:
    """A short name for a key, stored with each value it encrypts; it does not reveal the key."""
    return hashlib.sha256(_KEY_ID_LABEL + key).hexdigest()[:KEY_ID_CHARS]


class _Keyring:
    def __init__(self, keys: tuple[str, ...], lookup_key: str):
        if not keys:
            raise ImproperlyConfigured("PERSONAL_DATA_KEYS must list at least one key.")
        raw = [parse_key(k, "PERSONAL_DATA_KEYS") for k in keys]
        self.lookup_key = parse_key(lookup_key, "PERSONAL_DATA_LOOKUP_KEY")
        if self.lookup_key in raw:
            raise ImproperlyConfigured(
                "PERSONAL_DATA_LOOKUP_KEY must not be one of the PERSONAL_DATA_KEYS."
            )
        self.ciphers: dict[str, AESGCM] = {}
        for key in raw:
            kid = key_id(key)
            if kid in self.ciphers:
                raise ImproperlyConfigured(
                    "PERSONAL_DATA_KEYS lists the same key twice (key id " + kid + ")."
                )
            self.ciphers[kid] = AESGCM(key)
        self.current_id = key_id(raw[0])
        self.current = self.ciphers[self.current_id]
        self.current_prefix = f"{PREFIX}{self.current_id}:"
        self.current_aad = self.current_prefix.encode("ascii")
        # The keyed HMAC state after the key, copied for each digest instead of redone.
        self.lookup = hmac.new(self.lookup_key, digestmod=hashlib.sha256)


_ring: _Keyring | None = None
_ring_lock = threading.Lock()


def _keyring() -> _Keyring:
    """The keys as configured, parsed once (AESGCM objects and HMAC state cached)."""
    global _ring
    ring = _ring
    if ring is None:
        from django.conf import settings

        with _ring_lock:
            ring = _ring
            if ring is None:
                ring = _ring = _Keyring(
                    tuple(settings.PERSONAL_DATA_KEYS), settings.PERSONAL_DATA_LOOKUP_KEY
                )
    return ring


@receiver(setting_changed)
def _forget_keys(*, setting: str, **kwargs) -> None:
    """Tests that override the keys get a keyring built from the new values."""
    global _ring
    if setting in ("PERSONAL_DATA_KEYS", "PERSONAL_DATA_LOOKUP_KEY"):
        _ring = None


# --- encryption -----------------------------------------------------------------------------


def encrypt(value: str) -> str:
    """The stored form of ``value``; an empty string stays empty."""
    if value == "":
        return ""
    if not isinstance(value, str):
        raise TypeError(f"only text is encrypted, not {type(value).__name__}")
    ring = _ring or _keyring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = ring.current.encrypt(nonce, value.encode("utf-8"), ring.current_aad)
    return ring.current_prefix + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def _split(stored: str) -> tuple[str, str]:
    if not isinstance(stored, str) or not stored.startswith(PREFIX):
        raise DecryptionError(
            "The stored value is not encrypted personal data (it should read "
            f"'{PREFIX}<key id>:<data>'); the column holds clear text or something else."
        )
    parts = stored.split(":", 2)
    if len(parts) != 3 or len(parts[1]) != KEY_ID_CHARS:
        raise DecryptionError("The stored value is malformed encrypted personal data.")
    return parts[1], parts[2]


def decrypt(stored: str) -> str:
    """The clear value of a stored one; an empty string stays empty.

    Anything else that is not our ciphertext, names a key that is not configured, or has been
    altered raises DecryptionError; clear text is never passed through.
    """
    if stored == "":
        return ""
    kid, body = _split(stored)
    ring = _keyring()
    cipher = ring.ciphers.get(kid)
    if cipher is None:
        raise DecryptionError(
            f"The value was encrypted with key id {kid}, which is not among PERSONAL_DATA_KEYS "
            f"(configured: {', '.join(ring.ciphers)}). Add the old key after the current one."
        )
    try:
        blob = base64.urlsafe_b64decode(body.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise DecryptionError("The stored value is malformed encrypted personal data.") from None
    if len(blob) < NONCE_BYTES + 16:
        raise DecryptionError("The stored value is malformed encrypted personal data.")
    try:
        clear = cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], f"{PREFIX}{kid}:".encode())
    except InvalidTag:
        raise DecryptionError(
            f"The encrypted value (key id {kid}) failed authentication: it was altered or "
            "belongs to a different key."
        ) from None
    return clear.decode("utf-8")


def is_encrypted(stored: str) -> bool:
    """Whether a stored value has our ciphertext's shape (not whether it decrypts)."""
    return isinstance(stored, str) and stored.startswith(PREFIX) and stored.count(":") >= 2


def is_current(stored: str) -> bool:
    """Whether a stored value is empty or encrypted with the current (first) key."""
    return stored == "" or stored.startswith(_keyring().current_prefix)


# --- lookup digests -------------------------------------------------------------------------


def normalise(value: str) -> str:
    """The form a value is digested in: compatibility forms folded (full-width digits and
    letters become ASCII), whitespace removed, letters upper-cased (an ID's check "x")."""
    folded = unicodedata.normalize("NFKC", value)
    return "".join(folded.split()).upper()


def digest(value: str, purpose: str = "id_number") -> str:
    """The lookup digest of ``value`` (64 hex characters); an empty value has an empty digest.

    ``purpose`` separates the kinds of values, so an ID number and a bank number that happened
    to be the same digits would not share a digest.
    """
    if value is None:
        raise TypeError("no digest of None")
    text = normalise(value)
    if not text:
        return ""
    mac = (_ring or _keyring()).lookup.copy()
    mac.update(purpose.encode("utf-8") + b"\x00" + text.encode("utf-8"))
    return mac.hexdigest()
