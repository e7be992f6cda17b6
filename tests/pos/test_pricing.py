"""pos.pricing: Decimal, half-up once per line and per total; discount before VAT and service."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pos.errors import PosError
from pos.pricing import DiscountTooLarge, Rates, order_price, restaurant_rates
from tenants.context import tenant_context
from tests.tenants.factories import RestaurantSettingFactory

D = Decimal


def test_each_line_and_each_total_is_rounded_half_up_once():
    # 3 x 0.335 = 1.005 -> 1.01 (a float would give 1.00); 20 % of 1.01 = 0.202 -> 0.20
    price = order_price(lines=[(D("0.335"), 3)], rates=Rates(D("20"), D("12.5")), discount_amount=D("0"))

    assert price.lines[0].total_price == D("1.01")
    assert (price.subtotal, price.tax_amount, price.service_charge, price.total_amount) == (
        D("1.01"), D("0.20"), D("0.13"), D("1.34"),
    )


def test_the_total_reconciles_exactly_with_a_discount():
    price = order_price(
        lines=[(D("4.99"), 3), (D("0.10"), 7)], rates=Rates(D("20"), D("12.5")), discount_amount=D("2.37")
    )

    assert price.subtotal == D("15.67")
    taxable = D("15.67") - D("2.37")
    assert price.tax_amount == D("2.66")  # 13.30 x 20 %
    assert price.service_charge == D("1.66")  # 13.30 x 12.5 % = 1.6625
    assert price.total_amount == price.subtotal + price.tax_amount + price.service_charge - price.discount_amount
    assert price.total_amount == taxable + D("2.66") + D("1.66")


def test_a_discount_above_the_subtotal_is_refused():
    with pytest.raises(DiscountTooLarge):
        order_price(lines=[(D("1.00"), 1)], rates=Rates(), discount_amount=D("1.01"))


def test_the_defaults_are_the_guides():
    assert Rates() == Rates(D("20.00"), D("12.50"))


@pytest.mark.django_db
def test_the_restaurants_settings_override_the_defaults(restaurant):
    RestaurantSettingFactory(restaurant=restaurant, setting_key="service_charge_rate", setting_value="10%")

    with tenant_context(restaurant=restaurant):
        assert restaurant_rates(restaurant_id=restaurant.pk) == Rates(D("20.00"), D("10"))


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["abc", "-1", "101", "NaN"])
def test_an_impossible_rate_is_an_error_not_a_charge(restaurant, value):
    RestaurantSettingFactory(restaurant=restaurant, setting_key="vat_rate", setting_value=value)

    with tenant_context(restaurant=restaurant), pytest.raises(PosError) as caught:
        restaurant_rates(restaurant_id=restaurant.pk)

    assert caught.value.code == "invalid_restaurant_setting"
