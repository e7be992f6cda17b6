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
"20.00" is 20 %), else the guide's defaults: 20 % and 12.5 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Iterable

from fynlo.core.money import percent_of, quantize
from pos.errors import PosError
from tenants.models import RestaurantSetting

DEFAULT_VAT_RATE = Decimal("20.00")
DEFAULT_SERVICE_CHARGE_RATE = Decimal("12.50")
VAT_RATE_SETTING = "vat_rate"
SERVICE_CHARGE_RATE_SETTING = "service_charge_rate"


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
    """The restaurant's VAT and service charge rates (its settings, else the defaults)."""
    values = dict(
        RestaurantSetting.objects.filter(
            restaurant_id=restaurant_id, setting_key__in=[VAT_RATE_SETTING, SERVICE_CHARGE_RATE_SETTING]
        ).values_list("setting_key", "setting_value")
    )
    return Rates(
        vat_rate=_rate(values, VAT_RATE_SETTING, DEFAULT_VAT_RATE),
        service_charge_rate=_rate(values, SERVICE_CHARGE_RATE_SETTING, DEFAULT_SERVICE_CHARGE_RATE),
    )


def _rate(values: dict, key: str, default: Decimal) -> Decimal:
    raw = values.get(key)
    if raw is None or not raw.strip():
        return default
    try:
        rate = Decimal(raw.strip().rstrip("%"))
    except InvalidOperation:
        rate = None
    if rate is None or not rate.is_finite() or not 0 <= rate <= 100:
        # A wrong tax rate must stop the till, not be charged: the owner fixes the setting.
        raise PosError(
            "invalid_restaurant_setting",
            f"The restaurant setting {key} is {raw!r}; it must be a percentage between 0 and 100.",
            status=409,
        )
    return rate
