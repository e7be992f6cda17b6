"""Ten tills racing for the last units of one product never oversell (real PostgreSQL, one
connection per thread, each request in its own transaction as in production)."""

from __future__ import annotations

import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone

from inventory.models import MovementType, StockMovement
from pos.models import Order
from tenants.context import tenant_context
from tests.inventory.factories import InventoryItemFactory, ProductFactory
from tests.pos.helpers import place, stock_of
from tests.tenants.factories import make_shop

BOTH = ["default", "owner"]


def race(clients, request):
    barrier = threading.Barrier(len(clients))
    results: list = []
    errors: list = []

    def till(client):
        try:
            barrier.wait(timeout=10)
            results.append(request(client))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=till, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_ten_tills_ordering_the_last_units_never_oversell(api_client_for):
    # given four units left and ten tills each ordering one, with another product in the order
    shop = make_shop()
    item = InventoryItemFactory(restaurant=shop.restaurant, current_stock=Decimal("4"))
    side = ProductFactory(restaurant=shop.restaurant)
    clients = [api_client_for(shop["cashier"]) for _ in range(10)]

    # when
    responses = race(clients, lambda client: place(client, [(side, 1), (item.product, 1)]))

    # then: four orders, six refusals, no stock below zero, one sale movement per order
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: 4, 409: 6}
    assert all(r.json()["error"]["code"] == "insufficient_stock" for r in responses if r.status_code == 409)
    assert stock_of(item) == Decimal("0")
    with tenant_context(all_tenants=True):
        assert Order.objects.count() == 4
        sales = StockMovement.objects.filter(inventory_item=item, movement_type=MovementType.SALE)
        assert sorted(sales.values_list("quantity", flat=True)) == [Decimal("-1")] * 4
    numbers = sorted(r.json()["order_number"] for r in responses if r.status_code == 201)
    today = timezone.localdate().strftime("%Y%m%d")
    assert numbers == [f"{shop.restaurant.pk}-{today}-{n:04d}" for n in range(1, 5)]


@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_racing_payments_never_pay_an_order_twice(api_client_for):
    shop = make_shop()
    product = ProductFactory(restaurant=shop.restaurant, price=Decimal("10.00"))
    order = place(api_client_for(shop["cashier"]), [(product, 1)]).json()
    clients = [api_client_for(shop["cashier"]) for _ in range(6)]

    responses = race(clients, lambda client: client.post(
        f"/api/v1/orders/{order['id']}/payments/", {"payment_method": "card", "amount": order["total_amount"]},
        format="json",
    ))

    assert Counter(r.status_code for r in responses) == {201: 1, 409: 5}
