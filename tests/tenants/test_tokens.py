"""API tokens: one per login (device); logout ends that one, `?all=true` every one; a user
lists and revokes their own; only a hash of each key is stored."""

from __future__ import annotations

import hashlib
import importlib
from datetime import datetime, timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from tenants.models import ApiToken
from tests.tenants.factories import PlatformOwnerFactory, UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"
ME = "/api/v1/auth/me"
TOKENS = "/api/v1/auth/tokens/"


@pytest.fixture(autouse=True)
def _no_login_throttle():
    """These tests log in more often than the login throttle allows a client in a minute."""
    from django.core.cache import cache

    cache.delete_pattern("throttle_login_*")
    yield
    cache.delete_pattern("throttle_login_*")


@pytest.fixture
def manager(restaurant):
    return UserFactory(restaurant=restaurant)


def _login(user, device=None) -> APIClient:
    body = {"email": user.email, "password": PASSWORD}
    if device is not None:
        body["device"] = device
    response = APIClient().post("/api/v1/auth/login", body, format="json")
    assert response.status_code == 200, response.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    client.key = response.json()["token"]
    return client


def test_each_login_gets_its_own_token_and_logout_ends_only_that_one(manager):
    # given a manager signed in on two tills
    till_1, till_2 = _login(manager, "Till 1"), _login(manager, "Till 2")
    assert till_1.key != till_2.key

    # when they log out on the first
    assert till_1.post("/api/v1/auth/logout").status_code == 204

    # then the first is signed out and the second still works
    assert till_1.get(ME).status_code == 401
    assert till_2.get(ME).status_code == 200


def test_logout_all_ends_every_login_of_the_user_and_no_one_elses(manager, restaurant):
    till_1, till_2 = _login(manager), _login(manager)
    colleague = _login(UserFactory(restaurant=restaurant))

    assert till_1.post("/api/v1/auth/logout?all=true").status_code == 204

    assert till_1.get(ME).status_code == 401
    assert till_2.get(ME).status_code == 401
    assert colleague.get(ME).status_code == 200


def test_logout_all_must_be_a_boolean(manager):
    till = _login(manager)

    response = till.post("/api/v1/auth/logout?all=perhaps")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["all"]
    assert till.get(ME).status_code == 200


def test_a_user_lists_their_own_tokens_without_keys(manager, restaurant, settings):
    # given two logins of the manager and one of a colleague
    settings.API_TOKEN_TTL_HOURS = 24
    till = _login(manager, "Till 1")
    _login(manager, "Back office")
    _login(UserFactory(restaurant=restaurant), "Colleague's phone")

    # when the manager lists their tokens
    response = till.get(TOKENS)

    # then: their two, newest first, the one in use marked, no key or hash anywhere
    assert response.status_code == 200, response.content
    tokens = response.json()
    assert [t["device"] for t in tokens] == ["Back office", "Till 1"]
    assert [t["current"] for t in tokens] == [False, True]
    assert set(tokens[0]) == {"id", "device", "created_at", "last_used_at", "expires_at", "current"}
    stored = {t.pk: t for t in ApiToken.objects.filter(user=manager)}
    for token in tokens:
        created = stored[token["id"]].created_at
        assert datetime.fromisoformat(token["expires_at"]) == created + timedelta(hours=24)
        assert datetime.fromisoformat(token["created_at"]) == created
    assert tokens[0]["last_used_at"] is None and tokens[1]["last_used_at"] is not None
    assert till.key not in response.content.decode()
    assert hashlib.sha256(till.key.encode()).hexdigest() not in response.content.decode()


def test_a_session_user_lists_their_tokens_too(manager, client):
    _login(manager, "Till 1")
    client.force_login(manager)

    response = client.get(TOKENS)

    assert response.status_code == 200
    assert [(t["device"], t["current"]) for t in response.json()] == [("Till 1", False)]


def test_a_user_revokes_another_of_their_devices(manager):
    till, lost_phone = _login(manager, "Till"), _login(manager, "Lost phone")
    phone_id = next(t["id"] for t in till.get(TOKENS).json() if t["device"] == "Lost phone")

    assert till.delete(f"{TOKENS}{phone_id}/").status_code == 204

    assert lost_phone.get(ME).status_code == 401
    assert till.get(ME).status_code == 200
    assert till.delete(f"{TOKENS}{phone_id}/").status_code == 404


def test_nobody_revokes_or_sees_another_users_token(manager, restaurant):
    owner = PlatformOwnerFactory(platform=restaurant.platform)
    colleague = _login(UserFactory(restaurant=restaurant))
    colleague_token = colleague.get(TOKENS).json()[0]["id"]

    for other in (_login(manager), _login(owner)):
        response = other.delete(f"{TOKENS}{colleague_token}/")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert colleague_token not in {t["id"] for t in other.get(TOKENS).json()}
    assert colleague.get(ME).status_code == 200


def test_only_a_hash_of_the_key_is_stored(manager):
    till = _login(manager, "Till 1")

    token = ApiToken.objects.get(user=manager)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM api_tokens WHERE id = %s", [token.pk])
        row = cursor.fetchone()
    assert token.key_hash == hashlib.sha256(till.key.encode()).hexdigest()
    assert not any(till.key in str(value) for value in row)


