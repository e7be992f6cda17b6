"""Reads of the billing app: periods, restaurants' revenue and commission, subscriptions, plans.

Revenue here is the platform's view of it: the gross amount of the orders the platform took
commission on (`commission_records.gross_amount`), so billing never reads the orders tables.
Every read runs under the caller's tenant (row-level security); callers pass querysets they
have already scoped.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count, DecimalField, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Lower, NullIf, Trim
from django.utils import timezone

from billing.models import CommissionRecord, RestaurantSubscription, SubscriptionPlan, SubscriptionStatus
from billing.plans import DEFAULT_PLAN, GUIDE_PLANS_BY_NAME
from fynlo.core.dates import local_day_bounds
from fynlo.core.money import ZERO
from tenants.models import Restaurant

_MONEY = DecimalField(max_digits=14, decimal_places=2)

# Subscriptions that are the restaurant's current one (not ended, not cancelled).
CURRENT_STATUSES = (SubscriptionStatus.ACTIVE, SubscriptionStatus.SUSPENDED)


def month_start(now: datetime | None = None) -> datetime:
    """Midnight of the first day of the current month, in the project's time zone."""
    today = timezone.localdate(now or timezone.now())
    return local_day_bounds(today.replace(day=1))[0]


def days_start(days: int, now: datetime | None = None) -> datetime:
    """Midnight starting a period of `days` calendar days that ends today (local time)."""
    today = timezone.localdate(now or timezone.now())
    return local_day_bounds(today - timedelta(days=days - 1))[0]


def restaurants_with_figures(queryset: QuerySet, *, start: datetime, end: datetime) -> QuerySet:
    """`queryset` of restaurants annotated with `period_revenue`, `period_commission` and
    `period_orders` for commission records processed in [start, end)."""
    records = (
        CommissionRecord.objects.filter(restaurant=OuterRef("pk"), processed_at__gte=start, processed_at__lt=end)
        .order_by()
        .values("restaurant")
    )

    def total(expression, field, zero):
        subquery = Subquery(records.annotate(value=expression).values("value")[:1], output_field=field)
        return Coalesce(subquery, Value(zero), output_field=field)

    return queryset.annotate(
        period_revenue=total(Sum("gross_amount"), _MONEY, ZERO),
        period_commission=total(Sum("commission_amount"), _MONEY, ZERO),
        period_orders=total(Count("id"), IntegerField(), 0),
    )


def restaurant_figures(*, restaurants: QuerySet, start: datetime, end: datetime) -> list[Restaurant]:
    """Restaurants with their figures for [start, end), highest revenue first."""
    annotated = restaurants_with_figures(restaurants.select_related("platform"), start=start, end=end)
    return list(annotated.order_by("-period_revenue", "name", "pk"))


def _current_subscriptions(restaurant) -> QuerySet:
    today = timezone.localdate()
    return (
        RestaurantSubscription.objects.filter(restaurant=restaurant, status__in=CURRENT_STATUSES)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        .order_by("-start_date", "-pk")
    )


def restaurant_current_subscription(*, restaurant: Restaurant) -> RestaurantSubscription | None:
    """The restaurant's running subscription (active or suspended, not ended), the newest if several."""
    return _current_subscriptions(restaurant).select_related("plan").first()


def _tier(restaurant: Restaurant) -> str:
    return (restaurant.subscription_tier or DEFAULT_PLAN.name).strip().lower()


def restaurant_for_commission(*, restaurant_id: int) -> Restaurant | None:
    """The restaurant (its id, platform and tier) with `commission_rate`, the commission the
    platform takes in percent: its current subscription's rate, else its platform's active
    plan named by its tier, else the guide's rate for that tier. One query."""
    return restaurant_for_commission_later(restaurant_id=restaurant_id)()


_FOR_COMMISSION = ("pk", "platform_id", "subscription_tier", "subscription_rate", "plan_rate")


def restaurant_for_commission_later(*, restaurant_id: int) -> Callable[[], Restaurant | None]:
    """restaurant_for_commission, its query deferred (in a transaction it goes with the next
    statement, in its round trip: fynlo.core.postgresql): call what this returns for the restaurant."""
    tier = Lower(Trim(Coalesce(NullIf(OuterRef("subscription_tier"), Value("")), Value(DEFAULT_PLAN.name))))
    plans = SubscriptionPlan.objects.annotate(lower_name=Lower("name")).filter(
        platform_id=OuterRef("platform_id"), lower_name=tier, is_active=True
    )
    query = (
        Restaurant.objects.annotate(
            subscription_rate=Subquery(_current_subscriptions(OuterRef("pk")).values("commission_rate")[:1]),
            plan_rate=Subquery(plans.order_by("pk").values("commission_rate")[:1]),
        )
        .filter(pk=restaurant_id)
        .order_by("pk")
        .values_list(*_FOR_COMMISSION)[:1]
    ).query
    rows = connection.defer(*query.get_compiler(connection.alias).as_sql(), rows=True)

    def restaurant() -> Restaurant | None:
        found = rows.fetchall()
        if not found:
            return None
        pk, platform_id, tier, subscription_rate, plan_rate = found[0]
        restaurant = Restaurant.from_db(connection.alias, ["id", "platform_id", "subscription_tier"],
                                        [pk, platform_id, tier])
        restaurant.subscription_rate, restaurant.plan_rate = subscription_rate, plan_rate
        restaurant.commission_rate = next(
            (rate for rate in (subscription_rate, plan_rate) if rate is not None),
            GUIDE_PLANS_BY_NAME.get(_tier(restaurant), DEFAULT_PLAN).commission_rate,
        )
        return restaurant

    return restaurant


def commission_rate_for(*, restaurant: Restaurant) -> Decimal:
    """The commission the platform takes, in percent: the restaurant's current subscription's rate,
    else its platform's active plan named by the restaurant's tier, else the guide's rate for that tier."""
    return restaurant_for_commission(restaurant_id=restaurant.pk).commission_rate


def restaurant_subscriptions(*, restaurant: Restaurant) -> list[RestaurantSubscription]:
    """The restaurant's plan history, newest first."""
    return list(
        RestaurantSubscription.objects.filter(restaurant=restaurant).select_related("plan").order_by("-start_date", "-pk")
    )


def platform_plans(*, platform_id: int) -> QuerySet:
    """The active plans a platform offers, cheapest first."""
    return SubscriptionPlan.objects.filter(platform_id=platform_id, is_active=True).order_by("monthly_fee", "name", "pk")
