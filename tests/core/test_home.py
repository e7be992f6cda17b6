"""GET /: a landing page with links to the admin, the API docs and /health; the demo's logins
only where DEMO_SHOW_LOGINS says so (a demo server), never otherwise."""

from __future__ import annotations

import re

import pytest

from fynlo.demo.seed import DEFAULT_DEMO_PASSWORD, demo_seed

pytestmark = pytest.mark.django_db

DEMO_EMAILS = ["admin@fynlo.com", "owner@demo.com", "manager@demo.com", "sarah.johnson@demo.com",
               "emma.davis@demo.com", "mike.chen@demo.com"]


@pytest.fixture
def demo(monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    demo_seed()


def links(html: str) -> set[str]:
    return set(re.findall(r'href="([^"]+)"', html))


def test_the_landing_page_links_to_the_admin_the_docs_and_health(client):
    response = client.get("/")

    assert response.status_code == 200
    assert {"/admin/", "/api/v1/docs/", "/api/v1/schema/", "/health"} <= links(response.content.decode())
    for href in ("/admin/", "/api/v1/docs/", "/health"):
        assert client.get(href, follow=True).status_code == 200, href


def test_without_the_setting_no_login_and_no_password_is_shown(client, demo, settings):
    settings.DEMO_SHOW_LOGINS = False

    html = client.get("/").content.decode()

    assert DEFAULT_DEMO_PASSWORD not in html
    assert not any(email in html for email in DEMO_EMAILS)


def test_a_demo_server_shows_one_login_per_role(client, demo, settings):
    settings.DEMO_SHOW_LOGINS = True

    html = client.get("/").content.decode()

    rows = re.findall(r"<td>([^<]+)</td>\s*<td><code>([^<]+)</code></td>\s*<td><code>([^<]+)</code></td>", html)
    assert rows == [
        ("Platform owner", "admin@fynlo.com", DEFAULT_DEMO_PASSWORD),
        ("Restaurant owner", "owner@demo.com", DEFAULT_DEMO_PASSWORD),
        ("Manager", "manager@demo.com", DEFAULT_DEMO_PASSWORD),
        ("Cashier", "sarah.johnson@demo.com", DEFAULT_DEMO_PASSWORD),
        ("Server", "emma.davis@demo.com", DEFAULT_DEMO_PASSWORD),
        ("Cook", "mike.chen@demo.com", DEFAULT_DEMO_PASSWORD),
    ]


def test_a_demo_server_without_the_demo_says_how_to_load_it(client, settings):
    settings.DEMO_SHOW_LOGINS = True

    html = client.get("/").content.decode()

    assert "The demo is not loaded" in html and DEFAULT_DEMO_PASSWORD not in html
