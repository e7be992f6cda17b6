"""The fynlo-v1 archive keeps every legacy value as it was: a text (or number, or boolean) column's
value as the text the legacy database printed, a json/jsonb column's as its JSON, NULL as null.
Text that looks like JSON ("123", "1.50", "true", "null", "NaN") is not guessed into a number, a
boolean or null. The JSON columns are the known legacy schema's (any source) and, for columns the
importer does not know, those the source declares: a dump's CREATE TABLE, a live database's catalog;
CSV files declare none, so there such a column's values stay text."""

from __future__ import annotations

import csv
import json
import shutil

import psycopg
import pytest
from django.conf import settings

from fynlo.cutover.legacy import dump
from fynlo.cutover.legacy.fynlo_v1 import JSON_COLUMNS
from tests.cutover.test_migrate_legacy_fynlo_v1 import (  # noqa: F401 (empty_database: a fixture)
    SCHEMA,
    TS,
    empty_database,
    item,
    legacy_database,
    migrate,
    owner_conninfo,
    snapshot,
    u,
)
from tests.cutover.test_migrate_legacy_loop import command, owner_execute, run_ids

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])

P1, R1, MANAGER, FOOD, TACO, ORDER, EMPLOYEE = u(1), u(11), u(22), u(31), u(41), u(61), u(71)
# texts of text columns that a guess would turn into JSON (and one that is JSON text, and an empty one)
TEXTS = ("123", "1.50", "007", "true", "null", "NaN", "Infinity", '{"a": 1}', "")
QR = {text: u(900 + n) for n, text in enumerate(TEXTS)}
UNKNOWN_JSON = {"a": [1, "2", None], "price": 1.50}


def rows() -> dict[str, list[dict]]:
    return {
        "platforms": [{"id": P1, "name": "Fynlo", "owner_email": "owner@fynlo.test", "created_at": TS}],
        "restaurants": [{"id": R1, "platform_id": P1, "name": "Casa", "created_at": TS,
                         "payment_methods": '{"cash": {"enabled": true}, "fee": 1.50}', "settings": '["a", 1]',
                         "floor_plan_layout": '{"tables": [{"n": 1, "x": 0.50}]}'}],
        # permissions and an emergency contact that are JSON but no object: nothing to map, kept whole
        "users": [{"id": MANAGER, "email": "manager@casa.test", "first_name": "Max", "last_name": "Manager",
                   "role": "manager", "restaurant_id": R1, "permissions": '["canManageUsers"]', "created_at": TS}],
        "employee_profiles": [{"id": EMPLOYEE, "user_id": MANAGER, "restaurant_id": R1, "employee_id": "E1",
                               "hire_date": "2025-01-15", "hourly_rate": "12.35", "phone": "07700 900001",
                               "emergency_contact": '"Mia, 07700 900002"', "created_at": TS}],
        "categories": [{"id": FOOD, "restaurant_id": R1, "name": "Food", "description": "123", "color": "true",
                        "legacy_code": "null", "legacy_meta": json.dumps(UNKNOWN_JSON), "created_at": TS}],
        "products": [{"id": TACO, "restaurant_id": R1, "category_id": FOOD, "name": "Taco", "price": "3.50",
                      "barcode": "1.50", "dietary_info": json.dumps(["vegan", 1]), "created_at": TS}],
        "orders": [{"id": ORDER, "restaurant_id": R1, "order_number": "ORD-1", "status": "completed",
                    "subtotal": "3.50", "total_amount": "3.50", "created_by": MANAGER, "special_instructions": "NaN",
                    "payment_status": "true", "items": json.dumps([item(TACO, 1, 3.5, 3.5)]), "created_at": TS}],
        # archived whole: qr_code_data a text column, fee a numeric one (PostgreSQL's numeric NaN included)
        "qr_payments": [{"id": key, "order_id": ORDER, "qr_code_data": text, "amount": "1.00",
                         "fee": "NaN" if text == "NaN" else "0.10", "created_at": TS} for text, key in QR.items()],
    }


