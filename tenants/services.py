"""Writes of the tenants app."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.utils import timezone
from rest_framework.authtoken.models import Token

from tenants.errors import TenantsError
from tenants.models import User
from tenants.signals import update_last_login_in_tenant


def token_is_expired(token: Token) -> bool:
    ttl = settings.API_TOKEN_TTL_HOURS
    return bool(ttl) and token.created < timezone.now() - timedelta(hours=ttl)


def user_login(*, request, email: str, password: str) -> tuple[User, Token]:
    """Check credentials and issue an API token (an expired one is replaced)."""
    user = authenticate(request, email=email, password=password)
    if user is None:
        raise TenantsError("invalid_credentials", "Email or password is wrong.", status=400)
    token, created = Token.objects.get_or_create(user=user)
    if not created and token_is_expired(token):
        token.delete()
        token = Token.objects.create(user=user)
    update_last_login_in_tenant(sender=User, user=user)
    return user, token


def user_logout(*, token_key: str) -> None:
    """Revoke an API token."""
    Token.objects.filter(key=token_key).delete()
