"""X and Z reports: the till's running figures, and the close of a business day.

What a Z counts is what no earlier Z counted (each row keeps the Z that counted it):

- orders that are finished (completed or cancelled) and dated before the Z (their business
  time, `created_at`); an order still open waits for the next Z;
- payments and refunds taken, drawer sessions closed.

An order dated before the previous Z (sent late by a till that was offline) is counted by the
next Z and listed there as "late for <its date>": a Z never changes once written (a trigger
refuses any UPDATE of z_reports). The rows are chosen with one snapshot and marked with the Z in
the same transaction; a row committed meanwhile is simply left for the next Z. An X report is
the same figures over what the next Z would count now, or one drawer's.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, QuerySet, Sum
from django.utils import timezone

from fynlo.core.money import ZERO, money_text
from pos.drawers import drawer_figures
from pos.errors import PosError
from pos.models import (
    TAKEN_PAYMENT_STATUSES,
    DrawerSession,
    DrawerStatus,
    Order,
    OrderStatus,
    Payment,
    Refund,
    RefundStatus,
    ZReport,
)

FINISHED = (OrderStatus.COMPLETED, OrderStatus.CANCELLED)


@dataclass(frozen=True)
class Pending:
    """What the next Z would count, as querysets."""

    period_start: object
    orders: QuerySet
    payments: QuerySet
    refunds: QuerySet
    drawers: QuerySet


def pending(*, restaurant_id: int, now) -> Pending:
    last = ZReport.objects.filter(restaurant_id=restaurant_id).order_by("-number").values("generated_at").first()
    return Pending(
        period_start=last["generated_at"] if last else None,
        orders=Order.objects.filter(
            restaurant_id=restaurant_id, z_report__isnull=True, status__in=FINISHED, created_at__lt=now
        ),
        payments=Payment.objects.filter(
            restaurant_id=restaurant_id, z_report__isnull=True, status__in=TAKEN_PAYMENT_STATUSES, created_at__lt=now
        ),
        refunds=Refund.objects.filter(
            restaurant_id=restaurant_id, z_report__isnull=True, status=RefundStatus.COMPLETED, created_at__lt=now
        ),
        drawers=DrawerSession.objects.filter(
            restaurant_id=restaurant_id, z_report__isnull=True, status=DrawerStatus.CLOSED
        ),
    )


def _money(value) -> str:
    return money_text(value or ZERO)


def figures(work: Pending) -> tuple[dict, list[dict], list[dict]]:
    """(totals, drawers, late orders) of what `work` holds: a fixed number of queries."""
    completed = work.orders.filter(status=OrderStatus.COMPLETED)
    if work.period_start is not None:
        on_time = work.orders.filter(created_at__gte=work.period_start)
    else:
        on_time = work.orders
    sums = completed.aggregate(
        count=Count("id"), sales=Sum("total_amount"), vat=Sum("tax_amount"), service=Sum("service_charge"),
        discounts=Sum("discount_amount"),
    )
    cancelled = work.orders.filter(status=OrderStatus.CANCELLED).aggregate(count=Count("id"), total=Sum("total_amount"))
    numbers = list(on_time.order_by("created_at", "id").values_list("order_number", flat=True)[:1]) + list(
        on_time.order_by("-created_at", "-id").values_list("order_number", flat=True)[:1]
    )
    by_method = {
        row["payment_method"]: {"amount": _money(row["amount"]), "tips": _money(row["tips"]), "count": row["count"]}
        for row in work.payments.values("payment_method")
        .annotate(amount=Sum("amount"), tips=Sum("tip_amount"), count=Count("id")).order_by("payment_method")
    }
    refunds = {
        row["payment__payment_method"]: {"amount": _money(row["amount"]), "tips": _money(row["tips"]),
                                         "count": row["count"]}
        for row in work.refunds.values("payment__payment_method")
        .annotate(amount=Sum("amount"), tips=Sum("tip_amount"), count=Count("id")).order_by("payment__payment_method")
    }
    refund_total = work.refunds.aggregate(amount=Sum("amount"), tips=Sum("tip_amount"))
    sessions = list(work.drawers.order_by("closed_at", "id"))
    drawers = [
        {"drawer_id": session.pk, "device_id": session.device_id, "opening_float": _money(session.opening_float),
         "expected": _money(session.expected_amount), "counted": _money(session.counted_amount),
         "difference": _money(session.difference), "closed_at": session.closed_at}
        for session in sessions
    ]
    totals = {
        "orders": sums["count"],
        "sales": _money(sums["sales"]),
        "vat": _money(sums["vat"]),
        "service_charge": _money(sums["service"]),
        "discounts": _money(sums["discounts"]),
        "tips": _money(sum((Decimal(row["tips"]) for row in by_method.values()), ZERO)
                       - (refund_total["tips"] or ZERO)),
        "payments_by_method": by_method,
        "refunds": {"amount": _money(refund_total["amount"]), "tips": _money(refund_total["tips"]),
                    "by_method": refunds},
        "cancelled": {"orders": cancelled["count"], "total": _money(cancelled["total"])},
        "first_order_number": numbers[0] if numbers else None,
        "last_order_number": numbers[-1] if numbers else None,
        "drawer_difference": _money(sum((session.difference for session in sessions), ZERO)),
    }
    late: dict[str, list[dict]] = {}
    if work.period_start is not None:
        for row in work.orders.filter(created_at__lt=work.period_start).order_by("created_at", "id").values(
            "id", "order_number", "status", "total_amount", "created_at", "received_at"
        ):
            day = timezone.localdate(row["created_at"]).isoformat()
            late.setdefault(day, []).append({
                "order_id": row["id"], "order_number": row["order_number"], "status": row["status"],
                "total_amount": _money(row["total_amount"]), "created_at": row["created_at"],
                "received_at": row["received_at"],
            })
    late_orders = [{"label": f"late for {day}", "date": day, "orders": orders} for day, orders in sorted(late.items())]
    return totals, drawers, late_orders


def x_report(*, restaurant_id: int) -> dict:
    """The running figures of what the next Z would count now."""
    now = timezone.now()
    work = pending(restaurant_id=restaurant_id, now=now)
    totals, drawers, late_orders = figures(work)
    return {"since": work.period_start, "at": now, "figures": totals, "drawers": drawers, "late_orders": late_orders}


def x_report_of_drawer(*, session: DrawerSession) -> dict:
    """One drawer session's running figures, by payment method too (cash is what the drawer holds)."""
    drawer = drawer_figures([session])[session.pk]
    by_method = {
        row["payment_method"]: {"amount": _money(row["amount"]), "tips": _money(row["tips"]), "count": row["count"]}
        for row in Payment.objects.filter(drawer_session=session, status__in=TAKEN_PAYMENT_STATUSES)
        .values("payment_method").annotate(amount=Sum("amount"), tips=Sum("tip_amount"), count=Count("id"))
        .order_by("payment_method")
    }
    return {"drawer_id": session.pk, "device_id": session.device_id, "status": session.status,
            "opening_float": _money(drawer.opening_float), "cash_taken": _money(drawer.cash_taken),
            "cash_refunded": _money(drawer.cash_refunded), "paid_in": _money(drawer.paid_in),
            "paid_out": _money(drawer.paid_out), "no_sales": drawer.no_sales, "expected": _money(drawer.expected),
            "payments_by_method": by_method}


