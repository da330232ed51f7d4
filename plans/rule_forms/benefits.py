"""The benefits of a plan, each with its payment tiers and documents.

A benefit form holds the fields of every kind of benefit but reads only the fields of its kind;
the others are ignored, whatever they hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crispy_forms.layout import Div, Layout, Row
from django import forms
from django.utils.translation import gettext_lazy as _

from plans.engine.rules import DISABILITY_GRADES
from plans.rule_forms.base import (
    BAD_PERCENT,
    CODE_VALIDATOR,
    REQUIRED,
    _as_dict,
    _as_list,
    _decimal,
    _EditorForm,
    fraction_to_percent,
    money_field,
    percent_field,
    row_formset,
)

HOSPITAL_GRADE_CHOICES = [(1, _("Grade 1")), (2, _("Grade 2")), (3, _("Grade 3"))]
BENEFIT_TYPE_CHOICES = [
    ("hospital_allowance", _("Hospital allowance")),
    ("critical_illness", _("Critical illness")),
    ("accident", _("Accident")),
    ("reimbursement", _("Reimbursement of costs")),
]
EVENT_CHOICES = [
    ("hospital_stay", _("A hospital stay")),
    ("accident", _("An accident")),
    ("fire", _("A household fire")),
]
DEDUCTIBLE_SCOPE_CHOICES = [
    ("event", _("Once per event")),
    ("period", _("Once per cover period")),
]
# 《人身保险伤残评定标准》: what a new accident benefit starts with.
STANDARD_DISABILITY_PERCENT = {"1": 100, "2": 90, "3": 80, "4": 70, "5": 60}
STANDARD_DISABILITY_PERCENT.update({"6": 50, "7": 40, "8": 30, "9": 20, "10": 10})


class TierForm(_EditorForm):
    after_day = forms.IntegerField(
        label=_("Diagnosed more than (days after cover starts)"), min_value=0
    )
    through_day = forms.IntegerField(
        label=_("and at most (days)"),
        min_value=0,
        required=False,
        help_text=_("Empty means no end."),
    )
    amount = money_field(_("Amount (yuan)"))
    label = forms.CharField(label=_("Name of the payment"), max_length=200)


class DocumentForm(_EditorForm):
    code = forms.CharField(
        label=_("Code"),
        max_length=40,
        required=False,
        validators=[CODE_VALIDATOR],
        help_text=_("Leave empty to have one made up."),
    )
    label = forms.CharField(label=_("Document"), max_length=200)


TierFormSet = row_formset(TierForm, extra=1, most=30)
DocumentFormSet = row_formset(DocumentForm, extra=1, most=30)

# How each kind of benefit is stored: (rule key, kind of value), in the engine's canonical order.
# The kinds say how a rule value becomes form fields and back; see _benefit_to_rule.
BENEFIT_SPECS: dict[str, tuple[tuple[str, str], ...]] = {
    "hospital_allowance": (
        ("code", "value"),
        ("label", "value"),
        ("min_hospital_grade", "value"),
        ("min_stay_days", "value"),
        ("deductible_days", "int0"),
        ("daily_rate", "locality"),
        ("stay_cap", "locality"),
        ("max_paid_stays_per_period", "value"),
        ("period_cap", "money_or_none"),
        ("per_share", "value"),
        ("waiting_days", "int0"),
        ("documents", "documents"),
        ("type", "value"),
    ),
    "critical_illness": (
        ("code", "value"),
        ("label", "value"),
        ("diseases", "value"),
        ("tiers", "tiers"),
        ("times_per_period", "int1"),
        ("per_share", "value"),
        ("documents", "documents"),
        ("type", "value"),
    ),
    "accident": (
        ("code", "value"),
        ("label", "value"),
        ("death_amount", "money"),
        ("disability_base", "money"),
        ("disability_base_in_hospital", "money_or_none"),
        ("disability_percent", "grades"),
        ("cap_at_applied_base", "value"),
        ("excludes_work_injury", "value"),
        ("per_share", "value"),
        ("waiting_days", "int0"),
        ("documents", "documents"),
        ("type", "value"),
    ),
    "reimbursement": (
        ("code", "value"),
        ("label", "value"),
        ("event", "value"),
        ("deductible", "money"),
        ("deductible_scope", "value"),
        ("rate", "fraction"),
        ("period_cap", "money_or_none"),
        ("min_hospital_grade", "value"),
        ("per_share", "value"),
        ("waiting_days", "int0"),
        ("documents", "documents"),
        ("type", "value"),
    ),
}
LOCALITIES = ("local", "elsewhere")
COMMON_FIELDS = ("type", "code", "label", "per_share")


def _spec_fields(key: str, kind: str) -> tuple[str, ...]:
    if kind == "locality":
        return tuple(f"{key}_{loc}" for loc in LOCALITIES)
    if kind == "grades":
        return tuple(f"grade_{grade}" for grade in DISABILITY_GRADES)
    if kind in ("tiers", "documents"):
        return ()  # formsets of their own
    return (key,)


# The form fields each kind of benefit reads; the template shows only these for the chosen kind.
TYPE_FIELDS: dict[str, tuple[str, ...]] = {
    kind: COMMON_FIELDS
    + tuple(
        name for key, how in spec for name in _spec_fields(key, how) if name not in COMMON_FIELDS
    )
    for kind, spec in BENEFIT_SPECS.items()
}
# Which kinds of benefit use a field: the reverse, for the show/hide attribute.
FIELD_TYPES: dict[str, tuple[str, ...]] = {}
for _kind, _names in TYPE_FIELDS.items():
    for _name in _names:
        FIELD_TYPES.setdefault(_name, ())
        FIELD_TYPES[_name] += (_kind,)
# What a kind of benefit cannot do without (the others fall back to the engine's defaults).
REQUIRED_BY_TYPE: dict[str, tuple[str, ...]] = {
    "hospital_allowance": (
        "min_hospital_grade",
        "min_stay_days",
        "daily_rate_local",
        "daily_rate_elsewhere",
        "stay_cap_local",
        "stay_cap_elsewhere",
    ),
    "critical_illness": (),
    "accident": ("death_amount", "disability_base")
    + tuple(f"grade_{grade}" for grade in DISABILITY_GRADES),
    "reimbursement": ("event", "deductible", "deductible_scope", "rate", "min_hospital_grade"),
}


class BenefitForm(_EditorForm):
    """One benefit of any kind. Holds the fields of every kind; ``type`` says which are read."""

    type = forms.ChoiceField(label=_("Kind of benefit"), choices=[("", "—")] + BENEFIT_TYPE_CHOICES)
    code = forms.CharField(
        label=_("Code"),
        max_length=40,
        validators=[CODE_VALIDATOR],
        help_text=_("A short name in Latin letters that claims refer to; clerks never see it."),
    )
    label = forms.CharField(label=_("Name"), max_length=200)
    per_share = forms.BooleanField(
        label=_("Amounts are per share"),
        required=False,
        help_text=_("Every amount and cap is multiplied by the member's shares."),
    )
    # hospital allowance
    min_stay_days = forms.IntegerField(
        label=_("Shortest stay that is paid (days)"), min_value=1, required=False
    )
    deductible_days = forms.IntegerField(
        label=_("Unpaid days at the start of each stay"), min_value=0, required=False, initial=0
    )
    daily_rate_local = money_field(_("Per day, local hospital (yuan)"), required=False)
    daily_rate_elsewhere = money_field(_("Per day, hospital elsewhere (yuan)"), required=False)
    stay_cap_local = money_field(_("Most per stay, local (yuan)"), required=False)
    stay_cap_elsewhere = money_field(_("Most per stay, elsewhere (yuan)"), required=False)
    max_paid_stays_per_period = forms.IntegerField(
        label=_("Most paid stays per cover period"),
        min_value=1,
        required=False,
        help_text=_("Empty means no limit."),
    )
    # critical illness
    diseases = forms.CharField(
        label=_("Covered diseases"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("One disease per line."),
    )
    times_per_period = forms.IntegerField(
        label=_("Times paid per cover period"), min_value=1, required=False, initial=1
    )
    # accident
    death_amount = money_field(_("Paid on death (yuan)"), required=False)
    disability_base = money_field(
        _("Disability base amount (yuan)"),
        required=False,
        help_text=_("Disability pays this amount times the grade's percentage."),
    )
    disability_base_in_hospital = money_field(
        _("Disability base if hurt while in hospital (yuan)"),
        required=False,
        help_text=_("For accidents during a hospital stay for an illness. Empty: the same base."),
    )
    cap_at_applied_base = forms.BooleanField(
        label=_("Total per cover period at most the base that applied"),
        required=False,
        initial=True,
    )
    excludes_work_injury = forms.BooleanField(
        label=_("Work injuries are not covered"), required=False
    )
    # reimbursement
    event = forms.ChoiceField(
        label=_("Pays costs of"), choices=EVENT_CHOICES, required=False, initial="hospital_stay"
    )
    deductible = money_field(_("Deductible (yuan)"), required=False)
    deductible_scope = forms.ChoiceField(
        label=_("The deductible applies"),
        choices=DEDUCTIBLE_SCOPE_CHOICES,
        required=False,
        initial="event",
    )
    rate = percent_field(
        _("Share of the costs paid (%)"),
        required=False,
        help_text=_("Of the costs above the deductible."),
    )
    # shared by several kinds
    min_hospital_grade = forms.TypedChoiceField(
        label=_("Lowest hospital grade"),
        choices=HOSPITAL_GRADE_CHOICES,
        coerce=int,
        required=False,
        initial=1,
    )
    period_cap = money_field(
        _("Most per cover period (yuan)"), required=False, help_text=_("Empty means no limit.")
    )
    waiting_days = forms.IntegerField(
        label=_("Waiting period (days)"),
        min_value=0,
        required=False,
        initial=0,
        help_text=_("Nothing is paid for events in these first days of cover."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for grade in DISABILITY_GRADES:
            self.fields[f"grade_{grade}"] = forms.IntegerField(
                label=_("Disability grade %(grade)s (%%)") % {"grade": grade},
                min_value=0,
                max_value=100,
                required=False,
                initial=STANDARD_DISABILITY_PERCENT[grade],
                error_messages={"min_value": BAD_PERCENT, "max_value": BAD_PERCENT},
            )
        for name, field in self.fields.items():
            if name in FIELD_TYPES and name not in COMMON_FIELDS:
                field.widget.attrs["data-benefit-types"] = " ".join(FIELD_TYPES[name])
        self.fields["type"].widget.attrs["data-benefit-type-select"] = ""
        self.helper.layout = self._layout()
        self.helper.render_unmentioned_fields = True  # the formset's DELETE box

    @staticmethod
    def fields_for(kind: str) -> tuple[str, ...]:
        return TYPE_FIELDS.get(kind, COMMON_FIELDS)

    def _layout(self) -> Layout:
        def group(*names, kinds):
            return Div(*names, css_class="benefit-fields", data_benefit_types=" ".join(kinds))

        grades = [f"grade_{grade}" for grade in DISABILITY_GRADES]
        return Layout(
            *COMMON_FIELDS,
            group(
                "min_stay_days",
                "deductible_days",
                Row(
                    Div("daily_rate_local", css_class="col"),
                    Div("daily_rate_elsewhere", css_class="col"),
                ),
                Row(
                    Div("stay_cap_local", css_class="col"),
                    Div("stay_cap_elsewhere", css_class="col"),
                ),
                "max_paid_stays_per_period",
                kinds=("hospital_allowance",),
            ),
            group("diseases", "times_per_period", kinds=("critical_illness",)),
            group(
                "death_amount",
                "disability_base",
                "disability_base_in_hospital",
                Row(*(Div(name, css_class="col") for name in grades[:5])),
                Row(*(Div(name, css_class="col") for name in grades[5:])),
                "cap_at_applied_base",
                "excludes_work_injury",
                kinds=("accident",),
            ),
            group("event", "deductible", "deductible_scope", "rate", kinds=("reimbursement",)),
            group("min_hospital_grade", "period_cap", kinds=FIELD_TYPES["period_cap"]),
            group("waiting_days", kinds=FIELD_TYPES["waiting_days"]),
        )

    def clean_diseases(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["diseases"].splitlines() if line.strip()]

    def clean(self):
        data = super().clean()
        kind = data.get("type")
        if not kind:
            return data
        active = set(self.fields_for(kind))
        # Fields of the other kinds are not read, so what they hold cannot be wrong.
        for name in list(self._errors):
            if name in self.fields and name not in active:
                del self._errors[name]
        for name in REQUIRED_BY_TYPE[kind]:
            if name not in self._errors and data.get(name) in (None, ""):
                self.add_error(name, REQUIRED)
        return data


BenefitFormSet = row_formset(BenefitForm, extra=0, most=20)


@dataclass
class BenefitBundle:
    """One benefit's forms, as the template shows them together."""

    form: BenefitForm
    tiers: Any  # TierFormSet, read when the benefit is a critical illness
    documents: Any  # DocumentFormSet

    @property
    def diseases(self) -> forms.BoundField:
        return self.form["diseases"]

    @property
    def prefix(self) -> str:
        return self.form.prefix

    @property
    def kind(self) -> str:
        """The chosen kind: what was posted, else what the benefit was."""
        if self.form.is_bound:
            return self.form.data.get(self.form.add_prefix("type")) or ""
        return self.form.initial.get("type", "")

    @property
    def is_deleted(self) -> bool:
        return bool(getattr(self.form, "cleaned_data", {}).get("DELETE"))


