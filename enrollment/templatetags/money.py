"""``{{ amount|yuan }}``: an amount without the ¥ sign (6,400.00), in every language.

Kept for templates that load it; the figure comes from the portal's one formatter
(``mutualaid.formatting``), whose ``|money`` filter every template has without a load.
"""

from __future__ import annotations

from django import template

from mutualaid.formatting import money

register = template.Library()


@register.filter
def yuan(value: object) -> str:
    try:
        return money(value if value is not None else 0, symbol=False)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
