"""The payout engine: what a claim on an enrollment pays, and why (CONTRACTS §4).

One implementation serves the web pages, the claims worker and ``quote_claim``. Every number
comes from the plan version's rules (``plans.engine.rules``); none is written here. No Django:
the engine runs in a worker, a command and a benchmark alike.

How a decision is reached
-------------------------
1. A benefit code the plan does not have is rejected with ``benefit_not_in_plan``.
2. Facts that cannot be judged (a field the benefit needs is missing, discharge before
   admission, a grade out of range, filed before the event...) raise ``FactsError``: that is an
   input problem, not a decision.
3. Every rejection reason that applies is collected, not just the first, so a notice can list
   them all. A reason's details (with the numbers) are given as lines of 0.00.
   Reasons are listed in the order of ``REASONS``.
4. When nothing stands in the way, the amount is computed line by line. The first line is the
   benefit itself; each cap that cuts it adds a line carrying the (negative) reduction, so the
   amounts of the lines always add up to the decision amount. Every line is rounded half up to
   0.01 yuan (``quantize_money``); caps are whole cents already, so what a cap leaves needs no
   further rounding.
5. A cap that leaves nothing rejects the claim with ``period_cap_reached``.

Choices the catalog leaves open (documented here and tested)
-----------------------------------------------------------
* Coverage period: ``coverage_start`` to ``coverage_start + coverage_months - 1 day``, both
  inclusive; month arithmetic clamps to the end of a short month as ``relativedelta`` does
  (the same rule as ``enrollment.services.coverage_end_for``). For a hospital stay only the
  admission date must be inside; the whole stay counts.
* Filing deadline: a claim filed on the same calendar day ``filing_deadline_months`` after the
  event is in time; from the next day on it is ``filing_deadline_passed``. An event on the 29th,
  30th or 31st of a month whose deadline month is shorter has until that month's last day. The
  event of a hospital stay is the admission. A claim filed before its event is a ``FactsError``.
* Waiting period (``waiting_days``): the first ``waiting_days`` days of coverage, i.e. events
  with ``event - coverage_start < waiting_days`` days (0 means none). Critical illness uses its
  tiers instead: no tier for ``d <= first after_day`` is the waiting period.
* ``prior`` holds earlier payments on the same enrollment, i.e. the same coverage period; the
  engine does not filter them by date. Counts (paid stays, illness payments) count prior
  payouts of the same benefit code with an amount above zero; caps add up their amounts.
* A stay with the same admission and discharge dates as a prior payout of the same benefit is a
  duplicate: ``benefit_already_paid`` and the flag ``duplicate_stay``. A stay whose dates overlap
  a prior one of the same benefit (sharing more than a transfer day) is still decided and gets
  the flag ``stay_overlaps_prior_stay`` for staff. Another benefit for the same stay (an
  allowance and a reimbursement) is not a duplicate.
* Accident, work injury: a plan with ``excludes_work_injury`` rejects a work injury with
  ``not_covered`` (the plan does not cover that event; flag ``work_injury_excluded``).
* Accident cap (``cap_at_applied_base``): the accident payments of the period (prior payouts of
  the same benefit plus this one) stay within the base that applied. That base is the highest of
  this claim's base and every prior payout's ``applied_base`` (a prior without one is taken to
  share this claim's base). A death's base is its ``death_amount``; a disability's base is
  ``disability_base``, or ``disability_base_in_hospital`` when the accident happened during a
  hospital stay and the plan sets one; ``per_share`` multiplies both. A death after a disability
  payment is not reduced by what was paid except through this cap, as the catalog states it.
  Accident medical costs are a separate benefit with their own cap and do not count here.
  ``Decision.applied_base`` carries this claim's base so a caller can store it for later claims.
* Reimbursement: ``rate * (eligible_cost - deductible)``. ``per_share`` multiplies the period
  cap only: a rate or a deductible multiplied by the shares would pay more than the cost, or
  less for more shares. With ``deductible_scope`` "period" the deductible is taken once per
  period: when a prior payout of the same benefit exists, its claim already went past the whole
  deductible, so this claim has none left. (Earlier claims that stayed below the deductible
  were never paid, so the engine does not know of them and they do not count; staff may adjust.)
* Cost not above the deductible: the contract's reasons have no "below the deductible", and
  "pay 0.00" would be a payment of nothing (a payout must be above zero). The claim is rejected
  with ``not_covered``: the part of a cost within the deductible is, by the plan's terms, not
  covered. A line gives the cost and the deductible, and the flag ``below_deductible`` tells
  staff which case it is. Any other benefit that comes to 0.00 by its rules (a 0% disability
  grade) is rejected the same way with the flag ``nothing_payable``.
"""

