"""Reads of orders and payments.

Each selector decides its prefetching, so lists and details run a fixed number of
queries however many items or payments an order has.
"""

from __future__ import annotations

import datetime

from django.db.models import Prefetch, QuerySet

from fynlo.core.api import get_or_404
from fynlo.core.dates import local_day_bounds
from pos.models import DrawerEntry, DrawerSession, Order, OrderItem, Payment, Refund, ZReport
from tenants.context import Tenant
from tenants.selectors import scope_to_tenant


def _with_lines(orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders.prefetch_related(
        Prefetch("items", queryset=OrderItem.objects.select_related("product").order_by("pk")),
        Prefetch(
            "payments",
            queryset=Payment.objects.order_by("pk").prefetch_related(Prefetch("refunds", queryset=Refund.objects.order_by("pk"))),
        ),
    )


def order_list(
    *,
    tenant: Tenant,
    status: str | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> QuerySet[Order]:
    """Orders with their items and payments; dates are local days, both ends included."""
    orders = scope_to_tenant(Order.objects.all(), tenant=tenant)
    if status is not None:
        orders = orders.filter(status=status)
    if date_from is not None:
        orders = orders.filter(created_at__gte=local_day_bounds(date_from)[0])
    if date_to is not None:
        orders = orders.filter(created_at__lt=local_day_bounds(date_to)[1])
    return _with_lines(orders)


def order_get(*, tenant: Tenant, order_id: int) -> Order:
    return get_or_404(_with_lines(scope_to_tenant(Order.objects.all(), tenant=tenant)), pk=order_id, what="order")


def orders_by_id(*, tenant: Tenant, order_ids: list[int]) -> dict[int, Order]:
    """These orders with their lines, by id (a fixed number of queries however many)."""
    if not order_ids:
        return {}
    return {order.pk: order for order in _with_lines(scope_to_tenant(Order.objects.filter(pk__in=order_ids), tenant=tenant))}


def payments_by_id(*, tenant: Tenant, payment_ids: list[int]) -> dict[int, Payment]:
    if not payment_ids:
        return {}
    payments = scope_to_tenant(Payment.objects.filter(pk__in=payment_ids), tenant=tenant)
    return {payment.pk: payment for payment in payments.prefetch_related(Prefetch("refunds", queryset=Refund.objects.order_by("pk")))}


def payment_get(*, tenant: Tenant, payment_id: int) -> Payment:
    return get_or_404(scope_to_tenant(Payment.objects.all(), tenant=tenant), pk=payment_id, what="payment")


def _with_entries(sessions: QuerySet[DrawerSession]) -> QuerySet[DrawerSession]:
    return sessions.prefetch_related(Prefetch("entries", queryset=DrawerEntry.objects.order_by("pk")))


def drawer_list(*, tenant: Tenant, status: str | None = None, device_id: str | None = None) -> QuerySet[DrawerSession]:
    """Drawer sessions, newest first, with their entries."""
    sessions = scope_to_tenant(DrawerSession.objects.all(), tenant=tenant)
    if status is not None:
        sessions = sessions.filter(status=status)
    if device_id is not None:
        sessions = sessions.filter(device_id=device_id)
    return _with_entries(sessions.order_by("-opened_at", "-pk"))


def drawer_get(*, tenant: Tenant, drawer_id: int) -> DrawerSession:
    return get_or_404(_with_entries(scope_to_tenant(DrawerSession.objects.all(), tenant=tenant)), pk=drawer_id, what="drawer")


def z_report_list(*, tenant: Tenant) -> QuerySet[ZReport]:
    return scope_to_tenant(ZReport.objects.all(), tenant=tenant).order_by("-number")


def z_report_get(*, tenant: Tenant, z_report_id: int) -> ZReport:
    return get_or_404(scope_to_tenant(ZReport.objects.all(), tenant=tenant), pk=z_report_id, what="Z report")
