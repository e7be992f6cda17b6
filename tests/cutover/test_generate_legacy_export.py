"""`generate_legacy_export`: a synthetic legacy export that is consistent, seeded, streamed, and whose bad
rows are exactly where its manifest says.

The audit below reads an export back the way an importer would (model metadata for types, choices,
NOT NULL, CHECK and UNIQUE constraints; the references with their restaurant) and reports every row it
would reject, with why. A good export has none; an export with bad rows has exactly the manifest's.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import tarfile
import zipfile
from collections import Counter, defaultdict
from datetime import date, datetime, time
from decimal import Decimal
from io import StringIO
from pathlib import Path

import bcrypt
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import models
from django.db.models.functions import Lower

from fynlo.core.money import percent_of
from fynlo.cutover.common import Progress
from fynlo.cutover.legacy.generate import (
    BAD_KINDS,
    PROJECT_TABLES,
    export_tables,
    generate_export,
    legacy_columns,
    legacy_password,
    money,
    percent,
)
from fynlo.cutover.legacy.schema import SETTINGS_TARGETS, source_order, table_specs
from tenants.models import SettingType

# Columns the guide never defines but uses (its URL step), which the legacy export therefore has.
COMPLETIONS = {"users": {"profile_image_url"}, "orders": {"receipt_url"}}
REFUNDS_COLUMNS = {"id", "restaurant_id", "order_id", "payment_id", "amount", "reason", "status", "processed_by",
                   "processed_at", "created_at", "updated_at"}
SETTINGS_COLUMNS = ["entity_type", "entity_id", "setting_key", "setting_value", "setting_type"]

# Child tables without restaurant_id in the legacy export: their restaurant is their parent's.
PARENT_RESTAURANT = {"order_items": "order_id", "restock_order_items": "restock_order_id", "user_permissions": "user_id"}
# References the models do not declare as foreign keys.
EXTRA_REFERENCES = {"commission_records": {"order_id": "orders"}}
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}| \d{2}:\d{2}:\d{2})$")


# --- Reading an export back ---------------------------------------------------------------------


def read_records(path: Path, encoding: str = "utf-8") -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and (start line, fields) of every record; the header is line 1."""
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        records = []
        while True:
            start = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                break
            records.append((start, fields))
    return header, records


def columns_of(model) -> dict[str, models.Field]:
    return {f.column: f for f in model._meta.concrete_fields}


def check_rules(model) -> dict[str, list[tuple[str, Decimal]]]:
    """{column: [(lookup, bound)]} from the model's CheckConstraints of the form `column__gte=0`."""
    rules = defaultdict(list)
    for constraint in model._meta.constraints:
        if not isinstance(constraint, models.CheckConstraint):
            continue
        for child in constraint.condition.children:
            if isinstance(child, tuple) and child[0].rsplit("__", 1)[-1] in ("gt", "gte", "lte"):
                name, lookup = child[0].rsplit("__", 1)
                if isinstance(child[1], (int, Decimal)):
                    rules[model._meta.get_field(name).column].append((lookup, Decimal(child[1])))
    return rules


def unique_keys(model, header: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    """(name, columns) of every unique key whose columns are in the legacy header; `lower(email)` as `email_ci`."""
    keys = []
    for f in model._meta.concrete_fields:
        if f.unique and not f.primary_key and f.column in header:
            keys.append((f.column, (f.column,)))
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint):
            if constraint.fields:
                cols = tuple(model._meta.get_field(name).column for name in constraint.fields)
                if all(c in header for c in cols):
                    keys.append((constraint.name, cols))
            elif any(isinstance(e, Lower) for e in constraint.expressions):
                keys.append(("email_ci", ("email",)))
    return keys


