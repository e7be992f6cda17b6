"""Email login: legacy bcrypt hashes keep working and are upgraded; the admin login works."""

from __future__ import annotations

import contextvars

import bcrypt
import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import identify_hasher
from django.test import Client

from tenants.context import tenant_context
from tenants.models import User
from tests.tenants.factories import PlatformOwnerFactory, UserFactory

FACTORY_PASSWORD = "correct horse battery staple"


def _legacy_hash(password: str, prefix: str = "$2b$", rounds: int = 4) -> str:
    """A bare bcrypt hash as the old backend stored it ($2a$/$2y$ differ only in the prefix)."""
    # old bcrypt libraries silently read the first 72 bytes; bcrypt 5 refuses longer input
    hashed = bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(rounds)).decode("ascii")
    return prefix + hashed[4:]


def _store_hash(user: User, encoded: str) -> None:
    with tenant_context(all_tenants=True):
        assert User.objects.filter(pk=user.pk).update(password=encoded) == 1


def _stored_hash(user: User) -> str:
    with tenant_context(all_tenants=True):
        return User.objects.values_list("password", flat=True).get(pk=user.pk)


@pytest.mark.django_db
def test_a_legacy_bcrypt_user_logs_in_and_the_hash_is_upgraded(user):
    # given a user imported with the old backend's 12-round $2b$ hash
    legacy = bcrypt.hashpw(b"old-secret", bcrypt.gensalt(12)).decode("ascii")
    _store_hash(user, legacy)

    # when they log in with their old password
    signed_in = authenticate(email=user.email, password="old-secret")

    # then they are in, the stored hash is now Django's, and the password still works
    assert signed_in is not None and signed_in.pk == user.pk
    upgraded = _stored_hash(user)
    assert not upgraded.startswith("$2")
    identify_hasher(upgraded)  # a hash Django knows
    again = authenticate(email=user.email, password="old-secret")
    assert again is not None and again.pk == user.pk
    assert _stored_hash(user) == upgraded  # no rehash on every login


@pytest.mark.django_db
@pytest.mark.parametrize("prefix", ["$2a$", "$2b$", "$2y$"])
def test_every_legacy_bcrypt_variant_logs_in_and_is_upgraded(user, prefix):
    _store_hash(user, _legacy_hash("old-secret", prefix))

    signed_in = authenticate(email=user.email, password="old-secret")

    assert signed_in is not None and signed_in.pk == user.pk
    assert not _stored_hash(user).startswith("$2")
    assert authenticate(email=user.email, password="old-secret") is not None


@pytest.mark.django_db
@pytest.mark.parametrize("prefix", ["$2b$", "$2y$"])
def test_a_wrong_password_against_a_legacy_hash_fails_and_keeps_the_hash(user, prefix):
    legacy = _legacy_hash("old-secret", prefix)
    _store_hash(user, legacy)

    assert authenticate(email=user.email, password="not-the-secret") is None
    assert authenticate(email=user.email, password="") is None
    assert _stored_hash(user) == legacy
    assert authenticate(email=user.email, password="old-secret") is not None


@pytest.mark.django_db
def test_a_legacy_password_longer_than_bcrypts_72_bytes_still_logs_in(user):
    # given a password of 90 bytes, which the old backend's bcrypt cut at 72
    long_password = "pâté-" * 15
    assert len(long_password.encode()) > 72
    _store_hash(user, _legacy_hash(long_password))

    # then the whole password logs in, before and after the upgrade
    assert authenticate(email=user.email, password=long_password) is not None
    assert not _stored_hash(user).startswith("$2")
    assert authenticate(email=user.email, password=long_password) is not None


@pytest.mark.django_db
def test_a_user_logs_in_with_their_django_password(user):
    assert authenticate(email=user.email, password=FACTORY_PASSWORD).pk == user.pk
    assert authenticate(email=user.email, password=FACTORY_PASSWORD + "x") is None


@pytest.mark.django_db
def test_the_email_is_matched_without_regard_to_case_or_surrounding_spaces(user):
    assert authenticate(email=f"  {user.email.upper()} ", password=FACTORY_PASSWORD).pk == user.pk


@pytest.mark.django_db
def test_an_unknown_email_returns_none(user):
    assert authenticate(email="nobody@restaurant.test", password=FACTORY_PASSWORD) is None
    assert authenticate(email="", password=FACTORY_PASSWORD) is None


@pytest.mark.django_db
def test_an_inactive_user_cannot_log_in(restaurant):
    inactive = UserFactory(restaurant=restaurant, is_active=False)
    legacy_inactive = UserFactory(restaurant=restaurant, is_active=False)
    _store_hash(legacy_inactive, _legacy_hash("old-secret"))

    assert authenticate(email=inactive.email, password=FACTORY_PASSWORD) is None
    assert authenticate(email=legacy_inactive.email, password="old-secret") is None


