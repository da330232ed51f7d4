"""Forms of the claims pages. Facts are checked by the payout engine's own parser, so the web
form, the worker and `quote_claim` agree on what a usable claim is."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from claims.models import Claim, Transfer
from mutualaid.forms import day_in_range
from plans.engine.payout_terms import _needs as engine_needs
from plans.engine.rules import (
    Accident,
    Benefit,
    CriticalIllness,
    HospitalAllowance,
    PlanRules,
    Reimbursement,
)
from plans.facts_forms import DATE, ENGINE_FIELDS, LABELS, FactsFields

# The queue's filter for claims whose payment the bank returned (not a status of its own).
PAYMENT_FAILED = "payment_failed"

# The largest id a database row can have (a 64-bit column); a larger number names no record.
MAX_ID = 2**63 - 1


def posted_ids(values: list[str]) -> list[int]:
    """The record ids among posted values (ticked checkboxes): whole numbers a row can have;
    anything else is dropped."""
    return [
        int(value)
        for value in values
        if value.isascii() and value.isdigit() and len(value) <= 19 and 0 < int(value) <= MAX_ID
    ]


class FindMemberForm(forms.Form):
    id_number = forms.CharField(label=_("Member's ID number"), max_length=30)


def clean_payee_name(value: str) -> str:
    value = value.strip()
    if not value or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise forms.ValidationError(_("Enter the payee's name as on the bank card."))
    return value


def clean_payee_account(value: str) -> str:
    value = "".join(value.split())
    if not (value.isascii() and value.isdigit()) or not 12 <= len(value) <= 30:
        raise forms.ValidationError(_("A bank card number has 12 to 30 digits."))
    return value


def benefit_facts(benefit: Benefit) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The facts the claim form asks for one benefit of a plan: those it requires, and those it
    asks in case they apply. Read from the benefit's kind and rules as the payout engine judges
    them (``engine_needs`` is the engine's own list), plus what the office keeps for the record:
    the hospital of a stay or a diagnosis, and the diagnosis itself."""
    needed = list(engine_needs(benefit))
    optional: list[str] = []
    stay = isinstance(benefit, HospitalAllowance) or (
        isinstance(benefit, Reimbursement) and benefit.event == "hospital_stay"
    )
    if stay or isinstance(benefit, CriticalIllness):
        needed.append("hospital_name")
    if isinstance(benefit, CriticalIllness):
        needed.append("diagnosis")
    if isinstance(benefit, Accident):
        # The grade is needed with a disability only; the engine says so when it is missing.
        optional.append("disability_grade")
        if benefit.disability_base_in_hospital is not None:
            optional.append("during_hospital_stay")
        if benefit.excludes_work_injury:
            optional.append("work_injury")
    return tuple(needed), tuple(optional)


# Fact fields that take a wider column on the form than the usual third of a row.
WIDE_FACTS = {
    "diagnosis": "col-md-8",
    "during_hospital_stay": "col-md-6",
    "work_injury": "col-md-6",
}


