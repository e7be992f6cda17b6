"""What a platform owner may do in the admin (superusers may do everything).

The rows they see are limited by row-level security to their own platform; these are
the kinds of objects and actions.
"""

from __future__ import annotations

_ALL = {"view", "add", "change", "delete"}
_EDIT = {"view", "add", "change"}
_VIEW = {"view"}

PLATFORM_OWNER_PERMISSIONS: dict[str, dict[str, set[str]]] = {
    "tenants": {
        "platform": {"view", "change"},
        "platformsetting": _ALL,
        "restaurant": _EDIT,
        "restaurantsetting": _VIEW,
        "user": _EDIT,
    },
    "billing": {
        "subscriptionplan": _EDIT,
        "restaurantsubscription": _EDIT,
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
