"""The database schema is the guide's, completed (DESIGN.md "Data model"), and its constraints hold."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor

from bench.legacy_import import guide_ddl
from inventory.models import Product
from pos.models import Order
from tenants.context import tenant_context
from tests.tenants.factories import PlatformOwnerFactory, RestaurantFactory, UserFactory

BOTH_DATABASES = pytest.mark.django_db(databases=["default", "owner"])


# --- The guide's CREATE TABLE blocks ----------------------------------------------------

_TYPE = re.compile(
    r"^(?P<name>SERIAL|INTEGER|DECIMAL|NUMERIC|VARCHAR|TEXT|BOOLEAN|DATE|TIMESTAMP|TIME|JSONB)"
    r"(?:\((?P<args>[\d,\s]+)\))?",
    re.IGNORECASE,
)
_TABLE_CONSTRAINTS = {"CONSTRAINT", "UNIQUE", "PRIMARY", "CHECK", "FOREIGN", "EXCLUDE"}


def _split_top_level(body: str) -> list[str]:
    items, depth, current = [], 0, []
    for char in body:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


def _expected_type(sql_type: str) -> tuple:
    """The guide's column type as information_schema reports it (TIMESTAMP is stored as timestamptz)."""
    match = _TYPE.match(sql_type)
    assert match, f"the test does not know the guide's type {sql_type!r}"
    name = match["name"].upper()
    args = [int(a) for a in (match["args"] or "").replace(" ", "").split(",") if a]
    if name in {"SERIAL", "INTEGER"}:
        return ("integer",)
    if name in {"DECIMAL", "NUMERIC"}:
        return ("numeric", *args)
    if name == "VARCHAR":
        return ("character varying", *args)
    if name == "TIMESTAMP":
        return ("timestamp with time zone",)
    if name == "TIME":
        return ("time without time zone",)
    return ({"TEXT": "text", "BOOLEAN": "boolean", "DATE": "date", "JSONB": "jsonb"}[name],)


def guide_schema() -> dict[str, dict[str, tuple]]:
    """{table: {column: expected type}} from the guide's "Complete Database Schema Definition"."""
    tables: dict[str, dict[str, tuple]] = {}
    for statement in guide_ddl():
        match = re.match(r"CREATE TABLE (\w+) \((.*)\n\);", re.sub(r"--[^\n]*", "", statement), re.DOTALL)
        columns = {}
        for item in _split_top_level(match[2]):
            first, rest = re.match(r"(\w+)\s*(.*)", item, re.DOTALL).groups()
            if first.upper() in _TABLE_CONSTRAINTS:
                continue
            columns[first] = _expected_type(rest)
        tables[match[1]] = columns
    return tables


def test_the_guide_parser_reads_every_table_of_the_guide():
    # given the guide's schema section, which defines 24 tables
    schema = guide_schema()

    # then the parser found them all, with their columns and types
    assert len(schema) == 24, sorted(schema)
    assert "menu_items" not in schema and "products" in schema
    assert schema["users"]["email"] == ("character varying", 255)
    assert schema["users"]["password_hash"] == ("character varying", 255)
    assert "users_tenant_check" not in schema["users"] and "CONSTRAINT" not in schema["users"]
    assert schema["platforms"]["monthly_revenue"] == ("numeric", 12, 2)
    assert schema["shifts"]["start_time"] == ("time without time zone",)
    assert schema["orders"]["created_at"] == ("timestamp with time zone",)
    assert schema["payments"]["processor_response"] == ("jsonb",)
    assert len(schema["inventory_items"]) == 15


# --- What the database holds -------------------------------------------------------------


def _db_columns() -> dict[str, dict[str, tuple]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type, character_maximum_length,"
            " numeric_precision, numeric_scale, is_nullable"
            " FROM information_schema.columns WHERE table_schema = current_schema()"
        )
        rows = cursor.fetchall()
    tables: dict[str, dict[str, tuple]] = {}
    for table, column, data_type, length, precision, scale, nullable in rows:
        if data_type == "character varying":
            kind = (data_type, length) if length is not None else (data_type,)
        elif data_type == "numeric":
            kind = (data_type, precision, scale) if precision is not None else (data_type,)
        else:
            kind = (data_type,)
        tables.setdefault(table, {})[column] = (kind, nullable == "YES")
    return tables


