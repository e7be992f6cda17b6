"""Factories of the billing app: plans and subscriptions."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory

from billing.models import RestaurantSubscription, SubscriptionPlan
from tests.tenants.factories import PlatformFactory, RestaurantFactory, TenantFactory


class SubscriptionPlanFactory(TenantFactory):
    class Meta:
        model = SubscriptionPlan

    platform = factory.SubFactory(PlatformFactory)
    name = "premium"
    commission_rate = Decimal("6.00")
    service_fee_rate = Decimal("12.50")


class RestaurantSubscriptionFactory(TenantFactory):
    class Meta:
        model = RestaurantSubscription

    restaurant = factory.SubFactory(RestaurantFactory)
    plan = factory.SubFactory(SubscriptionPlanFactory, platform=factory.SelfAttribute("..restaurant.platform"))
    start_date = factory.LazyFunction(lambda: datetime.date.today() - datetime.timedelta(days=30))
    commission_rate = factory.SelfAttribute("plan.commission_rate")
