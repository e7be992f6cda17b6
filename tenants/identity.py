"""The one narrow path that reads users before any tenant is known.

Login by email and "token or session to user" must find a user's tenant before row-level
security lets anyone see the user. SECURITY DEFINER functions (tenants.rls) return the
tenant keys of one user, never its password hash. By email or id the user itself is then
loaded through the ORM under that user's own tenant; by API token the function returns the
rest of the user's row as well (the token's holder is that user), so a request is
authenticated in one statement.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.db import connections

from tenants.context import Tenant, tenant_context_of
from tenants.models import Restaurant, User


@dataclass(frozen=True)
class Identity:
    id: int
    restaurant_id: int | None
    platform_id: int | None
    is_superuser: bool
    is_active: bool

    @property
    def tenant(self) -> Tenant:
        """The widest tenant this user acts for."""
        if self.is_superuser:
            return Tenant(all_tenants=True)
        if self.restaurant_id is not None:
            return Tenant(restaurant_id=self.restaurant_id)
        if self.platform_id is not None:
            return Tenant(platform_id=self.platform_id)
        return Tenant()


@dataclass(frozen=True)
class ApiCredential:
    """The API token a request signed in with (DRF's `request.auth`)."""

    token_id: int
    created_at: datetime


def _lookup(function: str, value) -> tuple | None:
    with connections["default"].cursor() as cursor:
        cursor.execute(f"SELECT * FROM {function}(%s)", [value])
        return cursor.fetchone()


def _identify(function: str, value) -> Identity | None:
    row = _lookup(function, value)
    return Identity(*row) if row else None


def identify_by_email(email: str) -> Identity | None:
    return _identify("fynlo_identity_by_email", email.strip())


def identify_by_id(user_id) -> Identity | None:
    try:
        user_id = int(user_id)
    except (TypeError, ValueError):
        return None
    return _identify("fynlo_identity_by_id", user_id)


def token_key_hash(key: str) -> str:
    """What is stored of an API token's key: its SHA-256 (the keys are random, so unsalted)."""
    return hashlib.sha256(key.encode()).hexdigest()


# The user's columns fynlo_identity_by_token returns after the identity's (a field added to
# users later is simply loaded when first used, as a deferred field is).
TOKEN_USER_FIELDS = (
    "last_login", "email", "first_name", "last_name", "phone", "role", "profile_image_url", "created_at", "updated_at",
)


def identify_by_token(key: str) -> tuple[ApiCredential, Identity, User] | None:
    """The token, its user's identity and the user (its restaurant's `is_active` loaded with
    it, its password hash deferred) for an API token's key, in one statement; its last use
    is recorded."""
    row = _lookup("fynlo_identity_by_token", token_key_hash(key))
    if row is None:
        return None
    identity = Identity(*row[2:7])
    values = dict(zip(TOKEN_USER_FIELDS, row[7:16]))
    values.update(id=identity.id, restaurant_id=identity.restaurant_id, platform_id=identity.platform_id,
                  is_superuser=identity.is_superuser, is_active=identity.is_active)
    names = [field.attname for field in User._meta.concrete_fields if field.attname in values]
    user = User.from_db("default", names, [values[name] for name in names])
    if identity.restaurant_id is not None:
        # the per-request "is it suspended?" check reads this, and nothing else of it
        restaurant = Restaurant.from_db("default", ["id", "is_active"], [identity.restaurant_id, row[16]])
        User.restaurant.field.set_cached_value(user, restaurant)
    return ApiCredential(*row[:2]), identity, user


def load_user(identity: Identity):
    """The user row of an identity, read under that user's own tenant (the tenant around the
    read is restored after it)."""
    tenant = identity.tenant
    if tenant.is_empty:
        return None
    # the restaurant comes along: the per-request "is it suspended?" check needs no query
    with tenant_context_of(tenant):
        return User.objects.select_related("restaurant").filter(pk=identity.id).first()
