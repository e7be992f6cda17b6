"""The runtime role's privileges, the system check, and tenant_context's nesting rules."""

from __future__ import annotations

import pytest
from django.db import connection

from inventory.models import Category
from tenants.checks import check_runtime_role, runtime_role_problems
from tenants.context import Tenant, current_tenant, read_tenant, tenant_context
from tenants.scope import OWNER_ONLY_TABLES
from tests.tenants.factories import RestaurantFactory


@pytest.mark.django_db
def test_runtime_role_has_dml_on_every_table_and_owns_nothing():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_userbyid(c.relowner) = current_user,"
            " has_table_privilege(c.oid, 'SELECT,INSERT,UPDATE,DELETE')"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r'"
        )
        tables = cursor.fetchall()
        cursor.execute(
            "SELECT name FROM (SELECT c.relname AS name, c.oid FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'S' OFFSET 0) seqs"
            " WHERE NOT has_sequence_privilege(seqs.oid, 'USAGE')"
        )
        sequences_without_usage = cursor.fetchall()
    assert len(tables) > 25
    assert [name for name, owned, _ in tables if owned] == []
    assert [name for name, _, granted in tables if not granted and name not in OWNER_ONLY_TABLES] == []
    assert [name for name, _, granted in tables if granted and name in OWNER_ONLY_TABLES] == []
    assert sequences_without_usage == []


@pytest.mark.django_db
def test_runtime_role_cannot_create_tables():
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE sneaky (id int)")


@pytest.mark.django_db(databases=["default", "owner"])
def test_system_check_passes_for_the_runtime_role_and_refuses_the_owner():
    assert runtime_role_problems("default") == []
    assert check_runtime_role() == []
    problems = runtime_role_problems("owner")
    assert any("owns tenant tables" in problem for problem in problems), problems


@pytest.mark.django_db
def test_tenant_context_nests_and_restores():
    a, b = RestaurantFactory(), RestaurantFactory()
    with tenant_context(restaurant=a):
        Category.objects.create(restaurant=a, name="A food")
    with tenant_context(restaurant=b):
        Category.objects.create(restaurant=b, name="B food")
    assert read_tenant("default") == Tenant()
    with tenant_context(restaurant=a):
        assert current_tenant() == Tenant(restaurant_id=a.pk)
        with tenant_context(restaurant=b):
            assert list(Category.objects.values_list("name", flat=True)) == ["B food"]
        assert list(Category.objects.values_list("name", flat=True)) == ["A food"]
        assert read_tenant("default") == Tenant(restaurant_id=a.pk)
    assert current_tenant() == Tenant()
    assert Category.objects.count() == 0


@pytest.mark.django_db
def test_tenant_context_is_undone_by_an_exception():
    a = RestaurantFactory()
    with pytest.raises(RuntimeError):
        with tenant_context(restaurant=a):
            raise RuntimeError("boom")
    assert read_tenant("default") == Tenant()
    assert current_tenant() == Tenant()


def test_tenant_context_refuses_an_empty_or_mixed_scope():
    with pytest.raises(ValueError):
        with tenant_context():
            pass
    with pytest.raises(ValueError):
        with tenant_context(all_tenants=True, restaurant=1):
            pass


def test_tenant_cache_keys_carry_the_tenant():
    assert Tenant(restaurant_id=7).cache_key("menu") == "r7:menu"
    assert Tenant(platform_id=3).cache_key("menu") == "p3:menu"
    with pytest.raises(LookupError):
        Tenant().cache_key("menu")
