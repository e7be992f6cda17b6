"""Writes of the tenants app."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from fynlo.core.services import model_update
from tenants.errors import TenantsError
from tenants.models import Restaurant, RestaurantSetting, User
from tenants.request import RestaurantSuspended, staff_restaurant_is_active
from tenants.signals import update_last_login_in_tenant


def token_is_expired(token: Token) -> bool:
    ttl = settings.API_TOKEN_TTL_HOURS
    return bool(ttl) and token.created < timezone.now() - timedelta(hours=ttl)


def user_login(*, request, email: str, password: str) -> tuple[User, Token]:
    """Check credentials and issue an API token (an expired one is replaced)."""
    user = authenticate(request, email=email, password=password)
    if user is None:
        raise TenantsError("invalid_credentials", "Email or password is wrong.", status=400)
    if not staff_restaurant_is_active(user):
        raise TenantsError(RestaurantSuspended.code, RestaurantSuspended.message, status=403)
    token, created = Token.objects.get_or_create(user=user)
    if not created and token_is_expired(token):
        token.delete()
        token = Token.objects.create(user=user)
    update_last_login_in_tenant(sender=User, user=user)
    return user, token


def user_logout(*, token_key: str) -> None:
    """Revoke an API token."""
    Token.objects.filter(key=token_key).delete()


RESTAURANT_PROFILE_FIELDS = ("name", "address", "phone", "email", "tax_number", "logo_url")


@transaction.atomic
def restaurant_update(*, restaurant: Restaurant, profile: dict, new_settings: dict) -> Restaurant:
    """Change a restaurant's profile fields and upsert its settings (restaurant_settings rows)."""
    # Imported here to break a cycle: tenants.selectors -> fynlo.core.api -> DRF's settings ->
    # tenants.authentication -> this module.
    from tenants.selectors import SETTING_KEYS

    now = timezone.now()
    # Changing its settings changes the restaurant too.
    values = {**profile, "updated_at": now} if new_settings else profile
    model_update(instance=restaurant, fields=[*RESTAURANT_PROFILE_FIELDS, "updated_at"], data=values, now=now)
    rows = []
    for key, value in new_settings.items():
        setting_type, _, dump = SETTING_KEYS[key]
        rows.append(RestaurantSetting(
            restaurant=restaurant, setting_key=key, setting_value=dump(value), setting_type=setting_type,
            created_at=now, updated_at=now,
        ))
    if rows:
        RestaurantSetting.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["restaurant", "setting_key"],
            update_fields=["setting_value", "setting_type", "updated_at"],
        )
    return restaurant