class ClaimReportForm(FactsFields):
    """A claim on one of the plan's benefits. Only the facts of the chosen benefit are fields of
    the form (``benefit_facts``): they alone are shown, required and stored, and anything posted
    for another benefit is ignored. Before a benefit is chosen (a page without script), the
    facts of all the plan's benefits are shown, none required."""

    benefit = forms.ChoiceField(label=_("Benefit"))
    payee_name = forms.CharField(label=_("Payee"), max_length=30)
    payee_account = forms.CharField(
        label=_("Bank card to pay"),
        max_length=30,
        help_text=_("The member's own card unless the family asks otherwise."),
    )

    field_order = ["benefit"]

    def __init__(self, *args, rules: PlanRules, benefit: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.rules = rules
        choices = [(b.code, b.label) for b in rules.benefits]
        if len(choices) == 1:
            benefit = choices[0][0]
        else:
            choices.insert(0, ("", _("Choose the benefit")))
        self.fields["benefit"].choices = choices
        if self.is_bound:
            benefit = self.data.get("benefit") or ""
        elif benefit:
            self.initial["benefit"] = benefit
        # The plan's own benefit of that code, or None while none (or no real one) is chosen.
        self.chosen = rules.benefit(benefit) if isinstance(benefit, str) and benefit else None
        if self.chosen is not None:
            needed, optional = benefit_facts(self.chosen)
            asked = {*needed, *optional}
        else:
            needed = ()
            asked = {name for b in rules.benefits for part in benefit_facts(b) for name in part}
        for name in self.FACT_NAMES:
            if name not in asked:
                del self.fields[name]
        for name in needed:
            self.fields[name].required = True

    @property
    def benefit_code(self) -> str:
        return self.chosen.code if self.chosen else ""

    def fact_fields(self) -> list[tuple[forms.BoundField, str]]:
        """The facts asked, in the form's order, each with its column width."""
        return [
            (self[name], WIDE_FACTS.get(name, "col-md-4"))
            for name in self.FACT_NAMES
            if name in self.fields
        ]

    def clean_payee_name(self):
        return clean_payee_name(self.cleaned_data["payee_name"])

    def clean_payee_account(self):
        return clean_payee_account(self.cleaned_data["payee_account"])

    def clean(self):
        data = super().clean()
        if self.chosen is not None and data.get("benefit") == self.chosen.code:
            self._check_facts(timezone.localdate())
        return data

    def _check_facts(self, filed: datetime.date) -> None:
        """The engine's parser judges the facts by the plan's own rules; its messages go beside
        the fields (a field that already has a message keeps just that one)."""
        from plans.engine.payout import FactsError, facts_from_json

        data = {k: v for k, v in self.facts().items() if k in ENGINE_FIELDS}
        data.update(benefit=self.chosen.code, filed_date=filed.isoformat())
        try:
            facts_from_json(data, rules=self.rules)
        except FactsError as exc:
            for field, message in exc.errors.items():
                if field not in self.errors:
                    self.add_error(field if field in self.fields else None, message)

    def event_date(self) -> datetime.date:
        for name in ("admission_date", "diagnosis_date", "accident_date", "fire_date"):
            if self.cleaned_data.get(name):
                return self.cleaned_data[name]
        raise forms.ValidationError(_("The event date is missing."))


# The files one upload may carry; each is checked and stored on its own.
MAX_FILES_AT_ONCE = 10


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern). Only their number is checked
    here: each file is judged on its own when it is stored (``claims.uploads``), so one bad file
    does not turn the others away."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if not files:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        if len(files) > MAX_FILES_AT_ONCE:
            raise forms.ValidationError(
                _("Choose at most %(n)s files at a time.") % {"n": MAX_FILES_AT_ONCE}
            )
        return files


class DocumentForm(forms.Form):
    requirement = forms.ChoiceField(label=_("Document"))
    file = MultipleFileField(label=_("Files (PDF, JPEG or PNG)"))

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
        required=False,
        choices=[("", _("All statuses"))]
        + list(Claim.Status.choices)
        + [(PAYMENT_FAILED, _("Payment failed"))],
    )
    plan = forms.CharField(required=False)
    benefit = forms.ChoiceField(
        required=False, choices=[("", _("All benefits"))] + [(k, v) for k, v in LABELS.items()]
    )
    union = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
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

    def clean_coverage_start(self):
        return day_in_range(self.cleaned_data["coverage_start"])

    def clean_filed_date(self):
        return day_in_range(self.cleaned_data["filed_date"])


class BatchPaidForm(forms.Form):
    """What the bank says about a batch it paid."""

    paid_on = forms.DateField(
        label=_("Date the bank paid"),
        initial=timezone.localdate,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    bank_reference = forms.CharField(
        label=_("Bank reference"),
        max_length=64,
        help_text=_("The reference on the bank's receipt or statement for this transfer order."),
    )

    def __init__(self, *args, batch=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.batch = batch

    def clean_paid_on(self):
        return day_in_range(self.cleaned_data["paid_on"])

    def clean(self):
        from claims.services import ClaimError, batch_paid_preview

        data = super().clean()
        if self.batch is not None and not self.errors:
            try:
                self.preview = batch_paid_preview(
                    batch=self.batch, paid_on=data["paid_on"], bank_reference=data["bank_reference"]
                )
            except ClaimError as exc:
                raise forms.ValidationError(str(exc)) from None
        return data


class TransferReturnForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Why the bank returned it"),
        widget=forms.RadioSelect,
        choices=Transfer.Reason.choices,
    )
    note = forms.CharField(
        label=_("The bank's words"),
        required=False,
        max_length=200,
        help_text=_("Needed when the reason is not in the list."),
    )

    def clean(self):
        data = super().clean()
        if data.get("reason") == Transfer.Reason.OTHER and not (data.get("note") or "").strip():
            self.add_error("note", _("Write the bank's reason for the return."))
        return data


class PayeeForm(forms.Form):
    payee_name = forms.CharField(label=_("Payee"), max_length=30)
    payee_account = forms.CharField(label=_("Bank card to pay"), max_length=30)

    def clean_payee_name(self):
        return clean_payee_name(self.cleaned_data["payee_name"])

    def clean_payee_account(self):
        return clean_payee_account(self.cleaned_data["payee_account"])
