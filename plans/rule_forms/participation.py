"""Participation thresholds: the share of a unit's members that must enroll, by unit size."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from plans.rule_forms.base import _EditorForm, percent_field, row_formset


class ParticipationForm(_EditorForm):
    headcount_from = forms.IntegerField(label=_("Units with at least (members)"), min_value=0)
    headcount_to = forms.IntegerField(
        label=_("and at most (members)"),
        min_value=0,
        required=False,
        help_text=_("Empty means no upper limit."),
    )
    min_rate = percent_field(_("must enroll at least (%)"))


ParticipationFormSet = row_formset(ParticipationForm, extra=1, most=20)
