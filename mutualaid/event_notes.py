"""Notes on a record's history (a roster checked, a claim moved) kept as a key and its numbers,
and written out when the page is shown, in the reader's language.

A note saved as a sentence stays in the language of whoever caused it ("30 行，5 个错误" for an
English reader too). A note made with :func:`encode` is stored as a small JSON object, and
:func:`render` turns it into the sentence the app's messages give for its key. Older notes, and
notes people typed (a reason for returning a roster), are shown as they are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping

_PREFIX = '{"note":'
_CODE = re.compile(r"[a-z]+(?:_[a-z0-9]+)+")


def encode(key: str, **params: object) -> str:
    """The stored form of a note: its key and the values its sentence needs."""
    return json.dumps({"note": key, **params}, ensure_ascii=False)


def render(
    note: str,
    messages: Mapping[str, object],
    code_label: Callable[[str], str] | None = None,
) -> str:
    """The note in the reader's language. ``code_label`` names a bare code (a finding code
    stored as the note by older versions); a code nobody can name is not shown."""
    note = note or ""
    if note.startswith(_PREFIX):
        try:
            data = json.loads(note)
        except ValueError:
            return note
        if not isinstance(data, dict):
            return note
        key = str(data.pop("note", ""))
        text = messages.get(key)
        if text is None:
            return _named(key, code_label)
        try:
            return str(text) % data
        except (KeyError, TypeError, ValueError):
            return str(text)
    if _CODE.fullmatch(note):
        return _named(note, code_label)
    return note


def _named(code: str, code_label: Callable[[str], str] | None) -> str:
    label = code_label(code) if code_label is not None else code
    return "" if label == code else label
