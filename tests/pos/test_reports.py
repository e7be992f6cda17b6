"""GET /api/v1/reports/daily/: a restaurant's local day in figures, checked against hand-computed ones."""

from __future__ import annotations

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from pos.models import DailyReport, OrderStatus, PaymentStatus
from tenants.context import tenant_context
from tenants.models import UserRole
from tests.inventory.factories import ProductFactory
from tests.pos.factories import OrderFactory, OrderItemFactory, PaymentFactory
from tests.staff.factories import EmployeeFactory
from tests.tenants.factories import UserFactory

LONDON = ZoneInfo("Europe/London")
URL = "/api/v1/reports/daily/"
DAY = "2025-03-04"  # GMT: local time is UTC


def at(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 3) -> datetime.datetime:
    return datetime.datetime(2025, month, day, hour, minute, second, tzinfo=LONDON)


@pytest.fixture
def world(world):
    a = world["a"]
    return {
        **world,
        "manager": UserFactory(restaurant=a, role=UserRole.MANAGER),
        "owner": UserFactory(restaurant=a, role=UserRole.RESTAURANT_OWNER),
        "cashier": EmployeeFactory(restaurant=a, user__role=UserRole.CASHIER, user__first_name="Carla",
                                   user__last_name="Diaz"),
        "server": EmployeeFactory(restaurant=a, user__role=UserRole.SERVER, user__first_name="Sam",
                                  user__last_name="Okafor"),
    }


def _order(restaurant, created_at, total, lines, *, served_by=None, status=OrderStatus.COMPLETED, payments=()):
    """An order with (product, quantity) lines and (method, amount[, status]) payments."""
    order = OrderFactory(restaurant=restaurant, created_at=created_at, total_amount=Decimal(total),
                         served_by=served_by, status=status)
    for product, quantity in lines:
        OrderItemFactory(order=order, product=product, quantity=quantity)
    for method, amount, *state in payments:
        PaymentFactory(order=order, payment_method=method, amount=Decimal(amount),
                       status=state[0] if state else PaymentStatus.COMPLETED)
    return order


@pytest.fixture
def sales(world):
    """Four completed orders on 4 March in restaurant a, and orders that must not count."""
    a = world["a"]
    menu = {
        name: ProductFactory(restaurant=a, name=name, price=Decimal(price))
        for name, price in [("Tacos", "8.50"), ("Burrito", "12.00"), ("Nachos", "6.25"), ("Churros", "4.00"),
                            ("Soda", "2.50"), ("Guacamole", "3.75")]
    }
    cashier, server = world["cashier"], world["server"]
    _order(a, at(4, 10), "23.40", [(menu["Tacos"], 2), (menu["Soda"], 1)], served_by=cashier,
           payments=[("card", "23.40")])
    _order(a, at(4, 13), "28.80", [(menu["Burrito"], 1), (menu["Churros"], 3)], served_by=server,
           payments=[("cash", "10.00"), ("card", "18.80")])
    _order(a, at(4, 19, 30), "18.00", [(menu["Nachos"], 1), (menu["Soda"], 2), (menu["Guacamole"], 1)],
           served_by=cashier, payments=[("apple_pay", "18.00")])
    _order(a, at(4, 23, 59, 59), "10.20", [(menu["Tacos"], 1)],
           payments=[("card", "10.20", PaymentStatus.FAILED), ("card", "10.20")])
    # not counted: cancelled, the day before, the day after, another restaurant
    _order(a, at(4, 12), "18.75", [(menu["Guacamole"], 5)], served_by=cashier, status=OrderStatus.CANCELLED,
           payments=[("card", "18.75")])
    _order(a, at(4, 11), "99.00", [(menu["Guacamole"], 9)], served_by=cashier, status=OrderStatus.PREPARING)
    _order(a, at(3, 23, 59, 59), "50.00", [(menu["Guacamole"], 9)], payments=[("cash", "50.00")])
    _order(a, at(5, 0, 0), "50.00", [(menu["Guacamole"], 9)], payments=[("cash", "50.00")])
    other = ProductFactory(restaurant=world["b"], name="Pizza", price=Decimal("9.00"))
    _order(world["b"], at(4, 12), "90.00", [(other, 10)], payments=[("card", "90.00")])
    return menu


