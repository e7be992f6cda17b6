"""Another tenant's objects are 404 on every endpoint of the API, menu, stock and orders alike (never 403,
never their data), and ids of theirs in a request body are unknown."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from inventory import selectors as inventory_selectors
from inventory.models import InventoryItem, Product, RestockOrder, Supplier
from pos import selectors as pos_selectors
from pos.models import Order, Payment
from tenants.context import NO_TENANT, tenant_context
from tests.inventory.factories import InventoryItemFactory, ProductFactory, SupplierFactory
from tests.pos.helpers import place
from tests.tenants.factories import PlatformOwnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def theirs(rival, api_client_for):
    """The rival restaurant's objects, made through its own API."""
    client = api_client_for(rival["manager"])
    item = InventoryItemFactory(restaurant=rival.restaurant, current_stock=Decimal("10"))
    supplier = SupplierFactory(restaurant=rival.restaurant)
    order = place(client, [(item.product, 1)]).json()
    payment = client.post(
        f"/api/v1/orders/{order['id']}/payments/", {"payment_method": "card", "amount": "1.00"}, format="json"
    ).json()["payment"]
    restock = client.post("/api/v1/inventory/restock-orders/", {
        "supplier_id": supplier.pk, "items": [{"inventory_item_id": item.pk, "quantity_ordered": "5", "unit_cost": "1.00"}],
    }, format="json").json()
    return {
        "category": item.product.category_id, "product": item.product_id, "item": item.pk, "supplier": supplier.pk,
        "order": order["id"], "payment": payment["id"], "restock": restock["id"],
    }


REQUESTS = [
    ("get", "/api/v1/categories/{category}/", None),
    ("patch", "/api/v1/categories/{category}/", {"name": "Mine now"}),
    ("get", "/api/v1/products/{product}/", None),
    ("patch", "/api/v1/products/{product}/", {"price": "0.01"}),
    ("delete", "/api/v1/products/{product}/", None),
    ("get", "/api/v1/inventory/items/{item}/", None),
    ("patch", "/api/v1/inventory/items/{item}/", {"reorder_point": "99"}),
    ("post", "/api/v1/inventory/items/{item}/adjust/", {"quantity": "-10", "movement_type": "waste"}),
    ("get", "/api/v1/inventory/suppliers/{supplier}/", None),
    ("patch", "/api/v1/inventory/suppliers/{supplier}/", {"name": "Mine now"}),
    ("get", "/api/v1/inventory/restock-orders/{restock}/", None),
    ("post", "/api/v1/inventory/restock-orders/{restock}/receive/", {}),
    ("get", "/api/v1/orders/{order}/", None),
    ("post", "/api/v1/orders/{order}/status/", {"status": "cancelled"}),
    ("post", "/api/v1/orders/{order}/payments/", {"payment_method": "card", "amount": "1.00"}),
    ("post", "/api/v1/payments/{payment}/refunds/", {"amount": "1.00"}),
]


def _snapshot():
    with tenant_context(all_tenants=True):
        return (
            list(Product.objects.values_list("pk", "price", "is_active", "name").order_by("pk")),
            list(InventoryItem.objects.values_list("pk", "current_stock", "reorder_point").order_by("pk")),
            list(Supplier.objects.values_list("pk", "name").order_by("pk")),
            list(RestockOrder.objects.values_list("pk", "status").order_by("pk")),
            list(Order.objects.values_list("pk", "status").order_by("pk")),
            Payment.objects.count(),
        )


@pytest.mark.parametrize("method, path, body", REQUESTS, ids=[f"{m} {p}" for m, p, _ in REQUESTS])
def test_another_restaurants_object_is_404_and_untouched(api, theirs, method, path, body):
    before = _snapshot()

    response = getattr(api("restaurant_owner"), method)(path.format(**theirs), body, format="json")

    assert response.status_code == 404, response.json()
    assert response.json()["error"]["code"] == "not_found"
    # the message names what was looked for, as staff's and the restaurants' 404s do
    assert re.fullmatch(r"No such [a-z ]+\.", response.json()["error"]["message"])
    assert _snapshot() == before


@pytest.mark.parametrize("method, path, body", REQUESTS, ids=[f"{m} {p}" for m, p, _ in REQUESTS])
def test_another_platforms_owner_gets_404_with_the_restaurant_header(rival, theirs, api_client_for, method, path, body):
    owner = api_client_for(PlatformOwnerFactory())

    response = getattr(owner, method)(path.format(**theirs), body, format="json",
                                      HTTP_X_RESTAURANT_ID=str(rival.restaurant.pk))

    assert response.status_code == 404


def test_lists_show_only_the_own_restaurant(api, theirs, shop):
    ProductFactory(restaurant=shop.restaurant)
    client = api("manager")
    for path in ("/api/v1/categories/", "/api/v1/products/", "/api/v1/inventory/items/", "/api/v1/inventory/suppliers/"):
        rows = client.get(path).json()
        assert {row["restaurant_id"] for row in rows} <= {shop.restaurant.pk}, path
    for path in ("/api/v1/orders/", "/api/v1/inventory/restock-orders/"):
        assert client.get(path).json()["results"] == [], path


def test_anothers_ids_in_a_body_are_refused_as_unknown(api, theirs):
    client = api("manager")

    order = place(client, [(Product(pk=theirs["product"]), 1)])
    product = client.post("/api/v1/products/", {"name": "X", "price": "1.00", "category_id": theirs["category"]},
                          format="json")
    restock = client.post("/api/v1/inventory/restock-orders/", {
        "supplier_id": theirs["supplier"],
        "items": [{"inventory_item_id": theirs["item"], "quantity_ordered": "1", "unit_cost": "1.00"}],
    }, format="json")

    assert order.status_code == 400 and order.json()["error"]["fields"] == {"items.0.product_id": ["No such product."]}
    assert product.status_code == 400 and "category_id" in product.json()["error"]["fields"]
    assert restock.status_code == 400 and "supplier_id" in restock.json()["error"]["fields"]


def test_the_second_wall_fails_closed_without_a_tenant(theirs):
    # given a database context that shows every tenant's rows (RLS is wide open here)
    with tenant_context(all_tenants=True):
        assert Product.objects.exists() and Order.objects.exists()
        # when the code asks for no tenant's rows, then it gets none (not everything RLS shows)
        assert not inventory_selectors.product_list(tenant=NO_TENANT).exists()
        assert not inventory_selectors.inventory_item_list(tenant=NO_TENANT).exists()
        assert not pos_selectors.order_list(tenant=NO_TENANT).exists()
