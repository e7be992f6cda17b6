"""The cutover loop of `manage.py migrate_legacy`: --verify (the source compared with ours by
content, nothing written), --runs and --undo."""

from __future__ import annotations

import copy
import io
import json
import subprocess

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from fynlo.cutover.legacy import rows as bookkeeping
from fynlo.cutover.legacy.schema import table_specs
from fynlo.cutover.legacy.validate import plan_columns
from tests.cutover.test_migrate_legacy import (
    base_rows,
    header_of,
    migrate,
    owner_rows,
    owner_value,
    read_rejects,
    write_export,
)
from tests.cutover.test_migrate_legacy_fynlo_v1 import (  # noqa: F401 (legacy: a fixture)
    BURRITO,
    GOOD_ORDER,
    MANAGER,
    R1,
    R2_ORDER,
    TACO,
    item,
    legacy,
    owner_conninfo,
    snapshot,
    u,
    wipe,
)
from tests.cutover.test_migrate_legacy_fynlo_v1 import migrate as migrate_v1

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])

TABLES = ("platforms", "restaurants", "users", "categories", "products", "orders", "order_items", "payments",
          "refunds", "restaurant_settings", "platform_settings")


@pytest.fixture(autouse=True)
def no_bookkeeping(django_db_setup, django_db_blocker):
    """Runs and row bookkeeping are no models: the test flush leaves them; start empty."""
    with django_db_blocker.unblock():
        with connections["owner"].cursor() as cursor:
            cursor.execute("TRUNCATE legacy_import_keyed_changes, legacy_import_changes, legacy_import_rows,"
                           " legacy_import_runs RESTART IDENTITY")


def owner_execute(statement: str, params=None) -> None:
    with connections["owner"].cursor() as cursor:
        cursor.execute(statement, params or [])


def everything() -> dict:
    return {table: owner_rows(table) for table in TABLES}


@pytest.fixture
def imported(tmp_path):
    source = write_export(tmp_path / "export", base_rows())
    code, out, _ = migrate(source)
    assert code == 0, out
    return source


def test_verify_passes_on_an_identical_database(imported):
    code, out, report = migrate(imported, "--verify")
    assert code == 0, out
    assert "identical" in out.splitlines()[-1]
    tables = report["verification"]["tables"]
    assert report["verification"]["identical"] is True
    assert tables["orders"]["source_rows"] == 3
    assert tables["orders"]["identical"] == 3
    assert tables["restaurant_settings"]["identical"] == 1
    assert all(t["missing"] == t["different"] == t["extra"] == 0 for t in tables.values())


def test_verify_finds_a_changed_amount_a_missing_row_and_an_extra_row_and_writes_nothing(tmp_path):
    # given an import of an older export that had one more category than the source has now
    rows = base_rows()
    older = {**rows, "categories": rows["categories"] + [{**rows["categories"][1], "id": "201", "name": "Drinks"}]}
    code, out, _ = migrate(write_export(tmp_path / "older", older))
    assert code == 0, out
    source = write_export(tmp_path / "export", rows)
    # and ours changed since: an amount edited, a line gone
    owner_execute("UPDATE orders SET total_amount = 20.00 WHERE id = 500")
    owner_execute("DELETE FROM order_items WHERE id = 6000")
    before = everything()
    # when it is verified
    code, out, report = migrate(source, "--verify")
    # then each difference is found, by key, with both versions of the differing row
    assert code == 1, out
    tables = report["verification"]["tables"]
    assert tables["orders"]["different"] == 1
    (different,) = tables["orders"]["different_rows"]
    assert different["key"] == "500"
    assert different["columns"] == ["total_amount"]
    assert different["source"]["total_amount"] == "19.88"
    assert different["ours"]["total_amount"] == "20.00"
    assert tables["order_items"]["missing"] == 1
    assert tables["order_items"]["missing_rows"][0]["key"] == 6000
    assert tables["order_items"]["missing_rows"][0]["source"]["total_price"] == "4.00"
    assert tables["categories"]["extra"] == 1, tables["categories"]
    assert tables["categories"]["extra_rows"][0]["ours"]["name"] == "Drinks"
    assert tables["payments"]["identical"] == 2
    assert "orders: different 500" in out
    assert "order_items: missing 6000" in out
    assert "categories: extra 201" in out
    # and nothing was written
    assert everything() == before


def test_rows_made_in_ours_since_the_import_are_not_extra(imported):
    owner_execute(
        "INSERT INTO categories (id, restaurant_id, name, display_order, is_active, created_at, updated_at)"
        " VALUES (202, 20, 'Specials', 3, true, now(), now())"
    )
    code, out, report = migrate(imported, "--verify")
    assert code == 0, out
    assert report["verification"]["tables"]["categories"]["extra"] == 0


def test_each_inserted_row_is_recorded_with_its_run_and_hashes(tmp_path):
    # given an import and a second run (a newer export) that inserts one more order
    rows = base_rows()
    code, _, report = migrate(write_export(tmp_path / "export", rows))
    assert code == 0, _
    inserted = sum(table["imported"] for table in report["tables"].values())
    rows["orders"].append({**rows["orders"][1], "id": "502", "order_number": "R10-3"})
    code, out, _ = migrate(write_export(tmp_path / "more", rows))
    assert code == 0, out
    runs = owner_rows("legacy_import_runs", "id, kind, format, inserted, finished_at IS NOT NULL")
    assert [run[1:] for run in runs] == [("import", "guide", inserted, True), ("import", "guide", 1, True)]
    first, second = runs[0][0], runs[1][0]
    recorded = {(t, i): r for t, i, r in owner_rows("legacy_import_rows", "table_name, row_id, run_id", "1, 2")}
    # then every inserted row with an id is recorded, by the run that inserted it
    for table in ("platforms", "restaurants", "users", "orders", "order_items", "payments", "refunds"):
        for (ident,) in owner_rows(table, "id"):
            assert (table, ident) in recorded, (table, ident)
    assert recorded[("orders", 500)] == first
    assert recorded[("orders", 502)] == second
    # and its written hash is the hash of the row as the database holds it, until ours changes
    spec = table_specs()["orders"]
    columns, _, _ = plan_columns(spec, header_of("orders"), "orders")
    now = bookkeeping.row_hash(columns).as_string(connections["owner"].connection)
    query = f"r.written_hash = {now}"
    table = "legacy_import_rows r JOIN orders t ON t.id = r.row_id AND r.table_name = 'orders'"
    assert owner_rows(table, f"t.id, {query}", "1") == [(500, True), (501, True), (502, True), (600, True)]
    owner_execute("UPDATE orders SET order_type = 'dine_in' WHERE id = 501")
    assert owner_rows(table, f"t.id, {query}", "1")[1] == (501, False)


