"""The terms of the payout engine that both its halves use: the judges (``plans.engine.payout``
and the modules it builds on) and the JSON readers (``plans.engine.payout_input``). Both import
from here and neither imports the other, so the imports point one way.

Here are the rejection reasons and their texts, the flags for staff, the shipped benefit codes
and the facts each needs, the field labels, the data the engine takes and gives
(``ClaimFacts``, ``PriorPayout``, ``Line``, ``Decision``) and ``FactsError``. Split from
``plans.engine.payout``, which re-exports every public name, so callers import them from there
as before. No Django.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from plans.engine.money import format_money
from plans.engine.rules import (
    Accident,
    Benefit,
    CriticalIllness,
    HospitalAllowance,
)

NOT_COVERED = "not_covered"
WAITING_PERIOD = "waiting_period"
GRADE_TOO_LOW = "hospital_grade_too_low"
STAY_TOO_SHORT = "stay_too_short"
COUNT_EXCEEDED = "claim_count_exceeded"
CAP_REACHED = "period_cap_reached"
ALREADY_PAID = "benefit_already_paid"
DEADLINE_PASSED = "filing_deadline_passed"
NOT_IN_PLAN = "benefit_not_in_plan"

REASONS = (
    NOT_COVERED,
    WAITING_PERIOD,
    GRADE_TOO_LOW,
    STAY_TOO_SHORT,
    COUNT_EXCEEDED,
    CAP_REACHED,
    ALREADY_PAID,
    DEADLINE_PASSED,
    NOT_IN_PLAN,
)
_REASON_ORDER = {code: index for index, code in enumerate(REASONS)}

REASON_TEXT: dict[str, str] = {
    NOT_COVERED: "事故或疾病不在保障范围内：不在保障期内，或属于本计划不保障的情形。",
    WAITING_PERIOD: "事故或疾病发生在保障开始后的等待期内，等待期内的不给付。",
    GRADE_TOO_LOW: "就诊医院的等级低于本计划要求的等级。",
    STAY_TOO_SHORT: "住院天数不足本计划规定的最少天数。",
    COUNT_EXCEEDED: "本保障期内该项目的给付次数已经用完。",
    CAP_REACHED: "本保障期内该项目已给付到最高限额，没有余额。",
    ALREADY_PAID: "该项目（或同一次住院）在本保障期内已经给付过。",
    DEADLINE_PASSED: "申请时已超过自出险之日起计算的申领期限。",
    NOT_IN_PLAN: "所参加的保障计划不包含所申请的保障项目。",
}

# Flags are for staff and are not part of the public JSON.
FLAG_OVERLAP = "stay_overlaps_prior_stay"
FLAG_DUPLICATE = "duplicate_stay"
FLAG_WORK_INJURY = "work_injury_excluded"
FLAG_BELOW_DEDUCTIBLE = "below_deductible"
FLAG_NOTHING_PAYABLE = "nothing_payable"
# The same stay or event was paid (or approved) on another enrollment of the member in the same
# plan: overlapping cover must not pay one event twice.
FLAG_OTHER_COVER = "paid_on_other_cover"

# The benefit codes of the shipped vocabulary (the catalog's plans use exactly these). A code
# that is one of them but missing from a plan is a decision (benefit_not_in_plan); a code that
# is neither one of them nor a code of the plan is unusable input.
BENEFIT_CODES = (
    "hospital_allowance",
    "critical_illness",
    "accident",
    "inpatient_reimbursement",
    "accident_medical",
    "fire_loss",
)
OUTCOMES = ("death", "disability")

# The field that holds each code's event date, and the facts each code needs by default (the
# plan's own rules decide for codes it defines).
_EVENT_FIELD = {
    "hospital_allowance": "admission_date",
    "critical_illness": "diagnosis_date",
    "accident": "accident_date",
    "inpatient_reimbursement": "admission_date",
    "accident_medical": "accident_date",
    "fire_loss": "fire_date",
}
_STAY = ("admission_date", "discharge_date")
_NEEDS_BY_CODE = {
    "hospital_allowance": (*_STAY, "hospital_locality", "hospital_grade"),
    "critical_illness": ("diagnosis_date",),
    "accident": ("accident_date", "outcome"),
    "inpatient_reimbursement": (*_STAY, "hospital_grade", "eligible_cost"),
    "accident_medical": ("accident_date", "eligible_cost"),
    "fire_loss": ("fire_date", "eligible_cost"),
}
_REIMBURSEMENT_EVENT_FIELD = {
    "hospital_stay": "admission_date",
    "accident": "accident_date",
    "fire": "fire_date",
}

FIELD_LABELS = {
    "benefit": "保障项目",
    "filed_date": "申请日期",
    "admission_date": "入院日期",
    "discharge_date": "出院日期",
    "hospital_locality": "医院所在地",
    "hospital_grade": "医院等级",
    "diagnosis_date": "确诊日期",
    "accident_date": "意外发生日期",
    "outcome": "意外后果",
    "disability_grade": "伤残等级",
    "during_hospital_stay": "是否住院期间发生的意外",
    "eligible_cost": "可报销费用（火灾为核定损失）",
    "fire_date": "火灾发生日期",
    "work_injury": "是否工伤",
    "shares": "份数",
}
# The keys facts_from_json and priors_from_json read; callers that want to refuse anything else
# (quote_claim does) compare against these.
FACT_FIELDS = tuple(key for key in FIELD_LABELS if key != "shares")
PRIOR_FIELDS = (
    "benefit",
    "amount",
    "event_date",
    "admission_date",
    "discharge_date",
    "applied_base",
)

_PRIOR_LABELS = {
    "benefit": "此前给付的保障项目",
    "amount": "此前给付的金额",
    "event_date": "此前给付的出险日期",
    "admission_date": "此前给付的入院日期",
    "discharge_date": "此前给付的出院日期",
    "applied_base": "此前给付适用的基数",
}

_GRADE_NAME = {1: "一级", 2: "二级", 3: "三级"}
_LOCALITY_NAME = {"local": "本地", "elsewhere": "异地"}
_MISSING = "必填"


# --- the data the engine takes and gives --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    benefit: str
    filed_date: datetime.date
    admission_date: datetime.date | None = None
    discharge_date: datetime.date | None = None
    hospital_locality: str | None = None
    hospital_grade: int | None = None
    diagnosis_date: datetime.date | None = None
    accident_date: datetime.date | None = None
    outcome: str | None = None
    disability_grade: int | None = None
    during_hospital_stay: bool = False
    eligible_cost: Decimal | None = None
    fire_date: datetime.date | None = None
    work_injury: bool = False

    @property
    def event_date(self) -> datetime.date | None:
        """The admission, diagnosis, accident or fire date, by benefit code. A code outside the
        shipped vocabulary takes the first of those dates that is given."""
        name = _EVENT_FIELD.get(self.benefit)
        if name is not None:
            return getattr(self, name)
        return self.admission_date or self.diagnosis_date or self.accident_date or self.fire_date


@dataclass(frozen=True, slots=True)
class PriorPayout:
    """An earlier payment on the same enrollment (the same coverage period), or, with
    ``other_cover``, on another enrollment of the same member in the same plan. Payments on
    other cover count for nothing but spotting the same stay or event paid twice."""

    benefit: str
    amount: Decimal
    event_date: datetime.date
    admission_date: datetime.date | None = None
    discharge_date: datetime.date | None = None
    applied_base: Decimal | None = None
    other_cover: bool = False


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the calculation. A benefit line carries its amount; a cap line carries the
    (negative) reduction; an explanation carries 0.00. The lines add up to the decision."""

    label: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Decision:
    decision: str
    amount: Decimal
    reasons: tuple[str, ...]
    lines: tuple[Line, ...]
    flags: tuple[str, ...] = ()
    # Accident benefits: the base that applied to this claim (for the cap of later claims).
    # Not part of the public JSON.
    applied_base: Decimal | None = None

    def as_json(self) -> dict[str, Any]:
        """Exactly the output of CONTRACTS §4."""
        return {
            "decision": self.decision,
            "amount": format_money(self.amount),
            "reasons": list(self.reasons),
            "lines": [
                {"label": line.label, "amount": format_money(line.amount)} for line in self.lines
            ],
        }


