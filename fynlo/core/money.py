"""Money is Decimal with two places, rounded ROUND_HALF_UP once per line and per total."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

PENNY = Decimal("0.01")
ZERO = Decimal("0.00")


def quantize(value: Decimal | int | str) -> Decimal:
    """Round a money amount to pennies, half up."""
    if isinstance(value, float):
        raise TypeError("money must not be a float; pass a Decimal or a string")
    return Decimal(value).quantize(PENNY, rounding=ROUND_HALF_UP)


def percent_of(amount: Decimal, rate_percent: Decimal) -> Decimal:
    """`rate_percent` % of `amount`, rounded to pennies (20.00 means 20 %)."""
    return quantize(Decimal(amount) * Decimal(rate_percent) / Decimal(100))


def money_text(value: Decimal | int | str) -> str:
    """A money amount as the API writes it: "12.50" (rounded half up, no exponent)."""
    return f"{quantize(value):f}"
