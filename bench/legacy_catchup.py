"""`migrate_legacy COPY --catch-up` against the full import of the export it catches up with, in
both formats.

The guide case: legacy_import's export (1M orders, ~3M order items, ~1M payments and their parents by
default; BENCH_LEGACY_ORDERS, cached under BENCH_LEGACY_DIR). In the same run:

- the limit: the full import of that export (`migrate_legacy EXPORT --only <those tables>`
  into emptied tables, its own process, start-up to exit), as legacy_import's subject runs it;
- then a mutated copy of the export is written (cached beside it): 1 % of the orders changed
  (status, discount and total, a later `updated_at`), 0.5 % new orders with their items and
  payments (new ids), 0.1 % of the orders deleted with their items and payments;
- the subject: `migrate_legacy COPY --catch-up --only <the same tables>` on top of the full
  import, its own process, start-up to exit.

The fynlo-v1 case (the real legacy Fynlo database): legacy_import's fynlo-v1 CSV folder (as many
legacy orders, ~3 lines each in `orders.items`, ~1 payment each), imported whole into emptied tables
(id map and archive too), then a mutated copy caught up on top: 1 % of the legacy orders changed
(status, discount and total, the first element of `items` changed, a later `updated_at`), 0.5 % new
orders (new UUIDs, their `items` and payments), 0.1 % deleted with their payments and refunds (none
of the generated refunds is of one; never an order the stock ledger refers to).

Printed per case: both times, their ratio (target <= 0.25x) and the catch-up's updated / inserted /
deleted counts per table against what the mutation did (they must match, else FAIL).
BENCH_LEGACY_FORMATS=guide,fynlo-v1 (default guide) chooses the cases.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from bench.common import bench_database, report, setup_django
from bench.legacy_import import (
    HOT_TABLES,
    PARENTS,
    export,
    fynlo_v1_export,
    fynlo_v1_subject,
    migrate_legacy_process,
    subject,
)

TARGET_RATIO = 0.25
CHANGED_EVERY, CHANGED_AT = 100, 3  # 1 %: orders whose number % 100 == 3
NEW_EVERY, NEW_AT = 200, 11  # 0.5 %: a new order copied from each order whose number % 200 == 11
DELETED_EVERY, DELETED_AT = 1000, 7  # 0.1 %: orders whose number % 1000 == 7 (never a changed one)
LATER = "2026-06-01T12:00:00+00:00"  # after every updated_at of the generated exports
LATER_V1 = "2026-06-01 12:00:00+00"  # the same, as PostgreSQL writes it (fynlo-v1's CSV files)
OTHERS = ("conflicts", "kept_ours", "stale", "kept_not_deleted", "rejected")


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _mutated_copy(folder: Path, rewritten: set[str], write) -> tuple[Path, dict]:
    """A copy of an export some days on (cached beside it, `mutation.json` last): the files not
    `rewritten` linked, `write(copy, expected)` writes the others and counts what it did in
    `expected` (table -> updated / inserted / deleted, zero unless counted). (its folder, expected)"""
    copy = folder.parent / f"{folder.name}_catchup"
    expected_path = copy / "mutation.json"
    if expected_path.exists():
        return copy, json.loads(expected_path.read_text())
    print(f"writing the mutated copy of the export in {copy} ...", flush=True)
    if copy.exists():
        shutil.rmtree(copy)
    copy.mkdir(parents=True)
    for path in folder.glob("*.csv"):
        if path.name not in rewritten:
            _link_or_copy(path, copy / path.name)
    expected: dict = {}
    write(copy, expected)
    expected = {table: {"updated": 0, "inserted": 0, "deleted": 0, **counts} for table, counts in expected.items()}
    expected_path.write_text(json.dumps(expected))
    return copy, expected


@contextmanager
def _rewrite(source: Path, target: Path):
    """A CSV file copied row by row: (its header, its rows, the copy's writer), the header written."""
    with open(source, newline="", encoding="utf-8") as src, open(target, "w", newline="", encoding="utf-8") as out:
        reader, writer = csv.reader(src), csv.writer(out, lineterminator="\n")
        header = next(reader)
        writer.writerow(header)
        yield header, reader, writer


def _count(expected: dict, table: str, what: str, n: int = 1) -> None:
    expected.setdefault(table, {}).setdefault(what, 0)
    expected[table][what] += n


def _change(row: list[str], at: dict[str, int], later: str) -> None:
    """A changed order: its status flipped, a pound of discount off its total, a later updated_at."""
    row[at["status"]] = "completed" if row[at["status"]] == "cancelled" else "cancelled"
    discount = min(Decimal("1.00"), Decimal(row[at["total_amount"]]))
    row[at["discount_amount"]] = str(Decimal(row[at["discount_amount"]] or "0") + discount)
    row[at["total_amount"]] = str(Decimal(row[at["total_amount"]]) - discount)
    row[at["updated_at"]] = later


def mutate(folder: Path) -> tuple[Path, dict]:
    """The guide export some days on (see the module's docstring)."""

    def write(copy: Path, expected: dict) -> None:
        for table in PARENTS + HOT_TABLES:
            expected[table] = {}
        deleted, new_ids = set(), {}
        with _rewrite(folder / "orders_export.csv", copy / "orders_export.csv") as (header, reader, writer):
            at = {name: i for i, name in enumerate(header)}
            templates, last = [], 0
            for row in reader:
                ident = int(row[at["id"]])
                last = max(last, ident)
                if ident % DELETED_EVERY == DELETED_AT:
                    deleted.add(ident)
                    continue
                if ident % NEW_EVERY == NEW_AT:
                    templates.append(list(row))
                if ident % CHANGED_EVERY == CHANGED_AT:
                    _change(row, at, LATER)
                    _count(expected, "orders", "updated")
                writer.writerow(row)
            for row in templates:
                last += 1
                new_ids[int(row[at["id"]])] = last
                row[at["id"]] = str(last)
                row[at["order_number"]] = f"{row[at['order_number']]}-N{last}"
                writer.writerow(row)
        _count(expected, "orders", "inserted", len(new_ids))
        _count(expected, "orders", "deleted", len(deleted))
        for table in ("order_items", "payments"):
            with _rewrite(folder / f"{table}_export.csv", copy / f"{table}_export.csv") as (header, reader, writer):
                ident_at, order_at = header.index("id"), header.index("order_id")
                copies, last = [], 0
                for row in reader:
                    last = max(last, int(row[ident_at]))
                    order = int(row[order_at])
                    if order in deleted:
                        _count(expected, table, "deleted")
                        continue
                    if order in new_ids:
                        copies.append([*row[:order_at], str(new_ids[order]), *row[order_at + 1:]])
                    writer.writerow(row)
                for row in copies:
                    last += 1
                    row[ident_at] = str(last)
                    writer.writerow(row)
            _count(expected, table, "inserted", len(copies))

    return _mutated_copy(folder, {f"{table}_export.csv" for table in HOT_TABLES}, write)


def _v1_number(key: str) -> int:
    """The n of a generated legacy key (generate_v1.uuid_of: its last 12 hex digits)."""
    return int(key[-12:], 16)


def mutate_fynlo_v1(folder: Path) -> tuple[Path, dict]:
    """The fynlo-v1 CSV folder some days on (see the module's docstring); counted per target table."""
    from fynlo.cutover.legacy.generate_v1 import uuid_of

    def write(copy: Path, expected: dict) -> None:
        kept = set()  # orders the stock ledger refers to: never deleted
        with open(folder / "stock_movements.csv", newline="", encoding="utf-8") as file:
            for row in csv.DictReader(file):
                kept.add(row["order_id"])
        deleted, new_keys = set(), {}
        with _rewrite(folder / "orders.csv", copy / "orders.csv") as (header, reader, writer):
            at = {name: i for i, name in enumerate(header)}
            templates, last, seed = [], 0, None
            for row in reader:
                key = row[at["id"]]
                number = _v1_number(key)
                last, seed = max(last, number), int(key.split("-")[1], 16)
                lines = len(json.loads(row[at["items"]] or "[]"))
                if number % DELETED_EVERY == DELETED_AT and key not in kept:
                    deleted.add(key)
                    _count(expected, "orders", "deleted")
                    _count(expected, "order_items", "deleted", lines)
                    continue
                if number % NEW_EVERY == NEW_AT:
                    templates.append(list(row))
                if number % CHANGED_EVERY == CHANGED_AT:
                    _change(row, at, LATER_V1)
                    items = json.loads(row[at["items"]])
                    items[0]["special_instructions"] = f"no {items[0].get('special_instructions') or 'ice'}"
                    row[at["items"]] = json.dumps(items)
                    _count(expected, "orders", "updated")
                    _count(expected, "order_items", "updated")
                writer.writerow(row)
            for row in templates:
                last += 1
                key = uuid_of("orders", last, seed)
                new_keys[row[at["id"]]] = key
                row[at["id"]] = key
                row[at["order_number"]] = f"{row[at['order_number']]}-N{last}"
                writer.writerow(row)
                _count(expected, "orders", "inserted")
                _count(expected, "order_items", "inserted", len(json.loads(row[at["items"]] or "[]")))
        for table in ("payments", "refunds"):
            with _rewrite(folder / f"{table}.csv", copy / f"{table}.csv") as (header, reader, writer):
                ident_at, order_at = header.index("id"), header.index("order_id")
                copies, last = [], 0
                for row in reader:
                    last = max(last, _v1_number(row[ident_at]))
                    if row[order_at] in deleted:
                        _count(expected, table, "deleted")
                        continue
                    if row[order_at] in new_keys and table == "payments":  # (a new order is not refunded)
                        copies.append(list(row))
                    writer.writerow(row)
                for row in copies:
                    last += 1
                    row[order_at] = new_keys[row[order_at]]
                    row[ident_at] = uuid_of(table, last, seed)
                    if row[header.index("external_id")]:
                        row[header.index("external_id")] = f"pi_{row[ident_at][-12:]}"
                    writer.writerow(row)
                    _count(expected, table, "inserted")

    return _mutated_copy(folder, {"orders.csv", "payments.csv", "refunds.csv"}, write)


def catch_up(copy: Path, database: str, args: list[str]) -> tuple[dict, float, float, int]:
    """The catch-up in its own process: (its report, wall seconds, peak RSS in MB, exit code)."""
    result, wall, rss, code = migrate_legacy_process(
        copy, database, ["--catch-up", *args], copy.parent / f"{copy.name}.report.json",
        copy.parent / f"{copy.name}.rejects",
    )
    if result is None:
        raise SystemExit(f"migrate_legacy --catch-up exited {code} without a report")
    return result, wall, rss, code


def print_memory(full_rss: float, catch_up_rss: float) -> None:
    print(f"  peak RSS: full import {full_rss:,.0f} MB, catch-up {catch_up_rss:,.0f} MB")


def compare(result: dict, expected: dict, shown: tuple[str, ...]) -> bool:
    """Print the catch-up's counts of the tables `shown` (and of any other that is not as mutated)
    against the mutation's; True when every table of the report is as mutated."""
    counted = True
    for table, got in result["tables"].items():
        want = expected.get(table, {"updated": 0, "inserted": 0, "deleted": 0})
        seen = {"updated": got.get("updated", 0), "inserted": got.get("imported", 0), "deleted": got.get("deleted", 0)}
        others = {k: got[k] for k in OTHERS if got.get(k)}
        same = seen == want and not others
        counted = counted and same
        if table in shown or not same:
            print(f"  {table:<12} updated {seen['updated']:>7,}  inserted {seen['inserted']:>7,}  deleted "
                  f"{seen['deleted']:>7,}  (the mutation: {want['updated']:,} / {want['inserted']:,} / "
                  f"{want['deleted']:,}{'; also ' + json.dumps(others) if others else ''}) "
                  f"{'ok' if same else 'WRONG'}")
    missing = sorted(set(expected) - set(result["tables"]))
    if missing:
        print(f"  not in the report: {', '.join(missing)} WRONG")
    return counted and not missing


def run_guide(database: str, orders: int) -> bool:
    folder, manifest = export(orders)
    copy, expected = mutate(folder)
    _, full, full_rss = subject(folder, database)
    result, wall, rss, code = catch_up(copy, database, ["--only", *PARENTS, *HOT_TABLES, "--timezone", "UTC"])
    rows = sum(manifest["rows"][table] for table in PARENTS + HOT_TABLES)
    print(f"legacy catch-up: {orders:,} orders; {rows:,} rows of {', '.join(PARENTS + HOT_TABLES)}; "
          f"1 % of the orders changed, 0.5 % new, 0.1 % deleted")
    counted = compare(result, expected, HOT_TABLES)
    print(f"  catch-up exit {code}; counts {'as mutated' if counted else 'NOT as mutated'}")
    print_memory(full_rss, rss)
    fast = report("catch-up vs full import (each start-up to exit): migrate_legacy --catch-up", wall, full,
                  TARGET_RATIO)
    return fast and counted and code == 0


def run_fynlo_v1(database: str, orders: int) -> bool:
    folder, _, manifest = fynlo_v1_export(orders)
    copy, expected = mutate_fynlo_v1(folder)
    _, full, full_rss = fynlo_v1_subject(folder, database, "catchup-full")
    result, wall, rss, code = catch_up(copy, database, ["--format", "fynlo-v1"])
    rows = sum(manifest["rows"].values())
    print(f"legacy catch-up fynlo-v1: {orders:,} orders; {rows:,} legacy rows ({manifest['order_items']:,} order "
          f"lines in orders.items); 1 % of the orders changed, 0.5 % new, 0.1 % deleted")
    counted = compare(result, expected, ("orders", "order_items", "payments", "refunds"))
    print(f"  fynlo-v1 catch-up exit {code}; counts {'as mutated' if counted else 'NOT as mutated'}")
    print_memory(full_rss, rss)
    fast = report("fynlo-v1 catch-up vs full import (each start-up to exit): migrate_legacy --catch-up", wall, full,
                  TARGET_RATIO)
    return fast and counted and code == 0


def run() -> bool:
    setup_django()
    database = bench_database()
    orders = int(os.environ.get("BENCH_LEGACY_ORDERS", "1000000"))
    formats = os.environ.get("BENCH_LEGACY_FORMATS", "guide").split(",")
    ok = True
    if "guide" in formats:
        ok = run_guide(database, orders) and ok
    if "fynlo-v1" in formats:
        ok = run_fynlo_v1(database, orders) and ok
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if run() else 1)
