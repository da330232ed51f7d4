"""Filters that turn rule values into words a clerk reads."""

from decimal import Decimal

from django import template
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

register = template.Library()

PAYER_LABELS = {
    "unit": _("Unit administration"),
    "union": _("Union funds"),
    "member": pgettext_lazy("payer", "Member"),
    "subsidy": _("Subsidy"),
}


@register.filter
def percent(rate: Decimal | str) -> str:
    """0.80 → "80%"."""
    value = (Decimal(str(rate)) * 100).normalize()
    return f"{value:f}%"


@register.filter
def payer_labels(payers: list[str]) -> str:
    return " + ".join(str(PAYER_LABELS.get(p, p)) for p in payers)
