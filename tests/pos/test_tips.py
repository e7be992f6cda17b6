"""Tips: recorded on the payment, never part of the order's total nor of what pays it off, no
commission on them, refunded only when a refund asks for them; the daily report and the admin
show them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from billing.models import CommissionRecord
from pos.models import Payment
from tenants.context import tenant_context
from tests.inventory.factories import ProductFactory
from tests.pos.helpers import place
from tests.staff.factories import EmployeeFactory
from tests.tenants.factories import UserFactory

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def order(api, shop):
    """An order of 16.56 (12.50, VAT 2.50, service charge 1.56)."""
    product = ProductFactory(restaurant=shop.restaurant, price=D("12.50"))
    return place(api("manager"), [(product, 1)]).json()


def pay(client, order, **body):
    return client.post(f"/api/v1/orders/{order['id']}/payments/", body, format="json")


def test_a_card_tip_is_on_the_payment_not_in_the_total_and_carries_no_commission(api, order):
    response = pay(api("cashier"), order, payment_method="card", amount="16.56", tip_amount="2.50")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["payment"]["amount"], body["payment"]["tip_amount"]) == ("16.56", "2.50")
    # 8 % of 16.56, nothing of the tip
    assert body["payment"]["commission_amount"] == "1.32"
    assert body["order"]["total_amount"] == "16.56" and body["order"]["status"] == "completed"
    detail = api().get(f"/api/v1/orders/{order['id']}/").json()
    assert (detail["total_amount"], detail["amount_paid"], detail["tips"]) == ("16.56", "16.56", "2.50")
    with tenant_context(all_tenants=True):
        assert list(CommissionRecord.objects.values_list("gross_amount", "commission_amount")) == [(D("16.56"), D("1.32"))]


def test_a_tip_does_not_pay_the_order_off(api, order):
    response = pay(api("cashier"), order, payment_method="card", amount="10.00", tip_amount="6.56")

    assert response.json()["order"]["status"] == "confirmed"
    assert response.json()["order"]["amount_due"] == "6.56"


def test_cash_tip_comes_out_of_what_was_tendered(api, order):
    response = pay(api("cashier"), order, payment_method="cash", amount="16.56", tip_amount="2.00", tendered="20.00")

    assert response.status_code == 201, response.content
    assert (response.json()["change"], response.json()["payment"]["tip_amount"]) == ("1.44", "2.00")


def test_cash_tendered_must_cover_the_amount_and_the_tip(api, order):
    response = pay(api("cashier"), order, payment_method="cash", amount="16.56", tip_amount="5.00", tendered="20.00")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["tendered"]


def test_a_negative_tip_is_refused(api, order):
    response = pay(api("cashier"), order, payment_method="card", amount="16.56", tip_amount="-1.00")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["tip_amount"]
    with tenant_context(all_tenants=True):
        assert not Payment.objects.exists()


def test_a_tip_is_refunded_only_when_a_refund_names_it(api, order):
    payment = pay(api("cashier"), order, payment_method="card", amount="16.56", tip_amount="2.50").json()["payment"]
    manager = api("manager")
    refunds = f"/api/v1/payments/{payment['id']}/refunds/"

    whole = manager.post(refunds, {"amount": "16.56"}, format="json")
    assert whole.status_code == 201 and whole.json()["tip_amount"] == "0.00"
    assert api().get(f"/api/v1/orders/{order['id']}/").json()["tips"] == "2.50"
    too_much = manager.post(refunds, {"amount": "0.00", "tip_amount": "2.51"}, format="json")
    assert too_much.status_code == 409 and list(too_much.json()["error"]["fields"]) == ["tip_amount"]
    tip = manager.post(refunds, {"amount": "0.00", "tip_amount": "2.50"}, format="json")
    assert tip.status_code == 201, tip.content

    detail = api().get(f"/api/v1/orders/{order['id']}/").json()
    assert (detail["tips"], detail["amount_refunded"]) == ("0.00", "16.56")
    assert detail["payments"][0]["status"] == "refunded"
    nothing = manager.post(refunds, {"amount": "0.00"}, format="json")
    assert nothing.status_code == 400 and list(nothing.json()["error"]["fields"]) == ["amount"]


def test_the_daily_report_shows_tips_by_method_and_by_who_served(api, shop):
    product = ProductFactory(restaurant=shop.restaurant, price=D("10.00"))
    waiter = EmployeeFactory(restaurant=shop.restaurant, user=shop["server"])
    till = EmployeeFactory(restaurant=shop.restaurant, user=shop["cashier"])
    served = place(api("server"), [(product, 1)]).json()  # served by the server
    rung_up = place(api("cashier"), [(product, 1)]).json()  # served by the cashier
    manager = api("manager")
    pay(manager, served, payment_method="card", amount="7.00", tip_amount="1.00")
    pay(manager, served, payment_method="cash", amount="6.25", tip_amount="2.00")
    paid = pay(manager, rung_up, payment_method="card", amount="13.25", tip_amount="3.00").json()
    manager.post(f"/api/v1/payments/{paid['payment']['id']}/refunds/", {"amount": "0.00", "tip_amount": "0.50"},
                 format="json")

    report = manager.get("/api/v1/reports/daily/").json()

    assert report["total_sales"] == "26.50"  # tips are not sales
    assert report["tips"]["total"] == "5.50"
    assert report["tips"]["by_method"] == {"card": "3.50", "cash": "2.00"}
    assert [(e["employee_id"], e["tips"]) for e in report["tips"]["by_employee"]] == [
        (waiter.pk, "3.00"), (till.pk, "2.50"),
    ]
    assert (served["served_by_id"], rung_up["served_by_id"]) == (waiter.pk, till.pk)
    assert report["tips"]["by_employee"][0]["name"] == f"{shop['server'].first_name} {shop['server'].last_name}"


def test_the_admin_shows_tips_per_restaurant(api, order, shop, rival, settings):
    settings.SECURE_SSL_REDIRECT = False
    pay(api("cashier"), order, payment_method="card", amount="16.56", tip_amount="2.50")
    client = Client()
    client.force_login(UserFactory(restaurant=None, platform=None, role="platform_owner", is_superuser=True))

    page = client.get("/admin/pos/payment/")

    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="tips-per-restaurant"' in html
    assert f"<td>{shop.restaurant.name}</td><td>2.50</td>" in html
    assert rival.restaurant.name not in html.split('id="tips-per-restaurant"')[1].split("</table>")[0]
