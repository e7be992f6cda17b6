"""Row-level security holds at the database, tested as the runtime role."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, connections, models, transaction
from django.test.utils import isolate_apps

from tenants.context import tenant_context
from tenants.models import Platform, Restaurant, TenantScope
from tenants.rls import policies_for
from tenants.scope import GLOBAL_TABLES, tenant_models, unscoped_tables
from tests.rows import RowMaker
from tests.tenants.factories import PlatformFactory, RestaurantFactory


def _all_models():
    return [m for m in apps.get_models(include_auto_created=True) if not m._meta.proxy]


def _policies(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT policyname FROM pg_policies WHERE tablename = %s", [table])
        return {row[0] for row in cursor.fetchall()}


def _rls_enabled(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relrowsecurity FROM pg_class WHERE relname = %s AND relkind = 'r'", [table])
        row = cursor.fetchone()
    return bool(row and row[0])


@pytest.mark.django_db
def test_runs_as_the_runtime_role_not_the_owner():
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False)
    assert connection.settings_dict["USER"] != connections["owner"].settings_dict["USER"]


@pytest.mark.django_db
@pytest.mark.parametrize("model", _all_models(), ids=lambda m: m._meta.db_table)
def test_every_table_is_tenant_scoped_with_policies_or_explicitly_global(model):
    table = model._meta.db_table
    scope = getattr(model, "tenant_scope", None)
    if scope is None:
        assert table in GLOBAL_TABLES, f"{table} declares no tenant scope and is not on the global allow-list"
        return
    assert _rls_enabled(table), f"{table} is tenant-scoped but row-level security is not enabled"
    expected = {name for name, _ in policies_for(table, scope)}
    assert expected <= _policies(table), f"{table} lacks policies {expected - _policies(table)}"


@isolate_apps("tenants")
def test_a_new_model_without_scope_is_caught():
    class Gossip(models.Model):
        text = models.TextField()

        class Meta:
            app_label = "tenants"
            db_table = "gossip"

    assert unscoped_tables([Gossip]) == ["gossip"]
    assert unscoped_tables([Restaurant, Platform]) == []


@pytest.fixture
def two_by_two(db):
    """Two platforms with two restaurants each, and one row of every tenant table per restaurant."""
    p1, p2 = PlatformFactory(), PlatformFactory()
    restaurants = {
        "a": RestaurantFactory(platform=p1), "b": RestaurantFactory(platform=p1),
        "c": RestaurantFactory(platform=p2), "d": RestaurantFactory(platform=p2),
    }
    maker = RowMaker()
    rows: dict = {}
    for model in tenant_models():
        if model in (Platform, Restaurant):
            continue
        for key, restaurant in restaurants.items():
            rows[(model, key)] = maker.row(model, restaurant)
    return p1, p2, restaurants, rows


def _visible_ids(table: str) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table}")
        return {row[0] for row in cursor.fetchall()}


def _owner_key(model, row, restaurants):
    """Which restaurant keys a row belongs to (platform rows belong to all of their platform's)."""
    if model.tenant_scope == TenantScope.PLATFORM:
        return {k for k, r in restaurants.items() if r.platform_id == row.platform_id}
    return {k for k, r in restaurants.items() if r.pk == row.restaurant_id}


def _expected(table_model, rows, restaurants, keys):
    return {
        row.pk for (model, _), row in rows.items()
        if model is table_model and _owner_key(model, row, restaurants) & keys
    }


@pytest.mark.django_db
def test_each_tenant_table_shows_exactly_the_tenants_rows(two_by_two):
    p1, p2, restaurants, rows = two_by_two
    a = restaurants["a"]
    for model in {m for m, _ in rows}:
        table = model._meta.db_table
        with tenant_context(restaurant=a):
            seen_by_a = _visible_ids(table)
        with tenant_context(platform=p1):
            seen_by_p1 = _visible_ids(table)
        seen_without_context = _visible_ids(table)
        if model.tenant_scope == TenantScope.PLATFORM:
            # platform rows: a restaurant reads its own platform's, never another's
            assert seen_by_a == _expected(model, rows, restaurants, {"a", "b"}), table
        else:
            assert seen_by_a == _expected(model, rows, restaurants, {"a"}), table
        assert seen_by_p1 == _expected(model, rows, restaurants, {"a", "b"}), table
        assert seen_without_context == set(), table


@pytest.mark.django_db
def test_restaurants_and_platforms_tables_are_isolated(two_by_two):
    p1, p2, restaurants, _ = two_by_two
    with tenant_context(restaurant=restaurants["a"]):
        assert _visible_ids("restaurants") == {restaurants["a"].pk}
        assert _visible_ids("platforms") == {p1.pk}
    with tenant_context(platform=p1):
        assert _visible_ids("restaurants") == {restaurants["a"].pk, restaurants["b"].pk}
        assert _visible_ids("platforms") == {p1.pk}
    with tenant_context(platform=p1, restaurant=restaurants["c"]):
        assert _visible_ids("restaurants") == set()  # narrowing outside the platform shows nothing
    assert _visible_ids("restaurants") == set()
    assert _visible_ids("platforms") == set()


@pytest.mark.django_db
def test_writes_into_another_restaurant_are_refused(two_by_two):
    _, _, restaurants, rows = two_by_two
    a, b = restaurants["a"], restaurants["b"]
    for (model, key), row in rows.items():
        if key != "a" or model.tenant_scope != TenantScope.RESTAURANT:
            continue
        table = model._meta.db_table
        columns = [f.column for f in model._meta.concrete_fields if not f.primary_key]
        select = ", ".join("%s" if c == "restaurant_id" else c for c in columns)
        with tenant_context(restaurant=a):
            with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select} FROM {table} WHERE id = %s",
                        [b.pk, row.pk],
                    )
            with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(f"UPDATE {table} SET restaurant_id = %s WHERE id = %s", [b.pk, row.pk])


@pytest.mark.django_db
def test_a_restaurant_cannot_touch_another_platforms_rows(two_by_two):
    p1, p2, restaurants, _ = two_by_two
    with tenant_context(platform=p1):
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            Restaurant.objects.create(platform=p2, name="smuggled", slug="smuggled")
        assert Restaurant.objects.filter(pk=restaurants["c"].pk).update(name="x") == 0
    with tenant_context(restaurant=restaurants["a"]):
        assert Platform.objects.filter(pk=p1.pk).update(name="renamed") == 0  # read-only for restaurants
