"""/api/v1/categories/ and /api/v1/products/: reading for every role, writing for owners and managers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.models import InventoryItem, Product
from tenants.context import tenant_context
from tests.inventory.factories import CategoryFactory, ProductFactory
from tests.tenants.factories import PlatformOwnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def menu(shop):
    r = shop.restaurant
    tacos, drinks = CategoryFactory(restaurant=r, name="Tacos"), CategoryFactory(restaurant=r, name="Drinks")
    return {
        "tacos": tacos,
        "drinks": drinks,
        "taco": ProductFactory(restaurant=r, category=tacos, name="Carnitas", price=Decimal("3.50")),
        "cola": ProductFactory(restaurant=r, category=drinks, name="Cola", price=Decimal("2.00")),
        "old": ProductFactory(restaurant=r, category=drinks, name="Old cola", is_active=False),
        "backroom": ProductFactory(restaurant=r, category=drinks, name="Backroom", available_in_pos=False),
    }


@pytest.mark.parametrize("role", ["restaurant_owner", "manager", "cashier", "server", "cook"])
def test_every_role_reads_the_menu(api, menu, role):
    response = api(role).get("/api/v1/products/")

    assert response.status_code == 200
    assert {p["name"] for p in response.json()} == {"Carnitas", "Cola", "Old cola", "Backroom"}


def test_products_have_money_as_strings_and_their_restaurant(api, shop, menu):
    product = api().get(f"/api/v1/products/{menu['taco'].pk}/").json()

    assert product["price"] == "3.50"
    assert product["restaurant_id"] == shop.restaurant.pk
    assert product["category_id"] == menu["tacos"].pk


def test_product_filters(api, menu):
    client = api()

    def names(**params):
        return sorted(p["name"] for p in client.get("/api/v1/products/", params).json())

    assert names(category=menu["drinks"].pk) == ["Backroom", "Cola", "Old cola"]
    assert names(is_active="true", available_in_pos="true") == ["Carnitas", "Cola"]
    assert names(is_active="false") == ["Old cola"]
    assert names(available_in_pos="false") == ["Backroom"]
    assert client.get("/api/v1/products/", {"is_active": "maybe"}).status_code == 400


def test_categories_list_in_display_order(api, menu):
    response = api("cook").get("/api/v1/categories/")

    assert [c["name"] for c in response.json()] == ["Tacos", "Drinks"]


def test_a_manager_creates_updates_and_deactivates_a_product(api, shop, menu):
    client = api("manager")

    created = client.post("/api/v1/products/", {
        "name": "Pescado", "price": "4.10", "category_id": menu["tacos"].pk, "sku": "PES-1", "track_inventory": True,
    }, format="json")
    assert created.status_code == 201, created.json()
    product_id = created.json()["id"]
    changed = client.patch(f"/api/v1/products/{product_id}/", {"price": "4.20"}, format="json")
    deactivated = client.delete(f"/api/v1/products/{product_id}/")

    assert created.json()["price"] == "4.10" and created.json()["is_active"] is True
    assert changed.status_code == 200 and changed.json()["price"] == "4.20"
    assert deactivated.status_code == 200 and deactivated.json()["is_active"] is False
    with tenant_context(all_tenants=True):
        product = Product.objects.get(pk=product_id)
        assert (product.price, product.is_active, product.restaurant_id) == (Decimal("4.20"), False, shop.restaurant.pk)
        # a product that tracks inventory gets its (empty) stock row
        assert InventoryItem.objects.get(product=product).current_stock == 0


@pytest.mark.parametrize(
    "body, field",
    [
        ({"price": "1.00"}, "name"),
        ({"name": "X"}, "price"),
        ({"name": "X", "price": "-1.00"}, "price"),
        ({"name": "X", "price": "1.005"}, "price"),
        ({"name": "X", "price": "1.00", "category_id": 999999}, "category_id"),
    ],
)
def test_bad_product_input_names_the_field(api, body, field):
    response = api("manager").post("/api/v1/products/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_a_duplicate_sku_is_400_on_the_sku(api, menu):
    client = api("manager")
    client.post("/api/v1/products/", {"name": "A", "price": "1.00", "sku": "DUP"}, format="json")

    response = client.post("/api/v1/products/", {"name": "B", "price": "1.00", "sku": "DUP"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"sku": ["A product with this SKU exists."]}


@pytest.mark.parametrize("role", ["cashier", "server", "cook"])
def test_staff_may_not_change_the_menu(api, menu, role):
    client = api(role)

    assert client.post("/api/v1/products/", {"name": "X", "price": "1.00"}, format="json").status_code == 403
    assert client.patch(f"/api/v1/products/{menu['taco'].pk}/", {"price": "0.01"}, format="json").status_code == 403
    assert client.delete(f"/api/v1/products/{menu['taco'].pk}/").status_code == 403
    assert client.post("/api/v1/categories/", {"name": "X"}, format="json").status_code == 403


def test_categories_are_created_and_renamed(api, shop):
    client = api("restaurant_owner")

    created = client.post("/api/v1/categories/", {"name": "Sides", "icon": "🍟", "display_order": 5}, format="json")
    duplicate = client.post("/api/v1/categories/", {"name": "Sides"}, format="json")
    renamed = client.patch(f"/api/v1/categories/{created.json()['id']}/", {"name": "Extras"}, format="json")

    assert created.status_code == 201 and created.json()["restaurant_id"] == shop.restaurant.pk
    assert duplicate.status_code == 400 and "name" in duplicate.json()["error"]["fields"]
    assert renamed.json()["name"] == "Extras"


def test_a_platform_owner_reads_the_platform_and_writes_to_one_restaurant(shop, menu, api_client_for):
    owner = api_client_for(PlatformOwnerFactory(platform=shop.restaurant.platform))

    listed = owner.get("/api/v1/products/")
    refused = owner.post("/api/v1/products/", {"name": "X", "price": "1.00"}, format="json")
    created = owner.post("/api/v1/products/", {"name": "X", "price": "1.00"}, format="json",
                         HTTP_X_RESTAURANT_ID=str(shop.restaurant.pk))

    assert listed.status_code == 200 and len(listed.json()) == 4
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "restaurant_required"
    assert created.status_code == 201 and created.json()["restaurant_id"] == shop.restaurant.pk


def test_unknown_product_is_404(api):
    assert api().get("/api/v1/products/999999/").status_code == 404


def test_products_without_sku_do_not_collide(api):
    client = api("manager")

    first = client.post("/api/v1/products/", {"name": "A", "price": "1.00", "sku": ""}, format="json")
    second = client.post("/api/v1/products/", {"name": "B", "price": "1.00", "sku": ""}, format="json")

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["sku"] is None
