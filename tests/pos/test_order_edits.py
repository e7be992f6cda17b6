"""PATCH /api/v1/orders/{id}/: an open order's lines change (added, changed, removed), re-priced by
the server, stock moved by the difference; the edit names the version it read (If-Match or
`version`), a stale one is 409 `version_conflict` with the order as it is, nothing written."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.models import MovementType, Product, StockMovement
from pos.models import Order, OrderItem
from tenants.context import tenant_context
from tests.inventory.factories import InventoryItemFactory, ModifierGroupFactory, ModifierOptionFactory, ProductFactory
from tests.pos.helpers import place, stock_of

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def tab(api, shop):
    """A table's open order: two tacos (3.00) and a tracked cola (2.00, five in stock, one sold)."""
    taco = ProductFactory(restaurant=shop.restaurant, name="Taco", price=D("3.00"))
    cola = InventoryItemFactory(restaurant=shop.restaurant, current_stock=D("5"), product__price=D("2.00"),
                                product__name="Cola")
    order = place(api("server"), [(taco, 2), (cola.product, 1)]).json()
    return {"taco": taco, "cola": cola, "order": order}


def edit(client, order, body, **headers):
    return client.patch(f"/api/v1/orders/{order['id']}/", body, format="json", **headers)


def test_a_waiter_adds_changes_and_removes_lines_and_the_server_reprices(api, tab, shop):
    # given the order as read: version 1
    order = tab["order"]
    taco_line, cola_line = order["items"]
    assert order["version"] == 1 and order["subtotal"] == "8.00"
    churros = ProductFactory(restaurant=shop.restaurant, name="Churros", price=D("4.25"))
    # when
    response = edit(api("server"), order, {
        "version": 1,
        "add_items": [{"product_id": churros.pk, "quantity": 2, "special_instructions": "to share"}],
        "update_items": [{"id": taco_line["id"], "quantity": 3}],
        "remove_items": [cola_line["id"]],
        "table_number": "7",
    })
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert [(i["product_name"], i["quantity"], i["total_price"]) for i in body["items"]] == [
        ("Taco", 3, "9.00"), ("Churros", 2, "8.50"),
    ]
    # 17.50 + VAT 3.50 + service charge 2.19
    assert (body["subtotal"], body["tax_amount"], body["service_charge"], body["total_amount"]) == (
        "17.50", "3.50", "2.19", "23.19",
    )
    assert body["items_count"] == 2 and body["table_number"] == "7"
    assert body["version"] == 2 and response["ETag"] == '"2"'
    assert stock_of(tab["cola"]) == D("5")  # the cola went back


def test_a_stale_version_is_409_with_the_current_order_and_nothing_is_written(api, tab):
    order = tab["order"]
    first = edit(api("server"), order, {"version": 1, "update_items": [{"id": order["items"][0]["id"], "quantity": 5}]})
    assert first.status_code == 200

    stale = edit(api("cashier"), order, {"version": 1, "remove_items": [order["items"][1]["id"]]})

    assert stale.status_code == 409
    body = stale.json()
    assert body["error"]["code"] == "version_conflict"
    assert body["order"]["version"] == 2 and stale["ETag"] == '"2"'
    assert [i["quantity"] for i in body["order"]["items"]] == [5, 1]
    with tenant_context(all_tenants=True):
        assert OrderItem.objects.filter(order_id=order["id"]).count() == 2
    assert stock_of(tab["cola"]) == D("4")


@pytest.mark.parametrize("headers, status", [
    ({"HTTP_IF_MATCH": '"1"'}, 200),
    ({"HTTP_IF_MATCH": 'W/"1"'}, 200),
    ({"HTTP_IF_MATCH": "1"}, 200),
    ({"HTTP_IF_MATCH": '"0"'}, 409),
    ({"HTTP_IF_MATCH": "*"}, 400),
    ({}, 428),
])
def test_the_version_may_come_as_if_match(api, tab, headers, status):
    response = edit(api("server"), tab["order"], {"table_number": "9"}, **headers)

    assert response.status_code == status, response.content
    if status == 428:
        assert response.json()["error"]["code"] == "version_required"


def test_if_match_and_version_must_agree(api, tab):
    response = edit(api("server"), tab["order"], {"version": 2, "table_number": "9"}, HTTP_IF_MATCH='"1"')

    assert response.status_code == 400 and list(response.json()["error"]["fields"]) == ["version"]


