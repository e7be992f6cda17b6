"""Factories of the staff app: employees, schedules, shifts and time tracking."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory

from staff.models import Employee, EmployeeRole, Schedule, Shift, TimeTracking
from tenants.models import UserRole
from tests.tenants.factories import RestaurantFactory, TenantFactory, UserFactory


class EmployeeRoleFactory(TenantFactory):
    class Meta:
        model = EmployeeRole

    restaurant = factory.SubFactory(RestaurantFactory)
    name = factory.Sequence(lambda n: f"Role {n}")
    hourly_rate = Decimal("11.00")


class EmployeeFactory(TenantFactory):
    class Meta:
        model = Employee

    restaurant = factory.SubFactory(RestaurantFactory)
    user = factory.SubFactory(UserFactory, restaurant=factory.SelfAttribute("..restaurant"), role=UserRole.CASHIER)
    employee_number = factory.Sequence(lambda n: f"E{n:04d}")
    hire_date = datetime.date(2024, 1, 1)
    hourly_rate = Decimal("12.00")


class ScheduleFactory(TenantFactory):
    class Meta:
        model = Schedule

    restaurant = factory.SubFactory(RestaurantFactory)
    name = factory.Sequence(lambda n: f"Week {n}")
    week_start = datetime.date(2025, 3, 3)
    week_end = factory.LazyAttribute(lambda o: o.week_start + datetime.timedelta(days=6))


class ShiftFactory(TenantFactory):
    class Meta:
        model = Shift

    schedule = factory.SubFactory(ScheduleFactory)
    restaurant = factory.SelfAttribute("schedule.restaurant")
    employee = factory.SubFactory(EmployeeFactory, restaurant=factory.SelfAttribute("..restaurant"))
    shift_date = factory.SelfAttribute("schedule.week_start")
    start_time = datetime.time(9, 0)
    end_time = datetime.time(17, 0)


class TimeEntryFactory(TenantFactory):
    class Meta:
        model = TimeTracking

    employee = factory.SubFactory(EmployeeFactory)
    restaurant = factory.SelfAttribute("employee.restaurant")
    clock_in = factory.LazyFunction(lambda: datetime.datetime(2025, 3, 3, 9, 0, tzinfo=datetime.timezone.utc))
