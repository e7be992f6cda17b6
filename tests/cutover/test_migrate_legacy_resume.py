"""`migrate_legacy` killed with SIGKILL (a real process) at several points, then run again:
the database ends identical to an uninterrupted import, and no foreign key stays set aside."""

from __future__ import annotations

import csv
import io
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connections

from fynlo.cutover.legacy.generate import generate_export
from fynlo.cutover.legacy.schema import table_specs
from tests.processes import command_env

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])

BATCH = "150"
SETTINGS_TABLES = {"platform_settings": "platform_id, setting_key", "restaurant_settings": "restaurant_id, setting_key"}


def owner_connection() -> psycopg.Connection:
    return psycopg.connect(**connections["owner"].get_connection_params(), autocommit=True)


def dump() -> dict[str, list[tuple]]:
    """Every row of every importable table, in a stable order. The settings export has no
    id and no timestamps: those columns are the database's own (identity, now()). An unusable
    password is Django's (random after its "!"): only that it is unusable is the import's."""
    rows = {}
    with owner_connection() as conn:
        for table in table_specs():
            if table in SETTINGS_TABLES:
                columns = [c for c in table_specs()[table].columns if c not in ("id", "created_at", "updated_at")]
                query = f"SELECT {', '.join(columns)} FROM {table} ORDER BY {SETTINGS_TABLES[table]}"
            elif table == "users":
                columns = [
                    "CASE WHEN password_hash LIKE '!%' THEN '!' ELSE password_hash END" if c == "password_hash" else c
                    for c in table_specs()[table].columns
                ]
                query = f"SELECT {', '.join(columns)} FROM users ORDER BY id"
            else:
                query = f"SELECT * FROM {table} ORDER BY id"
            rows[table] = conn.execute(query).fetchall()
    return rows


def schema_objects() -> set[tuple]:
    """Every foreign key (with its validation state) and every index of the schema."""
    with owner_connection() as conn:
        return set(conn.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated::text FROM pg_constraint"
            " WHERE contype = 'f' AND connamespace = 'public'::regnamespace"
            " UNION ALL SELECT tablename, indexname, indexdef, 'index' FROM pg_indexes WHERE schemaname = 'public'"
        ).fetchall())


def empty_the_tables() -> None:
    with owner_connection() as conn:
        conn.execute(f"TRUNCATE {', '.join(table_specs())} RESTART IDENTITY CASCADE")


def wait_for_importers_to_leave(conn: psycopg.Connection) -> None:
    for _ in range(500):
        if not conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'migrate_legacy'"
            " AND datname = current_database()"
        ).fetchone()[0]:
            return
        time.sleep(0.01)


def run_until(source: Path, rejects: Path, condition: str, *options: str, deadline: float = 60.0) -> int | None:
    """Start the command (with `options`) in its own process and SIGKILL it as soon as
    `condition` (SQL, as the owner) holds; the process's exit code (-9 when killed)."""
    process = subprocess.Popen(
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "migrate_legacy", str(source),
         "--batch-size", BATCH, "--timezone", "UTC", "--rejects", str(rejects), *options],
        env=command_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    started = time.monotonic()
    with owner_connection() as conn:
        try:
            while process.poll() is None and time.monotonic() - started < deadline:
                if conn.execute(condition).fetchone()[0]:
                    process.send_signal(signal.SIGKILL)
                    break
                time.sleep(0.005)
            code = process.wait(timeout=deadline)
        finally:
            if process.poll() is None:
                process.kill()
        wait_for_importers_to_leave(conn)
    return code


