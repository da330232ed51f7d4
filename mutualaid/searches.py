"""Searches that may hold an ID number, kept out of web addresses.

A query string is written to the web server's access log, to the browser's history and to any
proxy in between, so a member's ID number typed into a search must never travel in one. Forms
that can carry an ID number are sent by POST; the view keeps what was searched for (the number's
keyed digest and its masked form, never the number itself) in the session under a random token
and redirects to the page with only that token in its address (``?s=…``), so that the results
can be paged, reloaded and reached again with the Back button for a while. A token names nothing
outside the session it was made in and is forgotten after ``SEARCH_LIFETIME``.
"""

from __future__ import annotations

import re
import secrets
import time
import unicodedata
from collections.abc import Iterable

from django.http import HttpRequest

# The query parameter that carries a kept search.
SEARCH_PARAM = "s"
# How long a kept search can be reached by its token, and how many one session keeps.
SEARCH_LIFETIME = 30 * 60
SEARCHES_KEPT = 20
SESSION_KEY = "kept_searches"
# An ID number, a 15-digit one of the old kind, or the first 15 or more digits of one, once spaces
# and full-width forms are taken out. Digits right after a letter are a claim or batch number's
# (LP2026120712345678, PB…), not an ID number.
_ID_LIKE = re.compile(r"(?<![A-Za-z0-9])(\d{15,}|\d{14,}[Xx])")
_SPACES = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")


def holds_id_number(text: str) -> bool:
    """Whether the text holds what may be a whole (or nearly whole) ID number."""
    plain = _SPACES.sub("", unicodedata.normalize("NFKC", text or ""))
    return bool(_ID_LIKE.search(plain))


def any_holds_id_number(values: Iterable[str]) -> bool:
    return any(holds_id_number(value) for value in values)


def keep(request: HttpRequest, kind: str, data: dict) -> str:
    """Keeps a search (JSON-serialisable values) in the session; returns its token."""
    now = time.time()
    kept = {
        token: entry
        for token, entry in request.session.get(SESSION_KEY, {}).items()
        if now - entry["at"] < SEARCH_LIFETIME
    }
    token = secrets.token_urlsafe(12)
    kept[token] = {"kind": kind, "at": now, "data": data}
    newest = sorted(kept.items(), key=lambda item: item[1]["at"])[-SEARCHES_KEPT:]
    request.session[SESSION_KEY] = dict(newest)
    return token


def recall(request: HttpRequest, kind: str) -> dict | None:
    """The search named by the request's token, if it is this session's, of this kind and fresh."""
    token = request.GET.get(SEARCH_PARAM, "")
    entry = request.session.get(SESSION_KEY, {}).get(token) if token else None
    if not entry or entry.get("kind") != kind or time.time() - entry["at"] >= SEARCH_LIFETIME:
        return None
    return entry["data"]
