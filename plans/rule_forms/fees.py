"""The fee per share and the subsidies that lower it."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from plans.rule_forms.base import _EditorForm, money_field, row_formset


class FeesForm(_EditorForm):
    per_share = money_field(_("Fee per share (yuan)"))
    high_risk_surcharge_per_share = money_field(
        _("Extra fee per share for high-risk work (yuan)"),
        required=False,
        help_text=_("Empty means no extra fee."),
    )


class SubsidyForm(_EditorForm):
    name = forms.CharField(label=_("Who gives the subsidy"), max_length=200)
    amount_per_member = money_field(_("Subsidy per member (yuan)"))
    giver = forms.CharField(
        label=_("Paid to the office by"),
        max_length=200,
        required=False,
        help_text=_("The union or fund that transfers the subsidy; empty means the name above."),
    )


SubsidyFormSet = row_formset(SubsidyForm, extra=1, most=20)
