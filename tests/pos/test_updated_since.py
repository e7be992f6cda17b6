"""`?updated_since=`: what changed since T, in (updated_at, id) keyset pages that never skip or repeat a row."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from pos.models import Order
from tenants.context import tenant_context
from tests.inventory.factories import InventoryItemFactory, ModifierGroupFactory, ProductFactory
from tests.pos.helpers import place

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"
LONG_AGO = "2000-01-01T00:00:00Z"


@pytest.fixture
def taco(shop):
    return ProductFactory(restaurant=shop.restaurant, name="Taco", price=Decimal("3.50"))


def all_pages(client, url, params):
    """Every page of one pass: (rows in order, next_since of each page)."""
    rows, sinces = [], []
    response = client.get(url, params)
    while True:
        body = response.json()
        assert response.status_code == 200, body
        rows.extend(body["results"])
        sinces.append(body["next_since"])
        if body["next"] is None:
            return rows, sinces
        response = client.get(body["next"])


def test_rows_sharing_one_timestamp_are_paged_without_skips_or_repeats(api, shop, taco):
    ids = [place(api(), [(taco, 1)]).json()["id"] for _ in range(7)]
    same = timezone.now() - datetime.timedelta(minutes=5)
    with tenant_context(restaurant=shop.restaurant):
        Order.objects.filter(pk__in=ids).update(updated_at=same)

    rows, sinces = all_pages(api("manager"), ORDERS, {"updated_since": LONG_AGO, "page_size": 3})

    assert [row["id"] for row in rows] == sorted(ids)
    assert len(set(sinces)) == 1  # one next_since for the whole pass


def test_a_client_paging_while_rows_change_ends_with_the_servers_state(api, shop, taco):
    # given: ten orders, changed one after the other
    ids = [place(api(), [(taco, 1)]).json()["id"] for _ in range(10)]
    manager = api("manager")
    copy = {}
    first = manager.get(ORDERS, {"updated_since": LONG_AGO, "page_size": 4}).json()
    copy.update({row["id"]: row for row in first["results"]})
    seen, unseen = first["results"][0]["id"], ids[-1]

    # when: between pages, one order already read and one not yet read change, and one is new
    manager.post(f"{ORDERS}{seen}/status/", {"status": "preparing"}, format="json")
    manager.post(f"{ORDERS}{unseen}/status/", {"status": "cancelled"}, format="json")
    new = place(api(), [(taco, 2)]).json()["id"]
    rows, _ = all_pages(manager, first["next"], {})
    for row in rows:
        copy[row["id"]] = row  # the device applies rows by id: the last one wins

    # then
    server = {row["id"]: row for row in manager.get(ORDERS, {"page_size": 200}).json()["results"]}
    assert set(copy) == set(server) == {*ids, new}
    assert {i: (copy[i]["status"], copy[i]["version"]) for i in copy} == {
        i: (server[i]["status"], server[i]["version"]) for i in server
    }
    later_ids = [row["id"] for row in rows]
    assert len(later_ids) == len(set(later_ids))
    assert later_ids[-3:] == [seen, unseen, new]  # changed rows move to the end of the pass


def test_next_since_lags_the_pass_by_the_margin_and_catches_a_late_commit(api, shop, taco, settings):
    settings.SYNC_MARGIN_SECONDS = 60
    place(api(), [(taco, 1)])
    before = timezone.now()

    body = api("manager").get(ORDERS, {"updated_since": LONG_AGO}).json()

    next_since = datetime.datetime.fromisoformat(body["next_since"])
    assert before - datetime.timedelta(seconds=62) < next_since <= before - datetime.timedelta(seconds=59)
    # a write whose transaction began 30 s ago commits only now: its updated_at is older than the pass
    late = place(api(), [(taco, 1)]).json()["id"]
    with tenant_context(restaurant=shop.restaurant):
        Order.objects.filter(pk=late).update(updated_at=before - datetime.timedelta(seconds=30))
    again = api("manager").get(ORDERS, {"updated_since": body["next_since"]}).json()
    assert late in [row["id"] for row in again["results"]]


def test_only_what_changed_since_comes(api, shop, taco):
    old = place(api(), [(taco, 1)]).json()["id"]
    with tenant_context(restaurant=shop.restaurant):
        Order.objects.filter(pk=old).update(updated_at=timezone.now() - datetime.timedelta(hours=2))
    new = place(api(), [(taco, 1)]).json()["id"]

    since = (timezone.now() - datetime.timedelta(hours=1)).isoformat()
    body = api("manager").get(ORDERS, {"updated_since": since}).json()

    assert [row["id"] for row in body["results"]] == [new]


def test_every_list_a_till_keeps_answers_what_changed(api, shop, taco, api_client_for):
    # given: a pass ends; then a product is deactivated, a category renamed, a modifier option changed,
    # stock is sold, an employee's user renamed and a shift moved
    from tests.staff.factories import EmployeeFactory, ShiftFactory

    manager = api("manager")
    item = InventoryItemFactory(restaurant=shop.restaurant, current_stock=Decimal("5"))
    group = ModifierGroupFactory(restaurant=shop.restaurant, products=[taco])
    option = manager.post(f"/api/v1/modifier-groups/{group.pk}/options/", {"name": "Salsa", "price_change": "0.50"},
                          format="json").json()
    employee = EmployeeFactory(restaurant=shop.restaurant)
    shift = ShiftFactory(schedule__restaurant=shop.restaurant, employee=employee)
    since = timezone.now()
    with tenant_context(restaurant=shop.restaurant):
        for model in (type(item), type(group), type(employee), type(shift), type(taco), type(taco.category)):
            model.objects.update(updated_at=since - datetime.timedelta(minutes=1))

    manager.delete(f"/api/v1/products/{taco.pk}/")
    manager.patch(f"/api/v1/categories/{taco.category_id}/", {"name": "Tacos"}, format="json")
    manager.patch(f"/api/v1/modifier-options/{option['id']}/", {"price_change": "0.75"}, format="json")
    place(api(), [(item.product, 2)])
    manager.patch(f"/api/v1/staff/employees/{employee.pk}/", {"user": {"first_name": "Renamed"}}, format="json")
    manager.patch(f"/api/v1/staff/shifts/{shift.pk}/", {"end_time": "18:00"}, format="json")

    # when / then
    def changed(url):
        response = manager.get(url, {"updated_since": since.isoformat()})
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert taco.pk in changed("/api/v1/products/")
    assert changed("/api/v1/categories/") == [taco.category_id]
    assert changed("/api/v1/modifier-groups/") == [group.pk]
    assert changed("/api/v1/inventory/items/") == [item.pk]
    assert changed("/api/v1/staff/employees/") == [employee.pk]
    assert changed("/api/v1/staff/shifts/") == [shift.pk]


def test_a_changes_page_runs_a_constant_number_of_queries(api, taco, count_queries):
    for _ in range(2):
        place(api(), [(taco, 1)])
    baseline = count_queries(lambda: api("manager").get(ORDERS, {"updated_since": LONG_AGO}))
    for _ in range(5):
        place(api(), [(taco, 2)])

    assert count_queries(lambda: api("manager").get(ORDERS, {"updated_since": LONG_AGO})) == baseline


def test_a_malformed_cursor_or_time_is_400(api):
    assert "cursor" in api("manager").get(ORDERS, {"updated_since": LONG_AGO, "cursor": "nope"}).json()["error"]["fields"]
    assert "updated_since" in api("manager").get(ORDERS, {"updated_since": "yesterday"}).json()["error"]["fields"]
