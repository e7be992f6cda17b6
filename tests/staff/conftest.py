"""Two restaurants of one platform (a, b) and one of another (c), with staff in each."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.models import UserRole
from tests.factories import PlatformFactory, PlatformOwnerFactory, RestaurantFactory, UserFactory
from tests.factories_staff import EmployeeFactory


@pytest.fixture
def world(db):
    p1, p2 = PlatformFactory(), PlatformFactory()
    a, b, c = RestaurantFactory(platform=p1), RestaurantFactory(platform=p1), RestaurantFactory(platform=p2)
    manager_a = EmployeeFactory(restaurant=a, user__role=UserRole.MANAGER)
    cashier_a = EmployeeFactory(restaurant=a, user__role=UserRole.CASHIER)
    manager_b = EmployeeFactory(restaurant=b, user__role=UserRole.MANAGER)
    return {
        "p1": p1, "a": a, "b": b, "c": c,
        "owner_a": UserFactory(restaurant=a, role=UserRole.RESTAURANT_OWNER),
        "manager_a": manager_a, "cashier_a": cashier_a, "manager_b": manager_b,
        "platform_owner": PlatformOwnerFactory(platform=p1),
    }


def count_queries(call) -> int:
    """How many queries one request runs (it must succeed)."""
    with CaptureQueriesContext(connection) as context:
        response = call()
        assert response.status_code == 200, response.content
    return len(context)