def parse_value(field: models.Field, text: str):
    """The value of a non-empty field, or raise ValueError with the bad kind."""
    if isinstance(field, (models.AutoField, models.IntegerField, models.ForeignKey)):
        if not re.fullmatch(r"-?\d+", text):
            raise ValueError("non_integer_id" if field.primary_key else "invalid_integer")
        return int(text)
    if isinstance(field, models.DecimalField):
        match = re.fullmatch(r"-?(\d+)(?:\.(\d+))?", text)
        if not match:
            raise ValueError("invalid_decimal")
        if len(match[2] or "") > field.decimal_places or len(match[1]) > field.max_digits - field.decimal_places:
            raise ValueError("too_many_decimals")
        return Decimal(text)
    if isinstance(field, models.BooleanField):
        if text not in ("t", "f"):
            raise ValueError("invalid_boolean")
        return text == "t"
    if isinstance(field, models.DateTimeField):
        try:
            assert TIMESTAMP.match(text)
            return datetime.fromisoformat(text)
        except (AssertionError, ValueError):
            raise ValueError("invalid_timestamp") from None
    if isinstance(field, models.DateField):
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError("invalid_date") from None
    if isinstance(field, models.TimeField):
        try:
            return time.fromisoformat(text)
        except ValueError:
            raise ValueError("invalid_time") from None
    if isinstance(field, models.JSONField):
        try:
            return json.loads(text)
        except ValueError:
            raise ValueError("invalid_json") from None
    if field.choices and text not in {value for value, _ in field.choices}:
        raise ValueError("unknown_choice")
    if getattr(field, "max_length", None) and len(text) > field.max_length:
        raise ValueError("too_long")
    return text