def test_the_days_figures_match_the_hand_computed_ones(world, sales, api_client_for):
    response = api_client_for(world["manager"]).get(URL, {"date": DAY})

    assert response.status_code == 200, response.content
    body = response.json()
    menu, cashier, server = sales, world["cashier"], world["server"]
    assert body["restaurant_id"] == world["a"].pk and body["report_date"] == DAY
    # 23.40 + 28.80 + 18.00 + 10.20
    assert body["total_sales"] == "80.40"
    assert body["total_orders"] == 4
    assert body["average_ticket"] == "20.10"
    # 2 + 1 + 1 + 3 + 1 + 2 + 1 + 1
    assert body["total_items"] == 12
    # card 23.40 + 18.80 + 10.20 (the failed attempt is not counted)
    assert body["payment_breakdown"] == {"apple_pay": "18.00", "card": "52.40", "cash": "10.00"}
    # three products at 3 each, by revenue; then the ones sold once; Guacamole is sixth
    assert body["top_products"] == [
        {"product_id": menu["Tacos"].pk, "name": "Tacos", "quantity": 3, "revenue": "25.50"},
        {"product_id": menu["Churros"].pk, "name": "Churros", "quantity": 3, "revenue": "12.00"},
        {"product_id": menu["Soda"].pk, "name": "Soda", "quantity": 3, "revenue": "7.50"},
        {"product_id": menu["Burrito"].pk, "name": "Burrito", "quantity": 1, "revenue": "12.00"},
        {"product_id": menu["Nachos"].pk, "name": "Nachos", "quantity": 1, "revenue": "6.25"},
    ]
    assert body["staff_performance"] == [
        {"employee_id": cashier.pk, "name": "Carla Diaz", "orders": 2, "sales": "41.40"},
        {"employee_id": server.pk, "name": "Sam Okafor", "orders": 1, "sales": "28.80"},
    ]


def test_the_report_is_kept_in_daily_reports(world, sales, api_client_for):
    api_client_for(world["manager"]).get(URL, {"date": DAY})

    with tenant_context(all_tenants=True):
        stored = DailyReport.objects.get(restaurant=world["a"], report_date=datetime.date(2025, 3, 4))
    assert stored.total_sales == Decimal("80.40") and stored.total_orders == 4
    assert stored.average_ticket == Decimal("20.10") and stored.total_items == 12
    assert stored.payment_breakdown == {"apple_pay": "18.00", "card": "52.40", "cash": "10.00"}
    assert stored.top_products[0]["name"] == "Tacos"
    assert [row["orders"] for row in stored.staff_performance] == [2, 1]


def test_an_empty_day(world, api_client_for):
    body = api_client_for(world["manager"]).get(URL, {"date": DAY}).json()

    assert (body["total_sales"], body["total_orders"], body["average_ticket"], body["total_items"]) == (
        "0.00", 0, "0.00", 0,
    )
    assert body["payment_breakdown"] == {} and body["top_products"] == [] and body["staff_performance"] == []


def test_the_average_ticket_rounds_half_up(world, api_client_for):
    # 10.00 + 10.01 = 20.01 over 2 orders = 10.005 -> 10.01
    for total in ("10.00", "10.01"):
        _order(world["a"], at(4, 12), total, [])

    assert api_client_for(world["manager"]).get(URL, {"date": DAY}).json()["average_ticket"] == "10.01"


def test_the_day_is_the_local_day_in_summer_time(world, api_client_for):
    # BST: 23:30 UTC on 30 June is 00:30 on 1 July; 23:30 UTC on 1 July is 2 July
    utc = datetime.timezone.utc
    _order(world["a"], datetime.datetime(2025, 6, 30, 23, 30, tzinfo=utc), "12.00", [])
    _order(world["a"], datetime.datetime(2025, 7, 1, 22, 59, tzinfo=utc), "8.00", [])
    _order(world["a"], datetime.datetime(2025, 7, 1, 23, 30, tzinfo=utc), "100.00", [])

    body = api_client_for(world["manager"]).get(URL, {"date": "2025-07-01"}).json()

    assert (body["total_sales"], body["total_orders"]) == ("20.00", 2)


def test_a_past_day_is_served_from_daily_reports_until_refreshed(world, sales, api_client_for):
    # given a computed past day
    api = api_client_for(world["manager"])
    first = api.get(URL, {"date": DAY}).json()
    # when a late correction adds an order to that day
    _order(world["a"], at(4, 15), "19.60", [])
    cached = api.get(URL, {"date": DAY}).json()
    refreshed = api.get(URL, {"date": DAY, "refresh": "1"}).json()
    # then the stored report is served until a refresh recomputes it
    assert cached == first
    assert (refreshed["total_sales"], refreshed["total_orders"], refreshed["average_ticket"]) == ("100.00", 5, "20.00")
    with tenant_context(all_tenants=True):
        assert DailyReport.objects.filter(restaurant=world["a"]).count() == 1


