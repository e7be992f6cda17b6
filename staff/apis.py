"""Staff endpoints: employees, schedules, shifts, clocking in and out, time tracking."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from fynlo.core.api import cursor_pages, validated
from fynlo.core.sync import UPDATED_SINCE, wants_changes
from fynlo.core.views import filters
from staff import selectors, services
from staff.serializers import (
    ClockInSerializer,
    EmployeeCreateSerializer,
    EmployeeFilterSerializer,
    EmployeeSerializer,
    EmployeeUpdateSerializer,
    ScheduleFilterSerializer,
    ScheduleSerializer,
    ScheduleWriteSerializer,
    ShiftFilterSerializer,
    ShiftSerializer,
    ShiftWriteSerializer,
    TimeEntryFilterSerializer,
    TimeEntrySerializer,
)
from tenants.permissions import ALL_ROLES, MANAGERS, roles
from tenants.replicas import changes_from_replica
from tenants.request import acting_restaurant_id

RESTAURANT_HEADER = OpenApiParameter(
    "X-Restaurant-Id", int, OpenApiParameter.HEADER, required=False,
    description="A platform owner's restaurant (required for a platform owner to create)",
)


# --- employees ---------------------------------------------------------------------------


class EmployeeListApi(APIView):
    permission_classes = [roles(read=ALL_ROLES, write=MANAGERS)]

    @extend_schema(
        parameters=[EmployeeFilterSerializer, UPDATED_SINCE], responses={200: EmployeeSerializer(many=True)},
        summary="Employees (managers and owners: all; other staff: their own record), or what changed since updated_since",
    )
    def get(self, request):
        query = filters(EmployeeFilterSerializer, request)
        employees = selectors.employee_list(tenant=request.tenant, viewer=request.user, is_active=query["active"])
        if wants_changes(request):
            return changes_from_replica(request, employees, lambda rows: EmployeeSerializer(rows, many=True).data)
        return Response(EmployeeSerializer(employees, many=True).data)

    @extend_schema(
        parameters=[RESTAURANT_HEADER], request=EmployeeCreateSerializer, responses={201: EmployeeSerializer},
        summary="Add an employee (of an existing user of the restaurant, or with a new user)",
    )
    def post(self, request):
        restaurant_id = acting_restaurant_id(request)
        values = validated(EmployeeCreateSerializer, request.data)
        employee = services.employee_create(
            restaurant_id=restaurant_id, actor=request.user, user_id=values.pop("user_id", None),
            new_user=values.pop("user", None), details=values,
        )
        employee = selectors.employee_get(tenant=request.tenant, viewer=request.user, employee_id=employee.pk)
        return Response(EmployeeSerializer(employee).data, status=status.HTTP_201_CREATED)


class EmployeeDetailApi(APIView):
    permission_classes = [roles(read=ALL_ROLES, write=MANAGERS)]

    @extend_schema(responses={200: EmployeeSerializer}, summary="One employee")
    def get(self, request, employee_id: int):
        employee = selectors.employee_get(tenant=request.tenant, viewer=request.user, employee_id=employee_id)
        return Response(EmployeeSerializer(employee).data)

    @extend_schema(request=EmployeeUpdateSerializer, responses={200: EmployeeSerializer}, summary="Change an employee")
    def patch(self, request, employee_id: int):
        employee = selectors.employee_get(tenant=request.tenant, viewer=request.user, employee_id=employee_id)
        values = validated(EmployeeUpdateSerializer, request.data, partial=True)
        services.employee_update(
            employee=employee, actor=request.user, user_details=values.pop("user", None), details=values
        )
        employee = selectors.employee_get(tenant=request.tenant, viewer=request.user, employee_id=employee_id)
        return Response(EmployeeSerializer(employee).data)


class EmployeeDeactivateApi(APIView):
    permission_classes = [roles(read=MANAGERS, write=MANAGERS)]

    @extend_schema(
        request=None, responses={200: EmployeeSerializer},
        summary="End an employment: the employee and their user become inactive, their tokens are revoked",
    )
    def post(self, request, employee_id: int):
        employee = selectors.employee_get(tenant=request.tenant, viewer=request.user, employee_id=employee_id)
        services.employee_deactivate(employee=employee, actor=request.user)
        employee = selectors.employee_get(tenant=request.tenant, viewer=request.user, employee_id=employee_id)
        return Response(EmployeeSerializer(employee).data)


# --- schedules ---------------------------------------------------------------------------


class ScheduleListApi(GenericAPIView):
    permission_classes = [roles(read=MANAGERS, write=MANAGERS)]
    pagination_class = cursor_pages("-week_start", "-id")
    serializer_class = ScheduleSerializer

    @extend_schema(parameters=[ScheduleFilterSerializer], responses={200: ScheduleSerializer(many=True)},
                   summary="Schedules, newest week first (cursor pages)")
    def get(self, request):
        query = filters(ScheduleFilterSerializer, request)
        page = self.paginate_queryset(selectors.schedule_list(tenant=request.tenant, **query))
        return self.get_paginated_response(ScheduleSerializer(page, many=True).data)

    @extend_schema(parameters=[RESTAURANT_HEADER], request=ScheduleWriteSerializer,
                   responses={201: ScheduleSerializer}, summary="Start a week's schedule")
    def post(self, request):
        restaurant_id = acting_restaurant_id(request)
        values = validated(ScheduleWriteSerializer, request.data)
        schedule = services.schedule_create(restaurant_id=restaurant_id, actor=request.user, **values)
        schedule = selectors.schedule_get(tenant=request.tenant, schedule_id=schedule.pk)
        return Response(ScheduleSerializer(schedule).data, status=status.HTTP_201_CREATED)


class ScheduleDetailApi(APIView):
    permission_classes = [roles(read=MANAGERS, write=MANAGERS)]

    @extend_schema(responses={200: ScheduleSerializer}, summary="One schedule")
    def get(self, request, schedule_id: int):
        return Response(ScheduleSerializer(selectors.schedule_get(tenant=request.tenant, schedule_id=schedule_id)).data)

    @extend_schema(request=ScheduleWriteSerializer, responses={200: ScheduleSerializer}, summary="Change a schedule")
    def patch(self, request, schedule_id: int):
        schedule = selectors.schedule_get(tenant=request.tenant, schedule_id=schedule_id)
        values = validated(ScheduleWriteSerializer, request.data, partial=True)
        schedule = services.schedule_update(schedule=schedule, values=values)
        return Response(ScheduleSerializer(schedule).data)

    @extend_schema(responses={204: None}, summary="Delete a schedule and its shifts (409 once anyone clocked in on it)")
    def delete(self, request, schedule_id: int):
        services.schedule_delete(schedule=selectors.schedule_get(tenant=request.tenant, schedule_id=schedule_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- shifts ------------------------------------------------------------------------------


class ShiftListApi(GenericAPIView):
    permission_classes = [roles(read=ALL_ROLES, write=MANAGERS)]
    pagination_class = cursor_pages("shift_date", "start_time", "id")
    serializer_class = ShiftSerializer

    @extend_schema(parameters=[ShiftFilterSerializer, UPDATED_SINCE], responses={200: ShiftSerializer(many=True)},
                   summary="Shifts by date and start time, cursor pages (managers and owners: all; other staff: their "
                   "own), or what changed since updated_since")
    def get(self, request):
        query = filters(ShiftFilterSerializer, request)
        if wants_changes(request):
            shifts = selectors.shift_list(tenant=request.tenant, viewer=request.user, **query)
            return changes_from_replica(request, shifts, lambda rows: ShiftSerializer(rows, many=True).data)
        page = self.paginate_queryset(selectors.shift_list(tenant=request.tenant, viewer=request.user, **query))
        return self.get_paginated_response(ShiftSerializer(page, many=True).data)

    @extend_schema(parameters=[RESTAURANT_HEADER], request=ShiftWriteSerializer, responses={201: ShiftSerializer},
                   summary="Put an employee on a schedule")
    def post(self, request):
        restaurant_id = acting_restaurant_id(request)
        values = validated(ShiftWriteSerializer, request.data)
        shift = services.shift_create(restaurant_id=restaurant_id, values=values)
        shift = selectors.shift_get(tenant=request.tenant, viewer=request.user, shift_id=shift.pk)
        return Response(ShiftSerializer(shift).data, status=status.HTTP_201_CREATED)


class ShiftDetailApi(APIView):
    permission_classes = [roles(read=ALL_ROLES, write=MANAGERS)]

    @extend_schema(responses={200: ShiftSerializer}, summary="One shift")
    def get(self, request, shift_id: int):
        shift = selectors.shift_get(tenant=request.tenant, viewer=request.user, shift_id=shift_id)
        return Response(ShiftSerializer(shift).data)

    @extend_schema(request=ShiftWriteSerializer, responses={200: ShiftSerializer}, summary="Change a shift")
    def patch(self, request, shift_id: int):
        shift = selectors.shift_get(tenant=request.tenant, viewer=request.user, shift_id=shift_id)
        values = validated(ShiftWriteSerializer, request.data, partial=True)
        shift = services.shift_update(shift=shift, values=values)
        return Response(ShiftSerializer(shift).data)

    @extend_schema(responses={204: None}, summary="Delete a shift (409 once anyone clocked in on it)")
    def delete(self, request, shift_id: int):
        services.shift_delete(shift=selectors.shift_get(tenant=request.tenant, viewer=request.user, shift_id=shift_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- clocking in and out -----------------------------------------------------------------


class _ClockApi(APIView):
    """A clock action of the signed-in employee (404 when they have no employee record here)."""

    permission_classes = [roles(read=ALL_ROLES, write=ALL_ROLES)]
    success_status = status.HTTP_200_OK

    def act(self, request, employee):
        raise NotImplementedError

    def post(self, request):
        employee = selectors.employee_of_user(user=request.user, tenant=request.tenant)
        entry = self.act(request, employee)
        return Response(TimeEntrySerializer(entry).data, status=self.success_status)


class ClockInApi(_ClockApi):
    success_status = status.HTTP_201_CREATED

    def act(self, request, employee):
        values = validated(ClockInSerializer, request.data)
        return services.shift_clock_in(employee=employee, shift_id=values.get("shift_id"))

    @extend_schema(request=ClockInSerializer, responses={201: TimeEntrySerializer},
                   summary="Clock in (409 when already clocked in)")
    def post(self, request):
        return super().post(request)


class ClockOutApi(_ClockApi):
    def act(self, request, employee):
        return services.shift_clock_out(employee=employee)

    @extend_schema(request=None, responses={200: TimeEntrySerializer},
                   summary="Clock out: hours, overtime and pay are worked out (409 when not clocked in)")
    def post(self, request):
        return super().post(request)


class BreakStartApi(_ClockApi):
    def act(self, request, employee):
        return services.shift_break_start(employee=employee)

    @extend_schema(request=None, responses={200: TimeEntrySerializer},
                   summary="Start a break (409 when not clocked in or already on a break)")
    def post(self, request):
        return super().post(request)


class BreakEndApi(_ClockApi):
    def act(self, request, employee):
        return services.shift_break_end(employee=employee)

    @extend_schema(request=None, responses={200: TimeEntrySerializer},
                   summary="End the break (409 when not on a break)")
    def post(self, request):
        return super().post(request)


# --- time tracking -----------------------------------------------------------------------


class TimeTrackingListApi(GenericAPIView):
    permission_classes = [roles(read=ALL_ROLES, write=MANAGERS)]
    pagination_class = cursor_pages("-listed_at", "-id")
    serializer_class = TimeEntrySerializer

    @extend_schema(parameters=[TimeEntryFilterSerializer], responses={200: TimeEntrySerializer(many=True)},
                   summary="Time tracking, newest first, cursor pages (managers and owners: all; other staff: their own)")
    def get(self, request):
        query = filters(TimeEntryFilterSerializer, request)
        page = self.paginate_queryset(selectors.time_entry_list(tenant=request.tenant, viewer=request.user, **query))
        return self.get_paginated_response(TimeEntrySerializer(page, many=True).data)


class TimeTrackingDetailApi(APIView):
    permission_classes = [roles(read=ALL_ROLES, write=MANAGERS)]

    @extend_schema(responses={200: TimeEntrySerializer}, summary="One time tracking entry")
    def get(self, request, entry_id: int):
        entry = selectors.time_entry_get(tenant=request.tenant, viewer=request.user, entry_id=entry_id)
        return Response(TimeEntrySerializer(entry).data)
