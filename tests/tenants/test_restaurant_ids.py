"""fynlo_restaurant_ids(), the set every policy compares `restaurant_id` with, answers each scope
as the SECURITY DEFINER function behind it does (fynlo_restaurant_ids_scoped); a single
restaurant's scope is answered by the fast path (an invoker function with no SET clause).
Tested as the runtime role, with the tenant settings a request or command sets."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from tenants.context import tenant_context
from tests.tenants.factories import PlatformFactory, RestaurantFactory

pytestmark = pytest.mark.django_db


def ids() -> tuple[list[int], list[int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT fynlo_restaurant_ids(), fynlo_restaurant_ids_scoped()")
        fast, scoped = cursor.fetchone()
    return fast, scoped


@pytest.fixture
def shops():
    p1, p2 = PlatformFactory(), PlatformFactory()
    return {"p1": p1, "p2": p2, "a": RestaurantFactory(platform=p1), "b": RestaurantFactory(platform=p1),
            "c": RestaurantFactory(platform=p2)}


def test_each_scope_gets_what_the_definer_function_gives(shops):
    a, b, c = shops["a"].pk, shops["b"].pk, shops["c"].pk
    cases = [
        ({"restaurant": a}, [a]),
        ({"platform": shops["p1"], "restaurant": a}, [a]),
        ({"platform": shops["p2"], "restaurant": a}, []),  # a restaurant of another platform: nothing
        ({"platform": shops["p1"]}, sorted([a, b])),
    ]
    for scope, expected in cases:
        with tenant_context(**scope):
            fast, scoped = ids()
        assert fast == scoped == expected, scope
    with tenant_context(all_tenants=True):
        fast, scoped = ids()
    assert fast == scoped and {a, b, c} <= set(fast)


def test_no_tenant_set_is_no_restaurant():
    with transaction.atomic():
        assert ids() == ([], [])


def test_a_single_restaurant_is_answered_without_the_definer_function():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT proname, prosecdef, proconfig FROM pg_proc"
            " WHERE proname IN ('fynlo_restaurant_ids', 'fynlo_restaurant_ids_scoped') ORDER BY proname"
        )
        assert cursor.fetchall() == [
            ("fynlo_restaurant_ids", False, None),
            ("fynlo_restaurant_ids_scoped", True, ["search_path=pg_catalog, public"]),
        ]


def test_a_restaurant_setting_that_is_not_a_number_is_refused():
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('app.current_restaurant_id', '1 OR true', true)")
        cursor.execute("SELECT fynlo_restaurant_ids()")
