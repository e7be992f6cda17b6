"""/api/v1/modifier-groups/ and /api/v1/modifier-options/: the menu's modifiers, read by every role,
written by owners and managers; the product endpoints show each product's groups and options."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.models import ModifierGroup, ProductModifierGroup
from tenants.context import tenant_context
from tests.inventory.factories import (
    InventoryItemFactory,
    ModifierGroupFactory,
    ModifierOptionFactory,
    ProductFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def burrito(shop):
    product = ProductFactory(restaurant=shop.restaurant, name="Burrito", price=Decimal("8.00"))
    filling = ModifierGroupFactory(
        restaurant=shop.restaurant, name="Filling", min_selected=1, max_selected=1, display_order=0, products=[product]
    )
    extras = ModifierGroupFactory(
        restaurant=shop.restaurant, name="Extras", allow_repeat=True, display_order=1, products=[product]
    )
    ModifierOptionFactory(group=filling, name="Chicken", price_change=Decimal("0.00"), display_order=0)
    ModifierOptionFactory(group=filling, name="Beef", price_change=Decimal("1.00"), display_order=1)
    ModifierOptionFactory(group=filling, name="Retired", is_active=False)
    ModifierOptionFactory(group=extras, name="No cheese", price_change=Decimal("-0.50"))
    ModifierGroupFactory(restaurant=shop.restaurant, name="Old sauces", is_active=False, products=[product])
    return product


@pytest.mark.parametrize("role", ["restaurant_owner", "manager", "cashier", "server", "cook"])
def test_every_role_sees_a_products_active_groups_and_options(api, burrito, role):
    product = api(role).get(f"/api/v1/products/{burrito.pk}/").json()

    groups = [(g["name"], g["min_selected"], g["max_selected"], g["allow_repeat"]) for g in product["modifier_groups"]]
    assert groups == [("Filling", 1, 1, False), ("Extras", 0, None, True)]
    options = [[(o["name"], o["price_change"]) for o in g["options"]] for g in product["modifier_groups"]]
    assert options == [[("Chicken", "0.00"), ("Beef", "1.00")], [("No cheese", "-0.50")]]


def test_a_manager_builds_a_group_adds_options_and_offers_it_with_products(api, shop):
    client = api("manager")
    item = InventoryItemFactory(restaurant=shop.restaurant, current_stock=Decimal("5"))
    taco, bowl = ProductFactory(restaurant=shop.restaurant), ProductFactory(restaurant=shop.restaurant)

    group = client.post("/api/v1/modifier-groups/", {"name": "Salsa", "min_selected": 1, "max_selected": 2},
                        format="json")
    assert group.status_code == 201, group.content
    group_id = group.json()["id"]
    option = client.post(f"/api/v1/modifier-groups/{group_id}/options/",
                         {"name": "Guacamole", "price_change": "1.50", "inventory_item_id": item.pk}, format="json")
    assert option.status_code == 201, option.content
    assert option.json()["price_change"] == "1.50" and option.json()["inventory_item_id"] == item.pk
    for product in (taco, bowl):
        response = client.patch(f"/api/v1/products/{product.pk}/", {"modifier_group_ids": [group_id]}, format="json")
        assert response.status_code == 200, response.content
        assert [g["id"] for g in response.json()["modifier_groups"]] == [group_id]

    shown = client.get(f"/api/v1/modifier-groups/{group_id}/").json()
    assert shown["product_ids"] == sorted([taco.pk, bowl.pk])
    assert [o["name"] for o in shown["options"]] == ["Guacamole"]
    # a product's groups are replaced as a list
    assert client.patch(f"/api/v1/products/{taco.pk}/", {"modifier_group_ids": []}, format="json").status_code == 200
    with tenant_context(all_tenants=True):
        assert list(ProductModifierGroup.objects.filter(group_id=group_id).values_list("product_id", flat=True)) == [bowl.pk]


def test_options_change_and_deactivate_and_groups_deactivate(api, shop):
    client = api("restaurant_owner")
    option = ModifierOptionFactory(group=ModifierGroupFactory(restaurant=shop.restaurant), name="Cheese")

    changed = client.patch(f"/api/v1/modifier-options/{option.pk}/", {"price_change": "-0.50"}, format="json")
    gone = client.delete(f"/api/v1/modifier-options/{option.pk}/")
    group_gone = client.delete(f"/api/v1/modifier-groups/{option.group_id}/")

    assert changed.json()["price_change"] == "-0.50"
    assert gone.json()["is_active"] is False
    assert group_gone.json()["is_active"] is False


@pytest.mark.parametrize("body, field", [
    ({"name": "Salsa", "min_selected": 3, "max_selected": 2}, "max_selected"),
    ({"name": "Salsa", "max_selected": 0}, "max_selected"),
    ({"name": "Salsa", "min_selected": -1}, "min_selected"),
    ({"name": "Taken"}, "name"),
])
def test_a_group_with_impossible_limits_or_a_taken_name_is_refused(api, shop, body, field):
    ModifierGroupFactory(restaurant=shop.restaurant, name="Taken")

    response = api("manager").post("/api/v1/modifier-groups/", body, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]


@pytest.mark.parametrize("role", ["cashier", "server", "cook"])
def test_staff_below_manager_cannot_write_modifiers(api, shop, role):
    group = ModifierGroupFactory(restaurant=shop.restaurant)

    assert api(role).post("/api/v1/modifier-groups/", {"name": "Nope"}, format="json").status_code == 403
    assert api(role).post(f"/api/v1/modifier-groups/{group.pk}/options/", {"name": "x"}, format="json").status_code == 403
    assert api(role).get("/api/v1/modifier-groups/").status_code == 200


def test_another_restaurants_groups_options_and_stock_are_404_or_refused(api, shop, rival):
    theirs = ModifierOptionFactory(group=ModifierGroupFactory(restaurant=rival.restaurant, name="Secret sauce"))
    their_item = InventoryItemFactory(restaurant=rival.restaurant)
    mine = ModifierGroupFactory(restaurant=shop.restaurant)
    product = ProductFactory(restaurant=shop.restaurant)
    client = api("manager")

    assert client.get(f"/api/v1/modifier-groups/{theirs.group_id}/").status_code == 404
    assert client.patch(f"/api/v1/modifier-options/{theirs.pk}/", {"name": "x"}, format="json").status_code == 404
    assert client.post(f"/api/v1/modifier-groups/{theirs.group_id}/options/", {"name": "x"}, format="json").status_code == 404
    assert "Secret sauce" not in client.get("/api/v1/modifier-groups/").content.decode()
    linked = client.patch(f"/api/v1/products/{product.pk}/", {"modifier_group_ids": [theirs.group_id]}, format="json")
    assert linked.status_code == 400 and list(linked.json()["error"]["fields"]) == ["modifier_group_ids"]
    stocked = client.post(f"/api/v1/modifier-groups/{mine.pk}/options/", {"name": "x", "inventory_item_id": their_item.pk},
                          format="json")
    assert stocked.status_code == 400 and list(stocked.json()["error"]["fields"]) == ["inventory_item_id"]
    with tenant_context(all_tenants=True):
        assert not ModifierGroup.objects.get(pk=mine.pk).options.exists()


def test_the_product_and_group_lists_cost_the_same_queries_for_1_or_20_products(api, shop, count_queries):
    client = api("manager")

    def menu_item():
        product = ProductFactory(restaurant=shop.restaurant)
        group = ModifierGroupFactory(restaurant=shop.restaurant, products=[product])
        ModifierOptionFactory(group=group)
        ModifierOptionFactory(group=group)

    menu_item()
    before = [count_queries(lambda: client.get(path)) for path in ("/api/v1/products/", "/api/v1/modifier-groups/")]
    for _ in range(19):
        menu_item()
    after = [count_queries(lambda: client.get(path)) for path in ("/api/v1/products/", "/api/v1/modifier-groups/")]

    assert after == before
