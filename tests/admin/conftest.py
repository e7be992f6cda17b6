"""Two platforms with restaurants, staff, plans, orders, payments and commission records, and
admin clients signed in as their owners or as operations staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from billing.models import CommissionRecord, RestaurantSubscription, SubscriptionPlan
from fynlo.core.money import percent_of
from pos.models import Order, OrderStatus, Payment, PaymentStatus
from tenants.context import tenant_context
from tenants.models import Platform, Restaurant, User
from tests.browser import browser, chromium  # noqa: F401  (the browser tests' fixtures)
from tests.tenants.factories import PlatformFactory, PlatformOwnerFactory, RestaurantFactory, UserFactory


@dataclass
class World:
    p1: Platform
    p2: Platform
    owner1: User
    owner2: User
    operations: User
    tacos: Restaurant  # P1
    burgers: Restaurant  # P1
    sushi: Restaurant  # P2
    cashier1: User  # tacos
    cashier2: User  # sushi
    basic: SubscriptionPlan  # P1
    premium: SubscriptionPlan  # P1
    gold: SubscriptionPlan  # P2
    tacos_order: Order
    sushi_order: Order
    tacos_payment: Payment
    sushi_payment: Payment
    tacos_commission: CommissionRecord
    sushi_commission: CommissionRecord


def make_plan(platform, name: str, rate: str, fee: str = "0.00") -> SubscriptionPlan:
    with tenant_context(all_tenants=True):
        return SubscriptionPlan.objects.create(
            platform=platform, name=name, commission_rate=Decimal(rate), service_fee_rate=Decimal("12.50"),
            monthly_fee=Decimal(fee),
        )


def subscribe(restaurant, plan, *, days_ago: int = 30) -> RestaurantSubscription:
    with tenant_context(all_tenants=True):
        Restaurant.objects.filter(pk=restaurant.pk).update(subscription_tier=plan.name)
        return RestaurantSubscription.objects.create(
            restaurant=restaurant, plan=plan, start_date=timezone.localdate() - timedelta(days=days_ago),
            commission_rate=plan.commission_rate, monthly_fee=plan.monthly_fee,
        )


def sell(restaurant, number: str, total: str, *, rate: str = "8.00", when=None):
    """A completed order with its payment and the platform's commission record."""
    when = when or timezone.now()
    total = Decimal(total)
    with tenant_context(all_tenants=True):
        order = Order.objects.create(
            restaurant=restaurant, order_number=number, status=OrderStatus.COMPLETED, subtotal=total,
            total_amount=total, created_at=when,
        )
        payment = Payment.objects.create(
            restaurant=restaurant, order=order, payment_method="card", amount=total, status=PaymentStatus.COMPLETED,
            commission_rate=Decimal(rate), commission_amount=percent_of(total, Decimal(rate)), created_at=when,
        )
        record = CommissionRecord.objects.create(
            restaurant=restaurant, platform_id=restaurant.platform_id, order_id=order.pk, gross_amount=total,
            commission_rate=Decimal(rate), commission_amount=percent_of(total, Decimal(rate)), processed_at=when,
        )
    return order, payment, record


@pytest.fixture
def world(db) -> World:
    p1 = PlatformFactory(name="Alpha Platform")
    p2 = PlatformFactory(name="Beta Platform")
    tacos = RestaurantFactory(platform=p1, name="Alpha Tacos")
    burgers = RestaurantFactory(platform=p1, name="Alpha Burgers")
    sushi = RestaurantFactory(platform=p2, name="Beta Sushi")
    basic = make_plan(p1, "basic", "8.00")
    premium = make_plan(p1, "premium", "6.00", "49.99")
    gold = make_plan(p2, "beta-gold", "5.00", "99.00")
    subscribe(tacos, basic)
    subscribe(sushi, gold)
    tacos_order, tacos_payment, tacos_commission = sell(tacos, "A-0001", "100.00")
    sushi_order, sushi_payment, sushi_commission = sell(sushi, "B-0001", "250.00", rate="5.00")
    return World(
        p1=p1, p2=p2,
        owner1=PlatformOwnerFactory(platform=p1, email="owner@alpha.test"),
        owner2=PlatformOwnerFactory(platform=p2, email="owner@beta.test"),
        operations=UserFactory(restaurant=None, platform=None, role="platform_owner", is_superuser=True,
                               email="ops@fynlo.test"),
        tacos=tacos, burgers=burgers, sushi=sushi,
        cashier1=UserFactory(restaurant=tacos, role="cashier", email="cashier@alpha.test"),
        cashier2=UserFactory(restaurant=sushi, role="cashier", email="cashier@beta.test"),
        basic=basic, premium=premium, gold=gold,
        tacos_order=tacos_order, sushi_order=sushi_order,
        tacos_payment=tacos_payment, sushi_payment=sushi_payment,
        tacos_commission=tacos_commission, sushi_commission=sushi_commission,
    )


@pytest.fixture(autouse=True)
def plain_http(settings):
    """The test client speaks plain HTTP, whatever this environment's HTTPS settings."""
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture
def admin_client_for(db):
    """A test client signed in to the admin as the given user."""

    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make
