"""An order's price, computed by the server from the products' prices and the restaurant's rates.

Rules (Decimal throughout, ROUND_HALF_UP via fynlo.core.money):

- each line: `unit_price = product price + sum(option price change x option quantity)` (exact:
  two places in, two out) and `total_price = quantize(unit_price * quantity)`, rounded once;
- `subtotal` = the sum of the lines;
- the discount comes off before VAT and service charge: the taxable amount is
  `subtotal - discount_amount` (a discount given at the till lowers the amount VAT is due on);
- prices without VAT (the default, the guide's arithmetic): `tax_amount` is `vat_rate` % of the
  taxable amount and the service charge `service_charge_rate` % of it, each rounded once, and
  `total_amount = subtotal - discount_amount + tax_amount + service_charge`;
- prices with VAT included (the `prices_include_vat` setting): the VAT is the part of the
  taxable amount `taxable x rate / (100 + rate)`, rounded once per order, the service charge is
  `service_charge_rate` % of the amount before VAT (`taxable - tax_amount`), rounded once, and
  `total_amount = subtotal - discount_amount + service_charge`.

Either way the service charge is on the amount before VAT, and every amount reconciles exactly.
The rates are the restaurant's `vat_rate` and `service_charge_rate` settings (percent,
"20.00" is 20 %), else the guide's defaults: 20 % and 12.5 %, as tenants.selectors reads them
for the restaurants API too; a stored rate it cannot read stops the till (409) instead of
being guessed. An order keeps the rates and the mode it was priced with (`order_rates`), so a
later change of the settings re-prices no order, not even an open one that is edited.
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
    prices_include_vat: bool = False


VAT_INCLUDED = "VAT included"
VAT_ADDED = "VAT"


def vat_label(prices_include_vat: bool) -> str:
    """How receipts and reports name an order's VAT: "VAT included" or "VAT"."""
    return VAT_INCLUDED if prices_include_vat else VAT_ADDED


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
    rates: Rates

    def order_fields(self) -> dict:
        """The order's stored totals, the rates and mode it was priced with, and its
        `items_count`: the guide's count of line items, not the sum of their quantities."""
        return {
            "vat_rate": self.rates.vat_rate,
            "service_charge_rate": self.rates.service_charge_rate,
            "prices_include_vat": self.rates.prices_include_vat,
            "subtotal": self.subtotal,
            "discount_amount": self.discount_amount,
            "tax_amount": self.tax_amount,
            "service_charge": self.service_charge,
            "total_amount": self.total_amount,
            "items_count": len(self.lines),
        }


class DiscountTooLarge(ValueError):
    """The discount is more than the items cost."""


def unit_price(*, base: Decimal, modifiers: Iterable[tuple[Decimal, int]] = ()) -> Decimal:
    """A line's unit price: the product's price plus each modifier's (price change, quantity)."""
    return Decimal(base) + sum((Decimal(price) * quantity for price, quantity in modifiers), Decimal("0"))


def order_price(*, lines: Iterable[tuple[Decimal, int]], rates: Rates, discount_amount: Decimal) -> OrderPrice:
    """Price (unit price, quantity) lines with the rates and a discount; DiscountTooLarge if it exceeds the subtotal."""
    priced = tuple(PricedLine(unit, quantity, quantize(unit * quantity)) for unit, quantity in lines)
    subtotal = quantize(sum((line.total_price for line in priced), Decimal("0")))
    discount = quantize(discount_amount)
    if discount > subtotal:
        raise DiscountTooLarge(f"the discount {discount} is more than the subtotal {subtotal}")
    taxable = subtotal - discount
    if rates.prices_include_vat:
        tax = quantize(taxable * rates.vat_rate / (100 + rates.vat_rate))
        service = percent_of(taxable - tax, rates.service_charge_rate)
        total = taxable + service
    else:
        tax = percent_of(taxable, rates.vat_rate)
        service = percent_of(taxable, rates.service_charge_rate)
        total = taxable + tax + service
    return OrderPrice(
        lines=priced,
        subtotal=subtotal,
        discount_amount=discount,
        tax_amount=tax,
        service_charge=service,
        total_amount=total,
        rates=rates,
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
    return Rates(
        vat_rate=settings.vat_rate,
        service_charge_rate=settings.service_charge_rate,
        prices_include_vat=settings.prices_include_vat,
    )


def order_rates(order) -> Rates:
    """The rates and mode an order was priced with; the restaurant's for an order that kept none
    (one from before orders kept them)."""
    if order.vat_rate is None or order.service_charge_rate is None:
        return restaurant_rates(restaurant_id=order.restaurant_id)
    return Rates(
        vat_rate=order.vat_rate,
        service_charge_rate=order.service_charge_rate,
        prices_include_vat=order.prices_include_vat,
    )
