"""`migrate_legacy` against synthetic exports (`fynlo.cutover.legacy.generate`): every bad
row the generator planted is rejected at its line, every good row lands, the money adds up
to the generator's own sums, whatever the packaging and encoding."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from fynlo.cutover.legacy.generate import generate_export

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])


def migrate(source, *args) -> tuple[int, dict]:
    report_path = Path(str(source) + ".report.json")
    code = 0
    try:
        call_command("migrate_legacy", str(source), "--report", str(report_path), "--timezone", "UTC", *args,
                     stdout=io.StringIO(), stderr=io.StringIO())
    except CommandError as error:
        code = error.returncode
    return code, json.loads(report_path.read_text())


def problems(report: dict) -> str:
    """What a failed import's report says went wrong."""
    keys = ("rejects", "conflicts", "unbalanced", "constraint_problems", "error")
    found = {key: report[key] for key in keys if report.get(key)}
    found["tables"] = {
        table: {k: v for k, v in entry.items() if k in ("rejected", "conflicts", "batches_retried", "balanced")}
        for table, entry in report.get("tables", {}).items()
        if entry.get("rejected") or entry.get("conflicts") or entry.get("batches_retried") or not entry.get("balanced", True)
    }
    return json.dumps(found, default=str)[:4000]


def rejected_lines(folder: Path) -> dict[str, set[int]]:
    found = {}
    for path in folder.glob("*.csv"):
        if path.name.endswith(".conflicts.csv"):
            continue
        with open(path, newline="", encoding="utf-8") as file:
            found[path.stem] = {int(row["line"]) for row in csv.DictReader(file)}
    return found


def database_sums() -> dict[int, dict]:
    sums: dict[int, dict] = {}
    with connections["owner"].cursor() as cursor:
        for table, column, key in (("orders", "total_amount", "orders_total"), ("payments", "amount", "payments_amount"),
                                   ("refunds", "amount", "refunds_amount")):
            cursor.execute(f"SELECT restaurant_id, count(*), sum({column}) FROM {table} GROUP BY 1")
            for restaurant, count, total in cursor.fetchall():
                sums.setdefault(restaurant, {})[key] = total
                sums[restaurant][table] = count
    return sums


def test_every_planted_bad_row_is_rejected_at_its_line_and_the_good_money_adds_up(tmp_path):
    # given an export with three bad rows of each kind a table can have, and their dependents
    manifest = generate_export(tmp_path / "export", orders=400, bad_rows=3, seed=11)
    rejects = tmp_path / "rejects"

    # when
    code, report = migrate(tmp_path / "export", "--rejects", str(rejects))

    # then the rejects are exactly the generator's bad rows, line for line
    assert code == 1
    expected: dict[str, set[int]] = {}
    for bad in manifest.bad:
        expected.setdefault(bad["table"], set()).add(bad["line"])
    assert rejected_lines(rejects) == expected
    # every good row is in, and every table is accounted for
    for table, count in manifest.rows.items():
        entry = report["tables"][table]
        assert entry["rows_in"] == count, table
        assert entry["imported"] == count - len(expected.get(table, ())), table
        assert entry["balanced"], table
        assert "batches_retried" not in entry, table  # the validation caught everything itself
    # the money per restaurant is the generator's (its sums are over good rows)
    sums = database_sums()
    for restaurant, good in manifest.sums.items():
        assert sums[restaurant]["orders_total"] == Decimal(str(good["orders_total"])), restaurant
        assert sums[restaurant]["payments_amount"] == Decimal(str(good["payments_amount"])), restaurant
        assert sums[restaurant].get("orders") == good["orders"], restaurant
    assert report["reconciliation"]["balanced"] is True
    assert len(report["unusable_passwords"]) >= 1


def test_small_batches_stream_and_commit_without_the_database_refusing_any(tmp_path):
    # given batches that end exactly where the streamed chunks do, and ones that do not
    generate_export(tmp_path / "export", orders=600, seed=4)

    code, report = migrate(tmp_path / "export", "--batch-size", "100")

    assert code == 0, problems(report)
    assert all("batches_retried" not in entry for entry in report["tables"].values())
    # order, product, restaurant, and the same-restaurant keys of order and product
    assert report["tables"]["order_items"]["set_aside_during_load"] == {"foreign key": 5, "index": 3}


def test_a_generated_export_is_idempotent(tmp_path):
    generate_export(tmp_path / "export", orders=200, seed=3)
    assert migrate(tmp_path / "export")[0] == 0

    code, report = migrate(tmp_path / "export")

    assert code == 0
    for table, entry in report["tables"].items():
        assert entry["imported"] == 0, table
        assert entry["already_present"] == entry["rows_in"], table


@pytest.mark.parametrize(
    "options, args",
    [
        ({"archive": "zip"}, []),
        ({"archive": "tar.gz", "crlf": True}, []),
        ({"bom": True, "crlf": True}, []),
        ({"encoding": "cp1252"}, ["--encoding", "cp1252"]),
    ],
    ids=["zip", "tar.gz+crlf", "bom+crlf", "cp1252"],
)
def test_packaging_and_encodings_import_the_same_rows(tmp_path, options, args):
    manifest = generate_export(tmp_path / "export", orders=120, bad_rows=1, seed=5, **options)
    source = manifest.archive or manifest.dest

    code, report = migrate(source, "--rejects", str(tmp_path / "rejects"), *args)

    assert code == 1
    for table, count in manifest.rows.items():
        assert report["tables"][table]["imported"] == manifest.good_rows(table), table
