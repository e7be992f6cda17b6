"""Writes of the tenants app."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone

from fynlo.core.services import model_update
from tenants.errors import TenantsError
from tenants.identity import token_key_hash
from tenants.models import ApiToken, Restaurant, RestaurantSetting, User
from tenants.request import RestaurantSuspended, staff_restaurant_is_active
from tenants.selectors import SETTING_KEYS
from tenants.signals import update_last_login_in_tenant


def token_expires_at(created_at: datetime) -> datetime | None:
    """When a token issued at `created_at` expires (API_TOKEN_TTL_HOURS; None: never)."""
    ttl = settings.API_TOKEN_TTL_HOURS
    return created_at + timedelta(hours=ttl) if ttl else None


def token_is_expired(created_at: datetime) -> bool:
    expires_at = token_expires_at(created_at)
    return expires_at is not None and expires_at < timezone.now()


def api_token_create(*, user: User, device: str = "") -> str:
    """Issue an API token for one device; its key is returned (only its hash is stored)."""
    key = secrets.token_hex(20)
    ApiToken.objects.create(user=user, key_hash=token_key_hash(key), device=device)
    return key


def user_login(*, request, email: str, password: str, device: str = "") -> tuple[User, str]:
    """Check credentials and issue an API token for this login; the user's expired tokens go."""
    user = authenticate(request, email=email, password=password)
    if user is None:
        raise TenantsError("invalid_credentials", "Email or password is wrong.", status=400)
    if not staff_restaurant_is_active(user):
        raise TenantsError(RestaurantSuspended.code, RestaurantSuspended.message, status=403)
    if settings.API_TOKEN_TTL_HOURS:
        issued_before = timezone.now() - timedelta(hours=settings.API_TOKEN_TTL_HOURS)
        ApiToken.objects.filter(user=user, created_at__lt=issued_before).delete()
    key = api_token_create(user=user, device=device)
    update_last_login_in_tenant(sender=User, user=user)
    return user, key


def user_logout(*, user: User, token_id: int | None, everywhere: bool = False) -> int:
    """Revoke the API token a request signed in with, or (`everywhere`) all of the user's."""
    tokens = ApiToken.objects.filter(user=user)
    if not everywhere:
        if token_id is None:
            return 0
        tokens = tokens.filter(pk=token_id)
    deleted, _ = tokens.delete()
    return deleted


def api_token_revoke(*, user: User, token_id: int) -> None:
    """Revoke one of the user's API tokens (another user's token is not found)."""
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    if not deleted:
        raise TenantsError("not_found", "No such token.", status=404)


RESTAURANT_PROFILE_FIELDS = ("name", "address", "phone", "email", "tax_number", "logo_url")


@transaction.atomic
def restaurant_update(*, restaurant: Restaurant, profile: dict, new_settings: dict) -> Restaurant:
    """Change a restaurant's profile fields and upsert its settings (restaurant_settings rows)."""
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
