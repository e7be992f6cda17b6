"""`migrate_legacy COPY --catch-up` against the full import of the export it catches up with.

The export is legacy_import's (1M orders, ~3M order items, ~1M payments and their parents by
default; BENCH_LEGACY_ORDERS, cached under BENCH_LEGACY_DIR). In the same run:

- the limit: the full import of that export (`migrate_legacy EXPORT --only <those tables>`
  into emptied tables, its own process, start-up to exit), as legacy_import's subject runs it;
- then a mutated copy of the export is written (cached beside it): 1 % of the orders changed
  (status, discount and total, a later `updated_at`), 0.5 % new orders with their items and
  payments (new ids), 0.1 % of the orders deleted with their items and payments;
- the subject: `migrate_legacy COPY --catch-up --only <the same tables>` on top of the full
  import, its own process, start-up to exit.

Printed: both times, their ratio (target <= 0.25x) and the catch-up's updated / inserted /
deleted counts per table against what the mutation did (they must match, else FAIL).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from decimal import Decimal
from pathlib import Path

from bench.common import bench_database, connect, report, setup_django
from bench.legacy_import import HOT_TABLES, PARENTS, export, migrate_legacy_process, subject

TARGET_RATIO = 0.25
CHANGED_EVERY, CHANGED_AT = 100, 3  # 1 %: orders whose id % 100 == 3
NEW_EVERY, NEW_AT = 200, 11  # 0.5 %: a new order copied from each order whose id % 200 == 11
DELETED_EVERY, DELETED_AT = 1000, 7  # 0.1 %: orders whose id % 1000 == 7 (never a changed one)
LATER = "2026-06-01T12:00:00+00:00"  # after every updated_at of the generated export


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def mutate(folder: Path) -> tuple[Path, dict]:
    """A copy of the export some days on (cached): (its folder, per table what was
    updated / inserted / deleted)."""
    copy = folder.parent / f"{folder.name}_catchup"
    expected_path = copy / "mutation.json"
    if expected_path.exists():
        return copy, json.loads(expected_path.read_text())
    print(f"writing the mutated copy of the export in {copy} ...", flush=True)
    if copy.exists():
        shutil.rmtree(copy)
    copy.mkdir(parents=True)
    for path in folder.glob("*.csv"):
        if path.name not in {f"{table}_export.csv" for table in HOT_TABLES}:
            _link_or_copy(path, copy / path.name)
    expected = {table: {"updated": 0, "inserted": 0, "deleted": 0} for table in PARENTS + HOT_TABLES}
    deleted, new_ids = set(), {}

    with open(folder / "orders_export.csv", newline="", encoding="utf-8") as src, \
            open(copy / "orders_export.csv", "w", newline="", encoding="utf-8") as out:
        reader, writer = csv.reader(src), csv.writer(out, lineterminator="\n")
        header = next(reader)
        writer.writerow(header)
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
                row[at["status"]] = "completed" if row[at["status"]] == "cancelled" else "cancelled"
                discount = min(Decimal("1.00"), Decimal(row[at["total_amount"]]))
                row[at["discount_amount"]] = str(Decimal(row[at["discount_amount"]] or "0") + discount)
                row[at["total_amount"]] = str(Decimal(row[at["total_amount"]]) - discount)
                row[at["updated_at"]] = LATER
                expected["orders"]["updated"] += 1
            writer.writerow(row)
        for row in templates:
            last += 1
            new_ids[int(row[at["id"]])] = last
            row[at["id"]] = str(last)
            row[at["order_number"]] = f"{row[at['order_number']]}-N{last}"
            writer.writerow(row)
    expected["orders"]["inserted"], expected["orders"]["deleted"] = len(new_ids), len(deleted)

    for table in ("order_items", "payments"):
        with open(folder / f"{table}_export.csv", newline="", encoding="utf-8") as src, \
                open(copy / f"{table}_export.csv", "w", newline="", encoding="utf-8") as out:
            reader, writer = csv.reader(src), csv.writer(out, lineterminator="\n")
            header = next(reader)
            writer.writerow(header)
            ident_at, order_at = header.index("id"), header.index("order_id")
            copies, last = [], 0
            for row in reader:
                last = max(last, int(row[ident_at]))
                order = int(row[order_at])
                if order in deleted:
                    expected[table]["deleted"] += 1
                    continue
                if order in new_ids:
                    copies.append([*row[:order_at], str(new_ids[order]), *row[order_at + 1:]])
                writer.writerow(row)
            for row in copies:
                last += 1
                row[ident_at] = str(last)
                writer.writerow(row)
            expected[table]["inserted"] = len(copies)
    expected_path.write_text(json.dumps(expected))
    return copy, expected


def catch_up(copy: Path, database: str) -> tuple[dict, float, int]:
    result, wall, _, code = migrate_legacy_process(
        copy, database, ["--catch-up", "--only", *PARENTS, *HOT_TABLES, "--timezone", "UTC"],
        copy.parent / f"{copy.name}.report.json", copy.parent / f"{copy.name}.rejects",
    )
    if result is None:
        raise SystemExit(f"migrate_legacy --catch-up exited {code} without a report")
    return result, wall, code


def run_guide(database: str, orders: int) -> bool:
    folder, manifest = export(orders)
    copy, expected = mutate(folder)
    owner = connect("owner")
    owner.execute("TRUNCATE legacy_import_keyed_changes, legacy_import_changes, legacy_import_rows,"
                  " legacy_import_runs RESTART IDENTITY")
    owner.close()
    _, full, _ = subject(folder, database)
    result, wall, code = catch_up(copy, database)
    rows = sum(manifest["rows"][table] for table in PARENTS + HOT_TABLES)
    print(f"legacy catch-up: {orders:,} orders; {rows:,} rows of {', '.join(PARENTS + HOT_TABLES)}; "
          f"1 % of the orders changed, 0.5 % new, 0.1 % deleted")
    counted = True
    for table in PARENTS + HOT_TABLES:
        got = result["tables"][table]
        seen = {"updated": got["updated"], "inserted": got["imported"], "deleted": got["deleted"]}
        others = {k: got[k] for k in ("conflicts", "kept_ours", "stale", "kept_not_deleted", "rejected") if got[k]}
        same = seen == expected[table] and not others
        counted = counted and same
        if table in HOT_TABLES or not same:
            print(f"  {table:<12} updated {seen['updated']:>7,}  inserted {seen['inserted']:>7,}  deleted "
                  f"{seen['deleted']:>7,}  (the mutation: {expected[table]['updated']:,} / "
                  f"{expected[table]['inserted']:,} / {expected[table]['deleted']:,}"
                  f"{'; also ' + json.dumps(others) if others else ''}) {'ok' if same else 'WRONG'}")
    print(f"  catch-up exit {code}; counts {'as mutated' if counted else 'NOT as mutated'}")
    fast = report("catch-up vs full import (each start-up to exit): migrate_legacy --catch-up", wall, full,
                  TARGET_RATIO)
    return fast and counted and code == 0


def run() -> bool:
    setup_django()
    database = bench_database()
    orders = int(os.environ.get("BENCH_LEGACY_ORDERS", 1_000_000))
    formats = os.environ.get("BENCH_LEGACY_FORMATS", "guide").split(",")
    ok = True
    if "guide" in formats:
        ok = run_guide(database, orders) and ok
    if "fynlo-v1" in formats:
        print("legacy catch-up fynlo-v1: not built yet (BENCH_LEGACY_FORMATS=guide)")
        ok = False
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if run() else 1)
