"""Who may do what: the API's roles, and what a platform owner may do and see in the admin.

The API: the README's roles table is the contract; each view declares it with `roles(read=, write=)`
over the roles of `UserRole` (operations staff count as platform owners).

The admin (superusers may do everything):

Row-level security limits the rows they see to their own platform; `PLATFORM_OWNER_PERMISSIONS`
says which kinds of objects they may view, add, change or delete. `scope_for_user` is the
application-level second wall: the same platform limit as a queryset filter, so an admin
queryset that RLS already narrowed is narrowed once more by the code that built it.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from rest_framework.permissions import SAFE_METHODS, BasePermission

from tenants.models import TenantScope, UserRole

PLATFORM_OWNER = UserRole.PLATFORM_OWNER.value
RESTAURANT_OWNER = UserRole.RESTAURANT_OWNER.value
MANAGER = UserRole.MANAGER.value
CASHIER = UserRole.CASHIER.value
SERVER = UserRole.SERVER.value
COOK = UserRole.COOK.value

ALL_ROLES = frozenset(UserRole.values)
OWNERS = frozenset({PLATFORM_OWNER, RESTAURANT_OWNER})
MANAGERS = OWNERS | {MANAGER}


def user_role(user) -> str | None:
    """The user's role for the API; operations staff (superusers) act as platform owners."""
    if not getattr(user, "is_authenticated", False):
        return None
    if getattr(user, "is_superuser", False):
        return PLATFORM_OWNER
    return user.role


def roles(*, read=ALL_ROLES, write=MANAGERS):
    """A permission class: `read` roles may use safe methods, `write` roles everything."""

    read_roles, write_roles = frozenset(read), frozenset(write)

    class RolePermission(BasePermission):
        message = "Your role may not do this."

        def has_permission(self, request, view):
            role = user_role(request.user)
            if role is None:
                return False
            return role in (read_roles if request.method in SAFE_METHODS else write_roles)

    RolePermission.__name__ = f"Roles(read={sorted(read_roles)}, write={sorted(write_roles)})"
    return RolePermission


_ALL = {"view", "add", "change", "delete"}
_EDIT = {"view", "add", "change"}
_VIEW = {"view"}

PLATFORM_OWNER_PERMISSIONS: dict[str, dict[str, set[str]]] = {
    "tenants": {
        "platform": {"view", "change"},
        "platformsetting": _ALL,
        "restaurant": _EDIT,  # suspending and changing plans are restaurant actions (billing.services)
        "restaurantsetting": _VIEW,
        "user": _EDIT,
    },
    "billing": {
        "subscriptionplan": _EDIT,
        "restaurantsubscription": _VIEW,  # written only by billing.services (plan change, suspension)
        "commissionrecord": _VIEW,
    },
    "pos": {
        "order": _VIEW,
        "payment": _VIEW,
        "zreport": _VIEW,
    },
}


def platform_owner_has_perm(perm: str) -> bool:
    """`perm` is Django's "app_label.action_model" form."""
    try:
        app_label, codename = perm.split(".", 1)
        action, model = codename.split("_", 1)
    except ValueError:
        return False
    return action in PLATFORM_OWNER_PERMISSIONS.get(app_label, {}).get(model, set())


def platform_owner_has_module(app_label: str) -> bool:
    return app_label in PLATFORM_OWNER_PERMISSIONS


def platform_rows(model, platform_id: int) -> Q:
    """The rows of `model` that belong to one platform, by the model's tenant scope."""
    scope = getattr(model, "tenant_scope", None)
    if scope == TenantScope.RESTAURANT:
        return Q(restaurant__platform_id=platform_id)
    if scope == TenantScope.PLATFORM:
        return Q(platform_id=platform_id)
    if scope == TenantScope.PLATFORM_ROW:
        return Q(pk=platform_id)
    if scope == TenantScope.RESTAURANT_ROW:
        return Q(platform_id=platform_id)
    if scope == TenantScope.USER:
        # staff of the platform's restaurants, and its platform owners; never operations staff
        return (Q(restaurant__platform_id=platform_id) | Q(restaurant__isnull=True, platform_id=platform_id)) & Q(
            is_superuser=False
        )
    return Q(pk__in=[])  # a global table holds nothing of a platform's


def restaurant_rows(model, restaurant_id: int) -> Q:
    """The rows of `model` that belong to one restaurant, by the model's tenant scope."""
    scope = getattr(model, "tenant_scope", None)
    if scope == TenantScope.RESTAURANT:
        return Q(restaurant_id=restaurant_id)
    if scope == TenantScope.RESTAURANT_ROW:
        return Q(pk=restaurant_id)
    return Q(pk__in=[])  # nothing else belongs to a restaurant


def scope_for_user(queryset: QuerySet, user) -> QuerySet:
    """`queryset` limited to what `user` may see in the admin: everything for operations
    staff, their own platform for a platform owner, nothing for anyone else."""
    if not getattr(user, "is_active", False):
        return queryset.none()
    if user.is_superuser:
        return queryset
    if user.is_platform_owner and user.platform_id is not None:
        return queryset.filter(platform_rows(queryset.model, user.platform_id))
    return queryset.none()
