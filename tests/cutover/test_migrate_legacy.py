"""`manage.py migrate_legacy`: validation rules, rejects, dependent rejects, input hygiene,
idempotency, conflicts, dry run, exit codes, legacy logins, reconciliation, tenancy.

Exports here are hand-made (a few rows each, every value visible in the test); the bigger
generated exports are in test_migrate_legacy_generated.py, kill-and-resume in
test_migrate_legacy_resume.py.
"""

from __future__ import annotations

import csv
import io
import json
import tarfile
import tracemalloc
import zipfile
from decimal import Decimal
from pathlib import Path

import bcrypt
import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import connections

from fynlo.cutover.legacy.generate import legacy_columns
from inventory.models import Product
from pos.models import Order, OrderItem, Payment, Refund
from tenants.context import tenant_context
from tenants.models import PlatformSetting, RestaurantSetting, User

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])

PASSWORDS = {"owner@p1.test": "owner-secret-1", "manager@r10.test": "manager-secret-2", "cashier@r20.test": "cash-3"}
TS = "2025-02-01T10:00:00+00:00"


def bcrypt_hash(password: str, prefix: str) -> str:
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    return prefix + hashed[4:]


def base_rows() -> dict[str, list[dict]]:
    """Two platforms, restaurant 10 (platform 1) and 20 (platform 2), and a little of everything."""
    return {
        "platforms": [
            {"id": "1", "name": "Platform One", "slug": "p1", "owner_email": "owner@p1.test", "created_at": TS,
             "updated_at": TS, "is_active": "t", "total_restaurants": "1", "monthly_revenue": "100.00"},
            {"id": "2", "name": "Platform Two", "slug": "p2", "owner_email": "owner@p2.test", "created_at": TS,
             "updated_at": TS, "is_active": "t", "total_restaurants": "1", "monthly_revenue": "0.00"},
        ],
        "restaurants": [
            {"id": "10", "platform_id": "1", "name": "Ten", "slug": "ten", "created_at": TS, "updated_at": TS,
             "is_active": "t", "subscription_tier": "basic", "monthly_revenue": "10.00"},
            {"id": "20", "platform_id": "2", "name": "Twenty", "slug": "twenty", "created_at": TS, "updated_at": TS,
             "is_active": "t", "subscription_tier": "basic", "monthly_revenue": "20.00"},
        ],
        "users": [
            {"id": "1", "platform_id": "1", "email": "owner@p1.test", "first_name": "Olive", "last_name": "Owner",
             "role": "platform_owner", "is_active": "t", "created_at": TS, "updated_at": TS,
             "password_hash": bcrypt_hash(PASSWORDS["owner@p1.test"], "$2b$")},
            {"id": "2", "restaurant_id": "10", "platform_id": "1", "email": "Manager@R10.test", "first_name": "Max",
             "last_name": "Manager", "role": "manager", "is_active": "t", "created_at": TS, "updated_at": TS,
             "password_hash": bcrypt_hash(PASSWORDS["manager@r10.test"], "$2a$")},
            {"id": "3", "restaurant_id": "20", "platform_id": "2", "email": "cashier@r20.test", "first_name": "Cas",
             "last_name": "Cashier", "role": "cashier", "is_active": "t", "created_at": TS, "updated_at": TS,
             "password_hash": bcrypt_hash(PASSWORDS["cashier@r20.test"], "$2y$")},
            {"id": "4", "restaurant_id": "10", "platform_id": "1", "email": "cook@r10.test", "first_name": "Coo",
             "last_name": "Cook", "role": "cook", "is_active": "t", "created_at": TS, "updated_at": TS,
             "password_hash": "md5$salt$0123456789abcdef0123456789abcdef"},
        ],
        "categories": [
            {"id": "100", "restaurant_id": "10", "name": "Food", "display_order": "1", "is_active": "t",
             "created_at": TS},
            {"id": "200", "restaurant_id": "20", "name": "Food", "display_order": "1", "is_active": "t",
             "created_at": TS},
        ],
        "products": [
            {"id": "1000", "restaurant_id": "10", "category_id": "100", "name": "Taco", "price": "3.50",
             "cost": "1.00", "sku": "A", "is_active": "t", "available_in_pos": "t", "track_inventory": "f",
             "created_at": TS, "updated_at": TS},
            {"id": "1001", "restaurant_id": "10", "category_id": "100", "name": "Burrito", "price": "8.00",
             "cost": "3.00", "sku": "B", "is_active": "t", "available_in_pos": "t", "track_inventory": "f",
             "created_at": TS, "updated_at": TS},
            {"id": "2000", "restaurant_id": "20", "category_id": "200", "name": "Pie", "price": "4.00",
             "cost": "1.50", "sku": "A", "is_active": "t", "available_in_pos": "t", "track_inventory": "f",
             "created_at": TS, "updated_at": TS},
        ],
        "employees": [
            {"id": "50", "restaurant_id": "10", "user_id": "2", "employee_number": "E1", "hire_date": "2024-01-02",
             "employment_type": "full_time", "is_active": "t", "created_at": TS, "updated_at": TS},
            {"id": "60", "restaurant_id": "20", "user_id": "3", "employee_number": "E1", "hire_date": "2024-01-02",
             "employment_type": "part_time", "is_active": "t", "created_at": TS, "updated_at": TS},
        ],
        "schedules": [
            {"id": "300", "restaurant_id": "10", "name": "Week 6", "week_start": "2025-02-03",
             "week_end": "2025-02-09", "status": "published", "total_scheduled_hours": "8.00",
             "total_labor_cost": "100.00", "created_by": "2", "created_at": TS, "updated_at": TS},
        ],
        "shifts": [
            {"id": "310", "restaurant_id": "10", "schedule_id": "300", "employee_id": "50",
             "shift_date": "2025-02-03", "start_time": "10:00:00", "end_time": "18:00:00", "break_duration": "30",
             "position": "manager", "status": "completed", "created_at": TS, "updated_at": TS},
        ],
        "orders": [
            {"id": "500", "restaurant_id": "10", "order_number": "R10-1", "order_type": "dine_in",
             "status": "completed", "subtotal": "15.00", "tax_amount": "3.00", "service_charge": "1.88",
             "discount_amount": "0.00", "total_amount": "19.88", "items_count": "2", "served_by": "50",
             "created_by": "2", "created_at": TS, "updated_at": TS},
            {"id": "501", "restaurant_id": "10", "order_number": "R10-2", "order_type": "takeaway",
             "status": "cancelled", "subtotal": "0.00", "tax_amount": "0.00", "service_charge": "0.00",
             "discount_amount": "0.00", "total_amount": "0.00", "items_count": "0", "created_at": TS,
             "updated_at": TS},
            {"id": "600", "restaurant_id": "20", "order_number": "R20-1", "order_type": "delivery",
             "status": "completed", "subtotal": "4.00", "tax_amount": "0.80", "service_charge": "0.50",
             "discount_amount": "0.00", "total_amount": "5.30", "items_count": "1", "served_by": "60",
             "created_by": "3", "created_at": TS, "updated_at": TS},
        ],
        "order_items": [
            {"id": "5000", "order_id": "500", "product_id": "1000", "quantity": "2", "unit_price": "3.50",
             "total_price": "7.00", "created_at": TS},
            {"id": "5001", "order_id": "500", "product_id": "1001", "quantity": "1", "unit_price": "8.00",
             "total_price": "8.00", "created_at": TS},
            {"id": "6000", "order_id": "600", "product_id": "2000", "quantity": "1", "unit_price": "4.00",
             "total_price": "4.00", "created_at": TS},
        ],
        "payments": [
            {"id": "7000", "restaurant_id": "10", "order_id": "500", "payment_method": "card", "amount": "19.88",
             "commission_rate": "8.00", "commission_amount": "1.59", "transaction_id": "tx-1",
             "processor_response": '{"ok": true, "code": "00"}', "status": "completed", "processed_at": TS,
             "created_at": TS},
            {"id": "7001", "restaurant_id": "20", "order_id": "600", "payment_method": "cash", "amount": "5.30",
             "status": "completed", "processed_at": TS, "created_at": TS},
        ],
        "refunds": [
            {"id": "8000", "restaurant_id": "10", "order_id": "500", "payment_id": "7000", "amount": "3.50",
             "reason": "cold taco", "status": "completed", "processed_by": "2", "processed_at": TS,
             "created_at": TS, "updated_at": TS},
        ],
        "settings": [
            {"entity_type": "platform", "entity_id": "1", "setting_key": "currency", "setting_value": "GBP",
             "setting_type": "string"},
            {"entity_type": "restaurant", "entity_id": "10", "setting_key": "vat_rate", "setting_value": "20.00",
             "setting_type": "number"},
        ],
    }


