"""What a plan's free-text description may say to members and clerks.

The amounts, shares and ages a plan pays and asks for are those of the version in force, shown
from its rules (templates/plans/plan_detail.html). The description loaded with the catalog was
written once, for the first version, so any clause of it that states a number could contradict a
later version: those clauses are left out of the public text, which keeps only the context (whom
the plan is for, how units join, what it is based on). The curation note after ``[default]`` is
for plan admins only.
"""

from __future__ import annotations

import re

CURATION_MARK = "[default]"
# A clause stating a quantity: any digit, except in a year ("2020年").
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?(?!\d*年)")
_YEAR = re.compile(r"\d{4}年")
_PAREN_WITH_NUMBER = re.compile(r"（[^（）]*\d[^（）]*）|\([^()]*\d[^()]*\)")
_CLAUSE = re.compile(r"([，；：])")


def _states_a_number(clause: str) -> bool:
    return bool(_NUMBER.search(_YEAR.sub("", clause)))


def public_description(text: str) -> str:
    """The description without its curation note and without any clause that states a number."""
    text = (text or "").split(CURATION_MARK, 1)[0]
    text = _PAREN_WITH_NUMBER.sub("", text)
    sentences = []
    for sentence in text.split("。"):
        parts = _CLAUSE.split(sentence)
        kept: list[str] = []
        for index in range(0, len(parts), 2):
            clause = parts[index].strip()
            separator = parts[index + 1] if index + 1 < len(parts) else ""
            if clause and not _states_a_number(clause):
                kept.append(clause + separator)
        joined = "".join(kept).rstrip("，；：")
        if joined and not joined.endswith("："):
            sentences.append(joined)
    return "".join(s + "。" for s in sentences)


def curation_note(text: str) -> str:
    """The note for plan admins after ``[default]`` (what still needs checking), or ""."""
    if CURATION_MARK not in (text or ""):
        return ""
    return text.split(CURATION_MARK, 1)[1].strip()