from __future__ import annotations

import abc
import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from plans.engine.money import ZERO, format_money, quantize_money
from plans.engine.rules import (
    LOCALITIES,
    Accident,
    Benefit,
    CriticalIllness,
    HospitalAllowance,
    PlanRules,
    Reimbursement,
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
    """An earlier payment on the same enrollment (the same coverage period)."""

    benefit: str
    amount: Decimal
    event_date: datetime.date
    admission_date: datetime.date | None = None
    discharge_date: datetime.date | None = None
    applied_base: Decimal | None = None


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


# --- public entry points -----------------------------------------------------------------------


def decide(
    rules: PlanRules,
    *,
    coverage_start: datetime.date,
    shares: int,
    facts: ClaimFacts,
    prior: Sequence[PriorPayout] = (),
) -> Decision:
    """The decision on one claim. Raises FactsError when the facts cannot be judged."""
    return _compiled(rules).decide(coverage_start, shares, facts, prior)


def decide_many(
    items: Iterable[tuple[PlanRules, datetime.date, int, ClaimFacts, Sequence[PriorPayout]]],
) -> list[Decision]:
    """``decide`` for many claims: (rules, coverage_start, shares, facts, prior) each. Stops
    with FactsError at the first claim that cannot be judged."""
    out: list[Decision] = []
    append = out.append
    cache: dict[int, _Plan] = {}
    for rules, start, shares, facts, prior in items:
        plan = cache.get(id(rules))
        if plan is None:
            plan = cache[id(rules)] = _compiled(rules)
        append(plan.decide(start, shares, facts, prior))
    return out


# --- compiled rules ----------------------------------------------------------------------------

# Compiling the rules (labels, multipliers, lookups) once per rules object keeps the hot path
# short. Keyed by identity with the object kept alive, so an id cannot be reused while cached;
# bounded, because a long-lived worker parses a new rules object for every version it loads.
_CACHE: dict[int, tuple[PlanRules, _Plan]] = {}
_CACHE_MAX = 256


def _compiled(rules: PlanRules) -> _Plan:
    hit = _CACHE.get(id(rules))
    if hit is not None and hit[0] is rules:
        return hit[1]
    plan = _Plan(rules)
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[id(rules)] = (rules, plan)
    return plan


@lru_cache(maxsize=8192)
def add_months(day: datetime.date, months: int) -> datetime.date:
    """``day`` plus whole months, clamped to the end of a shorter month (as relativedelta)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return datetime.date(year, month, min(day.day, _month_days(year, month)))


def _month_days(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


@lru_cache(maxsize=8192)
def coverage_end(start: datetime.date, months: int) -> datetime.date:
    """The last day of a coverage period (2024-01-01, 12 months -> 2024-12-31)."""
    return add_months(start, months) - datetime.timedelta(days=1)


# A rejection reason and the line (0.00, or a benefit line of 0.00) that explains it.
Note = tuple[str, Line]


def _note(reason: str, label: str) -> Note:
    return (reason, Line(label, ZERO))


def _reject(
    notes: list[Note], flags: Iterable[str] = (), applied_base: Decimal | None = None
) -> Decision:
    """A rejection listing its reasons in the order of REASONS, each line beside its reason."""
    notes = sorted(notes, key=lambda note: _REASON_ORDER[note[0]])
    reasons = tuple(dict.fromkeys(reason for reason, _ in notes))
    lines = tuple(line for _, line in notes)
    return Decision("reject", ZERO, reasons, lines, tuple(flags), applied_base)


def _capped(lines: list[Line], flags: list[str], applied_base: Decimal | None = None) -> Decision:
    """A period cap left nothing: the lines (benefit, caps) add up to 0.00."""
    return Decision("reject", ZERO, (CAP_REACHED,), tuple(lines), tuple(flags), applied_base)


class _Plan:
    __slots__ = ("benefits", "deadline_months", "months")

    def __init__(self, rules: PlanRules):
        self.months = rules.coverage_months
        self.deadline_months = rules.filing_deadline_months
        self.benefits: dict[str, _Judge] = {b.code: _JUDGES[b.type](b) for b in rules.benefits}

    def decide(
        self,
        start: datetime.date,
        shares: int,
        facts: ClaimFacts,
        prior: Sequence[PriorPayout],
    ) -> Decision:
        judge = self.benefits.get(facts.benefit)
        if judge is None:
            return _reject([_note(NOT_IN_PLAN, f"本计划不含保障项目“{facts.benefit}”")])
        if type(shares) is not int or shares < 1:
            raise FactsError({"shares": "应为不小于 1 的整数"})
        return judge.judge(self, start, shares, facts, prior)

    def covered(
        self, start: datetime.date, event: datetime.date, noun: str, notes: list[Note]
    ) -> bool:
        end = coverage_end(start, self.months)
        if start <= event <= end:
            return True
        notes.append(_note(NOT_COVERED, f"{noun} {event} 不在保障期 {start} 至 {end} 内"))
        return False

    def deadline(
        self, event: datetime.date, filed: datetime.date, noun: str, notes: list[Note]
    ) -> None:
        last = add_months(event, self.deadline_months)
        if filed > last:
            notes.append(
                _note(
                    DEADLINE_PASSED,
                    f"申请日期 {filed} 已超过申领时效：应在{noun} {event} 起 "
                    f"{self.deadline_months} 个月内（至 {last}）申请",
                )
            )


def _waiting(
    start: datetime.date, event: datetime.date, noun: str, days: int, notes: list[Note]
) -> None:
    if days and (event - start).days < days:
        notes.append(
            _note(
                WAITING_PERIOD,
                f"{noun} {event} 距保障开始日 {(event - start).days} 天，在 {days} 天等待期内",
            )
        )


def _grade(grade: int | None, minimum: int, what: str, notes: list[Note]) -> None:
    if grade is not None and grade < minimum:
        notes.append(
            _note(
                GRADE_TOO_LOW,
                f"{_GRADE_NAME[grade]}医院，本保障只给付{_GRADE_NAME[minimum]}及以上医院的{what}",
            )
        )


def _yuan(value: Decimal) -> str:
    """Money in a label: whole yuan without decimals (50), otherwise two decimals (45.50)."""
    if value == value.to_integral_value():
        return f"{value:.0f}"
    return f"{quantize_money(value):.2f}"


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}"


def _shares_text(per_share: bool, shares: int) -> str:
    return f" × {shares}份" if per_share else ""


def _check_filed(errors: dict[str, str], facts: ClaimFacts, event: datetime.date | None) -> None:
    if facts.filed_date is None:
        errors["filed_date"] = _MISSING
    elif event is not None and facts.filed_date < event:
        errors["filed_date"] = "申请日期不能早于出险日期"


def _check_needs(errors: dict[str, str], facts: ClaimFacts, needs: Iterable[str]) -> None:
    """Every needed field present and each given field within its range."""
    for name in needs:
        if getattr(facts, name) is None:
            errors[name] = _MISSING
    admission, discharge = facts.admission_date, facts.discharge_date
    if admission is not None and discharge is not None and discharge < admission:
        errors["discharge_date"] = "出院日期不能早于入院日期"
    locality = facts.hospital_locality
    if locality is not None and locality not in LOCALITIES:
        errors["hospital_locality"] = "应为 local（本地）或 elsewhere（异地）"
    grade = facts.hospital_grade
    if grade is not None and (type(grade) is not int or not 1 <= grade <= 3):
        errors["hospital_grade"] = "应为 1、2 或 3（一级、二级、三级医院）"
    outcome = facts.outcome
    if outcome is not None and outcome not in OUTCOMES:
        errors["outcome"] = "应为 death（身故）或 disability（伤残）"
    if outcome == "disability" and facts.disability_grade is None:
        errors["disability_grade"] = "伤残时必填"
    disability = facts.disability_grade
    if disability is not None and (type(disability) is not int or not 1 <= disability <= 10):
        errors["disability_grade"] = "应为 1 至 10 的整数"
    cost = facts.eligible_cost
    if cost is not None and (not isinstance(cost, Decimal) or not cost.is_finite() or cost < 0):
        errors["eligible_cost"] = "应为不小于 0 的金额"


def _stays(
    code: str,
    admission: datetime.date,
    discharge: datetime.date,
    prior: Sequence[PriorPayout],
    notes: list[Note],
    flags: list[str],
) -> None:
    """Duplicate (rejected) and overlapping (flagged) stays among prior payouts of the same
    benefit. Stays that only touch (discharge and the next admission on one day) are a
    transfer, not an overlap."""
    for p in prior:
        if p.benefit != code or p.admission_date is None or p.discharge_date is None:
            continue
        if p.admission_date == admission and p.discharge_date == discharge:
            if FLAG_DUPLICATE not in flags:
                flags.append(FLAG_DUPLICATE)
                notes.append(
                    _note(ALREADY_PAID, f"同一次住院（{admission} 至 {discharge}）已经给付过")
                )
        elif (
            p.admission_date < discharge
            and admission < p.discharge_date
            and FLAG_OVERLAP not in flags
        ):
            flags.append(FLAG_OVERLAP)


def _paid(code: str, prior: Sequence[PriorPayout]) -> tuple[int, Decimal]:
    """How many prior payouts of this benefit paid something, and their total."""
    count = 0
    total = ZERO
    for p in prior:
        if p.benefit == code and p.amount > 0:
            count += 1
            total += p.amount
    return count, total


def _period_cap(
    amount: Decimal, cap: Decimal, paid: Decimal, cap_text: str, lines: list[Line]
) -> Decimal:
    """What the period cap leaves of ``amount`` (0.00 when nothing), with a line for any cut."""
    remaining = cap - paid
    if remaining <= 0:
        lines.append(Line(f"{cap_text}，已付 {_yuan(paid)}元，没有余额", -amount))
        return ZERO
    if amount > remaining:
        remaining = quantize_money(remaining)
        lines.append(Line(f"{cap_text}，已付 {_yuan(paid)}元", remaining - amount))
        return remaining
    return amount


def _nothing_payable(benefit_line: Line, flags: list[str], base: Decimal | None = None):
    """The rules give 0.00 (a 0% grade, a zero rate): nothing to pay, rejected as not covered."""
    notes = [
        (NOT_COVERED, benefit_line),
        _note(NOT_COVERED, "按本计划的给付标准计算，没有可给付的金额"),
    ]
    return _reject(notes, [*flags, FLAG_NOTHING_PAYABLE], base)


# --- the four kinds of benefit -----------------------------------------------------------------


class _Judge(abc.ABC):
    """One kind of benefit's rules; each kind below says how it judges a claim."""

    __slots__ = ("code", "label")

    def __init__(self, benefit: Benefit):
        self.code = benefit.code
        self.label = benefit.label

    @abc.abstractmethod
    def judge(
        self,
        plan: _Plan,
        start: datetime.date,
        shares: int,
        facts: ClaimFacts,
        prior: Sequence[PriorPayout],
    ) -> Decision: ...


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


class _Allowance(_Judge):
    __slots__ = ("b", "needs", "rate_text", "cap_text")

    def __init__(self, benefit: HospitalAllowance):
        super().__init__(benefit)
        self.b = benefit
        self.needs = _needs(benefit)
        self.rate_text = {loc: _yuan(rate) for loc, rate in benefit.daily_rate.items()}
        self.cap_text = {loc: _yuan(cap) for loc, cap in benefit.stay_cap.items()}

    def judge(self, plan, start, shares, facts, prior):
        b = self.b
        errors: dict[str, str] = {}
        _check_needs(errors, facts, self.needs)
        admission, discharge = facts.admission_date, facts.discharge_date
        _check_filed(errors, facts, admission)
        if errors:
            raise FactsError(errors)

        notes: list[Note] = []
        flags: list[str] = []
        if plan.covered(start, admission, "入院日期", notes):
            _waiting(start, admission, "入院日期", b.waiting_days, notes)
        _grade(facts.hospital_grade, b.min_hospital_grade, "住院", notes)
        days = (discharge - admission).days
        if days < b.min_stay_days:
            notes.append(
                _note(STAY_TOO_SHORT, f"住院 {days} 天，少于最短住院天数 {b.min_stay_days} 天")
            )
        count, paid = _paid(self.code, prior)
        limit = b.max_paid_stays_per_period
        if limit is not None and count >= limit:
            notes.append(
                _note(COUNT_EXCEEDED, f"本保障期已给付{self.label} {count} 次，每期最多 {limit} 次")
            )
        _stays(self.code, admission, discharge, prior, notes, flags)
        plan.deadline(admission, facts.filed_date, "入院日期", notes)
        if notes:
            return _reject(notes, flags)

        locality = facts.hospital_locality
        per = shares if b.per_share else 1
        paid_days = days - b.deductible_days
        amount = quantize_money(paid_days * b.daily_rate[locality] * per)
        days_text = f"{paid_days}天"
        if b.deductible_days:
            days_text += f"（住院{days}天，免赔{b.deductible_days}天）"
        line = Line(
            f"{self.label} {days_text} × {self.rate_text[locality]}元"
            f"{_shares_text(b.per_share, shares)}",
            amount,
        )
        if amount <= 0:
            return _nothing_payable(line, flags)
        lines = [line]
        stay_cap = b.stay_cap[locality] * per
        if amount > stay_cap:
            where = _LOCALITY_NAME[locality]
            text = f"每次住院封顶 {_yuan(stay_cap)}元（{where}）"
            if b.per_share:
                text = (
                    f"每次住院封顶 {_yuan(stay_cap)}元"
                    f"（{where}每份 {self.cap_text[locality]}元 × {shares}份）"
                )
            lines.append(Line(text, stay_cap - amount))
            amount = stay_cap
        if b.period_cap is not None:
            cap = b.period_cap * per
            text = f"保障期累计封顶 {_yuan(cap)}元"
            if b.per_share:
                text += f"（每份 {_yuan(b.period_cap)}元 × {shares}份）"
            amount = _period_cap(amount, cap, paid, text, lines)
            if not amount:
                return _capped(lines, flags)
        return Decision("pay", amount, (), tuple(lines), tuple(flags))


class _Illness(_Judge):
    __slots__ = ("b", "tiers", "first_after")

    def __init__(self, benefit: CriticalIllness):
        super().__init__(benefit)
        self.b = benefit
        self.tiers = tuple(
            (t.after_day, t.through_day, t.amount, t.label)
            for t in sorted(benefit.tiers, key=lambda t: t.after_day)
        )
        self.first_after = self.tiers[0][0] if self.tiers else 0

    def judge(self, plan, start, shares, facts, prior):
        b = self.b
        errors: dict[str, str] = {}
        diagnosis = facts.diagnosis_date
        if diagnosis is None:
            errors["diagnosis_date"] = _MISSING
        _check_filed(errors, facts, diagnosis)
        if errors:
            raise FactsError(errors)

        notes: list[Note] = []
        day = (diagnosis - start).days
        tier = None
        if plan.covered(start, diagnosis, "确诊日期", notes):
            for after, through, amount, label in self.tiers:
                if after < day and (through is None or day <= through):
                    tier = (amount, label)
                    break
            if tier is None and day <= self.first_after:
                notes.append(
                    _note(
                        WAITING_PERIOD,
                        f"确诊日期 {diagnosis} 距保障开始日 {day} 天，在等待期内"
                        f"（保障开始后 {self.first_after} 天内确诊的不给付）",
                    )
                )
            elif tier is None:
                notes.append(
                    _note(
                        NOT_COVERED, f"确诊日期 {diagnosis} 距保障开始日 {day} 天，不在给付档次内"
                    )
                )
        count, _ = _paid(self.code, prior)
        if count >= b.times_per_period:
            notes.append(
                _note(
                    ALREADY_PAID,
                    f"本保障期已给付{self.label} {count} 次，每期限 {b.times_per_period} 次",
                )
            )
        plan.deadline(diagnosis, facts.filed_date, "确诊日期", notes)
        if notes:
            return _reject(notes)

        amount, label = tier
        total = quantize_money(amount * shares) if b.per_share else amount
        line = Line(
            f"{self.label}：{label} {_yuan(amount)}元{_shares_text(b.per_share, shares)}"
            f"（确诊日距保障开始日 {day} 天）",
            total,
        )
        if total <= 0:
            return _nothing_payable(line, [])
        return Decision("pay", total, (), (line,))


class _Accident(_Judge):
    __slots__ = ("b", "needs", "percent")

    def __init__(self, benefit: Accident):
        super().__init__(benefit)
        self.b = benefit
        self.needs = _needs(benefit)
        self.percent = {int(grade): value for grade, value in benefit.disability_percent.items()}

    def judge(self, plan, start, shares, facts, prior):
        b = self.b
        errors: dict[str, str] = {}
        _check_needs(errors, facts, self.needs)
        accident = facts.accident_date
        _check_filed(errors, facts, accident)
        if errors:
            raise FactsError(errors)

        per = shares if b.per_share else 1
        share_text = _shares_text(b.per_share, shares)
        if facts.outcome == "death":
            base = b.death_amount * per
            amount = base
            text = f"{self.label}：身故 {_yuan(b.death_amount)}元{share_text}"
        else:
            grade = facts.disability_grade
            one, where = b.disability_base, ""
            if facts.during_hospital_stay and b.disability_base_in_hospital is not None:
                one, where = b.disability_base_in_hospital, "（住院期间发生的意外）"
            base = one * per
            percent = self.percent[grade]
            amount = quantize_money(base * percent / 100)
            text = f"{self.label}：{grade}级伤残 {_yuan(one)}元{share_text} × {percent}%{where}"

        notes: list[Note] = []
        flags: list[str] = []
        if plan.covered(start, accident, "意外发生日期", notes):
            _waiting(start, accident, "意外发生日期", b.waiting_days, notes)
        if b.excludes_work_injury and facts.work_injury:
            flags.append(FLAG_WORK_INJURY)
            notes.append(
                _note(NOT_COVERED, "工伤事故不在本计划保障范围内（本计划只保障非工伤意外）")
            )
        plan.deadline(accident, facts.filed_date, "意外发生日期", notes)
        if notes:
            return _reject(notes, flags, base)

        line = Line(text, amount)
        if amount <= 0:
            return _nothing_payable(line, flags, base)
        lines = [line]
        if b.cap_at_applied_base:
            cap = base
            paid = ZERO
            for p in prior:
                if p.benefit == self.code:
                    paid += p.amount
                    if p.applied_base is not None and p.applied_base > cap:
                        cap = p.applied_base
            text = f"本保障期{self.label}累计给付不超过适用基数 {_yuan(cap)}元"
            amount = _period_cap(amount, cap, paid, text, lines)
            if not amount:
                return _capped(lines, flags, base)
        return Decision("pay", amount, (), tuple(lines), tuple(flags), base)


class _Reimbursement(_Judge):
    __slots__ = ("b", "needs", "event_field", "noun", "rate_text")

    def __init__(self, benefit: Reimbursement):
        super().__init__(benefit)
        self.b = benefit
        self.needs = _needs(benefit)
        self.event_field = _REIMBURSEMENT_EVENT_FIELD[benefit.event]
        self.noun = _EVENT_NOUN[self.event_field]
        self.rate_text = _percent(benefit.rate)

    def judge(self, plan, start, shares, facts, prior):
        b = self.b
        errors: dict[str, str] = {}
        _check_needs(errors, facts, self.needs)
        event = getattr(facts, self.event_field)
        _check_filed(errors, facts, event)
        if errors:
            raise FactsError(errors)

        notes: list[Note] = []
        flags: list[str] = []
        if plan.covered(start, event, self.noun, notes):
            _waiting(start, event, self.noun, b.waiting_days, notes)
        _grade(facts.hospital_grade, b.min_hospital_grade, "费用", notes)
        if b.event == "hospital_stay":
            _stays(self.code, facts.admission_date, facts.discharge_date, prior, notes, flags)
        plan.deadline(event, facts.filed_date, self.noun, notes)
        if notes:
            return _reject(notes, flags)

        count, paid = _paid(self.code, prior)
        cost = facts.eligible_cost
        deductible = b.deductible
        if b.deductible_scope == "period" and count:
            deductible = ZERO
        if cost <= deductible:
            flags.append(FLAG_BELOW_DEDUCTIBLE)
            note = f"费用 {_yuan(cost)}元 未超过免赔额 {_yuan(deductible)}元，没有可给付的金额"
            return _reject([_note(NOT_COVERED, note)], flags)
        if deductible:
            text = (
                f"{self.label}（{_yuan(cost)}元 − 免赔额 {_yuan(deductible)}元）× {self.rate_text}%"
            )
        elif b.deductible:
            text = (
                f"{self.label} {_yuan(cost)}元 × {self.rate_text}%（本期免赔额已由此前的理赔抵扣）"
            )
        else:
            text = f"{self.label} {_yuan(cost)}元 × {self.rate_text}%"
        amount = quantize_money((cost - deductible) * b.rate)
        line = Line(text, amount)
        if amount <= 0:
            return _nothing_payable(line, flags)
        lines = [line]
        if b.period_cap is not None:
            cap = b.period_cap * shares if b.per_share else b.period_cap
            text = f"保障期累计封顶 {_yuan(cap)}元"
            if b.per_share:
                text += f"（每份 {_yuan(b.period_cap)}元 × {shares}份）"
            amount = _period_cap(amount, cap, paid, text, lines)
            if not amount:
                return _capped(lines, flags)
        return Decision("pay", amount, (), tuple(lines), tuple(flags))


_EVENT_NOUN = {
    "admission_date": "入院日期",
    "accident_date": "意外发生日期",
    "fire_date": "火灾发生日期",
}


_JUDGES: dict[str, type[_Judge]] = {
    "hospital_allowance": _Allowance,
    "critical_illness": _Illness,
    "accident": _Accident,
    "reimbursement": _Reimbursement,
}


# The JSON readers live in their own module; they are part of the engine's public API.
from plans.engine.payout_input import facts_from_json, priors_from_json  # noqa: E402,F401