def header_of(table: str) -> list[str]:
    return list(legacy_columns(table))


def write_export(folder: Path, rows: dict[str, list[dict]], *, headers: dict | None = None,
                 encoding: str = "utf-8", newline: str = "\n", bom: bool = False) -> Path:
    """One `<table>_export.csv` per table; NULL is an empty field."""
    folder.mkdir(parents=True, exist_ok=True)
    for table, table_rows in rows.items():
        header = (headers or {}).get(table) or header_of(table)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator=newline)
        writer.writerow(header)
        for row in table_rows:
            writer.writerow([row.get(column, "") for column in header])
        data = buffer.getvalue().encode(encoding)
        if bom:
            data = b"\xef\xbb\xbf" + data
        (folder / f"{table}_export.csv").write_bytes(data)
    return folder


def migrate(source, *args) -> tuple[int, str, dict]:
    """Run the command; (exit code, stdout, JSON report). Rejects go beside the source unless
    --rejects is given (the default, ./legacy-rejects, would be the working tree)."""
    out = io.StringIO()
    report_path = Path(str(source) + ".report.json")
    if "--rejects" not in args:
        args = (*args, "--rejects", str(source) + ".rejects")
    code = 0
    try:
        call_command("migrate_legacy", str(source), "--report", str(report_path), *args, stdout=out,
                     stderr=io.StringIO())
    except CommandError as error:
        code = error.returncode
        out.write(f"\nCommandError: {error}")
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    return code, out.getvalue(), report


def read_rejects(folder: Path, table: str) -> list[dict]:
    path = folder / f"{table}.csv"
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def owner_rows(table: str, columns: str = "*", order: str = "id") -> list[tuple]:
    with connections["owner"].cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} ORDER BY {order}")
        return cursor.fetchall()


