"""An order's price, computed by the server from the products' prices and the restaurant's rates.

Rules (Decimal throughout, ROUND_HALF_UP via fynlo.core.money):

- each line: `total_price = quantize(unit_price * quantity)`;
- `subtotal` = the sum of the lines;
- the discount comes off before VAT and service charge: both are a percentage of
  `subtotal - discount_amount`, each rounded once (a discount given at the till lowers the
  amount VAT is due on, and the service charge is on what the guest actually pays for);
- `total_amount = subtotal - discount_amount + tax_amount + service_charge`, exactly, so that
  "items plus VAT plus service charge minus discount" always reconciles.

The rates are the restaurant's `vat_rate` and `service_charge_rate` settings (percent,
"20.00" is 20 %), else the guide's defaults: 20 % and 12.5 %, as tenants.selectors reads them
for the restaurants API too; a stored rate it cannot read stops the till (409) instead of
being guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable

from fynlo.core.money import percent_of, quantize
from pos.errors import PosError
from tenants.selectors import DEFAULT_SERVICE_CHARGE_RATE, DEFAULT_VAT_RATE, RATE_KEYS, restaurant_settings


@dataclass(frozen=True)
class Rates:
    vat_rate: Decimal = DEFAULT_VAT_RATE
    service_charge_rate: Decimal = DEFAULT_SERVICE_CHARGE_RATE


@dataclass(frozen=True)
class PricedLine:
    unit_price: Decimal
    quantity: int
    total_price: Decimal


@dataclass(frozen=True)
class OrderPrice:
    lines: tuple[PricedLine, ...]
    subtotal: Decimal
    discount_amount: Decimal
    tax_amount: Decimal
    service_charge: Decimal
    total_amount: Decimal

    def order_fields(self) -> dict:
        """The order's stored totals, and its `items_count`: the guide's count of line items,
        not the sum of their quantities."""
        return {
            "subtotal": self.subtotal,
            "discount_amount": self.discount_amount,
            "tax_amount": self.tax_amount,
            "service_charge": self.service_charge,
            "total_amount": self.total_amount,
            "items_count": len(self.lines),
        }


class DiscountTooLarge(ValueError):
    """The discount is more than the items cost."""


def order_price(*, lines: Iterable[tuple[Decimal, int]], rates: Rates, discount_amount: Decimal) -> OrderPrice:
    """Price (unit price, quantity) lines with the rates and a discount; DiscountTooLarge if it exceeds the subtotal."""
    priced = tuple(PricedLine(unit, quantity, quantize(unit * quantity)) for unit, quantity in lines)
    subtotal = quantize(sum((line.total_price for line in priced), Decimal("0")))
    discount = quantize(discount_amount)
    if discount > subtotal:
        raise DiscountTooLarge(f"the discount {discount} is more than the subtotal {subtotal}")
    taxable = subtotal - discount
    tax = percent_of(taxable, rates.vat_rate)
    service = percent_of(taxable, rates.service_charge_rate)
    return OrderPrice(
        lines=priced,
        subtotal=subtotal,
        discount_amount=discount,
        tax_amount=tax,
        service_charge=service,
        total_amount=subtotal - discount + tax + service,
    )


def restaurant_rates(*, restaurant_id: int) -> Rates:
    """The restaurant's VAT and service charge rates (its settings, else the defaults); 409 when
    one is stored but unreadable: a wrong tax rate must stop the till, not be charged."""
    settings = restaurant_settings(restaurant_id=restaurant_id)
    for key in RATE_KEYS:
        if key in settings.unreadable:
            raise PosError(
                "invalid_restaurant_setting",
                f"The restaurant setting {key} is {settings.unreadable[key]!r}; "
                "it must be a percentage between 0 and 100.",
                status=409,
            )
    return Rates(vat_rate=settings.vat_rate, service_charge_rate=settings.service_charge_rate)