def test_payments_and_status_changes_make_a_read_stale(api, tab):
    order = tab["order"]
    api("cook").post(f"/api/v1/orders/{order['id']}/status/", {"status": "preparing"}, format="json")
    paid = api("cashier").post(f"/api/v1/orders/{order['id']}/payments/", {"payment_method": "card", "amount": "1.00"},
                               format="json")
    assert paid.json()["order"]["version"] == 3

    stale = edit(api("server"), order, {"version": 2, "table_number": "9"})
    fresh = edit(api("server"), order, {"version": 3, "table_number": "9"})

    assert stale.status_code == 409 and fresh.status_code == 200
    assert api().get(f"/api/v1/orders/{order['id']}/")["ETag"] == '"4"'


@pytest.mark.parametrize("status", ["completed", "cancelled"])
def test_a_closed_order_cannot_be_edited(api, tab, status):
    order = tab["order"]
    if status == "completed":
        api("cashier").post(f"/api/v1/orders/{order['id']}/payments/",
                            {"payment_method": "card", "amount": order["total_amount"]}, format="json")
    else:
        api("server").post(f"/api/v1/orders/{order['id']}/status/", {"status": "cancelled"}, format="json")
    version = api().get(f"/api/v1/orders/{order['id']}/").json()["version"]

    response = edit(api("server"), order, {"version": version, "table_number": "9"})

    assert response.status_code == 409 and response.json()["error"]["code"] == "order_not_open"


def test_the_total_cannot_go_below_what_is_paid(api, tab):
    order = tab["order"]
    api("cashier").post(f"/api/v1/orders/{order['id']}/payments/", {"payment_method": "card", "amount": "8.00"},
                        format="json")

    response = edit(api("server"), order, {"version": 2, "remove_items": [order["items"][0]["id"]]})

    assert response.status_code == 409 and response.json()["error"]["code"] == "order_paid_beyond"


def test_stock_moves_by_the_difference_and_never_oversells(api, tab):
    order, cola = tab["order"], tab["cola"]
    cola_line = order["items"][1]

    more = edit(api("server"), order, {"version": 1, "update_items": [{"id": cola_line["id"], "quantity": 4}]})
    assert more.status_code == 200 and stock_of(cola) == D("1")
    too_many = edit(api("server"), order, {"version": 2, "update_items": [{"id": cola_line["id"], "quantity": 6}]})
    assert too_many.status_code == 409
    assert too_many.json()["error"]["fields"] == {"update_items.0.quantity": ["Only 1 left."]}
    fewer = edit(api("server"), order, {"version": 2, "update_items": [{"id": cola_line["id"], "quantity": 2}]})
    assert fewer.status_code == 200 and stock_of(cola) == D("3")
    another = edit(api("server"), order, {"version": 3, "add_items": [{"product_id": cola.product_id, "quantity": 3}]})
    assert another.status_code == 200 and stock_of(cola) == D("0")

    cancelled = api("server").post(f"/api/v1/orders/{order['id']}/status/", {"status": "cancelled"}, format="json")
    assert cancelled.status_code == 200 and stock_of(cola) == D("5")
    with tenant_context(all_tenants=True):
        moves = StockMovement.objects.filter(inventory_item=cola).order_by("pk")
        assert [(m.movement_type, m.quantity) for m in moves] == [
            (MovementType.SALE, D("-1")), (MovementType.SALE, D("-3")), (MovementType.ADJUSTMENT, D("2")),
            (MovementType.SALE, D("-3")), (MovementType.ADJUSTMENT, D("5")),
        ]


def test_changing_a_lines_modifiers_keeps_its_base_price_and_moves_the_options_stock(api, shop):
    burrito = ProductFactory(restaurant=shop.restaurant, price=D("8.00"))
    extras = ModifierGroupFactory(restaurant=shop.restaurant, allow_repeat=True, products=[burrito])
    guac_stock = InventoryItemFactory(restaurant=shop.restaurant, current_stock=D("4"))
    guac = ModifierOptionFactory(group=extras, name="Guacamole", price_change=D("1.50"), inventory_item=guac_stock)
    beans = ModifierOptionFactory(group=extras, name="Beans", price_change=D("0.50"))
    order = api("server").post("/api/v1/orders/", {"items": [
        {"product_id": burrito.pk, "quantity": 2, "modifiers": [{"option_id": guac.pk, "quantity": 1}]},
    ]}, format="json").json()
    assert stock_of(guac_stock) == D("2")
    with tenant_context(all_tenants=True):
        Product.objects.filter(pk=burrito.pk).update(price=D("9.00"))  # the menu changes meanwhile

    response = edit(api("server"), order, {"version": 1, "update_items": [{
        "id": order["items"][0]["id"], "modifiers": [{"option_id": beans.pk, "quantity": 1}],
    }]})

    assert response.status_code == 200, response.content
    changed = response.json()["items"][0]
    assert (changed["unit_price"], changed["total_price"]) == ("8.50", "17.00")  # 8.00 as sold + 0.50
    assert [m["option"] for m in changed["modifiers"]] == ["Beans"]
    assert stock_of(guac_stock) == D("4")