def owner_value(query: str, params=None):
    with connections["owner"].cursor() as cursor:
        cursor.execute(query, params or [])
        return cursor.fetchone()[0]


@pytest.fixture
def export(tmp_path):
    return lambda rows=None, **kwargs: write_export(tmp_path / "export", rows or base_rows(), **kwargs)


@pytest.fixture
def rejects_dir(tmp_path):
    return tmp_path / "rejects"


# --- A clean export ----------------------------------------------------------------------------


def test_a_clean_export_is_imported_whole_with_its_ids(export, rejects_dir):
    # when
    code, out, report = migrate(export(), "--rejects", str(rejects_dir))

    # then every row is in, with its legacy id, and nothing was rejected
    assert code == 0, out
    assert report["tables"]["orders"] == report["tables"]["orders"] | {
        "rows_in": 3, "imported": 3, "already_present": 0, "rejected": 0, "balanced": True, "status": "loaded",
    }
    assert owner_rows("orders", "id, restaurant_id, order_number") == [
        (500, 10, "R10-1"), (501, 10, "R10-2"), (600, 20, "R20-1"),
    ]
    assert owner_rows("users", "id") == [(1,), (2,), (3,), (4,)]
    assert not rejects_dir.exists()
    assert "absent" in report and "daily_reports" in report["absent"]
    assert all(table["balanced"] for table in report["tables"].values())


def test_order_items_take_their_restaurant_from_their_order(export):
    migrate(export())

    assert owner_rows("order_items", "id, order_id, restaurant_id") == [(5000, 500, 10), (5001, 500, 10), (6000, 600, 20)]


def test_sequences_are_moved_past_the_highest_legacy_id(export):
    # given sequences that start from the beginning
    with connections["owner"].cursor() as cursor:
        for table in ("orders", "products"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 1, false)")

    migrate(export())

    with tenant_context(all_tenants=True):
        order = Order.objects.create(restaurant_id=10, order_number="NEW-1")
    assert order.id == 601
    sequence = owner_value("SELECT pg_get_serial_sequence('products', 'id')")
    assert owner_value(f"SELECT last_value FROM {sequence}") == 2000


def test_settings_are_split_into_platform_and_restaurant_settings(export):
    code, out, report = migrate(export())

    assert code == 0, out
    with tenant_context(all_tenants=True):
        assert list(PlatformSetting.objects.values_list("platform_id", "setting_key", "setting_value")) == [
            (1, "currency", "GBP")
        ]
        assert list(RestaurantSetting.objects.values_list("restaurant_id", "setting_key", "setting_type")) == [
            (10, "vat_rate", "number")
        ]
    assert report["tables"]["settings"]["targets"] == {"platform_settings": 1, "restaurant_settings": 1}


def test_a_missing_optional_column_takes_its_default(export):
    # given a products export without is_active, track_inventory and created_at
    rows = base_rows()
    header = [c for c in header_of("products") if c not in ("is_active", "track_inventory", "created_at")]

    # when
    code, out, _ = migrate(export(rows, headers={"products": header}))

    # then the database's defaults apply
    assert code == 0, out
    assert owner_rows("products", "is_active, track_inventory, created_at IS NOT NULL") == [(True, False, True)] * 3


def test_a_timestamp_without_zone_is_read_in_the_given_time_zone(export):
    rows = base_rows()
    rows["orders"][0]["created_at"] = "2025-07-01 12:00:00"  # summer: London is UTC+1
    rows["orders"][1]["created_at"] = "2025-07-01T12:00:00+02:00"

    migrate(export(rows))

    utc = owner_rows("orders", "id, to_char(created_at AT TIME ZONE 'UTC', 'HH24:MI')")
    assert utc[:2] == [(500, "11:00"), (501, "10:00")]


def test_the_timezone_option_changes_how_zone_less_timestamps_are_read(export):
    rows = base_rows()
    rows["orders"][0]["created_at"] = "2025-07-01 12:00:00"

    migrate(export(rows), "--timezone", "UTC")

    assert owner_rows("orders", "to_char(created_at AT TIME ZONE 'UTC', 'HH24:MI')")[0] == ("12:00",)


# --- Every rule, each with a row that breaks it ------------------------------------------------


def _copy(rows, table, index, new_id, **changes):
    row = dict(rows[table][index])
    if new_id is not None:
        row["id"] = str(new_id)
    row.update(changes)
    rows[table].append(row)
    return len(rows[table]) + 1  # its line: the header is line 1


