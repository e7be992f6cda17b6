"""Receivers of Django's auth signals."""

from django.db import transaction
from django.utils import timezone

from tenants.identity import identify_by_id
from tenants.context import tenant_context_of


def update_last_login_in_tenant(sender, user, **kwargs):
    """Record the login time, writing under the user's own tenant."""
    identity = identify_by_id(user.pk)
    if identity is None or identity.tenant.is_empty:
        return
    user.last_login = timezone.now()
    with transaction.atomic(), tenant_context_of(identity.tenant):
        user.save(update_fields=["last_login"])
