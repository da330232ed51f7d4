"""History notes are kept as a key and numbers and read out in the reader's language."""

from __future__ import annotations

from django.utils import translation

from claims.models import CLAIM_NOTES, ClaimEvent
from enrollment.models import RosterEvent
from mutualaid import event_notes


def test_a_roster_note_is_written_in_the_readers_language():
    event = RosterEvent(note=event_notes.encode("checked", rows=30, errors=5))
    with translation.override("zh-hans"):
        assert event.note_text == "30 行，5 个错误"
    with translation.override("en"):
        assert event.note_text == "30 rows, 5 errors"


def test_old_notes_show_as_they_were_and_bare_codes_by_their_label():
    assert RosterEvent(note="名单.xlsx").note_text == "名单.xlsx"
    assert RosterEvent(note="30 行，5 个错误").note_text == "30 行，5 个错误"
    assert RosterEvent(note="id_checksum").note_text == "身份证校验位错误"
    # A key nobody knows any more is not shown as a code.
    assert RosterEvent(note=event_notes.encode("no_such_note")).note_text == ""


def test_a_claim_note_keeps_what_a_person_typed():
    note = event_notes.encode("secondary", amount="300.00", reason="困难职工")
    with translation.override("en"):
        text = ClaimEvent(note=note).note_text
        said = str(CLAIM_NOTES["secondary"]) % {"amount": "300.00", "reason": "困难职工"}
    assert text == said and said.startswith("Secondary assistance")
    assert "300.00" in text and "困难职工" in text
