"""Who pays a roster's fee: the plan's subsidies first, then the unit's chosen split of the rest.

Percentages are of the part left after subsidies, as offices state their rules ("unit
administration and union funds together pay at least 70%"). Amounts are split to the cent so
that they always add up to the total exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from plans.engine.money import CENT, ZERO, quantize_money
from plans.engine.rules import PlanRules

HUNDRED = Decimal(100)
PAYER_NAMES = {"unit": "单位行政", "union": "工会经费", "member": "职工个人", "subsidy": "补贴"}


@dataclass(frozen=True)
class FundingChoice:
    mode: str | None
    percent: Mapping[str, Decimal]


class FundingError(ValueError):
    """The split breaks the plan's funding rules; ``errors`` maps a payer (or "") to a message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(errors.values()))


def funding_validate(rules: PlanRules, choice: FundingChoice) -> None:
    funding = rules.funding
    errors: dict[str, str] = {}
    unknown = set(choice.percent) - set(funding.payers)
    for payer in sorted(unknown):
        if choice.percent[payer] != 0:
            errors[payer] = f"本计划不允许由{PAYER_NAMES.get(payer, payer)}负担会费"
    for payer, value in choice.percent.items():
        if value < 0 or value > HUNDRED:
            errors[payer] = "比例应在 0 到 100 之间"
    total = sum((choice.percent.get(p, ZERO) for p in funding.payers), ZERO)
    if total != HUNDRED:
        errors[""] = f"各方负担比例合计应为 100%，现在是 {total.normalize():f}%"
    if funding.modes:
        mode = next((m for m in funding.modes if m.code == choice.mode), None)
        if mode is None:
            errors["mode"] = "请选择筹资方式"
        else:
            for payer in funding.payers:
                share = choice.percent.get(payer, ZERO)
                if payer in mode.payers and share <= 0:
                    errors[payer] = f"“{mode.label}”要求{PAYER_NAMES[payer]}负担一部分"
                if payer not in mode.payers and share != 0:
                    errors[payer] = f"“{mode.label}”中{PAYER_NAMES[payer]}不负担会费"
    for rule in funding.min_shares:
        together = sum((choice.percent.get(p, ZERO) for p in rule.payers), ZERO)
        if together < rule.min_percent:
            names = "与".join(PAYER_NAMES[p] for p in rule.payers)
            errors[""] = (
                f"{names}合计应负担至少 {rule.min_percent.normalize():f}%，"
                f"现在是 {together.normalize():f}%"
            )
    if errors:
        raise FundingError(errors)


def funding_split(
    rules: PlanRules, choice: FundingChoice, *, fee_total: Decimal, members: int
) -> dict[str, Decimal]:
    """Amounts per payer (subsidy included) that add up to ``fee_total`` exactly."""
    subsidy = min(quantize_money(rules.fees.subsidy_per_member * members), fee_total)
    rest = fee_total - subsidy
    payers = [p for p in rules.funding.payers]
    raw = {p: rest * choice.percent.get(p, ZERO) / HUNDRED for p in payers}
    amounts = {p: raw[p].quantize(CENT, rounding=ROUND_DOWN) for p in payers}
    # Hand out the cents lost to rounding down, largest remainder first, so nothing is lost.
    missing = int((rest - sum(amounts.values(), ZERO)) / CENT)
    for payer in sorted(payers, key=lambda p: raw[p] - amounts[p], reverse=True)[:missing]:
        amounts[payer] += CENT
    result = {"subsidy": subsidy} if rules.fees.subsidies else {}
    result.update(amounts)
    return result
