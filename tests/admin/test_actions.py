"""Suspending, reactivating and changing a restaurant's plan: admin actions that go through
billing.services, which record each change."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from billing.models import RestaurantSubscription, SubscriptionStatus
from billing.services import BillingError, restaurant_plan_change, restaurant_reactivate, restaurant_suspend
from tenants.context import tenant_context
from tenants.models import Restaurant

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:tenants_restaurant_changelist"


def _restaurant(pk) -> Restaurant:
    with tenant_context(all_tenants=True):
        return Restaurant.objects.get(pk=pk)


def _subscriptions(restaurant) -> list[RestaurantSubscription]:
    with tenant_context(all_tenants=True):
        return list(
            RestaurantSubscription.objects.filter(restaurant=restaurant).select_related("plan").order_by("pk")
        )


def _history(restaurant) -> list[tuple[str, str]]:
    content_type = ContentType.objects.get_for_model(Restaurant)
    with tenant_context(all_tenants=True):  # the entries' users are tenant rows
        entries = LogEntry.objects.filter(content_type=content_type, object_id=str(restaurant.pk)).select_related("user")
        return [(entry.user.email, entry.change_message) for entry in entries.order_by("pk")]


def _act(client, action: str, restaurants, **extra):
    data = {"action": action, "_selected_action": [r.pk for r in restaurants], **extra}
    return client.post(reverse(CHANGELIST), data, follow=True)


def test_suspend_and_reactivate_through_the_admin_are_recorded(world, admin_client_for):
    client = admin_client_for(world.owner1)

    suspended = _act(client, "suspend_restaurants", [world.tacos])
    after_suspend = _restaurant(world.tacos.pk), _subscriptions(world.tacos)
    reactivated = _act(client, "reactivate_restaurants", [world.tacos])

    assert suspended.status_code == 200
    assert "Suspended: Alpha Tacos." in [str(m) for m in suspended.context["messages"]]
    restaurant, subscriptions = after_suspend
    assert restaurant.is_active is False
    assert [s.status for s in subscriptions] == [SubscriptionStatus.SUSPENDED]
    assert reactivated.status_code == 200
    assert _restaurant(world.tacos.pk).is_active is True
    assert [s.status for s in _subscriptions(world.tacos)] == [SubscriptionStatus.ACTIVE]
    assert _history(world.tacos) == [("owner@alpha.test", "Suspended."), ("owner@alpha.test", "Reactivated.")]


def test_suspending_a_suspended_restaurant_is_refused_with_a_message(world, admin_client_for):
    client = admin_client_for(world.owner1)
    _act(client, "suspend_restaurants", [world.tacos])

    again = _act(client, "suspend_restaurants", [world.tacos, world.burgers])

    messages = [str(m) for m in again.context["messages"]]
    assert "Suspended: Alpha Burgers." in messages
    assert "Alpha Tacos is already suspended." in messages
    assert len(_history(world.tacos)) == 1


def test_actions_cannot_reach_another_platforms_restaurant(world, admin_client_for):
    client = admin_client_for(world.owner1)

    response = _act(client, "suspend_restaurants", [world.sushi])

    assert response.status_code == 200
    assert _restaurant(world.sushi.pk).is_active is True
    assert _history(world.sushi) == []


def test_change_plan_asks_for_one_of_the_platforms_plans_then_applies_it(world, admin_client_for):
    client = admin_client_for(world.owner1)

    # when: the action is chosen
    page = client.post(reverse(CHANGELIST), {"action": "change_plan", "_selected_action": [world.tacos.pk]})
    # then: the intermediate page offers this platform's plans only
    assert page.status_code == 200
    assert b"basic: commission 8.00 %" in page.content and b"premium: commission 6.00 %" in page.content
    assert b"beta-gold" not in page.content

    # when: a plan is chosen
    done = _act(client, "change_plan", [world.tacos], apply="yes", plan=world.premium.pk)

    # then: the old subscription ends today, a new one starts with the plan's rates
    assert "Moved to the premium plan: Alpha Tacos." in [str(m) for m in done.context["messages"]]
    today = timezone.localdate()
    old, new = _subscriptions(world.tacos)
    assert (old.plan.name, old.status, old.end_date) == ("basic", SubscriptionStatus.CANCELLED, today)
    assert (new.plan.name, new.status, new.start_date, new.end_date) == ("premium", "active", today, None)
    assert (new.commission_rate, new.monthly_fee) == (Decimal("6.00"), Decimal("49.99"))
    assert _restaurant(world.tacos.pk).subscription_tier == "premium"
    [(who, message)] = _history(world.tacos)
    assert who == "owner@alpha.test"
    assert message.startswith(f"Plan changed from basic to premium on {today.isoformat()}")


def test_change_plan_refuses_another_platforms_plan(world, admin_client_for):
    client = admin_client_for(world.owner1)

    response = _act(client, "change_plan", [world.tacos], apply="yes", plan=world.gold.pk)

    assert response.status_code == 200
    assert "plan" in response.context["form"].errors
    assert len(_subscriptions(world.tacos)) == 1


def test_operations_staff_cannot_change_plans_across_platforms_at_once(world, admin_client_for):
    client = admin_client_for(world.operations)

    response = _act(client, "change_plan", [world.tacos, world.sushi])

    assert "Choose restaurants of one platform: plans belong to a platform." in [
        str(m) for m in response.context["messages"]
    ]


def test_the_restaurant_form_leaves_status_and_plan_to_the_actions(world, admin_client_for):
    client = admin_client_for(world.owner1)
    url = reverse("admin:tenants_restaurant_change", args=[world.tacos.pk])

    response = client.post(url, {
        "name": "Alpha Tacos Deluxe", "slug": world.tacos.slug, "business_type": "restaurant",
        "is_active": "", "subscription_tier": "enterprise",
    })

    assert response.status_code == 302, response.context["adminform"].form.errors
    restaurant = _restaurant(world.tacos.pk)
    assert (restaurant.name, restaurant.is_active, restaurant.subscription_tier) == ("Alpha Tacos Deluxe", True, "basic")


def test_a_platform_owner_adds_a_restaurant_to_their_platform(world, admin_client_for):
    client = admin_client_for(world.owner1)

    response = client.post(reverse("admin:tenants_restaurant_add"), {
        "platform": world.p2.pk, "name": "Alpha Pizza", "slug": "alpha-pizza", "business_type": "restaurant",
    })
    duplicate = client.post(reverse("admin:tenants_restaurant_add"), {
        "name": "Alpha Pizza Again", "slug": "alpha-pizza", "business_type": "restaurant",
    })

    assert response.status_code == 302, response.context["adminform"].form.errors
    with tenant_context(all_tenants=True):
        assert Restaurant.objects.get(slug="alpha-pizza").platform_id == world.p1.pk
    assert duplicate.status_code == 200
    assert duplicate.context["adminform"].form.errors


# --- The services themselves ---------------------------------------------------------------


def test_services_refuse_what_would_make_no_sense(world):
    with tenant_context(platform=world.p1):
        with pytest.raises(BillingError) as not_suspended:
            restaurant_reactivate(restaurant=world.tacos, by=world.owner1)
        with pytest.raises(BillingError) as same_plan:
            restaurant_plan_change(restaurant=world.tacos, plan=world.basic, by=world.owner1)
        with pytest.raises(BillingError) as foreign_plan:
            restaurant_plan_change(restaurant=world.tacos, plan=world.gold, by=world.owner1)
        with pytest.raises(BillingError) as foreign_restaurant:
            restaurant_suspend(restaurant=world.sushi, by=world.owner1)

    assert not_suspended.value.code == "not_suspended"
    assert same_plan.value.code == "same_plan"
    assert foreign_plan.value.code == "foreign_plan"
    assert (foreign_restaurant.value.code, foreign_restaurant.value.status) == ("not_found", 404)


def test_a_plan_change_while_suspended_keeps_the_restaurant_suspended(world):
    with tenant_context(platform=world.p1):
        restaurant_suspend(restaurant=world.tacos, by=world.owner1, reason="unpaid invoices")
        subscription = restaurant_plan_change(
            restaurant=world.tacos, plan=world.premium, by=world.owner1, today=timezone.localdate() + timedelta(days=1)
        )
        restaurant_reactivate(restaurant=world.tacos, by=world.owner1)

    assert subscription.status == SubscriptionStatus.SUSPENDED
    statuses = [(s.plan.name, s.status) for s in _subscriptions(world.tacos)]
    assert statuses == [("basic", "cancelled"), ("premium", "active")]
    assert _history(world.tacos)[0] == ("owner@alpha.test", "Suspended: unpaid invoices.")


def test_a_first_plan_for_a_restaurant_without_subscription(world):
    with tenant_context(platform=world.p1):
        restaurant_plan_change(restaurant=world.burgers, plan=world.premium, by=world.owner1)

    [subscription] = _subscriptions(world.burgers)
    assert (subscription.plan.name, subscription.status) == ("premium", "active")
    assert _history(world.burgers)[0][1].startswith("Plan changed from basic to premium")


def test_the_status_filter_lists_suspended_restaurants(world, admin_client_for):
    client = admin_client_for(world.owner1)
    _act(client, "suspend_restaurants", [world.burgers])

    suspended = client.get(reverse(CHANGELIST) + "?status=suspended")
    active = client.get(reverse(CHANGELIST) + "?status=active")

    assert [r.name for r in suspended.context["cl"].result_list] == ["Alpha Burgers"]
    assert [r.name for r in active.context["cl"].result_list] == ["Alpha Tacos"]
