"""Structured forms for a plan version's rules, so a plan admin never edits JSON.

``RulesEditor`` builds one form or formset per part of the rule vocabulary
(``plans.engine.rules``): who may join, shares, fees and subsidies, funding, participation
thresholds, general settings and the benefits, each benefit with its payment tiers and documents.
The forms check what was typed (numbers, no negative money); the engine's own parser then judges
the assembled rules, and each problem it names by path (``benefits[0].stay_cap.local``) is put
beside the field that caused it, so there is one source of truth for what a usable plan is.

Conventions between the forms and the stored rules:

* money is a Decimal field with two places, stored as a string with two decimals ("110.00");
* shares of a whole are typed as percentages: 80 becomes "0.80", 12.5 becomes "0.125";
  the funding minimum ("unit + union pay at least 70%") stays a percentage: 70 becomes "70";
* lists of choices are stored in the order of the choices, whatever order a browser sends them;
* a benefit form reads only the fields of its kind; the others are ignored, whatever they hold.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Div, Layout, Row
from django import forms
from django.core.validators import RegexValidator
from django.forms.utils import ErrorList
from django.utils.translation import gettext_lazy as _

from enrollment.models import Member
from plans.engine.money import format_money
from plans.engine.rules import (
    DISABILITY_GRADES,
    RETIRED,
    SCHEMA_VERSION,
    PlanRules,
    RulesError,
    parse_rules,
)
from plans.templatetags.plan_rules import PAYER_LABELS

NEGATIVE_MONEY = _("Amounts cannot be negative.")
BAD_PERCENT = _("A percentage is a number from 0 to 100.")
REQUIRED = forms.Field.default_error_messages["required"]

CODE_VALIDATOR = RegexValidator(
    r"^[a-z][a-z0-9_]*$",
    _("Use lower-case English letters, digits and underscores, starting with a letter."),
)

EMPLOYMENT_CHOICES = [
    (value, label) for value, label in Member.EmploymentType.choices if value != RETIRED
]
GENDER_CHOICES = list(Member.Gender.choices)
OCCUPATION_CHOICES = list(Member.Occupation.choices)
PAYER_CHOICES = [(payer, PAYER_LABELS[payer]) for payer in ("unit", "union", "member")]
INSURED_CHOICES = [("member", _("The member")), ("member_child", _("The member's child"))]
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


# --- fields and conversions -------------------------------------------------------------------


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


# --- the parts of a plan ----------------------------------------------------------------------


class GeneralForm(_EditorForm):
    insured = forms.ChoiceField(label=_("Who is covered"), choices=INSURED_CHOICES)
    coverage_months = forms.IntegerField(label=_("Cover lasts (months)"), min_value=1)
    filing_deadline_months = forms.IntegerField(
        label=_("Claims must be filed within (months)"),
        min_value=1,
        help_text=_("Counted from the day of the event."),
    )


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


class SharesForm(_EditorForm):
    min = forms.IntegerField(label=_("Fewest shares per person"), min_value=1)
    max = forms.IntegerField(label=_("Most shares per person"), min_value=1)
    uniform_per_unit = forms.BooleanField(
        label=_("Everyone in a unit takes the same number of shares"), required=False
    )


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


class ParticipationForm(_EditorForm):
    headcount_from = forms.IntegerField(label=_("Units with at least (members)"), min_value=0)
    headcount_to = forms.IntegerField(
        label=_("and at most (members)"),
        min_value=0,
        required=False,
        help_text=_("Empty means no upper limit."),
    )
    min_rate = percent_field(_("must enroll at least (%)"))


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


SubsidyFormSet = forms.formset_factory(SubsidyForm, extra=1, can_delete=True)
MinShareFormSet = forms.formset_factory(MinShareForm, extra=1, can_delete=True)
ModeFormSet = forms.formset_factory(ModeForm, extra=1, can_delete=True)
ParticipationFormSet = forms.formset_factory(ParticipationForm, extra=1, can_delete=True)
TierFormSet = forms.formset_factory(TierForm, extra=1, can_delete=True)
DocumentFormSet = forms.formset_factory(DocumentForm, extra=1, can_delete=True)


# --- benefits ---------------------------------------------------------------------------------

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
        help_text=_("A short English name, e.g. hospital_allowance. Claims refer to it."),
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


BenefitFormSet = forms.formset_factory(BenefitForm, extra=0, can_delete=True)


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


# --- from rules to initial values -------------------------------------------------------------


def _as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _rules_as_dict(rules: PlanRules | dict | None) -> dict | None:
    if rules is None:
        return None
    if isinstance(rules, PlanRules):
        return rules.to_dict()
    try:
        return parse_rules(rules).to_dict()
    except RulesError:
        return copy.deepcopy(rules)  # show what there is; saving will name the problems


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


# --- the editor -------------------------------------------------------------------------------

_PATH_PART = re.compile(r"^([^\[\]]+)((?:\[\d+\])*)$")


def _split_path(path: str) -> list[str | int]:
    """ "benefits[1].stay_cap.local" → ["benefits", 1, "stay_cap", "local"]."""
    parts: list[str | int] = []
    for piece in path.split(".") if path else ():
        match = _PATH_PART.match(piece)
        if not match:
            return [path]
        parts.append(match.group(1))
        parts.extend(int(i) for i in re.findall(r"\[(\d+)\]", match.group(2)))
    return parts


class RulesEditor:
    """Every form and formset of a plan version's rules, filled from the rules or from a POST.

    ``RulesEditor(rules=version.rules)`` shows a version; ``RulesEditor(request.POST,
    rules=version.rules)`` reads the admin's changes. After ``is_valid()``, ``rules`` holds the
    engine's ``PlanRules`` (save ``editor.rules.to_dict()``, the canonical JSON) and every
    problem sits beside its field; problems with no field are in ``top_errors``.
    """

    def __init__(
        self,
        data=None,
        *,
        rules: PlanRules | dict | None = None,
        prefix: str = "rules",
        extra_benefits: int | None = None,
    ):
        self.data = data
        self.is_bound = data is not None
        self.prefix = prefix
        self.top_errors = ErrorList()
        self.rules: PlanRules | None = None
        self._valid: bool | None = None
        self._rules_dict: dict | None = None
        self._kept: dict[str, list] = {}

        source = _rules_as_dict(rules)
        top = _as_dict(source)
        elig = _as_dict(top.get("eligibility"))
        shares = _as_dict(top.get("shares"))
        fees = _as_dict(top.get("fees"))
        funding = _as_dict(top.get("funding"))

        def p(name: str) -> str:
            return f"{prefix}-{name}"

        self.general = GeneralForm(
            data,
            prefix=p("general"),
            initial={
                "insured": top.get("insured", "member"),
                "coverage_months": top.get("coverage_months", 12),
                "filing_deadline_months": top.get("filing_deadline_months"),
            },
        )
        self.eligibility = EligibilityForm(
            data,
            prefix=p("eligibility"),
            initial={
                "age_min": elig.get("age_min"),
                "age_max": elig.get("age_max"),
                "employment_types": elig.get(
                    "employment_types", [value for value, _label in EMPLOYMENT_CHOICES]
                ),
                "genders": elig.get("genders", []),
                "occupations": elig.get("occupations", []),
                "medical_insurance_required": elig.get("medical_insurance_required", False),
                "child_age_min": elig.get("child_age_min"),
                "child_age_max": elig.get("child_age_max"),
            },
        )
        self.shares = SharesForm(
            data,
            prefix=p("shares"),
            initial={
                "min": shares.get("min"),
                "max": shares.get("max"),
                "uniform_per_unit": shares.get("uniform_per_unit", False),
            },
        )
        self.fees = FeesForm(
            data,
            prefix=p("fees"),
            initial={
                "per_share": _decimal(fees.get("per_share")),
                "high_risk_surcharge_per_share": _decimal(
                    fees.get("high_risk_surcharge_per_share", "0.00")
                ),
            },
        )
        self.subsidies = SubsidyFormSet(
            data,
            prefix=p("subsidies"),
            initial=[
                {"name": s.get("name"), "amount_per_member": _decimal(s.get("amount_per_member"))}
                for s in map(_as_dict, _as_list(fees.get("subsidies")))
            ],
        )
        self.funding = FundingForm(
            data,
            prefix=p("funding"),
            initial={"payers": funding.get("payers", [v for v, _label in PAYER_CHOICES])},
        )
        self.min_shares = MinShareFormSet(
            data,
            prefix=p("min_shares"),
            initial=[
                {"payers": m.get("payers", []), "min_percent": _decimal(m.get("min_percent"))}
                for m in map(_as_dict, _as_list(funding.get("min_shares")))
            ],
        )
        self.modes = ModeFormSet(
            data,
            prefix=p("modes"),
            initial=[
                {"code": m.get("code"), "label": m.get("label"), "payers": m.get("payers", [])}
                for m in map(_as_dict, _as_list(funding.get("modes")))
            ],
        )
        self.participation = ParticipationFormSet(
            data,
            prefix=p("participation"),
            initial=[
                {
                    "headcount_from": t.get("headcount_from"),
                    "headcount_to": t.get("headcount_to"),
                    "min_rate": fraction_to_percent(t.get("min_rate")),
                }
                for t in map(_as_dict, _as_list(top.get("participation")))
            ],
        )

        benefit_initials = [_benefit_initial(_as_dict(b)) for b in _as_list(top.get("benefits"))]
        if extra_benefits is None:
            extra_benefits = 0 if benefit_initials else 1
        self.benefit_formset = BenefitFormSet(
            data,
            prefix=p("benefits"),
            initial=[initial for initial, _tiers, _docs in benefit_initials] or None,
        )
        if not self.is_bound:
            self.benefit_formset.extra = extra_benefits
        self.benefits: list[BenefitBundle] = []
        for index, form in enumerate(self.benefit_formset.forms):
            _initial, tiers, docs = (
                benefit_initials[index] if index < len(benefit_initials) else ({}, [], [])
            )
            self.benefits.append(self._bundle(form, tiers, docs, data))
        # For the page's "add a benefit" button to copy; its __prefix__ becomes the new index.
        self.empty_benefit = self._bundle(self.benefit_formset.empty_form, [], [], None)

    @staticmethod
    def _bundle(form: BenefitForm, tiers: list[dict], docs: list[dict], data) -> BenefitBundle:
        return BenefitBundle(
            form=form,
            tiers=TierFormSet(data, prefix=f"{form.prefix}-tiers", initial=tiers),
            documents=DocumentFormSet(data, prefix=f"{form.prefix}-documents", initial=docs),
        )

    # -- what the template and view use --

    def forms_for_template(self) -> dict[str, Any]:
        return {
            "general": self.general,
            "eligibility": self.eligibility,
            "shares": self.shares,
            "fees": self.fees,
            "subsidies": self.subsidies,
            "funding": self.funding,
            "min_shares": self.min_shares,
            "modes": self.modes,
            "participation": self.participation,
            "benefit_formset": self.benefit_formset,
            "benefits": self.benefits,
            "empty_benefit": self.empty_benefit,
            "top_errors": self.top_errors,
            "row_helper": self.row_helper,
        }

    @property
    def row_helper(self) -> FormHelper:
        """For ``{% crispy editor.subsidies editor.row_helper %}``: a formset as a table."""
        helper = _helper()
        helper.template = "bootstrap5/table_inline_formset.html"
        return helper

    @property
    def has_errors(self) -> bool:
        return self.is_bound and not self.is_valid()

    def is_valid(self) -> bool:
        if not self.is_bound:
            return False
        if self._valid is None:
            self._valid = self._validate()
        return self._valid

    def to_rules_dict(self) -> dict[str, Any]:
        """The rules the forms describe, as the JSON dict ``parse_rules`` reads. Complete once
        ``is_valid()`` is true; before that, fields with errors are left out."""
        if not self.is_bound:
            raise ValueError("An unbound editor holds no new rules.")
        self.is_valid()
        return copy.deepcopy(self._rules_dict)

    # -- validation --

    def _sections(self) -> Iterator[Any]:
        yield from (self.general, self.eligibility, self.shares, self.fees, self.subsidies)
        yield from (self.funding, self.min_shares, self.modes, self.participation)
        yield self.benefit_formset

    def _validate(self) -> bool:
        forms_ok = True
        for section in self._sections():
            forms_ok = section.is_valid() and forms_ok
        for bundle in self._kept_rows(self.benefit_formset, self.benefits):
            forms_ok = bundle.documents.is_valid() and forms_ok
            if bundle.form.cleaned_data.get("type") == "critical_illness":
                forms_ok = bundle.tiers.is_valid() and forms_ok
        self._rules_dict = self._assemble()
        try:
            self.rules = parse_rules(self._rules_dict)
        except RulesError as exc:
            self._place_errors(exc.errors, forms_ok)
            return False
        return forms_ok

    @staticmethod
    def _kept_rows(formset, items=None) -> list:
        """The rows of a formset that count: not deleted, and not an extra row left empty."""
        items = formset.forms if items is None else items
        kept = []
        for form, item in zip(formset.forms, items, strict=True):
            cleaned = getattr(form, "cleaned_data", None)
            if cleaned is None or cleaned.get("DELETE"):
                continue
            if form.empty_permitted and not form.has_changed():
                continue
            kept.append(item)
        return kept

    # -- forms → rules --

    def _assemble(self) -> dict[str, Any]:
        general = self.general.cleaned_data
        elig = self.eligibility.cleaned_data
        shares = self.shares.cleaned_data
        fees = self.fees.cleaned_data
        funding = self.funding.cleaned_data
        self._kept = {
            "subsidies": self._kept_rows(self.subsidies),
            "min_shares": self._kept_rows(self.min_shares),
            "modes": self._kept_rows(self.modes),
            "participation": self._kept_rows(self.participation),
            "benefits": self._kept_rows(self.benefit_formset, self.benefits),
        }
        out: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
        _put(out, "insured", general, "insured")
        _put(out, "coverage_months", general, "coverage_months")
        eligibility: dict[str, Any] = {}
        for key in ("age_min", "age_max"):
            _put(eligibility, key, elig, key)
        _put(eligibility, "employment_types", elig, "employment_types", EMPLOYMENT_CHOICES)
        _put(eligibility, "genders", elig, "genders", GENDER_CHOICES)
        _put(eligibility, "occupations", elig, "occupations", OCCUPATION_CHOICES)
        for key in ("medical_insurance_required", "child_age_min", "child_age_max"):
            _put(eligibility, key, elig, key)
        out["eligibility"] = eligibility
        out["shares"] = {}
        for key in ("min", "max", "uniform_per_unit"):
            _put(out["shares"], key, shares, key)
        out["fees"] = {}
        _put_money(out["fees"], "per_share", fees, "per_share")
        _put_money(
            out["fees"],
            "high_risk_surcharge_per_share",
            fees,
            "high_risk_surcharge_per_share",
            default="0.00",
        )
        out["fees"]["subsidies"] = []
        for form in self._kept["subsidies"]:
            row: dict[str, Any] = {}
            _put(row, "name", form.cleaned_data, "name")
            _put_money(row, "amount_per_member", form.cleaned_data, "amount_per_member")
            out["fees"]["subsidies"].append(row)
        out["funding"] = {}
        _put(out["funding"], "payers", funding, "payers", PAYER_CHOICES)
        out["funding"]["min_shares"] = []
        for form in self._kept["min_shares"]:
            row = {}
            _put(row, "payers", form.cleaned_data, "payers", PAYER_CHOICES)
            if form.cleaned_data.get("min_percent") is not None:
                row["min_percent"] = _plain(form.cleaned_data["min_percent"])
            out["funding"]["min_shares"].append(row)
        out["funding"]["modes"] = []
        for form in self._kept["modes"]:
            row = {}
            _put(row, "code", form.cleaned_data, "code")
            _put(row, "label", form.cleaned_data, "label")
            _put(row, "payers", form.cleaned_data, "payers", PAYER_CHOICES)
            out["funding"]["modes"].append(row)
        out["participation"] = []
        for form in self._kept["participation"]:
            row = {}
            _put(row, "headcount_from", form.cleaned_data, "headcount_from")
            _put(row, "headcount_to", form.cleaned_data, "headcount_to")
            if form.cleaned_data.get("min_rate") is not None:
                row["min_rate"] = percent_to_fraction(form.cleaned_data["min_rate"])
            out["participation"].append(row)
        _put(out, "filing_deadline_months", general, "filing_deadline_months")
        out["benefits"] = [self._benefit_to_rule(bundle) for bundle in self._kept["benefits"]]
        return out

    def _benefit_to_rule(self, bundle: BenefitBundle) -> dict[str, Any]:
        c = bundle.form.cleaned_data
        kind = c.get("type")
        if kind not in BENEFIT_SPECS:
            out: dict[str, Any] = {}
            for name in ("code", "label", "per_share"):
                _put(out, name, c, name)
            return out
        out = {}
        for key, how in BENEFIT_SPECS[kind]:
            if how == "value":
                _put(out, key, c, key)
            elif how in ("int0", "int1"):
                if key in c:
                    out[key] = c[key] if c[key] is not None else int(how[-1])
            elif how == "money":
                _put_money(out, key, c, key)
            elif how == "money_or_none":
                if key in c:
                    out[key] = format_money(c[key]) if c[key] is not None else None
            elif how == "fraction":
                if c.get(key) is not None:
                    out[key] = percent_to_fraction(c[key])
            elif how == "locality":
                out[key] = {}
                for loc in LOCALITIES:
                    _put_money(out[key], loc, c, f"{key}_{loc}")
            elif how == "grades":
                out[key] = {}
                for grade in DISABILITY_GRADES:
                    _put(out[key], grade, c, f"grade_{grade}")
            elif how == "tiers":
                out[key] = []
                self._kept.setdefault("tiers", {})[id(bundle)] = tiers = self._kept_rows(
                    bundle.tiers
                )
                for form in tiers:
                    row: dict[str, Any] = {}
                    for name in ("after_day", "through_day"):
                        _put(row, name, form.cleaned_data, name)
                    _put_money(row, "amount", form.cleaned_data, "amount")
                    _put(row, "label", form.cleaned_data, "label")
                    out[key].append(row)
            elif how == "documents":
                out[key] = self._documents(bundle)
        return out

    def _documents(self, bundle: BenefitBundle) -> list[dict[str, Any]]:
        kept = self._kept_rows(bundle.documents)
        self._kept.setdefault("documents", {})[id(bundle)] = kept
        taken = {form.cleaned_data.get("code") for form in kept}
        rows = []
        number = 0
        for form in kept:
            row: dict[str, Any] = {}
            if "code" in form.cleaned_data:
                code = form.cleaned_data["code"]
                while not code:
                    number += 1
                    code = f"doc_{number}" if f"doc_{number}" not in taken else ""
                taken.add(code)
                row["code"] = code
            _put(row, "label", form.cleaned_data, "label")
            rows.append(row)
        return rows

    # -- engine errors → fields --

    def _place_errors(self, errors: list[tuple[str, str]], forms_ok: bool) -> None:
        """Put each engine problem beside its field. While some fields already show errors,
        problems about a whole section are held back: they may only echo a field left out."""
        targets = [(self._locate(path), path, message) for path, message in errors]
        broken = {
            id(form): set(form.errors)
            for form in self._all_forms()
            if getattr(form, "_errors", None) is not None
        }
        for (obj, field), path, message in targets:
            if obj is None:
                if forms_ok:
                    self.top_errors.append(f"{path}: {message}" if path else message)
            elif field is not None:
                if field not in broken.get(id(obj), ()):
                    obj.add_error(field, message)
            elif isinstance(obj, forms.BaseForm):
                if forms_ok and message not in obj.non_field_errors():
                    obj.add_error(None, message)
            elif forms_ok and message not in obj.non_form_errors():
                obj.non_form_errors().append(message)

    def _all_forms(self) -> Iterator[forms.BaseForm]:
        for section in self._sections():
            yield from getattr(section, "forms", [section])
        for bundle in self.benefits:
            yield from bundle.tiers.forms
            yield from bundle.documents.forms

    def _locate(self, path: str) -> tuple[Any, str | None]:
        """(form, field name), (form, None) for a form-wide problem, (formset, None) for a
        formset-wide problem, or (None, None) when no form can show it."""
        parts = _split_path(path)
        nowhere = (None, None)
        if not parts:
            return nowhere
        head, rest = parts[0], parts[1:]
        if head in self.general.fields and not rest:
            return self.general, head
        sections = {
            "eligibility": self.eligibility,
            "shares": self.shares,
            "fees": self.fees,
            "funding": self.funding,
        }
        if head in sections:
            form = sections[head]
            if not rest:
                return form, None
            if rest[0] in form.fields and len(rest) == 1:
                return form, rest[0]
            lists = {("fees", "subsidies"): "subsidies", ("funding", "min_shares"): "min_shares"}
            lists[("funding", "modes")] = "modes"
            name = lists.get((head, rest[0]))
            if name:
                return self._locate_row(getattr(self, name), self._kept[name], rest[1:])
            return form, None
        if head == "participation":
            return self._locate_row(self.participation, self._kept["participation"], rest)
        if head == "benefits":
            return self._locate_benefit(rest)
        return nowhere

    @staticmethod
    def _locate_row(formset, kept: list, rest: list) -> tuple[Any, str | None]:
        if not rest:
            return formset, None
        index = rest[0]
        if not isinstance(index, int) or index >= len(kept):
            return formset, None
        form = kept[index]
        if len(rest) >= 2 and rest[1] in form.fields:
            return form, rest[1]
        return form, None

    def _locate_benefit(self, rest: list) -> tuple[Any, str | None]:
        kept = self._kept["benefits"]
        if not rest:
            return self.benefit_formset, None
        index = rest[0]
        if not isinstance(index, int) or index >= len(kept):
            return self.benefit_formset, None
        bundle: BenefitBundle = kept[index]
        form = bundle.form
        if len(rest) == 1:
            return form, None
        key, more = rest[1], rest[2:]
        if key in ("tiers", "documents"):
            formset = getattr(bundle, key)
            rows = self._kept.get(key, {}).get(id(bundle), [])
            return self._locate_row(formset, rows, more)
        if key in ("daily_rate", "stay_cap") and more and f"{key}_{more[0]}" in form.fields:
            return form, f"{key}_{more[0]}"
        if key == "disability_percent" and more and f"grade_{more[0]}" in form.fields:
            return form, f"grade_{more[0]}"
        if key in form.fields and not more:
            return form, key
        return form, None


def _put(out: dict, key: str, cleaned: dict, name: str, choices=None) -> None:
    """Copy a cleaned value into the rules unless the field had an error (then the key is left
    out, and the engine's "required" for it is not shown: the field has its own message)."""
    if name not in cleaned:
        return
    value = cleaned[name]
    if choices is not None:
        value = _in_choice_order(value, choices)
    elif isinstance(value, str) and not isinstance(value, bool):
        value = value.strip()
    out[key] = value


def _put_money(out: dict, key: str, cleaned: dict, name: str, default: str | None = None) -> None:
    if name not in cleaned:
        return
    value = cleaned[name]
    if value is None:
        if default is not None:
            out[key] = default
        return
    out[key] = format_money(value)


__all__ = [
    "BENEFIT_SPECS",
    "BenefitBundle",
    "BenefitForm",
    "BenefitFormSet",
    "DocumentFormSet",
    "EligibilityForm",
    "FIELD_TYPES",
    "FeesForm",
    "FundingForm",
    "GeneralForm",
    "MinShareFormSet",
    "ModeFormSet",
    "ParticipationFormSet",
    "RulesEditor",
    "SharesForm",
    "SubsidyFormSet",
    "TYPE_FIELDS",
    "TierFormSet",
    "fraction_to_percent",
    "percent_to_fraction",
]