RULES = [
    # (label, table, base row, changes, expected column, words of the reason)
    ("integer", "orders", 0, {"items_count": "two"}, "items_count", "is not an integer"),
    ("decimal places", "orders", 0, {"total_amount": "19.885"}, "total_amount", "more than 2 decimal places"),
    ("decimal precision", "orders", 0, {"total_amount": "123456789.00"}, "total_amount", "too large for numeric(10,2)"),
    ("timestamp", "orders", 0, {"created_at": "2025-13-01T10:00:00"}, "created_at", "not an ISO 8601 timestamp"),
    ("date", "employees", 0, {"hire_date": "2024-02-30", "employee_number": "E9"}, "hire_date", "not an ISO 8601 date"),
    ("time", "shifts", 0, {"start_time": "25:00"}, "start_time", "not an ISO 8601 time"),
    ("boolean", "products", 0, {"is_active": "maybe", "sku": "Z"}, "is_active", "not a boolean"),
    ("not null", "orders", 0, {"order_number": ""}, "order_number", "is empty; a value is required"),
    ("length", "orders", 0, {"table_number": "T" * 51}, "table_number", "at most 50 fit"),
    ("order status", "orders", 0, {"status": "lost"}, "status", "is not one of draft, confirmed"),
    ("order type", "orders", 0, {"order_type": "drive_thru"}, "order_type", "is not one of dine_in"),
    ("role", "users", 1, {"role": "chef", "email": "chef@r10.test"}, "role", "is not one of platform_owner"),
    ("payment method", "payments", 0, {"payment_method": "bitcoin"}, "payment_method", "is not one of card"),
    ("negative money", "payments", 0, {"amount": "-1.00"}, "amount", "must not be negative"),
    ("negative quantity", "order_items", 0, {"quantity": "-2"}, "quantity", "must be positive"),
    ("zero refund", "refunds", 0, {"amount": "0.00"}, "amount", "must be more than zero"),
    ("json", "payments", 0, {"processor_response": '{"ok": tru'}, "processor_response", "not valid JSON"),
    ("missing parent", "payments", 0, {"order_id": "99999"}, "order_id", "no orders row has this id"),
    ("item's product of another restaurant", "order_items", 0, {"product_id": "2000"}, "product_id",
     "belongs to restaurant 20, this row to restaurant 10"),
    ("payment's order of another restaurant", "payments", 1, {"order_id": "500"}, "order_id",
     "belongs to restaurant 10, this row to restaurant 20"),
    ("creator of another restaurant", "orders", 2, {"created_by": "2", "order_number": "R20-9"}, "created_by",
     "that user belongs to restaurant 10"),
    ("user's platform is not the restaurant's", "users", 2, {"platform_id": "1", "email": "x@r20.test"},
     "platform_id", "restaurant 20 belongs to platform 2"),
    ("email unique, any case", "users", 1, {"email": "MANAGER@r10.TEST"}, "email", "duplicate email"),
    ("order number unique", "orders", 0, {}, "order_number", "duplicate order_number 'R10-1'"),
    ("sku unique per restaurant", "products", 0, {"name": "Taco 2"}, "sku", "duplicate restaurant_id, sku '10, A'"),
    ("users tenant check", "users", 0, {"restaurant_id": "10", "email": "po2@p1.test"}, None, "users_tenant_check"),
    ("staff without restaurant", "users", 1, {"restaurant_id": "", "email": "lost@r10.test"}, None,
     "users_tenant_check"),
    ("week order", "schedules", 0, {"week_end": "2025-02-01"}, None, "week_end is before week_start"),
    ("duplicate id", "orders", 0, {"id": "500", "order_number": "R10-77"}, "id", "id 500 appears more than once"),
]


def test_every_rule_rejects_the_row_that_breaks_it_with_line_column_and_reason(export, rejects_dir):
    # given one bad copy of a good row per rule, each with a fresh id
    rows = base_rows()
    expected = []
    for number, (label, table, index, changes, column, words) in enumerate(RULES):
        new_id = None if "id" in changes else 900_000 + number
        line = _copy(rows, table, index, new_id, **changes)
        expected.append((label, table, line, column, words))

    # when
    code, out, report = migrate(export(rows), "--rejects", str(rejects_dir))

    # then each bad row is in its table's rejects file, at its line, with its column and reason
    assert code == 1
    problems = []
    for label, table, line, column, words in expected:
        found = [r for r in read_rejects(rejects_dir, table) if r["line"] == str(line)]
        if not found:
            problems.append(f"{label}: {table} line {line} was not rejected")
        elif (column and found[0]["column"] != column) or words not in found[0]["reason"]:
            problems.append(f"{label}: {found[0]['column']} / {found[0]['reason']}")
    assert problems == []
    # and only them: every good row is in
    assert report["tables"]["orders"]["imported"] == 3
    assert sum(t["rejected"] for t in report["tables"].values()) == len(RULES)


def test_a_rejects_file_keeps_the_original_fields(export, rejects_dir):
    rows = base_rows()
    line = _copy(rows, "orders", 0, 909, status="lost", customer_name='Ann "the, cook"')

    migrate(export(rows), "--rejects", str(rejects_dir))

    (reject,) = read_rejects(rejects_dir, "orders")
    assert reject["id"] == "909" and reject["customer_name"] == 'Ann "the, cook"' and reject["status"] == "lost"
    assert (reject["line"], reject["column"]) == (str(line), "status")


def test_a_row_with_too_few_fields_is_rejected(tmp_path, export, rejects_dir):
    folder = export()
    path = folder / "categories_export.csv"
    path.write_text(path.read_text() + "300,10,Drinks\n")

    migrate(folder, "--rejects", str(rejects_dir))

    (reject,) = read_rejects(rejects_dir, "categories")
    assert reject["line"] == "4" and "the row has 3 fields, the header 7" in reject["reason"]