def test_killed_at_several_points_then_rerun_the_database_is_as_an_uninterrupted_import(tmp_path):
    # given an export (with some bad rows), imported once without interruption
    generate_export(tmp_path / "export", orders=1500, bad_rows=2, seed=21)
    source = tmp_path / "export"
    constraints = schema_objects()
    with pytest.raises(CommandError):  # the bad rows: exit 1
        call_command("migrate_legacy", str(source), "--batch-size", BATCH, "--timezone", "UTC",
                     "--rejects", str(tmp_path / "rejects-whole"), stdout=io.StringIO(), stderr=io.StringIO())
    expected = dump()
    assert len(expected["order_items"]) > 4000
    empty_the_tables()

    # when the import is killed: while the orders' foreign keys and indexes are set aside, at
    # the first commission records, in the middle of the order items, at the first payments
    kill_points = [
        "SELECT count(*) > 0 FROM legacy_import_ledger WHERE table_name = 'orders'",
        "SELECT count(*) > 0 FROM commission_records",
        "SELECT count(*) >= 2000 FROM order_items",
        "SELECT count(*) > 0 FROM payments",
    ]
    codes = []
    for point in kill_points:
        codes.append(run_until(source, tmp_path / "rejects", point))
        if point == kill_points[0]:
            # the kill left the orders without their foreign keys and secondary indexes, and
            # the ledger knows them all
            missing = {name for table, name, _, _ in constraints if table == "orders"}
            missing -= {name for _, name, _, _ in schema_objects()}
            with owner_connection() as conn:
                # (other tables' rows may still be there: the background finisher can lag behind)
                ledger = {
                    row[0] for row in conn.execute("SELECT name FROM legacy_import_ledger WHERE table_name = 'orders'")
                }
            assert "idx_orders_restaurant_date" in missing and any("_fk_" in name for name in missing)
            assert missing == ledger

    # and then run once more, plainly
    final = run_until(source, tmp_path / "rejects", "SELECT false")

    # then every kill landed, the last run finished (exit 1: the bad rows), and the database
    # is row for row what the uninterrupted import made, with every foreign key and index back
    assert codes == [-signal.SIGKILL] * len(kill_points)
    assert final == 1
    assert dump() == expected
    assert schema_objects() == constraints
    with owner_connection() as conn:
        assert conn.execute("SELECT count(*) FROM legacy_import_ledger").fetchone()[0] == 0


def test_what_a_killed_run_left_in_the_ledger_is_restored_by_the_next_run(tmp_path):
    # given a foreign key and an index of payments that a killed run had dropped
    before = schema_objects()
    with owner_connection() as conn:
        name, definition = conn.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'payments'::regclass AND contype = 'f' ORDER BY conname LIMIT 1"
        ).fetchone()
        index_definition = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_payments_restaurant_date'"
        ).fetchone()[0]
        with conn.transaction():
            conn.execute(
                "INSERT INTO legacy_import_ledger (table_name, kind, name, definition) VALUES"
                " ('payments', 'foreign key', %s, %s), ('payments', 'index', 'idx_payments_restaurant_date', %s)",
                [name, definition, index_definition],
            )
            conn.execute(f'ALTER TABLE payments DROP CONSTRAINT "{name}"')
            conn.execute("DROP INDEX idx_payments_restaurant_date")
    assert schema_objects() != before
    generate_export(tmp_path / "export", orders=10, seed=2)

    # when any run starts
    out = io.StringIO()
    call_command("migrate_legacy", str(tmp_path / "export"), "--only", "platforms", stdout=out, stderr=io.StringIO())

    # then both are back (the key validated), and the ledger is empty
    assert schema_objects() == before
    with owner_connection() as conn:
        assert conn.execute("SELECT count(*) FROM legacy_import_ledger").fetchone()[0] == 0
    assert f"restored foreign key {name} on payments" in out.getvalue()
    assert "restored index idx_payments_restaurant_date on payments" in out.getvalue()


def test_a_key_restored_through_a_deadlock_is_retried_and_validated():
    # given: a foreign key of shifts -> employees set aside, and another session that locks
    # employees, then shifts (the way the next table's load takes them): the restore, which
    # locks shifts, then employees, deadlocks with it and PostgreSQL aborts one of the two
    from fynlo.cutover.legacy.load import restore_set_aside

    with owner_connection() as conn:
        name, definition = conn.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'shifts'::regclass AND contype = 'f' AND confrelid = 'employees'::regclass"
            " ORDER BY conname LIMIT 1"
        ).fetchone()
        with conn.transaction():
            conn.execute(
                "INSERT INTO legacy_import_ledger (table_name, kind, name, definition) VALUES"
                " ('shifts', 'foreign key', %s, %s)", [name, definition],
            )
            conn.execute(f'ALTER TABLE shifts DROP CONSTRAINT "{name}"')
    other_errors: list = []

    def other_session(holding: threading.Event):
        with owner_connection() as other:
            try:
                with other.transaction():
                    other.execute("LOCK TABLE employees IN ACCESS EXCLUSIVE MODE")
                    holding.set()
                    time.sleep(0.5)  # the restore now holds shifts and waits for employees
                    other.execute("LOCK TABLE shifts IN ACCESS EXCLUSIVE MODE")
            except psycopg.errors.DeadlockDetected as error:
                other_errors.append(error)

    holding = threading.Event()
    thread = threading.Thread(target=other_session, args=(holding,))
    thread.start()
    assert holding.wait(10)

    # when
    with owner_connection() as conn:
        restored = restore_set_aside(conn, table="shifts")
    thread.join(30)

    # then: the key is back and validated, whichever session PostgreSQL aborted
    assert [(item.name, item.validated, item.error) for item in restored] == [(name, True, None)]
    with owner_connection() as conn:
        assert conn.execute(
            "SELECT convalidated FROM pg_constraint WHERE conrelid = 'shifts'::regclass AND conname = %s", [name]
        ).fetchone() == (True,)
        assert conn.execute("SELECT count(*) FROM legacy_import_ledger").fetchone()[0] == 0
    assert len(other_errors) <= 1


