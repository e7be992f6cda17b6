"""POST /api/v1/orders/{id}/payments/ and /api/v1/payments/{id}/refunds/."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.models import CommissionRecord
from pos.models import Payment, PaymentStatus, Refund
from tenants.context import tenant_context
from tests.billing.factories import RestaurantSubscriptionFactory, SubscriptionPlanFactory
from tests.inventory.factories import InventoryItemFactory, ProductFactory
from tests.pos.helpers import place, stock_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(shop, api):
    """Two tacos: 7.00 + VAT 1.40 + service 0.88 = 9.28."""
    taco = ProductFactory(restaurant=shop.restaurant, name="Taco", price=Decimal("3.50"))
    body = place(api(), [(taco, 2)]).json()
    assert body["total_amount"] == "9.28"
    return body


def pay(client, order_id, **body):
    return client.post(f"/api/v1/orders/{order_id}/payments/", body, format="json")


def refund(client, payment_id, **body):
    return client.post(f"/api/v1/payments/{payment_id}/refunds/", body, format="json")


def test_a_card_payment_of_the_total_completes_the_order(api, shop, order):
    response = pay(api(), order["id"], payment_method="card", amount="9.28", transaction_id="SUMUP-1")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["payment"]["amount"] == "9.28"
    assert body["payment"]["restaurant_id"] == shop.restaurant.pk
    assert body["payment"]["status"] == "completed"
    assert body["payment"]["transaction_id"] == "SUMUP-1"
    # a basic restaurant without subscription or plan: the guide's 8 %
    assert (body["payment"]["commission_rate"], body["payment"]["commission_amount"]) == ("8.00", "0.74")
    assert (body["change"], body["tendered"]) == ("0.00", None)
    assert body["order"] == {
        "id": order["id"], "restaurant_id": shop.restaurant.pk, "order_number": order["order_number"],
        "status": "completed", "version": 2,
        "total_amount": "9.28", "amount_paid": "9.28", "amount_due": "0.00",
    }
    with tenant_context(all_tenants=True):
        record = CommissionRecord.objects.get(order_id=order["id"])
    assert (record.platform_id, record.restaurant_id) == (shop.restaurant.platform_id, shop.restaurant.pk)
    assert (record.gross_amount, record.commission_rate, record.commission_amount) == (
        Decimal("9.28"), Decimal("8.00"), Decimal("0.74"),
    )


def test_split_payment_then_cash_with_change(api, order):
    first = pay(api(), order["id"], payment_method="card", amount="5.00").json()
    assert first["order"]["status"] == "confirmed" and first["order"]["amount_due"] == "4.28"

    second = pay(api(), order["id"], payment_method="cash", amount="10.00")

    body = second.json()
    assert second.status_code == 201
    assert body["payment"]["amount"] == "4.28"
    assert (body["tendered"], body["change"]) == ("10.00", "5.72")
    assert body["order"]["status"] == "completed"
    detail = api().get(f"/api/v1/orders/{order['id']}/").json()
    assert detail["amount_paid"] == "9.28" and detail["status"] == "completed"


def test_cash_tendered_gives_change(api, order):
    body = pay(api(), order["id"], payment_method="cash", amount="9.28", tendered="20.00").json()

    assert (body["payment"]["amount"], body["tendered"], body["change"]) == ("9.28", "20.00", "10.72")


def test_cash_tendered_below_the_amount_is_400(api, order):
    response = pay(api(), order["id"], payment_method="cash", amount="9.28", tendered="5.00")

    assert response.status_code == 400
    assert "tendered" in response.json()["error"]["fields"]


def test_a_card_overpayment_is_refused(api, order):
    response = pay(api(), order["id"], payment_method="card", amount="9.29")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "overpayment"
    assert error["fields"] == {"amount": ["Only 9.28 is due."]}
    with tenant_context(all_tenants=True):
        assert Payment.objects.count() == 0 and CommissionRecord.objects.count() == 0


def test_a_paid_or_cancelled_order_takes_no_payment(api, order):
    pay(api(), order["id"], payment_method="apple_pay", amount="9.28")

    response = pay(api(), order["id"], payment_method="cash", amount="1.00")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "order_not_open"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"payment_method": "cheque", "amount": "1.00"}, "payment_method"),
        ({"payment_method": "card", "amount": "0.00"}, "amount"),
        ({"payment_method": "card", "amount": "1.001"}, "amount"),
        ({"payment_method": "card"}, "amount"),
        ({"payment_method": "card", "amount": "1.00", "tendered": "2.00"}, "tendered"),
    ],
)
def test_bad_payment_input_names_the_field(api, order, body, field):
    response = pay(api(), order["id"], **body)

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_the_active_subscriptions_commission_applies(api, shop, order):
    RestaurantSubscriptionFactory(restaurant=shop.restaurant, commission_rate=Decimal("6.00"))

    body = pay(api(), order["id"], payment_method="card", amount="9.28").json()

    assert (body["payment"]["commission_rate"], body["payment"]["commission_amount"]) == ("6.00", "0.56")


def test_without_subscription_the_platforms_plan_for_the_tier_applies(api, shop, order):
    with tenant_context(all_tenants=True):
        type(shop.restaurant).objects.filter(pk=shop.restaurant.pk).update(subscription_tier="enterprise")
    SubscriptionPlanFactory(platform=shop.restaurant.platform, name="enterprise", commission_rate=Decimal("3.50"))

    body = pay(api(), order["id"], payment_method="card", amount="9.28").json()

    assert body["payment"]["commission_rate"] == "3.50"


def test_without_subscription_or_plan_the_tier_default_applies(api, shop, order):
    with tenant_context(all_tenants=True):
        type(shop.restaurant).objects.filter(pk=shop.restaurant.pk).update(subscription_tier="premium")

    body = pay(api(), order["id"], payment_method="card", amount="9.28").json()

    assert body["payment"]["commission_rate"] == "6.00"


@pytest.mark.parametrize("role", ["server", "cook"])
def test_roles_that_may_not_take_payments(api, order, role):
    assert pay(api(role), order["id"], payment_method="card", amount="9.28").status_code == 403


# --- Refunds --------------------------------------------------------------------------------


def test_refunds_never_exceed_the_payment(api, shop, order):
    payment = pay(api(), order["id"], payment_method="card", amount="9.28").json()["payment"]

    first = refund(api("manager"), payment["id"], amount="2.00", reason="cold")
    second = refund(api("restaurant_owner"), payment["id"], amount="7.28")
    third = refund(api("manager"), payment["id"], amount="0.01")

    assert first.status_code == 201, first.json()
    body = first.json()
    assert (body["amount"], body["reason"], body["status"], body["payment_id"], body["order_id"]) == (
        "2.00", "cold", "completed", payment["id"], order["id"],
    )
    assert body["processed_by_id"] == shop["manager"].pk and body["restaurant_id"] == shop.restaurant.pk
    assert second.status_code == 201
    assert third.status_code == 409
    assert third.json()["error"]["code"] == "refund_exceeds_payment"
    with tenant_context(all_tenants=True):
        assert Payment.objects.get(pk=payment["id"]).status == PaymentStatus.REFUNDED
        assert Refund.objects.count() == 2
    detail = api().get(f"/api/v1/orders/{order['id']}/").json()
    assert detail["amount_refunded"] == "9.28"
    assert [r["amount"] for r in detail["payments"][0]["refunds"]] == ["2.00", "7.28"]


def test_a_refund_larger_than_the_payment_is_refused(api, order):
    payment = pay(api(), order["id"], payment_method="card", amount="5.00").json()["payment"]

    response = refund(api("manager"), payment["id"], amount="5.01")

    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {"amount": ["At most 5.00 of this payment can be refunded."]}


@pytest.mark.parametrize("role", ["cashier", "server", "cook"])
def test_only_managers_and_owners_refund(api, order, role):
    payment = pay(api(), order["id"], payment_method="card", amount="9.28").json()["payment"]

    assert refund(api(role), payment["id"], amount="1.00").status_code == 403


def test_bad_refund_input_is_400(api, order):
    payment = pay(api(), order["id"], payment_method="card", amount="9.28").json()["payment"]

    response = refund(api("manager"), payment["id"], amount="-1")

    assert response.status_code == 400 and "amount" in response.json()["error"]["fields"]


def test_a_refund_can_restock_the_order_once(api, shop):
    item = InventoryItemFactory(restaurant=shop.restaurant, current_stock=Decimal("4"))
    order = place(api(), [(item.product, 3)]).json()
    payment = pay(api(), order["id"], payment_method="cash", amount=order["total_amount"]).json()["payment"]
    assert stock_of(item) == Decimal("1")

    first = refund(api("manager"), payment["id"], amount="1.00", restock=True).json()
    second = refund(api("manager"), payment["id"], amount="1.00", restock=True).json()

    assert (first["restocked_items"], second["restocked_items"]) == (1, 0)
    assert stock_of(item) == Decimal("4")


def test_a_refunded_order_can_then_be_cancelled_without_restocking_twice(api, shop):
    item = InventoryItemFactory(restaurant=shop.restaurant, current_stock=Decimal("4"))
    order = place(api(), [(item.product, 3)]).json()
    payment = pay(api(), order["id"], payment_method="card", amount="1.00").json()["payment"]
    refund(api("manager"), payment["id"], amount="1.00", restock=True)

    response = api("manager").post(f"/api/v1/orders/{order['id']}/status/", {"status": "cancelled"}, format="json")

    assert response.status_code == 200
    assert stock_of(item) == Decimal("4")
