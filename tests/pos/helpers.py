"""Small helpers for the orders API tests."""

from __future__ import annotations

from decimal import Decimal

from inventory.models import InventoryItem
from tenants.context import tenant_context


def place(client, items, **fields):
    """POST an order of (product, quantity) pairs; the response."""
    body = {"order_type": "dine_in", "items": [{"product_id": p.pk, "quantity": q} for p, q in items], **fields}
    return client.post("/api/v1/orders/", body, format="json")


def stock_of(item: InventoryItem) -> Decimal:
    with tenant_context(all_tenants=True):
        return InventoryItem.objects.get(pk=item.pk).current_stock
