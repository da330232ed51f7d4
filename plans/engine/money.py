"""The one place that says how money is represented and rounded: Decimal yuan, two places,
half up (the catalog rounds each benefit line that way)."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def quantize_money(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(value: Decimal) -> str:
    """Money as the contracts print it: a plain string with two decimals."""
    return f"{quantize_money(value):.2f}"
