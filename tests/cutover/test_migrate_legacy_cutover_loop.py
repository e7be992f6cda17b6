"""The README's cutover loop run as written, on a generated legacy export (guide format) that a
script moves on between runs on both sides: the legacy system inserts, updates and deletes
orders (with their lines, payments, refunds and commission records), a manager edits rows in
ours. Import, --catch-up, --catch-up again, --verify (exit 0 once the conflicting rows are
resolved), --runs, and --undo of the last catch-up, which gives back exactly what was there.
Then the same loop on a generated fynlo-v1 legacy database that the test changes with SQL, read
through its URL (the id map and the archive compared too)."""

from __future__ import annotations

import copy
import csv
import io
import uuid
from decimal import Decimal

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections

from fynlo.cutover.legacy.generate import generate_export
from tests.cutover.test_migrate_legacy import migrate, owner_rows, owner_value, write_export
from tests.cutover.test_migrate_legacy_fynlo_v1 import SCHEMA, owner_conninfo, wipe
from tests.cutover.test_migrate_legacy_fynlo_v1 import migrate as migrate_v1
from tests.cutover.test_migrate_legacy_loop import command as runs_command
from tests.cutover.test_migrate_legacy_loop import (  # noqa: F401 (no_bookkeeping: an autouse fixture)
    every_table,
    every_table_v1,
    no_bookkeeping,
    owner_execute,
    run_ids,
)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])

LATER = "2026-06-01T12:00:00+00:00"  # after every timestamp of the generated export
EVEN_LATER = "2026-06-02T12:00:00+00:00"


class Legacy:
    """The legacy system's data as its export files (header and rows of each), moved on by the
    script below and exported again into a new folder each day."""

    def __init__(self, folder):
        self.headers, self.rows = {}, {}
        for path in sorted(folder.glob("*_export.csv")):
            table = path.name.removesuffix("_export.csv")
            with open(path, newline="", encoding="utf-8") as file:
                reader = csv.DictReader(file)
                self.headers[table] = list(reader.fieldnames)
                self.rows[table] = list(reader)

    def export(self, folder):
        return write_export(folder, copy.deepcopy(self.rows), headers=self.headers)

    def order(self, ident: int) -> dict:
        return next(row for row in self.rows["orders"] if int(row["id"]) == ident)

    def ids(self, table: str) -> list[int]:
        return sorted(int(row["id"]) for row in self.rows[table])

    def update_order(self, ident: int, when: str = LATER, **values) -> None:
        self.order(ident).update(values, updated_at=when)

    def insert_order_like(self, template: int) -> tuple[int, int]:
        """A new order (a copy of another, new ids) with its lines and payments: (its id, rows)."""
        rows = sum(len(table_rows) for table_rows in self.rows.values())
        new = max(self.ids("orders")) + 1
        self.rows["orders"].append({**self.order(template), "id": str(new), "order_number": f"NEW-{new}",
                                    "created_at": LATER, "updated_at": LATER})
        for table in ("order_items", "payments"):
            next_id = max(self.ids(table)) + 1
            for row in [row for row in self.rows[table] if int(row["order_id"]) == template]:
                self.rows[table].append({**row, "id": str(next_id), "order_id": str(new)})
                next_id += 1
        return new, sum(len(table_rows) for table_rows in self.rows.values()) - rows

    def delete_order(self, ident: int) -> dict[str, int]:
        """The order and every row under it (lines, payments, refunds, commission records):
        how many of each went."""
        payments = {row["id"] for row in self.rows["payments"] if int(row["order_id"]) == ident}
        gone = {}
        for table, rows in self.rows.items():
            if table == "orders":
                kept = [row for row in rows if int(row["id"]) != ident]
            elif "order_id" in self.headers[table]:
                kept = [row for row in rows if row["order_id"] != str(ident) and row.get("payment_id") not in payments]
            else:
                continue
            gone[table] = len(rows) - len(kept)
            self.rows[table] = kept
        return gone


def orders_with(legacy: Legacy, count: int, *, without: set[int]) -> list[int]:
    """Orders with lines and payments and nothing refunded (a plain sale)."""
    refunded = {int(row["order_id"]) for row in legacy.rows["refunds"]}
    paid = {int(row["order_id"]) for row in legacy.rows["payments"]}
    lined = {int(row["order_id"]) for row in legacy.rows["order_items"]}
    found = [ident for ident in legacy.ids("orders") if ident in paid and ident in lined
             and ident not in refunded and ident not in without]
    return found[:count]


