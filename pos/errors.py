"""The pos app's error: a stable code, turned into the API's single error shape by
`fynlo.core.api.exception_handler` (it is an ApiError)."""

from __future__ import annotations

from fynlo.core.api import ApiError


class PosError(ApiError):
    """An order, payment or refund rule refused the request, e.g. PosError("order_not_open", "...", status=409)."""


class VersionConflict(PosError):
    """An edit named a version of the order that is no longer the current one."""

    def __init__(self, *, order_id: int, sent: int, current: int):
        self.order_id = order_id
        super().__init__(
            "version_conflict",
            f"The order changed since it was read (version {sent}, now {current}); "
            "read it again and redo the change.",
            status=409,
        )