@BOTH_DATABASES
def test_every_migration_is_applied_to_the_database():
    executor = MigrationExecutor(connections["owner"])

    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())

    assert plan == [], f"unapplied migrations: {[(m.app_label, m.name) for m, _ in plan]}"


@BOTH_DATABASES
def test_models_and_migrations_agree():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=StringIO())
    except SystemExit as exit_:
        pytest.fail(f"models have changes without a migration (exit {exit_.code}):\n{out.getvalue()}")
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db
def test_every_table_and_column_of_the_guide_exists():
    guide = guide_schema()
    database = _db_columns()

    assert sorted(set(guide) - set(database)) == []
    missing = [f"{t}.{c}" for t, columns in guide.items() for c in columns if c not in database.get(t, {})]
    assert missing == []


@pytest.mark.django_db
def test_every_column_has_the_guides_type():
    # given the guide's schema and the database's
    guide = guide_schema()
    database = _db_columns()

    # then every column of the guide has the guide's type (TIMESTAMP as timestamptz)
    wrong = [
        f"{table}.{column}: guide {expected}, database {database[table][column][0]}"
        for table, columns in guide.items()
        for column, expected in columns.items()
        if column in database.get(table, {})
        and database[table][column][0] != expected
    ]
    assert wrong == []


@pytest.mark.django_db
def test_url_columns_keep_the_guides_text_type():
    database = _db_columns()
    url_columns = [("restaurants", "logo_url"), ("products", "image_url"), ("users", "profile_image_url"), ("orders", "receipt_url")]

    narrowed = {f"{t}.{c}": database[t][c][0] for t, c in url_columns if database[t][c][0] != ("text",)}

    assert narrowed == {}


@pytest.mark.django_db
def test_the_completions_of_the_guide_exist():
    database = _db_columns()

    assert database["users"]["profile_image_url"][0][0] in {"text", "character varying"}
    assert database["orders"]["receipt_url"][0][0] in {"text", "character varying"}
    assert {
        "id", "restaurant_id", "order_id", "payment_id", "amount", "reason", "status",
        "processed_by", "created_at", "updated_at",
    } <= set(database["refunds"])
    assert database["refunds"]["amount"][0] == ("numeric", 10, 2)
    assert set(database["platform_settings"]) - {"platform_id"} | {"restaurant_id"} <= set(
        database["restaurant_settings"]
    )
    assert {"id", "restaurant_id", "name"} <= set(database["employee_roles"])
    # children carry their restaurant themselves (one indexed comparison per RLS policy)
    for table in ("order_items", "restock_order_items", "user_permissions"):
        assert database[table]["restaurant_id"] == (("integer",), False), table
    # the guide's menu_items is our products
    assert "menu_items" not in database


@pytest.mark.django_db
def test_the_guides_indexes_exist_on_the_right_columns():
    expected = {
        "idx_orders_restaurant_date": ("orders", "restaurant_id, created_at"),
        "idx_orders_restaurant_id": ("orders", "restaurant_id"),
        "idx_orders_created_at": ("orders", "created_at"),
        "idx_orders_status": ("orders", "status"),
        "idx_payments_order_id": ("payments", "order_id"),
        "idx_payments_transaction_id": ("payments", "transaction_id"),
        "idx_payments_created_at": ("payments", "created_at"),
        "idx_users_restaurant_id": ("users", "restaurant_id"),
        "idx_users_created_at": ("users", "created_at"),
        "idx_restaurants_platform_id": ("restaurants", "platform_id"),
        "idx_restaurants_active": ("restaurants", "is_active"),
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, tablename, indexdef FROM pg_indexes"
            " WHERE schemaname = current_schema() AND indexname = ANY(%s)",
            [list(expected)],
        )
        found = {name: (table, definition) for name, table, definition in cursor.fetchall()}

    assert sorted(set(expected) - set(found)) == []
    for name, (table, columns) in expected.items():
        actual_table, definition = found[name]
        assert actual_table == table, name
        assert definition.endswith(f"({columns})"), definition