def test_the_cutover_loop_as_the_readme_runs_it(tmp_path):
    generate_export(tmp_path / "generated", orders=60, seed=7)
    legacy = Legacy(tmp_path / "generated")
    refunded_order = int(legacy.rows["refunds"][0]["order_id"])
    a, b, c, d, e, f, g = orders_with(legacy, 7, without={refunded_order})

    # days ahead, while the old system serves
    code, out, report = migrate(legacy.export(tmp_path / "day0"))
    assert code == 0, out
    imported = report["tables"]["orders"]["imported"]
    assert imported == 60

    # the old system moves on: c and b changed there, a payment's status, a new order, the
    # refunded order deleted with its refund; a manager edits a and b in ours
    legacy.update_order(c, status="cancelled")
    legacy.update_order(b, status="cancelled")
    payment = next(row for row in legacy.rows["payments"] if int(row["order_id"]) == d)
    payment["status"] = "refunded"
    new_one, first_inserted = legacy.insert_order_like(e)
    first_gone = legacy.delete_order(refunded_order)
    owner_execute("UPDATE orders SET table_number = 'T99' WHERE id = %s", [a])
    owner_execute("UPDATE orders SET customer_name = 'Edited by the manager' WHERE id = %s", [b])

    # as often as wanted until the window
    code, out, report = migrate(legacy.export(tmp_path / "day1"), "--catch-up")
    orders = report["tables"]["orders"]
    assert code == 1, out  # b: changed on both sides
    assert (orders["imported"], orders["updated"], orders["kept_ours"], orders["conflicts"], orders["deleted"]) == (
        1, 1, 1, 1, 1), out
    assert report["tables"]["payments"]["updated"] == 1
    assert report["tables"]["refunds"]["deleted"] == 1
    assert [entry["key"] for entry in report["conflicts"]["orders"]] == [str(b)]
    ours = {ident: rest for ident, *rest in owner_rows("orders", "id, status, table_number, customer_name")}
    assert ours[c][0] == "cancelled"  # applied
    assert ours[a][1] == "T99"  # ours kept
    assert ours[b][0] != "cancelled" and ours[b][2] == "Edited by the manager"  # the conflict: ours kept
    assert new_one in ours and refunded_order not in ours
    assert set(ours) == set(legacy.ids("orders"))

    # the conflict is resolved: the engineer takes the legacy system's version of b; the
    # manager's edit of a is keyed into the old system too
    owner_execute("UPDATE orders SET customer_name = %s, status = 'cancelled', updated_at = %s WHERE id = %s",
                  [legacy.order(b)["customer_name"] or None, LATER, b])
    legacy.order(a)["table_number"] = "T99"
    # in the window: the last moves of the old system before its writes stop
    legacy.update_order(f, when=EVEN_LATER, status="cancelled", discount_amount="1.00",
                        total_amount=str(Decimal(legacy.order(f)["total_amount"]) - 1))
    legacy.update_order(c, when=EVEN_LATER, status="completed")  # changed back
    second_new, second_inserted = legacy.insert_order_like(g)
    gone = [legacy.delete_order(new_one), legacy.delete_order(g)]
    before_last = every_table()
    bookkeeping_before = owner_rows("legacy_import_rows", "table_name, row_id, run_id, source_hash, written_hash",
                                    "table_name, row_id")

    code, out, report = migrate(legacy.export(tmp_path / "day2"), "--catch-up")
    assert code == 0, out
    orders = report["tables"]["orders"]
    assert (orders["imported"], orders["updated"], orders["deleted"], orders["conflicts"]) == (1, 2, 2, 0), out
    for table in ("order_items", "payments", "commission_records"):
        assert report["tables"][table]["deleted"] == sum(counts[table] for counts in gone), (table, out)

    code, out, report = migrate(legacy.export(tmp_path / "day2"), "--verify")
    assert code == 0, out
    assert report["verification"]["tables"]["orders"]["identical"] == len(legacy.rows["orders"])
    assert owner_rows("orders", "id")[-1] == (second_new,)

    # --runs lists the three runs
    code, out, report = runs_command("--runs")
    assert code == 0, out
    runs = [(run["kind"], run["inserted"], run["updated"], run["deleted"], run["conflicts"]) for run in report["runs"]]
    assert runs[1:] == [("catch-up", first_inserted, 2, sum(first_gone.values()), 1),
                        ("catch-up", second_inserted, 2, sum(sum(counts.values()) for counts in gone), 0)], runs
    assert runs[0][0] == "import" and runs[0][1] > 200
    table = out.split("\n{")[0]
    assert "3 runs" in table and table.count(" finished ") == 3, table

    # if the switch is called off: --undo of the last catch-up gives back exactly what was before it
    first, second, last = run_ids()
    code, out, report = runs_command("--undo", str(last))
    assert code == 0, out
    assert every_table() == before_last
    assert owner_rows("legacy_import_rows", "table_name, row_id, run_id, source_hash, written_hash",
                      "table_name, row_id") == bookkeeping_before


