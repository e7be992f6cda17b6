"""Reads of the tenants app: restaurants as a tenant sees them, and restaurant settings."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import connection
from django.db.models import QuerySet

from fynlo.core.api import get_or_404
from fynlo.core.money import quantize
from tenants.context import Tenant
from tenants.models import ApiToken, Restaurant, RestaurantSetting, SettingType, User
from tenants.permissions import platform_rows, restaurant_rows

logger = logging.getLogger(__name__)

DEFAULT_VAT_RATE = Decimal("20.00")
DEFAULT_SERVICE_CHARGE_RATE = Decimal("12.50")
DEFAULT_CURRENCY = "GBP"
DEFAULT_OVERTIME_AFTER_HOURS = Decimal("8.00")


# The settings that are a percentage of what the guest pays.
RATE_KEYS = ("vat_rate", "service_charge_rate")


@dataclass(frozen=True)
class RestaurantSettings:
    """A restaurant's settings, with the defaults filled in where a key is unset.

    `unreadable` maps each key whose stored text cannot be read to that text. An unreadable
    rate is None, never the default: charging a VAT or service charge the restaurant did not
    set puts wrong money on every receipt, so the till refuses orders until the owner fixes it
    (pos.pricing.restaurant_rates). Any other unreadable setting falls back to its default.
    """

    vat_rate: Decimal | None = DEFAULT_VAT_RATE
    service_charge_rate: Decimal | None = DEFAULT_SERVICE_CHARGE_RATE
    currency: str = DEFAULT_CURRENCY
    opening_hours: dict = field(default_factory=dict)
    overtime_after_hours: Decimal = DEFAULT_OVERTIME_AFTER_HOURS
    # Menu prices include VAT (gross) instead of VAT being added to them (pos.pricing).
    prices_include_vat: bool = False
    unreadable: dict[str, str] = field(default_factory=dict)


def parse_rate(text: str) -> Decimal:
    """A percentage from 0 to 100, two places: "12.5", "12.50" and "12.5%" are all 12.50."""
    value = Decimal(text.strip().removesuffix("%").rstrip())
    if not value.is_finite() or not 0 <= value <= 100:
        raise ValueError("not a percentage from 0 to 100")
    return quantize(value)


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


def _boolean(text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise ValueError("not true or false")


def _opening_hours(text: str) -> dict:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


# setting key -> (stored type, parser of the stored text, serializer of a Python value)
SETTING_KEYS: dict[str, tuple[str, object, object]] = {
    "vat_rate": (SettingType.NUMBER, parse_rate, lambda value: str(quantize(value))),
    "service_charge_rate": (SettingType.NUMBER, parse_rate, lambda value: str(quantize(value))),
    "currency": (SettingType.STRING, _currency, str),
    "opening_hours": (SettingType.JSON, _opening_hours, lambda value: json.dumps(value, sort_keys=True)),
    "overtime_after_hours": (SettingType.NUMBER, _number, lambda value: str(quantize(value))),
    "prices_include_vat": (SettingType.BOOLEAN, _boolean, lambda value: "true" if value else "false"),
}


def parse_setting(key: str, text: str):
    """The value of a stored setting of a known key; ValueError when the text is not one."""
    _, parse, _ = SETTING_KEYS[key]
    try:
        return parse(text)
    except (ValueError, InvalidOperation, TypeError) as error:
        raise ValueError(f"{text!r} is not a valid {key}") from error


def _settings_from_rows(restaurant_id: int, rows) -> RestaurantSettings:
    values, unreadable = {}, {}
    for key, text in rows:
        if text is None or not text.strip():
            continue
        try:
            values[key] = parse_setting(key, text)
        except ValueError:
            # Only a legacy import or a hand edit stores such a value (the API and the admin
            # refuse it); the log names the row to fix.
            logger.warning("restaurant %s: setting %s has an unreadable value %r", restaurant_id, key, text)
            unreadable[key] = text
            if key in RATE_KEYS:
                values[key] = None
    return RestaurantSettings(**values, unreadable=unreadable)


def restaurant_settings_for(*, restaurant_ids) -> dict[int, RestaurantSettings]:
    """The settings of several restaurants, in one query."""
    ids = list(restaurant_ids)
    grouped: dict[int, list] = {restaurant_id: [] for restaurant_id in ids}
    if ids:
        with connection.cursor() as cursor:  # fixed text: no ORM compiling on the order path
            cursor.execute(
                f"SELECT restaurant_id, setting_key, setting_value FROM {RestaurantSetting._meta.db_table}"
                " WHERE restaurant_id = ANY(%s) AND setting_key = ANY(%s)",
                [ids, list(SETTING_KEYS)],
            )
            rows = cursor.fetchall()
        for restaurant_id, key, text in rows:
            grouped[restaurant_id].append((key, text))
    return {restaurant_id: _settings_from_rows(restaurant_id, rows) for restaurant_id, rows in grouped.items()}


def restaurant_settings(*, restaurant_id: int) -> RestaurantSettings:
    """One restaurant's settings (defaults where unset), in one query."""
    return restaurant_settings_for(restaurant_ids=[restaurant_id])[restaurant_id]


def scope_to_tenant(queryset: QuerySet, *, tenant: Tenant) -> QuerySet:
    """Filter a queryset to the tenant, as the second wall behind RLS: a restaurant's rows, a
    platform's, everything for operations staff; nothing without a tenant (it fails closed)."""
    if tenant.restaurant_id is not None:
        return queryset.filter(restaurant_rows(queryset.model, tenant.restaurant_id))
    if tenant.platform_id is not None:
        return queryset.filter(platform_rows(queryset.model, tenant.platform_id))
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
    restaurants = scope_to_tenant(Restaurant.objects.all(), tenant=tenant).order_by("id")
    return _with_settings(list(restaurants))


def restaurant_get(*, tenant: Tenant, restaurant_id: int) -> Restaurant:
    """One restaurant the tenant sees, with its settings; 404 for any other."""
    restaurant = get_or_404(scope_to_tenant(Restaurant.objects.all(), tenant=tenant), pk=restaurant_id, what="restaurant")
    return _with_settings([restaurant])[0]


def api_token_list(*, user: User) -> QuerySet[ApiToken]:
    """A user's API tokens, newest first (what is stored of them: never a key)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")
