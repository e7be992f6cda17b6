"""The inventory app's error: a stable code, turned into the API's single error shape by
`fynlo.core.api.exception_handler` (it is an ApiError)."""

from __future__ import annotations

from decimal import Decimal

from fynlo.core.api import ApiError


class InventoryError(ApiError):
    """An inventory rule refused the request, e.g. InventoryError("insufficient_stock", "...", status=409)."""


class InsufficientStock(InventoryError):
    """Some products would go below zero; `available` maps each such product id to what is left."""

    def __init__(self, available: dict[int, Decimal], *, fields: dict | None = None):
        self.available = available
        names = ", ".join(f"product {product_id}: {left.normalize():f} left" for product_id, left in available.items())
        super().__init__(
            "insufficient_stock", f"Not enough stock ({names}).", status=409, fields=fields or {}
        )
