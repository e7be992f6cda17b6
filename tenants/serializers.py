from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tenants.models import ApiToken, Restaurant, User
from tenants.services import token_expires_at


class LoginSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, write_only=True)
    device = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="",
        help_text="A name for this login's device (e.g. \"Till 2\"), shown in the token list.",
    )


class LogoutFilterSerializer(serializers.Serializer):
    all = serializers.BooleanField(
        required=False, default=False,
        help_text="true: revoke every token of the signed-in user (every device), not only this one.",
    )


class UserSerializer(serializers.ModelSerializer):
    restaurant_id = serializers.IntegerField(read_only=True)
    platform_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name", "role", "restaurant_id", "platform_id"]
        read_only_fields = fields


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _minutes(text: str, *, closing: bool) -> int:
    hours, minutes = text.split(":")
    if len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
        raise ValueError
    hours_value, minutes_value = int(hours), int(minutes)
    if closing and (hours_value, minutes_value) == (24, 0):
        return 24 * 60
    if hours_value > 23 or minutes_value > 59:
        raise ValueError
    return hours_value * 60 + minutes_value


def _is_period(period) -> bool:
    if not isinstance(period, str) or period.count("-") != 1:
        return False
    opening, closing = period.split("-")
    try:
        return _minutes(opening, closing=False) != _minutes(closing, closing=True)
    except ValueError:
        return False


class OpeningHoursField(serializers.JSONField):
    """{"monday": ["09:00-14:30", "17:00-23:00"], ...}; a closing time before the opening one
    runs past midnight ("18:00-02:00"); an empty list means closed that day."""

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        if not isinstance(data, dict):
            raise serializers.ValidationError("Expected an object of weekday -> list of \"HH:MM-HH:MM\".")
        errors = []
        for day, periods in data.items():
            if day not in WEEKDAYS:
                errors.append(f"{day!r} is not a weekday (expected one of {', '.join(WEEKDAYS)}).")
                continue
            if not isinstance(periods, list):
                errors.append(f"{day}: expected a list of \"HH:MM-HH:MM\".")
                continue
            for period in periods:
                if not _is_period(period):
                    errors.append(f"{day}: {period!r} is not a period \"HH:MM-HH:MM\".")
        if errors:
            raise serializers.ValidationError(errors)
        return {day: list(data[day]) for day in WEEKDAYS if day in data}


class RateField(serializers.DecimalField):
    """A percentage from 0 to 100 with at most two places; "10%" is taken as 10, as the till reads it."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=5, decimal_places=2, min_value=0, max_value=100, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = data.strip().removesuffix("%")
        return super().to_internal_value(data)


class RestaurantSettingsSerializer(serializers.Serializer):
    """A restaurant's settings (defaults where unset). Rates are percent: "20.00" is 20 %; a stored
    rate that cannot be read shows as null (the till refuses orders until it is set again)."""

    vat_rate = RateField()
    service_charge_rate = RateField()
    currency = serializers.RegexField(
        r"^[A-Z]{3}$", help_text="ISO 4217 code, e.g. GBP",
        error_messages={"invalid": "Expected an ISO 4217 code of three capital letters, e.g. GBP."},
    )
    opening_hours = OpeningHoursField(help_text='{"monday": ["09:00-14:30", "17:00-23:00"], ...}')
    overtime_after_hours = serializers.DecimalField(
        max_digits=4, decimal_places=2, min_value=0, max_value=24,
        help_text="Hours worked in a day past which time counts as overtime",
    )
    prices_include_vat = serializers.BooleanField(
        help_text="Menu prices include VAT (it is the part of them shown on receipts); false: VAT is added"
    )


class RestaurantSerializer(serializers.ModelSerializer):
    restaurant_id = serializers.IntegerField(source="id", read_only=True)
    platform_id = serializers.IntegerField(read_only=True)
    settings = RestaurantSettingsSerializer(source="loaded_settings", read_only=True)

    class Meta:
        model = Restaurant
        fields = [
            "id", "restaurant_id", "platform_id", "name", "slug", "business_type", "address", "phone", "email",
            "tax_number", "logo_url", "is_active", "subscription_tier", "created_at", "updated_at", "settings",
        ]
        read_only_fields = fields


class RestaurantUpdateSerializer(serializers.Serializer):
    """PATCH of a restaurant: any of its profile fields and any of its settings."""

    name = serializers.CharField(max_length=255)
    address = serializers.CharField(allow_null=True, allow_blank=True)
    phone = serializers.CharField(max_length=50, allow_null=True, allow_blank=True)
    email = serializers.EmailField(max_length=255, allow_null=True)
    tax_number = serializers.CharField(max_length=100, allow_null=True, allow_blank=True)
    logo_url = serializers.URLField(allow_null=True)
    settings = RestaurantSettingsSerializer()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)


class ApiTokenSerializer(serializers.ModelSerializer):
    """A token as its owner sees it: which device and when, never the key."""

    expires_at = serializers.SerializerMethodField()
    current = serializers.SerializerMethodField(help_text="The token this request signed in with.")

    class Meta:
        model = ApiToken
        fields = ["id", "device", "created_at", "last_used_at", "expires_at", "current"]
        read_only_fields = fields

    @extend_schema_field(serializers.DateTimeField(allow_null=True, help_text="null: never (API_TOKEN_TTL_HOURS=0)"))
    def get_expires_at(self, token: ApiToken):
        expires_at = token_expires_at(token.created_at)
        return serializers.DateTimeField().to_representation(expires_at) if expires_at else None

    @extend_schema_field(serializers.BooleanField())
    def get_current(self, token: ApiToken) -> bool:
        return token.pk == self.context.get("current_token_id")
