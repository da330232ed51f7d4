"""What the forms of the rule editor share: messages, field makers, conversions between typed
values and stored rules, and the form every part of the editor is built on.

Nothing here imports the other modules of ``plans.rule_forms``.

Conventions between the forms and the stored rules:

* money is a Decimal field with two places, stored as a string with two decimals ("110.00");
* shares of a whole are typed as percentages: 80 becomes "0.80", 12.5 becomes "0.125";
  the funding minimum ("unit + union pay at least 70%") stays a percentage: 70 becomes "70";
* lists of choices are stored in the order of the choices, whatever order a browser sends them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from crispy_forms.helper import FormHelper
from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

NEGATIVE_MONEY = _("Amounts cannot be negative.")
BAD_PERCENT = _("A percentage is a number from 0 to 100.")
REQUIRED = forms.Field.default_error_messages["required"]

CODE_VALIDATOR = RegexValidator(
    r"^[a-z][a-z0-9_]*$",
    _("Use lower-case English letters, digits and underscores, starting with a letter."),
)


def row_formset(form: type[forms.Form], *, extra: int, most: int):
    """A formset of the editor's rows (benefits, tiers, documents...) taking at most ``most``.

    A posted row count above it is refused with a message instead of building that many forms:
    Django would otherwise build up to 2,000 rows per list, and the lists nest (a benefit's
    tiers and documents), so one crafted request could keep a server busy for minutes.
    """
    return forms.formset_factory(
        form, extra=extra, can_delete=True, max_num=most, absolute_max=most, validate_max=True
    )


def money_field(label, *, required: bool = True, help_text: str = "", **kwargs):
    return forms.DecimalField(
        label=label,
        required=required,
        help_text=help_text,
        max_digits=12,
        decimal_places=2,
        min_value=Decimal(0),
        error_messages={"min_value": NEGATIVE_MONEY},
        **kwargs,
    )


def percent_field(label, *, required: bool = True, help_text: str = "", **kwargs):
    return forms.DecimalField(
        label=label,
        required=required,
        help_text=help_text,
        max_digits=8,
        decimal_places=4,
        min_value=Decimal(0),
        max_value=Decimal(100),
        error_messages={"min_value": BAD_PERCENT, "max_value": BAD_PERCENT},
        **kwargs,
    )


def checkboxes(label, choices, *, help_text: str = ""):
    return forms.MultipleChoiceField(
        label=label,
        choices=choices,
        required=False,
        help_text=help_text,
        widget=forms.CheckboxSelectMultiple,
    )


def _plain(value: Decimal) -> str:
    """A Decimal as plain digits without exponent or trailing zeros: 70.00 → "70"."""
    return format(value.normalize(), "f")


def percent_to_fraction(percent: Decimal) -> str:
    """80 → "0.80", 100 → "1.00", 12.5 → "0.125": exact, never through float, and at least two
    decimals so that the stored strings stay the ones the shipped plans use."""
    value = percent.normalize().scaleb(-2)
    if value.as_tuple().exponent > -2:
        value = value.quantize(Decimal("0.01"))
    return format(value, "f")


def fraction_to_percent(fraction: Any) -> Decimal | None:
    """ "0.80" → 80, "0.125" → 12.5 (the value a form shows)."""
    value = _decimal(fraction)
    if value is None:
        return None
    return Decimal(_plain(value.scaleb(2)))


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _in_choice_order(values, choices) -> list[str]:
    order = [value for value, _label in choices]
    chosen = set(values or ())
    return [value for value in order if value in chosen]


def _helper() -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    return helper


class _EditorForm(forms.Form):
    """A piece of the editor: rendered inside the page's one <form>, with crispy if wanted."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()


def _as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else []
