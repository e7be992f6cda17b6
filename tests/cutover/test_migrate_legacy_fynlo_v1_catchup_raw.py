"""`migrate_legacy --catch-up` of the fynlo-v1 format does not translate again the legacy records of
orders, their lines and payments that are unchanged since the run that wrote their rows (their raw
hash, `legacy_import_rows.raw_hash`, taken from the legacy record and what else its translation reads),
and counts them as before: already present, seen (not gone), in the reconciliation, their archive rows
kept. A changed customer's name or restaurant plan, an option, ours changed or a key met twice make the
record be translated again."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from fynlo.cutover.legacy.generate_v1 import generate_fynlo_v1
from tests.cutover.test_migrate_legacy import owner_rows, owner_value
from tests.cutover.test_migrate_legacy_catchup_raw import source_figures
from tests.cutover.test_migrate_legacy_fynlo_v1 import empty_database, migrate, snapshot  # noqa: F401 (a fixture)
from tests.cutover.test_migrate_legacy_loop import no_bookkeeping, owner_execute  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])

HOT = ("orders", "order_items", "payments")


@pytest.fixture
def export(tmp_path) -> Path:
    folder = tmp_path / "legacy"
    generate_fynlo_v1(folder, platforms=1, restaurants_per_platform=2, orders=60, seed=5)
    return folder


def raw_hashes(tables=HOT) -> dict:
    return {(t, i): raw for t, i, raw in owner_rows("legacy_import_rows", "table_name, row_id, raw_hash", "1, 2")
            if t in tables}


def edit(folder: Path, table: str, change) -> int:
    """Rewrite a legacy CSV file, `change(row)` (a dict) returning True where it changed the row."""
    path = folder / f"{table}.csv"
    with open(path, newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        header, rows = reader.fieldnames, list(reader)
    changed = sum(bool(change(row)) for row in rows)
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return changed


def counts(report: dict, table: str) -> tuple:
    got = report["tables"][table]
    return got["already_present"], got["imported"], got["updated"], got["deleted"], got["kept_ours"]


@pytest.mark.parametrize("batches", [(), ("--batch-size", "7")], ids=["one batch", "batches of seven"])
def test_a_catch_up_of_the_same_legacy_database_translates_none_of_its_orders_lines_and_payments(export, tmp_path,
                                                                                                 batches):
    # given a fynlo-v1 import: each order, line and payment has the raw hash of its legacy record
    # (kept a batch at a time: each batch records its own)
    code, out, imported = migrate(export, tmp_path / "import", *batches)
    assert code == 0, out
    first = raw_hashes()
    rows = {table: imported["tables"][table]["imported"] for table in HOT}
    assert len(first) == sum(rows.values()) and all(first.values()) and min(rows.values()) > 0
    assert imported["archived"]["orders"] == rows["orders"]  # (payment_status: every order archives)
    before = snapshot()
    # when the same legacy database is caught up
    code, out, report = migrate(export, tmp_path / "again", "--catch-up")
    # then none of those records was translated (nothing archived anew), every row already present,
    # none gone, the archive kept, the reconciliation's source side as the import's
    assert code == 0, out
    assert "orders" not in report["archived"] and "payments" not in report["archived"]
    for table in HOT:
        assert counts(report, table) == (rows[table], 0, 0, 0, 0), table
    assert source_figures(report) == source_figures(imported)
    assert report["reconciliation"]["balanced"] is True
    assert snapshot() == before and raw_hashes() == first


def test_a_changed_customer_name_or_restaurant_plan_is_translated_again(export, tmp_path):
    # given an import
    assert migrate(export, tmp_path / "import")[0] == 0
    # when a customer is renamed and a restaurant moves to another plan (another commission rate)
    with open(export / "customers.csv", newline="", encoding="utf-8") as file:
        customer = next(csv.DictReader(file))
    assert edit(export, "customers", lambda row: row["id"] == customer["id"] and row.update(first_name="Zed") is None)
    with open(export / "restaurants.csv", newline="", encoding="utf-8") as file:
        restaurant = next(csv.DictReader(file))
    plan = "omega" if restaurant["subscription_plan"] != "omega" else "beta"
    assert edit(export, "restaurants", lambda row: row["id"] == restaurant["id"]
                and row.update(subscription_plan=plan) is None)
    with open(export / "orders.csv", newline="", encoding="utf-8") as file:
        orders = list(csv.DictReader(file))
    named = sum(order["customer_id"] == customer["id"] for order in orders)
    with open(export / "payments.csv", newline="", encoding="utf-8") as file:
        of_restaurant = {order["id"] for order in orders if order["restaurant_id"] == restaurant["id"]}
        paid = sum(payment["order_id"] in of_restaurant for payment in csv.DictReader(file))
    assert named and paid
    code, out, report = migrate(export, tmp_path / "again", "--catch-up")
    # then that customer's orders get the new name, that restaurant's payments the new rate: their
    # legacy records, unchanged, were translated again (the others skipped)
    assert code == 0, out
    assert report["tables"]["orders"]["updated"] == named
    assert report["tables"]["payments"]["updated"] == paid
    assert report["archived"]["orders"] == named
    assert {name for (name,) in owner_rows("orders", "customer_name", "1") if name and "Zed" in name} == {
        f"Zed {customer['last_name']}"}


def test_a_changed_option_translates_every_record_again(export, tmp_path):
    # given an import
    assert migrate(export, tmp_path / "import")[0] == 0
    first = raw_hashes()
    # when it is caught up with another --employee-role (no order depends on it, but it is an option)
    code, out, report = migrate(export, tmp_path / "again", "--catch-up", "--employee-role", "manager")
    # then every record was translated, found unchanged, and its raw hash taken anew
    assert code == 0, out
    assert report["archived"]["orders"] == report["tables"]["orders"]["rows_in"]
    for table in HOT:
        assert counts(report, table)[1:] == (0, 0, 0, 0), table
    second = raw_hashes()
    assert second.keys() == first.keys() and all(second[key] != first[key] for key in first)
    # and a catch-up with the same option skips them again
    code, out, report = migrate(export, tmp_path / "third", "--catch-up", "--employee-role", "manager")
    assert code == 0, out and "orders" not in report["archived"]
    assert raw_hashes() == second


def test_ours_changed_and_a_key_met_twice_are_translated_again(export, tmp_path):
    # given an import
    code, out, _ = migrate(export, tmp_path / "import")
    assert code == 0, out
    # when one of ours is changed since, and a legacy order appears twice in the newer source
    line = min(i for (i,) in owner_rows("order_items", "id", "1"))
    owner_execute("UPDATE order_items SET special_instructions = 'ours' WHERE id = %s", [line])
    with open(export / "orders.csv", newline="", encoding="utf-8") as file:
        twice = list(csv.DictReader(file))[-1]
    with open(export / "orders.csv", "a", newline="", encoding="utf-8") as file:
        csv.DictWriter(file, list(twice), lineterminator="\n").writerow(twice)
    code, out, report = migrate(export, tmp_path / "again", "--catch-up")
    # then ours is kept (its order's record translated again), and the second record of the order is a
    # duplicate (rejected, with its lines), the first still present
    assert code == 1, out
    assert report["tables"]["order_items"]["kept_ours"] == 1
    assert report["tables"]["orders"]["rejected"] == 1
    assert any("appears more than once" in sample.get("reason", "")
               for sample in report["rejects"]["orders"]["sample"]), report["rejects"]["orders"]
    assert report["tables"]["orders"]["deleted"] == 0 and report["tables"]["order_items"]["deleted"] == 0
    assert owner_rows("order_items", "special_instructions", "1").count(("ours",)) == 1


def test_an_order_with_fewer_lines_than_its_span_skips_its_remaining_lines_and_no_more(export, tmp_path):
    # given an import, and a catch-up of an order whose last line went from its legacy record
    # (the line deleted from ours, the order's id range kept: its span now longer than its list)
    code, out, imported = migrate(export, tmp_path / "import")
    assert code == 0, out
    lines = imported["tables"]["order_items"]["imported"]
    with open(export / "orders.csv", newline="", encoding="utf-8") as file:
        shortened = next(row["id"] for row in csv.DictReader(file) if len(json.loads(row["items"])) >= 2)

    def drop_last_line(row) -> bool:
        if row["id"] != shortened:
            return False
        row["items"] = json.dumps(json.loads(row["items"])[:-1])
        return True

    assert edit(export, "orders", drop_last_line) == 1
    code, out, report = migrate(export, tmp_path / "shortened", "--catch-up")
    assert code == 0, out
    assert report["tables"]["order_items"]["deleted"] == 1
    # when the same legacy database is caught up again
    code, out, report = migrate(export, tmp_path / "again", "--catch-up")
    # then the order's remaining lines are skipped as present, and the deleted one is not counted
    # among them (nor any line twice): every line of ours present, none new, changed or gone
    assert code == 0, out
    assert "orders" not in report["archived"]
    assert counts(report, "order_items") == (lines - 1, 0, 0, 0, 0)
    assert report["reconciliation"]["balanced"] is True


def test_a_key_not_in_the_lower_case_uuid_form_keeps_its_id_and_its_references(export, tmp_path):
    # given a legacy order whose key is written in upper case (its payments' references too): the
    # id map reads it back as text, the lower-case UUID keys as integers
    with open(export / "payments.csv", newline="", encoding="utf-8") as file:
        paid = next(row["order_id"] for row in csv.DictReader(file) if row["order_id"] != row["order_id"].upper())
    upper = paid.upper()
    assert edit(export, "orders", lambda row: row["id"] == paid and row.update(id=upper) is None) == 1
    payments = edit(export, "payments", lambda row: row["order_id"] == paid and row.update(order_id=upper) is None)
    code, out, _ = migrate(export, tmp_path / "import")
    assert code == 0, out
    order = owner_value("SELECT new_id FROM legacy_id_map WHERE legacy_table = 'orders' AND legacy_key = %s", [upper])
    assert owner_value("SELECT count(*) FROM payments WHERE order_id = %s", [order]) == payments
    # when it is caught up, unchanged
    code, out, report = migrate(export, tmp_path / "again", "--catch-up")
    # then the order and its payments are found under the same ids: nothing new, changed or gone
    assert code == 0, out
    for table in HOT:
        assert counts(report, table)[1:] == (0, 0, 0, 0), table
    assert owner_value("SELECT count(*) FROM payments WHERE order_id = %s", [order]) == payments
    assert owner_value("SELECT count(*) FROM orders WHERE id = %s", [order]) == 1
