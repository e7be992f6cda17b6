"""The staff tests' world: the root world's restaurants, with an owner and employees."""

from __future__ import annotations

import pytest

from tenants.models import UserRole
from tests.staff.factories import EmployeeFactory
from tests.tenants.factories import UserFactory


@pytest.fixture
def world(world):
    a, b = world["a"], world["b"]
    return {
        **world,
        "owner_a": UserFactory(restaurant=a, role=UserRole.RESTAURANT_OWNER),
        "manager_a": EmployeeFactory(restaurant=a, user__role=UserRole.MANAGER),
        "cashier_a": EmployeeFactory(restaurant=a, user__role=UserRole.CASHIER),
        "manager_b": EmployeeFactory(restaurant=b, user__role=UserRole.MANAGER),
    }