def test_a_row_the_database_refuses_is_rejected_with_its_reason_and_the_others_go_in(export, rejects_dir):
    # given a check constraint the importer cannot know of, and an order that breaks it
    with connections["owner"].cursor() as cursor:
        cursor.execute("ALTER TABLE orders ADD CONSTRAINT test_no_bad_table CHECK (table_number IS DISTINCT FROM 'BAD')")
    rows = base_rows()
    rows["orders"][1]["table_number"] = "BAD"
    try:
        # when
        code, out, report = migrate(export(rows), "--rejects", str(rejects_dir))
    finally:
        with connections["owner"].cursor() as cursor:
            cursor.execute("ALTER TABLE orders DROP CONSTRAINT test_no_bad_table")

    # then the batch was retried by halves: that row is rejected with the database's reason
    assert code == 1
    (reject,) = read_rejects(rejects_dir, "orders")
    assert reject["line"] == "3" and reject["id"] == "501"
    assert reject["reason"].startswith("the database refused the row:") and "test_no_bad_table" in reject["reason"]
    assert report["tables"]["orders"]["batches_retried"] == 1
    assert owner_rows("orders", "id") == [(500,), (600,)]


# --- Dependent rejects --------------------------------------------------------------------------


def test_rows_that_depend_on_a_rejected_row_are_rejected_naming_it(export, rejects_dir):
    # given an order rejected for its status, with an item, a payment and a refund
    rows = base_rows()
    order_line = _copy(rows, "orders", 0, 777, status="lost", order_number="R10-777")
    _copy(rows, "order_items", 0, 7770, order_id="777")
    _copy(rows, "payments", 0, 7771, order_id="777")
    _copy(rows, "refunds", 0, 7772, order_id="500", payment_id="7771")

    # when
    code, _, report = migrate(export(rows), "--rejects", str(rejects_dir))

    # then the children (and the payment's refund) are rejected too, each naming what it depends on
    assert code == 1
    (item,) = read_rejects(rejects_dir, "order_items")
    assert item["reason"] == (
        f"order_id 777: depends on orders id 777, rejected (orders_export.csv line {order_line})"
    )
    (payment,) = read_rejects(rejects_dir, "payments")
    assert "depends on orders id 777" in payment["reason"]
    (refund,) = read_rejects(rejects_dir, "refunds")
    assert refund["column"] == "payment_id" and "depends on payments id 7771, rejected" in refund["reason"]
    assert owner_rows("order_items", "id") == [(5000,), (5001,), (6000,)]


def test_a_reference_to_a_row_already_in_the_database_is_accepted(export):
    # given the parents imported first, then an export of only new payments
    migrate(export())
    rows = {"payments": [dict(base_rows()["payments"][0], id="7100", transaction_id="tx-2")]}

    code, out, report = migrate(export(rows))

    assert code == 0, out
    assert report["tables"]["payments"]["imported"] == 1


# --- Input hygiene --------------------------------------------------------------------------------


def test_utf8_with_bom_and_crlf_line_ends_is_read(export):
    rows = base_rows()
    rows["restaurants"][0]["name"] = "Café Olé 🌮"

    code, out, _ = migrate(export(rows, bom=True, newline="\r\n"))

    assert code == 0, out
    assert owner_rows("restaurants", "name")[0] == ("Café Olé 🌮",)
    assert owner_rows("orders", "order_number")[0] == ("R10-1",)  # no \r left at line ends


def test_cp1252_needs_the_encoding_option(export, rejects_dir):
    rows = base_rows()
    rows["restaurants"][0]["name"] = "Café £ Olé"
    folder = export(rows, encoding="cp1252")

    code, out, report = migrate(folder, "--rejects", str(rejects_dir))
    assert code == 1
    assert report["tables"]["restaurants"]["status"] == "unparseable"
    assert "line 2" in report["tables"]["restaurants"]["error"] and "--encoding" in report["tables"]["restaurants"]["error"]

    code, out, _ = migrate(folder, "--encoding", "cp1252")
    assert code == 0, out
    assert owner_rows("restaurants", "name")[0] == ("Café £ Olé",)


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_a_binary_file_named_like_an_export_is_said_not_to_be_text(export, encoding):
    # given an image renamed orders_export.csv
    folder = export()
    (folder / "orders_export.csv").write_bytes(PNG + bytes(range(256)) * 4)

    # when it is imported, with or without the encoding a decoding error would suggest
    code, out, report = migrate(folder, "--encoding", encoding)

    # then the file is said not to be text; no --encoding advice, no column read from it
    orders = report["tables"]["orders"]
    assert code == 1, out
    assert orders["status"] == "unparseable"
    assert "not a CSV text file" in orders["error"] and "PNG image" in orders["error"]
    assert "--encoding" not in out and "unknown column" not in out


def test_a_stray_nul_in_a_text_file_is_reported_on_its_line(export):
    folder = export()
    path = folder / "orders_export.csv"
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b",", b",\x00", 1)
    path.write_bytes(b"\n".join(lines))

    _, _, report = migrate(folder)

    assert report["tables"]["orders"]["error"] == "line 3: NUL character in the data"


def test_quoted_fields_hold_commas_quotes_and_newlines_and_empty_is_null(export):
    rows = base_rows()
    rows["orders"][0]["customer_name"] = 'Smith, "Jo"\nline two'
    rows["orders"][0]["table_number"] = ""  # NULL
    rows["products"][0]["description"] = "a,b"

    code, out, _ = migrate(export(rows))

    assert code == 0, out
    assert owner_rows("orders", "customer_name, table_number")[0] == ('Smith, "Jo"\nline two', None)
    assert owner_rows("products", "description")[0] == ("a,b",)