def test_a_row_deleted_from_ours_and_imported_again_replaces_its_bookkeeping(imported):
    # given an import whose bookkeeping rows were plain inserts (nothing recorded before), and an
    # order a manager deleted since (with its lines and payment)
    runs = owner_rows("legacy_import_runs", "id")
    owner_execute("DELETE FROM payments WHERE order_id = 600")
    owner_execute("DELETE FROM order_items WHERE order_id = 600")
    owner_execute("DELETE FROM orders WHERE id = 600")
    # when the same export is imported again
    code, out, report = migrate(imported)
    # then the order goes in again, and its recorded run is the second (the entry replaced, not refused)
    assert code == 0, out
    assert report["tables"]["orders"]["imported"] == 1
    second = owner_rows("legacy_import_runs", "id")[-1][0]
    assert second != runs[0][0]
    assert owner_value("SELECT run_id FROM legacy_import_rows WHERE table_name = 'orders' AND row_id = 600") == second
    assert owner_value("SELECT count(*) FROM legacy_import_rows WHERE table_name = 'orders' AND run_id = %s",
                       [second]) == 1


def test_a_dry_run_and_a_verify_record_nothing(tmp_path):
    source = write_export(tmp_path / "export", base_rows())
    assert migrate(source, "--dry-run")[0] == 0
    assert migrate(source, "--verify")[0] == 1  # everything is missing
    assert owner_rows("legacy_import_rows", "row_id", "1") == []
    assert owner_rows("legacy_import_runs", "id", "1") == []


def test_verify_hides_password_hashes_in_both_versions(imported):
    owner_execute("UPDATE users SET first_name = 'Maxine' WHERE id = 2")
    code, out, report = migrate(imported, "--verify")
    assert code == 1
    (different,) = report["verification"]["tables"]["users"]["different_rows"]
    assert different["columns"] == ["first_name"]
    assert different["source"]["password_hash"] == different["ours"]["password_hash"] == "(hidden)"


def test_verify_counts_rejected_source_rows_without_failing(tmp_path):
    rows = base_rows()
    rows["products"].append({**rows["products"][0], "id": "1002", "sku": "Z", "price": "-1.00"})
    source = write_export(tmp_path / "export", rows)
    code, out, _ = migrate(source)
    assert code == 1  # the import rejects the bad product
    code, out, report = migrate(source, "--verify")
    assert code == 0, out
    assert report["verification"]["tables"]["products"]["rejected"] == 1


@pytest.fixture
def fynlo_v1(legacy, django_db_blocker):  # noqa: F811 (the fixture imported above)
    with django_db_blocker.unblock():
        wipe()
    yield legacy
    with django_db_blocker.unblock():
        wipe()


@pytest.mark.parametrize("kind", ["csv", "sql", "dump", "url"])
def test_verify_reads_every_fynlo_v1_source(fynlo_v1, tmp_path, kind):
    # given a fynlo-v1 import (with the rejects its legacy data has by design)
    code, out, _ = migrate_v1(fynlo_v1[kind], tmp_path / "import")
    assert code == 1, out
    before = snapshot()
    # when it is verified from the same source: identical, nothing written
    code, out, report = migrate_v1(fynlo_v1[kind], tmp_path / "verify", "--verify")
    assert code == 0, out
    tables = report["verification"]["tables"]
    assert tables["orders"]["identical"] >= 1 and tables["orders"]["rejected"] >= 1
    assert snapshot() == before
    # and a payment amount changed in ours is found
    payment = owner_rows("payments", "id, amount")[0]
    owner_execute("UPDATE payments SET amount = amount + 1 WHERE id = %s", [payment[0]])
    code, out, report = migrate_v1(fynlo_v1[kind], tmp_path / "again", "--verify")
    assert code == 1, out
    (different,) = report["verification"]["tables"]["payments"]["different_rows"]
    assert different["key"] == str(payment[0]) and different["columns"] == ["amount"]


# -- --runs and --undo --

ALL_TABLES = tuple(table_specs())


def command(*args) -> tuple[int, str, dict]:
    """migrate_legacy without a SOURCE (--runs, --undo): (exit code, stdout, JSON report)."""
    out = io.StringIO()
    code = 0
    try:
        call_command("migrate_legacy", *args, "--report", "-", stdout=out, stderr=io.StringIO())
    except CommandError as error:
        code = error.returncode
        out.write(f"\nCommandError: {error}")
    text = out.getvalue()
    start = text.find("\n{")
    report = json.JSONDecoder().raw_decode(text[start + 1:])[0] if start >= 0 else {}
    return code, text, report


def every_table() -> dict:
    return {table: owner_rows(table) for table in ALL_TABLES}


def run_ids() -> list[int]:
    return [row[0] for row in owner_rows("legacy_import_runs", "id")]


def test_undo_of_an_import_restores_the_database_exactly(tmp_path):
    # given a database with rows of its own (a platform), then an import
    owner_execute("INSERT INTO platforms (id, name, slug, owner_email, created_at, updated_at, is_active)"
                  " VALUES (90, 'Ours', 'ours', 'o@ours.test', now(), now(), true)")
    before = every_table()
    code, out, _ = migrate(write_export(tmp_path / "export", base_rows()))
    assert code == 0, out
    assert every_table() != before
    (run,) = run_ids()
    # when the run is taken back
    code, out, report = command("--undo", str(run))
    # then every row it inserted is gone, children first, settings included, and ours stays
    assert code == 0, out
    assert every_table() == before
    assert report["kept"] == 0 and report["undone"] is True
    assert report["tables"]["orders"]["deleted"] == 3
    assert report["tables"]["restaurant_settings"]["deleted"] == 1
    assert owner_rows("legacy_import_rows", "row_id", "1") == []
    # and the run is listed as undone; a second undo of it is refused
    code, out, report = command("--runs")
    assert code == 0 and f"{run:>5}" in out and "undone" in out, out
    assert report["runs"][0]["undone_at"] is not None
    code, out, _ = command("--undo", str(run))
    assert code == 2 and "undone already" in out


