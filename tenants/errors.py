"""The tenants app's error: a stable code, turned into the API's single error shape by
`fynlo.core.api.exception_handler` (it is an ApiError)."""

from __future__ import annotations

from fynlo.core.api import ApiError


class TenantsError(ApiError):
    """A tenancy or sign-in rule refused the request, e.g. TenantsError("invalid_credentials", "...")."""
