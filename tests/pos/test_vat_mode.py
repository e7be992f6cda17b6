"""VAT included in the prices or added to them (the `prices_include_vat` setting), against figures
worked by hand; orders keep the rates and the mode they were priced with."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pos.pricing import Rates, order_price
from tenants.context import tenant_context
from tenants.models import RestaurantSetting
from tenants.selectors import restaurant_settings
from tests.inventory.factories import ProductFactory
from tests.pos.helpers import place

D = Decimal
INCLUDED = Rates(D("20"), D("12.5"), prices_include_vat=True)
ADDED = Rates(D("20"), D("12.5"))


def test_the_readme_example_vat_included_with_a_discount_and_a_service_charge():
    # 2 x 6.00 = 12.00; discount 1.20: taxable 10.80, of which VAT 10.80 x 20 / 120 = 1.80;
    # before VAT 9.00, service charge 12.5 % of it = 1.125 -> 1.13; total 12.00 - 1.20 + 1.13 = 11.93
    price = order_price(lines=[(D("6.00"), 2)], rates=INCLUDED, discount_amount=D("1.20"))

    assert (price.subtotal, price.discount_amount, price.tax_amount, price.service_charge, price.total_amount) == (
        D("12.00"), D("1.20"), D("1.80"), D("1.13"), D("11.93"),
    )


def test_the_same_order_with_vat_added():
    # taxable 10.80; VAT 20 % = 2.16; service charge 12.5 % = 1.35; total 10.80 + 2.16 + 1.35 = 14.31
    price = order_price(lines=[(D("6.00"), 2)], rates=ADDED, discount_amount=D("1.20"))

    assert (price.tax_amount, price.service_charge, price.total_amount) == (D("2.16"), D("1.35"), D("14.31"))


def test_included_vat_is_rounded_once_per_order_not_per_line():
    # seven lines of 4.99: 34.93 x 20 / 120 = 5.82166.. -> 5.82 (per line it would be 7 x 0.83 = 5.81);
    # before VAT 29.11, service charge 3.63875 -> 3.64; total 34.93 + 3.64 = 38.57
    price = order_price(lines=[(D("4.99"), 1)] * 7, rates=INCLUDED, discount_amount=D("0"))

    assert (price.tax_amount, price.service_charge, price.total_amount) == (D("5.82"), D("3.64"), D("38.57"))


def test_included_vat_at_another_rate_and_no_service_charge():
    # 10.00 at 5 %: 10.00 x 5 / 105 = 0.476.. -> 0.48
    price = order_price(lines=[(D("10.00"), 1)], rates=Rates(D("5"), D("0"), True), discount_amount=D("0"))

    assert (price.tax_amount, price.service_charge, price.total_amount) == (D("0.48"), D("0.00"), D("10.00"))


@pytest.mark.django_db
def test_an_owner_turns_on_vat_included_and_the_till_prices_with_it(api, shop):
    # given
    product = ProductFactory(restaurant=shop.restaurant, price=D("6.00"))
    switched = api("restaurant_owner").patch(
        f"/api/v1/restaurants/{shop.restaurant.pk}/", {"settings": {"prices_include_vat": True}}, format="json"
    )
    assert switched.status_code == 200 and switched.json()["settings"]["prices_include_vat"] is True
    # when
    order = place(api(), [(product, 2)], discount_amount="1.20").json()
    # then
    assert (order["subtotal"], order["tax_amount"], order["service_charge"], order["total_amount"]) == (
        "12.00", "1.80", "1.13", "11.93",
    )
    assert order["prices_include_vat"] is True and order["vat_label"] == "VAT included"
    assert (order["vat_rate"], order["service_charge_rate"]) == ("20.00", "12.50")


@pytest.mark.django_db
def test_a_settings_change_never_reprices_an_order(api, shop):
    product = ProductFactory(restaurant=shop.restaurant, price=D("6.00"))
    before = place(api(), [(product, 2)], discount_amount="1.20").json()

    api("restaurant_owner").patch(
        f"/api/v1/restaurants/{shop.restaurant.pk}/",
        {"settings": {"prices_include_vat": True, "vat_rate": "5", "service_charge_rate": "0"}}, format="json",
    )
    after = api().get(f"/api/v1/orders/{before['id']}/").json()
    new = place(api(), [(product, 2)], discount_amount="1.20").json()

    assert after == before
    assert before["vat_label"] == "VAT" and before["total_amount"] == "14.31"
    assert new["vat_label"] == "VAT included" and (new["vat_rate"], new["total_amount"]) == ("5.00", "10.80")


@pytest.mark.django_db
def test_the_stored_mode_is_read_leniently_and_an_unreadable_one_is_the_default(shop):
    with tenant_context(all_tenants=True):
        RestaurantSetting.objects.create(
            restaurant=shop.restaurant, setting_key="prices_include_vat", setting_value="maybe", setting_type="boolean",
        )
        assert restaurant_settings(restaurant_id=shop.restaurant.pk).prices_include_vat is False
        RestaurantSetting.objects.filter(restaurant=shop.restaurant).update(setting_value="TRUE")
        assert restaurant_settings(restaurant_id=shop.restaurant.pk).prices_include_vat is True


@pytest.mark.django_db
def test_the_daily_report_shows_vat_included_and_vat_added_apart(api, shop):
    product = ProductFactory(restaurant=shop.restaurant, price=D("6.00"))
    client = api("manager")

    def paid_order():
        order = place(client, [(product, 2)], discount_amount="1.20").json()
        client.post(f"/api/v1/orders/{order['id']}/payments/", {"payment_method": "card", "amount": order["total_amount"]},
                    format="json")

    paid_order()
    client_owner = api("restaurant_owner")
    client_owner.patch(f"/api/v1/restaurants/{shop.restaurant.pk}/", {"settings": {"prices_include_vat": True}},
                       format="json")
    paid_order()
    paid_order()

    report = client.get("/api/v1/reports/daily/").json()

    assert report["tax_breakdown"] == {"VAT": "2.16", "VAT included": "3.60"}
    assert report["total_sales"] == "38.17"  # 14.31 + 2 x 11.93
