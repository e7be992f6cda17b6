"""DRF authentication that sets the tenant in the request's transaction."""

from __future__ import annotations

from django.http import Http404
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication

from fynlo.core.api import ApiError
from tenants.identity import identify_by_token
from tenants.request import RestaurantSuspended, activate_for_request
from tenants.services import token_is_expired


class TenantTokenAuthentication(BaseAuthentication):
    """`Authorization: Token <key>` (or `Bearer <key>`); the token and its user are found
    through the identity path in one statement, then the tenant is set (one more) before the
    view runs. `request.auth` is the token's ApiCredential (which token: logout revokes that one)."""

    keywords = ("Token", "Bearer")

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        parts = header.split()
        if not parts or parts[0] not in self.keywords:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header.")
        return self.authenticate_credentials(parts[1], request)

    def authenticate_credentials(self, key, request=None):
        found = identify_by_token(key)
        if found is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        credential, identity, user = found
        if token_is_expired(credential.created_at):
            raise exceptions.AuthenticationFailed("Token has expired.")
        if not identity.is_active or identity.tenant.is_empty:
            raise exceptions.AuthenticationFailed("Invalid token.")
        try:
            activate_for_request(request._request if request is not None else None, user)
        except Http404:
            raise exceptions.NotFound("No such restaurant.") from None
        except RestaurantSuspended as suspended:
            raise ApiError(suspended.code, str(suspended), status=403) from None
        return user, credential

    def authenticate_header(self, request):
        return "Token"


class TenantSessionAuthentication(SessionAuthentication):
    """Session users' tenant is set by the middleware; this only adds CSRF, as DRF's does."""
