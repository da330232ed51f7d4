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


HOSPITAL_GRADES = {1: _("Grade 1"), 2: _("Grade 2"), 3: _("Grade 3")}


@register.filter
def percent(rate: Decimal | str) -> str:
    """0.80 → "80%"."""
    value = (Decimal(str(rate)) * 100).normalize()
    return f"{value:f}%"


@register.filter
def payer_labels(payers: list[str]) -> str:
    return " + ".join(str(PAYER_LABELS.get(p, p)) for p in payers)


@register.filter
def change_lines(change) -> list:
    """A plan change's differences as readable lines (plans.change_text)."""
    from plans.change_text import change_lines as lines

    return lines(change)


@register.filter
def change_note(change) -> str:
    from plans.change_text import change_note as note

    return note(change)


@register.filter
def hospital_grade(grade) -> str:
    """3 → "三级" (grade 3 hospital), in the reader's language."""
    try:
        return str(HOSPITAL_GRADES.get(int(grade), grade))
    except (TypeError, ValueError):
        return "" if grade is None else str(grade)


@register.filter
def public_description(plan) -> str:
    """The plan's description as members and clerks read it (plans.description)."""
    from plans.description import public_description as public

    return public(plan.description)


@register.filter
def curation_note(plan) -> str:
    from plans.description import curation_note as note

    return note(plan.description)


@register.filter
def finding_label(code: str) -> str:
    """A finding's code (age_above_max) by the name a clerk reads (年龄超出上限)."""
    from plans.engine.findings import code_label

    return code_label(code)