class Audit:
    """Everything an importer would see in an export: the good rows by table and id, the rejected rows."""

    def __init__(self, dest: Path, *, encoding: str = "utf-8"):
        self.dest = dest
        self.headers: dict[str, list[str]] = {}
        self.good: dict[str, dict[int, dict]] = {}
        self.rejected: dict[tuple[str, int], set[str]] = {}  # (table, line) -> kinds
        self.rejected_ids: dict[str, set[str]] = defaultdict(set)
        self.lines: dict[str, dict[int, dict]] = {}  # table -> line -> raw row
        self.settings: list[dict] = []
        # stock movements name an order or a restock order by reference_id (no foreign key, so
        # the load order may put them first): read them last
        for table in sorted(export_tables(), key=lambda table: table == "stock_movements"):
            path = dest / f"{table}_export.csv"
            if path.exists():
                self.read(table, path, encoding)

    def restaurant_of(self, table: str, row: dict) -> int | None:
        if "restaurant_id" in row:
            return row["restaurant_id"]
        if table in PARENT_RESTAURANT:
            parent_table = {"order_id": "orders", "restock_order_id": "restock_orders", "user_id": "users"}[
                PARENT_RESTAURANT[table]]
            parent = self.good[parent_table].get(row[PARENT_RESTAURANT[table]])
            return parent and parent.get("restaurant_id")
        return None

    def reject(self, table: str, line: int, raw: dict, kinds: set[str]) -> None:
        self.rejected[(table, line)] = kinds
        ident = raw.get("id") or ""
        self.rejected_ids[table].update({ident, ident.rstrip("x")})

    def read(self, table: str, path: Path, encoding: str) -> None:
        header, records = read_records(path, encoding)
        self.headers[table] = header
        self.lines[table] = {}
        if table == "settings":
            return self.read_settings(records)
        model = table_specs()[table].model
        fields = columns_of(model)
        rules = check_rules(model)
        keys = unique_keys(model, header)
        seen = {name: set() for name, _ in keys}
        references = {f.column: f.related_model._meta.db_table for f in model._meta.concrete_fields
                      if f.is_relation and f.column in header}
        references.update(EXTRA_REFERENCES.get(table, {}))
        self.good[table] = {}
        for line, values in records:
            assert len(values) == len(header), f"{table}:{line} has {len(values)} fields"
            raw = dict(zip(header, values))
            self.lines[table][line] = raw
            kinds, row = set(), {}
            for column, text in raw.items():
                field = fields[column]
                if text == "":
                    row[column] = None
                    if not field.null:
                        kinds.add("missing_required")
                    continue
                try:
                    row[column] = parse_value(field, text)
                except ValueError as error:
                    kinds.add(str(error))
                    row[column] = None
                    continue
                for lookup, bound in rules.get(column, ()):
                    value = row[column]
                    if (lookup == "gte" and value < bound) or (lookup == "gt" and value <= bound) or (
                            lookup == "lte" and value > bound):
                        kinds.add("negative_value" if lookup != "lte" else "out_of_range")
            kinds |= self.reference_faults(table, raw, row, references)
            kinds |= self.row_rules(table, row)
            if not kinds:
                for name, cols in keys:
                    key = tuple(row[c].lower() if name == "email_ci" else row[c] for c in cols)
                    if None in key:
                        continue
                    if key in seen[name]:
                        kinds.add("duplicate_key")
                    seen[name].add(key)
            if kinds:
                self.reject(table, line, raw, kinds)
            else:
                self.good[table][row["id"]] = row

    def reference_faults(self, table: str, raw: dict, row: dict, references: dict[str, str]) -> set[str]:
        kinds = set()
        restaurant = None
        if row.get("restaurant_id") is not None:
            restaurant = row["restaurant_id"]
            if restaurant not in self.good["restaurants"] and table != "restaurants":
                return {"depends_on" if raw["restaurant_id"] in self.rejected_ids["restaurants"] else "missing_parent"}
        for column, parent_table in references.items():
            value = row.get(column)
            if value is None or (table == "restaurants" and column == "id"):
                continue
            if column == "restaurant_id":  # checked above
                continue
            parent = self.good[parent_table].get(value)
            if parent is None:
                kinds.add("depends_on" if raw[column] in self.rejected_ids[parent_table] else "missing_parent")
                continue
            if table in PARENT_RESTAURANT and column == PARENT_RESTAURANT[table]:
                continue
            mine = restaurant if restaurant is not None else self.restaurant_of(table, row)
            theirs = parent.get("restaurant_id") if parent_table != "restaurants" else parent["id"]
            if mine is not None and theirs is not None and mine != theirs:
                kinds.add("restaurant_mismatch")
        return kinds

    def row_rules(self, table: str, row: dict) -> set[str]:
        kinds = set()
        restaurants = self.good.get("restaurants", {})
        if table == "users":
            if (row["role"] == "platform_owner") != (row["restaurant_id"] is None):
                kinds.add("tenant_check")
            elif row["restaurant_id"] in restaurants and row["platform_id"] != restaurants[row["restaurant_id"]]["platform_id"]:
                kinds.add("platform_mismatch")
        if table == "commission_records" and row["restaurant_id"] in restaurants:
            if row["platform_id"] != restaurants[row["restaurant_id"]]["platform_id"]:
                kinds.add("platform_mismatch")
        if table == "restaurant_subscriptions" and row["restaurant_id"] in restaurants:
            plan = self.good["subscription_plans"].get(row["plan_id"])
            if plan and plan["platform_id"] != restaurants[row["restaurant_id"]]["platform_id"]:
                kinds.add("platform_mismatch")
        if table == "schedules" and row["week_start"] and row["week_end"] and row["week_end"] < row["week_start"]:
            kinds.add("date_order")
        if table == "stock_movements" and row["reference_type"] in ("order", "restock"):
            parent = self.good["orders" if row["reference_type"] == "order" else "restock_orders"].get(row["reference_id"])
            if parent is None or parent["restaurant_id"] != row["restaurant_id"]:
                kinds.add("missing_parent")
        return kinds

    def read_settings(self, records) -> None:
        seen = set()
        for line, values in records:
            raw = dict(zip(SETTINGS_COLUMNS, values))
            self.lines["settings"][line] = raw
            kinds = set()
            parents = {"platform": "platforms", "restaurant": "restaurants"}
            if raw["entity_type"] not in parents:
                kinds.add("unknown_choice")
            elif not re.fullmatch(r"\d+", raw["entity_id"]) or int(raw["entity_id"]) not in self.good[parents[raw["entity_type"]]]:
                kinds.add("missing_parent")
            if not raw["setting_key"]:
                kinds.add("missing_required")
            if raw["setting_type"] not in SettingType.values:
                kinds.add("unknown_choice")
            key = (raw["entity_type"], raw["entity_id"], raw["setting_key"])
            if not kinds:
                if key in seen:
                    kinds.add("duplicate_key")
                seen.add(key)
            if kinds:
                self.rejected[("settings", line)] = kinds
            else:
                self.settings.append(raw)


def expected_rejects(manifest) -> dict[tuple[str, int], str]:
    return {(entry["table"], entry["line"]): entry["kind"] for entry in manifest.bad}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    dest = tmp_path_factory.mktemp("legacy") / "export"
    return generate_export(dest, platforms=2, restaurants_per_platform=2, orders=200, seed=7)


