"""Root fixtures. The test database is created and migrated by the owner role; the tests'
own queries run as the runtime role (the `default` alias), so row-level security applies
to them exactly as in production. With FYNLO_TEST_PGBOUNCER=1 (`make test-pgbouncer`) those
queries go through a real PgBouncer in transaction mode (tests/pgbouncer.py)."""

from __future__ import annotations

import os
from contextlib import ExitStack

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tenants.services import api_token_create
from tests.pgbouncer import PgBouncerUnavailable, pgbouncer_unavailable, routed_through, running_pgbouncer
from tests.tenants.factories import PlatformFactory, PlatformOwnerFactory, RestaurantFactory, UserFactory, make_shop


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker, django_db_keepdb):
    from django.test.utils import setup_databases, teardown_databases

    through_pgbouncer = os.environ.get("FYNLO_TEST_PGBOUNCER", "") not in ("", "0")
    if through_pgbouncer and pgbouncer_unavailable():
        pytest.skip(f"FYNLO_TEST_PGBOUNCER: no PgBouncer: {pgbouncer_unavailable()}")
    with django_db_blocker.unblock():
        config = setup_databases(
            verbosity=request.config.option.verbose,
            interactive=False,
            keepdb=django_db_keepdb,
            aliases={"owner", "default"},
        )
    with ExitStack() as stack:
        if through_pgbouncer:
            with django_db_blocker.unblock():
                _session_pgbouncer.append(stack.enter_context(running_pgbouncer()))
                stack.enter_context(routed_through(_session_pgbouncer[0]))
        yield
        _session_pgbouncer.clear()
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            connections.close_all()  # the runtime role's connection to the test database
            teardown_databases(config, verbosity=request.config.option.verbose)


_session_pgbouncer: list = []


@pytest.fixture(scope="session")
def pgbouncer(django_db_setup, django_db_blocker):
    """A PgBouncer in transaction mode before the test database: the run's own under
    FYNLO_TEST_PGBOUNCER, else one started for the tests that ask (skipped, saying why, when
    there is none)."""
    if _session_pgbouncer:
        yield _session_pgbouncer[0]
        return
    try:
        with django_db_blocker.unblock(), running_pgbouncer() as bouncer:
            yield bouncer
    except PgBouncerUnavailable as reason:
        pytest.skip(f"no PgBouncer: {reason}")


@pytest.fixture
def through_pgbouncer(pgbouncer):
    """The runtime role's connections go through the PgBouncer for this test."""
    if _session_pgbouncer:
        yield pgbouncer
        return
    with routed_through(pgbouncer):
        yield pgbouncer


@pytest.fixture
def platform(db):
    return PlatformFactory()


@pytest.fixture
def restaurant(platform):
    return RestaurantFactory(platform=platform)


@pytest.fixture
def user(restaurant):
    return UserFactory(restaurant=restaurant)


@pytest.fixture
def platform_owner(platform):
    return PlatformOwnerFactory(platform=platform)


@pytest.fixture
def api_client_for(db):
    """An API client signed in as the given user with a token of its own (one per call, as
    one login per device)."""

    def make(user, device: str = "") -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user, device=device)}")
        return client

    return make


@pytest.fixture
def world(db) -> dict:
    """Two restaurants of one platform (a, b), one of another platform (c), and the first platform's
    owner. A test folder's conftest adds the staff its tests need (`def world(world): ...`)."""
    p1, p2 = PlatformFactory(), PlatformFactory()
    a, b = RestaurantFactory(platform=p1), RestaurantFactory(platform=p1)
    c = RestaurantFactory(platform=p2)
    return {"p1": p1, "p2": p2, "a": a, "b": b, "c": c, "platform_owner": PlatformOwnerFactory(platform=p1)}


@pytest.fixture
def shop(db):
    """A restaurant with one user per staff role."""
    return make_shop()


@pytest.fixture
def rival(db):
    """Another restaurant, on another platform, with its own staff."""
    return make_shop()


@pytest.fixture
def api(shop, api_client_for):
    """`api(role)`: a client signed in as the shop's user of that role."""
    return lambda role="cashier": api_client_for(shop[role])


@pytest.fixture
def count_queries():
    """`count_queries(call)`: how many queries one request runs (it must succeed)."""

    def count(call) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = call()
        assert response.status_code in (200, 201), response.content
        return len(captured)

    return count
