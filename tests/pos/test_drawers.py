"""Cash drawers: a till's session from float to count, what goes in and out of it, and which
cash payments need one."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from pos.models import DrawerSession, Payment
from tenants.context import tenant_context
from tests.inventory.factories import ProductFactory
from tests.pos.helpers import place

pytestmark = pytest.mark.django_db

DRAWERS = "/api/v1/drawers/"


@pytest.fixture
def taco(shop):
    return ProductFactory(restaurant=shop.restaurant, name="Taco", price=Decimal("3.50"))


def order_of(api, taco):
    """Two tacos: 7.00 + VAT 1.40 + service 0.88 = 9.28."""
    body = place(api("cashier"), [(taco, 2)]).json()
    assert body["total_amount"] == "9.28"
    return body["id"]


def open_drawer(client, device_id="Till 1", opening_float="100.00"):
    return client.post(DRAWERS, {"device_id": device_id, "opening_float": opening_float}, format="json")


def pay(client, order_id, **body):
    return client.post(f"/api/v1/orders/{order_id}/payments/", body, format="json")


def test_a_drawer_day_against_the_hand_worked_figures(api, taco):
    # given: Till 1 opened with a 100.00 float
    cashier, manager = api("cashier"), api("manager")
    drawer = open_drawer(cashier).json()
    assert (drawer["status"], drawer["expected"]) == ("open", "100.00")
    # cash 9.28 with a 1.00 tip from a 20.00 note: 10.28 stays in the drawer
    first = pay(cashier, order_of(api, taco), payment_method="cash", amount="9.28", tip_amount="1.00",
                tendered="20.00", device_id="Till 1").json()
    assert first["change"] == "9.72"
    # a card payment: not the drawer's
    assert pay(cashier, order_of(api, taco), payment_method="card", amount="9.28").status_code == 201
    # cash 9.28, then 2.00 of it refunded from the till it went into
    third = pay(cashier, order_of(api, taco), payment_method="cash", amount="9.28", device_id="Till 1").json()
    refund = manager.post(f"/api/v1/payments/{third['payment']['id']}/refunds/", {"amount": "2.00"}, format="json")
    assert refund.status_code == 201, refund.json()
    # paid in 20.00, paid out 5.50, one no sale
    entries = f"{DRAWERS}{drawer['id']}/entries/"
    assert cashier.post(entries, {"entry_type": "paid_in", "amount": "20.00", "reason": "coins from the bank"},
                        format="json").status_code == 201
    assert cashier.post(entries, {"entry_type": "paid_out", "amount": "5.50", "reason": "milk"},
                        format="json").status_code == 201
    assert cashier.post(entries, {"entry_type": "no_sale"}, format="json").status_code == 201

    # when: 131.00 is counted
    closed = cashier.post(f"{DRAWERS}{drawer['id']}/close/", {"counted_amount": "131.00"}, format="json")

    # then: 100.00 + 10.28 + 9.28 - 2.00 + 20.00 - 5.50 = 132.06, 1.06 short
    body = closed.json()
    assert closed.status_code == 200, body
    assert (body["cash_taken"], body["cash_refunded"], body["paid_in"], body["paid_out"], body["no_sales"]) == (
        "19.56", "2.00", "20.00", "5.50", 1,
    )
    assert (body["expected"], body["counted_amount"], body["difference"], body["status"]) == (
        "132.06", "131.00", "-1.06", "closed",
    )
    assert [entry["entry_type"] for entry in body["entries"]] == ["paid_in", "paid_out", "no_sale"]
    with tenant_context(all_tenants=True):
        assert DrawerSession.objects.get(pk=drawer["id"]).expected_amount == Decimal("132.06")


def test_a_paid_out_needs_an_amount_and_a_reason(api):
    drawer = open_drawer(api("cashier")).json()

    response = api("cashier").post(f"{DRAWERS}{drawer['id']}/entries/", {"entry_type": "paid_out"}, format="json")

    assert response.status_code == 400 and set(response.json()["error"]["fields"]) == {"amount", "reason"}


def test_one_open_drawer_per_till(api):
    assert open_drawer(api("cashier")).status_code == 201

    again = open_drawer(api("manager"))

    assert again.status_code == 409 and again.json()["error"]["code"] == "drawer_already_open"
    assert open_drawer(api("manager"), device_id="Till 2").status_code == 201


def test_the_database_holds_one_open_drawer_per_till(shop):
    with tenant_context(restaurant=shop.restaurant):
        DrawerSession.objects.create(restaurant=shop.restaurant, device_id="Till 1", opening_float=Decimal("1"))
        with pytest.raises(IntegrityError, match="drawer_sessions_one_open_per_till"), transaction.atomic():
            DrawerSession.objects.create(restaurant=shop.restaurant, device_id="Till 1", opening_float=Decimal("1"))


def test_which_cash_payments_need_a_drawer(api, taco):
    cashier = api("cashier")
    # no drawer in use: cash is taken as before
    assert pay(cashier, order_of(api, taco), payment_method="cash", amount="9.28").status_code == 201
    # a till with no open drawer
    closed_till = pay(cashier, order_of(api, taco), payment_method="cash", amount="9.28", device_id="Till 9")
    assert closed_till.status_code == 409 and closed_till.json()["error"]["code"] == "drawer_closed"
    # once a drawer is open, cash names its till; cards never need one
    drawer = open_drawer(cashier).json()
    unnamed = pay(cashier, order_of(api, taco), payment_method="cash", amount="9.28")
    assert unnamed.status_code == 400 and "device_id" in unnamed.json()["error"]["fields"]
    assert pay(cashier, order_of(api, taco), payment_method="card", amount="9.28").status_code == 201
    # closed again: back to no drawers in use
    cashier.post(f"{DRAWERS}{drawer['id']}/close/", {"counted_amount": "100.00"}, format="json")
    assert pay(cashier, order_of(api, taco), payment_method="cash", amount="9.28").status_code == 201


def test_a_closed_drawer_takes_nothing_more(api, taco):
    drawer = open_drawer(api("cashier")).json()
    api("cashier").post(f"{DRAWERS}{drawer['id']}/close/", {"counted_amount": "100.00"}, format="json")

    again = api("cashier").post(f"{DRAWERS}{drawer['id']}/close/", {"counted_amount": "100.00"}, format="json")
    entry = api("cashier").post(f"{DRAWERS}{drawer['id']}/entries/", {"entry_type": "no_sale"}, format="json")

    assert again.status_code == entry.status_code == 409
    assert again.json()["error"]["code"] == "drawer_closed"


def test_offline_cash_lands_in_the_drawer_open_at_its_time(api, shop, taco):
    # given: Till 1's morning drawer (3h ago to 1h ago) and its current one (since 50 minutes ago)
    now = timezone.now()
    morning = open_drawer(api("cashier")).json()
    api("cashier").post(f"{DRAWERS}{morning['id']}/close/", {"counted_amount": "100.00"}, format="json")
    current = open_drawer(api("cashier")).json()
    with tenant_context(restaurant=shop.restaurant):
        DrawerSession.objects.filter(pk=morning["id"]).update(
            opened_at=now - datetime.timedelta(hours=3), closed_at=now - datetime.timedelta(hours=1)
        )
        DrawerSession.objects.filter(pk=current["id"]).update(opened_at=now - datetime.timedelta(minutes=50))

    def sale(minutes_ago):
        at = (now - datetime.timedelta(minutes=minutes_ago)).isoformat()
        order = {"client_reference": str(uuid.uuid4()), "client_created_at": at,
                 "items": [{"product_id": taco.pk, "quantity": 2}]}
        payment = {"order_reference": order["client_reference"], "client_reference": str(uuid.uuid4()),
                   "client_created_at": at, "payment_method": "cash", "amount": "9.28", "device_id": "Till 1"}
        return order, payment

    sales = [sale(120), sale(30), sale(55)]

    # when
    body = api("cashier").post("/api/v1/orders/sync/", {
        "orders": [order for order, _ in sales], "payments": [payment for _, payment in sales],
    }, format="json").json()

    # then
    assert [result["status"] for result in body["payments"]] == ["created", "created", "error"]
    assert body["payments"][2]["error"]["code"] == "drawer_closed"
    with tenant_context(restaurant=shop.restaurant):
        landed = [Payment.objects.get(pk=result["payment"]["id"]).drawer_session_id for result in body["payments"][:2]]
    assert landed == [morning["id"], current["id"]]


@pytest.mark.parametrize("role, allowed", [
    ("cashier", True), ("manager", True), ("restaurant_owner", True), ("server", False), ("cook", False),
])
def test_who_may_open_and_close_drawers(api, role, allowed):
    opened = open_drawer(api(role))

    assert opened.status_code == (201 if allowed else 403)
    if allowed:
        closed = api(role).post(f"{DRAWERS}{opened.json()['id']}/close/", {"counted_amount": "100.00"}, format="json")
        assert closed.status_code == 200


def test_another_restaurants_drawer_is_404(api, rival, api_client_for):
    theirs = open_drawer(api_client_for(rival["manager"])).json()

    for response in (
        api("manager").get(f"{DRAWERS}{theirs['id']}/"),
        api("manager").post(f"{DRAWERS}{theirs['id']}/close/", {"counted_amount": "1.00"}, format="json"),
        api("manager").post(f"{DRAWERS}{theirs['id']}/entries/", {"entry_type": "no_sale"}, format="json"),
    ):
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert api("manager").get(DRAWERS).json() == []


def test_the_drawer_list_runs_a_constant_number_of_queries(api, taco, count_queries):
    cashier = api("cashier")
    drawer = open_drawer(cashier).json()
    cashier.post(f"{DRAWERS}{drawer['id']}/entries/", {"entry_type": "no_sale"}, format="json")
    baseline = count_queries(lambda: api("manager").get(DRAWERS))
    for till in ("Till 2", "Till 3", "Till 4"):
        more = open_drawer(cashier, device_id=till).json()
        cashier.post(f"{DRAWERS}{more['id']}/entries/", {"entry_type": "paid_in", "amount": "1.00", "reason": "x"},
                     format="json")
        pay(cashier, order_of(api, taco), payment_method="cash", amount="9.28", device_id=till)

    assert count_queries(lambda: api("manager").get(DRAWERS)) == baseline
