"""`generate_legacy_export --format fynlo-v1`: a synthetic legacy Fynlo database as a CSV folder,
a plain pg_dump file and a database made from the legacy DDL (tests/data/fynlo_v1_schema.sql),
with its traps; each shape imports with exactly the rejects its manifest expects."""

from __future__ import annotations

import io
import json

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections

from fynlo.cutover.legacy.generate_v1 import INGREDIENTS, TABLES, TRAPS, generate_fynlo_v1
from tests.cutover.test_migrate_legacy_fynlo_v1 import SCHEMA, migrate, owner_conninfo, snapshot, wipe

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])


@pytest.fixture(autouse=True)
def empty_database(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        wipe()


@pytest.fixture
def legacy_database(django_db_setup, django_db_blocker):
    name = f"{settings.DATABASES['owner']['TEST']['NAME']}_fynlo_v1_generated"
    with django_db_blocker.unblock():
        admin = psycopg.connect(owner_conninfo("postgres"), autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')
    params = connections["owner"].get_connection_params()
    yield (f"postgresql://{params['user']}:{params.get('password') or ''}@{params.get('host') or '127.0.0.1'}:"
           f"{params.get('port') or 5432}/{name}")
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def test_the_command_writes_all_three_shapes_with_every_trap(tmp_path, legacy_database):
    # when the command writes a small legacy database with one row of every trap
    out = io.StringIO()
    call_command("generate_legacy_export", str(tmp_path / "csv"), "--format", "fynlo-v1", "--orders", "120",
                 "--bad-rows", "1", "--seed", "5", "--dump", str(tmp_path / "fynlo_backup.sql"),
                 "--database-url", legacy_database, "--schema", str(SCHEMA),
                 "--manifest", str(tmp_path / "manifest.json"), stdout=out, stderr=io.StringIO())
    manifest = json.loads((tmp_path / "manifest.json").read_text())

    # then every trap is there once, and the three shapes hold the same rows
    assert sorted(t["kind"] for t in manifest["traps"]) == sorted(TRAPS)
    assert f"fynlo-v1, {len(TABLES)} tables" in out.getvalue()
    with psycopg.connect(legacy_database) as conn:
        for table, rows in manifest["rows"].items():
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == rows, table
            csv_lines = (tmp_path / "csv" / f"{table}.csv").read_text().count("\n") - 1
            assert csv_lines == rows, table
        assert conn.execute("SELECT count(*) FROM orders WHERE legacy_note IS NOT NULL").fetchone()[0] == 1
        lines = conn.execute("SELECT sum(jsonb_array_length(items)) FROM orders").fetchone()[0]
    assert lines == manifest["order_items"]
    assert (tmp_path / "fynlo_backup.sql").read_text().count(" FROM stdin;\n") == len(TABLES)

    # and each imports with exactly the rejects the manifest expects, into identical databases
    results = {}
    for kind, source in (("csv", tmp_path / "csv"), ("sql", tmp_path / "fynlo_backup.sql"), ("url", legacy_database)):
        wipe()
        code, text, report = migrate(source, tmp_path / kind)
        assert code == 1, text
        assert {t: r["count"] for t, r in report["rejects"].items()} == manifest["expected_rejects"], report["rejects"]
        assert report["reconciliation"]["balanced"], report["reconciliation"]
        assert [row["email"] for row in report["must_set_a_password"]] == ["supabase0@restaurant.test"]
        assert report["where_every_legacy_column_went"]["orders"]["legacy_note"].startswith("archive")
        results[kind] = snapshot()
    assert results["sql"] == results["csv"] and results["url"] == results["csv"]
    imported = results["csv"]
    # the stock: a few rows a restaurant, whatever the orders (4 restaurants, the traps' rows aside)
    assert len(imported["inventory_items"]) == 4 * len(INGREDIENTS)
    assert len(imported["suppliers"]) == 4 * 3  # two supplier rows and one made from a name, each
    assert len(imported["restock_orders"]) == 4 and len(imported["restock_order_items"]) == 4 * 2
    assert len(imported["stock_movements"]) == manifest["rows"]["inventory_ledger"] + manifest["rows"]["stock_movements"]
    assert any(row[3] == "adjustment" and row[9] == "legacy movement_type SHRINKAGE" for row in imported["stock_movements"])
    assert any(row[8] == "order" for row in imported["stock_movements"])
    assert len(imported["orders"]) == manifest["rows"]["orders"] - manifest["expected_rejects"]["orders"]
    assert len(imported["order_items"]) == manifest["order_items"] - manifest["expected_rejects"]["order_items"]
    # the staff and billing rows: every profile but the trap's, a week per restaurant, every schedule row a
    # shift, every clocked shift; the plans on each platform, a subscription per restaurant; commission on payments
    rows, rejected = manifest["rows"], manifest["expected_rejects"]
    assert len(imported["employees"]) == rows["employee_profiles"] - rejected["employees"]
    assert len(imported["schedules"]) == rows["restaurants"]
    assert len(imported["shifts"]) == rows["schedules"]
    assert len(imported["time_tracking"]) == rows["shifts"]
    assert len(imported["subscription_plans"]) == rows["subscription_plans"] * rows["platforms"]
    assert len(imported["restaurant_subscriptions"]) == rows["restaurants"]
    assert len(imported["daily_reports"]) == rows["daily_reports"]
    assert len(imported["performance_metrics"]) > rows["performance_metrics"]
    assert all(row[6] is not None for row in imported["payments"])


def test_the_same_seed_gives_the_same_bytes_and_bad_rows_leave_the_good_ones(tmp_path):
    a = generate_fynlo_v1(tmp_path / "a", orders=50, seed=3, dump=tmp_path / "a.sql")
    b = generate_fynlo_v1(tmp_path / "b", orders=50, seed=3, dump=tmp_path / "b.sql")
    bad = generate_fynlo_v1(tmp_path / "bad", orders=50, seed=3, bad_rows=2)
    assert (tmp_path / "a.sql").read_bytes() == (tmp_path / "b.sql").read_bytes()
    assert a.traps == [] and a.expected_rejects == {}
    assert len(bad.traps) == 2 * len(TRAPS)
    good = (tmp_path / "a" / "payments.csv").read_text().splitlines()
    with_bad = set((tmp_path / "bad" / "payments.csv").read_text().splitlines())
    assert set(good[1:]) <= with_bad
    assert b.rows == a.rows
