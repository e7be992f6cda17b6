"""Reads of orders and payments.

Each selector decides its prefetching, so lists and details run a fixed number of
queries however many items or payments an order has.
"""

from __future__ import annotations

import datetime

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from fynlo.core.dates import local_day_bounds
from pos.models import Order, OrderItem, Payment, Refund


def _in_restaurant(queryset: QuerySet, restaurant_id: int | None) -> QuerySet:
    return queryset if restaurant_id is None else queryset.filter(restaurant_id=restaurant_id)


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
    restaurant_id: int | None,
    status: str | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> QuerySet[Order]:
    """Orders with their items and payments; dates are local days, both ends included."""
    orders = _in_restaurant(Order.objects.all(), restaurant_id)
    if status is not None:
        orders = orders.filter(status=status)
    if date_from is not None:
        orders = orders.filter(created_at__gte=local_day_bounds(date_from)[0])
    if date_to is not None:
        orders = orders.filter(created_at__lt=local_day_bounds(date_to)[1])
    return _with_lines(orders)


def order_get(*, restaurant_id: int | None, order_id: int) -> Order:
    return get_object_or_404(_with_lines(_in_restaurant(Order.objects.all(), restaurant_id)), pk=order_id)


def payment_get(*, restaurant_id: int | None, payment_id: int) -> Payment:
    return get_object_or_404(_in_restaurant(Payment.objects.all(), restaurant_id), pk=payment_id)