def test_undo_keeps_rows_changed_since_and_the_rows_under_them(imported):
    # given ours changed since the import: an order edited
    owner_execute("UPDATE orders SET total_amount = 20.00 WHERE id = 500")
    (run,) = run_ids()
    before = every_table()
    # when a dry run shows what would go
    code, out, report = command("--undo", str(run), "--dry-run")
    # then it lists the changed order and its lines, payments and refunds kept, and writes nothing
    assert code == 1, out
    assert every_table() == before
    orders = report["tables"]["orders"]
    assert orders["kept"]["changed"] == 1 and orders["kept_rows"][0]["key"] == 500
    assert orders["kept_rows"][0]["ours"]["total_amount"] == "20.00"
    assert {row["key"] for row in report["tables"]["order_items"]["kept_rows"]} == {5000, 5001}
    assert [row["key"] for row in report["tables"]["refunds"]["kept_rows"]] == [8000]
    assert "orders: kept (changed) 500" in out
    assert "would be deleted" in out
    # and the real undo deletes the rest, keeps those, and exits 1
    code, out, report = command("--undo", str(run))
    assert code == 1, out
    assert "rows kept" in out.splitlines()[-1]
    assert owner_rows("orders", "id") == [(500,)]
    assert owner_rows("order_items", "id") == [(5000,), (5001,)]
    assert owner_rows("payments", "id") == [(7000,)]
    assert owner_rows("refunds", "id") == [(8000,)]
    assert owner_rows("restaurants", "id") == [(10,)]  # the kept order's restaurant stays: referred to
    assert owner_rows("platforms", "id") == [(1,)]
    assert report["undone"] is False
    # the kept rows stay in the bookkeeping, the deleted ones do not
    assert ("orders", 600) not in owner_rows("legacy_import_rows", "table_name, row_id", "1, 2")
    assert ("orders", 500) in owner_rows("legacy_import_rows", "table_name, row_id", "1, 2")
    # once the edit is put back, undoing again takes the rest
    owner_execute("UPDATE orders SET total_amount = 19.88 WHERE id = 500")
    code, out, report = command("--undo", str(run))
    assert code == 0, out
    assert owner_rows("orders", "id") == [] and owner_rows("platforms", "id") == []
    assert report["undone"] is True


def test_undo_keeps_an_imported_row_that_rows_made_since_refer_to(imported):
    owner_execute(
        "INSERT INTO categories (id, restaurant_id, name, display_order, is_active, created_at, updated_at)"
        " VALUES (202, 20, 'Specials', 3, true, now(), now())"
    )
    (run,) = run_ids()
    code, out, report = command("--undo", str(run))
    assert code == 1, out
    assert report["tables"]["restaurants"]["kept_rows"] == [
        {"key": 20, "reason": "referred to", "ours": report["tables"]["restaurants"]["kept_rows"][0]["ours"]}
    ]
    assert owner_rows("restaurants", "id") == [(20,)]
    assert owner_rows("categories", "id") == [(202,)]
    assert owner_rows("orders", "id") == []


def test_undo_takes_runs_back_newest_first(tmp_path):
    rows = base_rows()
    assert migrate(write_export(tmp_path / "export", rows))[0] == 0
    first_state = every_table()
    rows["orders"].append({**rows["orders"][1], "id": "502", "order_number": "R10-3"})
    assert migrate(write_export(tmp_path / "more", rows))[0] == 0
    first, second = run_ids()
    code, out, _ = command("--undo", str(first))
    assert code == 2 and f"undo run {second} first" in out, out
    code, out, report = command("--undo", str(second))
    assert code == 0, out
    assert report["deleted"] == 1
    assert every_table() == first_state
    assert command("--undo", str(first))[0] == 0
    assert owner_rows("orders", "id") == []


def test_undo_and_runs_usage_errors(imported):
    assert command("--undo", "999")[0] == 2
    code, out, _ = command("--runs", "--undo", "1")
    assert code == 2
    code, out, _ = migrate(imported, "--undo", "1")
    assert code == 2 and "no SOURCE" in out
    code, out, report = command("--runs")
    assert code == 0 and "1 run\n" in out, out
    (run,) = report["runs"]
    assert run["inserted"] == owner_rows("legacy_import_runs", "inserted")[0][0] > 0
    assert run["undone_at"] is None and "finished" in out


def test_an_unchanged_source_row_hashes_the_same_every_run(tmp_path):
    # given an export with a non-bcrypt legacy password (written as a random unusable one) and
    # rows whose empty or absent timestamps the import fills with the run's time
    rows = base_rows()
    rows["orders"][1]["updated_at"] = ""
    source = write_export(tmp_path / "export", rows)
    assert migrate(source)[0] == 0
    first = dict(((t, i), h) for t, i, h in owner_rows("legacy_import_rows", "table_name, row_id, source_hash", "1, 2"))
    assert owner_value("SELECT count(*) FROM users WHERE password_hash LIKE '!%%'") == 1
    # when the run is taken back and the same export imported again (another time, another password)
    (run,) = run_ids()
    assert command("--undo", str(run))[0] == 0
    assert migrate(source)[0] == 0
    second = dict(((t, i), h) for t, i, h in owner_rows("legacy_import_rows", "table_name, row_id, source_hash", "1, 2"))
    # then every row's source hash is the same as the first run's (settings rows have new ids)
    def by_key(hashes):
        return {key: bytes(h) for key, h in hashes.items() if not key[0].endswith("_settings")}

    def settings(hashes):
        return sorted((key[0], bytes(h)) for key, h in hashes.items() if key[0].endswith("_settings"))

    assert len(by_key(first)) > 20 and by_key(second) == by_key(first)
    assert len(settings(first)) == 2 and settings(second) == settings(first)


# -- --catch-up --

LATER = "2025-03-01T12:00:00+00:00"
EARLIER = "2024-12-01T12:00:00+00:00"


def same_rows():
    """base_rows() each time with the same password hashes (each call salts them anew)."""
    rows = base_rows()
    return lambda: copy.deepcopy(rows)


def order(rows: dict, ident: str) -> dict:
    return next(row for row in rows["orders"] if row["id"] == ident)


def newer_export(rows: dict) -> dict:
    """The legacy system some days on: one order changed there only, one changed in both places
    (ours below), a payment's status changed (no updated_at), a new order, a stale copy of a
    refund (older updated_at), and order 600 left alone (changed in ours only, below)."""
    order(rows, "501")["status"] = "completed"
    order(rows, "501")["updated_at"] = LATER
    order(rows, "500")["status"] = "cancelled"
    order(rows, "500")["updated_at"] = LATER
    rows["payments"][1]["status"] = "refunded"
    rows["orders"].append({**order(rows, "501"), "id": "502", "order_number": "R10-3"})
    rows["refunds"][0]["reason"] = "an old reason"
    rows["refunds"][0]["updated_at"] = EARLIER
    return rows


def ours_since():
    owner_execute("UPDATE orders SET total_amount = 20.00 WHERE id = 500")
    owner_execute("UPDATE orders SET order_type = 'takeaway' WHERE id = 600")