@pytest.fixture(scope="module")
def small_audit(small):
    return Audit(small.dest)


# --- A good export ------------------------------------------------------------------------------------


def test_a_small_export_has_every_table_and_nothing_an_importer_would_reject(small, small_audit):
    # given a 2 x 2 export of 200 orders without bad rows
    # then every table has its file and rows, and the audit rejects nothing
    assert set(small.files) == set(export_tables())
    assert all(small.rows[table] > 0 for table in export_tables()), small.rows
    assert small.bad == []
    assert small_audit.rejected == {}
    for table in export_tables():
        read = len(small_audit.lines[table])
        assert read == small.rows[table], table
    assert len(small_audit.good["orders"]) == 200
    assert len(small_audit.good["restaurants"]) == 4 and len(small_audit.good["platforms"]) == 2


def test_headers_are_the_guides_columns(small, small_audit):
    """Compared with the guide's CREATE TABLE blocks (parsed at test time), plus the two URL columns its
    URL step uses; refunds and the settings file as issue 4 defines them."""
    from tests.core.test_schema import guide_schema

    schema = guide_schema()
    for table in export_tables():
        header = small_audit.headers[table]
        assert len(header) == len(set(header)), table
        assert tuple(header) == legacy_columns(table), table
        if table == "settings":
            assert header == SETTINGS_COLUMNS
        elif table == "refunds":
            assert set(header) == REFUNDS_COLUMNS
        else:
            assert set(header) == set(schema[table]) | COMPLETIONS.get(table, set()), table
    assert "restaurant_id" not in small_audit.headers["order_items"]
    assert "restaurant_id" not in small_audit.headers["restock_order_items"]
    assert "is_superuser" not in small_audit.headers["users"] and "password_hash" in small_audit.headers["users"]


def test_money_holds_together(small, small_audit):
    good = small_audit.good
    items_by_order = defaultdict(list)
    for item in good["order_items"].values():
        assert item["total_price"] == item["unit_price"] * item["quantity"]
        assert item["unit_price"] == good["products"][item["product_id"]]["price"]
        items_by_order[item["order_id"]].append(item)
    payments_by_order = defaultdict(list)
    for payment in good["payments"].values():
        payments_by_order[payment["order_id"]].append(payment)
    plan_rate = {}
    for subscription in good["restaurant_subscriptions"].values():
        if subscription["status"] == "active":
            plan = good["subscription_plans"][subscription["plan_id"]]
            assert subscription["commission_rate"] == plan["commission_rate"]
            plan_rate[subscription["restaurant_id"]] = plan["commission_rate"]
    sums = defaultdict(lambda: defaultdict(Decimal))
    for order in good["orders"].values():
        subtotal = sum(item["total_price"] for item in items_by_order[order["id"]])
        assert order["subtotal"] == subtotal
        assert order["items_count"] == len(items_by_order[order["id"]])
        assert order["tax_amount"] == percent_of(subtotal, Decimal("20.00"))
        assert order["service_charge"] == percent_of(subtotal, Decimal("12.50"))
        assert order["discount_amount"] in (Decimal("0.00"), percent_of(subtotal, Decimal("10.00")))
        assert order["total_amount"] == (order["subtotal"] + order["tax_amount"] + order["service_charge"]
                                         - order["discount_amount"])
        payments = payments_by_order[order["id"]]
        assert len(payments) in (1, 2)
        assert sum(p["amount"] for p in payments) == order["total_amount"]
        rate = plan_rate[order["restaurant_id"]]
        for payment in payments:
            assert payment["commission_rate"] == rate
            assert payment["commission_amount"] == percent_of(payment["amount"], rate)
            expected = {"completed": {"completed", "refunded"}, "cancelled": {"failed"}}.get(order["status"], {"pending"})
            assert payment["status"] in expected
        sums[order["restaurant_id"]]["orders_total"] += order["total_amount"]
        sums[order["restaurant_id"]]["orders"] += 1
        sums[order["restaurant_id"]]["payments"] += len(payments)
        sums[order["restaurant_id"]]["payments_amount"] += sum(p["amount"] for p in payments)
    commission_orders = set()
    for record in good["commission_records"].values():
        order = good["orders"][record["order_id"]]
        assert order["status"] == "completed" and record["gross_amount"] == order["total_amount"]
        assert record["commission_amount"] == percent_of(record["gross_amount"], plan_rate[record["restaurant_id"]])
        commission_orders.add(record["order_id"])
    completed = {o["id"] for o in good["orders"].values() if o["status"] == "completed"}
    assert commission_orders == completed
    for refund in good["refunds"].values():
        payment = good["payments"][refund["payment_id"]]
        assert payment["order_id"] == refund["order_id"] and Decimal(0) < refund["amount"] <= payment["amount"]
        sums[refund["restaurant_id"]]["refunds_amount"] += refund["amount"]
    for rid, expected in sums.items():
        got = small.sums[rid]
        assert got["orders_total"] == expected["orders_total"]
        assert got["payments_amount"] == expected["payments_amount"] == expected["orders_total"]
        assert got["refunds_amount"] == expected["refunds_amount"]
        assert (got["orders"], got["payments"]) == (expected["orders"], expected["payments"])
        assert isinstance(got["orders_total"], Decimal) and got["orders_total"].as_tuple().exponent == -2
    assert sum(s["orders"] for s in small.sums.values()) == 200
    # daily reports add up the completed orders of their day
    for report in good["daily_reports"].values():
        day_orders = [o for o in good["orders"].values() if o["restaurant_id"] == report["restaurant_id"]
                      and o["status"] == "completed" and o["created_at"].date() == report["report_date"]]
        assert report["total_orders"] == len(day_orders)
        assert report["total_sales"] == sum(o["total_amount"] for o in day_orders)