def _benefit_initial(benefit: dict) -> tuple[dict, list[dict], list[dict]]:
    kind = benefit.get("type")
    initial: dict[str, Any] = {name: benefit.get(name) for name in COMMON_FIELDS}
    tiers: list[dict] = []
    for key, how in BENEFIT_SPECS.get(kind, ()):
        value = benefit.get(key)
        if how == "locality":
            for loc in LOCALITIES:
                initial[f"{key}_{loc}"] = _decimal(_as_dict(value).get(loc))
        elif how == "grades":
            for grade in DISABILITY_GRADES:
                initial[f"grade_{grade}"] = _as_dict(value).get(grade)
        elif how == "tiers":
            tiers = [
                {
                    "after_day": tier.get("after_day"),
                    "through_day": tier.get("through_day"),
                    "amount": _decimal(tier.get("amount")),
                    "label": tier.get("label"),
                }
                for tier in map(_as_dict, _as_list(value))
            ]
        elif how == "documents":
            pass
        elif how in ("money", "money_or_none"):
            initial[key] = _decimal(value)
        elif how == "fraction":
            initial[key] = fraction_to_percent(value)
        elif key == "diseases":
            initial[key] = "\n".join(str(d) for d in _as_list(value))
        elif value is not None:
            initial[key] = value
    documents = [
        {"code": doc.get("code"), "label": doc.get("label")}
        for doc in map(_as_dict, _as_list(benefit.get("documents")))
    ]
    return initial, tiers, documents