def test_a_quoted_empty_field_is_an_empty_string_not_null(export):
    folder = export()
    path = folder / "orders_export.csv"
    lines = path.read_text().splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    fields = lines[1].rstrip("\n").split(",")
    fields[header.index("customer_name")] = '""'
    fields[header.index("table_number")] = ""
    lines[1] = ",".join(fields) + "\n"
    path.write_text("".join(lines))

    code, out, _ = migrate(folder)

    assert code == 0, out
    assert owner_rows("orders", "customer_name, table_number")[0] == ("", None)


def test_a_file_that_cannot_be_parsed_is_reported_with_its_line_and_nothing_of_it_is_written(export, rejects_dir):
    # given an order line whose quote never closes (line 4), after two good lines
    folder = export()
    path = folder / "orders_export.csv"
    lines = path.read_text().splitlines(keepends=True)
    lines[3] = lines[3].replace("R20-1", '"R20-1', 1)
    path.write_text("".join(lines))

    # when
    code, out, report = migrate(folder, "--rejects", str(rejects_dir))

    # then nothing of orders is written, the line is named, and the orders' children are rejected
    assert code == 1
    assert report["tables"]["orders"]["status"] == "unparseable"
    assert report["tables"]["orders"]["error"].startswith("line 4:")
    assert owner_rows("orders") == []
    assert "orders_export.csv could not be parsed" in read_rejects(rejects_dir, "order_items")[0]["reason"]
    assert any("could not be parsed" in line for line in report["unbalanced"])
    assert owner_rows("products", "id") != []  # the other tables went in


def test_checking_that_a_file_parses_holds_no_more_than_a_record_in_memory(tmp_path):
    # given a file whose every record is quoted (as payments with their JSON are)
    from fynlo.cutover.legacy.source import SourceFile, scan

    path = tmp_path / "payments_export.csv"
    with open(path, "w", encoding="utf-8") as file:
        file.write("id,processor_response\n")
        for number in range(100_000):
            file.write(f'{number},"{{""charge"": ""ch_{number}"", ""padding"": ""{"x" * 80}""}}"\n')
    source_file = SourceFile(table="payments", name=path.name, size=path.stat().st_size,
                             _opener=lambda: open(path, "rb"))

    # when
    tracemalloc.start()
    scanned = scan(source_file)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    # then its records are counted, and memory stays at a few read chunks, not the file's 13 MB
    assert scanned.rows == 100_000
    assert peak < 6_000_000


def test_an_unknown_column_stops_the_import_before_anything_is_written(export):
    rows = base_rows()
    header = header_of("orders") + ["loyalty_points"]

    with pytest.raises(CommandError) as raised:
        call_command("migrate_legacy", str(export(rows, headers={"orders": header})), stdout=io.StringIO())

    assert raised.value.returncode == 2
    assert "orders_export.csv: unknown column 'loyalty_points'" in str(raised.value)
    assert owner_rows("platforms") == []


def test_a_missing_required_column_stops_the_import(export):
    header = [c for c in header_of("payments") if c != "payment_method"]

    with pytest.raises(CommandError, match="payments_export.csv: missing required column 'payment_method'"):
        call_command("migrate_legacy", str(export(headers={"payments": header})), stdout=io.StringIO())


def test_a_zip_and_a_tar_gz_of_the_folder_are_read(tmp_path, export):
    folder = export()
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in folder.iterdir():
            zipped.write(path, f"export/{path.name}")
    code, out, report = migrate(archive)
    assert code == 0, out
    assert report["tables"]["order_items"]["imported"] == 3

    tarball = tmp_path / "export.tar.gz"
    with tarfile.open(tarball, "w:gz") as tarred:
        tarred.add(folder, arcname="export")
    code, out, report = migrate(tarball)
    assert code == 0, out
    assert report["tables"]["order_items"]["already_present"] == 3


def test_plain_table_named_files_are_found_too(export):
    folder = export()
    (folder / "orders_export.csv").rename(folder / "orders.csv")

    code, out, report = migrate(folder)

    assert code == 0, out
    assert report["tables"]["orders"]["file"] == "orders.csv"


@pytest.mark.parametrize("names", [[], ["legacy_orders.csv", "Orders Export.csv"]])
def test_an_export_with_no_table_file_is_an_error_naming_the_expected_files(tmp_path, names):
    # given a folder that is empty, or whose files are all misnamed
    folder = tmp_path / "export"
    folder.mkdir()
    for name in names:
        (folder / name).write_text("id,order_number\n1,R1\n")

    # when
    code, out, report = migrate(folder)

    # then exit 2, in one line naming the files expected (and the ones ignored), nothing imported
    assert code == 2, out
    message = out.split("CommandError: ", 1)[1]
    assert "\n" not in message
    assert "no export file found" in message and "orders_export.csv" in message and "platforms_export.csv" in message
    assert all(name in message for name in names)
    assert report == {} and owner_rows("orders") == []


def test_ignored_files_head_the_summary(export):
    folder = export()
    (folder / "legacy_orders.csv").write_text("id\n1\n")

    code, out, report = migrate(folder)

    assert code == 0, out
    assert report["ignored_files"] == ["legacy_orders.csv"]
    assert out.splitlines()[0] == "format: guide (detected)"
    assert "ignored files" in out.splitlines()[2] and "legacy_orders.csv" in out.splitlines()[2]