def test_integer_pennies_round_like_percent_of():
    for pennies in list(range(0, 2000)) + [99_999_999, 123_456_789]:
        for rate in ("20.00", "12.50", "10.00", "8.00", "6.00", "4.00"):
            bp = int(Decimal(rate) * 100)
            assert money(percent(pennies, bp)) == str(percent_of(Decimal(pennies) / 100, Decimal(rate)))


def test_keys_are_unique_and_references_stay_in_their_restaurant(small_audit):
    good = small_audit.good
    numbers = [o["order_number"] for o in good["orders"].values()]
    assert len(numbers) == len(set(numbers))
    assert all(re.fullmatch(rf"ORD-{o['restaurant_id']}-\d+", o["order_number"]) for o in good["orders"].values())
    emails = [u["email"].lower() for u in good["users"].values()]
    assert len(emails) == len(set(emails))
    skus = Counter(p["sku"] for p in good["products"].values())
    assert max(skus.values()) == 4  # the same SKU in each of the 4 restaurants, once per restaurant
    for user in good["users"].values():
        if user["restaurant_id"] is None:
            assert user["role"] == "platform_owner"
        else:
            assert user["platform_id"] == good["restaurants"][user["restaurant_id"]]["platform_id"]
    roles = Counter(u["role"] for u in good["users"].values())
    assert roles == {"platform_owner": 2, "restaurant_owner": 4, "manager": 4, "cashier": 8, "server": 8, "cook": 8}
    # the audit already rejects any reference to a missing row or another restaurant's row; it found none
    assert small_audit.rejected == {}


def test_values_are_in_postgresqls_text_forms(small, small_audit):
    stamps = []
    texts = []
    for table in export_tables():
        if table == "settings":
            continue
        fields = columns_of(table_specs()[table].model)
        for raw in small_audit.lines[table].values():
            for column, text in raw.items():
                field = fields[column]
                if isinstance(field, models.DateTimeField) and text:
                    stamps.append(text)
                elif isinstance(field, models.DecimalField) and text:
                    assert re.fullmatch(rf"-?\d+\.\d{{{field.decimal_places}}}", text), (table, column, text)
                elif isinstance(field, models.CharField | models.TextField):
                    texts.append(text)
    naive = sum(1 for s in stamps if "T" not in s)
    summer = sum(1 for s in stamps if s.endswith("+01:00"))
    assert 0.06 < naive / len(stamps) < 0.14, naive / len(stamps)
    assert 0.02 < summer / len(stamps) < 0.08
    for stamp in stamps:  # the same instant whatever the form: opening hours in UTC
        moment = datetime.fromisoformat(stamp)
        assert moment.tzinfo is None or moment.utcoffset().total_seconds() in (0, 3600)
    # text that a naive CSV writer would break: quotes, commas, newlines, accents
    assert any('"' in t for t in texts) and any("," in t for t in texts) and any("\n" in t for t in texts)
    names = {p["name"] for p in small_audit.good["products"].values()}
    assert {'The "Big Kahuna" Burger', "Café Olé Tacos (3)", "Fish, Chips & Mushy Peas"} <= names
    assert any("\n" in (i["special_instructions"] or "") for i in small_audit.good["order_items"].values())


