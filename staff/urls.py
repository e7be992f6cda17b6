from django.urls import path

from staff import apis

urlpatterns = [
    path("staff/employees/", apis.EmployeeListApi.as_view(), name="employee-list"),
    path("staff/employees/<int:employee_id>/", apis.EmployeeDetailApi.as_view(), name="employee-detail"),
    path(
        "staff/employees/<int:employee_id>/deactivate/",
        apis.EmployeeDeactivateApi.as_view(),
        name="employee-deactivate",
    ),
    path("staff/schedules/", apis.ScheduleListApi.as_view(), name="schedule-list"),
    path("staff/schedules/<int:schedule_id>/", apis.ScheduleDetailApi.as_view(), name="schedule-detail"),
    path("staff/shifts/", apis.ShiftListApi.as_view(), name="shift-list"),
    path("staff/shifts/<int:shift_id>/", apis.ShiftDetailApi.as_view(), name="shift-detail"),
    path("staff/clock-in/", apis.ClockInApi.as_view(), name="clock-in"),
    path("staff/clock-out/", apis.ClockOutApi.as_view(), name="clock-out"),
    path("staff/break-start/", apis.BreakStartApi.as_view(), name="break-start"),
    path("staff/break-end/", apis.BreakEndApi.as_view(), name="break-end"),
    path("staff/time-tracking/", apis.TimeTrackingListApi.as_view(), name="time-tracking-list"),
    path("staff/time-tracking/<int:entry_id>/", apis.TimeTrackingDetailApi.as_view(), name="time-tracking-detail"),
]
