"""The four kinds of benefit: how a hospital allowance, a critical illness, an accident and a
reimbursement each judge a claim. ``_JUDGES`` maps a benefit type of the rules to its judge;
``plans.engine.payout`` compiles a plan's benefits with it. The checks they share are in
``plans.engine.payout_judge``; how a decision is reached is told in ``plans.engine.payout``.
No Django.

Choices the catalog leaves open (documented here and tested)
-----------------------------------------------------------
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

from plans.engine.money import ZERO, quantize_money
from plans.engine.payout_judge import (
    Note,
    _capped,
    _check_filed,
    _check_needs,
    _grade,
    _Judge,
    _note,
    _nothing_payable,
    _paid,
    _percent,
    _period_cap,
    _reject,
    _same_event,
    _shares_text,
    _stays,
    _waiting,
    _yuan,
)
from plans.engine.payout_terms import (
    _LOCALITY_NAME,
    _MISSING,
    _REIMBURSEMENT_EVENT_FIELD,
    ALREADY_PAID,
    COUNT_EXCEEDED,
    FLAG_BELOW_DEDUCTIBLE,
    FLAG_WORK_INJURY,
    NOT_COVERED,
    STAY_TOO_SHORT,
    WAITING_PERIOD,
    Decision,
    FactsError,
    Line,
    _needs,
)
from plans.engine.rules import Accident, CriticalIllness, HospitalAllowance, Reimbursement

# --- the four kinds of benefit -----------------------------------------------------------------


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
        flags: list[str] = []
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
        _same_event(self.code, diagnosis, "确诊日期", prior, notes, flags)
        plan.deadline(diagnosis, facts.filed_date, "确诊日期", notes)
        if notes:
            return _reject(notes, flags)

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
        _same_event(self.code, accident, "意外发生日期", prior, notes, flags)
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
                if p.benefit == self.code and not p.other_cover:
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
        else:
            _same_event(self.code, event, self.noun, prior, notes, flags)
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
