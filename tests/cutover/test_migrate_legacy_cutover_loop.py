"""The README's cutover loop run as written, on a generated legacy export (guide format) that a
script moves on between runs on both sides: the legacy system inserts, updates and deletes
orders (with their lines, payments, refunds and commission records), a manager edits rows in
ours. Import, --catch-up, --catch-up again, --verify (exit 0 once the conflicting rows are
resolved), --runs, and --undo of the last catch-up, which gives back exactly what was there."""

from __future__ import annotations

import copy
import csv
from decimal import Decimal

import pytest

from fynlo.cutover.legacy.generate import generate_export
from tests.cutover.test_migrate_legacy import migrate, owner_rows, write_export
from tests.cutover.test_migrate_legacy_loop import command as runs_command
from tests.cutover.test_migrate_legacy_loop import (  # noqa: F401 (no_bookkeeping: an autouse fixture)
    every_table,
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
