"""Forms of the claims pages. Facts are checked by the payout engine's own parser, so the web
form, the worker and `quote_claim` agree on what a usable claim is."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from claims.models import BENEFIT_LABELS, Claim
from plans.engine.rules import PlanRules

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


class FindMemberForm(forms.Form):
    id_number = forms.CharField(label=_("Member's ID number"), max_length=30)


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


class ClaimReportForm(FactsFields):
    benefit = forms.ChoiceField(label=_("Benefit"))
    payee_name = forms.CharField(label=_("Payee"), max_length=30)
    payee_account = forms.CharField(
        label=_("Bank card to pay"),
        max_length=30,
        help_text=_("The member's own card unless the family asks otherwise."),
    )

    field_order = ["benefit"]

    def __init__(self, *args, rules: PlanRules, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["benefit"].choices = [(b.code, b.label) for b in rules.benefits]

    def clean_payee_name(self):
        value = self.cleaned_data["payee_name"].strip()
        if not value or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise forms.ValidationError(_("Enter the payee's name as on the bank card."))
        return value

    def clean_payee_account(self):
        value = "".join(self.cleaned_data["payee_account"].split())
        if not value.isdigit() or not 12 <= len(value) <= 30:
            raise forms.ValidationError(_("A bank card number has 12 to 30 digits."))
        return value

    def clean(self):
        data = super().clean()
        if data.get("benefit"):
            self.check_with_engine(data["benefit"], timezone.localdate())
        return data

    def event_date(self) -> datetime.date:
        for name in ("admission_date", "diagnosis_date", "accident_date", "fire_date"):
            if self.cleaned_data.get(name):
                return self.cleaned_data[name]
        raise forms.ValidationError(_("The event date is missing."))


class DocumentForm(forms.Form):
    requirement = forms.ChoiceField(label=_("Document"))
    file = forms.FileField(label=_("File (PDF, JPEG or PNG)"))

    def __init__(self, *args, requirements, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["requirement"].choices = requirements


class MoveForm(forms.Form):
    to = forms.ChoiceField(
        choices=[
            (s, s)
            for s in (Claim.Status.INVESTIGATING, Claim.Status.REVIEWING, Claim.Status.RETURNED)
        ]
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class DecideForm(forms.Form):
    approve = forms.TypedChoiceField(
        label=_("Decision"),
        coerce=lambda v: v == "pay",
        widget=forms.RadioSelect,
        choices=[("pay", _("Approve and pay")), ("reject", _("Reject"))],
    )
    amount = forms.DecimalField(
        label=_("Amount (yuan)"),
        required=False,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
    )
    reasons = forms.MultipleChoiceField(
        label=_("Reasons for rejection"), required=False, widget=forms.CheckboxSelectMultiple
    )
    override_reason = forms.CharField(
        label=_("Why the decision differs from the proposal"),
        help_text=_("Printed on the member's decision notice."),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        from claims.reasons import REASON_TEXT

        super().__init__(*args, **kwargs)
        self.fields["reasons"].choices = list(REASON_TEXT.items())


class SecondaryForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount (yuan)"), min_value=Decimal("0.01"), max_digits=12, decimal_places=2
    )
    reason = forms.CharField(
        label=_("Why (hardship, model worker…)"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class QueueForm(forms.Form):
    """Filters of the review queue. Every field is optional; bad values are ignored."""

    status = forms.ChoiceField(
        required=False, choices=[("", _("All statuses"))] + list(Claim.Status.choices)
    )
    plan = forms.CharField(required=False)
    benefit = forms.ChoiceField(
        required=False, choices=[("", _("All benefits"))] + [(k, v) for k, v in LABELS.items()]
    )
    union = forms.IntegerField(required=False)
    date_from = forms.DateField(
        required=False, **{k: v for k, v in DATE.items() if k != "required"}
    )
    date_to = forms.DateField(required=False, **{k: v for k, v in DATE.items() if k != "required"})
    overdue = forms.BooleanField(required=False, label=_("Overdue only"))
    sort = forms.ChoiceField(
        required=False,
        choices=[
            ("due", _("Due date")),
            ("-reported", _("Newest first")),
            ("reported", _("Oldest first")),
            ("-amount", _("Largest amount")),
        ],
    )


class TrialForm(FactsFields):
    plan = forms.CharField(label=_("Plan"))
    coverage_start = forms.DateField(
        label=_("Coverage start"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )
    shares = forms.IntegerField(label=_("Shares"), min_value=1, max_value=100, initial=1)
    benefit = forms.ChoiceField(label=_("Benefit"), choices=list(LABELS.items()))
    filed_date = forms.DateField(
        label=_("Filed on"),
        initial=timezone.localdate,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    prior_amount = forms.DecimalField(
        label=_("Already paid for this benefit this period (yuan)"),
        required=False,
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
    )
    prior_count = forms.IntegerField(
        label=_("Earlier paid claims for this benefit"), required=False, min_value=0, max_value=50
    )

    field_order = ["plan", "coverage_start", "shares", "benefit", "filed_date"]
