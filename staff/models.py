"""A restaurant's employees, their roles, schedules, shifts, time tracking and performance metrics."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now

from tenants.models import RestaurantScopedModel


class EmploymentType(models.TextChoices):
    FULL_TIME = "full_time", "Full time"
    PART_TIME = "part_time", "Part time"
    CONTRACT = "contract", "Contract"


class ScheduleStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


class ShiftPosition(models.TextChoices):
    CASHIER = "cashier", "Cashier"
    COOK = "cook", "Cook"
    SERVER = "server", "Server"
    MANAGER = "manager", "Manager"


class ShiftStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CONFIRMED = "confirmed", "Confirmed"
    COMPLETED = "completed", "Completed"
    NO_SHOW = "no_show", "No show"
    CANCELLED = "cancelled", "Cancelled"


class TimeTrackingStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    APPROVED = "approved", "Approved"


class MetricType(models.TextChoices):
    SALES = "sales", "Sales"
    PUNCTUALITY = "punctuality", "Punctuality"
    CUSTOMER_RATING = "customer_rating", "Customer rating"


# The legacy backend's per-period figures (`migrate_legacy --format fynlo-v1`), kept as they were
# measured: one metric per figure, named `<period>.<figure>` (e.g. `weekly.tables_served`).
LEGACY_METRIC_PERIODS = ("daily", "weekly", "monthly")
LEGACY_METRIC_FIGURES = (
    "total_sales", "transaction_count", "average_transaction", "tables_served", "average_table_time",
    "customer_rating", "compliments", "complaints", "items_per_hour", "waste_percentage", "scheduled_hours",
    "worked_hours", "late_arrivals", "no_shows",
)
METRIC_TYPE_CHOICES = MetricType.choices + [
    (f"{period}.{figure}", f"{period.title()} {figure.replace('_', ' ')} (legacy)")
    for period in LEGACY_METRIC_PERIODS
    for figure in LEGACY_METRIC_FIGURES
]


class EmployeeRole(RestaurantScopedModel):
    """A named role in one restaurant, with its permissions and default hourly rate."""

    name = models.CharField(max_length=100)
    description = models.TextField(null=True, blank=True)
    permissions = models.JSONField(db_default=[])
    hourly_rate = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    is_active = models.BooleanField(db_default=True)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "employee_roles"
        constraints = [
            models.UniqueConstraint(fields=["restaurant", "name"], name="employee_roles_restaurant_name_uniq"),
        ]

    def __str__(self) -> str:
        return self.name


class Employee(RestaurantScopedModel):
    user = models.ForeignKey("tenants.User", on_delete=models.CASCADE, db_column="user_id", related_name="employees")
    role = models.ForeignKey(
        EmployeeRole, null=True, blank=True, on_delete=models.SET_NULL, db_column="role_id", related_name="employees"
    )
    employee_number = models.CharField(max_length=50, null=True, blank=True)
    hire_date = models.DateField()
    termination_date = models.DateField(null=True, blank=True)
    job_title = models.CharField(max_length=100, null=True, blank=True)
    department = models.CharField(max_length=100, null=True, blank=True)
    hourly_rate = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    salary = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    employment_type = models.CharField(max_length=50, choices=EmploymentType.choices, db_default="part_time")
    emergency_contact_name = models.CharField(max_length=255, null=True, blank=True)
    emergency_contact_phone = models.CharField(max_length=50, null=True, blank=True)
    is_active = models.BooleanField(db_default=True)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "employees"
        constraints = [
            models.UniqueConstraint(
                fields=["restaurant", "employee_number"], name="employees_restaurant_employee_number_uniq"
            ),
            models.CheckConstraint(
                condition=Q(employment_type__in=EmploymentType.values), name="employees_employment_type_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.employee_number or f"Employee #{self.pk}"


class Schedule(RestaurantScopedModel):
    """A week's shift plan."""

    name = models.CharField(max_length=255)
    week_start = models.DateField()
    week_end = models.DateField()
    status = models.CharField(max_length=50, choices=ScheduleStatus.choices, db_default="draft")
    total_scheduled_hours = models.DecimalField(max_digits=8, decimal_places=2, db_default=0)
    total_labor_cost = models.DecimalField(max_digits=10, decimal_places=2, db_default=0)
    created_by = models.ForeignKey(
        "tenants.User", null=True, blank=True, on_delete=models.SET_NULL, db_column="created_by", related_name="+"
    )
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "schedules"
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ScheduleStatus.values), name="schedules_status_valid"),
            models.CheckConstraint(condition=Q(week_end__gte=F("week_start")), name="schedules_week_end_after_start"),
        ]

    def __str__(self) -> str:
        return self.name


class Shift(RestaurantScopedModel):
    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, db_column="schedule_id", related_name="shifts")
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, db_column="employee_id", related_name="shifts")
    shift_date = models.DateField()
    start_time = models.TimeField()
    end_time = models.TimeField()
    break_duration = models.IntegerField(db_default=0, help_text="Minutes")
    position = models.CharField(max_length=100, choices=ShiftPosition.choices, null=True, blank=True)
    status = models.CharField(max_length=50, choices=ShiftStatus.choices, db_default="scheduled")
    hourly_rate = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    overtime_rate = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    notes = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "shifts"
        constraints = [
            models.CheckConstraint(condition=Q(break_duration__gte=0), name="shifts_break_duration_nonneg"),
            models.CheckConstraint(
                condition=Q(position__isnull=True) | Q(position__in=ShiftPosition.values),
                name="shifts_position_valid",
            ),
            models.CheckConstraint(condition=Q(status__in=ShiftStatus.values), name="shifts_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.shift_date} {self.start_time}-{self.end_time}"


class TimeTracking(RestaurantScopedModel):
    """One clock-in/clock-out of an employee, against a shift when there is one."""

    employee = models.ForeignKey(
        Employee, on_delete=models.CASCADE, db_column="employee_id", related_name="time_entries"
    )
    shift = models.ForeignKey(
        Shift, null=True, blank=True, on_delete=models.CASCADE, db_column="shift_id", related_name="time_entries"
    )
    clock_in = models.DateTimeField(null=True, blank=True)
    clock_out = models.DateTimeField(null=True, blank=True)
    break_start = models.DateTimeField(null=True, blank=True)
    break_end = models.DateTimeField(null=True, blank=True)
    total_hours = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    overtime_hours = models.DecimalField(max_digits=8, decimal_places=2, db_default=0)
    total_pay = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    status = models.CharField(max_length=50, choices=TimeTrackingStatus.choices, db_default="active")
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "time_tracking"
        verbose_name_plural = "time tracking"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=TimeTrackingStatus.values), name="time_tracking_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Employee {self.employee_id}, clocked in at {self.clock_in or '-'}"


class PerformanceMetric(RestaurantScopedModel):
    employee = models.ForeignKey(
        Employee, on_delete=models.CASCADE, db_column="employee_id", related_name="performance_metrics"
    )
    metric_date = models.DateField()
    metric_type = models.CharField(max_length=100, choices=METRIC_TYPE_CHOICES)
    metric_value = models.DecimalField(max_digits=10, decimal_places=2)
    target_value = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    notes = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "performance_metrics"
        constraints = [
            models.UniqueConstraint(
                fields=["restaurant", "employee", "metric_date", "metric_type"],
                name="performance_metrics_restaurant_employee_date_type_uniq",
            ),
            models.CheckConstraint(
                condition=Q(metric_type__in=[value for value, _ in METRIC_TYPE_CHOICES]),
                name="performance_metrics_metric_type_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.metric_type} on {self.metric_date}: {self.metric_value}"
