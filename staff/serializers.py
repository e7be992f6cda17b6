from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from fynlo.core.api import money_field
from staff.models import (
    Employee,
    EmploymentType,
    Schedule,
    ScheduleStatus,
    Shift,
    ShiftPosition,
    ShiftStatus,
    TimeTracking,
)
from tenants.models import User, UserRole
from tenants.permissions import PLATFORM_OWNER

# --- employees ---------------------------------------------------------------------------


class EmployeeUserSerializer(serializers.ModelSerializer):
    restaurant_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = User
        fields = ["id", "restaurant_id", "email", "first_name", "last_name", "phone", "role", "is_active"]
        read_only_fields = fields


class EmployeeSerializer(serializers.ModelSerializer):
    restaurant_id = serializers.IntegerField(read_only=True)
    user = EmployeeUserSerializer(read_only=True)
    role_id = serializers.IntegerField(read_only=True, allow_null=True)
    role_name = serializers.CharField(source="role.name", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Employee
        fields = [
            "id", "restaurant_id", "user", "role_id", "role_name", "employee_number", "hire_date",
            "termination_date", "job_title", "department", "hourly_rate", "salary", "employment_type",
            "emergency_contact_name", "emergency_contact_phone", "is_active", "created_at", "updated_at",
        ]
        read_only_fields = fields


class EmployeeUserRoleField(serializers.ChoiceField):
    """A user role that a restaurant's employee can have (any but platform owner)."""

    def __init__(self, **kwargs):
        # The full UserRole choices keep one role enum in the OpenAPI schema.
        super().__init__(choices=UserRole.choices, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value == PLATFORM_OWNER:
            raise serializers.ValidationError("A restaurant's employee cannot be a platform owner.")
        return value


class EmployeeFilterSerializer(serializers.Serializer):
    active = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="Only active (true) or inactive (false) employees"
    )


class NewUserSerializer(serializers.Serializer):
    """The user made together with an employee. Without a password the user cannot sign in yet."""

    email = serializers.EmailField(max_length=255)
    password = serializers.CharField(write_only=True, required=False, trim_whitespace=False)
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    phone = serializers.CharField(max_length=50, required=False, allow_null=True, allow_blank=True)
    role = EmployeeUserRoleField()

    def validate_email(self, value: str) -> str:
        return value.strip().lower()

    def validate_password(self, value: str) -> str:
        try:
            validate_password(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(list(error.messages)) from None
        return value


class EmployeeUserUpdateSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    phone = serializers.CharField(max_length=50, allow_null=True, allow_blank=True)
    role = EmployeeUserRoleField()


class EmployeeDetailsSerializer(serializers.Serializer):
    """The employee record's own fields."""

    role_id = serializers.IntegerField(required=False, allow_null=True, help_text="An employee role of the restaurant")
    employee_number = serializers.CharField(max_length=50, required=False, allow_null=True, allow_blank=True)
    hire_date = serializers.DateField(required=False, help_text="Defaults to today")
    termination_date = serializers.DateField(required=False, allow_null=True)
    job_title = serializers.CharField(max_length=100, required=False, allow_null=True, allow_blank=True)
    department = serializers.CharField(max_length=100, required=False, allow_null=True, allow_blank=True)
    hourly_rate = money_field(max_digits=8, min_value=0, required=False, allow_null=True)
    salary = money_field(max_digits=10, min_value=0, required=False, allow_null=True)
    employment_type = serializers.ChoiceField(choices=EmploymentType.choices, required=False)
    emergency_contact_name = serializers.CharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    emergency_contact_phone = serializers.CharField(max_length=50, required=False, allow_null=True, allow_blank=True)

    def validate_employee_number(self, value):
        return value or None


class EmployeeCreateSerializer(EmployeeDetailsSerializer):
    """An employee of an existing user of the restaurant (`user_id`), or of a new user (`user`)."""

    user_id = serializers.IntegerField(required=False)
    user = NewUserSerializer(required=False)

    def validate(self, attrs):
        if ("user_id" in attrs) == ("user" in attrs):
            raise serializers.ValidationError({"user": ["Give either user_id (an existing user) or user (a new one)."]})
        return attrs


class EmployeeUpdateSerializer(EmployeeDetailsSerializer):
    user = EmployeeUserUpdateSerializer(required=False)


# --- schedules and shifts ----------------------------------------------------------------


class ScheduleSerializer(serializers.ModelSerializer):
    restaurant_id = serializers.IntegerField(read_only=True)
    created_by_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Schedule
        fields = [
            "id", "restaurant_id", "name", "week_start", "week_end", "status", "total_scheduled_hours",
            "total_labor_cost", "created_by_id", "created_at", "updated_at",
        ]
        read_only_fields = fields


class ScheduleWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    week_start = serializers.DateField()
    week_end = serializers.DateField()
    status = serializers.ChoiceField(choices=ScheduleStatus.choices, required=False)

    def validate(self, attrs):
        if "week_start" in attrs and "week_end" in attrs and attrs["week_end"] < attrs["week_start"]:
            raise serializers.ValidationError({"week_end": ["The week ends before it starts."]})
        return attrs


class ScheduleFilterSerializer(serializers.Serializer):
    week_from = serializers.DateField(required=False, help_text="Schedules whose week ends on or after this day")
    week_to = serializers.DateField(required=False, help_text="Schedules whose week starts on or before this day")
    status = serializers.ChoiceField(choices=ScheduleStatus.choices, required=False)


class ShiftSerializer(serializers.ModelSerializer):
    restaurant_id = serializers.IntegerField(read_only=True)
    schedule_id = serializers.IntegerField(read_only=True)
    employee_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Shift
        fields = [
            "id", "restaurant_id", "schedule_id", "employee_id", "shift_date", "start_time", "end_time",
            "break_duration", "position", "status", "hourly_rate", "overtime_rate", "notes", "created_at", "updated_at",
        ]
        read_only_fields = fields


class ShiftWriteSerializer(serializers.Serializer):
    schedule_id = serializers.IntegerField()
    employee_id = serializers.IntegerField()
    shift_date = serializers.DateField()
    start_time = serializers.TimeField()
    end_time = serializers.TimeField(help_text="After start_time, the same day")
    break_duration = serializers.IntegerField(min_value=0, max_value=24 * 60, required=False, help_text="Minutes")
    position = serializers.ChoiceField(choices=ShiftPosition.choices, required=False, allow_null=True)
    status = serializers.ChoiceField(choices=ShiftStatus.choices, required=False)
    hourly_rate = money_field(max_digits=8, min_value=0, required=False, allow_null=True)
    overtime_rate = money_field(max_digits=8, min_value=0, required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_null=True, allow_blank=True)

    def validate(self, attrs):
        if "start_time" in attrs and "end_time" in attrs and attrs["end_time"] <= attrs["start_time"]:
            raise serializers.ValidationError({"end_time": ["The shift ends before it starts."]})
        return attrs


class _DateRangeSerializer(serializers.Serializer):
    date = serializers.DateField(required=False, help_text="One day (YYYY-MM-DD)")
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)

    def validate(self, attrs):
        day = attrs.pop("date", None)
        if day is not None:
            attrs["date_from"] = attrs["date_to"] = day
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_to"] < attrs["date_from"]:
            raise serializers.ValidationError({"date_to": ["The range ends before it starts."]})
        return attrs


class ShiftFilterSerializer(_DateRangeSerializer):
    schedule = serializers.IntegerField(required=False, source="schedule_id")
    employee = serializers.IntegerField(required=False, source="employee_id")


# --- time tracking -----------------------------------------------------------------------


class TimeEntrySerializer(serializers.ModelSerializer):
    restaurant_id = serializers.IntegerField(read_only=True)
    employee_id = serializers.IntegerField(read_only=True)
    shift_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = TimeTracking
        fields = [
            "id", "restaurant_id", "employee_id", "shift_id", "clock_in", "clock_out", "break_start", "break_end",
            "total_hours", "overtime_hours", "total_pay", "status", "created_at", "updated_at",
        ]
        read_only_fields = fields


class ClockInSerializer(serializers.Serializer):
    shift_id = serializers.IntegerField(
        required=False, help_text="Your shift to clock in against; by default your first open shift of the day"
    )


class TimeEntryFilterSerializer(_DateRangeSerializer):
    """Dates are of the clock-in, in the restaurant's local time."""

    employee = serializers.IntegerField(required=False, source="employee_id")
