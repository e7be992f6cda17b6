"""DRF authentication that sets the tenant in the request's transaction."""

from __future__ import annotations

from django.http import Http404
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.authtoken.models import Token

from tenants.identity import identify_by_id, load_user
from fynlo.core.api import ApiError
from tenants.request import RestaurantSuspended, activate_for_request
from tenants.services import token_is_expired


class TenantTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>` (or `Bearer <key>`); the user is found through the
    identity path, then the tenant is set before the view runs."""

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
        token = Token.objects.filter(key=key).first()
        if token is not None and token_is_expired(token):
            raise exceptions.AuthenticationFailed("Token has expired.")
        identity = identify_by_id(token.user_id) if token is not None else None
        if identity is None or not identity.is_active:
            raise exceptions.AuthenticationFailed("Invalid token.")
        user = load_user(identity, for_request=True)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        try:
            activate_for_request(request._request if request is not None else None, user)
        except Http404:
            raise exceptions.NotFound("No such restaurant.") from None
        except RestaurantSuspended as suspended:
            raise ApiError(suspended.code, str(suspended), status=403) from None
        return user, key

    def authenticate_header(self, request):
        return "Token"


class TenantSessionAuthentication(SessionAuthentication):
    """Session users' tenant is set by the middleware; this only adds CSRF, as DRF's does."""