def test_the_device_name_is_optional_and_bounded(manager):
    _login(manager)
    too_long = APIClient().post(
        "/api/v1/auth/login", {"email": manager.email, "password": PASSWORD, "device": "x" * 101}, format="json"
    )

    assert ApiToken.objects.get(user=manager).device == ""
    assert too_long.status_code == 400 and list(too_long.json()["error"]["fields"]) == ["device"]


def test_an_expired_token_is_refused_and_the_next_login_clears_it(manager, settings):
    # given a token issued longer ago than the time to live
    settings.API_TOKEN_TTL_HOURS = 24
    old = _login(manager, "Old till")
    ApiToken.objects.filter(user=manager).update(created_at=timezone.now() - timedelta(hours=25))

    # then it is refused, and a new login replaces it
    response = old.get(ME)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Token has expired."
    new = _login(manager, "New till")
    assert new.get(ME).status_code == 200
    assert list(ApiToken.objects.filter(user=manager).values_list("device", flat=True)) == ["New till"]


def test_tokens_never_expire_when_the_time_to_live_is_zero(manager, settings):
    settings.API_TOKEN_TTL_HOURS = 0
    till = _login(manager)
    ApiToken.objects.filter(user=manager).update(created_at=timezone.now() - timedelta(days=3650))

    assert till.get(ME).status_code == 200
    assert till.get(TOKENS).json()[0]["expires_at"] is None


def test_the_last_use_is_recorded_at_most_once_a_minute(manager):
    till = _login(manager)
    assert ApiToken.objects.get(user=manager).last_used_at is None

    till.get(ME)
    first = ApiToken.objects.get(user=manager).last_used_at
    ApiToken.objects.filter(user=manager).update(last_used_at=first - timedelta(seconds=30))
    till.get(ME)
    recent = ApiToken.objects.get(user=manager).last_used_at
    ApiToken.objects.filter(user=manager).update(last_used_at=first - timedelta(minutes=2))
    till.get(ME)
    stale = ApiToken.objects.get(user=manager).last_used_at

    assert first is not None
    assert recent == first - timedelta(seconds=30)  # not rewritten within the minute
    assert stale == first  # rewritten after it (now(): the transaction's start, here the test's)


def test_an_unknown_or_malformed_token_is_401(manager):
    for header in ("Bearer not-a-key", "Bearer", "Token a b"):
        response = APIClient().get(ME, HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, header


def test_token_authentication_is_one_identity_query(manager):
    # given a signed-in till (the token row and the user are found by one function call)
    till = _login(manager)

    # when a request is authenticated
    with CaptureQueriesContext(connection) as queries:
        assert till.get(ME).status_code == 200

    # then the token is read only through the identity path, never by the runtime role's own query
    statements = [query["sql"] for query in queries.captured_queries]
    assert sum("fynlo_identity_by_token" in sql for sql in statements) == 1, statements
    assert not any("api_tokens" in sql for sql in statements), statements
    assert not any("fynlo_identity_by_id" in sql for sql in statements), statements


def test_deactivating_an_employee_revokes_their_tokens(restaurant, api_client_for):
    from staff.services import employee_deactivate
    from tenants.context import tenant_context
    from tests.staff.factories import EmployeeFactory

    manager = UserFactory(restaurant=restaurant)
    employee = EmployeeFactory(restaurant=restaurant)
    api_client_for(employee.user)

    with tenant_context(restaurant=restaurant):
        employee_deactivate(employee=employee, actor=manager)

    assert not ApiToken.objects.filter(user=employee.user).exists()


BOTH = ["default", "owner"]  # transactional: the owner alias truncates afterwards


@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_tokens_of_drfs_authtoken_table_move_over_and_keep_working(restaurant):
    # given a database where rest_framework.authtoken issued a token (before this migration)
    user = UserFactory(restaurant=restaurant)
    key = "0123456789abcdef0123456789abcdef01234567"
    issued = timezone.now() - timedelta(hours=2)
    migration = importlib.import_module("tenants.migrations.0003_api_tokens")
    with connections["owner"].cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS authtoken_token")
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamptz NOT NULL,"
            " user_id int NOT NULL UNIQUE REFERENCES users (id))"
        )
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, %s, %s)", [key, issued, user.pk])

        # when the migration's move runs
        cursor.execute(migration.MOVE_AUTHTOKEN_TOKENS_SQL)

        # then DRF's table is gone
        cursor.execute("SELECT to_regclass('authtoken_token')")
        assert cursor.fetchone() == (None,)

    # and the same key still signs in, as a token issued when the old one was
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(ME).status_code == 200
    [token] = client.get(TOKENS).json()
    assert token["device"] == "" and token["current"] is True
    assert ApiToken.objects.get(pk=token["id"]).created_at == issued


def test_the_token_endpoints_are_in_the_openapi_schema_without_keys():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)

    paths = schema["paths"]
    assert set(paths["/api/v1/auth/tokens/"]) == {"get"}
    assert set(paths["/api/v1/auth/tokens/{token_id}/"]) - {"parameters"} == {"delete"}
    assert [p["name"] for p in paths["/api/v1/auth/logout"]["post"]["parameters"]] == ["all"]
    assert "device" in schema["components"]["schemas"]["Login"]["properties"]
    token = schema["components"]["schemas"]["ApiToken"]["properties"]
    assert set(token) == {"id", "device", "created_at", "last_used_at", "expires_at", "current"}
