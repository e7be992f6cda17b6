"""Run each request in one transaction whose tenant is its signed-in user's."""

from __future__ import annotations

from django.conf import settings
from django.db import connections, transaction
from django.http import Http404, HttpResponseNotFound

from fynlo.core.api import CACHE_RETRY_HEADERS, CACHE_UNAVAILABLE, plain_error_response
from fynlo.core.db import pin_reads_to_primary
from fynlo.core.sessions import CacheUnavailable
from tenants.context import NO_TENANT, _current, apply_tenant, read_tenant
from tenants.request import RestaurantSuspended, activate_for_request

# Paths that must answer without touching the database first (load balancer checks).
EXEMPT_PATHS = frozenset({"/health", "/health/"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class TenantMiddleware:
    """Opens the request's transaction and sets its tenant with set_config(..., true).

    Session users are known here; token users are known only inside the DRF view, whose
    authentication class sets the tenant in this same transaction. A 5xx response rolls
    the transaction back, as ATOMIC_REQUESTS would. When the request runs inside an outer
    transaction (tests), the outer tenant is restored afterwards. After a successful write
    the user reads from the primary for REPLICA_PIN_SECONDS (tenants.replicas).
    """

    def __init__(self, get_response):
        self.get_response = get_response
        # Static files and locally stored uploads (fynlo.core.media) need no database.
        self.file_prefixes = tuple(
            prefix for prefix in (settings.STATIC_URL or "/static/", settings.MEDIA_URL)
            if prefix.startswith("/") and prefix != "/"
        )

    def __call__(self, request):
        request.tenant = NO_TENANT
        if request.path in EXEMPT_PATHS or request.path.startswith(self.file_prefixes):
            return self.get_response(request)
        token = _current.set(NO_TENANT)
        nested = connections["default"].in_atomic_block
        try:
            with transaction.atomic():
                previous = read_tenant("default") if nested else None
                response = self._respond(request)
                if response.status_code >= 500:
                    transaction.set_rollback(True)
                elif previous is not None and not transaction.get_rollback():
                    apply_tenant(previous)  # a rolled-back block restores it by itself
            if request.method not in SAFE_METHODS and response.status_code < 400:
                pin_reads_to_primary(getattr(getattr(request, "user", None), "pk", None))
            return response
        finally:
            _current.reset(token)

    def _respond(self, request):
        try:
            user = getattr(request, "user", None)
            authenticated = user is not None and user.is_authenticated
        except CacheUnavailable:
            return plain_error_response(*CACHE_UNAVAILABLE, status_code=503, headers=CACHE_RETRY_HEADERS)
        if authenticated:
            try:
                activate_for_request(request, user)
            except Http404:
                return HttpResponseNotFound(b"Not found")
            except RestaurantSuspended as suspended:
                return plain_error_response(suspended.code, str(suspended), status_code=403)
        return self.get_response(request)
