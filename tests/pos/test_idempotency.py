"""Idempotency-Key on the order, payment and refund POSTs: a retry returns the first response
and creates nothing; another body with the same key is 409; racing retries create once."""

from __future__ import annotations

import socket
import threading
import uuid
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from django.utils import timezone

from billing.models import CommissionRecord
from pos.models import IdempotencyRecord, Order, OrderItem, Payment, Refund
from tenants.context import tenant_context
from tests.inventory.factories import InventoryItemFactory, ProductFactory
from tests.pos.helpers import stock_of
from tests.tenants.factories import make_shop

BOTH = ["default", "owner"]


def counts() -> tuple[int, ...]:
    with tenant_context(all_tenants=True):
        return tuple(m.objects.count() for m in (Order, OrderItem, Payment, Refund, CommissionRecord))


def post(client, path, body, key):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.fixture
def item(shop):
    return InventoryItemFactory(restaurant=shop.restaurant, current_stock=Decimal("10"),
                                product__price=Decimal("4.00"))


@pytest.mark.django_db
def test_a_retried_order_returns_the_first_response_and_creates_nothing(api, item):
    # given an order placed with a key
    body = {"items": [{"product_id": item.product_id, "quantity": 2}], "table_number": "4"}
    first = post(api(), "/api/v1/orders/", body, "order-key-1")
    assert first.status_code == 201
    before = counts()

    # when the till retries it (from another cashier's session, even)
    retry = post(api("manager"), "/api/v1/orders/", body, "order-key-1")

    # then
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert counts() == before
    assert stock_of(item) == Decimal("8")


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_409(api, item):
    post(api(), "/api/v1/orders/", {"items": [{"product_id": item.product_id, "quantity": 1}]}, "k-2")
    before = counts()

    response = post(api(), "/api/v1/orders/", {"items": [{"product_id": item.product_id, "quantity": 3}]}, "k-2")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert counts() == before


@pytest.mark.django_db
def test_the_same_key_on_another_endpoint_is_409(api, item):
    order = post(api(), "/api/v1/orders/", {"items": [{"product_id": item.product_id, "quantity": 1}]}, "k-3").json()

    response = post(api(), f"/api/v1/orders/{order['id']}/payments/", {"payment_method": "card", "amount": "1.00"}, "k-3")

    assert response.status_code == 409


@pytest.mark.django_db
def test_keys_belong_to_a_restaurant(api, item, rival, api_client_for):
    post(api(), "/api/v1/orders/", {"items": [{"product_id": item.product_id, "quantity": 1}]}, "shared-key")
    theirs = ProductFactory(restaurant=rival.restaurant)

    response = post(api_client_for(rival["cashier"]), "/api/v1/orders/",
                    {"items": [{"product_id": theirs.pk, "quantity": 1}]}, "shared-key")

    assert response.status_code == 201
    assert response.json()["restaurant_id"] == rival.restaurant.pk


@pytest.mark.django_db
def test_a_failed_request_is_not_remembered(api, item):
    body = {"items": [{"product_id": item.product_id, "quantity": 11}]}
    assert post(api(), "/api/v1/orders/", body, "k-4").status_code == 409

    from inventory.models import InventoryItem
    with tenant_context(all_tenants=True):
        InventoryItem.objects.filter(pk=item.pk).update(current_stock=Decimal("20"))
    retry = post(api(), "/api/v1/orders/", body, "k-4")

    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry


@pytest.mark.django_db
def test_a_retry_gets_the_first_response_even_when_the_request_would_now_fail(api, item):
    # given an order that took 6 of the 10 in stock
    body = {"items": [{"product_id": item.product_id, "quantity": 6}]}
    first = post(api(), "/api/v1/orders/", body, "k-5")
    assert first.status_code == 201
    before = counts()

    # when the till retries it: as a new request it would be refused (6 more than the 4 left), but the
    # key is claimed with the order's first reads and checked before anything else is done
    retry = post(api(), "/api/v1/orders/", body, "k-5")

    # then it is answered from the first, and nothing more is taken
    assert retry.status_code == 201, retry.json()
    assert retry.json() == first.json() and retry["Idempotent-Replayed"] == "true"
    assert counts() == before
    assert stock_of(item) == Decimal("4")


@pytest.mark.django_db
def test_retried_payment_and_refund_create_nothing(api, item):
    order = post(api(), "/api/v1/orders/", {"items": [{"product_id": item.product_id, "quantity": 1}]}, "o").json()
    pay_path = f"/api/v1/orders/{order['id']}/payments/"
    paid = post(api(), pay_path, {"payment_method": "cash", "amount": "2.00", "tendered": "5.00"}, "p")
    paid_again = post(api(), pay_path, {"payment_method": "cash", "amount": "2.00", "tendered": "5.00"}, "p")
    refund_path = f"/api/v1/payments/{paid.json()['payment']['id']}/refunds/"
    refunded = post(api("manager"), refund_path, {"amount": "1.50", "restock": True}, "r")
    before = counts()

    refunded_again = post(api("manager"), refund_path, {"amount": "1.50", "restock": True}, "r")

    assert paid_again.status_code == 201 and paid_again.json() == paid.json()
    assert refunded_again.status_code == 201 and refunded_again.json() == refunded.json()
    assert counts() == before
    assert counts()[2:5] == (1, 1, 1)


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", " ", "x" * 256, "tab\there"])
def test_a_malformed_key_is_400(api, item, key):
    response = post(api(), "/api/v1/orders/", {"items": [{"product_id": item.product_id, "quantity": 1}]}, key)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"


