"""Email login for Django (admin, sessions), through the identity path."""

from __future__ import annotations

from django.contrib.auth.backends import BaseBackend
from django.db import transaction

from tenants.context import tenant_context_of
from tenants.identity import identify_by_email, identify_by_id, load_user
from tenants.models import User


class EmailBackend(BaseBackend):
    """Authenticate by email and password; legacy bcrypt hashes are upgraded on login."""

    def authenticate(self, request, email=None, password=None, username=None, **kwargs):
        email = email or username
        if not email or password is None:
            return None
        identity = identify_by_email(email)
        if identity is None or identity.tenant.is_empty:
            User().set_password(password)  # same work as a real check: no timing oracle
            return None
        with transaction.atomic(), tenant_context_of(identity.tenant):
            user = load_user(identity)
            if user is None or not user.check_password(password) or not user.is_active:
                return None
        return user

    def get_user(self, user_id):
        identity = identify_by_id(user_id)
        if identity is None or not identity.is_active:
            return None
        return load_user(identity)

    def has_perm(self, user_obj, perm, obj=None):
        return user_obj.has_perm(perm, obj)
