"""Role-based API permissions. The README's roles table is the contract; views declare it."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

PLATFORM_OWNER = "platform_owner"
RESTAURANT_OWNER = "restaurant_owner"
MANAGER = "manager"
CASHIER = "cashier"
SERVER = "server"
COOK = "cook"

ALL_ROLES = frozenset({PLATFORM_OWNER, RESTAURANT_OWNER, MANAGER, CASHIER, SERVER, COOK})
OWNERS = frozenset({PLATFORM_OWNER, RESTAURANT_OWNER})
MANAGERS = OWNERS | {MANAGER}


def user_role(user) -> str | None:
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
