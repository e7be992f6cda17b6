"""Admin of employees, roles, schedules, shifts, time tracking and metrics: read-only, for
operations staff.

Managers run their staff through the POS API; platform owners do not see these
(tenants.permissions).
"""

from __future__ import annotations

from django.contrib import admin

from tenants.admin_site import site
from staff.models import Employee, EmployeeRole, PerformanceMetric, Schedule, Shift, TimeTracking
from tenants.admin import ReadOnlyAdmin, RestaurantFilter


@admin.register(EmployeeRole, site=site)
class EmployeeRoleAdmin(ReadOnlyAdmin):
    list_display = ("name", "restaurant", "hourly_rate", "is_active")
    list_filter = ("is_active", RestaurantFilter)
    list_select_related = ("restaurant",)
    search_fields = ("name",)
    ordering = ("restaurant", "name")


@admin.register(Employee, site=site)
class EmployeeAdmin(ReadOnlyAdmin):
    list_display = ("employee_number", "user", "restaurant", "job_title", "employment_type", "hire_date", "is_active")
    list_filter = ("is_active", "employment_type", RestaurantFilter)
    list_select_related = ("user", "restaurant")
    search_fields = ("employee_number", "user__email", "user__first_name", "user__last_name", "job_title")
    ordering = ("restaurant", "employee_number")


@admin.register(Schedule, site=site)
class ScheduleAdmin(ReadOnlyAdmin):
    list_display = ("name", "restaurant", "week_start", "week_end", "status", "total_scheduled_hours")
    list_filter = ("status", RestaurantFilter, ("week_start", admin.DateFieldListFilter))
    list_select_related = ("restaurant",)
    search_fields = ("name",)
    ordering = ("-week_start", "restaurant")


@admin.register(Shift, site=site)
class ShiftAdmin(ReadOnlyAdmin):
    list_display = ("shift_date", "start_time", "end_time", "employee", "restaurant", "position", "status")
    list_filter = ("status", "position", RestaurantFilter, ("shift_date", admin.DateFieldListFilter))
    list_select_related = ("employee", "restaurant")
    ordering = ("-shift_date", "start_time")
    show_full_result_count = False


@admin.register(TimeTracking, site=site)
class TimeTrackingAdmin(ReadOnlyAdmin):
    list_display = ("employee", "restaurant", "clock_in", "clock_out", "total_hours", "status")
    list_filter = ("status", RestaurantFilter, ("clock_in", admin.DateFieldListFilter))
    list_select_related = ("employee", "restaurant")
    ordering = ("-clock_in", "-pk")
    show_full_result_count = False


@admin.register(PerformanceMetric, site=site)
class PerformanceMetricAdmin(ReadOnlyAdmin):
    list_display = ("metric_date", "metric_type", "employee", "restaurant", "metric_value", "target_value")
    list_filter = ("metric_type", RestaurantFilter, ("metric_date", admin.DateFieldListFilter))
    list_select_related = ("employee", "restaurant")
    ordering = ("-metric_date", "-pk")