def test_catch_up_applies_source_changes_where_ours_is_untouched(tmp_path):
    # given an import, then both sides changed
    base_rows = same_rows()
    assert migrate(write_export(tmp_path / "export", base_rows()))[0] == 0
    ours_since()
    before = every_table()
    source = write_export(tmp_path / "newer", newer_export(base_rows()))
    # when it is caught up
    code, out, report = migrate(source, "--catch-up")
    # then: new imported, changed in the source only applied (a payment without updated_at too),
    # changed in ours only kept, changed on both sides a conflict with both versions, stale never applied
    assert code == 1, out
    assert owner_rows("orders", "id, status, order_type, total_amount::text") == [
        (500, "completed", "dine_in", "20.00"),  # conflict: ours kept
        (501, "completed", "takeaway", "0.00"),  # applied
        (502, "completed", "takeaway", "0.00"),  # new
        (600, "completed", "takeaway", "5.30"),  # ours only: kept
    ]
    assert owner_rows("payments", "id, status") == [(7000, "completed"), (7001, "refunded")]
    assert owner_rows("refunds", "reason") == [("cold taco",)]
    orders = report["tables"]["orders"]
    assert (orders["imported"], orders["updated"], orders["kept_ours"], orders["conflicts"]) == (1, 1, 1, 1), out
    assert orders["balanced"] is True
    (conflict,) = report["conflicts"]["orders"]
    assert conflict["key"] == "500"
    assert conflict["source"]["status"] == "cancelled" and conflict["ours"]["total_amount"] == "20.00"
    assert conflict["ours"]["status"] == "completed"
    assert report["tables"]["refunds"]["stale"] == 1
    assert report["stale"]["refunds"][0]["source"]["reason"] == "an old reason"
    runs = owner_rows("legacy_import_runs", "kind, inserted, updated, conflicts")
    assert runs[1] == ("catch-up", 1, 2, 1)
    # and --undo of the catch-up puts back exactly what was there before it
    code, out, report = command("--undo", str(run_ids()[1]))
    assert code == 0, out
    assert report["restored"] == 2 and report["deleted"] == 1
    assert every_table() == before


def test_without_catch_up_a_rerun_with_a_newer_export_overwrites_nothing(tmp_path):
    base_rows = same_rows()
    assert migrate(write_export(tmp_path / "export", base_rows()))[0] == 0
    before = every_table()
    rows = newer_export(base_rows())
    rows["orders"].pop()  # no new order: only changes
    code, out, report = migrate(write_export(tmp_path / "newer", rows))
    assert code == 1, out
    assert every_table() == before
    assert report["tables"]["orders"]["conflicts"] == 2 and report["tables"]["orders"]["updated"] == 0


def test_catch_up_of_a_row_changed_back_to_the_original_applies_it(tmp_path):
    base_rows = same_rows()
    assert migrate(write_export(tmp_path / "export", base_rows()))[0] == 0
    original = every_table()
    rows = base_rows()
    order(rows, "501")["status"] = "completed"
    assert migrate(write_export(tmp_path / "changed", rows), "--catch-up")[0] == 0
    assert owner_rows("orders", "status")[1] == ("completed",)
    code, out, report = migrate(write_export(tmp_path / "back", base_rows()), "--catch-up")
    assert code == 0, out
    assert report["tables"]["orders"]["updated"] == 1
    assert every_table() == original
    # and a catch-up with nothing changed writes nothing
    code, out, report = migrate(write_export(tmp_path / "same", base_rows()), "--catch-up")
    assert code == 0 and report["tables"]["orders"]["updated"] == 0
    assert every_table() == original


def test_catch_up_deletes_rows_gone_from_the_source_children_first_when_untouched(tmp_path):
    base_rows = same_rows()
    assert migrate(write_export(tmp_path / "export", base_rows()))[0] == 0
    # given a source where order 600 is gone (with its line and payment), and order 501 gone
    # but edited in ours, and a refund gone whose order stays
    rows = base_rows()
    rows["orders"] = [row for row in rows["orders"] if row["id"] not in ("600", "501")]
    rows["order_items"] = [row for row in rows["order_items"] if row["order_id"] != "600"]
    rows["payments"] = [row for row in rows["payments"] if row["order_id"] != "600"]
    rows["refunds"] = []
    owner_execute("UPDATE orders SET order_type = 'dine_in' WHERE id = 501")
    before = every_table()
    # when it is caught up
    code, out, report = migrate(write_export(tmp_path / "newer", rows), "--catch-up")
    # then the untouched ones go, children first; the touched one stays, listed, exit 1
    assert code == 1, out
    assert owner_rows("orders", "id") == [(500,), (501,)]
    assert owner_rows("order_items", "id") == [(5000,), (5001,)]
    assert owner_rows("payments", "id") == [(7000,)]
    assert owner_rows("refunds", "id") == []
    assert report["tables"]["orders"]["deleted"] == 1
    assert report["tables"]["order_items"]["deleted"] == 1
    assert report["tables"]["refunds"]["deleted"] == 1
    assert report["not_deleted"]["orders"][0]["key"] == 501
    assert report["not_deleted"]["orders"][0]["reason"] == "changed"
    assert "gone from the source kept" in out
    assert "orders: gone from the source, kept: 501 (changed)" in out
    assert "4 deleted (gone from the source)" in out
    assert owner_rows("legacy_import_runs", "deleted")[1] == (4,)
    # and --undo of the catch-up puts them back as they were
    code, out, report = command("--undo", str(run_ids()[1]))
    assert code == 0, out
    assert every_table() == before
    # and a catch-up whose export lacks a table's file deletes nothing of that table
    del rows["refunds"]
    code, out, report = migrate(write_export(tmp_path / "partial", rows), "--catch-up")
    assert report["tables"]["refunds"]["deleted"] == 0
    assert owner_rows("refunds", "id") == [(8000,)]
    assert report["tables"]["orders"]["deleted"] == 1


@pytest.mark.parametrize("kind", ["csv", "sql", "dump", "url"])
def test_a_fynlo_v1_catch_up_from_an_unchanged_source_changes_nothing(fynlo_v1, tmp_path, kind):
    code, out, _ = migrate_v1(fynlo_v1[kind], tmp_path / "import")
    assert code == 1, out  # the rejects its legacy data has by design
    before = snapshot()
    code, out, report = migrate_v1(fynlo_v1[kind], tmp_path / "again", "--catch-up")
    assert code == 1, out
    assert snapshot() == before
    tables = report["tables"].values()
    assert sum(t["updated"] + t["deleted"] + t["imported"] + t["kept_not_deleted"] for t in tables) == 0, out
    assert sum(t["already_present"] for t in tables) > 0