# --- Idempotency, conflicts, dry run -----------------------------------------------------------------


def _row_versions() -> dict:
    """(id, xmin) of every row of the imported tables: any write changes one."""
    versions = {}
    for table in ("platforms", "restaurants", "users", "products", "orders", "order_items", "payments", "refunds",
                  "platform_settings", "restaurant_settings"):
        versions[table] = owner_rows(table, "id, xmin::text")
    return versions


def test_a_second_run_writes_nothing_and_counts_every_row_as_already_present(export):
    # given a first import
    folder = export()
    assert migrate(folder)[0] == 0
    before = _row_versions()

    # when the same export runs again
    code, out, report = migrate(folder)

    # then nothing was written, every row is already present, and all is well
    assert code == 0, out
    assert _row_versions() == before
    orders = report["tables"]["orders"]
    assert (orders["rows_in"], orders["imported"], orders["already_present"]) == (3, 0, 3)
    assert report["tables"]["settings"]["already_present"] == 2
    assert report["tables"]["users"]["already_present"] == 4


def test_a_row_that_differs_from_the_database_is_a_conflict_and_is_not_overwritten(export, rejects_dir):
    # given an import, then the database's order 600 changed afterwards
    folder = export()
    migrate(folder)
    with connections["owner"].cursor() as cursor:
        cursor.execute("UPDATE orders SET total_amount = 99.99, status = 'draft' WHERE id = 600")

    # when
    code, out, report = migrate(folder, "--rejects", str(rejects_dir))

    # then it is reported, exit 1, and the database keeps its value
    assert code == 1
    assert report["conflicts"]["orders"] == [{"key": "600", "line": 4, "columns": ["status", "total_amount"]}]
    assert report["tables"]["orders"]["conflicts"] == 1
    assert "rows differ from the database" in out
    (reject,) = read_rejects(rejects_dir, "orders")
    assert "differs from the row with this id in the database: status, total_amount" in reject["reason"]
    assert owner_rows("orders", "total_amount", order="id")[2] == (Decimal("99.99"),)


def test_a_legacy_hash_upgraded_at_login_is_not_a_conflict(export):
    folder = export()
    migrate(folder)
    assert authenticate(email="manager@r10.test", password=PASSWORDS["manager@r10.test"]) is not None

    code, out, report = migrate(folder)

    assert code == 0, out
    assert report["tables"]["users"]["already_present"] == 4


def test_a_second_run_under_another_secret_key_is_not_a_conflict(export, settings):
    # given an import whose cook has a non-bcrypt hash (stored as an unusable password)
    folder = export()
    assert migrate(folder)[0] == 0
    before = _row_versions()

    # when the same export runs again from a checkout with another secret key
    settings.SECRET_KEY = "another-checkout-another-secret-key-0123456789abcdef"
    code, out, report = migrate(folder)

    # then the cook is already present, not a conflict, and nothing was written
    assert code == 0, out
    assert report["conflicts"] == {} and report["tables"]["users"]["already_present"] == 4
    assert _row_versions() == before


def test_an_unusable_password_reset_by_its_user_since_the_import_is_not_a_conflict(export):
    # given an import, then the cook (whose legacy hash was unusable) set a new password as told
    folder = export()
    migrate(folder)
    with tenant_context(all_tenants=True):
        cook = User.objects.get(id=4)
        cook.set_password("a-new-password-for-the-cook")
        cook.save(update_fields=["password"])

    # when the import runs again
    code, out, report = migrate(folder)

    # then the cook is already present and keeps the new password
    assert code == 0, out
    assert report["tables"]["users"]["already_present"] == 4
    assert authenticate(email="cook@r10.test", password="a-new-password-for-the-cook") is not None


def test_a_dry_run_writes_nothing_and_reports_what_a_run_would(export, rejects_dir, tmp_path):
    # given a bad row
    rows = base_rows()
    _copy(rows, "orders", 0, 909, status="lost")
    folder = export(rows)

    # when
    code, out, report = migrate(folder, "--dry-run", "--rejects", str(rejects_dir))

    # then the same report and rejects as a real run, and an empty database
    assert code == 1
    assert "dry run" in out
    assert report["tables"]["orders"]["imported"] == 3 and report["tables"]["orders"]["rejected"] == 1
    assert len(read_rejects(rejects_dir, "orders")) == 1
    for table in ("platforms", "orders", "order_items", "platform_settings"):
        assert owner_rows(table) == [], table
    real_rejects = tmp_path / "real"
    _, _, real = migrate(folder, "--rejects", str(real_rejects))
    assert {t: (v["imported"], v["rejected"]) for t, v in real["tables"].items()} == {
        t: (v["imported"], v["rejected"]) for t, v in report["tables"].items()
    }
    assert read_rejects(real_rejects, "orders") == read_rejects(rejects_dir, "orders")
    # and a dry run over imported rows compares them, still writing nothing
    before = _row_versions()
    _, _, again = migrate(folder, "--dry-run", "--rejects", str(rejects_dir))
    assert (again["tables"]["orders"]["already_present"], again["tables"]["orders"]["imported"]) == (3, 0)
    assert _row_versions() == before


def test_only_imports_the_named_tables(export):
    migrate(export(), "--only", "platforms", "restaurants")

    assert owner_rows("restaurants", "id") == [(10,), (20,)]
    assert owner_rows("orders") == []


