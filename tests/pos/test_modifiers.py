"""Order lines with modifiers: checked against the product's groups (400 naming
`items.<i>.modifiers.<j>`), priced `(price + sum(option x quantity)) x quantity` rounded once,
kept as a snapshot that survives menu changes, and taking the stock of linked options."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.models import ModifierOption, MovementType, StockMovement
from pos.models import Order, OrderItem
from tenants.context import tenant_context
from tests.inventory.factories import (
    InventoryItemFactory,
    ModifierGroupFactory,
    ModifierOptionFactory,
    ProductFactory,
)
from tests.pos.helpers import stock_of

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def menu(shop):
    """A burrito: exactly one filling, up to two salsas (each once), extras as many as wanted."""
    r = shop.restaurant
    burrito = ProductFactory(restaurant=r, name="Burrito", price=D("8.00"))
    taco = ProductFactory(restaurant=r, name="Taco", price=D("3.00"))
    filling = ModifierGroupFactory(restaurant=r, name="Filling", min_selected=1, max_selected=1, products=[burrito])
    salsa = ModifierGroupFactory(restaurant=r, name="Salsa", max_selected=2, products=[burrito, taco])
    extras = ModifierGroupFactory(restaurant=r, name="Extras", allow_repeat=True, products=[burrito])
    off_menu = ModifierGroupFactory(restaurant=r, name="Drinks only")
    guac_stock = InventoryItemFactory(restaurant=r, current_stock=D("3"))
    return {
        "burrito": burrito, "taco": taco,
        "chicken": ModifierOptionFactory(group=filling, name="Chicken", price_change=D("0.00")),
        "beef": ModifierOptionFactory(group=filling, name="Beef", price_change=D("1.25")),
        "verde": ModifierOptionFactory(group=salsa, name="Verde", price_change=D("0.00")),
        "roja": ModifierOptionFactory(group=salsa, name="Roja", price_change=D("0.00")),
        "habanero": ModifierOptionFactory(group=salsa, name="Habanero", price_change=D("0.35")),
        "guac": ModifierOptionFactory(group=extras, name="Guacamole", price_change=D("1.15"), inventory_item=guac_stock),
        "no_cheese": ModifierOptionFactory(group=extras, name="No cheese", price_change=D("-0.50")),
        "retired": ModifierOptionFactory(group=extras, name="Retired", is_active=False),
        "ice": ModifierOptionFactory(group=off_menu, name="Ice"),
        "guac_stock": guac_stock,
    }


def line(product, quantity=1, *choices):
    return {"product_id": product.pk, "quantity": quantity,
            "modifiers": [{"option_id": option.pk, "quantity": count} for option, count in choices]}


def order(client, *lines, **fields):
    return client.post("/api/v1/orders/", {"items": list(lines), **fields}, format="json")


def test_a_line_is_priced_with_its_modifiers_rounded_once_and_keeps_a_snapshot(api, menu):
    # given a burrito with beef (+1.25), guacamole (+1.15) and no cheese (-0.50), three of them
    response = order(api(), line(menu["burrito"], 3, (menu["beef"], 1), (menu["guac"], 1), (menu["no_cheese"], 1)),
                     line(menu["taco"], 1))

    assert response.status_code == 201, response.content
    burrito, taco = response.json()["items"]
    # (8.00 + 1.25 + 1.15 - 0.50) x 3 = 9.90 x 3
    assert (burrito["unit_price"], burrito["total_price"]) == ("9.90", "29.70")
    assert burrito["modifiers"] == [
        {"group": "Filling", "option": "Beef", "price": "1.25", "quantity": 1, "option_id": menu["beef"].pk},
        {"group": "Extras", "option": "Guacamole", "price": "1.15", "quantity": 1, "option_id": menu["guac"].pk},
        {"group": "Extras", "option": "No cheese", "price": "-0.50", "quantity": 1, "option_id": menu["no_cheese"].pk},
    ]
    assert taco["modifiers"] == [] and taco["total_price"] == "3.00"
    assert response.json()["subtotal"] == "32.70"
    assert stock_of(menu["guac_stock"]) == D("0")  # one guacamole in each of three burritos


def test_the_snapshot_survives_menu_changes(api, menu):
    placed = order(api(), line(menu["burrito"], 1, (menu["beef"], 1))).json()

    with tenant_context(all_tenants=True):
        ModifierOption.objects.filter(pk=menu["beef"].pk).update(name="Wagyu", price_change=D("9.00"))
    again = api().get(f"/api/v1/orders/{placed['id']}/").json()

    assert again["items"][0]["modifiers"][0]["option"] == "Beef"
    assert again["items"][0]["modifiers"][0]["price"] == "1.25"
    assert again["total_amount"] == placed["total_amount"]


@pytest.mark.parametrize("build, field, message", [
    (lambda m: line(m["burrito"], 1, (m["chicken"], 1), (m["ice"], 1)), "items.0.modifiers.1",
     "Ice is not an option of Burrito."),
    (lambda m: line(m["taco"], 1, (m["chicken"], 1)), "items.0.modifiers.0", "Chicken is not an option of Taco."),
    (lambda m: line(m["burrito"], 1, (m["chicken"], 1), (m["retired"], 1)), "items.0.modifiers.1",
     "Retired is not available."),
    (lambda m: line(m["burrito"], 1, (m["chicken"], 2)), "items.0.modifiers.0", "Chicken may be chosen only once (Filling)."),
    (lambda m: line(m["burrito"], 1, (m["chicken"], 1), (m["verde"], 1), (m["verde"], 1)), "items.0.modifiers.2",
     "Verde may be chosen only once (Salsa)."),
    (lambda m: line(m["burrito"], 1), "items.0.modifiers", "Choose at least 1 of Filling."),
    (lambda m: line(m["burrito"], 1, (m["chicken"], 1), (m["beef"], 1)), "items.0.modifiers",
     "Choose at most 1 of Filling."),
    (lambda m: line(m["taco"], 1, (m["verde"], 1), (m["roja"], 1), (m["habanero"], 1)), "items.0.modifiers",
     "Choose at most 2 of Salsa."),
])
def test_each_modifier_rule_is_a_400_naming_the_line_and_the_choice(api, menu, build, field, message):
    response = order(api(), line(menu["taco"], 1), build(menu))

    assert response.status_code == 400, response.content
    # the order's second line: its index in the field path
    fields = response.json()["error"]["fields"]
    assert fields == {field.replace("items.0", "items.1"): [message]}
    with tenant_context(all_tenants=True):
        assert not Order.objects.exists()


def test_extras_may_repeat_and_a_group_without_minimum_may_be_left_out(api, menu):
    response = order(api(), line(menu["burrito"], 1, (menu["chicken"], 1), (menu["guac"], 2), (menu["guac"], 1)))

    assert response.status_code == 201, response.content
    assert response.json()["items"][0]["unit_price"] == "11.45"  # 8.00 + 3 x 1.15


def test_a_deactivated_group_is_neither_required_nor_offered(api, menu, shop):
    with tenant_context(all_tenants=True):
        menu["chicken"].group.is_active = False
        menu["chicken"].group.save(update_fields=["is_active"])

    assert order(api(), line(menu["burrito"], 1)).status_code == 201
    refused = order(api(), line(menu["burrito"], 1, (menu["chicken"], 1)))
    assert refused.json()["error"]["fields"] == {"items.0.modifiers.0": ["Chicken is not available."]}


def test_modifiers_cannot_take_a_line_below_zero(api, shop, menu):
    water = ProductFactory(restaurant=shop.restaurant, name="Water", price=D("0.30"))
    ModifierGroupFactory(restaurant=shop.restaurant, products=[water])
    with tenant_context(all_tenants=True):
        menu["no_cheese"].group.products.add(water, through_defaults={"restaurant": shop.restaurant})

    response = order(api(), line(water, 1, (menu["no_cheese"], 1)))

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["items.0.modifiers"]


def test_another_restaurants_option_is_a_400_that_shows_nothing_of_it(api, menu, rival):
    theirs = ModifierOptionFactory(group=ModifierGroupFactory(restaurant=rival.restaurant, name="Their group"),
                                   name="Their secret salsa")

    response = order(api(), line(menu["burrito"], 1, (menu["chicken"], 1), (theirs, 1)))

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"items.0.modifiers.1": ["No such option."]}
    assert "secret" not in response.content.decode().lower() and "Their group" not in response.content.decode()


def test_options_linked_to_stock_take_it_and_cannot_oversell(api, menu):
    client = api()

    placed = order(client, line(menu["burrito"], 1, (menu["chicken"], 1), (menu["guac"], 2)))
    short = order(client, line(menu["taco"], 1), line(menu["burrito"], 2, (menu["chicken"], 1), (menu["guac"], 1)))

    assert placed.status_code == 201
    assert stock_of(menu["guac_stock"]) == D("1")
    assert short.status_code == 409
    assert short.json()["error"]["code"] == "insufficient_stock"
    assert short.json()["error"]["fields"] == {"items.1.modifiers.1": ["Only 1 left of Guacamole."]}
    with tenant_context(all_tenants=True):
        sales = StockMovement.objects.filter(inventory_item=menu["guac_stock"], movement_type=MovementType.SALE)
        assert list(sales.values_list("quantity", "reference_id")) == [(D("-2"), placed.json()["id"])]
        assert OrderItem.objects.count() == 1


def test_cancelling_gives_back_the_options_stock(api, menu):
    placed = order(api(), line(menu["burrito"], 1, (menu["chicken"], 1), (menu["guac"], 3))).json()

    api().post(f"/api/v1/orders/{placed['id']}/status/", {"status": "cancelled"}, format="json")

    assert stock_of(menu["guac_stock"]) == D("3")


def test_placing_an_order_costs_the_same_queries_for_1_or_20_lines_with_modifiers(api, menu, count_queries):
    client = api()
    with tenant_context(all_tenants=True):
        menu["guac_stock"].current_stock = D("1000")
        menu["guac_stock"].save(update_fields=["current_stock"])
    burrito = line(menu["burrito"], 1, (menu["beef"], 1), (menu["habanero"], 1), (menu["guac"], 2))

    one = count_queries(lambda: order(client, burrito))
    twenty = count_queries(lambda: order(client, *[burrito] * 10, *[line(menu["taco"], 2, (menu["roja"], 1))] * 10))

    assert one == twenty
