"""``code_label``: a roster finding's code shown by its Chinese label (CONTRACTS §2)."""

from __future__ import annotations

from django import template

from plans.engine.findings import code_label as _code_label

register = template.Library()


@register.filter
def code_label(code: str) -> str:
    return _code_label(code)
