"""GET /health answers for load balancers: no login, no redirect, 503 when a dependency is down."""

from __future__ import annotations

import copy
import socket
import time

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client, override_settings

HEALTH_PATHS = ["/health", "/health/"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _caches_at(location: str) -> dict:
    """The project's cache settings (same backend and OPTIONS), pointed elsewhere."""
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = location
    return caches


@pytest.mark.django_db
@pytest.mark.parametrize("path", HEALTH_PATHS)
def test_health_answers_ok_without_login_or_redirect(path):
    started = time.monotonic()
    response = Client().get(path, follow=False)
    elapsed = time.monotonic() - started

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["cache"]["status"] == "ok"
    assert "no-cache" in response["Cache-Control"]
    assert elapsed < 3


@pytest.mark.django_db
def test_health_is_exempt_from_the_https_redirect():
    with override_settings(SECURE_SSL_REDIRECT=True):
        client = Client()  # middleware is built on the first request, under the override

        plain_admin = client.get("/admin/login/", follow=False)
        health = [client.get(path, follow=False) for path in HEALTH_PATHS]

    # the redirect is on for the rest of the site, and not for the load balancer's probe
    assert plain_admin.status_code == 301 and plain_admin["Location"].startswith("https://")
    assert [response.status_code for response in health] == [200, 200]


@pytest.mark.django_db
def test_health_answers_503_quickly_when_the_cache_is_down():
    # given a cache at a port where nothing listens
    location = f"redis://127.0.0.1:{_free_port()}/0"
    with override_settings(CACHES=_caches_at(location)):
        # the override reached the cache that the health check uses
        assert cache._server == location

        # when the load balancer asks
        started = time.monotonic()
        response = Client().get("/health", follow=False)
        elapsed = time.monotonic() - started

    # then it hears "unhealthy", says which dependency, and does not wait for long
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["cache"]["status"] == "error"
    assert body["checks"]["cache"]["error"]
    assert body["checks"]["database"]["status"] == "ok"
    assert elapsed < 3
    # and the real cache is back once the override ends
    assert Client().get("/health", follow=False).status_code == 200


@pytest.mark.django_db
def test_a_cache_that_never_answers_is_bounded_by_the_health_timeout():
    # given a cache that accepts the connection and never replies
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        location = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        with override_settings(CACHES=_caches_at(location), HEALTH_CHECK_TIMEOUT=0.5):
            # when the load balancer asks
            started = time.monotonic()
            response = Client().get("/health", follow=False)
            elapsed = time.monotonic() - started

    # then the answer comes after the health timeout, not the socket's
    assert response.status_code == 503
    assert response.json()["checks"]["cache"]["status"] == "error"
    assert elapsed < 1.5


@pytest.mark.django_db
def test_health_accepts_only_reads():
    assert Client().post("/health").status_code == 405


@pytest.mark.django_db
def test_a_signed_in_session_gets_a_quick_503_when_valkey_is_down(user):
    # given: a session user, then the cache goes away
    client = Client()
    client.force_login(user)
    assert client.get("/api/v1/auth/me").status_code == 200
    # when
    with override_settings(CACHES=_caches_at(f"redis://127.0.0.1:{_free_port()}/0")):
        started = time.monotonic()
        response = client.get("/api/v1/auth/me")
        elapsed = time.monotonic() - started
    # then: a clear error, not "signed out" and not a hang
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "cache_unavailable"
    assert elapsed < 3
