"""X reports (running figures) and Z reports (the close of a business day: numbered, stored, immutable)."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from pos.models import Order, ZReport
from tenants.context import tenant_context
from tests.inventory.factories import ProductFactory
from tests.pos.helpers import place

pytestmark = pytest.mark.django_db

Z = "/api/v1/reports/z/"
X = "/api/v1/reports/x/"


@pytest.fixture
def taco(shop):
    return ProductFactory(restaurant=shop.restaurant, name="Taco", price=Decimal("3.50"))


def order_of(api, taco, quantity=2):
    """Two tacos: 7.00 + VAT 1.40 + service 0.88 = 9.28."""
    return place(api("cashier"), [(taco, quantity)]).json()


def pay(client, order_id, **body):
    response = client.post(f"/api/v1/orders/{order_id}/payments/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_z_refuses_while_drawers_are_open(api):
    for till in ("Till 2", "Till 1"):
        api("cashier").post("/api/v1/drawers/", {"device_id": till, "opening_float": "50.00"}, format="json")

    response = api("manager").post(Z)

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "drawers_open" and "Till 1" in error["message"] and "Till 2" in error["message"]
    assert [name.split(" (")[0] for name in error["fields"]["drawers"]] == ["Till 1", "Till 2"]
    with tenant_context(all_tenants=True):
        assert not ZReport.objects.exists()


def test_a_day_closed_by_a_z_report(api, taco):
    # given: a drawer day on Till 1 (float 100.00)
    cashier, manager = api("cashier"), api("manager")
    drawer = cashier.post("/api/v1/drawers/", {"device_id": "Till 1", "opening_float": "100.00"}, format="json").json()
    first = order_of(api, taco)
    pay(cashier, first["id"], payment_method="card", amount="9.28", tip_amount="1.00", transaction_id="T-1")
    second = order_of(api, taco)
    cash = pay(cashier, second["id"], payment_method="cash", amount="9.28", device_id="Till 1")
    manager.post(f"/api/v1/payments/{cash['payment']['id']}/refunds/", {"amount": "3.00"}, format="json")
    cancelled = order_of(api, taco, 1)  # 3.50 + 0.70 + 0.44 = 4.64
    manager.post(f"/api/v1/orders/{cancelled['id']}/status/", {"status": "cancelled"}, format="json")
    still_open = order_of(api, taco)
    x = manager.get(X).json()
    assert x["figures"]["orders"] == 2 and x["since"] is None
    cashier.post(f"/api/v1/drawers/{drawer['id']}/close/", {"counted_amount": "106.00"}, format="json")

    # when
    response = manager.post(Z)

    # then
    body = response.json()
    assert response.status_code == 201, body
    assert body["number"] == 1 and body["business_date"] == timezone.localdate().isoformat()
    assert body["figures"] == {
        "orders": 2, "sales": "18.56", "vat": "2.80", "service_charge": "1.76", "discounts": "0.00", "tips": "1.00",
        "payments_by_method": {"card": {"amount": "9.28", "tips": "1.00", "count": 1},
                               "cash": {"amount": "9.28", "tips": "0.00", "count": 1}},
        "refunds": {"amount": "3.00", "tips": "0.00",
                    "by_method": {"cash": {"amount": "3.00", "tips": "0.00", "count": 1}}},
        "cancelled": {"orders": 1, "total": "4.64"},
        "first_order_number": first["order_number"], "last_order_number": cancelled["order_number"],
        "drawer_difference": "-0.28",  # 100.00 + 9.28 - 3.00 = 106.28 expected
    }
    assert [(d["device_id"], d["expected"], d["counted"], d["difference"]) for d in body["drawers"]] == [
        ("Till 1", "106.28", "106.00", "-0.28"),
    ]
    assert body["late_orders"] == []
    # the order still open waits for the next Z, which counts nothing twice
    pay(cashier, still_open["id"], payment_method="card", amount="9.28", transaction_id="T-2")
    again = manager.post(Z).json()
    assert again["number"] == 2
    assert (again["figures"]["orders"], again["figures"]["sales"]) == (1, "9.28")
    # it is dated before the first Z: listed as late for its day, not as this period's first order
    assert again["figures"]["first_order_number"] is None
    assert again["late_orders"][0]["orders"][0]["order_number"] == still_open["order_number"]
    assert manager.get(Z).json()[0]["number"] == 2


def test_a_late_offline_order_goes_on_the_next_z_and_never_changes_a_closed_one(api, taco):
    # given: a Z closed the day
    manager = api("manager")
    order_of(api, taco)
    closed = manager.post(Z).json()
    # when: an order sold 10 minutes before that Z arrives now, paid by card
    sold_at = datetime.datetime.fromisoformat(closed["generated_at"]) - datetime.timedelta(minutes=10)
    reference = str(uuid.uuid4())
    batch = {
        "orders": [{"client_reference": reference, "client_created_at": sold_at.isoformat(),
                    "items": [{"product_id": taco.pk, "quantity": 2}]}],
        "payments": [{"order_reference": reference, "client_reference": str(uuid.uuid4()),
                      "client_created_at": sold_at.isoformat(), "payment_method": "card", "amount": "9.28",
                      "transaction_id": "T-9"}],
    }
    late = api("cashier").post("/api/v1/orders/sync/", batch, format="json").json()["orders"][0]["order"]

    # then: the closed Z reads as it was, the next one lists the order as late for its day
    assert manager.get(f"{Z}{closed['id']}/").json() == closed
    following = manager.post(Z).json()
    day = timezone.localdate(sold_at).isoformat()
    assert following["late_orders"] == [{
        "label": f"late for {day}", "date": day,
        "orders": [{"order_id": late["id"], "order_number": late["order_number"], "status": "completed",
                    "total_amount": "9.28", "created_at": following["late_orders"][0]["orders"][0]["created_at"],
                    "received_at": following["late_orders"][0]["orders"][0]["received_at"]}],
    }]
    assert following["figures"]["payments_by_method"]["card"]["amount"] == "9.28"
    assert following["figures"]["first_order_number"] is None  # nothing of its own period


def test_the_database_refuses_to_change_a_z_report(api, shop, taco):
    order_of(api, taco)
    report = api("manager").post(Z).json()

    with tenant_context(restaurant=shop.restaurant):
        with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
            ZReport.objects.filter(pk=report["id"]).update(figures={})
        with connection.cursor() as cursor, pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
            cursor.execute("UPDATE z_reports SET number = 99 WHERE id = %s", [report["id"]])
        assert ZReport.objects.get(pk=report["id"]).number == 1


@pytest.mark.parametrize("role, z_allowed, x_allowed", [
    ("restaurant_owner", True, True), ("manager", True, True), ("cashier", False, True),
    ("server", False, False), ("cook", False, False),
])
def test_who_may_run_z_and_read_x(api, role, z_allowed, x_allowed):
    assert api(role).post(Z).status_code == (201 if z_allowed else 403)
    assert api(role).get(X).status_code == (200 if x_allowed else 403)


def test_x_of_a_drawer_runs_with_the_sales(api, taco, rival, api_client_for):
    cashier = api("cashier")
    drawer = cashier.post("/api/v1/drawers/", {"device_id": "Till 1", "opening_float": "20.00"}, format="json").json()
    before = cashier.get(X, {"drawer": drawer["id"]}).json()
    pay(cashier, order_of(api, taco)["id"], payment_method="cash", amount="9.28", tendered="10.00", device_id="Till 1")

    after = cashier.get(X, {"drawer": drawer["id"]}).json()

    assert (before["expected"], after["expected"]) == ("20.00", "29.28")
    assert after["payments_by_method"] == {"cash": {"amount": "9.28", "tips": "0.00", "count": 1}}
    theirs = api_client_for(rival["manager"]).post(
        "/api/v1/drawers/", {"device_id": "Till 1", "opening_float": "1.00"}, format="json"
    ).json()
    assert cashier.get(X, {"drawer": theirs["id"]}).status_code == 404


def test_z_reports_of_another_restaurant_are_404(api, rival, api_client_for, shop):
    theirs = api_client_for(rival["manager"]).post(Z).json()

    assert api("manager").get(f"{Z}{theirs['id']}/").status_code == 404
    assert api("manager").post(Z).json()["number"] == 1  # numbered per restaurant
    with tenant_context(restaurant=shop.restaurant):
        assert not Order.objects.filter(z_report_id=theirs["id"]).exists()
