"""Writes of the billing app: suspending and reactivating a restaurant, changing its plan, and
the commission taken on a payment.

Each change is recorded twice: in the data (the subscription rows keep the plan history with
start and end dates and the suspension as their status) and in the restaurant's admin
history (who, when, what), which is where platform owners and operations staff look.
Everything runs under the caller's tenant: a restaurant or plan that row-level security
hides does not exist here either.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.contrib.admin.models import CHANGE, LogEntry
from django.db import transaction
from django.utils import timezone

from billing.models import (
    CommissionPaymentStatus,
    CommissionRecord,
    RestaurantSubscription,
    SubscriptionPlan,
    SubscriptionStatus,
)
from billing.selectors import restaurant_current_subscription
from fynlo.core.api import ApiError
from fynlo.core.money import percent_of
from fynlo.core.services import model_update
from tenants.models import Restaurant, User


class BillingError(ApiError):
    """A billing rule was broken. Codes: not_found, already_suspended, not_suspended,
    foreign_plan, plan_inactive, same_plan."""

    def __init__(self, code: str, message: str, *, status: int = 409):
        super().__init__(code, message, status=status)


def _lock(restaurant: Restaurant) -> Restaurant:
    """The restaurant's row, locked for the rest of the transaction (one change at a time)."""
    locked = Restaurant.objects.select_for_update().select_related("platform").filter(pk=restaurant.pk).first()
    if locked is None:
        raise BillingError("not_found", "No such restaurant.", status=404)
    return locked


def _record(*, by: User, restaurant: Restaurant, message: str) -> None:
    LogEntry.objects.log_actions(
        user_id=by.pk, queryset=[restaurant], action_flag=CHANGE, change_message=message, single_object=True
    )


def _set_active(restaurant: Restaurant, *, active: bool) -> None:
    """The restaurant and its running subscription are suspended, or reactivated, together."""
    now = timezone.now()
    model_update(instance=restaurant, fields=["is_active"], data={"is_active": active}, now=now)
    subscription = restaurant_current_subscription(restaurant=restaurant)
    before, after = (
        (SubscriptionStatus.SUSPENDED, SubscriptionStatus.ACTIVE) if active
        else (SubscriptionStatus.ACTIVE, SubscriptionStatus.SUSPENDED)
    )
    if subscription is not None and subscription.status == before:
        model_update(instance=subscription, fields=["status"], data={"status": after}, now=now)


def restaurant_suspend(*, restaurant: Restaurant, by: User, reason: str = "") -> Restaurant:
    """Suspend a restaurant: it becomes inactive and its running subscription suspended; recorded."""
    with transaction.atomic():
        locked = _lock(restaurant)
        if not locked.is_active:
            raise BillingError("already_suspended", f"{locked.name} is already suspended.")
        _set_active(locked, active=False)
        reason = reason.strip()
        _record(by=by, restaurant=locked, message=f"Suspended{f': {reason}' if reason else ''}.")
    return locked


def restaurant_reactivate(*, restaurant: Restaurant, by: User) -> Restaurant:
    """Reactivate a suspended restaurant and its suspended subscription; recorded."""
    with transaction.atomic():
        locked = _lock(restaurant)
        if locked.is_active:
            raise BillingError("not_suspended", f"{locked.name} is not suspended.")
        _set_active(locked, active=True)
        _record(by=by, restaurant=locked, message="Reactivated.")
    return locked


def restaurant_plan_change(
    *, restaurant: Restaurant, plan: SubscriptionPlan, by: User, today: date | None = None
) -> RestaurantSubscription:
    """Move a restaurant to another of its platform's plans from today: the running
    subscription ends, a new one starts with the plan's rates; recorded."""
    with transaction.atomic():
        locked = _lock(restaurant)
        plan = SubscriptionPlan.objects.filter(pk=plan.pk).first()
        if plan is None or plan.platform_id != locked.platform_id:
            raise BillingError("foreign_plan", f"That plan is not one of {locked.platform.name}'s plans.", status=400)
        if not plan.is_active:
            raise BillingError("plan_inactive", f"The plan {plan.name} is no longer offered.", status=400)
        current = restaurant_current_subscription(restaurant=locked)
        if current is not None and current.plan_id == plan.pk:
            raise BillingError("same_plan", f"{locked.name} is already on the {plan.name} plan.")
        today = today or timezone.localdate()
        now = timezone.now()
        if current is not None:
            ended = {"status": SubscriptionStatus.CANCELLED, "end_date": today}
            model_update(instance=current, fields=ended, data=ended, now=now)
        subscription = RestaurantSubscription.objects.create(
            restaurant=locked,
            plan=plan,
            start_date=today,
            status=SubscriptionStatus.ACTIVE if locked.is_active else SubscriptionStatus.SUSPENDED,
            commission_rate=plan.commission_rate,
            monthly_fee=plan.monthly_fee,
        )
        previous = current.plan.name if current is not None else locked.subscription_tier
        model_update(instance=locked, fields=["subscription_tier"], data={"subscription_tier": plan.name[:50]}, now=now)
        _record(
            by=by,
            restaurant=locked,
            message=(
                f"Plan changed from {previous} to {plan.name} on {today.isoformat()} "
                f"(commission {plan.commission_rate} %, monthly fee {plan.monthly_fee})."
            ),
        )
    return subscription


def commission_for(
    *,
    restaurant: Restaurant,
    order_id: int,
    gross_amount: Decimal,
    rate: Decimal,
    processed_at: datetime,
    payment_status: str = CommissionPaymentStatus.PENDING,
) -> CommissionRecord:
    """The platform's commission on an amount the restaurant took, not yet saved: `rate` percent
    of it, rounded half up (the rate from billing.selectors). For a caller that writes it in
    one statement with the payment (fynlo.core.statements); commission_record saves it."""
    return CommissionRecord(
        restaurant_id=restaurant.pk,
        platform_id=restaurant.platform_id,
        order_id=order_id,
        gross_amount=gross_amount,
        commission_rate=rate,
        commission_amount=percent_of(gross_amount, rate),
        processed_at=processed_at,
        payment_status=payment_status,
    )


def commission_record(
    *,
    restaurant: Restaurant,
    order_id: int,
    gross_amount: Decimal,
    rate: Decimal,
    processed_at: datetime,
    payment_status: str = CommissionPaymentStatus.PENDING,
) -> CommissionRecord:
    """Record the platform's commission on an amount the restaurant took (see commission_for)."""
    record = commission_for(
        restaurant=restaurant, order_id=order_id, gross_amount=gross_amount, rate=rate, processed_at=processed_at,
        payment_status=payment_status,
    )
    record.save(force_insert=True)
    return record
