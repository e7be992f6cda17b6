"""Daily reports: one restaurant's figures for one local day, kept in `daily_reports`.

A day is the restaurant's calendar day in the project's time zone (TIME_ZONE, Europe/London):
an order counts for the day its `created_at` falls in there. Today's report is recomputed on
every request; a past day's stored report is served as long as it was generated after that
day had ended (a report generated during the day is recomputed once the day is over), and
`refresh` recomputes it anyway (late corrections: cancellations, status changes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone

from fynlo.core.dates import local_day_bounds
from fynlo.core.money import ZERO, quantize
from pos.models import (
    TAKEN_PAYMENT_STATUSES,
    DailyReport,
    Order,
    OrderItem,
    OrderStatus,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from pos.pricing import vat_label

TOP_PRODUCTS = 5


@dataclass(frozen=True)
class DailyFigures:
    total_sales: Decimal
    total_orders: int
    average_ticket: Decimal
    total_items: int
    payment_breakdown: dict[str, str]
    top_products: list[dict]
    staff_performance: list[dict]
    tax_breakdown: dict[str, str]
    tips: dict
    oversold_offline: list[dict]


def _tips(*, restaurant_id: int, orders) -> dict:
    """The tips of the orders' payments, less tips refunded: in all, by payment method and by the
    employee who served (two aggregate queries)."""
    by_method: dict[str, Decimal] = {}
    by_employee: dict[int, dict] = {}
    given = (
        Payment.objects.filter(restaurant_id=restaurant_id, status__in=TAKEN_PAYMENT_STATUSES, order__in=orders.values("id"))
        .values("payment_method", "order__served_by_id", "order__served_by__user__first_name",
                "order__served_by__user__last_name")
        .annotate(tips=Sum("tip_amount"))
    )
    taken_back = (
        Refund.objects.filter(restaurant_id=restaurant_id, status=RefundStatus.COMPLETED, order__in=orders.values("id"),
                              tip_amount__gt=0)
        .values("payment__payment_method", "order__served_by_id")
        .annotate(tips=Sum("tip_amount"))
    )
    rows = [
        (row["payment_method"], row["order__served_by_id"], row["tips"],
         f"{row['order__served_by__user__first_name'] or ''} {row['order__served_by__user__last_name'] or ''}".strip())
        for row in given
    ] + [(row["payment__payment_method"], row["order__served_by_id"], -row["tips"], None) for row in taken_back]
    for method, employee_id, amount, name in rows:
        by_method[method] = by_method.get(method, ZERO) + amount
        if employee_id is not None:
            entry = by_employee.setdefault(employee_id, {"employee_id": employee_id, "name": "", "tips": ZERO})
            entry["tips"] += amount
            entry["name"] = name if name is not None else entry["name"]
    return {
        "total": str(quantize(sum(by_method.values(), ZERO))),
        "by_method": {method: str(quantize(amount)) for method, amount in sorted(by_method.items()) if amount},
        "by_employee": [
            {**entry, "tips": str(quantize(entry["tips"]))}
            for entry in sorted(by_employee.values(), key=lambda e: (-e["tips"], e["employee_id"]))
            if entry["tips"]
        ],
    }


def daily_figures(*, restaurant_id: int, report_date: date) -> DailyFigures:
    """Compute a day's figures from its completed orders (nine queries), and its orders sold
    offline beyond the stock."""
    start, end = local_day_bounds(report_date)
    orders = Order.objects.filter(
        restaurant_id=restaurant_id, status=OrderStatus.COMPLETED, created_at__gte=start, created_at__lt=end
    )
    totals = orders.aggregate(sales=Sum("total_amount"), count=Count("id"))
    total_sales = quantize(totals["sales"] or ZERO)
    total_orders = totals["count"]
    average_ticket = quantize(total_sales / total_orders) if total_orders else ZERO

    items = OrderItem.objects.filter(restaurant_id=restaurant_id, order__in=orders.values("id"))
    total_items = items.aggregate(quantity=Sum("quantity"))["quantity"] or 0
    top_products = [
        {
            "product_id": row["product_id"],
            "name": row["product__name"],
            "quantity": row["quantity"],
            "revenue": str(quantize(row["revenue"])),
        }
        for row in items.values("product_id", "product__name")
        .annotate(quantity=Sum("quantity"), revenue=Sum("total_price"))
        .order_by("-quantity", "-revenue", "product_id")[:TOP_PRODUCTS]
    ]

    payments = (
        Payment.objects.filter(
            restaurant_id=restaurant_id, status=PaymentStatus.COMPLETED, order__in=orders.values("id")
        )
        .values("payment_method")
        .annotate(amount=Sum("amount"))
        .order_by("payment_method")
    )
    payment_breakdown = {row["payment_method"]: str(quantize(row["amount"])) for row in payments}

    staff_performance = [
        {
            "employee_id": row["served_by_id"],
            "name": f"{row['served_by__user__first_name']} {row['served_by__user__last_name']}".strip(),
            "orders": row["orders"],
            "sales": str(quantize(row["sales"])),
        }
        for row in orders.filter(served_by__isnull=False)
        .values("served_by_id", "served_by__user__first_name", "served_by__user__last_name")
        .annotate(orders=Count("id"), sales=Sum("total_amount"))
        .order_by("-sales", "served_by_id")
    ]
    tax_breakdown = {
        vat_label(row["prices_include_vat"]): str(quantize(row["tax"]))
        for row in orders.values("prices_include_vat").annotate(tax=Sum("tax_amount")).order_by("prices_include_vat")
    }
    # Sold offline beyond the stock (any status: the goods left either way).
    oversold = [
        {"order_id": row["id"], "order_number": row["order_number"]}
        for row in Order.objects.filter(
            restaurant_id=restaurant_id, oversold_offline=True, created_at__gte=start, created_at__lt=end
        ).values("id", "order_number").order_by("created_at", "id")
    ]
    return DailyFigures(
        oversold_offline=oversold,
        tax_breakdown=tax_breakdown,
        tips=_tips(restaurant_id=restaurant_id, orders=orders),
        total_sales=total_sales,
        total_orders=total_orders,
        average_ticket=average_ticket,
        total_items=total_items,
        payment_breakdown=payment_breakdown,
        top_products=top_products,
        staff_performance=staff_performance,
    )


def daily_report_store(*, restaurant_id: int, report_date: date, figures: DailyFigures) -> DailyReport:
    """Upsert the day's row of `daily_reports` (one INSERT ... ON CONFLICT, safe against a race)."""
    report = DailyReport(
        restaurant_id=restaurant_id,
        report_date=report_date,
        total_sales=figures.total_sales,
        total_orders=figures.total_orders,
        average_ticket=figures.average_ticket,
        total_items=figures.total_items,
        payment_breakdown=figures.payment_breakdown,
        top_products=figures.top_products,
        staff_performance=figures.staff_performance,
        tax_breakdown=figures.tax_breakdown,
        tips=figures.tips,
        oversold_offline=figures.oversold_offline,
        generated_at=timezone.now(),
    )
    DailyReport.objects.bulk_create(
        [report],
        update_conflicts=True,
        unique_fields=["restaurant", "report_date"],
        update_fields=[
            "total_sales", "total_orders", "average_ticket", "total_items", "payment_breakdown",
            "top_products", "staff_performance", "tax_breakdown", "tips", "oversold_offline", "generated_at",
        ],
    )
    return report


def daily_report_get(*, restaurant_id: int, report_date: date, refresh: bool = False) -> DailyReport:
    """The day's report: the stored one when it is final, else computed now and stored."""
    if not refresh and report_date < timezone.localdate():
        stored = DailyReport.objects.filter(restaurant_id=restaurant_id, report_date=report_date).first()
        if stored is not None and stored.generated_at >= local_day_bounds(report_date)[1]:
            return stored
    figures = daily_figures(restaurant_id=restaurant_id, report_date=report_date)
    return daily_report_store(restaurant_id=restaurant_id, report_date=report_date, figures=figures)