def test_password_hashes_are_bcrypt_of_the_role_password_with_a_few_old_ones(small_audit):
    users = list(small_audit.good["users"].values())
    prefixes = Counter(u["password_hash"][:4] for u in users)
    assert {"$2a$", "$2b$", "$2y$"} <= set(prefixes)
    old = [u for u in users if not u["password_hash"].startswith("$2")]
    assert len(old) == 1 and re.match(r"^(md5\$|sha1:)", old[0]["password_hash"])
    checked = set()
    for user in users:
        prefix = user["password_hash"][:4]
        if prefix.startswith("$2") and (prefix, user["role"]) not in checked:
            stored = "$2b$" + user["password_hash"][4:]
            assert bcrypt.checkpw(legacy_password(user["role"]).encode(), stored.encode())
            checked.add((prefix, user["role"]))


# --- Bad rows ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad_rows", [1, 3])
def test_bad_rows_are_exactly_where_the_manifest_says(tmp_path, bad_rows):
    # given an export with bad rows
    manifest = generate_export(tmp_path / "export", orders=300, bad_rows=bad_rows, seed=3)

    # when the audit reads it back
    audit = Audit(manifest.dest)

    # then it rejects exactly the manifest's rows, each for the manifest's reason
    expected = expected_rejects(manifest)
    assert set(audit.rejected) == set(expected)
    for key, kind in expected.items():
        assert kind in BAD_KINDS
        if kind == "depends_on":
            assert audit.rejected[key] <= {"depends_on", "missing_parent"}, key
        else:
            assert kind in audit.rejected[key], (key, kind, audit.rejected[key])
    # every table has its bad rows, each of a different kind
    direct = [e for e in manifest.bad if e["kind"] != "depends_on"]
    per_table = defaultdict(list)
    for entry in direct:
        per_table[entry["table"]].append(entry["kind"] + ":" + entry["column"])
    assert set(per_table) == set(export_tables())
    for table, kinds in per_table.items():
        assert len(kinds) == bad_rows and len(set(kinds)) == bad_rows, (table, kinds)
    # a bad order's items, payment and commission record are its dependents
    dependents = [e for e in manifest.bad if e["kind"] == "depends_on"]
    assert {e["table"] for e in dependents} >= {"order_items", "payments", "commission_records", "restock_order_items"}
    for entry in dependents:
        parent = entry["depends_on"]
        assert (parent["table"], parent["line"]) in expected
        raw = audit.lines[entry["table"]][entry["line"]]
        assert raw[entry["column"]] == parent["id"].rstrip("x")
    # the recorded ids are the rows' own ids
    for entry in manifest.bad:
        if entry["id"] is not None:
            assert audit.lines[entry["table"]][entry["line"]]["id"] == entry["id"]
    # the sums are over the good rows only
    for rid, sums in manifest.sums.items():
        orders = [o for o in audit.good["orders"].values() if o["restaurant_id"] == rid]
        assert sums["orders"] == len(orders)
        assert sums["orders_total"] == sum(o["total_amount"] for o in orders)
        payments = [p for p in audit.good["payments"].values() if p["restaurant_id"] == rid]
        assert sums["payments_amount"] == sum(p["amount"] for p in payments)
    assert manifest.good_rows("orders") == 300


def test_bad_rows_leave_the_good_rows_as_they_were(tmp_path):
    clean = generate_export(tmp_path / "clean", orders=300, seed=5)
    dirty = generate_export(tmp_path / "dirty", orders=300, seed=5, bad_rows=2)
    bad = defaultdict(set)
    for entry in dirty.bad:
        bad[entry["table"]].add(entry["line"])
    for table in export_tables():
        _, clean_records = read_records(clean.files[table])
        _, dirty_records = read_records(dirty.files[table])
        kept = [fields for line, fields in dirty_records if line not in bad[table]]
        assert kept == [fields for _, fields in clean_records], table
    assert dirty.sums == clean.sums


