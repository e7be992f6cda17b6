"""Orders and payments taken offline: `client_reference` and `client_created_at` on POST orders/, and the
batch POST orders/sync/ (each element on its own, each applied once)."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import InventoryItem, StockMovement
from pos.models import Order, Payment
from tenants.context import tenant_context
from tests.inventory.factories import InventoryItemFactory, ProductFactory
from tests.pos.helpers import stock_of

pytestmark = pytest.mark.django_db

SYNC = "/api/v1/orders/sync/"


@pytest.fixture
def taco(shop):
    return ProductFactory(restaurant=shop.restaurant, name="Taco", price=Decimal("3.50"))


def offline_order(product, quantity=1, *, reference=None, at=None, **fields):
    return {
        "client_reference": str(reference or uuid.uuid4()),
        "client_created_at": (at or timezone.now() - datetime.timedelta(minutes=30)).isoformat(),
        "items": [{"product_id": product.pk, "quantity": quantity}],
        **fields,
    }


def test_the_same_client_reference_twice_is_the_same_order(api, taco):
    body = offline_order(taco, 2)

    first = api().post("/api/v1/orders/", body, format="json")
    second = api().post("/api/v1/orders/", {**body, "items": [{"product_id": taco.pk, "quantity": 5}]}, format="json")

    assert first.status_code == second.status_code == 201, second.json()
    assert "Idempotent-Replayed" not in first.headers and second.headers["Idempotent-Replayed"] == "true"
    assert second.json()["id"] == first.json()["id"] and second.json()["items"][0]["quantity"] == 2
    assert first.json()["client_reference"] == body["client_reference"]
    with tenant_context(all_tenants=True):
        assert Order.objects.filter(client_reference=body["client_reference"]).count() == 1


def test_a_late_order_keeps_the_devices_time_and_the_servers(api, shop, taco):
    sold_at = timezone.now() - datetime.timedelta(hours=50)

    response = api().post("/api/v1/orders/", offline_order(taco, at=sold_at), format="json")

    body = response.json()
    assert response.status_code == 201, body
    assert datetime.datetime.fromisoformat(body["created_at"]) == sold_at
    received = datetime.datetime.fromisoformat(body["received_at"])
    assert abs(received - timezone.now()) < datetime.timedelta(minutes=1)
    assert body["order_number"] == f"{shop.restaurant.pk}-{timezone.localdate(sold_at):%Y%m%d}-0001"


def test_orders_arriving_out_of_order_are_numbered_on_their_own_days(api, shop, taco):
    today, two_days_ago = timezone.now() - datetime.timedelta(minutes=1), timezone.now() - datetime.timedelta(hours=48)
    batch = {"orders": [offline_order(taco, at=today), offline_order(taco, at=two_days_ago),
                        offline_order(taco, at=today)]}

    results = api().post(SYNC, batch, format="json").json()["orders"]

    numbers = [result["order"]["order_number"] for result in results]
    prefix = f"{shop.restaurant.pk}-"
    assert numbers == [
        f"{prefix}{timezone.localdate(today):%Y%m%d}-0001",
        f"{prefix}{timezone.localdate(two_days_ago):%Y%m%d}-0001",
        f"{prefix}{timezone.localdate(today):%Y%m%d}-0002",
    ]


@pytest.mark.parametrize("shift, message", [
    (datetime.timedelta(minutes=6), "More than 5 minutes in the future"),
    (-datetime.timedelta(hours=73), "Older than 72 hours"),
])
def test_a_time_outside_the_limits_is_400_naming_the_field(api, taco, shift, message):
    response = api().post("/api/v1/orders/", offline_order(taco, at=timezone.now() + shift), format="json")

    assert response.status_code == 400
    assert message in response.json()["error"]["fields"]["client_created_at"][0]


def test_the_age_limit_is_a_setting(api, taco, settings):
    settings.OFFLINE_ORDER_MAX_AGE_HOURS = 100

    response = api().post("/api/v1/orders/", offline_order(taco, at=timezone.now() - datetime.timedelta(hours=80)),
                          format="json")

    assert response.status_code == 201, response.json()


def test_a_batch_with_one_bad_order_keeps_the_others(api, shop, taco):
    # given: the middle order names a product that does not exist, the last a time too old
    good, bad, old, later = (offline_order(taco) for _ in range(4))
    bad["items"][0]["product_id"] = 999999
    old["client_created_at"] = (timezone.now() - datetime.timedelta(days=10)).isoformat()

    # when
    response = api().post(SYNC, {"orders": [good, bad, old, later]}, format="json")

    # then
    assert response.status_code == 200, response.json()
    results = response.json()["orders"]
    assert [result["status"] for result in results] == ["created", "error", "error", "created"]
    assert results[1]["error"]["code"] == "invalid" and "items.0.product_id" in results[1]["error"]["fields"]
    assert "client_created_at" in results[2]["error"]["fields"]
    assert results[1]["client_reference"] == bad["client_reference"]
    with tenant_context(all_tenants=True):
        kept = set(Order.objects.filter(restaurant=shop.restaurant).values_list("client_reference", flat=True))
    assert {str(reference) for reference in kept} == {good["client_reference"], later["client_reference"]}


def test_a_batch_sent_again_creates_nothing_new(api, taco):
    batch = {"orders": [offline_order(taco), offline_order(taco)]}
    first = api().post(SYNC, batch, format="json").json()["orders"]

    again = api().post(SYNC, batch, format="json").json()["orders"]

    assert [result["status"] for result in again] == ["already_present", "already_present"]
    assert [result["order"]["id"] for result in again] == [result["order"]["id"] for result in first]


def test_a_batch_holds_at_most_100_orders(api, taco):
    response = api().post(SYNC, {"orders": [offline_order(taco) for _ in range(101)]}, format="json")

    assert response.status_code == 400 and "orders" in response.json()["error"]["fields"]


def test_payments_in_a_batch_name_their_order_by_its_client_reference(api, taco):
    # given: two tacos, 7.00 + VAT 1.40 + service 0.88 = 9.28, paid 5.00 by card and the rest in cash
    order = offline_order(taco, 2)
    card = {"order_reference": order["client_reference"], "client_reference": str(uuid.uuid4()),
            "client_created_at": order["client_created_at"], "payment_method": "card", "amount": "5.00",
            "transaction_id": "TERM-42"}
    cash = {**card, "client_reference": str(uuid.uuid4()), "payment_method": "cash", "amount": "4.28",
            "tip_amount": "1.00", "transaction_id": None}
    no_terminal_id = {**card, "client_reference": str(uuid.uuid4()), "transaction_id": None}
    unknown_order = {**cash, "client_reference": str(uuid.uuid4()), "order_reference": str(uuid.uuid4())}

    # when
    body = api().post(SYNC, {"orders": [order], "payments": [card, no_terminal_id, cash, unknown_order]},
                      format="json").json()
    again = api().post(SYNC, {"payments": [card, cash]}, format="json").json()

    # then
    statuses = [result["status"] for result in body["payments"]]
    assert statuses == ["created", "error", "created", "error"], body["payments"]
    assert "transaction_id" in body["payments"][1]["error"]["fields"]
    assert body["payments"][3]["error"]["code"] == "not_found"
    assert body["payments"][0]["payment"]["transaction_id"] == "TERM-42"
    assert body["payments"][2]["payment"]["tip_amount"] == "1.00"
    assert [result["status"] for result in again["payments"]] == ["already_present", "already_present"]
    with tenant_context(all_tenants=True):
        stored = Order.objects.get(client_reference=order["client_reference"])
        assert stored.status == "completed"
        assert Payment.objects.filter(order=stored).count() == 2
        assert Payment.objects.get(client_reference=card["client_reference"]).created_at == datetime.datetime.fromisoformat(
            card["client_created_at"]
        )


def test_a_cook_sends_no_payments(api, taco):
    order = offline_order(taco)
    payment = {"order_reference": order["client_reference"], "client_reference": str(uuid.uuid4()),
               "client_created_at": order["client_created_at"], "payment_method": "cash", "amount": "1.00"}

    assert api("server").post(SYNC, {"orders": [order], "payments": [payment]}, format="json").status_code == 403


def test_an_offline_sale_beyond_the_stock_is_kept_and_flagged(api, shop):
    # given: 2 burritos in stock
    item = InventoryItemFactory(restaurant=shop.restaurant, current_stock=Decimal("2"), product__name="Burrito")
    burrito = item.product

    # when: online, 3 are refused; offline, 3 were sold
    online = api().post("/api/v1/orders/", {"items": [{"product_id": burrito.pk, "quantity": 3}]}, format="json")
    offline = api().post(SYNC, {"orders": [offline_order(burrito, 3)]}, format="json").json()["orders"][0]

    # then
    assert online.status_code == 409 and online.json()["error"]["code"] == "insufficient_stock"
    assert offline["status"] == "created" and offline["order"]["oversold_offline"] is True
    assert stock_of(item) == Decimal("-1")
    with tenant_context(all_tenants=True):
        movement = StockMovement.objects.get(reference_id=offline["order"]["id"])
    assert movement.oversold_offline and movement.quantity == Decimal("-3")
    listed = api("manager").get("/api/v1/inventory/items/", {"oversold": "true"}).json()
    assert [row["id"] for row in listed] == [item.pk]
    assert api("cashier").get("/api/v1/inventory/items/", {"oversold": "true"}).status_code == 403
    report = api("manager").get("/api/v1/reports/daily/").json()
    assert report["oversold_offline"] == [
        {"order_id": offline["order"]["id"], "order_number": offline["order"]["order_number"]}
    ]
    # an online order still cannot take the negative stock further
    again = api().post("/api/v1/orders/", {"items": [{"product_id": burrito.pk, "quantity": 1}]}, format="json")
    assert again.status_code == 409


def test_an_offline_sale_within_the_stock_is_not_flagged(api, shop):
    item = InventoryItemFactory(restaurant=shop.restaurant, current_stock=Decimal("5"))

    result = api().post(SYNC, {"orders": [offline_order(item.product, 5)]}, format="json").json()["orders"][0]

    assert result["order"]["oversold_offline"] is False and stock_of(item) == Decimal("0")
    with tenant_context(all_tenants=True):
        assert not InventoryItem.objects.filter(pk=item.pk, current_stock__lt=0).exists()


def test_the_database_accepts_negative_stock_only_since_the_migration_says_so(shop):
    """The CHECK on current_stock went on purpose (inventory 0005): the services keep online writes at zero."""
    item = InventoryItemFactory(restaurant=shop.restaurant, current_stock=Decimal("1"))
    with tenant_context(restaurant=shop.restaurant):
        InventoryItem.objects.filter(pk=item.pk).update(current_stock=Decimal("-2"))
    assert stock_of(item) == Decimal("-2")