def test_catch_up_dry_run_reports_what_the_catch_up_would_do_and_writes_nothing(tmp_path):
    # given an import, both sides changed since, and rows gone from the source (one of them
    # changed in ours)
    base_rows = same_rows()
    assert migrate(write_export(tmp_path / "export", base_rows()))[0] == 0
    ours_since()
    rows = newer_export(base_rows())
    rows["order_items"] = [row for row in rows["order_items"] if row["id"] != "6000"]
    rows["refunds"] = []
    source = write_export(tmp_path / "newer", rows)
    before = every_table()
    books = {table: owner_rows(table, "*", "1, 2, 3") for table in ("legacy_import_runs", "legacy_import_rows",
                                                                     "legacy_import_changes")}
    # when it is caught up as a dry run
    code, out, report = migrate(source, "--catch-up", "--dry-run")
    # then nothing is written, the bookkeeping included
    assert every_table() == before
    assert {table: owner_rows(table, "*", "1, 2, 3") for table in books} == books
    # and it says what the catch-up would do, as a real one says it, labelled as a dry run
    assert code == 1, out
    assert report["dry_run"] is True
    orders = report["tables"]["orders"]
    assert (orders["imported"], orders["updated"], orders["kept_ours"], orders["conflicts"]) == (1, 1, 1, 1), out
    assert report["tables"]["payments"]["updated"] == 1
    assert report["tables"]["refunds"]["stale"] == 0 and report["tables"]["refunds"]["deleted"] == 1
    assert report["tables"]["order_items"]["deleted"] == 1
    assert [c["key"] for c in report["conflicts"]["orders"]] == ["500"]
    assert "catch-up (dry run, what it would do; nothing written): 2 updated" in out
    dry = report
    # and the real catch-up does what the dry run said
    code, out, report = migrate(source, "--catch-up")
    assert code == 1, out
    for name in ("orders", "order_items", "payments", "refunds"):
        for kind in ("imported", "updated", "kept_ours", "stale", "conflicts", "deleted", "kept_not_deleted"):
            assert report["tables"][name][kind] == dry["tables"][name][kind], (name, kind)
    assert report["conflicts"] == dry["conflicts"] and report["not_deleted"] == dry["not_deleted"]


def test_catch_up_dry_run_lists_rows_gone_from_the_source_it_would_keep(tmp_path):
    base_rows = same_rows()
    assert migrate(write_export(tmp_path / "export", base_rows()))[0] == 0
    rows = base_rows()
    rows["orders"] = [row for row in rows["orders"] if row["id"] != "501"]
    owner_execute("UPDATE orders SET order_type = 'dine_in' WHERE id = 501")
    before = every_table()
    code, out, report = migrate(write_export(tmp_path / "newer", rows), "--catch-up", "--dry-run")
    assert code == 1, out
    assert report["not_deleted"]["orders"][0]["key"] == 501
    assert "orders: gone from the source, kept: 501 (changed)" in out
    assert every_table() == before


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_catch_up_update_the_database_refuses_is_rejected_and_the_others_go_in(tmp_path, dry_run):
    # given an import with two categories of restaurant 10
    base_rows = same_rows()
    rows = base_rows()
    rows["categories"].append({**rows["categories"][0], "id": "101", "name": "Drinks"})
    assert migrate(write_export(tmp_path / "export", rows))[0] == 0
    before = every_table()
    # and a newer source where one is renamed to the other's name, an order takes another's
    # number, and an order changes as usual
    rows = copy.deepcopy(rows)
    rows["categories"][2]["name"] = "Food"
    order(rows, "501")["order_number"] = "R10-1"
    order(rows, "600")["status"] = "cancelled"
    source = write_export(tmp_path / "newer", rows)
    # when it is caught up
    options = ("--catch-up", "--dry-run") if dry_run else ("--catch-up",)
    code, out, report = migrate(source, *options, "--rejects", str(tmp_path / "rejects"))
    # then the refused rows are rejected with their line and the database's reason, exit 1
    assert code == 1, out
    assert "Traceback" not in out
    rejected = {(r["line"], r["id"]): r["reason"] for table in ("categories", "orders")
                for r in read_rejects(tmp_path / "rejects", table)}
    assert set(rejected) == {("4", "101"), ("3", "501")}, rejected
    assert "categories_restaurant_name_uniq" in rejected[("4", "101")]
    assert "orders_order_number_key" in rejected[("3", "501")]
    assert report["tables"]["categories"]["rejected"] == 1 and report["tables"]["categories"]["updated"] == 0
    assert report["tables"]["orders"]["rejected"] == 1 and report["tables"]["orders"]["updated"] == 1
    assert report["tables"]["orders"]["balanced"] is True
    if dry_run:
        assert every_table() == before
    else:
        # and the other row went in; the refused ones are as they were
        assert owner_rows("orders", "id, order_number, status") == [
            (500, "R10-1", "completed"), (501, "R10-2", "cancelled"), (600, "R20-1", "cancelled")]
        assert owner_rows("categories", "id, name") == [(100, "Food"), (101, "Drinks"), (200, "Food")]
        assert owner_rows("legacy_import_runs", "updated")[1] == (1,)


def settings_rows() -> dict:
    return {
        "platform_settings": owner_rows("platform_settings", "platform_id, setting_key, setting_value::text",
                                        "1, 2"),
        "restaurant_settings": owner_rows("restaurant_settings", "restaurant_id, setting_key, setting_value::text",
                                          "1, 2"),
    }


