"""Who may join a plan."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from organisation.models import Member
from plans.engine.rules import RETIRED
from plans.rule_forms.base import _EditorForm, checkboxes

EMPLOYMENT_CHOICES = [
    (value, label) for value, label in Member.EmploymentType.choices if value != RETIRED
]
GENDER_CHOICES = list(Member.Gender.choices)
OCCUPATION_CHOICES = list(Member.Occupation.choices)


class EligibilityForm(_EditorForm):
    age_min = forms.IntegerField(label=_("Youngest age"), min_value=0)
    age_max = forms.IntegerField(
        label=_("Oldest age"),
        min_value=0,
        help_text=_("Age in full years on the day cover starts; both ages are included."),
    )
    employment_types = checkboxes(
        _("Employment types that may join"),
        EMPLOYMENT_CHOICES,
        help_text=_("Retired people can never join."),
    )
    genders = checkboxes(
        _("Only these genders"), GENDER_CHOICES, help_text=_("Tick none to accept everyone.")
    )
    occupations = checkboxes(
        _("Only these occupations"),
        OCCUPATION_CHOICES,
        help_text=_("Tick none to accept any occupation."),
    )
    medical_insurance_required = forms.BooleanField(
        label=_("Must be in basic medical insurance"), required=False
    )
    child_age_min = forms.IntegerField(label=_("Child's youngest age"), min_value=0, required=False)
    child_age_max = forms.IntegerField(
        label=_("Child's oldest age"),
        min_value=0,
        required=False,
        help_text=_("Only for plans that cover members' children."),
    )
