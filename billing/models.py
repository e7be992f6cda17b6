"""Subscription plans, restaurant subscriptions and the platform's commission records."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from tenants.models import PlatformScopedModel, RestaurantScopedModel


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    CANCELLED = "cancelled", "Cancelled"


class CommissionPaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PAID = "paid", "Paid"
    FAILED = "failed", "Failed"


class SubscriptionPlan(PlatformScopedModel):
    """A pricing tier a platform offers its restaurants (basic, premium, enterprise)."""

    name = models.CharField(max_length=100)
    commission_rate = models.DecimalField(max_digits=5, decimal_places=2)
    service_fee_rate = models.DecimalField(max_digits=5, decimal_places=2)
    monthly_fee = models.DecimalField(max_digits=10, decimal_places=2, db_default=0)
    max_restaurants = models.IntegerField(null=True, blank=True)
    features = models.JSONField(db_default={})
    is_active = models.BooleanField(db_default=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "subscription_plans"
        constraints = [
            models.CheckConstraint(
                condition=Q(commission_rate__gte=0, commission_rate__lte=100),
                name="subscription_plans_commission_rate_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RestaurantSubscription(RestaurantScopedModel):
    plan = models.ForeignKey(
        SubscriptionPlan, on_delete=models.PROTECT, db_column="plan_id", related_name="subscriptions"
    )
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=50, choices=SubscriptionStatus.choices, db_default="active")
    commission_rate = models.DecimalField(max_digits=5, decimal_places=2)
    monthly_fee = models.DecimalField(max_digits=10, decimal_places=2, db_default=0)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "restaurant_subscriptions"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=SubscriptionStatus.values), name="restaurant_subscriptions_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.status} since {self.start_date}"


class CommissionRecord(RestaurantScopedModel):
    """The platform's commission on one order; `order_id` is a plain integer so billing never imports pos."""

    platform = models.ForeignKey(
        "tenants.Platform", on_delete=models.CASCADE, db_column="platform_id", related_name="+"
    )
    order_id = models.IntegerField(null=True, blank=True)
    gross_amount = models.DecimalField(max_digits=10, decimal_places=2)
    commission_rate = models.DecimalField(max_digits=5, decimal_places=2)
    commission_amount = models.DecimalField(max_digits=10, decimal_places=2)
    processed_at = models.DateTimeField(db_default=Now())
    payment_status = models.CharField(
        max_length=50, choices=CommissionPaymentStatus.choices, db_default="pending"
    )

    class Meta:
        db_table = "commission_records"
        constraints = [
            models.CheckConstraint(condition=Q(gross_amount__gte=0), name="commission_records_gross_amount_nonneg"),
            models.CheckConstraint(
                condition=Q(commission_amount__gte=0), name="commission_records_commission_amount_nonneg"
            ),
            models.CheckConstraint(
                condition=Q(payment_status__in=CommissionPaymentStatus.values),
                name="commission_records_payment_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["order_id"], name="idx_commission_order_id"),
        ]

    def __str__(self) -> str:
        return f"{self.commission_amount} on order {self.order_id}"
