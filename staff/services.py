"""Writes of the staff app: employees, schedules, shifts, clocking in and out, and the pay it earns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from fynlo.core.dates import local_day_bounds
from fynlo.core.money import quantize
from fynlo.core.services import model_update
from staff.errors import StaffError, field_error
from staff.models import Employee, EmployeeRole, Schedule, Shift, ShiftStatus, TimeTracking, TimeTrackingStatus
from staff.selectors import open_time_entry
from tenants.models import Restaurant, User
from tenants.permissions import (
    CASHIER,
    COOK,
    MANAGER,
    OWNERS,
    RESTAURANT_OWNER,
    SERVER,
    user_role,
)
from tenants.selectors import restaurant_settings
from tenants.services import user_logout

OVERTIME_MULTIPLIER = Decimal("1.5")
_HOUR = Decimal(3600 * 10**6)  # microseconds

# --- who may manage whom -----------------------------------------------------------------

_STAFF_ROLES = frozenset({CASHIER, SERVER, COOK})


def assignable_roles(actor) -> frozenset[str]:
    """The user roles an actor may give and manage: owners everything below platform owner,
    managers the floor and kitchen staff."""
    role = user_role(actor)
    if role in OWNERS:
        return _STAFF_ROLES | {MANAGER, RESTAURANT_OWNER}
    if role == MANAGER:
        return _STAFF_ROLES
    return frozenset()


def _check_may_manage(actor, employee: Employee) -> None:
    if employee.user.role not in assignable_roles(actor):
        raise StaffError("permission_denied", "Your role may not manage this employee.", status=403)


# --- employees ---------------------------------------------------------------------------


def _employee_role(restaurant_id: int, role_id: int | None) -> EmployeeRole | None:
    if role_id is None:
        return None
    role = EmployeeRole.objects.filter(pk=role_id, restaurant_id=restaurant_id).first()
    if role is None:
        raise field_error("role_id", "No such employee role in this restaurant.")
    return role


def _check_employee_number(restaurant_id: int, number: str | None, *, exclude_pk: int | None = None) -> None:
    if not number:
        return
    taken = Employee.objects.filter(restaurant_id=restaurant_id, employee_number=number)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise field_error("employee_number", "This employee number is already used in this restaurant.")


def _check_dates(hire_date: date, termination_date: date | None) -> None:
    if termination_date is not None and termination_date < hire_date:
        raise field_error("termination_date", "The termination date is before the hire date.")


def _user_create(*, restaurant_id: int, actor, new_user: dict) -> User:
    if new_user["role"] not in assignable_roles(actor):
        raise field_error("user.role", f"Your role may not give the role {new_user['role']!r}.")
    platform_id = Restaurant.objects.filter(pk=restaurant_id).values_list("platform_id", flat=True).get()
    fields = {key: value for key, value in new_user.items() if key not in {"email", "password"}}
    try:
        with transaction.atomic():
            return User.objects.create_user(
                new_user["email"], new_user.get("password"),
                restaurant_id=restaurant_id, platform_id=platform_id, **fields,
            )
    except IntegrityError as error:
        constraint = getattr(getattr(error.__cause__, "diag", None), "constraint_name", "") or ""
        if "email" in constraint:
            raise field_error("user.email", "A user with this email already exists.") from None
        raise


@transaction.atomic
def employee_create(
    *, restaurant_id: int, actor, details: dict, user_id: int | None = None, new_user: dict | None = None
) -> Employee:
    """Make an employee of an existing user of the restaurant, or of a new user made with it."""
    details = dict(details)
    role = _employee_role(restaurant_id, details.pop("role_id", None))
    _check_employee_number(restaurant_id, details.get("employee_number"))
    details.setdefault("hire_date", timezone.localdate())
    _check_dates(details["hire_date"], details.get("termination_date"))
    if new_user is not None:
        user = _user_create(restaurant_id=restaurant_id, actor=actor, new_user=new_user)
    else:
        user = User.objects.filter(pk=user_id, restaurant_id=restaurant_id).first()
        if user is None:
            raise field_error("user_id", "No such user in this restaurant.")
        if user.role not in assignable_roles(actor):
            raise field_error("user_id", "Your role may not manage this user's role.")
        if Employee.objects.filter(restaurant_id=restaurant_id, user=user, is_active=True).exists():
            raise StaffError("employee_exists", "This user already has an active employee record.", status=409)
    return Employee.objects.create(restaurant_id=restaurant_id, user=user, role=role, **details)


@transaction.atomic
def employee_update(*, employee: Employee, actor, details: dict, user_details: dict | None = None) -> Employee:
    """Change an employee's record and their user's name, phone or role."""
    _check_may_manage(actor, employee)
    values = dict(details)
    if "role_id" in values:
        values["role"] = _employee_role(employee.restaurant_id, values.pop("role_id"))
    if "employee_number" in values:
        _check_employee_number(employee.restaurant_id, values["employee_number"], exclude_pk=employee.pk)
    _check_dates(values.get("hire_date", employee.hire_date), values.get("termination_date", employee.termination_date))
    model_update(instance=employee, fields=values, data=values)
    if user_details:
        if "role" in user_details and user_details["role"] not in assignable_roles(actor):
            raise field_error("user.role", f"Your role may not give the role {user_details['role']!r}.")
        _, changed = model_update(instance=employee.user, fields=user_details, data=user_details)
        if changed:  # the employee reads with their user's name and role: a change of theirs for a till's copy
            model_update(instance=employee, fields=["updated_at"], data={"updated_at": timezone.now()})
    return employee


@transaction.atomic
def employee_deactivate(*, employee: Employee, actor) -> Employee:
    """End an employment: the employee and their user become inactive and the user's API tokens are revoked."""
    if employee.user_id == actor.pk:
        raise StaffError("cannot_deactivate_self", "You cannot deactivate your own employee record.", status=409)
    _check_may_manage(actor, employee)
    now = timezone.now()
    ended = {
        "is_active": False,
        "termination_date": employee.termination_date or max(timezone.localdate(), employee.hire_date),
    }
    model_update(instance=employee, fields=ended, data=ended, now=now)
    user = employee.user
    model_update(instance=user, fields=["is_active"], data={"is_active": False}, now=now)
    user_logout(user=user, token_id=None, everywhere=True)
    return employee


