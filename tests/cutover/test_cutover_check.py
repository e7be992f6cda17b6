"""`manage.py cutover_check`: every check passes on a healthy database, and each one, made to
fail on purpose, is caught (FAIL in the table and the report, exit 1; exit 2 when the
database cannot be reached).

The checks read as the owner on its own connection, so the data must be committed:
transactional tests. Whatever a test does to the schema it undoes in `finally`.
"""

from __future__ import annotations

import json
import socket
import tarfile
import zipfile
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connections, transaction
from django.db.migrations.recorder import MigrationRecorder

from fynlo.demo.seed import demo_seed
from pos.models import Order, OrderItem
from tenants.context import tenant_context
from tenants.models import TenantScope
from tenants.rls import policies_for
from tests.tenants.factories import RestaurantFactory

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])

CHECKS = [
    "database", "migrations", "row_level_security", "valkey", "spaces", "row_counts", "orphans",
    "same_restaurant", "order_totals", "sequences", "index_use",
]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(tmp_path: Path, *args) -> tuple[int, dict, str]:
    """(exit code, JSON report, printed table) of one run."""
    report = tmp_path / "report.json"
    out = StringIO()
    try:
        call_command("cutover_check", "--report", str(report), *args, stdout=out, stderr=StringIO())
        code = 0
    except CommandError as error:
        code = error.returncode
    return code, json.loads(report.read_text()), out.getvalue()


def statuses(report: dict) -> dict[str, str]:
    return {check["name"]: check["status"] for check in report["checks"]}


def check(report: dict, name: str) -> dict:
    return next(item for item in report["checks"] if item["name"] == name)


def owner_sql(sql: str, params=None):
    with connections["owner"].cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall() if cursor.description else None


