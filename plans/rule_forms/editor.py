"""``RulesEditor``: one form or formset per part of the rule vocabulary (``plans.engine.rules``),
filled from the rules or from a POST, and the rules assembled from them again.

The forms check what was typed (numbers, no negative money); the engine's own parser then judges
the assembled rules, and each problem it names by path is put beside the field that caused it
(``plans.rule_forms.errors``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from crispy_forms.helper import FormHelper
from django.forms.utils import ErrorList

from plans.engine.money import format_money
from plans.engine.rules import (
    DISABILITY_GRADES,
    SCHEMA_VERSION,
    PlanRules,
    RulesError,
    parse_rules,
)
from plans.rule_forms.base import (
    _as_dict,
    _as_list,
    _decimal,
    _helper,
    _in_choice_order,
    _plain,
    fraction_to_percent,
    percent_to_fraction,
)
from plans.rule_forms.benefits import (
    BENEFIT_SPECS,
    LOCALITIES,
    BenefitBundle,
    BenefitForm,
    BenefitFormSet,
    DocumentFormSet,
    TierFormSet,
    _benefit_initial,
)
from plans.rule_forms.coverage import GeneralForm
from plans.rule_forms.eligibility import (
    EMPLOYMENT_CHOICES,
    GENDER_CHOICES,
    OCCUPATION_CHOICES,
    EligibilityForm,
)
from plans.rule_forms.errors import _ErrorPlacement
from plans.rule_forms.fees import FeesForm, SubsidyFormSet
from plans.rule_forms.funding import PAYER_CHOICES, FundingForm, MinShareFormSet, ModeFormSet
from plans.rule_forms.participation import ParticipationFormSet
from plans.rule_forms.shares import SharesForm


def _rules_as_dict(rules: PlanRules | dict | None) -> dict | None:
    if rules is None:
        return None
    if isinstance(rules, PlanRules):
        return rules.to_dict()
    try:
        return parse_rules(rules).to_dict()
    except RulesError:
        return copy.deepcopy(rules)  # show what there is; saving will name the problems


class RulesEditor(_ErrorPlacement):
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
                {
                    "name": s.get("name"),
                    "amount_per_member": _decimal(s.get("amount_per_member")),
                    "giver": s.get("giver") or "",
                }
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
            if (form.cleaned_data.get("giver") or "").strip():
                _put(row, "giver", form.cleaned_data, "giver")
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
