"""``{{ amount|yuan }}``: an amount as the fee notice prints it (6,400.00), in every language."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

from plans.engine.money import quantize_money

register = template.Library()


@register.filter
def yuan(value: object) -> str:
    try:
        return f"{quantize_money(Decimal(str(value if value is not None else 0))):,.2f}"
    except (InvalidOperation, ValueError):
        return ""