class FactsError(ValueError):
    """Facts that cannot be judged. ``errors`` maps each field to a short Chinese message that a
    form can show beside the field; ``str()`` names the fields for a command line."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__(
            "；".join(f"{_field_name(key)}：{message}" for key, message in self.errors.items())
        )


def _field_name(key: str) -> str:
    base = key.rsplit(".", 1)[-1]
    label = FIELD_LABELS.get(base)
    if key.startswith("prior_payouts"):
        label = _PRIOR_LABELS.get(base)
    return f"{label}（{key}）" if label else key


# --- the facts a benefit needs (the judges and the JSON readers check the same) ---------------


def _needs(benefit: Benefit) -> tuple[str, ...]:
    if isinstance(benefit, HospitalAllowance):
        return _NEEDS_BY_CODE["hospital_allowance"]
    if isinstance(benefit, CriticalIllness):
        return _NEEDS_BY_CODE["critical_illness"]
    if isinstance(benefit, Accident):
        return _NEEDS_BY_CODE["accident"]
    if benefit.event == "hospital_stay":
        return (*_STAY, "hospital_grade", "eligible_cost")
    needs = (_REIMBURSEMENT_EVENT_FIELD[benefit.event], "eligible_cost")
    return (*needs, "hospital_grade") if benefit.min_hospital_grade > 1 else needs
