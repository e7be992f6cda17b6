"""Creating, reading and listing orders runs a fixed number of queries whatever the order's size."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.inventory.factories import InventoryItemFactory, ProductFactory
from tests.pos.helpers import place

pytestmark = pytest.mark.django_db


@pytest.fixture
def products(shop):
    """Twenty products, half of them tracked with stock."""
    made = []
    for index in range(20):
        if index % 2:
            made.append(InventoryItemFactory(restaurant=shop.restaurant, current_stock=Decimal("100")).product)
        else:
            made.append(ProductFactory(restaurant=shop.restaurant))
    return made


def test_creating_an_order_costs_the_same_queries_for_1_or_20_items(api, products, count_queries):
    client = api()
    baseline = count_queries(lambda: client.get("/api/v1/auth/me"))  # authentication and tenant, no work

    one = count_queries(lambda: place(client, [(products[1], 1)]))
    twenty = count_queries(lambda: place(client, [(product, 2) for product in products]))
    keyed = count_queries(lambda: client.post(
        "/api/v1/orders/", {"items": [{"product_id": p.pk, "quantity": 1} for p in products]}, format="json",
        HTTP_IDEMPOTENCY_KEY="count-me",
    ))

    assert one == twenty
    # a savepoint, products, their modifier groups, rates, employee, number, order, items, stock (lock,
    # update, movements), its release, then the response's order, items, payments
    assert one - baseline == 15
    assert keyed == twenty + 4  # the key's record: insert and update, in a savepoint


def test_order_detail_and_list_cost_the_same_queries_for_1_or_20_items(api, products, count_queries):
    client = api()
    baseline = count_queries(lambda: client.get("/api/v1/auth/me"))
    small = place(client, [(products[0], 1)]).json()
    client.post(f"/api/v1/orders/{small['id']}/payments/", {"payment_method": "cash", "amount": "1.00"}, format="json")
    big = place(client, [(product, 1) for product in products]).json()
    for amount in ("1.00", "2.00"):
        client.post(f"/api/v1/orders/{big['id']}/payments/", {"payment_method": "card", "amount": amount}, format="json")

    small_detail = count_queries(lambda: client.get(f"/api/v1/orders/{small['id']}/"))
    big_detail = count_queries(lambda: client.get(f"/api/v1/orders/{big['id']}/"))
    one_order = count_queries(lambda: client.get("/api/v1/orders/", {"page_size": 1, "status": "confirmed"}))
    for _ in range(8):
        place(client, [(product, 1) for product in products])
    ten_orders = count_queries(lambda: client.get("/api/v1/orders/"))

    # orders, items (with products), payments, refunds
    assert small_detail == big_detail == baseline + 4
    assert one_order == ten_orders == baseline + 4