def test_catch_up_of_settings_rows_found_by_their_key(tmp_path):
    # given an import with settings of each kind (rows without an id in the source)
    base_rows = same_rows()
    rows = base_rows()
    rows["settings"] += [
        {"entity_type": "restaurant", "entity_id": "10", "setting_key": "tips", "setting_value": "true",
         "setting_type": "boolean"},
        {"entity_type": "restaurant", "entity_id": "20", "setting_key": "vat_rate", "setting_value": "20.00",
         "setting_type": "number"},
        {"entity_type": "restaurant", "entity_id": "20", "setting_key": "tips", "setting_value": "false",
         "setting_type": "boolean"},
        {"entity_type": "platform", "entity_id": "1", "setting_key": "brand", "setting_value": "Fynlo",
         "setting_type": "string"},
    ]
    assert migrate(write_export(tmp_path / "export", rows))[0] == 0
    # and ours changed since: one setting changed here only, one changed in both, one gone from the
    # source changed in ours
    owner_execute("UPDATE restaurant_settings SET setting_value = '12.50' WHERE restaurant_id = 20"
                  " AND setting_key = 'vat_rate'")
    owner_execute("UPDATE restaurant_settings SET setting_value = 'true' WHERE restaurant_id = 20"
                  " AND setting_key = 'tips'")
    ours = settings_rows()
    before = every_table()
    # a newer source: the currency changed (source only), restaurant 20's tips changed (both), restaurant
    # 10's tips gone (untouched), the brand gone too, restaurant 20's VAT unchanged (ours only), restaurant
    # 10's VAT now of an entity_type refused (rejected, so not gone: kept as it is)
    newer = copy.deepcopy(rows)
    newer["settings"][0]["setting_value"] = "EUR"
    newer["settings"][4]["setting_value"] = "maybe"
    (vat_10,) = [row for row in newer["settings"] if (row["setting_key"], row["entity_id"]) == ("vat_rate", "10")]
    vat_10["entity_type"] = "store"
    newer["settings"] = [row for row in newer["settings"] if row["setting_key"] not in ("brand",)
                         and (row["setting_key"], row["entity_id"]) != ("tips", "10")]
    source = write_export(tmp_path / "newer", newer)
    # when it is caught up as a dry run, nothing is written and it says what would be done
    code, out, dry = migrate(source, "--catch-up", "--dry-run")
    assert code == 1, out
    assert every_table() == before
    # when it is caught up
    code, out, report = migrate(source, "--catch-up")
    # then the setting changed in the source only is updated, the one changed in ours only kept, the
    # one changed in both a conflict (both versions), the untouched ones gone from the source deleted
    assert code == 1, out
    settings = report["tables"]["settings"]  # (both settings tables' rows: the source file's figures)
    assert (settings["updated"], settings["kept_ours"], settings["conflicts"], settings["deleted"]) == (
        1, 1, 1, 2), settings
    assert settings["balanced"] is True
    assert settings["rejected"] - settings["conflicts"] == 1, settings  # the refused row (a conflict counts too)
    (conflict,) = report["conflicts"]["restaurant_settings"]
    assert conflict["key"] == ["20", "tips"]
    assert conflict["source"]["setting_value"] == "maybe" and conflict["ours"]["setting_value"] == "true"
    assert settings_rows() == {
        "platform_settings": [(1, "currency", "EUR")],
        "restaurant_settings": [(10, "vat_rate", "20.00"), (20, "tips", "true"), (20, "vat_rate", "12.50")],
    }, settings_rows()
    for kind in ("updated", "kept_ours", "conflicts", "deleted", "kept_not_deleted"):
        assert dry["tables"]["settings"][kind] == settings[kind], kind
    # and a second catch-up from the same source changes nothing more
    after = every_table()
    code, out, again = migrate(source, "--catch-up")
    assert every_table() == after
    assert again["tables"]["settings"]["updated"] == again["tables"]["settings"]["deleted"] == 0
    # and --undo of the catch-up puts the settings back as they were
    code, out, _ = command("--undo", str(run_ids()[2]))
    code, out, _ = command("--undo", str(run_ids()[1]))
    assert code == 0, out
    assert settings_rows() == ours
    assert every_table() == before


# -- --catch-up of the fynlo-v1 format --

ORDER_A, ORDER_B, ORDER_NEW, PAY_B = u(67), u(68), u(69), u(75)
V1_TS = "2025-08-03 12:00:00+00"


class LegacyCopy:
    """A legacy database the test changes (`execute`), read as the catch-up's source (`source`):
    its URL, or (kind "sql") a plain pg_dump of it taken at that moment."""

    def __init__(self, conn: psycopg.Connection, url: str, kind: str, folder):
        self.conn, self.url, self.kind, self.folder, self.dumps = conn, url, kind, folder, 0

    def execute(self, *args):
        return self.conn.execute(*args)

    @property
    def source(self):
        if self.kind == "url":
            return self.url
        self.dumps += 1
        path = self.folder / f"fynlo_backup_{self.dumps}.sql"
        info = self.conn.info
        subprocess.run(["pg_dump", "-Fp", "-f", str(path), "-h", info.host, "-p", str(info.port), "-U", info.user,
                        info.dbname], check=True, env={"PGPASSWORD": info.password or "", "PATH": "/usr/bin:/bin"})
        return path


@pytest.fixture(params=["url", "sql"])
def legacy_copy(fynlo_v1, request, tmp_path_factory):
    """A legacy database of our own (a copy of the module's), with two more orders: A with two
    lines and a note (archived), B with a line and a payment; read through its URL or its plain dump."""
    name = f"{fynlo_v1['url'].rsplit('/', 1)[1]}_copy"
    admin = psycopg.connect(owner_conninfo("postgres"), autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{fynlo_v1["url"].rsplit("/", 1)[1]}"')
    conn = psycopg.connect(owner_conninfo(name), autocommit=True)

    def order_row(key, number, items, **extra):
        row = {"id": key, "restaurant_id": R1, "order_number": number, "status": "completed", "subtotal": "7.00",
               "total_amount": "7.00", "created_by": MANAGER, "items": json.dumps(items), "created_at": V1_TS,
               **extra}
        conn.execute(f"INSERT INTO orders ({', '.join(row)}) VALUES ({', '.join(['%s'] * len(row))})",
                     list(row.values()))

    order_row(ORDER_A, "ORD-A", [item(TACO, 1, "3.50", "3.50"), item(TACO, 1, "3.50", "3.50")], special_instructions="window seat")
    order_row(ORDER_B, "ORD-B", [item(BURRITO, 1, "8.00", "8.00")])
    conn.execute("INSERT INTO payments (id, order_id, payment_method, amount, status, created_at)"
                 " VALUES (%s, %s, 'cash', '8.00', 'completed', %s)", [PAY_B, ORDER_B, V1_TS])
    copied = LegacyCopy(conn, fynlo_v1["url"].rsplit("/", 1)[0] + "/" + name, request.param,
                        tmp_path_factory.mktemp("legacy_dumps"))
    yield copied
    assert copied.kind == "url" or copied.dumps > 1  # the import and the catch-ups read dumps
    conn.close()
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def ids_of(*keys: str) -> dict:
    """Our ids of legacy orders, payments and products (the order lines' map has the orders' keys too)."""
    found = dict(owner_rows("legacy_id_map WHERE legacy_table IN ('orders', 'payments', 'products')",
                            "legacy_key, new_id", "1"))
    return {key: found.get(key) for key in keys}


def lines_of(order_id) -> list[tuple]:
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT id, product_id, quantity, total_price::text FROM order_items WHERE order_id = %s"
                       " ORDER BY id", [order_id])
        return cursor.fetchall()


def archived(key: str):
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT row FROM legacy_archive WHERE legacy_table = 'orders' AND legacy_key = %s", [key])
        row = cursor.fetchone()
    return None if row is None else (json.loads(row[0]) if isinstance(row[0], str) else row[0])


