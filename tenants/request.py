"""Resolving a request's tenant from its authenticated user and the X-Restaurant-Id header."""

from __future__ import annotations

from django.http import Http404

from fynlo.core.api import ApiError
from tenants.context import Tenant, _current, apply_tenant
from tenants.models import Restaurant

RESTAURANT_HEADER = "HTTP_X_RESTAURANT_ID"


def tenant_for_user(user) -> Tenant:
    """The widest tenant a signed-in user acts for."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Tenant()
    if user.is_superuser:
        return Tenant(all_tenants=True)
    if user.restaurant_id is not None:
        return Tenant(restaurant_id=user.restaurant_id)
    if user.platform_id is not None:
        return Tenant(platform_id=user.platform_id)
    return Tenant()


def _narrow(base: Tenant, header: str) -> Tenant:
    """Narrow a tenant to one restaurant named by the header; 404 when it is not theirs."""
    try:
        restaurant_id = int(header)
    except ValueError:
        raise Http404("No such restaurant") from None
    if base.restaurant_id is not None:
        if restaurant_id != base.restaurant_id:
            raise Http404("No such restaurant")
        return base
    if base.is_empty:
        raise Http404("No such restaurant")
    # Under the base tenant's RLS, a restaurant outside it does not exist.
    if not Restaurant.objects.filter(pk=restaurant_id).exists():
        raise Http404("No such restaurant")
    return Tenant(restaurant_id=restaurant_id, platform_id=base.platform_id)


class RestaurantSuspended(Exception):
    """The signed-in staff member's restaurant is suspended by its platform."""

    code = "restaurant_suspended"
    message = "This restaurant is suspended; ask the platform owner to reactivate it."


def staff_restaurant_is_active(user) -> bool:
    """False for staff of a suspended restaurant (the restaurant is loaded with the user by
    tenants.identity.load_user, so this reads no row)."""
    if user.is_superuser or user.restaurant_id is None:
        return True
    return user.restaurant.is_active


def activate_for_request(request, user) -> Tenant:
    """Set the request's tenant in the current transaction, after authentication; staff of a
    suspended restaurant are refused (RestaurantSuspended)."""
    tenant = tenant_for_user(user)
    apply_tenant(tenant)
    if not staff_restaurant_is_active(user):
        raise RestaurantSuspended(RestaurantSuspended.message)
    header = request.META.get(RESTAURANT_HEADER, "").strip()
    if header:
        tenant = _narrow(tenant, header)
        apply_tenant(tenant)
    _current.set(tenant)
    request.tenant = tenant
    return tenant


def acting_restaurant_id(request) -> int:
    """The one restaurant a request acts for; a platform owner names it with X-Restaurant-Id (400 otherwise)."""
    restaurant_id = request.tenant.restaurant_id
    if restaurant_id is None:
        raise ApiError(
            "restaurant_required", "Name the restaurant with the X-Restaurant-Id header.", status=400,
            fields={"X-Restaurant-Id": ["This header is required for a platform owner."]},
        )
    return restaurant_id


def acting_tenant(request) -> Tenant:
    """The request's tenant, once it names the one restaurant the request acts for (see acting_restaurant_id)."""
    acting_restaurant_id(request)
    return request.tenant