# -- the same loop on a generated fynlo-v1 legacy database, read through its URL --

@pytest.fixture
def generated_legacy(tmp_path, django_db_setup, django_db_blocker):
    """A legacy Fynlo database written by `generate_legacy_export --format fynlo-v1` (no bad rows):
    its URL and an open connection to it, which the test uses as the old system's writes."""
    name = f"{settings.DATABASES['owner']['TEST']['NAME']}_loop_v1"
    with django_db_blocker.unblock():
        wipe()
        admin = psycopg.connect(owner_conninfo("postgres"), autocommit=True)
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
        params = connections["owner"].get_connection_params()
        url = (f"postgresql://{params['user']}:{params.get('password') or ''}@{params.get('host') or '127.0.0.1'}:"
               f"{params.get('port') or 5432}/{name}")
        call_command("generate_legacy_export", str(tmp_path / "csv"), "--format", "fynlo-v1", "--orders", "60",
                     "--seed", "11", "--database-url", url, "--schema", str(SCHEMA), stdout=io.StringIO(),
                     stderr=io.StringIO())
    conn = psycopg.connect(url, autocommit=True)
    yield url, conn
    conn.close()
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def our_order(key: str) -> int:
    return owner_value("SELECT new_id FROM legacy_id_map WHERE legacy_table = 'orders' AND legacy_key = %s", [key])


def copy_order(legacy, template: str, number: str) -> str:
    """A new legacy order like another (new keys), with copies of its payments: its key."""
    key = str(uuid.uuid4())
    legacy.execute("CREATE TEMP TABLE o AS SELECT * FROM orders WHERE id = %s", [template])
    legacy.execute("UPDATE o SET id = %s, order_number = %s, created_at = %s, updated_at = NULL",
                   [key, number, LATER])
    legacy.execute("INSERT INTO orders SELECT * FROM o")
    legacy.execute("CREATE TEMP TABLE p AS SELECT * FROM payments WHERE order_id = %s", [template])
    legacy.execute("UPDATE p SET id = gen_random_uuid(), order_id = %s, created_at = %s", [key, LATER])
    legacy.execute("INSERT INTO payments SELECT * FROM p")
    legacy.execute("DROP TABLE o, p")
    return key


