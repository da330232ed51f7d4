"""The common base of the payout judges: coverage and filing-deadline dates, the checks that
every kind of benefit shares (coverage period, waiting period, hospital grade, prior stays and
payouts, period caps), how a rejection is put together, and the ``_Judge`` base class.

The four kinds of benefit are in ``plans.engine.payout_benefits``; ``plans.engine.payout``
compiles a plan's judges and holds ``decide`` (see its docstring for how a decision is
reached). No Django.

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
* Payouts on another enrollment of the same member in the same plan (``other_cover``: cover that
  overlaps this one, e.g. two rosters of two units) count for no cap or count, but one event is
  paid once whatever cover it is claimed on: the same benefit for a stay that is the same as or
  shares more than a transfer day with a stay paid on other cover, or, for a benefit without a
  stay, for the same event day, is ``benefit_already_paid`` with the flag
  ``paid_on_other_cover``. Staff who pay it anyway depart from the proposal and must say why.
"""

from __future__ import annotations

import abc
import datetime
from collections.abc import Iterable, Sequence
from decimal import Decimal
from functools import lru_cache

from plans.engine.money import ZERO, quantize_money
from plans.engine.payout_terms import (
    _GRADE_NAME,
    _MISSING,
    _REASON_ORDER,
    ALREADY_PAID,
    CAP_REACHED,
    DEADLINE_PASSED,
    FLAG_DUPLICATE,
    FLAG_NOTHING_PAYABLE,
    FLAG_OTHER_COVER,
    FLAG_OVERLAP,
    GRADE_TOO_LOW,
    NOT_COVERED,
    OUTCOMES,
    WAITING_PERIOD,
    ClaimFacts,
    Decision,
    Line,
    PriorPayout,
)
from plans.engine.rules import LOCALITIES, Benefit, PlanRules

# --- dates -------------------------------------------------------------------------------------


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


class _PlanPeriod:
    """The plan's coverage period and filing deadline, which every judge checks.
    ``plans.engine.payout._Plan`` adds the plan's benefits and ``decide``."""

    __slots__ = ("deadline_months", "months")

    def __init__(self, rules: PlanRules):
        self.months = rules.coverage_months
        self.deadline_months = rules.filing_deadline_months

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
    benefit, and stays already paid on other cover (rejected). Stays that only touch (discharge
    and the next admission on one day) are a transfer, not an overlap."""
    for p in prior:
        if p.other_cover:
            if _repeats(p, code, admission, admission, discharge):
                _paid_on_other_cover(p, f"同一次住院（{admission} 至 {discharge}）", notes, flags)
            continue
        if p.benefit != code or p.admission_date is None or p.discharge_date is None:
            continue
        if p.admission_date == admission and p.discharge_date == discharge:
            if FLAG_DUPLICATE not in flags:
                flags.append(FLAG_DUPLICATE)
                notes.append(
                    _note(ALREADY_PAID, f"同一次住院（{admission} 至 {discharge}）已经给付过")
                )
        elif FLAG_OVERLAP not in flags and _overlap(
            p.admission_date, p.discharge_date, admission, discharge
        ):
            flags.append(FLAG_OVERLAP)


def _same_event(
    code: str,
    event: datetime.date,
    noun: str,
    prior: Sequence[PriorPayout],
    notes: list[Note],
    flags: list[str],
) -> None:
    """A benefit without a stay already paid for the same event day on other cover (rejected)."""
    for p in prior:
        if p.other_cover and _repeats(p, code, event, None, None):
            _paid_on_other_cover(p, f"同一事件（{noun} {event}）", notes, flags)


def _paid_on_other_cover(p: PriorPayout, what: str, notes: list[Note], flags: list[str]) -> None:
    if FLAG_OTHER_COVER in flags:
        return
    flags.append(FLAG_OTHER_COVER)
    notes.append(
        _note(
            ALREADY_PAID,
            f"{what}已在该会员同一计划的另一份参保上给付 {_yuan(p.amount)}元，不能重复给付",
        )
    )


def _overlap(a1: datetime.date, d1: datetime.date, a2: datetime.date, d2: datetime.date) -> bool:
    """Two stays share more than a transfer day (or are one and the same)."""
    return (a1 == a2 and d1 == d2) or (a1 < d2 and a2 < d1)


def _repeats(
    p: PriorPayout,
    code: str,
    event: datetime.date | None,
    admission: datetime.date | None,
    discharge: datetime.date | None,
) -> bool:
    """Whether a claim of benefit ``code`` would pay ``p``'s event again: on any cover the same
    stay; on other cover also an overlapping stay, or the same event day where there is no stay."""
    if p.benefit != code:
        return False
    stay = admission is not None and discharge is not None
    if stay and p.admission_date is not None and p.discharge_date is not None:
        if p.admission_date == admission and p.discharge_date == discharge:
            return True
        return p.other_cover and _overlap(p.admission_date, p.discharge_date, admission, discharge)
    return p.other_cover and event is not None and p.event_date == event


def repeat_of(
    benefit: str,
    event: datetime.date | None,
    admission: datetime.date | None,
    discharge: datetime.date | None,
    prior: Sequence[PriorPayout],
) -> PriorPayout | None:
    """The earlier payout that a claim of ``benefit`` for this event (and stay, if it is one)
    would pay again, if any (see the module's notes on duplicate stays and other cover). Callers
    use it to stop an approval that a proposal made before the earlier payout could not know
    of."""
    for p in prior:
        if _repeats(p, benefit, event, admission, discharge):
            return p
    return None


def _paid(code: str, prior: Sequence[PriorPayout]) -> tuple[int, Decimal]:
    """How many prior payouts of this benefit on this cover paid something, and their total."""
    count = 0
    total = ZERO
    for p in prior:
        if p.benefit == code and p.amount > 0 and not p.other_cover:
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


# --- the base of the four kinds of benefit ------------------------------------------------------


class _Judge(abc.ABC):
    """One kind of benefit's rules; each kind (``plans.engine.payout_benefits``) says how it
    judges a claim."""

    __slots__ = ("code", "label")

    def __init__(self, benefit: Benefit):
        self.code = benefit.code
        self.label = benefit.label

    @abc.abstractmethod
    def judge(
        self,
        plan: _PlanPeriod,
        start: datetime.date,
        shares: int,
        facts: ClaimFacts,
        prior: Sequence[PriorPayout],
    ) -> Decision: ...
