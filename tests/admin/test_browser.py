"""In a real headless Chromium: the demo platform owner signs in to the admin and sees exactly
their platform's restaurants; the dashboard draws its chart; the API docs page renders.
Screenshots are saved under artifacts/."""

from __future__ import annotations

import pytest
from django.urls import reverse

from fynlo.demo.seed import DEFAULT_DEMO_PASSWORD, PLATFORM_OWNER, RESTAURANT, demo_seed
from tenants.context import tenant_context
from tenants.models import Restaurant
from tests.browser import screenshot, wait_for
from tests.tenants.factories import PlatformFactory, RestaurantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, databases=["default", "owner"])]


@pytest.fixture
def demo_and_a_neighbour(monkeypatch):
    """The guide's demo platform, and another platform with two restaurants of its own."""
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    demo_seed()
    neighbour = PlatformFactory(name="Neighbour Platform")
    RestaurantFactory(platform=neighbour, name="Neighbour Bistro")
    RestaurantFactory(platform=neighbour, name="Neighbour Grill")
    with tenant_context(all_tenants=True):
        demo_platform_restaurants = set(
            Restaurant.objects.filter(platform__slug="fynlo").values_list("name", flat=True)
        )
    return demo_platform_restaurants


def _sign_in(browser, base_url: str, email: str, password: str, next_path: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{base_url}{reverse('admin:login')}?next={next_path}")
    browser.find_element(By.NAME, "username").send_keys(email)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()


def test_the_demo_platform_owner_sees_exactly_their_restaurants(browser, live_server, demo_and_a_neighbour):
    from selenium.webdriver.common.by import By

    # when
    _sign_in(browser, live_server.url, PLATFORM_OWNER["email"], DEFAULT_DEMO_PASSWORD,
             reverse("admin:tenants_restaurant_changelist"))
    wait_for(browser, "#result_list")

    # then
    names = {cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#result_list tbody th")}
    path = screenshot(browser, "admin_restaurant_list")
    assert names == demo_and_a_neighbour == {RESTAURANT["name"]}
    assert "Neighbour" not in browser.page_source
    assert browser.find_element(By.ID, "fynlo-scope").text == "Platform: Fynlo Platform"
    assert path.stat().st_size > 10_000


def test_the_dashboard_draws_its_chart_in_the_browser(browser, live_server, demo_and_a_neighbour):
    from selenium.webdriver.common.by import By

    _sign_in(browser, live_server.url, PLATFORM_OWNER["email"], DEFAULT_DEMO_PASSWORD, reverse("admin:index"))
    wait_for(browser, "#dashboard-link").click()
    wait_for(browser, "#dashboard-figures")

    bars = browser.find_elements(By.CSS_SELECTOR, "svg rect.bar-revenue")
    widths = [float(bar.get_attribute("width")) for bar in bars[1:]]  # the first is the legend's
    rows = browser.find_elements(By.CSS_SELECTOR, "#dashboard-figures tbody tr")
    path = screenshot(browser, "admin_dashboard")
    assert [row.find_element(By.TAG_NAME, "td").text for row in rows] == [RESTAURANT["name"]]
    assert widths and widths[0] > 0  # the demo's orders are from the last seven days
    assert bars[1].size["width"] > 100  # rendered, not just present in the markup
    assert path.stat().st_size > 10_000


def test_the_api_docs_page_renders_its_operations(browser, live_server):
    from selenium.webdriver.common.by import By

    browser.get(f"{live_server.url}{reverse('api-docs')}")
    wait_for(browser, ".swagger-ui .opblock", seconds=30)

    operations = browser.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock")
    path = screenshot(browser, "api_docs")
    assert len(operations) >= 3
    assert any("/auth/login" in op.text for op in operations)
    assert path.stat().st_size > 10_000
