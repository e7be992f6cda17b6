"""Admin of orders, payments, refunds and daily reports: read-only.

Orders and payments are written by the POS through the API, where the server computes every
amount; the admin shows them to platform owners (their platform's) and operations staff.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import admin
from django.db.models import Sum

from fynlo.core.money import money_text
from tenants.admin_site import site
from pos.models import DailyReport, Order, OrderItem, Payment, Refund, RefundStatus, ZReport
from tenants.admin import ReadOnlyAdmin, ReadOnlyInline, RestaurantFilter


class OrderItemInline(ReadOnlyInline):
    model = OrderItem
    fields = ("product", "quantity", "modifiers", "unit_price", "total_price", "special_instructions")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ("payment_method", "amount", "tip_amount", "status", "commission_amount", "transaction_id", "processed_at")
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
            "prices_include_vat", "vat_rate", "service_charge_rate", "version",
        )}),
        ("People and dates", {"fields": ("served_by", "created_by", "receipt_url", "created_at", "updated_at")}),
    )


def tips_by_restaurant(payments) -> list[dict]:
    """Tips of these payments per restaurant, less tips refunded on them (two queries)."""
    given = payments.values("restaurant_id", "restaurant__name").annotate(tips=Sum("tip_amount"))
    refunded = dict(
        Refund.objects.filter(payment__in=payments.values("pk"), status=RefundStatus.COMPLETED)
        .values_list("restaurant_id").annotate(tips=Sum("tip_amount")).values_list("restaurant_id", "tips")
    )
    rows = [
        {"name": row["restaurant__name"], "tips": row["tips"] - (refunded.get(row["restaurant_id"]) or Decimal("0"))}
        for row in given.order_by("restaurant__name", "restaurant_id")
    ]
    return [{**row, "tips": money_text(row["tips"])} for row in rows if row["tips"]]


@admin.register(Payment, site=site)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at", "order", "restaurant", "payment_method", "amount", "tip_amount", "status", "commission_amount",
    )
    list_filter = ("status", "payment_method", RestaurantFilter, ("created_at", admin.DateFieldListFilter))
    list_select_related = ("order", "restaurant")
    search_fields = ("order__order_number", "transaction_id")
    ordering = ("-created_at", "-pk")
    show_full_result_count = False

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:  # the list of the filters chosen (not a redirect or an error page)
            response.context_data["tips_by_restaurant"] = tips_by_restaurant(changelist.queryset)
        return response


@admin.register(Refund, site=site)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "order", "restaurant", "amount", "tip_amount", "status", "processed_by")
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


@admin.register(ZReport, site=site)
class ZReportAdmin(ReadOnlyAdmin):
    """Z reports are immutable (the database refuses any UPDATE): shown, never changed."""

    list_display = ("number", "restaurant", "business_date", "generated_at", "generated_by")
    list_filter = (RestaurantFilter, ("business_date", admin.DateFieldListFilter))
    list_select_related = ("restaurant", "generated_by")
    ordering = ("-generated_at", "-pk")
    fields = ("restaurant", "number", "business_date", "period_start", "generated_at", "generated_by", "figures",
              "drawers", "late_orders")
    readonly_fields = fields
