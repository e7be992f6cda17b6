from __future__ import annotations

import pytest

from tests.factories_pos import make_shop


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