def test_the_fynlo_v1_cutover_loop_on_a_generated_legacy_database(generated_legacy, tmp_path):
    url, legacy = generated_legacy
    # plain sales: orders with a payment, no refund and nothing else pointing at them
    a, b, c, d, e, f, g = (str(key) for (key,) in legacy.execute(
        "SELECT o.id FROM orders o WHERE EXISTS (SELECT FROM payments p WHERE p.order_id = o.id)"
        " AND NOT EXISTS (SELECT FROM refunds r WHERE r.order_id = o.id)"
        " AND NOT EXISTS (SELECT FROM qr_payments q WHERE q.order_id = o.id)"
        " AND NOT EXISTS (SELECT FROM stock_movements s WHERE s.order_id = o.id)"
        " AND jsonb_array_length(o.items) > 0 ORDER BY o.order_number LIMIT 7"))

    def lines(key):
        return legacy.execute("SELECT jsonb_array_length(items) FROM orders WHERE id = %s", [key]).fetchone()[0]

    def payments(key):
        return legacy.execute("SELECT count(*) FROM payments WHERE order_id = %s", [key]).fetchone()[0]

    # days ahead, while the old system serves: the import from the live URL
    code, out, report = migrate_v1(url, tmp_path / "day0", "--timezone", "UTC")
    assert code == 0, out
    assert report["tables"]["orders"]["imported"] == 60 and report["reconciliation"]["balanced"]
    ours_a, ours_b = our_order(a), our_order(b)
    original_b = owner_value("SELECT customer_name FROM orders WHERE id = %s", [ours_b])

    # the old system moves on: c and b changed there, a payment of d refunded, a new order like e,
    # f deleted with its payments; a manager edits a and b in ours
    legacy.execute("UPDATE orders SET status = 'cancelled', updated_at = %s WHERE id IN (%s, %s)", [LATER, c, b])
    legacy.execute("UPDATE payments SET status = 'refunded' WHERE id = (SELECT min(id::text)::uuid FROM payments"
                   " WHERE order_id = %s)", [d])
    new_one = copy_order(legacy, e, "NEW-1")
    f_lines, f_payments = lines(f), payments(f)
    legacy.execute("DELETE FROM payments WHERE order_id = %s", [f])
    legacy.execute("DELETE FROM orders WHERE id = %s", [f])
    owner_execute("UPDATE orders SET table_number = 'T99' WHERE id = %s", [ours_a])
    owner_execute("UPDATE orders SET customer_name = 'Edited by the manager' WHERE id = %s", [ours_b])

    # as often as wanted until the window
    code, out, report = migrate_v1(url, tmp_path / "day1", "--timezone", "UTC", "--catch-up")
    tables = report["tables"]
    orders = tables["orders"]
    assert code == 1, out  # b: changed on both sides
    assert (orders["imported"], orders["updated"], orders["kept_ours"], orders["conflicts"], orders["deleted"]) == (
        1, 1, 1, 1, 1), out
    assert (tables["order_items"]["imported"], tables["order_items"]["deleted"]) == (lines(e), f_lines), out
    assert (tables["payments"]["imported"], tables["payments"]["updated"], tables["payments"]["deleted"]) == (
        payments(e), 1, f_payments), out
    assert [entry["key"] for entry in report["conflicts"]["orders"]] == [str(ours_b)]
    ours = {ident: rest for ident, *rest in owner_rows("orders", "id, status, table_number, customer_name")}
    assert ours[our_order(c)][0] == "cancelled"  # applied
    assert ours[ours_a][1] == "T99"  # ours kept
    assert ours[ours_b][0] != "cancelled" and ours[ours_b][2] == "Edited by the manager"  # the conflict
    assert our_order(new_one) in ours and len(ours) == 60

    # the conflict is resolved: the manager's edit of b is taken back (the legacy version will apply),
    # the one of a keyed into the old system too
    owner_execute("UPDATE orders SET customer_name = %s WHERE id = %s", [original_b, ours_b])
    legacy.execute("UPDATE orders SET table_number = 'T99' WHERE id = %s", [a])
    # in the window: the last moves of the old system before its writes stop
    legacy.execute("UPDATE orders SET discount_amount = 1.00, total_amount = total_amount - 1, updated_at = %s"
                   " WHERE id = %s", [EVEN_LATER, g])
    second_new = copy_order(legacy, e, "NEW-2")
    legacy.execute("DELETE FROM payments WHERE order_id = %s", [new_one])
    legacy.execute("DELETE FROM orders WHERE id = %s", [new_one])
    before_last = every_table_v1()

    code, out, report = migrate_v1(url, tmp_path / "day2", "--timezone", "UTC", "--catch-up")
    assert code == 0, out
    orders = report["tables"]["orders"]
    assert (orders["imported"], orders["updated"], orders["deleted"], orders["conflicts"]) == (1, 2, 1, 0), out
    assert report["reconciliation"]["balanced"], report["reconciliation"]

    code, out, report = migrate_v1(url, tmp_path / "verify", "--timezone", "UTC", "--verify")
    assert code == 0, out
    assert report["verification"]["tables"]["orders"]["identical"] == 60
    assert our_order(second_new) == max(ident for (ident,) in owner_rows("orders", "id"))

    # --runs lists the three runs
    code, out, report = runs_command("--runs")
    assert code == 0, out
    assert [run["kind"] for run in report["runs"]] == ["import", "catch-up", "catch-up"], report["runs"]
    assert [run["conflicts"] for run in report["runs"]][1:] == [1, 0]

    # if the switch is called off: --undo of the last catch-up gives back exactly what was before it,
    # the id map and the archive included
    *_, last = run_ids()
    code, out, report = runs_command("--undo", str(last))
    assert code == 0, out
    assert every_table_v1() == before_last
