"""The admin's dashboard page of platform owners and operations staff.

The dashboard (/admin/dashboard/) shows revenue and commission per restaurant over the last
30 days: a bar chart drawn by the server as inline SVG (no script, no CDN) and the figures
in a table beside it.
"""

from __future__ import annotations

from django.template.response import TemplateResponse
from django.utils import timezone

from billing.selectors import days_start, restaurant_figures
from tenants.models import Restaurant
from tenants.permissions import scope_for_user
from tenants.replicas import reads_from_replica

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


@reads_from_replica  # 30 days of figures: a few seconds of lag do not matter
def dashboard_view(site, request):
    """Revenue and commission of the restaurants the user may see, over the last DASHBOARD_DAYS."""
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
        **site.each_context(request),
        "title": f"Revenue and commission, last {DASHBOARD_DAYS} days",
        "subtitle": None,
        "period_start": timezone.localtime(start).date(),
        "period_end": timezone.localdate(now),
        "restaurants": restaurants,
        "totals": totals,
        "chart": bar_chart(restaurants),
        "show_platform": request.user.is_superuser,
    }
    return TemplateResponse(request, "admin/fynlo/dashboard.html", context)
