"""Under /api/ even the errors Django answers itself (no such address, a crash) come in the
API's one error shape; elsewhere (the admin) they stay web pages."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = [pytest.mark.urls("tests.tenants.urls"), pytest.mark.django_db]


@pytest.mark.parametrize("path", ["/api/v1/orders/abc/", "/api/v1/no-such-thing/", "/api/v2/orders/"])
def test_an_unknown_api_address_is_a_json_404(path):
    response = Client().get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": {"code": "not_found", "message": "No such endpoint.", "fields": {}}}


def test_an_unknown_page_elsewhere_stays_a_web_page():
    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_crash_under_the_api_is_a_json_500():
    client = Client(raise_request_exception=False)

    response = client.get("/api/v1/t/fail")

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert "boom" not in response.content.decode()  # nothing of the exception leaks


def test_a_crash_elsewhere_stays_a_web_page():
    response = Client(raise_request_exception=False).get("/t/api/fail")

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
