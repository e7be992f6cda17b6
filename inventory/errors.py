"""The inventory app's error: a stable code, turned into the API's single error shape by
`fynlo.core.api.exception_handler` (it is an ApiError)."""

from __future__ import annotations

from decimal import Decimal

from fynlo.core.api import ApiError


class InventoryError(ApiError):
    """An inventory rule refused the request, e.g. InventoryError("insufficient_stock", "...", status=409)."""


class InsufficientStock(InventoryError):
    """Some products would go below zero; `available` maps each such product id to what is left,
    and `items` each such inventory item id (when it has a stock row)."""

    def __init__(self, available: dict[int, Decimal], *, fields: dict | None = None, items: dict[int, Decimal] | None = None):
        self.available = available
        self.items = items or {}
        names = ", ".join(f"product {product_id}: {left.normalize():f} left" for product_id, left in available.items())
        super().__init__(
            "insufficient_stock", f"Not enough stock ({names}).", status=409, fields=fields or {}
        )
