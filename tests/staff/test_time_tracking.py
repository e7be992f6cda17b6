"""Clocking in and out, breaks, and the hours, overtime and pay worked out from them."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connections

from staff.errors import StaffError
from staff.models import TimeTracking
from staff.services import shift_break_end, shift_break_start, shift_clock_in, shift_clock_out, work_figures
from tenants.context import tenant_context
from tenants.models import RestaurantSetting
from tests.staff.factories import EmployeeFactory, ScheduleFactory, ShiftFactory, TimeEntryFactory

LONDON = ZoneInfo("Europe/London")
TRACKING = "/api/v1/staff/time-tracking/"


def at(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 3) -> datetime.datetime:
    return datetime.datetime(2025, month, day, hour, minute, second, tzinfo=LONDON)


def hours(h: int, m: int = 0, s: int = 0) -> datetime.timedelta:
    return datetime.timedelta(hours=h, minutes=m, seconds=s)


# --- the arithmetic ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("worked", "earlier", "rate", "overtime_rate", "expected"),
    [
        # 8 h at 12.00, no overtime
        (hours(8), "0.00", "12.00", None, ("8.00", "0.00", "96.00")),
        # 10.5 h: 8 h at 12.00 = 96.00 + 2.5 h at 1.5 x 12.00 = 18.00 -> 45.00
        (hours(10, 30), "0.00", "12.00", None, ("10.50", "2.50", "141.00")),
        # the shift's overtime rate wins over 1.5x: 96.00 + 2.5 x 20.00
        (hours(10, 30), "0.00", "12.00", "20.00", ("10.50", "2.50", "146.00")),
        # 6 h earlier today + 4 h now: 2 h of these 4 are past 8 h
        (hours(4), "6.00", "12.00", None, ("4.00", "2.00", "60.00")),
        # already past 8 h today: every hour is overtime, 3 x 18.00
        (hours(3), "9.00", "12.00", None, ("3.00", "3.00", "54.00")),
        # 1h20m30s = 1.341666.. -> 1.34 h; 1.34 x 10.35 = 13.869 -> 13.87
        (hours(1, 20, 30), "0.00", "10.35", None, ("1.34", "0.00", "13.87")),
        # 1.5 x 10.35 = 15.525 -> 15.53 an hour; 8 x 10.35 = 82.80 + 0.75 x 15.53 = 11.6475 -> 11.65
        (hours(8, 45), "0.00", "10.35", None, ("8.75", "0.75", "94.45")),
        # half a minute rounds half up to 0.01 h (0.008333 -> 0.01)
        (datetime.timedelta(seconds=30), "0.00", "12.00", None, ("0.01", "0.00", "0.12")),
        # no rate known: hours, no pay
        (hours(9), "0.00", None, None, ("9.00", "1.00", None)),
    ],
)
def test_work_figures(worked, earlier, rate, overtime_rate, expected):
    figures = work_figures(
        worked=worked,
        earlier_hours=Decimal(earlier),
        overtime_after=Decimal("8.00"),
        hourly_rate=None if rate is None else Decimal(rate),
        overtime_rate=None if overtime_rate is None else Decimal(overtime_rate),
    )

    total, overtime, pay = expected
    assert (figures.total_hours, figures.overtime_hours) == (Decimal(total), Decimal(overtime))
    assert figures.total_pay == (None if pay is None else Decimal(pay))


# --- through the services, at given times ------------------------------------------------


def _in_restaurant(employee):
    return tenant_context(restaurant=employee.restaurant_id)


def test_a_day_with_a_break_and_overtime(world):
    # given a cashier at 12.00 an hour
    cashier = world["cashier_a"]
    with _in_restaurant(cashier):
        # when they work 08:00-19:15 with a 45-minute break
        shift_clock_in(employee=cashier, at=at(3, 8))
        shift_break_start(employee=cashier, at=at(3, 12))
        shift_break_end(employee=cashier, at=at(3, 12, 45))
        entry = shift_clock_out(employee=cashier, at=at(3, 19, 15))
    # then 10.50 h, of which 2.50 overtime: 8 x 12.00 + 2.5 x 18.00
    assert entry.total_hours == Decimal("10.50")
    assert entry.overtime_hours == Decimal("2.50")
    assert entry.total_pay == Decimal("141.00")
    assert entry.status == "completed"


def test_a_split_day_counts_overtime_across_its_clock_ins(world):
    cashier = world["cashier_a"]
    with _in_restaurant(cashier):
        shift_clock_in(employee=cashier, at=at(3, 7))
        morning = shift_clock_out(employee=cashier, at=at(3, 13))
        shift_clock_in(employee=cashier, at=at(3, 17))
        evening = shift_clock_out(employee=cashier, at=at(3, 21))
        shift_clock_in(employee=cashier, at=at(4, 9))
        next_day = shift_clock_out(employee=cashier, at=at(4, 12))

    assert (morning.total_hours, morning.overtime_hours, morning.total_pay) == (
        Decimal("6.00"), Decimal("0.00"), Decimal("72.00"),
    )
    # 2 regular hours (6 + 2 = 8) and 2 overtime: 24.00 + 36.00
    assert (evening.total_hours, evening.overtime_hours, evening.total_pay) == (
        Decimal("4.00"), Decimal("2.00"), Decimal("60.00"),
    )
    assert next_day.overtime_hours == Decimal("0.00")


def test_the_shifts_rates_and_the_restaurants_overtime_threshold(world):
    # given a restaurant whose overtime starts after 7.5 hours, and a shift at its own rates
    cashier = world["cashier_a"]
    with tenant_context(all_tenants=True):
        RestaurantSetting.objects.create(
            restaurant=world["a"], setting_key="overtime_after_hours", setting_value="7.50", setting_type="number"
        )
    schedule = ScheduleFactory(restaurant=world["a"], week_start=datetime.date(2025, 3, 3))
    shift = ShiftFactory(schedule=schedule, employee=cashier, hourly_rate=Decimal("14.00"),
                         overtime_rate=Decimal("22.00"))
    with _in_restaurant(cashier):
        # when they clock in on the shift's day (the shift is found) and work 9 hours
        entry = shift_clock_in(employee=cashier, at=at(3, 9))
        assert entry.shift_id == shift.pk
        entry = shift_clock_out(employee=cashier, at=at(3, 18))
        shift.refresh_from_db()
    # then 7.5 x 14.00 = 105.00 + 1.5 x 22.00 = 33.00
    assert (entry.total_hours, entry.overtime_hours, entry.total_pay) == (
        Decimal("9.00"), Decimal("1.50"), Decimal("138.00"),
    )
    assert shift.status == "completed"


def test_clocking_out_ends_an_open_break(world):
    cashier = world["cashier_a"]
    with _in_restaurant(cashier):
        shift_clock_in(employee=cashier, at=at(3, 9))
        shift_break_start(employee=cashier, at=at(3, 16))
        entry = shift_clock_out(employee=cashier, at=at(3, 17))

    assert entry.break_end == at(3, 17)
    assert entry.total_hours == Decimal("7.00")


def test_a_day_counts_in_local_time_across_the_clock_change(world):
    # 30 March 2025: London goes from GMT to BST at 01:00 UTC; 00:30-03:30 local is 2 hours
    cashier = world["cashier_a"]
    with _in_restaurant(cashier):
        shift_clock_in(employee=cashier, at=at(30, 0, 30))
        entry = shift_clock_out(employee=cashier, at=at(30, 3, 30))

    assert entry.total_hours == Decimal("2.00")


# --- through the API ---------------------------------------------------------------------


def _post(api, action, payload=None):
    return api.post(f"/api/v1/staff/{action}/", payload or {}, format="json")


def _code(response):
    return response.json()["error"]["code"]


def test_the_clock_actions_and_their_conflicts(world, api_client_for):
    api = api_client_for(world["cashier_a"].user)

    assert _code(_post(api, "clock-out")) == "not_clocked_in"
    assert _code(_post(api, "break-start")) == "not_clocked_in"
    clocked_in = _post(api, "clock-in")
    assert clocked_in.status_code == 201, clocked_in.content
    body = clocked_in.json()
    assert body["restaurant_id"] == world["a"].pk and body["employee_id"] == world["cashier_a"].pk
    assert body["status"] == "active" and body["clock_out"] is None and body["total_hours"] is None

    again = _post(api, "clock-in")
    assert again.status_code == 409 and _code(again) == "already_clocked_in"
    not_on_break = _post(api, "break-end")
    assert not_on_break.status_code == 409 and _code(not_on_break) == "not_on_break"
    assert _post(api, "break-start").status_code == 200
    assert _code(_post(api, "break-start")) == "already_on_break"
    assert _post(api, "break-end").status_code == 200
    assert _code(_post(api, "break-start")) == "break_already_taken"

    out = _post(api, "clock-out")
    assert out.status_code == 200, out.content
    assert out.json()["status"] == "completed" and out.json()["total_hours"] == "0.00"
    assert out.json()["total_pay"] == "0.00" and out.json()["overtime_hours"] == "0.00"
    assert _post(api, "clock-out").status_code == 409


def test_clocking_in_on_someone_elses_shift_is_400(world, api_client_for):
    theirs = ShiftFactory(schedule=ScheduleFactory(restaurant=world["a"]), employee=world["manager_a"])
    foreign = ShiftFactory(schedule=ScheduleFactory(restaurant=world["b"]), employee=world["manager_b"])
    api = api_client_for(world["cashier_a"].user)

    for shift in (theirs, foreign):
        response = _post(api, "clock-in", {"shift_id": shift.pk})
        assert response.status_code == 400 and list(response.json()["error"]["fields"]) == ["shift_id"]
    assert _post(api, "clock-in", {"shift_id": "x"}).status_code == 400
    with tenant_context(all_tenants=True):
        assert not TimeTracking.objects.exists()


def test_someone_without_an_employee_record_is_404(world, api_client_for):
    for user in (world["owner_a"], world["platform_owner"]):
        response = _post(api_client_for(user), "clock-in")
        assert response.status_code == 404 and _code(response) == "not_an_employee"


def test_a_deactivated_employee_cannot_clock_in(world, api_client_for):
    with tenant_context(all_tenants=True):
        world["cashier_a"].is_active = False
        world["cashier_a"].save(update_fields=["is_active"])

    assert _post(api_client_for(world["cashier_a"].user), "clock-in").status_code == 404


def test_time_tracking_lists_managers_all_others_their_own(world, api_client_for):
    # given entries of two employees on two days
    cashier, manager = world["cashier_a"], world["manager_a"]
    mine = TimeEntryFactory(employee=cashier, clock_in=at(3, 9))
    later = TimeEntryFactory(employee=cashier, clock_in=at(4, 9))
    theirs = TimeEntryFactory(employee=manager, clock_in=at(3, 10))
    TimeEntryFactory(employee=world["manager_b"], clock_in=at(3, 9))
    managers, cashiers = api_client_for(manager.user), api_client_for(cashier.user)

    # then a manager sees the restaurant's, newest first, and filters
    assert [e["id"] for e in managers.get(TRACKING).json()["results"]] == [later.pk, theirs.pk, mine.pk]
    assert [e["id"] for e in managers.get(TRACKING, {"employee": cashier.pk}).json()["results"]] == [later.pk, mine.pk]
    assert [e["id"] for e in managers.get(TRACKING, {"date": "2025-03-03"}).json()["results"]] == [theirs.pk, mine.pk]
    assert [e["id"] for e in managers.get(TRACKING, {"date_from": "2025-03-04"}).json()["results"]] == [later.pk]
    assert managers.get(TRACKING, {"date": "03/03/2025"}).status_code == 400
    # and a cashier only their own
    assert [e["id"] for e in cashiers.get(TRACKING).json()["results"]] == [later.pk, mine.pk]
    assert cashiers.get(f"{TRACKING}{theirs.pk}/").status_code == 404
    assert cashiers.get(f"{TRACKING}{mine.pk}/").json()["employee_id"] == cashier.pk


def test_the_date_filter_is_the_local_day(world, api_client_for):
    # 23:30 UTC on 1 July is 00:30 on 2 July in London (BST)
    entry = TimeEntryFactory(employee=world["cashier_a"],
                             clock_in=datetime.datetime(2025, 7, 1, 23, 30, tzinfo=datetime.timezone.utc))
    api = api_client_for(world["manager_a"].user)

    assert api.get(TRACKING, {"date": "2025-07-01"}).json()["results"] == []
    assert [e["id"] for e in api.get(TRACKING, {"date": "2025-07-02"}).json()["results"]] == [entry.pk]


def test_another_tenants_time_entry_is_404(world, api_client_for):
    other = TimeEntryFactory(employee=world["manager_b"])
    api = api_client_for(world["manager_a"].user)

    assert api.get(f"{TRACKING}{other.pk}/").status_code == 404
    assert api.get(TRACKING, {"employee": world["manager_b"].pk}).json()["results"] == []


def test_list_and_detail_run_a_constant_number_of_queries(
    world, api_client_for, django_assert_num_queries, count_queries
):
    api = api_client_for(world["manager_a"].user)
    first = TimeEntryFactory(employee=world["cashier_a"])
    list_baseline = count_queries(lambda: api.get(TRACKING))
    detail_baseline = count_queries(lambda: api.get(f"{TRACKING}{first.pk}/"))
    shift = ShiftFactory(schedule=ScheduleFactory(restaurant=world["a"]), employee=world["cashier_a"])
    for _ in range(5):
        TimeEntryFactory(employee=EmployeeFactory(restaurant=world["a"]), shift=shift)

    with django_assert_num_queries(list_baseline):
        assert len(api.get(TRACKING).json()["results"]) == 6
    with django_assert_num_queries(detail_baseline):
        api.get(f"{TRACKING}{first.pk}/")


@pytest.mark.django_db(transaction=True, databases=["default", "owner"])
def test_two_simultaneous_clock_ins_make_one_entry(world):
    # given the same employee's two devices tapping "clock in" at the same moment
    cashier = world["cashier_a"]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def tap():
        try:
            with tenant_context(restaurant=cashier.restaurant_id):
                barrier.wait(timeout=10)
                shift_clock_in(employee=cashier)
            outcomes.append("in")
        except StaffError as error:
            outcomes.append(error.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tap) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # then one clock-in, one conflict
    assert sorted(outcomes) == ["already_clocked_in", "in"]
    with tenant_context(all_tenants=True):
        assert TimeTracking.objects.filter(employee=cashier).count() == 1