LATER = "2025-06-01T12:00:00+00:00"


def edit_export(path: Path, table: str, edit) -> None:
    """Rewrite one file of a generated export: `edit(rows)` returns the new list of dicts."""
    file = path / f"{table}_export.csv"
    with open(file, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header, rows = reader.fieldnames, list(reader)
    with open(file, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, header)
        writer.writeheader()
        writer.writerows(edit(rows))


def newer_export(export: Path, newer: Path) -> None:
    """The legacy system some days on: every 5th order renamed (a later updated_at), every 9th
    order line's instructions changed, every 10th line gone, 200 new orders at the end."""
    shutil.copytree(export, newer)

    def orders(rows):
        for row in rows[::5]:
            row["customer_name"] = f"{row['customer_name']} (regular)"
            row["updated_at"] = LATER
        last = max(int(row["id"]) for row in rows)
        return rows + [{**row, "id": str(last + n + 1), "order_number": f"NEW-{last + n + 1}"}
                       for n, row in enumerate(rows[:200])]

    def order_items(rows):
        for row in rows[::9]:
            row["special_instructions"] = "no onions"
        return [row for index, row in enumerate(rows) if index % 10 != 3]

    edit_export(newer, "orders", orders)
    edit_export(newer, "order_items", order_items)


def bookkeeping() -> dict[str, list[tuple]]:
    """What the runs recorded of each row (not which run: the run ids differ)."""
    with owner_connection() as conn:
        return {
            "rows": conn.execute(
                "SELECT table_name, row_id, source_hash, CASE WHEN table_name = 'users' THEN NULL ELSE written_hash END"
                " FROM legacy_import_rows ORDER BY 1, 2"
            ).fetchall(),
            "changes": conn.execute(
                "SELECT table_name, row_id, action, prior - 'password_hash' FROM legacy_import_changes ORDER BY 1, 2"
            ).fetchall(),
        }


def start_again(source: Path, rejects: Path) -> None:
    """The same start: the tables and the bookkeeping emptied, the older export imported, and
    ours changed since (conflicts, rows kept because ours changed, lines that stay)."""
    empty_the_tables()
    with owner_connection() as conn:
        conn.execute("TRUNCATE legacy_import_keyed_changes, legacy_import_changes, legacy_import_rows,"
                     " legacy_import_runs RESTART IDENTITY")
    with pytest.raises(CommandError):  # the bad rows: exit 1
        call_command("migrate_legacy", str(source), "--batch-size", BATCH, "--timezone", "UTC",
                     "--rejects", str(rejects), stdout=io.StringIO(), stderr=io.StringIO())
    with owner_connection() as conn:
        conn.execute("UPDATE orders SET table_number = 'T9' WHERE id % 11 = 0")
        conn.execute("UPDATE order_items SET special_instructions = 'ours' WHERE id % 40 = 3")


def test_a_catch_up_killed_at_several_points_then_rerun_is_as_an_uninterrupted_catch_up(tmp_path):
    # given an import of an older export, ours changed since, and a newer export, caught up
    # once without interruption
    generate_export(tmp_path / "export", orders=1500, bad_rows=2, seed=21)
    newer_export(tmp_path / "export", tmp_path / "newer")
    start_again(tmp_path / "export", tmp_path / "rejects-import")
    code = run_until(tmp_path / "newer", tmp_path / "rejects-whole", "SELECT false", "--catch-up")
    assert code == 1  # the bad rows and the conflicts
    expected, expected_books = dump(), bookkeeping()
    changes = {action: sum(1 for row in expected_books["changes"] if row[2] == action)
               for action in ("updated", "deleted")}
    assert changes["updated"] > 300 and changes["deleted"] > 300, changes
    assert len(expected["orders"]) > 1600  # the new ones in

    # when, from the same start, the catch-up is killed: at its first update, in the middle of
    # the orders' updates, once the new orders go in, in the middle of the lines' updates
    start_again(tmp_path / "export", tmp_path / "rejects-import")
    kill_points = [
        "SELECT count(*) > 0 FROM legacy_import_changes",
        "SELECT count(*) > 150 FROM legacy_import_changes WHERE table_name = 'orders'",
        "SELECT count(*) > 1500 FROM orders",
        "SELECT count(*) > 200 FROM legacy_import_changes WHERE table_name = 'order_items'",
    ]
    codes = [run_until(tmp_path / "newer", tmp_path / "rejects", point, "--catch-up") for point in kill_points]
    # and then run once more, plainly
    final = run_until(tmp_path / "newer", tmp_path / "rejects", "SELECT false", "--catch-up")

    # then every kill landed, and every table, and what the bookkeeping says of each row, is
    # what the uninterrupted catch-up made
    assert codes == [-signal.SIGKILL] * len(kill_points)
    assert final == 1
    assert dump() == expected
    assert bookkeeping() == expected_books
    with owner_connection() as conn:
        assert conn.execute("SELECT count(*) FROM legacy_import_ledger").fetchone()[0] == 0


def legacy_tables() -> dict[str, list[tuple]]:
    """The fynlo-v1 import's own tables: the id map and the archive (without the run's time)."""
    with owner_connection() as conn:
        return {
            "legacy_id_map": conn.execute(
                "SELECT legacy_table, legacy_key, target_table, new_id, span FROM legacy_id_map ORDER BY 1, 2"
            ).fetchall(),
            "legacy_archive": conn.execute(
                "SELECT legacy_table, legacy_key, restaurant_id, row FROM legacy_archive ORDER BY 1, 2"
            ).fetchall(),
        }


def test_a_fynlo_v1_dump_killed_at_several_points_then_rerun_is_as_an_uninterrupted_import(tmp_path):
    # given a plain pg_dump of a legacy Fynlo database (with its traps), imported once without interruption
    from fynlo.cutover.legacy.generate_v1 import generate_fynlo_v1

    source = tmp_path / "fynlo_backup.sql"
    manifest = generate_fynlo_v1(tmp_path / "csv", orders=1500, bad_rows=1, seed=8, dump=source)
    constraints = schema_objects()
    with owner_connection() as conn:
        conn.execute("TRUNCATE legacy_id_map, legacy_archive")
    with pytest.raises(CommandError):  # the traps: exit 1
        call_command("migrate_legacy", str(source), "--batch-size", BATCH, "--rejects", str(tmp_path / "rejects-whole"),
                     stdout=io.StringIO(), stderr=io.StringIO())
    expected, expected_legacy = dump(), legacy_tables()
    assert len(expected["order_items"]) > 4000 and expected_legacy["legacy_archive"]
    assert len(expected["orders"]) == manifest.rows["orders"] - manifest.expected_rejects["orders"]
    empty_the_tables()
    with owner_connection() as conn:
        conn.execute("TRUNCATE legacy_id_map, legacy_archive")

    # when the import is killed: once the id map is written, while the orders' keys are set
    # aside, in the middle of the order lines, at the first payments
    kill_points = [
        "SELECT count(*) > 0 FROM legacy_id_map",
        "SELECT count(*) > 0 FROM legacy_import_ledger WHERE table_name = 'orders'",
        "SELECT count(*) >= 2000 FROM order_items",
        "SELECT count(*) > 0 FROM payments",
    ]
    codes = [run_until(source, tmp_path / "rejects", point) for point in kill_points]
    # and then run once more, plainly
    final = run_until(source, tmp_path / "rejects", "SELECT false")

    # then every kill landed, and the database is row for row the uninterrupted import's
    assert codes == [-signal.SIGKILL] * len(kill_points)
    assert final == 1
    assert dump() == expected
    assert legacy_tables() == expected_legacy
    assert schema_objects() == constraints
    with owner_connection() as conn:
        assert conn.execute("SELECT count(*) FROM legacy_import_ledger").fetchone()[0] == 0
        conn.execute("TRUNCATE legacy_id_map, legacy_archive")  # no model: the test flush leaves them
