"""Admin of orders, payments, refunds and daily reports: read-only.

Orders and payments are written by the POS through the API, where the server computes every
amount; the admin shows them to platform owners (their platform's) and operations staff.
"""

from __future__ import annotations

from django.contrib import admin

from tenants.admin_site import site
from pos.models import DailyReport, Order, OrderItem, Payment, Refund
from tenants.admin import ReadOnlyAdmin, ReadOnlyInline, RestaurantFilter


class OrderItemInline(ReadOnlyInline):
    model = OrderItem
    fields = ("product", "quantity", "unit_price", "total_price", "special_instructions")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ("payment_method", "amount", "status", "commission_amount", "transaction_id", "processed_at")
    readonly_fields = fields


@admin.register(Order, site=site)
class OrderAdmin(ReadOnlyAdmin):
    list_display = (
        "order_number", "restaurant", "status", "order_type", "items_count", "total_amount", "created_at",
    )
    list_filter = ("status", "order_type", RestaurantFilter, ("created_at", admin.DateFieldListFilter))
    list_select_related = ("restaurant",)
    search_fields = ("order_number", "customer_name", "table_number")
    ordering = ("-created_at", "-pk")
    show_full_result_count = False
    inlines = (OrderItemInline, PaymentInline)
    fieldsets = (
        (None, {"fields": ("order_number", "restaurant", "status", "order_type", "table_number", "customer_name")}),
        ("Amounts", {"fields": (
            "subtotal", "tax_amount", "service_charge", "discount_amount", "total_amount", "items_count",
        )}),
        ("People and dates", {"fields": ("served_by", "created_by", "receipt_url", "created_at", "updated_at")}),
    )


@admin.register(Payment, site=site)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at", "order", "restaurant", "payment_method", "amount", "status", "commission_amount",
    )
    list_filter = ("status", "payment_method", RestaurantFilter, ("created_at", admin.DateFieldListFilter))
    list_select_related = ("order", "restaurant")
    search_fields = ("order__order_number", "transaction_id")
    ordering = ("-created_at", "-pk")
    show_full_result_count = False


@admin.register(Refund, site=site)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "order", "restaurant", "amount", "status", "processed_by")
    list_filter = ("status", RestaurantFilter, ("created_at", admin.DateFieldListFilter))
    list_select_related = ("order", "restaurant", "processed_by")
    search_fields = ("order__order_number", "reason")
    ordering = ("-created_at", "-pk")


@admin.register(DailyReport, site=site)
class DailyReportAdmin(ReadOnlyAdmin):
    list_display = ("report_date", "restaurant", "total_orders", "total_sales", "average_ticket", "generated_at")
    list_filter = (RestaurantFilter, ("report_date", admin.DateFieldListFilter))
    list_select_related = ("restaurant",)
    ordering = ("-report_date", "restaurant")
