"""Admin of menus, suppliers and stock: read-only, for operations staff.

Restaurants manage their menu and stock through the POS API (which keeps every row inside
one restaurant and every stock change in the movements ledger); the admin lets operations
staff look. Platform owners do not see these (tenants.permissions).
"""

from __future__ import annotations

from django.contrib import admin

from inventory.models import (
    Category,
    InventoryItem,
    ModifierGroup,
    ModifierOption,
    Product,
    RestockOrder,
    RestockOrderItem,
    StockMovement,
    Supplier,
)
from tenants.admin import ReadOnlyAdmin, ReadOnlyInline, RestaurantFilter
from tenants.admin_site import site


@admin.register(Category, site=site)
class CategoryAdmin(ReadOnlyAdmin):
    list_display = ("name", "restaurant", "display_order", "is_active")
    list_filter = ("is_active", RestaurantFilter)
    list_select_related = ("restaurant",)
    search_fields = ("name", "restaurant__name")
    ordering = ("restaurant", "display_order", "name")


@admin.register(Product, site=site)
class ProductAdmin(ReadOnlyAdmin):
    list_display = ("name", "restaurant", "category", "sku", "price", "cost", "is_active", "available_in_pos")
    list_filter = ("is_active", "available_in_pos", "track_inventory", RestaurantFilter)
    list_select_related = ("restaurant", "category")
    search_fields = ("name", "sku", "restaurant__name")
    ordering = ("restaurant", "name")


class ModifierOptionInline(ReadOnlyInline):
    model = ModifierOption
    fields = ("name", "price_change", "display_order", "is_active", "inventory_item")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("inventory_item__product")


@admin.register(ModifierGroup, site=site)
class ModifierGroupAdmin(ReadOnlyAdmin):
    list_display = ("name", "restaurant", "min_selected", "max_selected", "allow_repeat", "display_order", "is_active")
    list_filter = ("is_active", RestaurantFilter)
    list_select_related = ("restaurant",)
    search_fields = ("name", "restaurant__name")
    ordering = ("restaurant", "display_order", "name")
    exclude = ("products",)
    inlines = (ModifierOptionInline,)


@admin.register(Supplier, site=site)
class SupplierAdmin(ReadOnlyAdmin):
    list_display = ("name", "restaurant", "contact_person", "email", "phone", "is_active")
    list_filter = ("is_active", RestaurantFilter)
    list_select_related = ("restaurant",)
    search_fields = ("name", "contact_person", "email")
    ordering = ("restaurant", "name")


@admin.register(InventoryItem, site=site)
class InventoryItemAdmin(ReadOnlyAdmin):
    list_display = ("product", "name", "restaurant", "current_stock", "minimum_stock", "reorder_point", "unit_measure",
                    "supplier")
    list_filter = (RestaurantFilter,)
    list_select_related = ("product", "restaurant", "supplier")
    search_fields = ("product__name", "product__sku", "name")
    ordering = ("restaurant", "product__name")


@admin.register(StockMovement, site=site)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "inventory_item", "restaurant", "movement_type", "quantity", "reference_type", "reference_id")
    list_filter = ("movement_type", RestaurantFilter, ("created_at", admin.DateFieldListFilter))
    list_select_related = ("inventory_item__product", "restaurant")
    search_fields = ("inventory_item__product__name", "inventory_item__name", "notes")
    ordering = ("-created_at", "-pk")
    show_full_result_count = False


class RestockOrderItemInline(ReadOnlyInline):
    model = RestockOrderItem
    fields = ("inventory_item", "quantity_ordered", "quantity_received", "unit_cost", "total_cost", "notes")
    readonly_fields = fields


@admin.register(RestockOrder, site=site)
class RestockOrderAdmin(ReadOnlyAdmin):
    list_display = ("order_number", "restaurant", "supplier", "status", "order_date", "expected_delivery", "total_amount")
    list_filter = ("status", RestaurantFilter, ("order_date", admin.DateFieldListFilter))
    list_select_related = ("restaurant", "supplier")
    search_fields = ("order_number", "supplier__name")
    ordering = ("-order_date", "-pk")
    inlines = (RestockOrderItemInline,)