@pytest.fixture
def demo(monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    demo_seed()


def only_failure(report: dict) -> str:
    failed = [name for name, status in statuses(report).items() if status == "FAIL"]
    assert len(failed) == 1, failed
    return failed[0]


# --- A healthy database --------------------------------------------------------------------


def test_a_healthy_database_passes_every_check(demo, tmp_path):
    code, report, table = run(tmp_path)

    assert code == 0, [c for c in report["checks"] if c["status"] == "FAIL"]
    assert list(statuses(report)) == CHECKS
    assert set(statuses(report).values()) == {"PASS"}
    assert report["passed"] is True and report["summary"] == {"checks": 11, "passed": 11, "failed": 0}
    for name in CHECKS:
        assert f"\n{name}" in table
    assert check(report, "spaces")["summary"].startswith("skipped: not configured")
    assert check(report, "row_counts")["details"]["tables"]["orders"] == 20
    assert "11 checks" in table and "11 passed, 0 failed." in table


# --- Row counts against the legacy export --------------------------------------------------

ORDERS_HEADER = "id,restaurant_id,order_number,notes\n"


def _orders_csv(records: int) -> str:
    # the first record's quoted field holds a newline and a quote: one record, three lines
    rows = ['1,1,FYN-1,"first line\nsecond ""quoted"" line"\n']
    rows += [f"{n},1,FYN-{n},plain\n" for n in range(2, records + 1)]
    return ORDERS_HEADER + "".join(rows)


def _export(folder: Path, orders: int) -> Path:
    folder.mkdir()
    (folder / "orders_export.csv").write_text(_orders_csv(orders), encoding="utf-8")
    (folder / "restaurants_export.csv").write_text("id,name\n1,\"Fynlo Mexican Restaurant\"\n", encoding="utf-8")
    return folder


def _archive(folder: Path, kind: str) -> Path:
    if kind == "folder":
        return folder
    if kind == "zip":
        target = folder.with_suffix(".zip")
        with zipfile.ZipFile(target, "w") as archive:
            for path in folder.iterdir():
                archive.write(path, f"export/{path.name}")
        return target
    target = folder.with_suffix(".tar.gz")
    with tarfile.open(target, "w:gz") as archive:
        archive.add(folder, arcname="export")
    return target


@pytest.mark.parametrize("kind", ["folder", "zip", "tar.gz"])
def test_counts_equal_to_the_export_pass(demo, tmp_path, kind):
    source = _archive(_export(tmp_path / "export", orders=20), kind)

    code, report, _ = run(tmp_path, "--source", str(source))

    counts = check(report, "row_counts")
    assert (code, counts["status"]) == (0, "PASS"), counts
    assert {item["table"]: (item["source"], item["database"]) for item in counts["details"]["compared"]} == {
        "orders": (20, 20), "restaurants": (1, 1),
    }
    assert counts["details"]["counted_by"].endswith("(CSV records)")


def test_counts_different_from_the_export_fail(demo, tmp_path):
    source = _export(tmp_path / "export", orders=21)

    code, report, table = run(tmp_path, "--source", str(source))

    assert code == 1
    assert only_failure(report) == "row_counts"
    assert check(report, "row_counts")["summary"] == "orders: 20 in the database, 21 in the export"
    assert "row_counts           FAIL" in table


def test_a_missing_source_is_a_usage_error(tmp_path):
    with pytest.raises(CommandError) as error:
        call_command("cutover_check", "--source", str(tmp_path / "nowhere"), stdout=StringIO())

    assert error.value.returncode == 2
    assert "no such file or folder" in str(error.value)


# --- Row-level security --------------------------------------------------------------------


def test_row_level_security_disabled_on_a_table_fails(demo, tmp_path):
    owner_sql("ALTER TABLE categories DISABLE ROW LEVEL SECURITY")
    try:
        code, report, _ = run(tmp_path)
    finally:
        owner_sql("ALTER TABLE categories ENABLE ROW LEVEL SECURITY")

    assert code == 1 and only_failure(report) == "row_level_security"
    details = check(report, "row_level_security")["details"]
    assert details["rls_disabled"] == ["categories"]
    assert details["visible_without_tenant"] == ["categories"]  # the demo's categories leak without a tenant


def test_a_missing_policy_fails(demo, tmp_path):
    owner_sql("DROP POLICY tenant_isolation ON order_items")
    try:
        code, report, _ = run(tmp_path)
    finally:
        [(_, create)] = policies_for("order_items", TenantScope.RESTAURANT)
        owner_sql(create)

    assert code == 1 and only_failure(report) == "row_level_security"
    assert check(report, "row_level_security")["summary"] == "order_items lacks policy tenant_isolation"


# --- Data ----------------------------------------------------------------------------------


ORPHANS = {
    # a copy of an existing row whose parent id points nowhere
    "order_items.order_id -> orders.id": (
        "INSERT INTO order_items (restaurant_id, order_id, product_id, quantity, unit_price, total_price)"
        " SELECT restaurant_id, 999999, product_id, quantity, unit_price, total_price FROM order_items LIMIT 1"
    ),
    "payments.order_id -> orders.id": (
        "INSERT INTO payments (restaurant_id, order_id, payment_method, amount, status)"
        " SELECT restaurant_id, 999999, payment_method, amount, status FROM payments LIMIT 1"
    ),
    "stock_movements.inventory_item_id -> inventory_items.id": (
        "INSERT INTO stock_movements (restaurant_id, inventory_item_id, movement_type, quantity)"
        " SELECT restaurant_id, 999999, 'adjustment', 1 FROM inventory_items LIMIT 1"
    ),
}


@pytest.mark.parametrize("reference", list(ORPHANS))
def test_an_orphan_row_fails(demo, tmp_path, reference):
    # given: a row whose parent does not exist; the foreign key is deferred, so it holds
    # until the owner's transaction commits, which it never does
    with transaction.atomic(using="owner"):
        owner_sql(ORPHANS[reference])
        code, report, _ = run(tmp_path)
        transaction.set_rollback(True, using="owner")

    assert code == 1 and only_failure(report) == "orphans"
    orphans = check(report, "orphans")["details"]["orphans"]
    assert list(orphans) == [reference]
    assert orphans[reference]["count"] == 1


def test_an_orphan_commission_record_fails(demo, tmp_path):
    with tenant_context(all_tenants=True):
        Order.objects.filter(order_number="FYN-DEMO-0001").delete()  # its items and payment go with it

    code, report, _ = run(tmp_path)

    assert code == 1 and only_failure(report) == "orphans"
    assert list(check(report, "orphans")["details"]["orphans"]) == ["commission_records.order_id -> orders.id"]


def test_an_item_in_another_restaurant_than_its_order_fails(demo, tmp_path):
    # given: an item moved to another restaurant; the database's same-restaurant key is
    # deferred (as while migrate_legacy loads with its keys set aside), and never committed
    other = RestaurantFactory()
    with tenant_context(all_tenants=True):
        item = OrderItem.objects.order_by("pk").first()
    with transaction.atomic(using="owner"):
        owner_sql("UPDATE order_items SET restaurant_id = %s WHERE id = %s", [other.pk, item.pk])
        code, report, _ = run(tmp_path)
        transaction.set_rollback(True, using="owner")

    assert code == 1 and only_failure(report) == "same_restaurant"
    mismatched = check(report, "same_restaurant")["details"]["mismatched"]
    assert mismatched["order_items.order_id -> orders.id"]["ids"] == [item.pk]


def test_wrong_order_totals_fail(demo, tmp_path):
    with tenant_context(all_tenants=True):
        first, second = Order.objects.order_by("order_number")[:2]
    owner_sql("UPDATE orders SET total_amount = total_amount + 0.01 WHERE id = %s", [first.pk])
    owner_sql("UPDATE order_items SET total_price = total_price + 1 WHERE id ="
              " (SELECT min(id) FROM order_items WHERE order_id = %s)", [second.pk])

    code, report, _ = run(tmp_path)

    assert code == 1 and only_failure(report) == "order_totals"
    totals = check(report, "order_totals")
    assert totals["details"]["wrong"] == 2
    problems = {row["order_number"]: row["problems"] for row in totals["details"]["sample"]}
    assert problems[first.order_number] == [
        f"total {first.total_amount + Decimal('0.01')} <> {first.subtotal} + {first.tax_amount} + "
        f"{first.service_charge} - {first.discount_amount}"
    ]
    assert problems[second.order_number] == [f"subtotal {second.subtotal} <> items {second.subtotal + 1}"]


def test_an_order_priced_with_vat_included_adds_up(demo, tmp_path):
    # given an order whose prices held its VAT: total = subtotal - discount + service charge
    with tenant_context(all_tenants=True):
        order = Order.objects.order_by("order_number").first()
    owner_sql("UPDATE orders SET prices_include_vat = true, total_amount = subtotal - discount_amount + service_charge"
              " WHERE id = %s", [order.pk])

    code, report, _ = run(tmp_path)

    assert code == 0, report
    assert check(report, "order_totals")["details"]["wrong"] == 0


def test_a_sequence_behind_the_highest_id_fails(demo, tmp_path):
    [(sequence,)] = owner_sql("SELECT pg_get_serial_sequence('orders', 'id')")
    [(last_value, is_called)] = owner_sql(f"SELECT last_value, is_called FROM {sequence}")
    owner_sql("SELECT setval(%s, 1, true)", [sequence])
    try:
        code, report, _ = run(tmp_path)
    finally:
        owner_sql("SELECT setval(%s, %s, %s)", [sequence, last_value, is_called])

    assert code == 1 and only_failure(report) == "sequences"
    [behind] = check(report, "sequences")["details"]["behind"]
    assert (behind["table"], behind["next_value"]) == ("orders", 2)


def test_an_unapplied_migration_fails(demo, tmp_path):
    recorder = MigrationRecorder(connections["owner"])
    latest = recorder.migration_qs.filter(app="billing").order_by("-name").first()
    with transaction.atomic(using="owner"):
        recorder.migration_qs.filter(pk=latest.pk).delete()
        code, report, _ = run(tmp_path)
        transaction.set_rollback(True, using="owner")

    assert code == 1 and only_failure(report) == "migrations"
    assert check(report, "migrations")["details"]["unapplied"] == [f"billing.{latest.name}"]
    assert recorder.migration_qs.filter(pk=latest.pk).exists()


# --- Services ------------------------------------------------------------------------------


def test_valkey_unreachable_fails(demo, tmp_path, settings):
    cache = dict(settings.CACHES["default"])
    cache["LOCATION"] = f"redis://127.0.0.1:{closed_port()}/0"
    settings.CACHES = {**settings.CACHES, "default": cache}

    code, report, _ = run(tmp_path)

    assert code == 1 and only_failure(report) == "valkey"
    assert "does not answer" in check(report, "valkey")["summary"]


@pytest.fixture(scope="module")
def s3_server():
    """A real S3-compatible HTTP server (moto's server mode) on a free local port."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def spaces(settings, s3_server):
    """Spaces configured against the local S3 server, with one bucket."""
    import boto3

    settings.SPACES_ENDPOINT_URL = s3_server
    settings.SPACES_REGION = "us-east-1"
    settings.SPACES_ACCESS_KEY_ID = "test-key"
    settings.SPACES_SECRET_ACCESS_KEY = "test-secret"
    boto3.client(
        "s3", endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id="test-key",
        aws_secret_access_key="test-secret",
    ).create_bucket(Bucket="fynlo-media")
    return settings


def test_spaces_with_its_bucket_passes(demo, tmp_path, spaces):
    spaces.SPACES_BUCKET = "fynlo-media"

    code, report, _ = run(tmp_path)

    assert code == 0
    assert check(report, "spaces")["summary"] == f"bucket fynlo-media at {spaces.SPACES_ENDPOINT_URL} answers"


def test_spaces_without_the_bucket_fails(demo, tmp_path, spaces):
    spaces.SPACES_BUCKET = "no-such-bucket"

    code, report, _ = run(tmp_path)

    assert code == 1 and only_failure(report) == "spaces"
    assert check(report, "spaces")["summary"].endswith("no such bucket")


def test_spaces_unreachable_fails(demo, tmp_path, spaces):
    spaces.SPACES_BUCKET = "fynlo-media"
    spaces.SPACES_ENDPOINT_URL = f"http://127.0.0.1:{closed_port()}"

    code, report, _ = run(tmp_path)

    assert code == 1 and only_failure(report) == "spaces"
    assert "does not answer" in check(report, "spaces")["summary"]


def test_a_runtime_connection_that_bypasses_rls_fails(demo, tmp_path):
    # given: DATABASE_URL pointing at the owner, the mistake that would switch isolation off
    runtime, owner = connections["default"], connections["owner"]
    runtime.close()
    user = runtime.settings_dict["USER"]
    runtime.settings_dict["USER"] = owner.settings_dict["USER"]
    try:
        code, report, _ = run(tmp_path)
    finally:
        runtime.close()
        runtime.settings_dict["USER"] = user

    assert code == 1 and "row_level_security" in [n for n, s in statuses(report).items() if s == "FAIL"]
    problems = check(report, "row_level_security")["details"]["runtime_role_problems"]
    assert any("owns tenant tables" in problem for problem in problems), problems


def test_an_unreachable_database_exits_2(tmp_path):
    runtime = connections["default"]
    runtime.close()
    port = runtime.settings_dict["PORT"]
    runtime.settings_dict["PORT"] = str(closed_port())
    try:
        code, report, _ = run(tmp_path)
    finally:
        runtime.close()
        runtime.settings_dict["PORT"] = port

    assert code == 2
    assert list(statuses(report)) == ["database"]
    assert report["unreachable"].startswith("the runtime role (DATABASE_URL) cannot connect")


# --- Index use -----------------------------------------------------------------------------


BULK_TABLES = ("platforms", "restaurants", "orders", "products")


@pytest.fixture
def bulk():
    """Bulk inserts below advance the id sequences by 100,000; put them back afterwards, so
    that later tests see the sequences as a fresh database has them."""
    sequences = {}
    for table in BULK_TABLES:
        [(sequence,)] = owner_sql("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        [(last_value, is_called)] = owner_sql(f"SELECT last_value, is_called FROM {sequence}")
        sequences[sequence] = (last_value, is_called)
    yield _many_orders
    # the rows themselves go with the test's flush, which comes after this
    for sequence, (last_value, is_called) in sequences.items():
        owner_sql("SELECT setval(%s, %s, %s)", [sequence, last_value, is_called])


def _many_orders(restaurants: int, per_restaurant: int) -> None:
    """Orders and menus bulk-inserted by the owner: each restaurant's orders an hour apart,
    interleaved with the other restaurants' as in real life."""
    owner_sql("INSERT INTO platforms (name, slug, owner_email) VALUES ('Bulk', 'bulk', 'bulk@fynlo.test')")
    owner_sql(
        "INSERT INTO restaurants (platform_id, name, slug)"
        " SELECT (SELECT id FROM platforms WHERE slug = 'bulk'), 'Bulk ' || n, 'bulk-' || n"
        " FROM generate_series(1, %s) AS n",
        [restaurants],
    )
    owner_sql(
        "INSERT INTO orders (restaurant_id, order_number, subtotal, total_amount, created_at)"
        " SELECT r.id, 'BULK-' || r.id || '-' || n, 0, 0, now() - (n * 60 + r.id * 0.37) * interval '1 minute'"
        " FROM restaurants r, generate_series(1, %s) AS n",
        [per_restaurant],
    )
    owner_sql(
        "INSERT INTO products (restaurant_id, name, price, sku)"
        " SELECT r.id, 'Dish ' || n, 1, 'SKU-' || n FROM restaurants r, generate_series(1, 50) AS n"
    )


def test_the_hot_queries_use_their_indexes(bulk, tmp_path):
    # at this size the composite index is the only good plan (at 40k rows the planner may
    # still weigh it against idx_orders_created_at and idx_orders_restaurant_id)
    bulk(restaurants=100, per_restaurant=1000)

    code, report, _ = run(tmp_path)

    index_use = check(report, "index_use")
    assert index_use["status"] == "PASS", json.dumps(index_use["details"], indent=1)
    orders, products = index_use["details"]["queries"]
    assert orders["rows"] == 100_000 and orders["verdict"] == "uses its index"
    assert "idx_orders_restaurant_date" in orders["indexes_used"]
    assert products["rows"] == 5_000 and products["verdict"] == "uses its index"


def test_at_a_middling_size_another_cheap_index_is_accepted(bulk, tmp_path):
    bulk(restaurants=20, per_restaurant=100)

    _, report, _ = run(tmp_path)

    orders = check(report, "index_use")["details"]["queries"][0]
    assert orders["rows"] == 2000
    assert orders["verdict"] == "uses its index" or (
        orders["verdict"].startswith("planner prefers idx_orders_") and orders["rows_read"] <= 1000
    ), orders


def test_a_missing_hot_index_fails(bulk, tmp_path):
    bulk(restaurants=20, per_restaurant=100)
    [(definition,)] = owner_sql("SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_orders_restaurant_date'")
    owner_sql("DROP INDEX idx_orders_restaurant_date")
    try:
        code, report, _ = run(tmp_path)
    finally:
        owner_sql(definition)

    assert code == 1 and only_failure(report) == "index_use"
    assert check(report, "index_use")["summary"] == (
        "orders by restaurant and date: idx_orders_restaurant_date does not exist (or is invalid)"
    )


def test_a_nearly_empty_table_is_too_small_to_judge(demo, tmp_path):
    _, report, _ = run(tmp_path)

    orders = check(report, "index_use")["details"]["queries"][0]
    assert orders["rows"] == 20
    assert orders["verdict"] == "uses its index" or orders["verdict"].startswith("too small to judge (20 rows)")
