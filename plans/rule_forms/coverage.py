"""General settings of a plan: who is covered, how long cover lasts, when claims must be filed."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from plans.rule_forms.base import _EditorForm

INSURED_CHOICES = [("member", _("The member")), ("member_child", _("The member's child"))]


class GeneralForm(_EditorForm):
    insured = forms.ChoiceField(label=_("Who is covered"), choices=INSURED_CHOICES)
    coverage_months = forms.IntegerField(label=_("Cover lasts (months)"), min_value=1)
    filing_deadline_months = forms.IntegerField(
        label=_("Claims must be filed within (months)"),
        min_value=1,
        help_text=_("Counted from the day of the event."),
    )
