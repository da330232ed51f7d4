"""The facts a benefit is judged on, as form fields shared by the claim report, the trial
calculation and the plan admin's side-by-side trial. The payout engine's own parser checks them,
so the web forms, the worker and `quote_claim` agree on what a usable claim is."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from plans.benefits import BENEFIT_LABELS

DATE = {"widget": forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}), "required": False}

# The facts the engine reads; the rest (hospital name, diagnosis) are kept for the record.
ENGINE_FIELDS = (
    "admission_date",
    "discharge_date",
    "hospital_locality",
    "hospital_grade",
    "diagnosis_date",
    "accident_date",
    "outcome",
    "disability_grade",
    "during_hospital_stay",
    "eligible_cost",
    "fire_date",
    "work_injury",
)
# Which facts each kind of benefit needs, for the form to show and require.
NEEDS = {
    "hospital_allowance": (
        "admission_date",
        "discharge_date",
        "hospital_name",
        "hospital_locality",
        "hospital_grade",
    ),
    "critical_illness": ("diagnosis_date", "diagnosis", "hospital_name"),
    "accident": ("accident_date", "outcome"),
    "inpatient_reimbursement": (
        "admission_date",
        "discharge_date",
        "hospital_name",
        "hospital_grade",
        "eligible_cost",
    ),
    "accident_medical": ("accident_date", "eligible_cost"),
    "fire_loss": ("fire_date", "eligible_cost"),
}
LABELS = BENEFIT_LABELS


class FactsFields(forms.Form):
    """The facts of a claim, shared by the report form and the trial calculation."""

    admission_date = forms.DateField(label=_("Admission date"), **DATE)
    discharge_date = forms.DateField(label=_("Discharge date"), **DATE)
    hospital_name = forms.CharField(label=_("Hospital"), max_length=100, required=False)
    hospital_locality = forms.ChoiceField(
        label=_("Hospital location"),
        required=False,
        choices=[("", "—"), ("local", _("Local")), ("elsewhere", _("Elsewhere (异地)"))],
    )
    hospital_grade = forms.TypedChoiceField(
        label=_("Hospital grade"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "—"), (1, _("Grade 1")), (2, _("Grade 2")), (3, _("Grade 3"))],
    )
    diagnosis_date = forms.DateField(label=_("Date of first diagnosis"), **DATE)
    diagnosis = forms.CharField(label=_("Diagnosis"), max_length=200, required=False)
    accident_date = forms.DateField(label=_("Accident date"), **DATE)
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        required=False,
        choices=[("", "—"), ("death", _("Death")), ("disability", _("Disability"))],
    )
    disability_grade = forms.TypedChoiceField(
        label=_("Disability grade"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "—")] + [(g, str(g)) for g in range(1, 11)],
    )
    during_hospital_stay = forms.BooleanField(
        label=_("Accident happened while in hospital for an illness"), required=False
    )
    work_injury = forms.BooleanField(label=_("Work injury"), required=False)
    eligible_cost = forms.DecimalField(
        label=_("Eligible cost (yuan)"),
        required=False,
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
    )
    fire_date = forms.DateField(label=_("Date of the fire"), **DATE)

    FACT_NAMES = (
        "admission_date",
        "discharge_date",
        "hospital_name",
        "hospital_locality",
        "hospital_grade",
        "diagnosis_date",
        "diagnosis",
        "accident_date",
        "outcome",
        "disability_grade",
        "during_hospital_stay",
        "work_injury",
        "eligible_cost",
        "fire_date",
    )

    def facts(self) -> dict:
        """The cleaned facts as JSON-ready values, empty ones left out."""
        data = {}
        for name in self.FACT_NAMES:
            value = self.cleaned_data.get(name)
            if value in (None, "", False):
                continue
            if isinstance(value, datetime.date):
                value = value.isoformat()
            elif isinstance(value, Decimal):
                value = str(value)
            data[name] = value
        return data

    def check_with_engine(self, benefit: str, filed: datetime.date) -> None:
        """Let the engine's parser judge the facts; its messages go beside the fields."""
        from plans.engine.payout import FactsError, facts_from_json

        data = {k: v for k, v in self.facts().items() if k in ENGINE_FIELDS}
        data.update(benefit=benefit, filed_date=filed.isoformat())
        for name in NEEDS.get(benefit, ()):
            if name not in ENGINE_FIELDS and not self.cleaned_data.get(name):
                self.add_error(name, _("Needed for this benefit."))
        try:
            facts_from_json(data)
        except FactsError as exc:
            for field, message in exc.errors.items():
                self.add_error(field if field in self.fields else None, message)