# --- schedules and shifts ----------------------------------------------------------------


def _hourly_rate(shift: Shift | None, employee: Employee) -> Decimal | None:
    """The shift's rate, else the employee's, else their employee role's default."""
    if shift is not None and shift.hourly_rate is not None:
        return shift.hourly_rate
    if employee.hourly_rate is not None:
        return employee.hourly_rate
    return employee.role.hourly_rate if employee.role is not None else None


def _span_minutes(start, end) -> int:
    return (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)


def _scheduled_minutes(shift: Shift) -> int:
    return _span_minutes(shift.start_time, shift.end_time) - shift.break_duration


def schedule_totals_refresh(*, schedule_id: int) -> None:
    """Recompute a schedule's scheduled hours and labour cost from its shifts (cancelled ones excluded)."""
    shifts = Shift.objects.filter(schedule_id=schedule_id).exclude(status=ShiftStatus.CANCELLED).select_related(
        "employee__role"
    )
    hours = cost = Decimal("0.00")
    for shift in shifts:
        shift_hours = quantize(Decimal(_scheduled_minutes(shift)) / 60)
        hours += shift_hours
        rate = _hourly_rate(shift, shift.employee)
        if rate is not None:
            cost += quantize(shift_hours * rate)
    Schedule.objects.filter(pk=schedule_id).update(
        total_scheduled_hours=hours, total_labor_cost=cost, updated_at=timezone.now()
    )


@transaction.atomic
def schedule_create(*, restaurant_id: int, actor, name: str, week_start: date, week_end: date, **fields) -> Schedule:
    """Start a week's shift plan."""
    if week_end < week_start:
        raise field_error("week_end", "The week ends before it starts.")
    return Schedule.objects.create(
        restaurant_id=restaurant_id, created_by=actor, name=name, week_start=week_start, week_end=week_end, **fields
    )


@transaction.atomic
def schedule_update(*, schedule: Schedule, values: dict) -> Schedule:
    """Rename, re-date or change the status of a schedule; its shifts must stay inside its dates."""
    week_start, week_end = values.get("week_start", schedule.week_start), values.get("week_end", schedule.week_end)
    if week_end < week_start:
        raise field_error("week_end", "The week ends before it starts.")
    outside = Shift.objects.filter(schedule_id=schedule.pk).exclude(shift_date__gte=week_start, shift_date__lte=week_end)
    if {"week_start", "week_end"} & set(values) and outside.exists():
        raise field_error("week_start", "Some shifts of this schedule fall outside these dates.")
    model_update(instance=schedule, fields=values, data=values)
    return schedule


def _check_no_time_entries(queryset, what: str) -> None:
    if queryset.exists():
        raise StaffError(
            f"{what}_has_time_entries",
            f"This {what} has time tracking entries (worked hours and pay); cancel it instead.",
            status=409,
        )


