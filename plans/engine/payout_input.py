"""Reading claim facts and earlier payouts from JSON, for ``quote_claim``, the web form and
stored claims. Split from ``plans.engine.payout`` (which re-exports both readers) to keep each
module readable; no Django here either. The terms it shares with the judges (``ClaimFacts``,
``FactsError``, the facts each benefit needs...) come from ``plans.engine.payout_terms``, so
this module imports neither ``plans.engine.payout`` nor the judges."""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from plans.engine.money import CENT, quantize_money
from plans.engine.payout_terms import (
    _EVENT_FIELD,
    _LOCALITY_NAME,
    _MISSING,
    _NEEDS_BY_CODE,
    _REIMBURSEMENT_EVENT_FIELD,
    BENEFIT_CODES,
    ClaimFacts,
    FactsError,
    PriorPayout,
    _needs,
)
from plans.engine.rules import (
    MONEY_MAX,
    Benefit,
    PlanRules,
    Reimbursement,
)

# --- reading facts from JSON (quote_claim, the web form, stored claims) ------------------------

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PLAIN_NUMBER = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_TRUE = ("true", "1", "yes", "是")
_FALSE = ("false", "0", "no", "否", "")


def _date(value: Any, key: str, errors: dict[str, str]) -> datetime.date | None:
    if value is None:
        return None
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    errors[key] = "应为日期，写作 YYYY-MM-DD，例如 2024-03-01"
    return None


def _integer(value: Any, key: str, errors: dict[str, str], low: int, high: int) -> int | None:
    if value is None:
        return None
    number: int | None = None
    if type(value) is int:
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    if number is None or not low <= number <= high:
        errors[key] = f"应为 {low} 至 {high} 的整数"
        return None
    return number


def _boolean(value: Any, key: str, errors: dict[str, str]) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    errors[key] = "应为 true 或 false"
    return False


def _money(value: Any, key: str, errors: dict[str, str]) -> Decimal | None:
    # Floats are refused: money must be exact (quote_claim reads JSON numbers as Decimal).
    if value is None:
        return None
    number: Decimal | None = None
    if isinstance(value, Decimal):
        number = value if value.is_finite() else None
    elif type(value) is int:
        number = Decimal(value)
    elif isinstance(value, str) and _PLAIN_NUMBER.match(value.strip()):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            number = None
    if number is None:
        errors[key] = '应为金额，例如 "1500.00"'
        return None
    if number < 0:
        errors[key] = "不能为负数"
        return None
    if number > MONEY_MAX:
        errors[key] = f"不能大于 {MONEY_MAX}"
        return None
    if number != number.quantize(CENT):
        errors[key] = "金额最多两位小数"
        return None
    return quantize_money(number)


def _choice(value: Any, key: str, errors: dict[str, str], allowed: dict[str, str]) -> str | None:
    if value is None:
        return None
    if value in allowed:
        return value
    errors[key] = "应为 " + " 或 ".join(f"{code}（{name}）" for code, name in allowed.items())
    return None


