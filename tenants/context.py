"""The tenant context: which restaurant or platform the current transaction acts for.

The database holds the truth: three settings made with `set_config(name, value, true)`,
local to the current transaction, so nothing outlives a request or a command's block
(safe with persistent connections and PgBouncer in transaction mode). A ContextVar mirrors
it for Python code (cache keys); never a thread-local, never a session-level SET.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connections, transaction

SETTING_RESTAURANT = "app.current_restaurant_id"
SETTING_PLATFORM = "app.current_platform_id"
SETTING_ALL = "app.all_tenants"


@dataclass(frozen=True)
class Tenant:
    """A tenant scope: one restaurant, a platform (optionally narrowed to one of its
    restaurants), or every tenant (operations staff)."""

    restaurant_id: int | None = None
    platform_id: int | None = None
    all_tenants: bool = False

    @property
    def is_empty(self) -> bool:
        return self.restaurant_id is None and self.platform_id is None and not self.all_tenants

    def cache_key(self, key: str) -> str:
        """A cache key that carries the tenant, so cached tenant data cannot cross tenants."""
        if self.restaurant_id is not None:
            return f"r{self.restaurant_id}:{key}"
        if self.platform_id is not None:
            return f"p{self.platform_id}:{key}"
        if self.all_tenants:
            return f"all:{key}"
        raise LookupError("no tenant is active; refusing to build a tenant cache key")


NO_TENANT = Tenant()
_current: contextvars.ContextVar[Tenant] = contextvars.ContextVar("fynlo_tenant", default=NO_TENANT)


def current_tenant() -> Tenant:
    return _current.get()


def _as_id(value) -> int | None:
    if value is None:
        return None
    return int(getattr(value, "pk", value))


def apply_tenant(tenant: Tenant, *, using: str = "default") -> None:
    """Set the tenant for the rest of the current transaction (must be inside one)."""
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("the tenant can only be set inside a transaction (transaction.atomic)")
    # Nothing is read back: the setting goes with the transaction's next statement, in front of
    # it and in the same round trip (fynlo.core.postgresql), so no statement runs before it that
    # was sent after it.
    connection.defer(
        "SELECT set_config(%s, %s, true), set_config(%s, %s, true), set_config(%s, %s, true)",
        [
            SETTING_RESTAURANT, "" if tenant.restaurant_id is None else str(tenant.restaurant_id),
            SETTING_PLATFORM, "" if tenant.platform_id is None else str(tenant.platform_id),
            SETTING_ALL, "on" if tenant.all_tenants else "",
        ],
    )


def read_tenant(using: str) -> Tenant:
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT NULLIF(current_setting(%s, true), ''), NULLIF(current_setting(%s, true), ''),"
            " current_setting(%s, true)",
            [SETTING_RESTAURANT, SETTING_PLATFORM, SETTING_ALL],
        )
        restaurant, platform, everything = cursor.fetchone()
    return Tenant(
        restaurant_id=None if restaurant is None else int(restaurant),
        platform_id=None if platform is None else int(platform),
        all_tenants=everything == "on",
    )


@contextmanager
def activated(tenant: Tenant) -> Iterator[Tenant]:
    """Mirror a tenant in the ContextVar for the duration of a block."""
    token = _current.set(tenant)
    try:
        yield tenant
    finally:
        _current.reset(token)


@contextmanager
def tenant_context(
    *, restaurant=None, platform=None, all_tenants: bool = False, using: str = "default"
) -> Iterator[Tenant]:
    """Act for one restaurant, one platform (optionally narrowed to a restaurant of it), or
    every tenant (operations only) inside a transaction; restores the previous tenant after.

    For commands and tasks; requests get their tenant from the middleware.
    """
    tenant = Tenant(restaurant_id=_as_id(restaurant), platform_id=_as_id(platform), all_tenants=all_tenants)
    if tenant.is_empty:
        raise ValueError("tenant_context needs restaurant=, platform= or all_tenants=True")
    if all_tenants and (tenant.restaurant_id is not None or tenant.platform_id is not None):
        raise ValueError("all_tenants=True cannot be combined with restaurant= or platform=")
    with transaction.atomic(using=using):
        previous = read_tenant(using)
        apply_tenant(tenant, using=using)
        with activated(tenant):
            yield tenant
        # Reached only without an exception; on an exception the savepoint rollback
        # already reverts the settings.
        apply_tenant(previous, using=using)


def tenant_context_of(tenant: Tenant, *, using: str = "default"):
    """`tenant_context` for a Tenant value (e.g. an identity's own tenant)."""
    return tenant_context(
        restaurant=tenant.restaurant_id, platform=tenant.platform_id, all_tenants=tenant.all_tenants, using=using
    )