def test_a_fynlo_v1_catch_up_follows_the_legacy_orders_through_the_id_map(legacy_copy, tmp_path):
    # given an import of the legacy database
    code, out, _ = migrate_v1(legacy_copy.source, tmp_path / "import")
    assert code == 1, out  # the rejects its legacy data has by design
    ids = ids_of(GOOD_ORDER, R2_ORDER, ORDER_A, ORDER_B, PAY_B)
    assert len(lines_of(ids[GOOD_ORDER])) == 2 and len(lines_of(ids[ORDER_A])) == 2
    assert archived(ORDER_A)["special_instructions"] == "window seat"
    assert archived(GOOD_ORDER)["kitchen_note"] == "rush" and archived(ORDER_B) is not None
    # when the legacy system moves on: a new order; the good order gains a line (more than it had
    # when first imported); R2's order's quantity changes; A loses a line and its note; B is
    # deleted with its payment; the good order's unknown column changes
    later = "2025-08-05 12:00:00+00"
    legacy_copy.execute(
        "INSERT INTO orders (id, restaurant_id, order_number, status, subtotal, total_amount, created_by, items,"
        " created_at) VALUES (%s, %s, 'ORD-NEW', 'completed', '3.50', '3.50', %s, %s, %s)",
        [ORDER_NEW, R1, MANAGER, json.dumps([item(TACO, 1, "3.50", "3.50")]), later])
    legacy_copy.execute("UPDATE orders SET items = (items::jsonb || %s::jsonb)::json, subtotal = '18.50',"
                        " total_amount = '18.50', kitchen_note = 'slow', updated_at = %s WHERE id = %s",
                        [json.dumps([item(TACO, 1, "3.50", "3.50")]), later, GOOD_ORDER])
    legacy_copy.execute("UPDATE orders SET items = %s, subtotal = '8.00', total_amount = '8.00', updated_at = %s"
                        " WHERE id = %s", [json.dumps([item(u(43), 2, "4.00", "8.00")]), later, R2_ORDER])
    legacy_copy.execute("UPDATE orders SET items = %s, subtotal = '3.50', total_amount = '3.50', special_instructions = NULL,"
                        " updated_at = %s WHERE id = %s",
                        [json.dumps([item(TACO, 1, "3.50", "3.50")]), later, ORDER_A])
    legacy_copy.execute("DELETE FROM payments WHERE id = %s", [PAY_B])
    legacy_copy.execute("DELETE FROM orders WHERE id = %s", [ORDER_B])
    before, before_lines = snapshot(), lines_of(ids[GOOD_ORDER])
    # then a dry run writes nothing
    code, out, dry = migrate_v1(legacy_copy.source, tmp_path / "dry", "--catch-up", "--dry-run")
    assert code == 1, out
    assert snapshot() == before
    # and without --catch-up the order with more lines is rejected (a conflict): the changed orders
    # and their lines stay as they were, nothing is deleted (only the new order goes in)
    def existing():
        return ([row for row in before_orders() if row[0] in ids.values()],
                {key: lines_of(ids[key]) for key in (GOOD_ORDER, R2_ORDER, ORDER_A, ORDER_B)})

    def before_orders():
        return owner_rows("orders", "id, status, total_amount::text, items_count, updated_at")

    unchanged = existing()
    code, out, plain = migrate_v1(legacy_copy.source, tmp_path / "plain")
    assert code == 1, out
    assert any("more lines than when it was first imported" in sample.get("reason", "")
               for sample in plain["rejects"]["order_items"]["sample"]), plain["rejects"]["order_items"]
    assert plain["tables"]["orders"]["conflicts"] == 3 and plain["tables"]["orders"]["updated"] == 0
    assert existing() == unchanged
    # when it is caught up
    code, out, report = migrate_v1(legacy_copy.source, tmp_path / "catch-up", "--catch-up")
    assert code == 1, out
    # then the new order has a new id (past the others) and its line
    new = ids_of(ORDER_NEW)[ORDER_NEW]
    assert new is not None and new > max(i for i in ids.values() if i)
    assert ("ORD-NEW",) in owner_rows("orders", "order_number", "1")
    assert [line[1:] for line in lines_of(new)] == [(ids_of(TACO)[TACO], 1, "3.50")]
    # the good order's lines are the source's three (new line ids), the old two gone
    good = lines_of(ids[GOOD_ORDER])
    assert [line[1:] for line in good] == [(ids_of(TACO)[TACO], 2, "7.00"), (ids_of(BURRITO)[BURRITO], 1, "8.00"),
                                           (ids_of(TACO)[TACO], 1, "3.50")], good
    assert not {line[0] for line in good} & {line[0] for line in before_lines}
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT items_count, total_amount::text FROM orders WHERE id = %s", [ids[GOOD_ORDER]])
        assert cursor.fetchone() == (4, "18.50")
    # R2's order's line has its new quantity; A has one line left
    assert [line[2:] for line in lines_of(ids[R2_ORDER])] == [(2, "8.00")]
    assert len(lines_of(ids[ORDER_A])) == 1
    # B is gone, with its line and its payment
    assert owner_rows("orders", "id", "1").count((ids[ORDER_B],)) == 0
    assert lines_of(ids[ORDER_B]) == []
    assert (ids[PAY_B],) not in owner_rows("payments", "id")
    # the archive follows: the changed unknown column, A's note gone, B's row gone (and the
    # archive of its payment)
    assert archived(GOOD_ORDER)["kitchen_note"] == "slow"
    assert archived(ORDER_A) == {"payment_status": "pending"}
    assert archived(ORDER_B) is None
    assert not owner_rows(f"legacy_archive WHERE legacy_key IN ('{ORDER_B}', '{PAY_B}')", "legacy_table", "1")
    tables = report["tables"]
    assert tables["orders"]["updated"] == 3 and tables["orders"]["deleted"] == 1  # (the new one: by the plain run)
    assert dry["tables"]["orders"]["imported"] == 1
    assert tables["order_items"]["deleted"] == 4  # the good order's old two, A's second, B's
    assert tables["payments"]["deleted"] == 1
    # and the dry run said the same of orders
    for kind in ("updated", "deleted", "kept_not_deleted"):
        assert dry["tables"]["orders"][kind] == tables["orders"][kind], kind
    # and a second catch-up from the same source changes nothing
    after = snapshot()
    code, out, again = migrate_v1(legacy_copy.source, tmp_path / "again", "--catch-up")
    assert snapshot() == after
    assert sum(t["updated"] + t["deleted"] + t["imported"] for t in again["tables"].values()) == 0, out


# -- --undo of the fynlo-v1 format: the id map and the archive taken back too --

KEYED = {"legacy_id_map": "legacy_table, legacy_key", "legacy_archive": "legacy_table, legacy_key"}


def every_table_v1() -> dict:
    """Every table of ours and the fynlo-v1 id map and archive, every column. (The bookkeeping,
    legacy_import_runs/_rows/_changes/_keyed_changes, is the history of the runs: an undone run
    stays listed, its logs stay.)"""
    return {**every_table(), **{table: owner_rows(table, "*", order) for table, order in KEYED.items()}}