@transaction.atomic
def schedule_delete(*, schedule: Schedule) -> None:
    """Delete a schedule and its shifts, unless someone has clocked in against one of them."""
    _check_no_time_entries(TimeTracking.objects.filter(shift__schedule_id=schedule.pk), "schedule")
    schedule.delete()


def _validated_shift(restaurant_id: int, values: dict, *, exclude_pk: int | None = None) -> dict:
    schedule = Schedule.objects.filter(pk=values["schedule_id"], restaurant_id=restaurant_id).first()
    if schedule is None:
        raise field_error("schedule_id", "No such schedule in this restaurant.")
    employee = Employee.objects.filter(pk=values["employee_id"], restaurant_id=restaurant_id).first()
    if employee is None or not employee.is_active:
        raise field_error("employee_id", "No such active employee in this restaurant.")
    if values["end_time"] <= values["start_time"]:
        raise field_error("end_time", "The shift ends before it starts.")
    if not schedule.week_start <= values["shift_date"] <= schedule.week_end:
        raise field_error(
            "shift_date", f"The schedule runs from {schedule.week_start} to {schedule.week_end}."
        )
    if values["break_duration"] >= _span_minutes(values["start_time"], values["end_time"]):
        raise field_error("break_duration", "The break is as long as the shift.")
    if values.get("status") != ShiftStatus.CANCELLED:
        overlapping = Shift.objects.filter(
            restaurant_id=restaurant_id,
            employee_id=employee.pk,
            shift_date=values["shift_date"],
            start_time__lt=values["end_time"],
            end_time__gt=values["start_time"],
        ).exclude(status=ShiftStatus.CANCELLED)
        if exclude_pk is not None:
            overlapping = overlapping.exclude(pk=exclude_pk)
        if overlapping.exists():
            raise StaffError("shift_overlap", "The employee already has a shift at that time.", status=409)
    return values


@transaction.atomic
def shift_create(*, restaurant_id: int, values: dict) -> Shift:
    """Put an employee of the restaurant on a schedule of the restaurant."""
    values = {"break_duration": 0, **values}
    _validated_shift(restaurant_id, values)
    shift = Shift.objects.create(restaurant_id=restaurant_id, **values)
    schedule_totals_refresh(schedule_id=shift.schedule_id)
    return shift


@transaction.atomic
def shift_update(*, shift: Shift, values: dict) -> Shift:
    """Change a shift; the same rules as creating one apply to the result."""
    fields = ("schedule_id", "employee_id", "shift_date", "start_time", "end_time", "break_duration", "status")
    merged = {name: getattr(shift, name) for name in fields} | values
    _validated_shift(shift.restaurant_id, merged, exclude_pk=shift.pk)
    previous_schedule = shift.schedule_id
    model_update(instance=shift, fields=values, data=values)
    schedule_totals_refresh(schedule_id=shift.schedule_id)
    if previous_schedule != shift.schedule_id:
        schedule_totals_refresh(schedule_id=previous_schedule)
    return shift


@transaction.atomic
def shift_delete(*, shift: Shift) -> None:
    """Delete a shift nobody has clocked in against."""
    _check_no_time_entries(TimeTracking.objects.filter(shift_id=shift.pk), "shift")
    schedule_id = shift.schedule_id
    shift.delete()
    schedule_totals_refresh(schedule_id=schedule_id)


# --- clocking in and out -----------------------------------------------------------------


@dataclass(frozen=True)
class WorkFigures:
    total_hours: Decimal
    overtime_hours: Decimal
    total_pay: Decimal | None