@pytest.fixture(scope="module")
def legacy(tmp_path_factory, django_db_setup, django_db_blocker):
    name = f"{settings.DATABASES['owner']['TEST']['NAME']}_fynlo_v1_archive"
    # two columns nobody told us about: a text one and a jsonb one
    with legacy_database(django_db_blocker, tmp_path_factory.mktemp("fynlo_v1_archive"), name, rows(),
                         "ALTER TABLE categories ADD COLUMN legacy_code text, ADD COLUMN legacy_meta jsonb;"
                         " ALTER TABLE restaurants ADD COLUMN floor_plan_layout jsonb") as made:
        yield made


def archive() -> dict:
    return {(table, key): row for table, key, _, row in snapshot()["legacy_archive"]}


def archived_text(table: str, key: str, column: str) -> str:
    """A value of the archive as PostgreSQL prints it (a JSON number keeps its digits: 1.50, not 1.5)."""
    with psycopg.connect(owner_conninfo(settings.DATABASES["owner"]["TEST"]["NAME"])) as conn:
        return conn.execute("SELECT row -> %s #>> '{}' FROM legacy_archive WHERE legacy_table = %s AND legacy_key = %s",
                            [column, table, key]).fetchone()[0]


@pytest.mark.parametrize("kind", ["csv", "sql", "dump", "url"])
def test_the_archive_keeps_text_as_text_and_json_as_json(legacy, tmp_path, kind):
    # when the legacy database is imported from one of its sources
    code, out, report = migrate(legacy[kind], tmp_path)
    assert code == 0, out
    got = archive()
    # then a text column's values are archived as the very text, whatever it looks like
    for text, key in QR.items():
        assert got[("qr_payments", key)]["qr_code_data"] == text, text
    # a numeric column's as PostgreSQL printed it (its NaN too: no float, nothing refused at the archive's COPY)
    assert got[("qr_payments", QR["NaN"])]["fee"] == "NaN"
    assert got[("qr_payments", QR["123"])]["amount"] == "1.00"
    # NULL stays null (a text "null" stays a text)
    assert got[("qr_payments", QR["null"])]["net"] is None
    assert got[("categories", FOOD)]["legacy_code"] == "null"
    assert {k: got[("categories", FOOD)][k] for k in ("description", "color")} == {
        "description": "123", "color": "true"}
    assert got[("orders", ORDER)] == {"special_instructions": "NaN", "payment_status": "true"}
    assert {k: got[("products", TACO)][k] for k in ("barcode", "prep_time", "stock_quantity")} == {
        "barcode": "1.50", "prep_time": "0", "stock_quantity": "0"}
    # the known JSON columns are JSON, numbers with their digits as the legacy database holds them
    assert got[("products", TACO)]["dietary_info"] == ["vegan", 1] and got[("products", TACO)]["modifiers"] == []
    assert got[("restaurants", R1)]["payment_methods"] == {"cash": {"enabled": True}, "fee": 1.5}
    assert archived_text("restaurants", R1, "payment_methods") == '{"fee": 1.50, "cash": {"enabled": true}}'
    assert got[("restaurants", R1)]["settings"] == ["a", 1]  # no object (no logo_url in it): the whole value
    # a known JSON column the legacy DDL added later: JSON from every source, CSV included
    assert got[("restaurants", R1)]["floor_plan_layout"] == {"tables": [{"n": 1, "x": 0.5}]}
    # a column the importer does not know: JSON where the source declares it jsonb (a dump's CREATE TABLE,
    # the live catalog), else (CSV files) the text as printed
    meta = got[("categories", FOOD)]["legacy_meta"]
    went = report["where_every_legacy_column_went"]["categories"]
    if kind == "csv":
        assert meta == '{"a": [1, "2", null], "price": 1.5}'
        assert went["legacy_meta"] == "archive (a column this importer does not know)"
    else:
        assert meta == UNKNOWN_JSON
        assert went["legacy_meta"] == ("archive (a column this importer does not know); its values as JSON"
                                       " (the source declares it json)")
    assert went["legacy_code"] == "archive (a column this importer does not know)"