def facts_from_json(
    data: Mapping[str, Any],
    *,
    today: datetime.date | None = None,
    rules: PlanRules | None = None,
) -> ClaimFacts:
    """Read the facts of a claim (CONTRACTS §4 field names) and check them as far as they can be
    checked without a decision: formats and ranges, and the fields the benefit needs (by the
    plan's own rules when ``rules`` is given, else by the shipped vocabulary). ``filed_date``
    defaults to ``today``. Keys it does not read are ignored. Raises FactsError."""
    if not isinstance(data, Mapping):
        raise FactsError({"benefit": "输入应为一个 JSON 对象"})
    errors: dict[str, str] = {}
    benefit = data.get("benefit")
    if not isinstance(benefit, str) or not benefit.strip():
        errors["benefit"] = _MISSING if benefit in (None, "") else "应为保障项目代码（文字）"
        benefit = ""
    benefit = benefit.strip()
    plan_benefit = rules.benefit(benefit) if rules is not None and benefit else None
    if rules is not None and benefit and plan_benefit is None and benefit not in BENEFIT_CODES:
        known = [b.code for b in rules.benefits]
        known += [code for code in BENEFIT_CODES if code not in known]
        errors["benefit"] = f"不认识的保障项目“{benefit}”，应为以下之一：{'、'.join(known)}"

    filed = _date(data.get("filed_date"), "filed_date", errors)
    if filed is None and data.get("filed_date") is None:
        filed = today or datetime.date.today()
    facts = ClaimFacts(
        benefit=benefit,
        filed_date=filed,
        admission_date=_date(data.get("admission_date"), "admission_date", errors),
        discharge_date=_date(data.get("discharge_date"), "discharge_date", errors),
        hospital_locality=_choice(
            data.get("hospital_locality"), "hospital_locality", errors, _LOCALITY_NAME
        ),
        hospital_grade=_integer(data.get("hospital_grade"), "hospital_grade", errors, 1, 3),
        diagnosis_date=_date(data.get("diagnosis_date"), "diagnosis_date", errors),
        accident_date=_date(data.get("accident_date"), "accident_date", errors),
        outcome=_choice(
            data.get("outcome"), "outcome", errors, {"death": "身故", "disability": "伤残"}
        ),
        disability_grade=_integer(data.get("disability_grade"), "disability_grade", errors, 1, 10),
        during_hospital_stay=_boolean(
            data.get("during_hospital_stay"), "during_hospital_stay", errors
        ),
        eligible_cost=_money(data.get("eligible_cost"), "eligible_cost", errors),
        fire_date=_date(data.get("fire_date"), "fire_date", errors),
        work_injury=_boolean(data.get("work_injury"), "work_injury", errors),
    )
    # A code the plan lacks is decided (benefit_not_in_plan) whatever its facts, so only a code
    # judged by the plan, or by the vocabulary when no plan is given, needs its fields.
    if plan_benefit is not None:
        needs = _needs(plan_benefit)
    else:
        needs = () if rules is not None else _NEEDS_BY_CODE.get(benefit, ())
    for name in needs:
        if name not in errors and data.get(name) is None:
            errors[name] = _MISSING
    if facts.outcome == "disability" and facts.disability_grade is None:
        errors.setdefault("disability_grade", "伤残时必填")
    admission, discharge = facts.admission_date, facts.discharge_date
    if admission and discharge and discharge < admission:
        errors.setdefault("discharge_date", "出院日期不能早于入院日期")
    event = facts.event_date if plan_benefit is None else _event_of(plan_benefit, facts)
    if "filed_date" not in errors and filed is not None and event is not None and filed < event:
        errors["filed_date"] = "申请日期不能早于出险日期"
    if errors:
        raise FactsError(errors)
    return facts


def _event_of(benefit: Benefit, facts: ClaimFacts) -> datetime.date | None:
    if isinstance(benefit, Reimbursement):
        return getattr(facts, _REIMBURSEMENT_EVENT_FIELD[benefit.event])
    return getattr(facts, _EVENT_FIELD[benefit.type])


def priors_from_json(items: Any) -> tuple[PriorPayout, ...]:
    """Read ``prior_payouts`` (a list of objects; None means none). Errors are keyed by the
    item's path, e.g. ``prior_payouts[0].amount``. Raises FactsError."""
    if items is None:
        return ()
    if not isinstance(items, list):
        raise FactsError({"prior_payouts": "应为列表"})
    errors: dict[str, str] = {}
    result: list[PriorPayout] = []
    for index, item in enumerate(items):
        where = f"prior_payouts[{index}]"
        if not isinstance(item, Mapping):
            errors[where] = "应为一个对象"
            continue
        found: dict[str, str] = {}
        benefit = item.get("benefit")
        if not isinstance(benefit, str) or not benefit.strip():
            found["benefit"] = _MISSING
        amount = _money(item.get("amount"), "amount", found)
        if item.get("amount") is None:
            found["amount"] = _MISSING
        event = _date(item.get("event_date"), "event_date", found)
        if item.get("event_date") is None:
            found["event_date"] = _MISSING
        admission = _date(item.get("admission_date"), "admission_date", found)
        discharge = _date(item.get("discharge_date"), "discharge_date", found)
        if admission and discharge and discharge < admission:
            found["discharge_date"] = "出院日期不能早于入院日期"
        base = _money(item.get("applied_base"), "applied_base", found)
        if found:
            errors.update({f"{where}.{key}": message for key, message in found.items()})
            continue
        result.append(
            PriorPayout(
                benefit=benefit.strip(),
                amount=amount,
                event_date=event,
                admission_date=admission,
                discharge_date=discharge,
                applied_base=base,
            )
        )
    if errors:
        raise FactsError(errors)
    return tuple(result)
