"""Who pays the fee: the payers allowed, the minimum some must pay together, payment modes."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from plans.rule_forms.base import (
    CODE_VALIDATOR,
    _EditorForm,
    checkboxes,
    percent_field,
    row_formset,
)
from plans.templatetags.plan_rules import PAYER_LABELS

PAYER_CHOICES = [(payer, PAYER_LABELS[payer]) for payer in ("unit", "union", "member")]


class FundingForm(_EditorForm):
    payers = checkboxes(_("Who may pay the fee"), PAYER_CHOICES)


class MinShareForm(_EditorForm):
    payers = checkboxes(_("These payers together"), PAYER_CHOICES)
    min_percent = percent_field(
        _("pay at least (%)"), help_text=_("Of the fee left after subsidies.")
    )


class ModeForm(_EditorForm):
    code = forms.CharField(label=_("Code"), max_length=32, validators=[CODE_VALIDATOR])
    label = forms.CharField(label=_("Name"), max_length=200)
    payers = checkboxes(_("Who pays"), PAYER_CHOICES)


MinShareFormSet = row_formset(MinShareForm, extra=1, most=20)
ModeFormSet = row_formset(ModeForm, extra=1, most=20)
