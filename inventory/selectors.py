"""Reads of the menu, stock, suppliers and restock orders, scoped to the tenant in code as the
second wall behind row-level security (tenants.selectors.scope_to_tenant: no tenant, no rows)."""

from __future__ import annotations

from django.db.models import F, QuerySet

from fynlo.core.api import get_or_404
from inventory.models import Category, InventoryItem, Product, RestockOrder, Supplier
from tenants.context import Tenant
from tenants.selectors import scope_to_tenant


def category_list(*, tenant: Tenant, is_active: bool | None = None) -> QuerySet[Category]:
    categories = scope_to_tenant(Category.objects.all(), tenant=tenant)
    if is_active is not None:
        categories = categories.filter(is_active=is_active)
    return categories.order_by("display_order", "name", "pk")


def category_get(*, tenant: Tenant, category_id: int) -> Category:
    return get_or_404(scope_to_tenant(Category.objects.all(), tenant=tenant), pk=category_id, what="category")


def product_list(
    *,
    tenant: Tenant,
    category_id: int | None = None,
    is_active: bool | None = None,
    available_in_pos: bool | None = None,
) -> QuerySet[Product]:
    products = scope_to_tenant(Product.objects.all(), tenant=tenant)
    if category_id is not None:
        products = products.filter(category_id=category_id)
    if is_active is not None:
        products = products.filter(is_active=is_active)
    if available_in_pos is not None:
        products = products.filter(available_in_pos=available_in_pos)
    return products.order_by("name", "pk")


def product_get(*, tenant: Tenant, product_id: int) -> Product:
    return get_or_404(scope_to_tenant(Product.objects.all(), tenant=tenant), pk=product_id, what="product")


def products_by_id(*, restaurant_id: int, product_ids: set[int]) -> dict[int, Product]:
    """The restaurant's products among these ids, in one query."""
    return {product.pk: product for product in Product.objects.filter(restaurant_id=restaurant_id, pk__in=product_ids)}


def inventory_item_list(*, tenant: Tenant, low_stock: bool | None = None) -> QuerySet[InventoryItem]:
    items = scope_to_tenant(InventoryItem.objects.select_related("product"), tenant=tenant)
    if low_stock is True:
        items = items.filter(current_stock__lte=F("reorder_point"))
    elif low_stock is False:
        items = items.filter(current_stock__gt=F("reorder_point"))
    return items.order_by("product__name", "pk")


def inventory_item_get(*, tenant: Tenant, item_id: int) -> InventoryItem:
    items = scope_to_tenant(InventoryItem.objects.select_related("product"), tenant=tenant)
    return get_or_404(items, pk=item_id, what="inventory item")


def supplier_list(*, tenant: Tenant, is_active: bool | None = None) -> QuerySet[Supplier]:
    suppliers = scope_to_tenant(Supplier.objects.all(), tenant=tenant)
    if is_active is not None:
        suppliers = suppliers.filter(is_active=is_active)
    return suppliers.order_by("name", "pk")


def supplier_get(*, tenant: Tenant, supplier_id: int) -> Supplier:
    return get_or_404(scope_to_tenant(Supplier.objects.all(), tenant=tenant), pk=supplier_id, what="supplier")


def restock_order_list(*, tenant: Tenant, status: str | None = None) -> QuerySet[RestockOrder]:
    orders = scope_to_tenant(RestockOrder.objects.prefetch_related("items"), tenant=tenant)
    if status is not None:
        orders = orders.filter(status=status)
    return orders


def restock_order_get(*, tenant: Tenant, restock_order_id: int) -> RestockOrder:
    orders = scope_to_tenant(RestockOrder.objects.prefetch_related("items"), tenant=tenant)
    return get_or_404(orders, pk=restock_order_id, what="restock order")