@transaction.atomic
def z_report_run(*, restaurant_id: int, user=None) -> ZReport:
    """Close the business day: every drawer must be closed (409 drawers_open naming them)."""
    still_open = list(
        DrawerSession.objects.filter(restaurant_id=restaurant_id, status=DrawerStatus.OPEN)
        .order_by("device_id").values_list("pk", "device_id")
    )
    if still_open:
        names = [f"{device_id} (drawer {pk})" for pk, device_id in still_open]
        message = f"Close every drawer first: {', '.join(names)}."
        raise PosError("drawers_open", message, status=409, fields={"drawers": names})
    now = timezone.now()
    work = pending(restaurant_id=restaurant_id, now=now)
    # One snapshot: the rows counted are the rows marked; later ones wait for the next Z.
    ids = {
        name: list(queryset.select_for_update().values_list("pk", flat=True))
        for name, queryset in (("orders", work.orders), ("payments", work.payments), ("refunds", work.refunds),
                               ("drawers", work.drawers))
    }
    work = Pending(
        period_start=work.period_start, orders=work.orders.filter(pk__in=ids["orders"]),
        payments=work.payments.filter(pk__in=ids["payments"]), refunds=work.refunds.filter(pk__in=ids["refunds"]),
        drawers=work.drawers.filter(pk__in=ids["drawers"]),
    )
    totals, drawers, late_orders = figures(work)
    number = (ZReport.objects.filter(restaurant_id=restaurant_id).aggregate(last=Max("number"))["last"] or 0) + 1
    try:
        with transaction.atomic():
            report = ZReport.objects.create(
                restaurant_id=restaurant_id, number=number, business_date=timezone.localdate(now),
                period_start=work.period_start, generated_at=now, generated_by=user, figures=totals,
                drawers=drawers, late_orders=late_orders,
            )
    except IntegrityError as error:
        raise PosError("z_report_in_progress", "Another Z report is being run; read it instead.", status=409) from error
    for model, key in ((Order, "orders"), (Payment, "payments"), (Refund, "refunds"), (DrawerSession, "drawers")):
        if ids[key]:
            # Bookkeeping only: which Z counted the row is no change a till syncs (updated_at stays).
            model.objects.filter(restaurant_id=restaurant_id, pk__in=ids[key]).update(z_report=report)
    return report
