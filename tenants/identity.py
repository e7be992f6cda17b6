"""The one narrow path that reads users before any tenant is known.

Login by email and "token or session to user" must find a user's tenant before row-level
security lets anyone see the user. SECURITY DEFINER functions (tenants.rls) return only
the tenant keys of one user, never the row or its password hash; the user itself is then
loaded through the ORM under that user's own tenant.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.db import connections

from tenants.context import NO_TENANT, Tenant, apply_tenant, tenant_context_of
from tenants.models import User


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


def identify_by_token(key: str) -> tuple[ApiCredential, Identity] | None:
    """The token and its user's identity for an API token's key (its last use is recorded)."""
    row = _lookup("fynlo_identity_by_token", token_key_hash(key))
    return (ApiCredential(*row[:2]), Identity(*row[2:])) if row else None


def load_user(identity: Identity, *, for_request: bool = False):
    """The user row of an identity, read under that user's own tenant.

    Normally the tenant around the read is restored after it. `for_request`: the caller is
    authenticating a request inside its transaction and activates that user's tenant next
    anyway, so the tenant is simply applied (two round trips instead of six); if no user is
    found, no tenant is left applied."""
    tenant = identity.tenant
    if tenant.is_empty:
        return None
    # the restaurant comes along: the per-request "is it suspended?" check needs no query
    users = User.objects.select_related("restaurant").filter(pk=identity.id)
    if for_request and connections["default"].in_atomic_block:
        apply_tenant(tenant)
        user = users.first()
        if user is None:
            apply_tenant(NO_TENANT)
        return user
    with tenant_context_of(tenant):
        return users.first()
