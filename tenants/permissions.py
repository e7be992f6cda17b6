"""What a platform owner may do and see in the admin (superusers may do everything).

Row-level security limits the rows they see to their own platform; `PLATFORM_OWNER_PERMISSIONS`
says which kinds of objects they may view, add, change or delete. `scope_for_user` is the
application-level second wall: the same platform limit as a queryset filter, so an admin
queryset that RLS already narrowed is narrowed once more by the code that built it.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from tenants.models import TenantScope

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
