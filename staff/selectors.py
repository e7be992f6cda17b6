"""Reads of the staff app. Managers and owners see their restaurant's rows; other staff their own."""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet
from django.db.models.functions import Coalesce

from fynlo.core.api import get_or_404
from fynlo.core.dates import local_day_bounds
from staff.errors import StaffError
from staff.models import Employee, Schedule, Shift, TimeTracking
from tenants.context import Tenant
from tenants.permissions import MANAGERS, user_role
from tenants.selectors import scope_to_tenant


def is_manager(user) -> bool:
    """Managers and owners see and manage every employee of their restaurant."""
    return user_role(user) in MANAGERS


def _own_rows(queryset: QuerySet, *, viewer, employee_path: str) -> QuerySet:
    if is_manager(viewer):
        return queryset
    return queryset.filter(**{f"{employee_path}user_id": viewer.pk})


def employee_list(*, tenant: Tenant, viewer, is_active: bool | None = None) -> QuerySet:
    """Employees with their user and role (one query)."""
    queryset = scope_to_tenant(Employee.objects.select_related("user", "role"), tenant=tenant)
    if is_active is not None:
        queryset = queryset.filter(is_active=is_active)
    return _own_rows(queryset, viewer=viewer, employee_path="").order_by("id")


def employee_get(*, tenant: Tenant, viewer, employee_id: int) -> Employee:
    return get_or_404(employee_list(tenant=tenant, viewer=viewer), pk=employee_id, what="employee")


def employee_of_user(*, user, tenant: Tenant) -> Employee:
    """The signed-in user's active employee record in the request's restaurant."""
    employee = (
        scope_to_tenant(Employee.objects.select_related("user", "role"), tenant=tenant)
        .filter(user_id=user.pk, is_active=True)
        .order_by("id")
        .first()
    )
    if employee is None:
        raise StaffError("not_an_employee", "You have no active employee record in this restaurant.", status=404)
    return employee


def schedule_list(
    *, tenant: Tenant, week_from: date | None = None, week_to: date | None = None, status: str | None = None
) -> QuerySet:
    """Schedules, newest week first, optionally those overlapping [week_from, week_to]."""
    queryset = scope_to_tenant(Schedule.objects.all(), tenant=tenant)
    if week_from is not None:
        queryset = queryset.filter(week_end__gte=week_from)
    if week_to is not None:
        queryset = queryset.filter(week_start__lte=week_to)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-week_start", "id")


def schedule_get(*, tenant: Tenant, schedule_id: int) -> Schedule:
    return get_or_404(schedule_list(tenant=tenant), pk=schedule_id, what="schedule")


def shift_list(
    *,
    tenant: Tenant,
    viewer,
    schedule_id: int | None = None,
    employee_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet:
    """Shifts by date and start time."""
    queryset = scope_to_tenant(Shift.objects.all(), tenant=tenant)
    if schedule_id is not None:
        queryset = queryset.filter(schedule_id=schedule_id)
    if employee_id is not None:
        queryset = queryset.filter(employee_id=employee_id)
    if date_from is not None:
        queryset = queryset.filter(shift_date__gte=date_from)
    if date_to is not None:
        queryset = queryset.filter(shift_date__lte=date_to)
    return _own_rows(queryset, viewer=viewer, employee_path="employee__").order_by("shift_date", "start_time", "id")


def shift_get(*, tenant: Tenant, viewer, shift_id: int) -> Shift:
    return get_or_404(shift_list(tenant=tenant, viewer=viewer), pk=shift_id, what="shift")


def time_entry_list(
    *,
    tenant: Tenant,
    viewer,
    employee_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet:
    """Time tracking entries, newest clock-in first (`listed_at`: the clock-in, or when an entry
    without one was recorded); dates filter on the clock-in, in local time."""
    queryset = scope_to_tenant(TimeTracking.objects.annotate(listed_at=Coalesce("clock_in", "created_at")), tenant=tenant)
    if employee_id is not None:
        queryset = queryset.filter(employee_id=employee_id)
    if date_from is not None:
        queryset = queryset.filter(clock_in__gte=local_day_bounds(date_from)[0])
    if date_to is not None:
        queryset = queryset.filter(clock_in__lt=local_day_bounds(date_to)[1])
    return _own_rows(queryset, viewer=viewer, employee_path="employee__").order_by("-listed_at", "-id")


def time_entry_get(*, tenant: Tenant, viewer, entry_id: int) -> TimeTracking:
    return get_or_404(time_entry_list(tenant=tenant, viewer=viewer), pk=entry_id, what="time tracking entry")


def open_time_entry(*, employee: Employee) -> TimeTracking | None:
    """The employee's entry that is clocked in and not yet out."""
    return (
        TimeTracking.objects.filter(employee=employee, restaurant_id=employee.restaurant_id, clock_out__isnull=True)
        .exclude(clock_in__isnull=True)
        .order_by("-clock_in")
        .first()
    )
