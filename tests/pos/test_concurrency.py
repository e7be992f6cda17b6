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


@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_two_waiters_editing_one_tab_over_http_one_wins_the_other_is_told_and_no_line_is_lost(live_server):
    # given a tab both waiters read at the same version, each adding their own line at once (real
    # HTTP requests to a served app, one thread each), for several rounds
    import requests

    from tenants.services import api_token_create

    shop = make_shop()
    products = [ProductFactory(restaurant=shop.restaurant, name=f"Dish {n}") for n in range(11)]
    waiters = []
    for role in ("server", "cashier"):
        session = requests.Session()
        session.headers["Authorization"] = f"Token {api_token_create(user=shop[role], device=role)}"
        waiters.append(session)
    url = f"{live_server.url}/api/v1/orders/"
    tab = waiters[0].post(url, json={"items": [{"product_id": products[0].pk, "quantity": 1}]}).json()
    url = f"{url}{tab['id']}/"
    added = [products[0].pk]

    for round_number in range(5):
        version = waiters[0].get(url).headers["ETag"]
        mine = {id(w): products[1 + 2 * round_number + n].pk for n, w in enumerate(waiters)}

        # when
        responses = race(waiters, lambda waiter: waiter.patch(
            url, json={"add_items": [{"product_id": mine[id(waiter)], "quantity": 1}]}, headers={"If-Match": version},
        ))

        # then: one edit is applied, the other is refused with the order as it now is
        assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
        won = next(r for r in responses if r.status_code == 200)
        lost = next(r for r in responses if r.status_code == 409)
        assert lost.json()["error"]["code"] == "version_conflict"
        assert lost.json()["order"] == won.json()
        assert lost.headers["ETag"] == won.headers["ETag"]
        # the refused waiter sees the winner's line, and redoes the change on the version it was given
        loser = waiters[[r.status_code for r in responses].index(409)]
        added.append(next(i["product_id"] for i in won.json()["items"] if i["product_id"] not in added))
        retry = loser.patch(url, json={"version": lost.json()["order"]["version"],
                                       "add_items": [{"product_id": mine[id(loser)], "quantity": 1}]})
        assert retry.status_code == 200, retry.text
        added.append(mine[id(loser)])

    final = waiters[1].get(url).json()
    assert [item["product_id"] for item in final["items"]] == added  # every line, none lost, none doubled
    assert final["version"] == 11