def test_a_report_generated_during_its_day_is_recomputed_afterwards(world, sales, api_client_for):
    # given a report stored at noon on the day, before the evening's orders
    with tenant_context(all_tenants=True):
        DailyReport.objects.create(restaurant=world["a"], report_date=datetime.date(2025, 3, 4),
                                   total_sales=Decimal("23.40"), total_orders=1, generated_at=at(4, 12))

    body = api_client_for(world["manager"]).get(URL, {"date": DAY}).json()

    assert body["total_sales"] == "80.40"
    with tenant_context(all_tenants=True):
        stored = DailyReport.objects.get(restaurant=world["a"])
    assert stored.total_sales == Decimal("80.40") and stored.generated_at > at(5, 0)


def test_today_is_recomputed_on_every_request(world, api_client_for):
    api = api_client_for(world["manager"])
    _order(world["a"], timezone.now(), "10.00", [])

    first = api.get(URL).json()
    _order(world["a"], timezone.now(), "5.50", [])
    second = api.get(URL).json()

    assert first["report_date"] == timezone.localdate().isoformat()
    assert (first["total_sales"], second["total_sales"]) == ("10.00", "15.50")


@pytest.mark.parametrize("date", ["2025-13-01", "yesterday", "04/03/2025"])
def test_a_bad_date_is_400(world, api_client_for, date):
    response = api_client_for(world["manager"]).get(URL, {"date": date})

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["date"]


def test_a_future_date_is_400_and_stores_nothing(world, api_client_for):
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()

    response = api_client_for(world["manager"]).get(URL, {"date": tomorrow})

    assert response.status_code == 400 and list(response.json()["error"]["fields"]) == ["date"]
    with tenant_context(all_tenants=True):
        assert not DailyReport.objects.exists()


def test_only_managers_and_owners_read_reports(world, api_client_for):
    assert api_client_for(world["owner"]).get(URL, {"date": DAY}).status_code == 200
    for employee in ("cashier", "server"):
        response = api_client_for(world[employee].user).get(URL, {"date": DAY})
        assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"


def test_a_platform_owner_names_the_restaurant(world, sales, api_client_for):
    api = api_client_for(world["platform_owner"])

    without = api.get(URL, {"date": DAY})
    restaurant_b = api.get(URL, {"date": DAY}, HTTP_X_RESTAURANT_ID=str(world["b"].pk))
    other_platform = api.get(URL, {"date": DAY}, HTTP_X_RESTAURANT_ID=str(world["c"].pk))

    assert without.status_code == 400 and without.json()["error"]["code"] == "restaurant_required"
    assert restaurant_b.status_code == 200
    assert (restaurant_b.json()["restaurant_id"], restaurant_b.json()["total_sales"]) == (world["b"].pk, "90.00")
    assert other_platform.status_code == 404


def test_restaurant_staff_cannot_read_another_restaurants_report(world, sales, api_client_for):
    response = api_client_for(world["manager"]).get(URL, {"date": DAY}, HTTP_X_RESTAURANT_ID=str(world["b"].pk))

    assert response.status_code == 404


def test_the_report_runs_a_constant_number_of_queries(world, api_client_for, django_assert_num_queries, count_queries):
    # given a day with one order, measured
    api = api_client_for(world["manager"])
    product = ProductFactory(restaurant=world["a"])
    _order(world["a"], at(4, 9), "5.00", [(product, 1)], served_by=world["cashier"], payments=[("card", "5.00")])
    baseline = count_queries(lambda: api.get(URL, {"date": DAY, "refresh": "1"}))
    # when the day has many more orders, products, payment methods and staff
    for index in range(8):
        extra = ProductFactory(restaurant=world["a"])
        server = EmployeeFactory(restaurant=world["a"])
        _order(world["a"], at(4, 10 + index), "7.00", [(extra, 2), (product, 1)], served_by=server,
               payments=[("cash", "3.00"), ("sumup", "4.00")])
    # then the same number of queries
    with django_assert_num_queries(baseline):
        assert api.get(URL, {"date": DAY, "refresh": "1"}).json()["total_orders"] == 9
