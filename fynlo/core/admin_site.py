"""The Django admin of platform owners and operations staff, and its dashboard page.

One admin site for both: a platform owner's requests run under their platform's row-level
security context (tenants.middleware), operations staff (superusers) see every tenant. Each
app's admin.py registers its models on `site`; `fynlo/urls.py` serves it at /admin/.

The dashboard (/admin/dashboard/) shows revenue and commission per restaurant over the last
30 days: a bar chart drawn by the server as inline SVG (no script, no CDN) and the figures
in a table beside it.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from billing.selectors import days_start, restaurant_figures
from tenants.models import Platform, Restaurant
from tenants.permissions import scope_for_user

DASHBOARD_DAYS = 30
DASHBOARD_PERMISSION = "billing.view_commissionrecord"
CHART_BARS = 20  # restaurants drawn in the chart; the table lists them all

# Chart geometry (SVG user units)
_LABEL_WIDTH = 190
_BAR_AREA = 420
_VALUE_WIDTH = 110
_ROW_HEIGHT = 36
_BAR_HEIGHT = 13
_TOP = 30


def _money(value) -> str:
    return f"{value:,.2f}"


def bar_chart(restaurants: list, *, limit: int = CHART_BARS) -> dict:
    """Geometry of a horizontal bar chart: per restaurant a revenue bar and a commission
    bar, scaled to the highest revenue shown."""
    shown = restaurants[:limit]
    top = max((r.period_revenue for r in shown), default=0) or 1
    rows = []
    for index, restaurant in enumerate(shown):
        y = _TOP + index * _ROW_HEIGHT
        revenue_width = round(float(restaurant.period_revenue / top) * _BAR_AREA, 1)
        commission_width = round(float(restaurant.period_commission / top) * _BAR_AREA, 1)
        rows.append({
            "name": restaurant.name if len(restaurant.name) <= 28 else restaurant.name[:27] + "…",
            "full_name": restaurant.name,
            "y": y,
            "label_y": y + _BAR_HEIGHT + 1,
            "revenue_y": y,
            "commission_y": y + _BAR_HEIGHT + 2,
            "revenue_width": max(revenue_width, 0.5 if restaurant.period_revenue else 0),
            "commission_width": max(commission_width, 0.5 if restaurant.period_commission else 0),
            "revenue_text_x": _LABEL_WIDTH + revenue_width + 6,
            "commission_text_x": _LABEL_WIDTH + commission_width + 6,
            "revenue_text_y": y + _BAR_HEIGHT - 2,
            "commission_text_y": y + 2 * _BAR_HEIGHT,
            "revenue": _money(restaurant.period_revenue),
            "commission": _money(restaurant.period_commission),
        })
    return {
        "rows": rows,
        "width": _LABEL_WIDTH + _BAR_AREA + _VALUE_WIDTH,
        "height": _TOP + max(len(rows), 1) * _ROW_HEIGHT + 8,
        "bar_x": _LABEL_WIDTH,
        "bar_height": _BAR_HEIGHT,
        "label_x": _LABEL_WIDTH - 8,
        "omitted": max(len(restaurants) - len(shown), 0),
    }


class FynloAdminSite(admin.AdminSite):
    site_header = "Fynlo administration"
    site_title = "Fynlo admin"
    index_title = "Platform administration"
    index_template = "admin/fynlo/index.html"
    site_url = None  # the backend has no public site to link to

    def each_context(self, request):
        context = super().each_context(request)
        user = getattr(request, "user", None)
        context["fynlo_scope"] = self._scope_label(user)
        context["dashboard_url"] = (
            reverse("admin:dashboard", current_app=self.name) if self._may_see_dashboard(user) else None
        )
        return context

    def get_log_entries(self, request):
        # django_admin_log is not tenant-scoped: show each person only their own entries.
        return super().get_log_entries(request).filter(user_id=request.user.pk)

    def get_urls(self):
        return [path("dashboard/", self.admin_view(self.dashboard_view), name="dashboard")] + super().get_urls()

    def dashboard_view(self, request):
        if not self._may_see_dashboard(request.user):
            raise PermissionDenied
        now = timezone.now()
        start = days_start(DASHBOARD_DAYS, now)
        restaurants = restaurant_figures(
            restaurants=scope_for_user(Restaurant.objects.all(), request.user), start=start, end=now
        )
        totals = {
            "orders": sum(r.period_orders for r in restaurants),
            "revenue": sum((r.period_revenue for r in restaurants), 0),
            "commission": sum((r.period_commission for r in restaurants), 0),
        }
        context = {
            **self.each_context(request),
            "title": f"Revenue and commission, last {DASHBOARD_DAYS} days",
            "subtitle": None,
            "period_start": timezone.localtime(start).date(),
            "period_end": timezone.localdate(now),
            "restaurants": restaurants,
            "totals": totals,
            "chart": bar_chart(restaurants),
            "show_platform": request.user.is_superuser,
        }
        request.current_app = self.name
        return TemplateResponse(request, "admin/fynlo/dashboard.html", context)

    @staticmethod
    def _may_see_dashboard(user) -> bool:
        return bool(user and user.is_active and user.is_staff and user.has_perm(DASHBOARD_PERMISSION))

    @staticmethod
    def _scope_label(user) -> str | None:
        if not getattr(user, "is_authenticated", False):
            return None
        if user.is_superuser:
            return "Operations: every platform"
        platform = Platform.objects.filter(pk=user.platform_id).first() if user.platform_id else None
        return f"Platform: {platform.name}" if platform else None


site = FynloAdminSite(name="admin")