@pytest.mark.parametrize("kind", ["csv", "sql", "dump", "url"])
def test_undo_of_a_fynlo_v1_import_restores_every_table_and_a_reimport_gives_the_same_ids(fynlo_v1, tmp_path, kind):
    # given an archive row and an id map entry from before (a run of another legacy source, say)
    owner_execute("INSERT INTO legacy_archive (legacy_table, legacy_key, row, run_started_at)"
                  " VALUES ('customers', 'older', '{\"name\": \"Ann\"}', now())")
    owner_execute("INSERT INTO legacy_id_map (legacy_table, legacy_key, target_table, new_id)"
                  " VALUES ('platforms', 'older', 'platforms', 500)")
    before = every_table_v1()
    # and a fynlo-v1 import
    code, out, _ = migrate_v1(fynlo_v1[kind], tmp_path / "import")
    assert code == 1, out  # the rejects its legacy data has by design
    imported = snapshot()
    assert len(imported["legacy_archive"]) > 10 and len(imported["legacy_id_map"]) > 10
    (run,) = run_ids()
    # when a dry run says what taking it back would do (nothing written)
    code, out, dry = command("--undo", str(run), "--dry-run")
    assert code == 0, out
    assert f"legacy_id_map: would be: {len(imported['legacy_id_map']) - 1:,} deleted" in out
    assert snapshot() == imported
    # when it is taken back
    code, out, report = command("--undo", str(run))
    # then every table, the id map and the archive included, is as before the import
    assert code == 0, out
    assert every_table_v1() == before
    assert report["undone"] is True
    # (all but the row and the entry from before)
    assert report["keyed"]["legacy_archive"]["deleted"] == len(imported["legacy_archive"]) - 1
    assert report["keyed"]["legacy_id_map"]["deleted"] == len(imported["legacy_id_map"]) - 1
    assert f"legacy_archive: {len(imported['legacy_archive']) - 1:,} deleted, 0 restored, 0 put back" in out
    # and a re-import gives every legacy key the same id as the first import did
    code, out, _ = migrate_v1(fynlo_v1[kind], tmp_path / "again")
    assert code == 1, out
    assert snapshot() == imported


def test_undo_of_a_fynlo_v1_catch_up_restores_every_table_as_after_the_import(legacy_copy, tmp_path):
    # given an import of the legacy database
    code, out, _ = migrate_v1(legacy_copy.source, tmp_path / "import")
    assert code == 1, out
    ids = ids_of(GOOD_ORDER, ORDER_A, ORDER_B, PAY_B)
    after_import = every_table_v1()
    # and the legacy system moved on: an archived column changed (the good order's kitchen note),
    # the good order gains a line (its lines get new ids: its id map entry replaced), A loses its
    # note (archive row updated), B deleted with its payment (its archive row removed), a new order
    later = "2025-08-05 12:00:00+00"
    legacy_copy.execute("UPDATE orders SET items = (items::jsonb || %s::jsonb)::json, subtotal = '18.50',"
                        " total_amount = '18.50', kitchen_note = 'slow', updated_at = %s WHERE id = %s",
                        [json.dumps([item(TACO, 1, "3.50", "3.50")]), later, GOOD_ORDER])
    legacy_copy.execute("UPDATE orders SET special_instructions = NULL, updated_at = %s WHERE id = %s",
                        [later, ORDER_A])
    legacy_copy.execute("DELETE FROM payments WHERE id = %s", [PAY_B])
    legacy_copy.execute("DELETE FROM orders WHERE id = %s", [ORDER_B])
    legacy_copy.execute(
        "INSERT INTO orders (id, restaurant_id, order_number, status, subtotal, total_amount, created_by, items,"
        " created_at) VALUES (%s, %s, 'ORD-NEW', 'completed', '3.50', '3.50', %s, %s, %s)",
        [ORDER_NEW, R1, MANAGER, json.dumps([item(TACO, 1, "3.50", "3.50")]), later])
    source = legacy_copy.source
    # when a dry run of the catch-up says what it would do: the archive rows it would remove
    # counted and listed, nothing written
    code, out, dry = migrate_v1(source, tmp_path / "dry", "--catch-up", "--dry-run")
    assert every_table_v1() == after_import
    gone = [{"legacy_table": "orders", "legacy_key": ORDER_B}]  # (its payment had nothing archived)
    assert dry["archive_removed"] == gone
    removed = "legacy_archive: rows removed (their legacy row gone, or nothing of it archived now)"
    assert dry["choices"][removed] == 1
    assert f"  {removed}: 1" in out
    # and the catch-up does it
    code, out, report = migrate_v1(source, tmp_path / "catch-up", "--catch-up")
    assert code == 1, out
    assert report["archive_removed"] == dry["archive_removed"]
    assert report["choices"][removed] == dry["choices"][removed]
    assert archived(ORDER_B) is None and archived(GOOD_ORDER)["kitchen_note"] == "slow"
    assert "special_instructions" not in archived(ORDER_A)
    assert ids_of(ORDER_NEW)[ORDER_NEW] is not None
    assert report["tables"]["order_items"]["deleted"] >= 2
    caught_up = snapshot()
    _, catch_up = run_ids()
    # when the catch-up is taken back
    code, out, undo = command("--undo", str(catch_up))
    # then every table, the id map and the archive included, is as after the import
    assert code == 0, out
    assert every_table_v1() == after_import
    archive = undo["keyed"]["legacy_archive"]
    # (the new order's archive row deleted; the good order's and A's restored; B's put back)
    assert archive == {"deleted": 1, "restored": 2, "put_back": 1}, archive
    assert undo["keyed"]["legacy_id_map"]["put_back"] == 1  # the good order's lines' range
    # and the same catch-up again does the same
    code, out, again = migrate_v1(source, tmp_path / "again", "--catch-up")
    assert code == 1, out
    assert snapshot() == caught_up
    assert again["archive_removed"] == report["archive_removed"]
    assert command("--undo", str(run_ids()[-1]))[0] == 0
    assert every_table_v1() == after_import
    # and an undo of the import that keeps a row (changed in ours) leaves the id map and the
    # archive as they are, and says so; once the change is put back, the rest goes too
    original = owner_value("SELECT table_number FROM orders WHERE id = %s", [ids[ORDER_A]])
    owner_execute("UPDATE orders SET table_number = 'T9' WHERE id = %s", [ids[ORDER_A]])
    import_run = run_ids()[0]
    code, out, undo = command("--undo", str(import_run))
    assert code == 1, out
    assert undo["keyed"] == {} and undo["tables"]["orders"]["kept"]["changed"] == 1
    assert "legacy_id_map, legacy_archive: left as they are while rows are kept" in out
    assert owner_rows("legacy_archive", "*", "1, 2") == after_import["legacy_archive"]
    assert owner_rows("legacy_id_map", "*", "1, 2") == after_import["legacy_id_map"]
    owner_execute("UPDATE orders SET table_number = %s WHERE id = %s", [original, ids[ORDER_A]])
    code, out, undo = command("--undo", str(import_run))
    assert code == 0, out
    assert owner_rows("legacy_archive", "*", "1, 2") == owner_rows("legacy_id_map", "*", "1, 2") == []
    assert all(rows == [] for rows in every_table().values())