def work_figures(
    *,
    worked: timedelta,
    earlier_hours: Decimal,
    overtime_after: Decimal,
    hourly_rate: Decimal | None,
    overtime_rate: Decimal | None,
) -> WorkFigures:
    """Hours (2 dp), the part of them past `overtime_after` hours in the day (counting the
    day's `earlier_hours`), and the pay: regular hours at the hourly rate plus overtime at
    the overtime rate (1.5x the hourly rate unless given), each line and the total rounded half up."""
    total = quantize(max(Decimal(worked // timedelta(microseconds=1)), Decimal(0)) / _HOUR)
    zero = Decimal("0.00")
    overtime = max(earlier_hours + total - overtime_after, zero) - max(earlier_hours - overtime_after, zero)
    overtime = min(max(overtime, zero), total)
    if hourly_rate is None:
        return WorkFigures(total, overtime, None)
    if overtime_rate is None:
        overtime_rate = quantize(hourly_rate * OVERTIME_MULTIPLIER)
    pay = quantize((total - overtime) * hourly_rate) + quantize(overtime * overtime_rate)
    return WorkFigures(total, overtime, quantize(pay))


def _locked(employee: Employee) -> Employee:
    # One clock action per employee at a time: a double tap must not clock in twice.
    return Employee.objects.select_for_update(of=("self",)).select_related("role").get(pk=employee.pk)


def _open_entry(employee: Employee) -> TimeTracking:
    entry = open_time_entry(employee=employee)
    if entry is None:
        raise StaffError("not_clocked_in", "You are not clocked in.", status=409)
    return entry


@transaction.atomic
def shift_clock_in(*, employee: Employee, shift_id: int | None = None, at: datetime | None = None) -> TimeTracking:
    """Clock the employee in, against the given shift or their first open shift of the day."""
    employee = _locked(employee)
    at = at or timezone.now()
    if open_time_entry(employee=employee) is not None:
        raise StaffError("already_clocked_in", "You are already clocked in.", status=409)
    shifts = Shift.objects.filter(employee=employee, restaurant_id=employee.restaurant_id)
    if shift_id is not None:
        shift = shifts.filter(pk=shift_id).first()
        if shift is None:
            raise field_error("shift_id", "No such shift of yours.")
    else:
        shift = (
            shifts.filter(shift_date=timezone.localdate(at), status__in=[ShiftStatus.SCHEDULED, ShiftStatus.CONFIRMED])
            .order_by("start_time", "id")
            .first()
        )
    return TimeTracking.objects.create(
        restaurant_id=employee.restaurant_id, employee=employee, shift=shift, clock_in=at,
        status=TimeTrackingStatus.ACTIVE,
    )


def _earlier_hours_that_day(entry: TimeTracking) -> Decimal:
    start, _ = local_day_bounds(timezone.localdate(entry.clock_in))
    earlier = TimeTracking.objects.filter(
        employee_id=entry.employee_id,
        restaurant_id=entry.restaurant_id,
        clock_in__gte=start,
        clock_in__lt=entry.clock_in,
        total_hours__isnull=False,
    ).exclude(pk=entry.pk).aggregate(hours=Sum("total_hours"))["hours"]
    return earlier or Decimal("0.00")


@transaction.atomic
def shift_clock_out(*, employee: Employee, at: datetime | None = None) -> TimeTracking:
    """Clock the employee out (ending an open break) and work out hours, overtime and pay."""
    employee = _locked(employee)
    at = at or timezone.now()
    entry = _open_entry(employee)
    if entry.break_start is not None and entry.break_end is None:
        entry.break_end = at
    entry.clock_out = at
    worked = entry.clock_out - entry.clock_in
    if entry.break_start is not None:
        worked -= entry.break_end - entry.break_start
    shift = entry.shift
    figures = work_figures(
        worked=worked,
        earlier_hours=_earlier_hours_that_day(entry),
        overtime_after=restaurant_settings(restaurant_id=entry.restaurant_id).overtime_after_hours,
        hourly_rate=_hourly_rate(shift, employee),
        overtime_rate=shift.overtime_rate if shift is not None else None,
    )
    entry.total_hours = figures.total_hours
    entry.overtime_hours = figures.overtime_hours
    entry.total_pay = figures.total_pay
    entry.status = TimeTrackingStatus.COMPLETED
    entry.updated_at = at
    entry.save(update_fields=[
        "clock_out", "break_end", "total_hours", "overtime_hours", "total_pay", "status", "updated_at",
    ])
    if shift is not None and shift.status in (ShiftStatus.SCHEDULED, ShiftStatus.CONFIRMED):
        model_update(instance=shift, fields=["status"], data={"status": ShiftStatus.COMPLETED}, now=at)
    return entry


@transaction.atomic
def shift_break_start(*, employee: Employee, at: datetime | None = None) -> TimeTracking:
    """Start the employee's break (one break is recorded per clock-in)."""
    entry = _open_entry(_locked(employee))
    if entry.break_start is not None:
        if entry.break_end is None:
            raise StaffError("already_on_break", "You are already on a break.", status=409)
        raise StaffError("break_already_taken", "A break was already taken since you clocked in.", status=409)
    at = at or timezone.now()
    model_update(instance=entry, fields=["break_start"], data={"break_start": at}, now=at)
    return entry


@transaction.atomic
def shift_break_end(*, employee: Employee, at: datetime | None = None) -> TimeTracking:
    """End the employee's break."""
    entry = _open_entry(_locked(employee))
    if entry.break_start is None or entry.break_end is not None:
        raise StaffError("not_on_break", "You are not on a break.", status=409)
    at = at or timezone.now()
    model_update(instance=entry, fields=["break_end"], data={"break_end": at}, now=at)
    return entry