# --- Determinism, line ends, encodings, archives -------------------------------------------------------


def test_the_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path):
    first = generate_export(tmp_path / "1" / "export", orders=300, seed=11, bad_rows=1, archive="tar.gz")
    second = generate_export(tmp_path / "2" / "export", orders=300, seed=11, bad_rows=1, archive="tar.gz")
    other = generate_export(tmp_path / "3" / "export", orders=300, seed=12, bad_rows=1)
    for table in export_tables():
        assert first.files[table].read_bytes() == second.files[table].read_bytes(), table
    assert first.bad == second.bad
    assert first.archive.read_bytes() == second.archive.read_bytes()
    assert first.files["orders"].read_bytes() != other.files["orders"].read_bytes()


def test_crlf_ends_records_with_crlf_and_keeps_the_lines(tmp_path):
    lf = generate_export(tmp_path / "lf", orders=200, bad_rows=1)
    crlf = generate_export(tmp_path / "crlf", orders=200, bad_rows=1, crlf=True)
    data = crlf.files["orders"].read_bytes()
    assert data.startswith(b"id,restaurant_id,") and b",updated_at\r\n" in data
    assert data.count(b"\r\n") == crlf.rows["orders"] + 1
    assert crlf.bad == lf.bad
    audit = Audit(crlf.dest)
    assert set(audit.rejected) == set(expected_rejects(crlf))


def test_bom_and_cp1252(tmp_path):
    bom = generate_export(tmp_path / "bom", orders=50, bom=True)
    assert bom.files["platforms"].read_bytes().startswith(b"\xef\xbb\xbfid,name,")
    assert Audit(bom.dest, encoding="utf-8-sig").rejected == {}

    cp1252 = generate_export(tmp_path / "cp1252", orders=50, encoding="cp1252")
    raw = cp1252.files["products"].read_bytes()
    assert "Café Olé".encode("cp1252") in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    audit = Audit(cp1252.dest, encoding="cp1252")
    assert audit.rejected == {}
    assert all(c["icon"] is None for c in audit.good["categories"].values())  # emoji have no cp1252 form


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_archives_hold_the_export_in_a_folder(tmp_path, kind):
    manifest = generate_export(tmp_path / "night", orders=100, archive=kind)
    assert manifest.archive == tmp_path / f"night.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(manifest.archive) as archive:
            names = set(archive.namelist())
            content = archive.read("night/orders_export.csv")
    else:
        with tarfile.open(manifest.archive, "r:gz") as archive:
            names = set(archive.getnames())
            content = archive.extractfile("night/orders_export.csv").read()
    assert {f"night/{table}_export.csv" for table in export_tables()} <= {n.rstrip("/") for n in names}
    assert content == manifest.files["orders"].read_bytes()