@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_racing_retries_with_one_key_create_one_order(api_client_for):
    # given one shop and five tills that send the same request with the same key at once
    shop = make_shop()
    item = InventoryItemFactory(restaurant=shop.restaurant, current_stock=Decimal("10"))
    body = {"items": [{"product_id": item.product_id, "quantity": 1}]}
    key = str(uuid.uuid4())
    clients = [api_client_for(shop["cashier"]) for _ in range(5)]
    barrier = threading.Barrier(len(clients))
    results: list = []
    errors: list = []

    def till(client):
        try:
            barrier.wait(timeout=10)
            response = post(client, "/api/v1/orders/", body, key)
            results.append((response.status_code, response.json()))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    # when
    threads = [threading.Thread(target=till, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then: one order, and every till got it
    assert not errors
    assert {status for status, _ in results} == {201}
    assert len({body["id"] for _, body in results}) == 1
    with tenant_context(all_tenants=True):
        assert Order.objects.count() == 1
        assert IdempotencyRecord.objects.filter(key=key).count() == 1
    assert stock_of(item) == Decimal("9")


# --- Lifetime and pruning ------------------------------------------------------------------


def age_record(key: str, hours: float) -> None:
    """Make a key's record `hours` old."""
    with tenant_context(all_tenants=True):
        aged = IdempotencyRecord.objects.filter(key=key).update(created_at=timezone.now() - timedelta(hours=hours))
    assert aged == 1


@pytest.mark.django_db
def test_a_key_within_its_lifetime_is_still_replayed(api, item, settings):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
    body = {"items": [{"product_id": item.product_id, "quantity": 1}]}
    first = post(api(), "/api/v1/orders/", body, "old-but-live")
    age_record("old-but-live", 23)
    before = counts()

    retry = post(api(), "/api/v1/orders/", body, "old-but-live")

    assert retry.status_code == 201 and retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert counts() == before


@pytest.mark.django_db
def test_an_expired_key_is_free_for_a_new_request(api, item, settings):
    # given: a key used for an order more than a day ago
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
    first = post(api(), "/api/v1/orders/", {"items": [{"product_id": item.product_id, "quantity": 1}]}, "reused")
    age_record("reused", 25)

    # when the till sends another order with it
    second = post(api(), "/api/v1/orders/", {"items": [{"product_id": item.product_id, "quantity": 2}]}, "reused")

    # then it is a new order, and its retry replays the new one
    assert second.status_code == 201 and "Idempotent-Replayed" not in second
    assert second.json()["id"] != first.json()["id"]
    retry = post(api(), "/api/v1/orders/", {"items": [{"product_id": item.product_id, "quantity": 2}]}, "reused")
    assert retry["Idempotent-Replayed"] == "true" and retry.json() == second.json()
    with tenant_context(all_tenants=True):
        assert IdempotencyRecord.objects.filter(key="reused").count() == 1
    assert stock_of(item) == Decimal("7")


@pytest.mark.django_db
def test_prune_deletes_expired_records_of_every_restaurant_only(api, item, rival, api_client_for, settings):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
    theirs = ProductFactory(restaurant=rival.restaurant)
    post(api(), "/api/v1/orders/", {"items": [{"product_id": item.product_id, "quantity": 1}]}, "mine-old")
    post(api(), "/api/v1/orders/", {"items": [{"product_id": item.product_id, "quantity": 1}]}, "mine-new")
    post(api_client_for(rival["cashier"]), "/api/v1/orders/",
         {"items": [{"product_id": theirs.pk, "quantity": 1}]}, "theirs-old")
    age_record("mine-old", 30)
    age_record("theirs-old", 48)
    out = StringIO()

    call_command("prune_idempotency_keys", stdout=out)

    assert out.getvalue().strip() == "Deleted 2 idempotency record(s) older than 24 h."
    with tenant_context(all_tenants=True):
        assert set(IdempotencyRecord.objects.values_list("key", flat=True)) == {"mine-new"}
        assert Order.objects.count() == 3  # the orders stay


@pytest.mark.django_db(transaction=True)
def test_prune_without_a_database_exits_2_with_one_line():
    runtime = connections["default"]
    runtime.close()
    port = runtime.settings_dict["PORT"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        runtime.settings_dict["PORT"] = str(probe.getsockname()[1])  # nothing listens there once closed
    try:
        with pytest.raises(CommandError) as error:
            call_command("prune_idempotency_keys", stdout=StringIO())
    finally:
        runtime.close()
        runtime.settings_dict["PORT"] = port

    assert error.value.returncode == 2
    assert str(error.value).startswith("database error: ") and "\n" not in str(error.value)
