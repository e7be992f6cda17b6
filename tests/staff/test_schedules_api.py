"""/api/v1/staff/schedules/ and /api/v1/staff/shifts/: managers plan the weeks."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from staff.models import Schedule, Shift
from tenants.context import tenant_context
from tests.staff.factories import EmployeeFactory, ScheduleFactory, ShiftFactory, TimeEntryFactory

SCHEDULES = "/api/v1/staff/schedules/"
SHIFTS = "/api/v1/staff/shifts/"
MONDAY = datetime.date(2025, 3, 3)


@pytest.fixture
def week(world):
    return ScheduleFactory(restaurant=world["a"], week_start=MONDAY)


def _shift_payload(world, week, **overrides) -> dict:
    return {
        "schedule_id": week.pk, "employee_id": world["cashier_a"].pk, "shift_date": "2025-03-04",
        "start_time": "09:00", "end_time": "17:30", "break_duration": 30, "position": "cashier", **overrides,
    }


def _schedule(pk) -> Schedule:
    with tenant_context(all_tenants=True):
        return Schedule.objects.get(pk=pk)


# --- schedules ---------------------------------------------------------------------------


def test_a_manager_creates_changes_and_lists_schedules(world, api_client_for):
    api = api_client_for(world["manager_a"].user)

    created = api.post(SCHEDULES, {"name": "Week 10", "week_start": "2025-03-03", "week_end": "2025-03-09"},
                       format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["restaurant_id"] == world["a"].pk and body["status"] == "draft"
    assert body["total_scheduled_hours"] == "0.00" and body["created_by_id"] == world["manager_a"].user.pk

    changed = api.patch(f"{SCHEDULES}{body['id']}/", {"status": "published"}, format="json")
    assert changed.status_code == 200 and changed.json()["status"] == "published"

    listed = api.get(SCHEDULES, {"week_from": "2025-03-05", "week_to": "2025-03-06"}).json()["results"]
    assert [s["id"] for s in listed] == [body["id"]]
    assert api.get(SCHEDULES, {"week_from": "2025-03-10"}).json()["results"] == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "W", "week_start": "2025-03-09", "week_end": "2025-03-03"}, "week_end"),
        ({"name": "W", "week_start": "2025-03-03"}, "week_end"),
        ({"name": "W", "week_start": "someday", "week_end": "2025-03-09"}, "week_start"),
        ({"name": "W", "week_start": "2025-03-03", "week_end": "2025-03-09", "status": "final"}, "status"),
    ],
)
def test_bad_schedules_are_400(world, api_client_for, payload, field):
    response = api_client_for(world["manager_a"].user).post(SCHEDULES, payload, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]


def test_schedules_are_for_managers_only(world, api_client_for, week):
    api = api_client_for(world["cashier_a"].user)

    assert api.get(SCHEDULES).status_code == 403
    assert api.get(f"{SCHEDULES}{week.pk}/").status_code == 403
    assert api.post(SCHEDULES, {"name": "W", "week_start": "2025-03-03", "week_end": "2025-03-09"},
                    format="json").status_code == 403


def test_another_tenants_schedule_is_404(world, api_client_for):
    other = ScheduleFactory(restaurant=world["b"])
    api = api_client_for(world["manager_a"].user)

    assert api.get(f"{SCHEDULES}{other.pk}/").status_code == 404
    assert api.patch(f"{SCHEDULES}{other.pk}/", {"name": "mine"}, format="json").status_code == 404
    assert api.delete(f"{SCHEDULES}{other.pk}/").status_code == 404
    assert _schedule(other.pk).name != "mine"


def test_re_dating_a_schedule_keeps_its_shifts_inside(world, api_client_for, week):
    ShiftFactory(schedule=week, employee=world["cashier_a"], shift_date=MONDAY + datetime.timedelta(days=5))
    api = api_client_for(world["manager_a"].user)

    response = api.patch(f"{SCHEDULES}{week.pk}/", {"week_end": "2025-03-07"}, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["week_start"]


def test_a_schedule_is_deleted_with_its_shifts_unless_someone_clocked_in(world, api_client_for, week):
    api = api_client_for(world["manager_a"].user)
    shift = ShiftFactory(schedule=week, employee=world["cashier_a"])
    TimeEntryFactory(employee=world["cashier_a"], shift=shift)

    refused = api.delete(f"{SCHEDULES}{week.pk}/")
    empty = ScheduleFactory(restaurant=world["a"])
    ShiftFactory(schedule=empty, employee=world["cashier_a"])
    deleted = api.delete(f"{SCHEDULES}{empty.pk}/")

    assert refused.status_code == 409 and refused.json()["error"]["code"] == "schedule_has_time_entries"
    assert deleted.status_code == 204
    with tenant_context(all_tenants=True):
        assert Schedule.objects.filter(pk=week.pk).exists()
        assert not Shift.objects.filter(schedule_id=empty.pk).exists()


# --- shifts ------------------------------------------------------------------------------


def test_a_manager_plans_a_shift_and_the_schedule_totals_follow(world, api_client_for, week):
    # given an employee at 12.00 an hour
    api = api_client_for(world["manager_a"].user)
    # when a 09:00-17:30 shift with a 30-minute break is planned, then another at a shift rate
    first = api.post(SHIFTS, _shift_payload(world, week), format="json")
    second = api.post(SHIFTS, _shift_payload(world, week, shift_date="2025-03-05", start_time="10:00",
                                             end_time="14:20", break_duration=0, hourly_rate="15.00"), format="json")
    # then
    assert first.status_code == 201, first.content
    assert second.status_code == 201, second.content
    body = first.json()
    assert body["restaurant_id"] == world["a"].pk and body["employee_id"] == world["cashier_a"].pk
    assert body["start_time"] == "09:00:00" and body["end_time"] == "17:30:00" and body["status"] == "scheduled"
    schedule = _schedule(week.pk)
    # 8.00 h at 12.00 = 96.00; 4h20 = 4.33 h at 15.00 = 64.95
    assert schedule.total_scheduled_hours == Decimal("12.33")
    assert schedule.total_labor_cost == Decimal("160.95")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"end_time": "08:00"}, "end_time"),
        ({"end_time": "09:00"}, "end_time"),
        ({"start_time": "25:00"}, "start_time"),
        ({"shift_date": "2025-03-10"}, "shift_date"),
        ({"break_duration": 510}, "break_duration"),
        ({"break_duration": -5}, "break_duration"),
        ({"position": "juggler"}, "position"),
        ({"hourly_rate": "1.001"}, "hourly_rate"),
        ({"schedule_id": None}, "schedule_id"),
    ],
)
def test_bad_shifts_are_400(world, api_client_for, week, overrides, field):
    payload = {key: value for key, value in _shift_payload(world, week, **overrides).items() if value is not None}

    response = api_client_for(world["manager_a"].user).post(SHIFTS, payload, format="json")

    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == [field]


def test_a_shift_needs_a_schedule_and_an_employee_of_the_restaurant(world, api_client_for, week):
    api = api_client_for(world["manager_a"].user)
    other_schedule = ScheduleFactory(restaurant=world["b"], week_start=MONDAY)

    foreign_schedule = api.post(SHIFTS, _shift_payload(world, week, schedule_id=other_schedule.pk), format="json")
    foreign_employee = api.post(SHIFTS, _shift_payload(world, week, employee_id=world["manager_b"].pk), format="json")

    assert foreign_schedule.status_code == 400
    assert list(foreign_schedule.json()["error"]["fields"]) == ["schedule_id"]
    assert foreign_employee.status_code == 400
    assert list(foreign_employee.json()["error"]["fields"]) == ["employee_id"]


def test_overlapping_shifts_of_one_employee_are_409(world, api_client_for, week):
    api = api_client_for(world["manager_a"].user)
    assert api.post(SHIFTS, _shift_payload(world, week), format="json").status_code == 201

    overlap = api.post(SHIFTS, _shift_payload(world, week, start_time="17:00", end_time="20:00"), format="json")
    after = api.post(SHIFTS, _shift_payload(world, week, start_time="17:30", end_time="20:00", break_duration=0),
                     format="json")

    assert overlap.status_code == 409 and overlap.json()["error"]["code"] == "shift_overlap"
    assert after.status_code == 201


def test_changing_a_shift_applies_the_same_rules(world, api_client_for, week):
    shift = ShiftFactory(schedule=week, employee=world["cashier_a"])
    api = api_client_for(world["manager_a"].user)

    bad = api.patch(f"{SHIFTS}{shift.pk}/", {"end_time": "08:30"}, format="json")
    good = api.patch(f"{SHIFTS}{shift.pk}/", {"end_time": "13:00", "status": "confirmed"}, format="json")

    assert bad.status_code == 400 and list(bad.json()["error"]["fields"]) == ["end_time"]
    assert good.status_code == 200 and good.json()["end_time"] == "13:00:00" and good.json()["status"] == "confirmed"
    assert _schedule(week.pk).total_scheduled_hours == Decimal("4.00")


def test_a_shift_someone_clocked_in_on_cannot_be_deleted(world, api_client_for, week):
    api = api_client_for(world["manager_a"].user)
    worked, planned = ShiftFactory(schedule=week, employee=world["cashier_a"]), ShiftFactory(
        schedule=week, employee=world["manager_a"]
    )
    TimeEntryFactory(employee=world["cashier_a"], shift=worked)

    assert api.delete(f"{SHIFTS}{worked.pk}/").status_code == 409
    assert api.delete(f"{SHIFTS}{planned.pk}/").status_code == 204


def test_staff_see_their_own_shifts_and_may_not_plan(world, api_client_for, week):
    mine = ShiftFactory(schedule=week, employee=world["cashier_a"])
    theirs = ShiftFactory(schedule=week, employee=world["manager_a"])
    api = api_client_for(world["cashier_a"].user)

    assert [s["id"] for s in api.get(SHIFTS).json()["results"]] == [mine.pk]
    assert api.get(f"{SHIFTS}{theirs.pk}/").status_code == 404
    assert api.post(SHIFTS, _shift_payload(world, week), format="json").status_code == 403
    assert api.patch(f"{SHIFTS}{mine.pk}/", {"end_time": "18:00"}, format="json").status_code == 403


def test_shift_filters(world, api_client_for, week):
    monday = ShiftFactory(schedule=week, employee=world["cashier_a"], shift_date=MONDAY)
    tuesday = ShiftFactory(schedule=week, employee=world["manager_a"], shift_date=MONDAY + datetime.timedelta(days=1))
    api = api_client_for(world["manager_a"].user)

    assert [s["id"] for s in api.get(SHIFTS).json()["results"]] == [monday.pk, tuesday.pk]
    assert [s["id"] for s in api.get(SHIFTS, {"date": "2025-03-04"}).json()["results"]] == [tuesday.pk]
    assert [s["id"] for s in api.get(SHIFTS, {"employee": world["cashier_a"].pk}).json()["results"]] == [monday.pk]
    assert [s["id"] for s in api.get(SHIFTS, {"schedule": week.pk, "date_from": "2025-03-03"}).json()["results"]] == [
        monday.pk, tuesday.pk,
    ]
    bad = api.get(SHIFTS, {"date_from": "2025-03-05", "date_to": "2025-03-04"})
    assert bad.status_code == 400 and list(bad.json()["error"]["fields"]) == ["date_to"]


def test_another_tenants_shift_is_404(world, api_client_for):
    other = ShiftFactory(schedule=ScheduleFactory(restaurant=world["b"]), employee=world["manager_b"])
    api = api_client_for(world["manager_a"].user)

    assert api.get(f"{SHIFTS}{other.pk}/").status_code == 404
    assert api.patch(f"{SHIFTS}{other.pk}/", {"notes": "x"}, format="json").status_code == 404
    assert api.delete(f"{SHIFTS}{other.pk}/").status_code == 404
    assert api.get(SHIFTS, {"employee": world["manager_b"].pk}).json()["results"] == []


def test_list_and_detail_run_a_constant_number_of_queries(
    world, api_client_for, week, django_assert_num_queries, count_queries
):
    api = api_client_for(world["manager_a"].user)
    first = ShiftFactory(schedule=week, employee=world["cashier_a"])
    shifts_baseline = count_queries(lambda: api.get(SHIFTS))
    schedules_baseline = count_queries(lambda: api.get(SCHEDULES))
    detail_baseline = count_queries(lambda: api.get(f"{SHIFTS}{first.pk}/"))
    for day in range(1, 6):
        schedule = ScheduleFactory(restaurant=world["a"])
        ShiftFactory(schedule=week, employee=EmployeeFactory(restaurant=world["a"]),
                     shift_date=MONDAY + datetime.timedelta(days=day))
        ShiftFactory(schedule=schedule, employee=world["cashier_a"])

    with django_assert_num_queries(shifts_baseline):
        assert len(api.get(SHIFTS).json()["results"]) == 11
    with django_assert_num_queries(schedules_baseline):
        assert len(api.get(SCHEDULES).json()["results"]) == 6
    with django_assert_num_queries(detail_baseline):
        api.get(f"{SHIFTS}{first.pk}/")
