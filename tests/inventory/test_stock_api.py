"""/api/v1/inventory/: stock levels, adjustments, suppliers, restock orders."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import MovementType, RestockStatus, StockMovement
from tenants.context import tenant_context
from tests.inventory.factories import InventoryItemFactory, SupplierFactory
from tests.pos.helpers import stock_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(shop):
    r = shop.restaurant
    return {
        "low": InventoryItemFactory(restaurant=r, current_stock=Decimal("3"), reorder_point=Decimal("3")),
        "plenty": InventoryItemFactory(restaurant=r, current_stock=Decimal("50"), reorder_point=Decimal("10")),
    }


@pytest.mark.parametrize("role", ["restaurant_owner", "manager", "cashier", "server", "cook"])
def test_every_role_reads_stock(api, items, role):
    assert api(role).get("/api/v1/inventory/items/").status_code == 200


def test_stock_list_and_low_stock_filter(api, shop, items):
    client = api()

    everything = client.get("/api/v1/inventory/items/").json()
    low = client.get("/api/v1/inventory/items/", {"low_stock": "true"}).json()
    fine = client.get("/api/v1/inventory/items/", {"low_stock": "false"}).json()

    assert {i["id"] for i in everything} == {items["low"].pk, items["plenty"].pk}
    assert [(i["id"], i["product_id"], i["current_stock"], i["reorder_point"], i["is_low"]) for i in low] == [
        (items["low"].pk, items["low"].product_id, "3.000", "3.000", True),
    ]
    assert [i["id"] for i in fine] == [items["plenty"].pk]
    assert all(i["restaurant_id"] == shop.restaurant.pk for i in everything)


def test_a_manager_records_waste_and_corrections(api, shop, items):
    client = api("manager")
    path = f"/api/v1/inventory/items/{items['plenty'].pk}/adjust/"

    waste = client.post(path, {"quantity": "-2.5", "movement_type": "waste", "notes": "dropped"}, format="json")
    counted = client.post(path, {"quantity": "4", "movement_type": "adjustment"}, format="json")

    assert waste.status_code == 201, waste.json()
    assert (waste.json()["quantity"], waste.json()["current_stock"], waste.json()["movement_type"]) == (
        "-2.500", "47.500", "waste",
    )
    assert waste.json()["total_cost"] == "5.00"  # 2.5 x 2.00
    assert counted.json()["current_stock"] == "51.500"
    assert stock_of(items["plenty"]) == Decimal("51.5")
    with tenant_context(all_tenants=True):
        movements = list(StockMovement.objects.order_by("pk").values_list("movement_type", "quantity", "created_by"))
    assert movements == [
        (MovementType.WASTE, Decimal("-2.5"), shop["manager"].pk),
        (MovementType.ADJUSTMENT, Decimal("4"), shop["manager"].pk),
    ]


def test_an_adjustment_never_takes_stock_below_zero(api, items):
    response = api("manager").post(
        f"/api/v1/inventory/items/{items['low'].pk}/adjust/", {"quantity": "-3.001", "movement_type": "adjustment"},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_stock"
    assert stock_of(items["low"]) == Decimal("3")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"quantity": "2", "movement_type": "waste"}, "quantity"),
        ({"quantity": "0", "movement_type": "adjustment"}, "quantity"),
        ({"quantity": "1", "movement_type": "sale"}, "movement_type"),
        ({"quantity": "1", "movement_type": "restock"}, "movement_type"),
        ({"movement_type": "adjustment"}, "quantity"),
        ({"quantity": "1.0001", "movement_type": "adjustment"}, "quantity"),
    ],
)
def test_bad_adjustments_name_the_field(api, items, body, field):
    response = api("manager").post(f"/api/v1/inventory/items/{items['low'].pk}/adjust/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


@pytest.mark.parametrize("role", ["cashier", "server", "cook"])
def test_only_managers_and_owners_adjust(api, items, role):
    response = api(role).post(
        f"/api/v1/inventory/items/{items['low'].pk}/adjust/", {"quantity": "1", "movement_type": "adjustment"},
        format="json",
    )

    assert response.status_code == 403


def test_thresholds_and_supplier_of_an_item_are_changed(api, shop, items):
    supplier = SupplierFactory(restaurant=shop.restaurant)

    response = api("manager").patch(
        f"/api/v1/inventory/items/{items['low'].pk}/", {"reorder_point": "1", "supplier_id": supplier.pk}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["reorder_point"], response.json()["supplier_id"], response.json()["is_low"]) == (
        "1.000", supplier.pk, False,
    )


# --- Suppliers ------------------------------------------------------------------------------


def test_suppliers_are_listed_created_and_updated(api, shop):
    client = api("manager")

    created = client.post("/api/v1/inventory/suppliers/", {
        "name": "Fresh Foods", "email": "maria@fresh.test", "payment_terms": "Net 30",
    }, format="json")
    updated = client.patch(f"/api/v1/inventory/suppliers/{created.json()['id']}/", {"phone": "+44 20 1"}, format="json")
    listed = client.get("/api/v1/inventory/suppliers/").json()

    assert created.status_code == 201 and created.json()["restaurant_id"] == shop.restaurant.pk
    assert updated.json()["phone"] == "+44 20 1" and updated.json()["payment_terms"] == "Net 30"
    assert [s["name"] for s in listed] == ["Fresh Foods"]


def test_bad_supplier_input_is_400(api):
    response = api("manager").post("/api/v1/inventory/suppliers/", {"name": "", "email": "nope"}, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"name", "email"}


@pytest.mark.parametrize("role", ["cashier", "server", "cook"])
def test_staff_do_not_see_suppliers(api, role):
    assert api(role).get("/api/v1/inventory/suppliers/").status_code == 403


# --- Restock orders -------------------------------------------------------------------------


@pytest.fixture
def restock(api, shop, items):
    supplier = SupplierFactory(restaurant=shop.restaurant)
    response = api("manager").post("/api/v1/inventory/restock-orders/", {
        "supplier_id": supplier.pk,
        "expected_delivery": "2030-01-02",
        "items": [
            {"inventory_item_id": items["low"].pk, "quantity_ordered": "10", "unit_cost": "1.25"},
            {"inventory_item_id": items["plenty"].pk, "quantity_ordered": "3", "unit_cost": "0.33"},
        ],
    }, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_restock_order_is_created_with_its_total(restock, shop):
    assert restock["status"] == "ordered"
    assert restock["total_amount"] == "13.49"  # 12.50 + 3 x 0.33
    assert restock["order_number"] == f"PO-{shop.restaurant.pk}-{restock['id']:06d}"
    assert [line["total_cost"] for line in restock["items"]] == ["12.50", "0.99"]


def test_receiving_raises_stock_with_restock_movements_once(api, items, restock):
    client = api("manager")
    path = f"/api/v1/inventory/restock-orders/{restock['id']}/receive/"

    received = client.post(path, {}, format="json")
    again = client.post(path, {}, format="json")

    assert received.status_code == 200
    assert received.json()["status"] == RestockStatus.DELIVERED
    assert received.json()["actual_delivery"] == timezone.localdate().isoformat()
    assert [line["quantity_received"] for line in received.json()["items"]] == ["10.000", "3.000"]
    assert stock_of(items["low"]) == Decimal("13") and stock_of(items["plenty"]) == Decimal("53")
    with tenant_context(all_tenants=True):
        restocks = StockMovement.objects.filter(movement_type=MovementType.RESTOCK, reference_id=restock["id"])
        assert sorted(restocks.values_list("quantity", flat=True)) == [Decimal("3"), Decimal("10")]
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "restock_order_closed"


def test_a_partial_delivery_receives_what_arrived(api, items, restock):
    first_line = restock["items"][0]["id"]

    response = api("manager").post(
        f"/api/v1/inventory/restock-orders/{restock['id']}/receive/",
        {"items": [{"id": first_line, "quantity_received": "4"}]}, format="json",
    )

    assert response.status_code == 200
    assert stock_of(items["low"]) == Decimal("7") and stock_of(items["plenty"]) == Decimal("50")


def test_receiving_an_unknown_line_is_400(api, restock):
    response = api("manager").post(
        f"/api/v1/inventory/restock-orders/{restock['id']}/receive/",
        {"items": [{"id": 999999, "quantity_received": "4"}]}, format="json",
    )

    assert response.status_code == 400


def test_restock_orders_are_listed_newest_first(api, restock):
    listed = api("manager").get("/api/v1/inventory/restock-orders/").json()

    assert [o["id"] for o in listed["results"]] == [restock["id"]]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"items": []}, "items"),
        ({"items": [{"inventory_item_id": 1, "quantity_ordered": "0", "unit_cost": "1.00"}]}, "items.0.quantity_ordered"),
        ({"supplier_id": None}, "supplier_id"),
    ],
)
def test_bad_restock_orders_are_400(api, shop, items, body, field):
    supplier = SupplierFactory(restaurant=shop.restaurant)
    payload = {"supplier_id": supplier.pk, **body}
    payload.setdefault("items", [{"inventory_item_id": items["low"].pk, "quantity_ordered": "1", "unit_cost": "1.00"}])

    response = api("manager").post("/api/v1/inventory/restock-orders/", payload, format="json")

    assert response.status_code == 400
    assert any(name.startswith(field) for name in response.json()["error"]["fields"]), response.json()
