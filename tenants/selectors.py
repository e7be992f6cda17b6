"""Reads of the tenants app: restaurants as a tenant sees them, and restaurant settings."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db.models import QuerySet

from fynlo.core.api import ApiError
from fynlo.core.money import quantize
from tenants.context import Tenant
from tenants.models import ApiToken, Restaurant, RestaurantSetting, SettingType, User

logger = logging.getLogger(__name__)

DEFAULT_VAT_RATE = Decimal("20.00")
DEFAULT_SERVICE_CHARGE_RATE = Decimal("12.50")
DEFAULT_CURRENCY = "GBP"
DEFAULT_OVERTIME_AFTER_HOURS = Decimal("8.00")


@dataclass(frozen=True)
class RestaurantSettings:
    """A restaurant's settings, with the defaults filled in where a key is unset."""

    vat_rate: Decimal = DEFAULT_VAT_RATE
    service_charge_rate: Decimal = DEFAULT_SERVICE_CHARGE_RATE
    currency: str = DEFAULT_CURRENCY
    opening_hours: dict = field(default_factory=dict)
    overtime_after_hours: Decimal = DEFAULT_OVERTIME_AFTER_HOURS


def _number(text: str) -> Decimal:
    value = Decimal(text.strip())
    if not value.is_finite():
        raise ValueError("not a finite number")
    return quantize(value)


def _currency(text: str) -> str:
    code = text.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValueError("not a currency code")
    return code


def _opening_hours(text: str) -> dict:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


# setting key -> (stored type, parser of the stored text, serializer of a Python value)
SETTING_KEYS: dict[str, tuple[str, object, object]] = {
    "vat_rate": (SettingType.NUMBER, _number, lambda value: str(quantize(value))),
    "service_charge_rate": (SettingType.NUMBER, _number, lambda value: str(quantize(value))),
    "currency": (SettingType.STRING, _currency, str),
    "opening_hours": (SettingType.JSON, _opening_hours, lambda value: json.dumps(value, sort_keys=True)),
    "overtime_after_hours": (SettingType.NUMBER, _number, lambda value: str(quantize(value))),
}


def _settings_from_rows(restaurant_id: int, rows) -> RestaurantSettings:
    values = {}
    for key, text in rows:
        if text is None:
            continue
        _, parse, _ = SETTING_KEYS[key]
        try:
            values[key] = parse(text)
        except (ValueError, InvalidOperation, TypeError):
            # A bad stored value (a legacy import, a hand edit) must not stop the tills;
            # the default applies and the log names the row to fix.
            logger.warning("restaurant %s: setting %s has an unreadable value %r; using the default",
                           restaurant_id, key, text)
    return RestaurantSettings(**values)


def restaurant_settings_for(*, restaurant_ids) -> dict[int, RestaurantSettings]:
    """The settings of several restaurants, in one query."""
    ids = list(restaurant_ids)
    grouped: dict[int, list] = {restaurant_id: [] for restaurant_id in ids}
    if ids:
        rows = RestaurantSetting.objects.filter(
            restaurant_id__in=ids, setting_key__in=list(SETTING_KEYS)
        ).values_list("restaurant_id", "setting_key", "setting_value")
        for restaurant_id, key, text in rows:
            grouped[restaurant_id].append((key, text))
    return {restaurant_id: _settings_from_rows(restaurant_id, rows) for restaurant_id, rows in grouped.items()}


def restaurant_settings(*, restaurant_id: int) -> RestaurantSettings:
    """One restaurant's settings (defaults where unset), in one query."""
    return restaurant_settings_for(restaurant_ids=[restaurant_id])[restaurant_id]


def restaurant_pricing_settings(*, restaurant_id: int) -> tuple[Decimal, Decimal]:
    """(VAT rate, service charge rate) in percent with two places, e.g. (Decimal("20.00"), Decimal("12.50"))."""
    current = restaurant_settings(restaurant_id=restaurant_id)
    return current.vat_rate, current.service_charge_rate


def scope_to_tenant(queryset: QuerySet, *, tenant: Tenant, restaurant_field: str = "restaurant_id") -> QuerySet:
    """Filter a restaurant-scoped queryset to the tenant, as a second wall behind RLS."""
    if tenant.restaurant_id is not None:
        return queryset.filter(**{restaurant_field: tenant.restaurant_id})
    if tenant.platform_id is not None:
        prefix = restaurant_field.removesuffix("_id").removesuffix("id").rstrip("_")
        lookup = f"{prefix}__platform_id" if prefix else "platform_id"
        return queryset.filter(**{lookup: tenant.platform_id})
    if tenant.all_tenants:
        return queryset
    return queryset.none()


def _with_settings(restaurants: list[Restaurant]) -> list[Restaurant]:
    loaded = restaurant_settings_for(restaurant_ids=[restaurant.pk for restaurant in restaurants])
    for restaurant in restaurants:
        restaurant.loaded_settings = loaded[restaurant.pk]
    return restaurants


def restaurant_list(*, tenant: Tenant) -> list[Restaurant]:
    """The restaurants a tenant sees (a platform's, or one), each with its settings; two queries."""
    restaurants = scope_to_tenant(Restaurant.objects.all(), tenant=tenant, restaurant_field="id").order_by("id")
    return _with_settings(list(restaurants))


def restaurant_get(*, tenant: Tenant, restaurant_id: int) -> Restaurant:
    """One restaurant the tenant sees, with its settings; 404 for any other."""
    restaurant = scope_to_tenant(Restaurant.objects.all(), tenant=tenant, restaurant_field="id").filter(
        pk=restaurant_id
    ).first()
    if restaurant is None:
        raise ApiError("not_found", "No such restaurant.", status=404)
    return _with_settings([restaurant])[0]


def api_token_list(*, user: User) -> QuerySet[ApiToken]:
    """A user's API tokens, newest first (what is stored of them: never a key)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")
