"""POST/GET /api/v1/orders/: server-side pricing, order numbers, stock, status transitions."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import MovementType, StockMovement
from pos.models import Order, OrderItem, OrderStatus
from staff.models import Employee
from tenants.context import tenant_context
from tests.inventory.factories import InventoryItemFactory, ProductFactory
from tests.pos.helpers import place, stock_of
from tests.tenants.factories import PlatformOwnerFactory, RestaurantSettingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def menu(shop):
    r = shop.restaurant
    return {
        "taco": ProductFactory(restaurant=r, name="Taco", price=Decimal("3.50")),
        "burrito": ProductFactory(restaurant=r, name="Burrito", price=Decimal("4.25")),
    }


def test_an_order_is_priced_by_the_server(api, shop, menu):
    # given a client that sends its own (wrong) totals and prices
    body_extra = {"subtotal": "1.00", "total_amount": "0.01", "tax_amount": "0", "table_number": "7",
                  "customer_name": "Ana"}

    # when
    response = place(api("cashier"), [(menu["taco"], 2), (menu["burrito"], 1)], **body_extra)

    # then: 2 x 3.50 + 4.25 = 11.25; VAT 20 % = 2.25; service 12.5 % = 1.40625 -> 1.41
    assert response.status_code == 201, response.json()
    order = response.json()
    assert order["subtotal"] == "11.25"
    assert order["tax_amount"] == "2.25"
    assert order["service_charge"] == "1.41"
    assert order["discount_amount"] == "0.00"
    assert order["total_amount"] == "14.91"
    assert order["status"] == "confirmed"
    assert order["restaurant_id"] == shop.restaurant.pk
    assert order["table_number"] == "7" and order["customer_name"] == "Ana"
    assert [(i["product_id"], i["quantity"], i["unit_price"], i["total_price"]) for i in order["items"]] == [
        (menu["taco"].pk, 2, "3.50", "7.00"), (menu["burrito"].pk, 1, "4.25", "4.25"),
    ]
    assert order["items_count"] == 2 and order["payments"] == [] and order["amount_paid"] == "0.00"
    with tenant_context(all_tenants=True):
        stored = Order.objects.get(pk=order["id"])
    assert stored.total_amount == Decimal("14.91")
    assert stored.created_by_id == shop["cashier"].pk


def test_the_discount_comes_off_before_vat_and_service(api, menu):
    response = place(api("manager"), [(menu["taco"], 2), (menu["burrito"], 1)], discount_amount="1.25")

    order = response.json()
    # taxable 10.00: VAT 2.00, service 1.25; total 11.25 - 1.25 + 2.00 + 1.25
    assert (order["subtotal"], order["discount_amount"], order["tax_amount"], order["service_charge"],
            order["total_amount"]) == ("11.25", "1.25", "2.00", "1.25", "13.25")
    total = Decimal(order["subtotal"]) + Decimal(order["tax_amount"]) + Decimal(order["service_charge"]) - Decimal(
        order["discount_amount"]
    )
    assert total == Decimal(order["total_amount"])


def test_the_restaurants_own_rates_apply(api, shop, menu):
    RestaurantSettingFactory(restaurant=shop.restaurant, setting_key="vat_rate", setting_value="5")
    RestaurantSettingFactory(restaurant=shop.restaurant, setting_key="service_charge_rate", setting_value="0")

    order = place(api(), [(menu["taco"], 3)]).json()

    assert (order["subtotal"], order["tax_amount"], order["service_charge"], order["total_amount"]) == (
        "10.50", "0.53", "0.00", "11.03",
    )


def test_rates_set_through_the_restaurants_api_are_the_ones_the_till_charges(api, shop, menu):
    # given: the owner sets the rates as people write them, "10%" and "5"
    restaurant = f"/api/v1/restaurants/{shop.restaurant.pk}/"
    changed = api("restaurant_owner").patch(
        restaurant, {"settings": {"service_charge_rate": "10%", "vat_rate": "5"}}, format="json"
    )
    assert changed.status_code == 200, changed.content
    # when a cashier takes an order of 3 x 3.50
    order = place(api(), [(menu["taco"], 3)]).json()
    # then the till charges what the restaurant shows: VAT 5 % of 10.50 = 0.525 -> 0.53, service 10 % = 1.05
    shown = api("manager").get(restaurant).json()["settings"]
    assert (shown["vat_rate"], shown["service_charge_rate"]) == ("5.00", "10.00")
    assert (order["subtotal"], order["tax_amount"], order["service_charge"], order["total_amount"]) == (
        "10.50", "0.53", "1.05", "12.08",
    )


def test_a_broken_rate_setting_stops_the_till_with_a_clear_error(api, shop, menu):
    RestaurantSettingFactory(restaurant=shop.restaurant, setting_key="vat_rate", setting_value="twenty")

    response = place(api(), [(menu["taco"], 1)])

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_restaurant_setting"
    # and the restaurants API does not pretend the default applies
    shown = api("manager").get(f"/api/v1/restaurants/{shop.restaurant.pk}/").json()["settings"]
    assert shown["vat_rate"] is None


def test_order_numbers_are_per_restaurant_per_day_and_readable(api, shop, menu, rival, api_client_for):
    first = place(api(), [(menu["taco"], 1)]).json()["order_number"]
    second = place(api(), [(menu["taco"], 1)]).json()["order_number"]
    theirs = place(api_client_for(rival["cashier"]), [(ProductFactory(restaurant=rival.restaurant), 1)]).json()

    today = timezone.localdate().strftime("%Y%m%d")
    assert first == f"{shop.restaurant.pk}-{today}-0001"
    assert second == f"{shop.restaurant.pk}-{today}-0002"
    assert theirs["order_number"] == f"{rival.restaurant.pk}-{today}-0001"


def test_a_failed_order_gives_its_number_back(api, shop, menu):
    item = InventoryItemFactory(restaurant=shop.restaurant, current_stock=Decimal("0"))
    assert place(api(), [(item.product, 1)]).status_code == 409

    number = place(api(), [(menu["taco"], 1)]).json()["order_number"]

    assert re.fullmatch(rf"{shop.restaurant.pk}-\d{{8}}-0001", number)


def test_the_server_is_the_users_employee(api, shop, menu):
    with tenant_context(all_tenants=True):
        employee = Employee.objects.create(
            restaurant=shop.restaurant, user=shop["server"], hire_date=datetime.date(2024, 1, 1)
        )

    order = place(api("server"), [(menu["taco"], 1)]).json()

    assert order["served_by_id"] == employee.pk
    assert order["created_by_id"] == shop["server"].pk


@pytest.mark.parametrize(
    "body, field",
    [
        ({"items": []}, "items"),
        ({"items": None}, "items"),
        ({"items": [{"product_id": 1}]}, "items.0.quantity"),
        ({"items": [{"product_id": "x", "quantity": 1}]}, "items.0.product_id"),
        ({"order_type": "drive_through"}, "order_type"),
        ({"discount_amount": "-1.00"}, "discount_amount"),
        ({"discount_amount": "0.001"}, "discount_amount"),
    ],
)
def test_bad_input_names_the_field(api, menu, body, field):
    payload = {"items": [{"product_id": menu["taco"].pk, "quantity": 1}], **body}

    response = api().post("/api/v1/orders/", payload, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert any(name == field or name.startswith(f"{field}.non_field") for name in error["fields"]), error


def test_a_zero_quantity_is_refused(api, menu):
    response = place(api(), [(menu["taco"], 0)])

    assert response.status_code == 400
    assert "items.0.quantity" in response.json()["error"]["fields"]


def test_unknown_inactive_and_foreign_products_are_refused_by_position(api, shop, menu, rival):
    inactive = ProductFactory(restaurant=shop.restaurant, is_active=False)
    hidden = ProductFactory(restaurant=shop.restaurant, available_in_pos=False)
    foreign = ProductFactory(restaurant=rival.restaurant)

    response = place(api(), [(menu["taco"], 1), (inactive, 1), (hidden, 1), (foreign, 1)])

    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"items.1.product_id", "items.2.product_id", "items.3.product_id"}
    assert fields["items.3.product_id"] == ["No such product."]
    with tenant_context(all_tenants=True):
        assert Order.objects.count() == 0


def test_a_discount_larger_than_the_items_is_refused(api, menu):
    response = place(api(), [(menu["taco"], 1)], discount_amount="3.51")

    assert response.status_code == 400
    assert "discount_amount" in response.json()["error"]["fields"]


def test_tracked_products_leave_stock_with_a_sale_movement(api, shop, menu):
    item = InventoryItemFactory(restaurant=shop.restaurant, current_stock=Decimal("5"))

    order = place(api(), [(item.product, 2), (menu["taco"], 1), (item.product, 1)]).json()

    assert stock_of(item) == Decimal("2")
    with tenant_context(all_tenants=True):
        movements = list(StockMovement.objects.filter(inventory_item=item).values_list(
            "movement_type", "quantity", "reference_type", "reference_id"))
    assert movements == [(MovementType.SALE, Decimal("-3"), "order", order["id"])]


def test_an_order_that_would_oversell_is_409_and_changes_nothing(api, shop, menu):
    item = InventoryItemFactory(restaurant=shop.restaurant, current_stock=Decimal("2"))

    response = place(api(), [(menu["taco"], 1), (item.product, 3)])

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "insufficient_stock"
    assert error["fields"] == {"items.1.quantity": ["Only 2 left."]}
    assert stock_of(item) == Decimal("2")
    with tenant_context(all_tenants=True):
        assert (Order.objects.count(), OrderItem.objects.count(), StockMovement.objects.count()) == (0, 0, 0)


def test_a_tracked_product_without_stock_row_cannot_be_sold(api, shop):
    product = ProductFactory(restaurant=shop.restaurant, track_inventory=True)

    response = place(api(), [(product, 1)])

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_stock"


# --- Reading ----------------------------------------------------------------------------


def test_detail_has_items_and_payments(api, menu):
    order = place(api(), [(menu["taco"], 2)]).json()
    api().post(f"/api/v1/orders/{order['id']}/payments/", {"payment_method": "card", "amount": "5.00"}, format="json")

    detail = api("cook").get(f"/api/v1/orders/{order['id']}/").json()

    assert detail["items"][0]["product_name"] == "Taco"
    assert [(p["payment_method"], p["amount"]) for p in detail["payments"]] == [("card", "5.00")]
    assert detail["amount_paid"] == "5.00"


def test_the_list_filters_by_status_and_date_and_pages_by_cursor(api, shop, menu):
    ids = [place(api(), [(menu["taco"], 1)]).json()["id"] for _ in range(5)]
    with tenant_context(all_tenants=True):
        Order.objects.filter(pk=ids[0]).update(created_at=timezone.now() - datetime.timedelta(days=3))
        Order.objects.filter(pk=ids[1]).update(status=OrderStatus.CANCELLED)
    client = api("manager")

    first = client.get("/api/v1/orders/", {"page_size": 2}).json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()
    cancelled = client.get("/api/v1/orders/", {"status": "cancelled"}).json()
    today = timezone.localdate().isoformat()
    todays = client.get("/api/v1/orders/", {"date_from": today, "date_to": today}).json()
    old = (timezone.localdate() - datetime.timedelta(days=3)).isoformat()
    olds = client.get("/api/v1/orders/", {"date_to": old}).json()

    paged = [o["id"] for page in (first, second, third) for o in page["results"]]
    assert paged == [ids[4], ids[3], ids[2], ids[1], ids[0]]
    assert third["next"] is None
    assert [o["id"] for o in cancelled["results"]] == [ids[1]]
    assert sorted(o["id"] for o in todays["results"]) == sorted(ids[1:])
    assert [o["id"] for o in olds["results"]] == [ids[0]]


def test_bad_list_filters_are_400(api):
    client = api("manager")
    assert client.get("/api/v1/orders/", {"status": "lost"}).status_code == 400
    response = client.get("/api/v1/orders/", {"date_from": "2025-03-02", "date_to": "2025-03-01"})
    assert response.status_code == 400 and "date_to" in response.json()["error"]["fields"]


# --- Status ---------------------------------------------------------------------------------


def _status(client, order_id, status):
    return client.post(f"/api/v1/orders/{order_id}/status/", {"status": status}, format="json")


def test_the_kitchen_moves_an_order_along(api, menu):
    order = place(api(), [(menu["taco"], 1)]).json()

    assert _status(api("cook"), order["id"], "preparing").json()["status"] == "preparing"
    assert _status(api("cook"), order["id"], "ready").json()["status"] == "ready"
    assert _status(api("cook"), order["id"], "ready").status_code == 200  # repeating is harmless


def test_a_transition_not_allowed_is_409(api, menu):
    order = place(api(), [(menu["taco"], 1)]).json()
    _status(api(), order["id"], "preparing")

    response = _status(api(), order["id"], "draft")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"


def test_an_unpaid_order_cannot_be_completed(api, menu):
    order = place(api(), [(menu["taco"], 1)]).json()

    response = _status(api(), order["id"], "completed")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "order_not_paid"


def test_a_cook_may_not_cancel(api, menu):
    order = place(api(), [(menu["taco"], 1)]).json()

    response = _status(api("cook"), order["id"], "cancelled")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_cancelling_returns_the_stock_once(api, shop):
    item = InventoryItemFactory(restaurant=shop.restaurant, current_stock=Decimal("5"))
    order = place(api(), [(item.product, 2)]).json()
    assert stock_of(item) == Decimal("3")

    response = _status(api("server"), order["id"], "cancelled")

    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert stock_of(item) == Decimal("5")
    assert _status(api(), order["id"], "confirmed").status_code == 409
    assert stock_of(item) == Decimal("5")


def test_a_paid_order_must_be_refunded_before_cancelling(api, menu):
    order = place(api(), [(menu["taco"], 2)]).json()
    api().post(f"/api/v1/orders/{order['id']}/payments/", {"payment_method": "cash", "amount": "1.00"}, format="json")

    response = _status(api("manager"), order["id"], "cancelled")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "order_has_payments"


# --- Platform owners --------------------------------------------------------------------


def test_a_platform_owner_must_name_the_restaurant_to_order(shop, menu, api_client_for):
    owner = api_client_for(PlatformOwnerFactory(platform=shop.restaurant.platform))

    without = place(owner, [(menu["taco"], 1)])
    narrowed = owner.post(
        "/api/v1/orders/", {"items": [{"product_id": menu["taco"].pk, "quantity": 1}]}, format="json",
        HTTP_X_RESTAURANT_ID=str(shop.restaurant.pk),
    )

    assert without.status_code == 400
    assert without.json()["error"]["code"] == "restaurant_required"
    assert narrowed.status_code == 201, narrowed.json()
    assert narrowed.json()["restaurant_id"] == shop.restaurant.pk
    assert owner.get("/api/v1/orders/").json()["results"][0]["id"] == narrowed.json()["id"]


def test_roles_that_may_not_order(api, menu):
    assert place(api("cook"), [(menu["taco"], 1)]).status_code == 403
    assert place(api("server"), [(menu["taco"], 1)]).status_code == 201
    assert place(api("restaurant_owner"), [(menu["taco"], 1)]).status_code == 201


def test_no_token_is_401(menu, client):
    response = client.post("/api/v1/orders/", {}, content_type="application/json")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
