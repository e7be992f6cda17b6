"""The tenant is set per request, after authentication, inside the request's transaction."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.test import Client

from inventory.models import Product
from tenants.context import tenant_context
from tests.rows import RowMaker
from tests.tenants.factories import UserFactory

pytestmark = pytest.mark.urls("tests.tenants.urls")
BOTH = ["default", "owner"]  # transactional tests: the owner alias truncates afterwards


@pytest.fixture
def world(world):
    maker = RowMaker()
    products = {key: maker.row(Product, world[key]).pk for key in ("a", "b", "c")}
    return {
        **world, "products": products,
        "user_a": UserFactory(restaurant=world["a"]), "user_b": UserFactory(restaurant=world["b"]),
    }


def test_login_returns_a_token_that_sets_the_tenant(world, client):
    # given
    user = world["user_a"]
    # when
    response = client.post(
        "/api/v1/auth/login", {"email": user.email, "password": "correct horse battery staple"},
        content_type="application/json",
    )
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["user"] == {
        "id": user.pk, "email": user.email, "first_name": user.first_name, "last_name": user.last_name,
        "role": "manager", "restaurant_id": world["a"].pk, "platform_id": world["p1"].pk,
    }
    seen = Client().get("/t/api/products", HTTP_AUTHORIZATION=f"Bearer {body['token']}").json()
    assert seen["products"] == [world["products"]["a"]]


def test_wrong_password_is_refused(world, client):
    response = client.post(
        "/api/v1/auth/login", {"email": world["user_a"].email, "password": "nope"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_credentials"


def test_login_is_throttled_per_email(world, client, settings):
    from django.core.cache import cache

    cache.delete_pattern("throttle_login_*")
    email = world["user_a"].email
    statuses = [
        client.post("/api/v1/auth/login", {"email": email, "password": "nope"}, content_type="application/json").status_code
        for _ in range(7)
    ]
    cache.delete_pattern("throttle_login_*")
    assert statuses[:5] == [400] * 5
    assert statuses[5:] == [429, 429]


def test_bad_login_input_names_the_field(world, client):
    response = client.post("/api/v1/auth/login", {"email": "not-an-email"}, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"email", "password"}


def test_logout_revokes_the_token(world, api_client_for):
    api = api_client_for(world["user_a"])
    assert api.get("/api/v1/auth/me").status_code == 200
    assert api.post("/api/v1/auth/logout").status_code == 204
    assert api.get("/api/v1/auth/me").status_code == 401


def test_unauthenticated_request_sees_nothing(world, client):
    assert client.get("/t/api/products").json()["products"] == []
    assert client.get("/t/products").json()["products"] == []


def test_session_user_sees_only_their_restaurant(world, client):
    client.force_login(world["user_b"])
    assert client.get("/t/products").json()["products"] == [world["products"]["b"]]


def test_platform_owner_sees_their_platform_and_can_narrow(world, api_client_for):
    api = api_client_for(world["platform_owner"])
    products = world["products"]
    assert api.get("/t/api/products").json()["products"] == sorted([products["a"], products["b"]])
    narrowed = api.get("/t/api/products", HTTP_X_RESTAURANT_ID=str(world["b"].pk))
    assert narrowed.json()["products"] == [products["b"]]


def test_restaurant_outside_the_platform_is_404(world, api_client_for, client):
    api = api_client_for(world["platform_owner"])
    assert api.get("/t/api/products", HTTP_X_RESTAURANT_ID=str(world["c"].pk)).status_code == 404
    assert api.get("/t/api/products", HTTP_X_RESTAURANT_ID="not-a-number").status_code == 404
    staff = api_client_for(world["user_a"])
    assert staff.get("/t/api/products", HTTP_X_RESTAURANT_ID=str(world["b"].pk)).status_code == 404
    client.force_login(world["platform_owner"])
    assert client.get("/t/products", HTTP_X_RESTAURANT_ID=str(world["c"].pk)).status_code == 404


@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_reused_connection_carries_no_tenant_between_requests(world, api_client_for, settings):
    # given: persistent connections, two users of two restaurants
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] > 0
    api_a, api_b = api_client_for(world["user_a"]), api_client_for(world["user_b"])
    # when: A, then B, then anonymous, on the same connection
    first = api_a.get("/t/api/products").json()
    second = api_b.get("/t/api/products").json()
    third = Client().get("/t/api/products").json()
    # then
    assert first["pid"] == second["pid"] == third["pid"]
    assert first["products"] == [world["products"]["a"]]
    assert second["products"] == [world["products"]["b"]]
    assert third["products"] == [] and third["setting"] == ""


@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_a_request_failing_midway_leaves_no_tenant_behind(world, api_client_for):
    api = api_client_for(world["user_a"])
    api.raise_request_exception = False
    assert api.get("/t/api/fail").status_code == 500
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('app.current_restaurant_id', true)")
        assert (cursor.fetchone()[0] or "") == ""
    assert Product.objects.count() == 0
    assert Client().get("/t/api/products").json()["products"] == []


@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_two_threads_with_different_tenants_never_see_each_other(world):
    a, b, products = world["a"], world["b"], world["products"]
    barrier = threading.Barrier(2)
    seen: dict[str, list] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def worker(key, restaurant):
        try:
            with tenant_context(restaurant=restaurant):
                for _ in range(20):
                    barrier.wait(timeout=10)  # interleave the two threads' queries
                    seen[key].append(sorted(Product.objects.values_list("id", flat=True)))
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=("a", a)), threading.Thread(target=worker, args=("b", b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert seen["a"] == [[products["a"]]] * 20
    assert seen["b"] == [[products["b"]]] * 20


def test_staff_of_a_suspended_restaurant_are_refused(world, api_client_for, client):
    # given: a signed-in cashier, then the platform suspends the restaurant
    api = api_client_for(world["user_a"])
    assert api.get("/api/v1/auth/me").status_code == 200
    with tenant_context(all_tenants=True):
        type(world["a"]).objects.filter(pk=world["a"].pk).update(is_active=False)
    # when / then: token, session and login are all refused with a clear code
    response = api.get("/api/v1/auth/me")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "restaurant_suspended"
    client.force_login(world["user_a"])
    assert client.get("/t/products").status_code == 403
    login = Client().post(
        "/api/v1/auth/login", {"email": world["user_a"].email, "password": "correct horse battery staple"},
        content_type="application/json",
    )
    assert login.status_code == 403
    assert login.json()["error"]["code"] == "restaurant_suspended"
    # the platform owner still works
    assert api_client_for(world["platform_owner"]).get("/api/v1/auth/me").status_code == 200