MEASURE_RSS = """
import os, resource, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fynlo.settings")
django.setup()
from pathlib import Path
from fynlo.cutover.legacy.generate import generate_export
generate_export(Path(sys.argv[1]) / "warm-up", orders=1)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
generate_export(Path(sys.argv[1]) / "export", orders=int(sys.argv[2]), seed=2)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def test_it_streams_memory_does_not_grow_with_the_orders(tmp_path):
    """Peak RSS growth of a fresh process (KiB), for 5k and 100k orders: flat, and far below a copy of the data."""

    def growth(orders: int) -> int:
        folder = tmp_path / str(orders)
        done = subprocess.run([sys.executable, "-c", MEASURE_RSS, str(folder), str(orders)], cwd=settings.BASE_DIR,
                              capture_output=True, text=True, timeout=120, check=True)
        size = sum(path.stat().st_size for path in (folder / "export").iterdir())
        return int(done.stdout.split()[-1]) * 1024, size

    small, _ = growth(5_000)
    large, written = growth(100_000)
    assert written > 50 * 2**20  # what a generator that kept its rows would hold, at least
    assert large - small < 8 * 2**20, (small, large)
    assert large < 30 * 2**20, large


def test_items_per_order_sets_the_average(tmp_path):
    manifest = generate_export(tmp_path / "items", orders=2000, items_per_order=5.0)
    assert 4.7 < manifest.rows["order_items"] / manifest.rows["orders"] < 5.3


def test_refunds_can_be_left_out(tmp_path):
    manifest = generate_export(tmp_path / "plain", orders=100, with_refunds=False, bad_rows=1)
    assert "refunds" not in manifest.files and not (tmp_path / "plain" / "refunds_export.csv").exists()
    assert all(s["refunds_amount"] == 0 for s in manifest.sums.values())


# --- The command -----------------------------------------------------------------------------------------


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("generate_legacy_export", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_writes_the_export_and_its_manifest(tmp_path):
    # when
    out, err = run(str(tmp_path / "export"), "--orders", "300", "--platforms", "1", "--restaurants-per-platform",
                   "3", "--bad-rows", "1", "--seed", "4", "--manifest", str(tmp_path / "manifest.json"),
                   "--archive", "zip", "--no-with-refunds")

    # then
    assert re.search(r"export: 24 files, [\d,]+ rows \(\d+ bad\) in [\d.]+s, [\d,]+ rows/s", out), out
    assert "generate_legacy_export" in err and "300/300 orders" in err
    report = json.loads((tmp_path / "manifest.json").read_text())
    assert report["rows"]["orders"] == 300 + 1 and set(report["sums"]) == {"1", "2", "3"}
    assert report["archive"] == str(tmp_path / "export.zip") and (tmp_path / "export.zip").is_file()
    assert not (tmp_path / "export" / "refunds_export.csv").exists()
    assert {e["table"] for e in report["bad"]} >= set(export_tables()) - {"refunds"}


def test_the_progress_is_printed_once(tmp_path):
    # when a small export is written (its orders all counted at once) with stderr not a terminal
    _, err = run(str(tmp_path / "export"), "--orders", "200", "--seed", "7")

    # then its progress line is there once, not again at the close
    lines = [line for line in err.splitlines() if line.startswith("generate_legacy_export")]
    assert len(lines) == 1 and "200/200 orders" in lines[0], err


class Terminal(StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("stream", [StringIO, Terminal])
def test_a_progress_closed_where_it_was_last_shown_shows_no_second_line(stream):
    # given a progress whose last update was shown (the first update always is)
    out = stream()
    progress = Progress("rows", total=10, stream=out)
    progress.update(10)

    # when it is closed
    progress.close()

    # then the bar was drawn once, and ends its line
    assert out.getvalue().count("10/10 rows") == 1 and out.getvalue().endswith("\n"), repr(out.getvalue())


def test_the_command_refuses_a_folder_that_is_not_empty_unless_forced(tmp_path):
    dest = tmp_path / "export"
    dest.mkdir()
    (dest / "notes.txt").write_text("keep me")

    with pytest.raises(CommandError) as refused:
        run(str(dest), "--orders", "10")
    assert refused.value.returncode == 2 and "not empty" in str(refused.value) and "\n" not in str(refused.value)

    out, _ = run(str(dest), "--orders", "10", "--force")
    assert "files" in out and (dest / "orders_export.csv").is_file() and (dest / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize("args, message", [
    (["--orders", "-5"], "orders must be"),
    (["--items-per-order", "0.5"], "items_per_order"),
    (["--encoding", "klingon"], "unknown encoding"),
    (["--encoding", "ascii"], "cannot write"),
    (["--encoding", "cp1252", "--bom"], "byte order mark"),
])
def test_the_command_rejects_bad_arguments_in_one_line(tmp_path, args, message):
    with pytest.raises(CommandError) as refused:
        run(str(tmp_path / "x"), *args)
    assert refused.value.returncode == 2 and message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_the_manifest_can_go_to_stdout(tmp_path):
    out, _ = run(str(tmp_path / "export"), "--orders", "20", "--manifest", "-")
    assert json.loads(out)["rows"]["orders"] == 20


def test_the_export_has_every_importable_table_but_the_projects_own():
    # the schema's source tables are the export's files, save those the project added (a new
    # table must be placed: in the legacy export, or in PROJECT_TABLES)
    ours = set(source_order()) - set(export_tables()) - set(SETTINGS_TARGETS.values())

    assert ours == PROJECT_TABLES
    assert {"orders", "order_items", "payments", "settings"} <= set(export_tables())
