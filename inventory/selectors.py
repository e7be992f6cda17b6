"""Reads of the menu, stock, suppliers and restock orders, scoped to the tenant in code as the
second wall behind row-level security (tenants.selectors.scope_to_tenant: no tenant, no rows)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.db.models import F, Prefetch, QuerySet
from django.db.models.functions import Coalesce

from fynlo.core.api import get_or_404
from fynlo.core.statements import columns, from_row, width
from inventory.models import (
    Category,
    InventoryItem,
    ModifierGroup,
    ModifierOption,
    Product,
    ProductModifierGroup,
    RestockOrder,
    Supplier,
)
from tenants.context import Tenant
from tenants.selectors import scope_to_tenant


def category_list(*, tenant: Tenant, is_active: bool | None = None) -> QuerySet[Category]:
    categories = scope_to_tenant(Category.objects.all(), tenant=tenant)
    if is_active is not None:
        categories = categories.filter(is_active=is_active)
    return categories.order_by("display_order", "name", "pk")


def category_get(*, tenant: Tenant, category_id: int) -> Category:
    return get_or_404(scope_to_tenant(Category.objects.all(), tenant=tenant), pk=category_id, what="category")


GROUP_ORDER = ("display_order", "name", "pk")
OPTION_ORDER = ("display_order", "name", "pk")


def _with_modifiers(products: QuerySet[Product]) -> QuerySet[Product]:
    """Each product's active modifier groups with their active options, as
    `active_modifier_groups` (two queries for any number of products)."""
    options = ModifierOption.objects.filter(is_active=True).order_by(*OPTION_ORDER)
    groups = (
        ModifierGroup.objects.filter(is_active=True)
        .order_by(*GROUP_ORDER)
        .prefetch_related(Prefetch("options", queryset=options, to_attr="active_options"))
    )
    return products.prefetch_related(Prefetch("modifier_groups", queryset=groups, to_attr="active_modifier_groups"))


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
    return _with_modifiers(products.order_by("name", "pk"))


def product_get(*, tenant: Tenant, product_id: int) -> Product:
    products = _with_modifiers(scope_to_tenant(Product.objects.all(), tenant=tenant))
    return get_or_404(products, pk=product_id, what="product")


def products_by_id(*, restaurant_id: int, product_ids: set[int]) -> dict[int, Product]:
    """The restaurant's products among these ids, in one query."""
    return {product.pk: product for product in Product.objects.filter(restaurant_id=restaurant_id, pk__in=product_ids)}


def inventory_item_list(
    *, tenant: Tenant, low_stock: bool | None = None, oversold: bool | None = None
) -> QuerySet[InventoryItem]:
    """`oversold`: below zero, which only an offline sale does (inventory.models.InventoryItem)."""
    items = scope_to_tenant(InventoryItem.objects.select_related("product"), tenant=tenant)
    if oversold is not None:
        items = items.filter(current_stock__lt=0) if oversold else items.filter(current_stock__gte=0)
    if low_stock is True:
        items = items.filter(current_stock__lte=F("reorder_point"))
    elif low_stock is False:
        items = items.filter(current_stock__gt=F("reorder_point"))
    return items.order_by(Coalesce("product__name", "name"), "pk")


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


# --- Modifiers -----------------------------------------------------------------------------


def _groups_with_options(groups: QuerySet[ModifierGroup]) -> QuerySet[ModifierGroup]:
    return groups.prefetch_related(
        Prefetch("options", queryset=ModifierOption.objects.order_by(*OPTION_ORDER)),
        Prefetch("product_links", queryset=ProductModifierGroup.objects.order_by("product_id")),
    )


def modifier_group_list(*, tenant: Tenant, is_active: bool | None = None) -> QuerySet[ModifierGroup]:
    """Modifier groups with all their options (active or not) and the products they serve."""
    groups = scope_to_tenant(ModifierGroup.objects.all(), tenant=tenant)
    if is_active is not None:
        groups = groups.filter(is_active=is_active)
    return _groups_with_options(groups.order_by(*GROUP_ORDER))


def modifier_group_get(*, tenant: Tenant, group_id: int) -> ModifierGroup:
    groups = _groups_with_options(scope_to_tenant(ModifierGroup.objects.all(), tenant=tenant))
    return get_or_404(groups, pk=group_id, what="modifier group")


def modifier_option_get(*, tenant: Tenant, option_id: int) -> ModifierOption:
    return get_or_404(
        scope_to_tenant(ModifierOption.objects.all(), tenant=tenant), pk=option_id, what="modifier option"
    )


@dataclass(frozen=True)
class ModifierMenu:
    """What an order's lines may choose from: each product's groups (active or not) and the
    options asked for, by id."""

    groups_by_product: dict[int, list[ModifierGroup]]
    options: dict[int, ModifierOption]


def modifier_menu(*, restaurant_id: int, product_ids: set[int], option_ids: set[int]) -> ModifierMenu:
    """The products' modifier groups and these options (with their groups) of the restaurant;
    two queries, none when there is nothing to look up."""
    return modifier_menu_later(restaurant_id=restaurant_id, product_ids=product_ids, option_ids=option_ids)()


def modifier_menu_later(
    *, restaurant_id: int, product_ids: set[int], option_ids: set[int]
) -> Callable[[], ModifierMenu]:
    """modifier_menu, its groups' query deferred (in a transaction: it goes with the next statement
    in its round trip, fynlo.core.postgresql): call what this returns for the menu (the options'
    query, when any, is sent then, carrying the groups')."""
    groups = None
    if product_ids:
        # the links with their groups (as select_related gives them), by fixed text
        groups = connection.defer(
            f"SELECT {columns(ProductModifierGroup, 'l')}, {columns(ModifierGroup, 'g')}"
            f" FROM {ProductModifierGroup._meta.db_table} l JOIN {ModifierGroup._meta.db_table} g ON g.id = l.group_id"
            " WHERE l.restaurant_id = %s AND l.product_id = ANY(%s) ORDER BY g.display_order, g.name, l.group_id",
            [restaurant_id, sorted(product_ids)], rows=True,
        )

    def menu() -> ModifierMenu:
        options = {}
        if option_ids:
            options = {
                option.pk: option
                for option in ModifierOption.objects.filter(restaurant_id=restaurant_id, pk__in=option_ids)
                .select_related("group")
            }
        groups_by_product: dict[int, list[ModifierGroup]] = {product_id: [] for product_id in product_ids}
        split = width(ProductModifierGroup)
        for row in groups.fetchall() if groups is not None else ():
            link = from_row(ProductModifierGroup, row[:split], connection.alias)
            ProductModifierGroup.group.field.set_cached_value(link, from_row(ModifierGroup, row[split:], connection.alias))
            groups_by_product[link.product_id].append(link.group)
        return ModifierMenu(groups_by_product=groups_by_product, options=options)

    return menu
