"""The dashboard: revenue and commission per restaurant over the last 30 days, chart and table;
and the restaurant list's figures for the month."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.selectors import month_start
from tests.admin.conftest import sell

pytestmark = pytest.mark.django_db

DASHBOARD = "admin:dashboard"


def _table(response) -> dict[str, tuple[str, ...]]:
    """The figures table as {restaurant name: (cells...)}."""
    html = response.content.decode()
    body = html.split('<table id="dashboard-figures">', 1)[1].split("</tbody>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr data-restaurant-id=\"\d+\">(.*?)</tr>", body, re.S):
        cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        rows[cells[0]] = tuple(cells[1:])
    return rows


def test_the_dashboard_shows_the_platforms_restaurants_over_30_days(world, admin_client_for):
    # given: sales 10 days ago (in) and 40 days ago (out), besides the fixture's sale today
    sell(world.tacos, "A-0002", "50.00", when=timezone.now() - timedelta(days=10))
    sell(world.tacos, "A-0003", "999.00", when=timezone.now() - timedelta(days=40))

    # when
    response = admin_client_for(world.owner1).get(reverse(DASHBOARD))

    # then: 100.00 + 50.00 at 8 %; Burgers with nothing; Beta's restaurant absent
    assert response.status_code == 200
    assert _table(response) == {
        "Alpha Tacos": ("2", "150.00", "12.00"),
        "Alpha Burgers": ("0", "0.00", "0.00"),
    }
    html = response.content.decode()
    assert "Beta" not in html
    assert html.count('class="bar-revenue"><title>') == 2
    assert "Alpha Tacos: revenue 150.00" in html and "Alpha Tacos: commission 12.00" in html
    assert "<script" not in html.split('<div id="content-main">', 1)[1]  # drawn by the server


def test_the_chart_scales_bars_to_the_highest_revenue(world, admin_client_for):
    sell(world.burgers, "A-0004", "50.00")

    chart = admin_client_for(world.owner1).get(reverse(DASHBOARD)).context["chart"]

    widths = {row["full_name"]: (row["revenue_width"], row["commission_width"]) for row in chart["rows"]}
    assert widths["Alpha Tacos"][0] == 2 * widths["Alpha Burgers"][0]
    assert widths["Alpha Tacos"][0] > widths["Alpha Tacos"][1] > 0


def test_operations_staff_see_every_platform_on_the_dashboard(world, admin_client_for):
    response = admin_client_for(world.operations).get(reverse(DASHBOARD))

    table = _table(response)
    assert set(table) == {"Alpha Tacos", "Alpha Burgers", "Beta Sushi"}
    assert table["Beta Sushi"] == ("Beta Platform", "1", "250.00", "12.50")


def test_the_admin_index_links_to_the_dashboard(world, admin_client_for):
    response = admin_client_for(world.owner1).get(reverse("admin:index"))

    assert f'href="{reverse(DASHBOARD)}"'.encode() in response.content


def test_restaurant_staff_cannot_open_the_dashboard(world, admin_client_for):
    response = admin_client_for(world.cashier1).get(reverse(DASHBOARD))

    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_the_restaurant_list_shows_this_months_revenue_and_commission(world, admin_client_for):
    # given: a sale just before this month began does not count
    sell(world.tacos, "A-0005", "70.00", when=month_start() - timedelta(minutes=1))

    response = admin_client_for(world.owner1).get(reverse("admin:tenants_restaurant_changelist") + "?o=4.1")

    figures = {r.name: (r.period_revenue, r.period_commission) for r in response.context["cl"].result_list}
    assert figures == {
        "Alpha Tacos": (Decimal("100.00"), Decimal("8.00")),
        "Alpha Burgers": (Decimal("0.00"), Decimal("0.00")),
    }
    assert b"revenue this month" in response.content.lower()

