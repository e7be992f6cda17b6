"""Billing owns commission: which rate a restaurant pays (its current subscription, else its platform's
plan for its tier, else the guide's rate for the tier), and the one service that records it."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import CommissionRecord, SubscriptionStatus
from billing.selectors import commission_rate_for, days_start, month_start, restaurant_current_subscription
from billing.services import commission_record
from tenants.context import tenant_context
from tests.billing.factories import RestaurantSubscriptionFactory, SubscriptionPlanFactory
from tests.tenants.factories import RestaurantFactory

pytestmark = pytest.mark.django_db


def _rate(restaurant) -> Decimal:
    with tenant_context(all_tenants=True):
        return commission_rate_for(restaurant=restaurant)


def test_the_current_subscriptions_rate_wins(restaurant):
    RestaurantSubscriptionFactory(restaurant=restaurant, plan__name="premium", commission_rate=Decimal("5.50"))

    assert _rate(restaurant) == Decimal("5.50")


def test_a_suspended_subscription_is_still_the_current_one(restaurant):
    RestaurantSubscriptionFactory(restaurant=restaurant, commission_rate=Decimal("3.00"),
                                  status=SubscriptionStatus.SUSPENDED)

    assert _rate(restaurant) == Decimal("3.00")


def test_an_ended_or_cancelled_subscription_is_not(restaurant):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    RestaurantSubscriptionFactory(restaurant=restaurant, commission_rate=Decimal("1.00"), end_date=yesterday)
    RestaurantSubscriptionFactory(restaurant=restaurant, commission_rate=Decimal("2.00"),
                                  status=SubscriptionStatus.CANCELLED)

    with tenant_context(all_tenants=True):
        assert restaurant_current_subscription(restaurant=restaurant) is None
    assert _rate(restaurant) == Decimal("8.00")  # the guide's basic tier


def test_without_a_subscription_the_platforms_plan_for_the_tier_applies(platform):
    restaurant = RestaurantFactory(platform=platform, subscription_tier="Premium")
    SubscriptionPlanFactory(platform=platform, name="premium", commission_rate=Decimal("5.25"))
    SubscriptionPlanFactory(name="premium", commission_rate=Decimal("1.00"))  # another platform's

    assert _rate(restaurant) == Decimal("5.25")


@pytest.mark.parametrize("tier, rate", [("basic", "8.00"), ("premium", "6.00"), ("enterprise", "4.00"),
                                        ("", "8.00"), ("unknown", "8.00")])
def test_without_subscription_or_plan_the_guides_rate_for_the_tier_applies(platform, tier, rate):
    restaurant = RestaurantFactory(platform=platform, subscription_tier=tier)

    assert _rate(restaurant) == Decimal(rate)


def test_a_commission_record_is_the_rate_of_the_amount_rounded_half_up(restaurant):
    when = timezone.now()
    with tenant_context(all_tenants=True):
        record = commission_record(restaurant=restaurant, order_id=42, gross_amount=Decimal("10.25"),
                                   rate=Decimal("6.00"), processed_at=when)
        stored = CommissionRecord.objects.get(pk=record.pk)

    assert stored.commission_amount == Decimal("0.62")  # 0.615 rounds up
    assert (stored.platform_id, stored.order_id, stored.gross_amount) == (restaurant.platform_id, 42, Decimal("10.25"))


def test_periods_start_at_local_midnight():
    now = timezone.now()
    start = timezone.localtime(days_start(30, now))

    assert (start.hour, start.minute) == (0, 0)
    assert timezone.localtime(now).date() - start.date() == datetime.timedelta(days=29)
    assert timezone.localtime(month_start(now)).day == 1
