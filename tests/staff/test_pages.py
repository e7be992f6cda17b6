"""Schedules, shifts and time tracking come in cursor pages: following `next` yields every row
once, in the list's order, whatever the ties in the ordering field. Every paged list (orders
and restock orders too) answers a malformed cursor or page size with a 400 naming it."""

from __future__ import annotations

import datetime

import pytest
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from fynlo.core.api import CursorPages
from tests.staff.factories import EmployeeFactory, ScheduleFactory, ShiftFactory, TimeEntryFactory

MONDAY = datetime.date(2025, 3, 3)


def every_page(api, url: str, page_size: int) -> tuple[list[int], int]:
    """The ids of every page, following `next`, and how many pages there were."""
    ids, pages, response = [], 0, api.get(url, {"page_size": page_size})
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        assert len(body["results"]) <= page_size
        ids += [row["id"] for row in body["results"]]
        pages += 1
        if not body["next"]:
            return ids, pages
        response = api.get(body["next"])


def make_schedules(world):
    for weeks in (0, 0, 1, 2, 2, 2, 5):  # ties on the week
        ScheduleFactory(restaurant=world["a"], week_start=MONDAY + datetime.timedelta(weeks=weeks))


def make_shifts(world):
    week = ScheduleFactory(restaurant=world["a"], week_start=MONDAY)
    for day, hour in [(0, 9), (0, 9), (0, 9), (1, 7), (1, 9), (1, 9), (3, 12)]:  # ties on date and time
        ShiftFactory(schedule=week, employee=EmployeeFactory(restaurant=world["a"]),
                     shift_date=MONDAY + datetime.timedelta(days=day), start_time=datetime.time(hour))


def make_time_entries(world):
    at = datetime.datetime(2025, 3, 3, 9, tzinfo=datetime.timezone.utc)
    for clock_in in [at, at, at, at + datetime.timedelta(days=1), None, at - datetime.timedelta(days=2), None]:
        TimeEntryFactory(employee=world["cashier_a"], clock_in=clock_in)  # ties, and entries without a clock-in


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "make"), [
    ("/api/v1/staff/schedules/", make_schedules),
    ("/api/v1/staff/shifts/", make_shifts),
    ("/api/v1/staff/time-tracking/", make_time_entries),
])
def test_following_next_yields_every_row_once_in_order(world, api_client_for, url, make):
    make(world)
    api = api_client_for(world["manager_a"].user)
    whole = [row["id"] for row in api.get(url, {"page_size": 200}).json()["results"]]

    paged, pages = every_page(api, url, page_size=2)

    assert len(whole) == 7
    assert paged == whole
    assert pages == 4


@pytest.mark.django_db
def test_a_first_page_links_to_the_next_only(world, api_client_for):
    make_time_entries(world)
    api = api_client_for(world["manager_a"].user)

    body = api.get("/api/v1/staff/time-tracking/", {"page_size": 1}).json()

    assert len(body["results"]) == 1 and body["next"] and body["previous"] is None


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/orders/", "/api/v1/staff/shifts/", "/api/v1/inventory/restock-orders/"])
@pytest.mark.parametrize(("params", "field"), [
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"page_size": "ten"}, "page_size"),
    ({"page_size": "0"}, "page_size"),
    ({"page_size": "-5"}, "page_size"),
])
def test_a_malformed_cursor_or_page_size_is_400_naming_it(world, api_client_for, url, params, field):
    response = api_client_for(world["manager_a"].user).get(url, params)

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert list(error["fields"]) == [field]


@pytest.mark.parametrize(("asked", "given"), [(None, 50), ("", 50), ("1", 1), ("200", 200), ("5000", 200)])
def test_the_page_size_defaults_to_50_and_is_cut_to_200(asked, given):
    params = {} if asked is None else {"page_size": asked}
    request = Request(APIRequestFactory().get("/api/v1/orders/", params))

    assert CursorPages().get_page_size(request) == given