# --- Exit codes ------------------------------------------------------------------------------------


def test_exit_codes(export, tmp_path):
    assert migrate(export())[0] == 0

    rows = base_rows()
    _copy(rows, "orders", 0, 909, status="lost")
    assert migrate(write_export(tmp_path / "bad", rows))[0] == 1

    for args in (
        [str(tmp_path / "missing")],
        [str(export()), "--timezone", "Mars/Olympus"],
        [str(export()), "--encoding", "klingon"],
        [str(export()), "--only", "menu_items"],
    ):
        with pytest.raises(CommandError) as raised:
            call_command("migrate_legacy", *args, stdout=io.StringIO())
        assert raised.value.returncode == 2
        assert "\n" not in str(raised.value)


def test_a_failed_run_says_where_its_details_are(export, tmp_path):
    rows = base_rows()
    _copy(rows, "orders", 0, 909, status="lost")
    folder = write_export(tmp_path / "bad", rows)
    rejects = tmp_path / "rejects"

    # without --report: the rejects folder, and how to get the report
    with pytest.raises(CommandError) as raised:
        call_command("migrate_legacy", str(folder), "--rejects", str(rejects), stdout=io.StringIO(),
                     stderr=io.StringIO())
    assert raised.value.returncode == 1
    assert f"the rejected rows in {rejects}/" in str(raised.value) and "--report FILE" in str(raised.value)
    assert "see the report" not in str(raised.value)

    # with it: the report's path
    code, out, _ = migrate(folder, "--rejects", str(rejects))
    assert code == 1 and f"the report {folder}.report.json" in out


# --- Users ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("email", sorted(PASSWORDS))
def test_every_legacy_bcrypt_user_logs_in_with_the_old_password(export, email):
    migrate(export())

    user = authenticate(email=email, password=PASSWORDS[email])

    assert user is not None and user.email.lower() == email
    assert authenticate(email=email, password="wrong") is None


def test_a_non_bcrypt_hash_becomes_an_unusable_password_and_is_listed(export):
    code, out, report = migrate(export())

    assert report["unusable_passwords"] == [{"id": 4, "email": "cook@r10.test", "line": 5}]
    assert "1 legacy password hashes are not bcrypt" in out
    with tenant_context(all_tenants=True):
        cook = User.objects.get(id=4)
    assert not cook.has_usable_password()
    assert authenticate(email="cook@r10.test", password="md5$salt$0123456789abcdef0123456789abcdef") is None


# --- Reconciliation -------------------------------------------------------------------------------------


def test_the_reconciliation_compares_counts_and_money_per_restaurant(export):
    rows = base_rows()
    _copy(rows, "orders", 0, 909, status="lost", order_number="R10-909", total_amount="10.00")

    code, out, report = migrate(export(rows))

    by_id = {entry["restaurant_id"]: entry for entry in report["reconciliation"]["restaurants"]}
    ten = by_id[10]
    assert ten["tables"]["orders"] == {"source": 3, "rejected": 1, "database": 2}
    assert ten["sums"]["orders.total_amount"] == {"source": "29.88", "rejected": "10.00", "database": "19.88"}
    assert ten["sums"]["payments.amount"] == {"source": "19.88", "rejected": "0", "database": "19.88"}
    assert ten["sums"]["refunds.amount"]["database"] == "3.50"
    assert ten["balanced"] is True
    assert by_id[20]["sums"]["orders.total_amount"]["database"] == "5.30"
    assert "[ok] 10 Ten" in out


def test_the_reconciliation_shows_a_restaurant_whose_database_differs(export):
    # given an import, then an order of restaurant 10 that the export does not have
    folder = export()
    migrate(folder)
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "INSERT INTO orders (id, restaurant_id, order_number, total_amount) VALUES (999, 10, 'EXTRA', 1.00)"
        )

    _, out, report = migrate(folder)

    by_id = {e["restaurant_id"]: e for e in report["reconciliation"]["restaurants"]}
    assert by_id[10]["balanced"] is False
    assert by_id[10]["tables"]["orders"] == {"source": 2, "rejected": 0, "database": 3}
    assert by_id[10]["sums"]["orders.total_amount"]["database"] == "20.88"
    assert by_id[20]["balanced"] is True
    assert "[DIFFERS] 10 Ten" in out


# --- Tenancy: the runtime role sees the imported data per restaurant ------------------------------------


def test_the_runtime_role_sees_each_restaurants_imported_rows_only_under_its_tenant(export):
    migrate(export())

    with tenant_context(restaurant=10):
        assert sorted(Order.objects.values_list("id", flat=True)) == [500, 501]
        assert sorted(OrderItem.objects.values_list("id", flat=True)) == [5000, 5001]
        assert list(Payment.objects.values_list("id", flat=True)) == [7000]
        assert list(Refund.objects.values_list("id", flat=True)) == [8000]
        assert sorted(Product.objects.values_list("sku", flat=True)) == ["A", "B"]
    with tenant_context(restaurant=20):
        assert list(Order.objects.values_list("id", flat=True)) == [600]
        assert list(OrderItem.objects.values_list("id", flat=True)) == [6000]
    with tenant_context(platform=2):
        assert list(Order.objects.values_list("id", flat=True)) == [600]
    # no tenant: nothing
    assert Order.objects.count() == 0