# --- Constraints -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_duplicate_email_is_refused(user):
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(email=user.email, restaurant=user.restaurant)


@pytest.mark.django_db
def test_a_platform_owner_attached_to_a_restaurant_is_refused(platform, restaurant):
    PlatformOwnerFactory(platform=platform)  # the valid shape is accepted

    with pytest.raises(IntegrityError, match="users_tenant_check"), transaction.atomic():
        PlatformOwnerFactory(platform=platform, restaurant=restaurant)


@pytest.mark.django_db
def test_restaurant_staff_without_a_restaurant_is_refused(platform):
    with pytest.raises(IntegrityError, match="users_tenant_check"), transaction.atomic():
        UserFactory(restaurant=None, platform=platform)


@pytest.mark.django_db
def test_a_sku_is_unique_within_a_restaurant_only(restaurant):
    other = RestaurantFactory(platform=restaurant.platform)
    with tenant_context(all_tenants=True):
        Product.objects.create(restaurant=restaurant, name="Flat white", price=Decimal("3.20"), sku="FW-1")
        Product.objects.create(restaurant=other, name="Flat white", price=Decimal("3.40"), sku="FW-1")

        with pytest.raises(IntegrityError), transaction.atomic():
            Product.objects.create(restaurant=restaurant, name="Flat white (large)", price=Decimal("3.80"), sku="FW-1")

        assert Product.objects.filter(sku="FW-1").count() == 2


@pytest.mark.django_db
def test_a_negative_order_total_is_refused(restaurant):
    with tenant_context(restaurant=restaurant):
        Order.objects.create(restaurant=restaurant, order_number="ORD-ZERO", total_amount=Decimal("0.00"))

        with pytest.raises(IntegrityError, match="orders_total_amount_nonneg"), transaction.atomic():
            Order.objects.create(restaurant=restaurant, order_number="ORD-NEG", total_amount=Decimal("-0.01"))


@pytest.mark.django_db
def test_a_negative_product_price_is_refused(restaurant):
    with tenant_context(restaurant=restaurant):
        Product.objects.create(restaurant=restaurant, name="Tap water", price=Decimal("0.00"))

        with pytest.raises(IntegrityError, match="products_price_nonneg"), transaction.atomic():
            Product.objects.create(restaurant=restaurant, name="Refund soup", price=Decimal("-1.00"))


# --- Timestamps are instants -----------------------------------------------------------


@pytest.mark.django_db
def test_a_timestamp_with_an_offset_is_stored_as_the_same_instant(restaurant):
    # given an instant written with a +01:00 offset, through the ORM and as a raw literal
    plus_one = datetime.timezone(datetime.timedelta(hours=1))
    written = datetime.datetime(2025, 3, 1, 10, 0, tzinfo=plus_one)
    with tenant_context(restaurant=restaurant):
        by_orm = Order.objects.create(restaurant=restaurant, order_number="ORD-TZ-1", created_at=written)
        by_sql = Order.objects.create(restaurant=restaurant, order_number="ORD-TZ-2")
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE orders SET created_at = '2025-03-01T10:00:00+01:00' WHERE id = %s", [by_sql.pk]
            )

        # when they are read back
        read = dict(Order.objects.filter(pk__in=[by_orm.pk, by_sql.pk]).values_list("pk", "created_at"))

    # then both are 09:00 UTC, not 10:00 (the guide's zone-less TIMESTAMP keeps 10:00)
    nine_utc = datetime.datetime(2025, 3, 1, 9, 0, tzinfo=datetime.timezone.utc)
    assert read[by_orm.pk] == nine_utc
    assert read[by_sql.pk] == nine_utc


@pytest.mark.django_db
def test_an_email_differing_only_in_case_is_refused_as_a_duplicate(user):
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(email=user.email.upper(), restaurant=user.restaurant)