def test_edits_are_checked_like_new_orders_and_name_the_field(api, tab, shop, rival):
    order = tab["order"]
    theirs = ModifierOptionFactory(group=ModifierGroupFactory(restaurant=rival.restaurant), name="Their salsa")
    their_order = place(api_for_rival(rival), [(ProductFactory(restaurant=rival.restaurant), 1)]).json()

    response = edit(api("server"), order, {
        "version": 1,
        "add_items": [{"product_id": tab["taco"].pk, "quantity": 1, "modifiers": [{"option_id": theirs.pk}]}],
        "update_items": [{"id": their_order["items"][0]["id"], "quantity": 2}],
        "remove_items": [order["items"][0]["id"], order["items"][0]["id"]],
    })

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "update_items.0.id": ["No such line on this order."],
        "remove_items.1": ["This line is named twice."],
    }
    add_only = edit(api("server"), order, {
        "version": 1,
        "add_items": [{"product_id": tab["taco"].pk, "quantity": 1, "modifiers": [{"option_id": theirs.pk}]}],
    })
    assert add_only.json()["error"]["fields"] == {"add_items.0.modifiers.0": ["No such option."]}
    assert "Their salsa" not in add_only.content.decode()
    everything = edit(api("server"), order, {"version": 1, "remove_items": [i["id"] for i in order["items"]]})
    assert list(everything.json()["error"]["fields"]) == ["remove_items"]
    assert edit(api("server"), order, {"version": 1}).status_code == 400  # nothing to change


def api_for_rival(rival):
    from rest_framework.test import APIClient

    from tenants.services import api_token_create

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=rival['server'], device='')}")
    return client


def test_another_restaurants_order_is_404(api, rival):
    theirs = place(api_for_rival(rival), [(ProductFactory(restaurant=rival.restaurant), 1)]).json()

    response = edit(api("server"), theirs, {"version": 1, "table_number": "1"})

    assert response.status_code == 404
    with tenant_context(all_tenants=True):
        assert Order.objects.get(pk=theirs["id"]).table_number is None


def test_an_edit_is_priced_with_the_rates_the_order_kept(api, tab, shop):
    api("restaurant_owner").patch(f"/api/v1/restaurants/{shop.restaurant.pk}/",
                                  {"settings": {"prices_include_vat": True, "vat_rate": "10"}}, format="json")

    response = edit(api("server"), tab["order"], {"version": 1, "discount_amount": "1.00"})

    body = response.json()
    # 8.00 - 1.00 = 7.00: VAT added at 20 % = 1.40, service charge 0.88
    assert (body["tax_amount"], body["service_charge"], body["total_amount"]) == ("1.40", "0.88", "9.28")
    assert body["vat_label"] == "VAT" and body["vat_rate"] == "20.00"


def test_an_edit_retried_with_its_idempotency_key_is_applied_once(api, tab):
    order = tab["order"]
    body = {"version": 1, "add_items": [{"product_id": tab["taco"].pk, "quantity": 1}]}

    first = edit(api("server"), order, body, HTTP_IDEMPOTENCY_KEY="edit-1")
    retry = edit(api("server"), order, body, HTTP_IDEMPOTENCY_KEY="edit-1")

    assert first.status_code == retry.status_code == 200
    assert retry["Idempotent-Replayed"] == "true" and retry.json() == first.json()
    assert len(api().get(f"/api/v1/orders/{order['id']}/").json()["items"]) == 3


def test_an_edit_costs_the_same_queries_for_1_or_20_lines_with_modifiers(api, shop, count_queries):
    burrito = ProductFactory(restaurant=shop.restaurant, price=D("8.00"))
    extras = ModifierGroupFactory(restaurant=shop.restaurant, allow_repeat=True, products=[burrito])
    stock = InventoryItemFactory(restaurant=shop.restaurant, current_stock=D("1000"))
    guac = ModifierOptionFactory(group=extras, inventory_item=stock)
    line = {"product_id": burrito.pk, "quantity": 1, "modifiers": [{"option_id": guac.pk, "quantity": 2}]}
    client = api("server")
    small = client.post("/api/v1/orders/", {"items": [line]}, format="json").json()
    big = client.post("/api/v1/orders/", {"items": [line] * 20}, format="json").json()

    def change(order):
        return lambda: edit(client, order, {
            "version": 1, "add_items": [line] * len(order["items"]),
            "update_items": [{"id": i["id"], "quantity": 2, "modifiers": [{"option_id": guac.pk}]} for i in order["items"]],
        })

    assert count_queries(change(small)) == count_queries(change(big))
