"""A plan's change log as a person writes it: "住院津贴 每天（本地医院）: 50.00 → 60.00", not
``benefits[0].daily_rate.local: 50.00 → 60.00``.

The log stores the rules before and after (plans.models.PlanChange); this module names each
changed value by the label the rule editor gives it and the benefit it belongs to, in the
reader's language, when the page is shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

# Each rule's label, by its path with list positions left out ("benefits.daily_rate.local").
RULE_LABELS = {
    "insured": _("Who is covered"),
    "coverage_months": _("Cover lasts (months)"),
    "filing_deadline_months": _("Claims must be filed within (months)"),
    "eligibility.age_min": _("Youngest age"),
    "eligibility.age_max": _("Oldest age"),
    "eligibility.employment_types": _("Employment types that may join"),
    "eligibility.genders": _("Only these genders"),
    "eligibility.occupations": _("Only these occupations"),
    "eligibility.medical_insurance_required": _("Must be in basic medical insurance"),
    "eligibility.child_age_min": _("Child's youngest age"),
    "eligibility.child_age_max": _("Child's oldest age"),
    "shares.min": _("Fewest shares per person"),
    "shares.max": _("Most shares per person"),
    "shares.uniform_per_unit": _("Everyone in a unit takes the same number of shares"),
    "fees.per_share": _("Fee per share (yuan)"),
    "fees.high_risk_surcharge_per_share": _("Extra fee per share for high-risk work (yuan)"),
    "fees.subsidies": _("Subsidies"),
    "fees.subsidies.name": _("Who gives the subsidy"),
    "fees.subsidies.amount_per_member": _("Subsidy per member (yuan)"),
    "fees.subsidies.giver": _("Paid to the office by"),
    "funding": _("Who pays the fee"),
    "participation": _("How many of a unit must join"),
    "benefits": _("Benefits"),
    "benefits.type": _("Kind of benefit"),
    "benefits.code": _("Code"),
    "benefits.label": _("Name"),
    "benefits.per_share": _("Amounts are per share"),
    "benefits.min_stay_days": _("Shortest stay that is paid (days)"),
    "benefits.deductible_days": _("Unpaid days at the start of each stay"),
    "benefits.daily_rate.local": _("Per day, local hospital (yuan)"),
    "benefits.daily_rate.elsewhere": _("Per day, hospital elsewhere (yuan)"),
    "benefits.stay_cap.local": _("Most per stay, local (yuan)"),
    "benefits.stay_cap.elsewhere": _("Most per stay, elsewhere (yuan)"),
    "benefits.max_paid_stays_per_period": _("Most paid stays per cover period"),
    "benefits.diseases": _("Covered diseases"),
    "benefits.times_per_period": _("Times paid per cover period"),
    "benefits.death_amount": _("Paid on death (yuan)"),
    "benefits.disability_base": _("Disability base amount (yuan)"),
    "benefits.disability_base_in_hospital": _("Disability base if hurt while in hospital (yuan)"),
    "benefits.disability_percent": _("Disability grades"),
    "benefits.cap_at_applied_base": _("Total per cover period at most the base that applied"),
    "benefits.excludes_work_injury": _("Work injuries are not covered"),
    "benefits.event": _("Pays costs of"),
    "benefits.deductible": _("Deductible (yuan)"),
    "benefits.deductible_scope": _("The deductible applies"),
    "benefits.rate": _("Share of the costs paid (%)"),
    "benefits.min_hospital_grade": _("Lowest hospital grade"),
    "benefits.period_cap": _("Most per cover period (yuan)"),
    "benefits.waiting_days": _("Waiting period (days)"),
    "benefits.tiers": _("Amounts by days since cover started"),
    "benefits.documents": _("Documents a claim needs"),
    "effective_from": _("effective from"),
    "effective_to": _("effective to"),
}
# Not shown: bookkeeping of the rule format itself.
SKIPPED = frozenset({"schema_version"})
OTHER = _("Other rules")
YES, NO = _("yes"), _("no")
COPIED = re.compile(r"^copied from v(\d+)$")

_INDEX = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class ChangeLine:
    what: str
    old: str  # empty: the line says only what it became (or what was added and removed)
    new: str


def _label(path: str) -> str:
    """The label of the path, or of the nearest enclosing rule that has one."""
    bare = _INDEX.sub("", path)
    parts = bare.split(".")
    while parts:
        found = RULE_LABELS.get(".".join(parts))
        if found is not None:
            return str(found)
        parts.pop()
    return str(OTHER)


def _benefit_name(path: str, before: dict | None, after: dict | None) -> str:
    match = re.match(r"benefits\[(\d+)\]", path)
    if not match:
        return ""
    index = int(match.group(1))
    for rules in (after, before):
        benefits = (rules or {}).get("benefits") or []
        if index < len(benefits) and isinstance(benefits[index], dict):
            return str(benefits[index].get("label") or "")
    return ""


def _value(value: object) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return str(YES if value else NO)
    if isinstance(value, list):
        if all(isinstance(v, dict) for v in value):
            names = [str(v.get("label") or v.get("name") or "") for v in value]
            return "、".join(n for n in names if n) or str(len(value))
        return "、".join(_value(v) for v in value)
    if isinstance(value, dict):
        return str(value.get("label") or value.get("name") or "…")
    return str(value)


def change_lines(change) -> list[ChangeLine]:
    """The change's differences, one readable line each."""
    lines = []
    for path, old, new in change.diff:
        if _INDEX.sub("", path).split(".")[0] in SKIPPED:
            continue
        what = _label(path)
        benefit = _benefit_name(path, change.before, change.after)
        if benefit and not path.endswith("].label"):
            what = f"{benefit} {what}"
        if (
            isinstance(old, list)
            and isinstance(new, list)
            and all(isinstance(v, str) for v in old + new)
        ):
            added = [v for v in new if v not in old]
            removed = [v for v in old if v not in new]
            if added or removed:
                said = []
                if added:
                    said.append(str(_("added: %(items)s") % {"items": "、".join(added)}))
                if removed:
                    said.append(str(_("removed: %(items)s") % {"items": "、".join(removed)}))
                lines.append(ChangeLine(what, "", "；".join(said)))
                continue
        lines.append(ChangeLine(what, _value(old), _value(new)))
    return lines


def change_note(change) -> str:
    """The note stored with a change, in the reader's language."""
    match = COPIED.match(change.note or "")
    if match:
        return str(_("Copied from version %(n)s") % {"n": match.group(1)})
    return change.note
