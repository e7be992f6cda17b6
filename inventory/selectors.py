"""Reads of the menu, stock, suppliers and restock orders. `restaurant_id` is the second wall
behind row-level security: None (a platform owner reading their whole platform) leaves the
rows RLS shows."""

from __future__ import annotations

from django.db.models import F, QuerySet
from django.shortcuts import get_object_or_404

from inventory.models import Category, InventoryItem, Product, RestockOrder, Supplier


def _in_restaurant(queryset: QuerySet, restaurant_id: int | None) -> QuerySet:
    return queryset if restaurant_id is None else queryset.filter(restaurant_id=restaurant_id)


def category_list(*, restaurant_id: int | None, is_active: bool | None = None) -> QuerySet[Category]:
    categories = _in_restaurant(Category.objects.all(), restaurant_id)
    if is_active is not None:
        categories = categories.filter(is_active=is_active)
    return categories.order_by("display_order", "name", "pk")


def category_get(*, restaurant_id: int | None, category_id: int) -> Category:
    return get_object_or_404(_in_restaurant(Category.objects.all(), restaurant_id), pk=category_id)


def product_list(
    *,
    restaurant_id: int | None,
    category_id: int | None = None,
    is_active: bool | None = None,
    available_in_pos: bool | None = None,
) -> QuerySet[Product]:
    products = _in_restaurant(Product.objects.all(), restaurant_id)
    if category_id is not None:
        products = products.filter(category_id=category_id)
    if is_active is not None:
        products = products.filter(is_active=is_active)
    if available_in_pos is not None:
        products = products.filter(available_in_pos=available_in_pos)
    return products.order_by("name", "pk")


def product_get(*, restaurant_id: int | None, product_id: int) -> Product:
    return get_object_or_404(_in_restaurant(Product.objects.all(), restaurant_id), pk=product_id)


def products_by_id(*, restaurant_id: int, product_ids: set[int]) -> dict[int, Product]:
    """The restaurant's products among these ids, in one query."""
    return {product.pk: product for product in Product.objects.filter(restaurant_id=restaurant_id, pk__in=product_ids)}


def inventory_item_list(*, restaurant_id: int | None, low_stock: bool | None = None) -> QuerySet[InventoryItem]:
    items = _in_restaurant(InventoryItem.objects.select_related("product"), restaurant_id)
    if low_stock is True:
        items = items.filter(current_stock__lte=F("reorder_point"))
    elif low_stock is False:
        items = items.filter(current_stock__gt=F("reorder_point"))
    return items.order_by("product__name", "pk")


def inventory_item_get(*, restaurant_id: int | None, item_id: int) -> InventoryItem:
    return get_object_or_404(_in_restaurant(InventoryItem.objects.select_related("product"), restaurant_id), pk=item_id)


def supplier_list(*, restaurant_id: int | None, is_active: bool | None = None) -> QuerySet[Supplier]:
    suppliers = _in_restaurant(Supplier.objects.all(), restaurant_id)
    if is_active is not None:
        suppliers = suppliers.filter(is_active=is_active)
    return suppliers.order_by("name", "pk")


def supplier_get(*, restaurant_id: int | None, supplier_id: int) -> Supplier:
    return get_object_or_404(_in_restaurant(Supplier.objects.all(), restaurant_id), pk=supplier_id)


def restock_order_list(*, restaurant_id: int | None, status: str | None = None) -> QuerySet[RestockOrder]:
    orders = _in_restaurant(RestockOrder.objects.prefetch_related("items"), restaurant_id)
    if status is not None:
        orders = orders.filter(status=status)
    return orders


def restock_order_get(*, restaurant_id: int | None, restock_order_id: int) -> RestockOrder:
    return get_object_or_404(
        _in_restaurant(RestockOrder.objects.prefetch_related("items"), restaurant_id), pk=restock_order_id
    )