# --- The Django admin login page ------------------------------------------------------------


def _admin_login(client: Client, email: str, password: str):
    # secure=True: the same request whether or not SECURE_SSL_REDIRECT is on in this environment
    return client.post(
        "/admin/login/?next=/admin/", {"username": email, "password": password}, secure=True, follow=False
    )


@pytest.mark.django_db
def test_a_platform_owner_logs_in_through_the_admin(platform_owner):
    client = Client()

    response = _admin_login(client, platform_owner.email, FACTORY_PASSWORD)

    assert response.status_code == 302, response.content[:500]
    assert response["Location"] == "/admin/"
    assert client.get("/admin/", secure=True).status_code == 200
    with tenant_context(all_tenants=True):
        assert User.objects.get(pk=platform_owner.pk).last_login is not None


@pytest.mark.django_db
def test_a_platform_owner_with_a_legacy_hash_logs_in_through_the_admin(platform):
    owner = PlatformOwnerFactory(platform=platform)
    _store_hash(owner, _legacy_hash("old-secret", "$2y$"))
    client = Client()

    response = _admin_login(client, owner.email, "old-secret")

    assert response.status_code == 302, response.content[:500]
    assert client.get("/admin/", secure=True).status_code == 200
    assert not _stored_hash(owner).startswith("$2")


@pytest.mark.django_db
def test_the_admin_refuses_a_wrong_password_and_an_inactive_owner(platform):
    owner = PlatformOwnerFactory(platform=platform)
    inactive = PlatformOwnerFactory(platform=platform, is_active=False)
    client = Client()

    wrong = _admin_login(client, owner.email, "wrong password")
    disabled = _admin_login(client, inactive.email, FACTORY_PASSWORD)

    assert wrong.status_code == 200 and b"errornote" in wrong.content
    assert disabled.status_code == 200 and b"errornote" in disabled.content
    admin_index = client.get("/admin/", secure=True)
    assert admin_index.status_code == 302 and admin_index["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_restaurant_staff_cannot_use_the_admin(user):
    client = Client()

    response = _admin_login(client, user.email, FACTORY_PASSWORD)

    assert response.status_code == 200 and b"errornote" in response.content


@pytest.mark.django_db
def test_token_authentication_sets_the_users_tenant_once_without_a_savepoint_of_its_own(user):
    # given a token and a request inside the request's transaction, no tenant set yet
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from tenants.authentication import TenantTokenAuthentication
    from tenants.context import current_tenant, read_tenant
    from tenants.services import api_token_create

    key = api_token_create(user=user)
    request = Request(APIRequestFactory().get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {key}"))

    # (in a copy of the context: the request's tenant variable must not outlive this test, as
    # the middleware sees to in a real request)
    context = contextvars.copy_context()
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            found, _ = context.run(TenantTokenAuthentication().authenticate, request)
            tenant = read_tenant("default")
    assert context.run(current_tenant) == tenant

    # then: the user, under their restaurant, in two statements: the token's identity with the
    # user's row, then the tenant (no tenant_context churn: savepoint, read, restore), sent in
    # front of the transaction's next statement (here the read) in its round trip
    statements = [query["sql"] for query in queries.captured_queries]
    assert found.pk == user.pk and tenant.restaurant_id == user.restaurant_id
    assert found.email == user.email and found.role == user.role and found.restaurant.is_active
    assert len(statements) == 3, statements
    assert "fynlo_identity_by_token" in statements[0] and "set_config" in statements[1], statements
    assert "current_setting" in statements[2], statements


@pytest.mark.django_db
def test_the_identity_functions_every_request_calls_keep_their_plans():
    """The token's (each API request), the id's (each session request) and the email's (each
    login) are PL/pgSQL, whose plans last the session: a LANGUAGE sql body is planned at every call."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.proname, l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang"
            " WHERE p.proname LIKE 'fynlo_identity_by_%' ORDER BY p.proname"
        )
        languages = dict(cursor.fetchall())
    assert languages == {
        "fynlo_identity_by_email": "plpgsql", "fynlo_identity_by_id": "plpgsql", "fynlo_identity_by_token": "plpgsql",
    }


@pytest.mark.django_db
def test_a_session_user_is_found_again_by_id(user):
    """What the session middleware does at each request: the user by id, through the identity path."""
    from tenants.auth import EmailBackend

    found = EmailBackend().get_user(user.pk)
    assert found is not None and found.pk == user.pk and found.restaurant_id == user.restaurant_id
    assert EmailBackend().get_user(user.pk + 100000) is None
