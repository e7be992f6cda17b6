"""Admin of restaurants as the platform bills them, plans, subscriptions and commission records.

The restaurant list shows each restaurant's plan and its revenue and commission this month;
its actions suspend, reactivate and move restaurants to another plan, each through
billing.services (recorded in the restaurant's history). Subscriptions and commission
records are written only by those services and by the POS: here they are read-only.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Count, Q
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from billing.dashboard import DASHBOARD_PERMISSION, dashboard_view
from billing.models import CommissionRecord, RestaurantSubscription, SubscriptionPlan, SubscriptionStatus
from billing.selectors import (
    month_start,
    platform_plans,
    restaurant_current_subscription,
    restaurant_subscriptions,
    restaurants_with_figures,
)
from billing.services import BillingError, restaurant_plan_change, restaurant_reactivate, restaurant_suspend
from tenants.admin import ReadOnlyAdmin, RestaurantFilter, ScopedChoiceFilter, TenantScopedAdmin
from tenants.admin_site import site
from tenants.models import Restaurant
from tenants.permissions import scope_for_user

site.register_page(name="dashboard", route="dashboard/", view=dashboard_view, permission=DASHBOARD_PERMISSION)


class PlanFilter(admin.SimpleListFilter):
    """A restaurant's plan, among the plans the user may see (never another platform's)."""

    title = "plan"
    parameter_name = "plan"

    def lookups(self, request, model_admin):
        names = scope_for_user(SubscriptionPlan.objects.all(), request.user).values_list("name", flat=True)
        return [(name, name) for name in sorted(set(names))]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(subscription_tier=self.value())
        return queryset


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("suspended", "Suspended")]

    def queryset(self, request, queryset):
        if self.value() in ("active", "suspended"):
            return queryset.filter(is_active=self.value() == "active")
        return queryset


class SubscriptionPlanFilter(ScopedChoiceFilter):
    title = "plan"
    parameter_name = "plan"
    model = SubscriptionPlan
    field = "plan_id"


class ChangePlanForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=SubscriptionPlan.objects.none(), empty_label="Choose a plan")

    def __init__(self, *args, plans, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = plans
        self.fields["plan"].label_from_instance = (
            lambda plan: f"{plan.name}: commission {plan.commission_rate} %, monthly fee {plan.monthly_fee}"
        )


@admin.register(Restaurant, site=site)
class RestaurantAdmin(TenantScopedAdmin):
    list_display = (
        "name", "platform", "active", "plan", "month_revenue", "month_commission",
    )
    list_display_links = ("name",)
    list_filter = (StatusFilter, PlanFilter, ("created_at", admin.DateFieldListFilter), "platform")
    list_select_related = ("platform",)
    search_fields = ("name", "slug", "email", "phone", "address")
    ordering = ("name", "pk")
    actions = ("suspend_restaurants", "reactivate_restaurants", "change_plan")
    fieldsets = (
        (None, {"fields": ("platform", "name", "slug", "business_type")}),
        ("Contact", {"fields": ("address", "phone", "email", "tax_number", "logo_url")}),
        (
            "Status and plan (change them with the list's actions)",
            {"fields": (
                "is_active", "subscription_tier", "current_subscription", "plan_history", "month_revenue",
                "month_commission",
            )},
        ),
        ("Dates", {"fields": ("created_at", "updated_at", "last_activity")}),
    )
    # Status and plan change only through billing.services (the actions), which record them.
    readonly_fields = (
        "is_active", "subscription_tier", "current_subscription", "plan_history", "month_revenue",
        "month_commission", "created_at", "updated_at", "last_activity",
    )

    def get_queryset(self, request):
        return restaurants_with_figures(super().get_queryset(request), start=month_start(), end=timezone.now())

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.fieldsets[:2]
        return self.fieldsets

    @admin.display(description="active", boolean=True, ordering="is_active")
    def active(self, restaurant):
        return restaurant.is_active

    @admin.display(description="plan", ordering="subscription_tier")
    def plan(self, restaurant):
        return restaurant.subscription_tier

    @admin.display(description="revenue this month", ordering="period_revenue")
    def month_revenue(self, restaurant):
        return getattr(restaurant, "period_revenue", None)

    @admin.display(description="commission this month", ordering="period_commission")
    def month_commission(self, restaurant):
        return getattr(restaurant, "period_commission", None)

    @admin.display(description="current subscription")
    def current_subscription(self, restaurant):
        subscription = restaurant_current_subscription(restaurant=restaurant)
        if subscription is None:
            return "none"
        return (
            f"{subscription.plan.name} since {subscription.start_date:%d %b %Y}, {subscription.status}, "
            f"commission {subscription.commission_rate} %"
        )

    @admin.display(description="plan history")
    def plan_history(self, restaurant):
        subscriptions = restaurant_subscriptions(restaurant=restaurant)
        if not subscriptions:
            return "none"
        return format_html(
            "<ul class=\"plan-history\">{}</ul>",
            format_html_join(
                "",
                "<li>{}: {} – {}, {}, commission {} %, monthly fee {}</li>",
                (
                    (s.plan.name, f"{s.start_date:%d %b %Y}", f"{s.end_date:%d %b %Y}" if s.end_date else "now",
                     s.status, s.commission_rate, s.monthly_fee)
                    for s in subscriptions
                ),
            ),
        )

    # --- Actions (through billing.services) -------------------------------------------------

    @admin.action(description="Suspend the selected restaurants", permissions=["change"])
    def suspend_restaurants(self, request, queryset):
        self._apply(request, queryset, lambda r: restaurant_suspend(restaurant=r, by=request.user), "Suspended")

    @admin.action(description="Reactivate the selected restaurants", permissions=["change"])
    def reactivate_restaurants(self, request, queryset):
        self._apply(request, queryset, lambda r: restaurant_reactivate(restaurant=r, by=request.user), "Reactivated")

    @admin.action(description="Change the plan of the selected restaurants…", permissions=["change"])
    def change_plan(self, request, queryset):
        restaurants = list(queryset.order_by("pk"))
        platforms = {restaurant.platform_id for restaurant in restaurants}
        if len(platforms) != 1:
            self.message_user(request, "Choose restaurants of one platform: plans belong to a platform.", messages.ERROR)
            return None
        plans = scope_for_user(platform_plans(platform_id=platforms.pop()), request.user)
        form = ChangePlanForm(request.POST if "apply" in request.POST else None, plans=plans)
        if form.is_valid():
            plan = form.cleaned_data["plan"]
            self._apply(
                request, restaurants,
                lambda r: restaurant_plan_change(restaurant=r, plan=plan, by=request.user),
                f"Moved to the {plan.name} plan",
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Change plan",
            "opts": self.opts,
            "form": form,
            "restaurants": restaurants,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/fynlo/change_plan.html", context)

    def _apply(self, request, restaurants, change, done: str) -> None:
        changed, refused = [], []
        for restaurant in sorted(restaurants, key=lambda r: r.pk):
            try:
                change(restaurant)
            except BillingError as error:
                refused.append(error.message)
            else:
                changed.append(restaurant.name)
        if changed:
            self.message_user(request, f"{done}: {', '.join(changed)}.", messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.WARNING)


class SubscriptionPlanForm(forms.ModelForm):
    class Meta:
        model = SubscriptionPlan
        fields = "__all__"
        help_texts = {
            "commission_rate": "Percent of each order's total. Restaurants already on the plan keep their rate "
            "until their plan changes.",
            "features": 'A JSON object, e.g. {"kitchen_display": true}; empty for none.',
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "features" in self.fields:
            self.fields["features"].required = False

    def clean_features(self):
        return self.cleaned_data.get("features") or {}


@admin.register(SubscriptionPlan, site=site)
class SubscriptionPlanAdmin(TenantScopedAdmin):
    form = SubscriptionPlanForm
    list_display = (
        "name", "platform", "commission_rate", "service_fee_rate", "monthly_fee", "max_restaurants",
        "subscribers", "is_active",
    )
    list_filter = ("is_active", "platform")
    list_select_related = ("platform",)
    search_fields = ("name",)
    ordering = ("platform", "monthly_fee", "name")
    readonly_fields = ("created_at",)
    fields = (
        "platform", "name", "commission_rate", "service_fee_rate", "monthly_fee", "max_restaurants", "features",
        "is_active", "created_at",
    )

    def get_queryset(self, request):
        running = Q(subscriptions__status__in=[SubscriptionStatus.ACTIVE, SubscriptionStatus.SUSPENDED])
        return super().get_queryset(request).annotate(subscriber_count=Count("subscriptions", filter=running))

    @admin.display(description="restaurants on it", ordering="subscriber_count")
    def subscribers(self, plan):
        return plan.subscriber_count


@admin.register(RestaurantSubscription, site=site)
class RestaurantSubscriptionAdmin(ReadOnlyAdmin):
    list_display = ("restaurant", "plan", "status", "start_date", "end_date", "commission_rate", "monthly_fee")
    list_filter = ("status", SubscriptionPlanFilter, RestaurantFilter, ("start_date", admin.DateFieldListFilter))
    list_select_related = ("restaurant", "plan")
    search_fields = ("restaurant__name", "plan__name")
    ordering = ("-start_date", "-pk")


@admin.register(CommissionRecord, site=site)
class CommissionRecordAdmin(ReadOnlyAdmin):
    list_display = (
        "processed_at", "restaurant", "platform", "order_id", "gross_amount", "commission_rate", "commission_amount",
        "payment_status",
    )
    list_filter = ("payment_status", RestaurantFilter, ("processed_at", admin.DateFieldListFilter), "platform")
    list_select_related = ("restaurant", "platform")
    search_fields = ("restaurant__name", "=order_id")
    ordering = ("-processed_at", "-pk")
    show_full_result_count = False
