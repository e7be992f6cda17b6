"""The pos app's error: a stable code, turned into the API's single error shape by
`fynlo.core.api.exception_handler` (it is an ApiError)."""

from __future__ import annotations

from fynlo.core.api import ApiError


class PosError(ApiError):
    """An order, payment or refund rule refused the request, e.g. PosError("order_not_open", "...", status=409)."""
