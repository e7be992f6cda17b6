"""Root fixtures. The test database is created and migrated by the owner role; the tests'
own queries run as the runtime role (the `default` alias), so row-level security applies
to them exactly as in production."""

from __future__ import annotations

import pytest
from django.db import connections
from rest_framework.test import APIClient

from tenants.services import api_token_create
from tests.factories import PlatformFactory, PlatformOwnerFactory, RestaurantFactory, UserFactory


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker, django_db_keepdb):
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        config = setup_databases(
            verbosity=request.config.option.verbose,
            interactive=False,
            keepdb=django_db_keepdb,
            aliases={"owner", "default"},
        )
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            connections.close_all()  # the runtime role's connection to the test database
            teardown_databases(config, verbosity=request.config.option.verbose)


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