def test_permissions_and_an_emergency_contact_that_are_no_json_object_are_archived_whole(legacy, tmp_path):
    code, out, report = migrate(legacy["csv"], tmp_path)
    assert code == 0, out
    got = archive()
    assert got[("users.permissions", MANAGER)] == {"permissions": ["canManageUsers"]}
    assert got[("employee_profiles.emergency_contact", EMPLOYEE)] == {"emergency_contact": "Mia, 07700 900002"}
    assert report["choices"]["users: permissions that are no JSON object kept in the archive"] == 1
    assert report["choices"]["employees: an emergency_contact that is no JSON object kept in the archive"] == 1


def test_a_json_columns_value_that_jsonb_refuses_is_kept_as_text(legacy, tmp_path):
    # given CSV files (edited by hand) whose JSON column holds what no jsonb can: NaN, \u0000
    folder = tmp_path / "csv"
    shutil.copytree(legacy["csv"], folder)
    path = folder / "products.csv"
    with open(path, newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        header, products = reader.fieldnames, list(reader)
    products[0].update(dietary_info="[NaN]", modifiers='["\\u0000"]')
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(products)
    # when they are imported
    code, out, report = migrate(folder, tmp_path / "import")
    # then those values are archived as their texts (counted), the import goes on
    assert code == 0, out
    product = archive()[("products", TACO)]
    assert (product["dietary_info"], product["modifiers"]) == ("[NaN]", '["\\u0000"]')
    assert report["choices"]["legacy_archive: products.dietary_info: a value that is no JSON kept as text"] == 1
    assert report["choices"]["legacy_archive: products.modifiers: a value that is no JSON kept as text"] == 1


def test_a_catch_up_rewrites_an_archive_of_guessed_values_once(legacy, tmp_path):
    # given an import, and its archive as an importer that guessed JSON from text wrote it (numbers,
    # booleans, null), and the orders' raw hashes as that importer's version recorded them
    assert migrate(legacy["url"], tmp_path / "import")[0] == 0
    fresh = snapshot()
    owner_execute("UPDATE legacy_archive SET row = row || '{\"qr_code_data\": 123, \"amount\": 1.0}'"
                  " WHERE legacy_table = 'qr_payments' AND legacy_key = %s", [QR["123"]])
    owner_execute("UPDATE legacy_archive SET row = row || '{\"payment_status\": true}' WHERE legacy_table = 'orders'")
    owner_execute("UPDATE legacy_import_rows SET raw_hash = raw_hash + 1 WHERE table_name IN ('orders', 'order_items')")
    guessed = snapshot()["legacy_archive"]
    runs = run_ids()
    # when the unchanged legacy database is caught up
    code, out, report = migrate(legacy["sql"], tmp_path / "catch-up", "--catch-up")
    # then those archive rows are written as the values were, and nothing else changes: no conflict
    assert code == 0, out
    assert report["conflicts"] == {}, report["conflicts"]
    assert all(t["imported"] == t["updated"] == 0 for t in report["tables"].values()), report["tables"]
    assert snapshot() == fresh
    # and a second catch-up changes nothing (from a source that declares the jsonb column nobody told us
    # about: from the CSV files its archived values would become texts)
    code, out, report = migrate(legacy["dump"], tmp_path / "again", "--catch-up")
    assert code == 0, out
    assert snapshot() == fresh
    # --undo of those catch-ups puts the guessed rows back
    for run in reversed([run for run in run_ids() if run not in runs]):
        assert command("--undo", str(run))[0] == 0
    assert snapshot()["legacy_archive"] == guessed


def test_the_known_json_columns_are_those_of_the_legacy_ddl():
    # the legacy DDL the tests keep, read as a dump's CREATE TABLE statements are
    declarations = dump._Declarations()
    for line in SCHEMA.read_bytes().splitlines(keepends=True):
        declarations.read(line)
    declared = {(table, column) for table, columns in declarations.tables.items() for column in columns}
    known = {(table, column) for table, columns in JSON_COLUMNS.items() for column in columns}
    # every jsonb column of it is known as JSON; the importer knows three more: the payments' metadata
    # (its name in the migrations) and time_entries.location (a table the DDL leaves out), both in
    # LEGACY_FYNLO_V1.md, and restaurants.floor_plan_layout (JSONB in the legacy models, a later column)
    assert known - declared == {("payments", "metadata"), ("time_entries", "location"),
                                ("restaurants", "floor_plan_layout")}
    assert declared <= known
