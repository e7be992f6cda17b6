"""`migrate_legacy --catch-up` skips the source records unchanged since the run that wrote their
rows (their raw hash, `legacy_import_rows.raw_hash`) without parsing them, and counts them as
before: already present, in the reconciliation, seen (not gone). A changed option, or a parent
whose tenant or presence changed, makes the record be read again."""

from __future__ import annotations

import pytest
from django.db import connections

from tests.cutover.test_migrate_legacy import migrate, owner_rows, read_rejects, write_export
from tests.cutover.test_migrate_legacy_loop import (
    ALL_TABLES,
    command,
    every_table,
    newer_export,
    order,
    owner_execute,
    run_ids,
    same_rows,
)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])

HOT = ("orders", "order_items", "payments", "refunds")


@pytest.fixture(autouse=True)
def no_bookkeeping(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        with connections["owner"].cursor() as cursor:
            cursor.execute("TRUNCATE legacy_import_keyed_changes, legacy_import_changes, legacy_import_rows,"
                           " legacy_import_runs RESTART IDENTITY")


def raw_hashes(tables=HOT) -> dict:
    return {(t, i): raw for t, i, raw in owner_rows("legacy_import_rows", "table_name, row_id, raw_hash", "1, 2")
            if t in tables}


def source_figures(report: dict) -> dict:
    """Per restaurant, each table's source count and each sum's source total."""
    return {entry["restaurant_id"]: ({table: figures["source"] for table, figures in entry["tables"].items()},
                                     {name: figures["source"] for name, figures in entry["sums"].items()})
            for entry in report["reconciliation"]["restaurants"]}


@pytest.mark.parametrize("batches", [(), ("--batch-size", "2")], ids=["one batch", "batches of two"])
def test_an_import_records_raw_hashes_and_a_catch_up_of_the_same_export_counts_the_skipped_rows(tmp_path, batches):
    # given an import (the guide format): each restaurant's row has the raw hash of its record
    # (the hashes are kept a batch at a time: each batch records its own)
    base_rows = same_rows()
    source = write_export(tmp_path / "export", base_rows())
    code, out, imported = migrate(source, *batches)
    assert code == 0, out
    first = raw_hashes()
    assert len(first) == 3 + 3 + 2 + 1 and all(first.values()), first
    assert all(raw is None for raw in raw_hashes(("platforms", "restaurants", "users")).values())  # parsed always
    before = every_table()
    # when the same export is caught up
    code, out, report = migrate(source, "--catch-up")
    # then every row is already present, none gone, the reconciliation's source side as the import's
    assert code == 0, out
    for table in HOT:
        got = report["tables"][table]
        assert got["already_present"] == got["rows_in"] > 0, (table, got)
        assert (got["imported"], got["updated"], got["deleted"], got["kept_ours"]) == (0, 0, 0, 0)
    assert source_figures(report) == source_figures(imported)
    assert source_figures(report)[10][0]["orders"] == 2 and source_figures(report)[10][1]["orders.total_amount"]
    assert report["reconciliation"]["balanced"] is True
    assert every_table() == before and raw_hashes() == first


def test_a_changed_option_reads_every_record_again(tmp_path):
    # given an import in the default time zone
    source = write_export(tmp_path / "export", same_rows()())
    assert migrate(source)[0] == 0
    first = raw_hashes()
    # when it is caught up with another --timezone (the export's timestamps carry their offset)
    code, out, report = migrate(source, "--catch-up", "--timezone", "UTC")
    # then every record was read (its raw hash taken anew, under the new option), found unchanged
    assert code == 0, out
    second = raw_hashes()
    assert second.keys() == first.keys() and all(second[key] != first[key] for key in first)
    assert report["tables"]["orders"]["already_present"] == 3


def test_an_unchanged_record_under_a_parent_moved_to_another_restaurant_is_read_again(tmp_path):
    # given an import; then the legacy system moved order 600 (restaurant 20) to restaurant 10,
    # its item and payment records left as they were
    base_rows = same_rows()
    assert migrate(write_export(tmp_path / "export", base_rows()))[0] == 0
    rows = base_rows()
    order(rows, "600").update(restaurant_id="10", served_by="50", created_by="2", order_number="R10-9")
    source = write_export(tmp_path / "newer", rows)
    # when it is caught up
    code, out, report = migrate(source, "--catch-up")
    # then the item and the payment were read again against their order's new restaurant: rejected
    # (their product, their restaurant_id are restaurant 20's), not taken as already present
    assert code == 1, out
    items = {row["id"]: row for row in read_rejects(tmp_path / "newer.rejects", "order_items")}
    assert "6000" in items and "restaurant" in items["6000"]["reason"], items
    payments = {row["id"]: row for row in read_rejects(tmp_path / "newer.rejects", "payments")}
    assert "7001" in payments and "restaurant" in payments["7001"]["reason"], payments
    assert report["tables"]["order_items"]["already_present"] == 2
    assert report["tables"]["payments"]["already_present"] == 1


def test_a_row_changed_in_ours_is_read_and_kept(tmp_path):
    base_rows = same_rows()
    source = write_export(tmp_path / "export", base_rows())
    assert migrate(source)[0] == 0
    owner_execute("UPDATE orders SET order_type = 'takeaway' WHERE id = 600")
    code, out, report = migrate(source, "--catch-up")
    assert code == 0, out
    orders = report["tables"]["orders"]
    assert (orders["kept_ours"], orders["already_present"]) == (1, 2), orders
    assert owner_rows("orders", "order_type", "id")[2] == ("takeaway",)


def test_after_undo_of_a_catch_up_its_updates_are_applied_again(tmp_path):
    # given an import and a catch-up that updated order 501 (its raw hash recorded with the update)
    base_rows = same_rows()
    assert migrate(write_export(tmp_path / "export", base_rows()))[0] == 0
    rows = base_rows()
    order(rows, "501")["status"] = "completed"
    newer = write_export(tmp_path / "newer", rows)
    code, out, report = migrate(newer, "--catch-up")
    assert code == 0 and report["tables"]["orders"]["updated"] == 1, out
    updated_raw = raw_hashes()[("orders", 501)]
    assert updated_raw is not None
    # when that catch-up is taken back (501 as first imported, its raw hash forgotten)
    assert command("--undo", str(run_ids()[1]))[0] == 0
    assert raw_hashes()[("orders", 501)] is None
    assert owner_rows("orders", "status", "id")[1] == ("cancelled",)
    # then the same catch-up again updates 501 again (not skipped as unchanged)
    code, out, report = migrate(newer, "--catch-up")
    assert code == 0, out
    assert report["tables"]["orders"]["updated"] == 1
    assert owner_rows("orders", "status", "id")[1] == ("completed",)
    assert raw_hashes()[("orders", 501)] == updated_raw


def test_the_newer_export_decides_the_same_with_and_without_recorded_raw_hashes(tmp_path):
    # the catch-up of test_migrate_legacy_loop's newer export, once over an import whose raw
    # hashes are forgotten (rows written before they were recorded) and once over one that has them
    results = []
    for forget in (True, False):
        owner_execute("TRUNCATE legacy_import_keyed_changes, legacy_import_changes, legacy_import_rows,"
                      " legacy_import_runs RESTART IDENTITY")
        owner_execute("TRUNCATE " + ", ".join(ALL_TABLES) + " CASCADE")
        base_rows = same_rows()
        assert migrate(write_export(tmp_path / f"export{forget}", base_rows()))[0] == 0
        if forget:
            owner_execute("UPDATE legacy_import_rows SET raw_hash = NULL")
        owner_execute("UPDATE orders SET total_amount = 20.00 WHERE id = 500")
        owner_execute("UPDATE orders SET order_type = 'takeaway' WHERE id = 600")
        code, out, report = migrate(write_export(tmp_path / f"newer{forget}", newer_export(base_rows())),
                                    "--catch-up")
        assert code == 1, out
        results.append((
            {t: {k: report["tables"][t][k] for k in ("imported", "updated", "kept_ours", "conflicts", "stale",
                                                       "already_present", "rejected")} for t in HOT},
            source_figures(report), owner_rows("orders", "id, status, order_type, total_amount::text"),
        ))
        if forget:  # the rows found unchanged by their content got their raw hashes then
            assert sum(raw is not None for raw in raw_hashes().values()) >= 5
    assert results[0] == results[1]


def test_a_null_become_a_quoted_empty_string_is_a_change(tmp_path):
    # given an import where order 501 has no customer name (an unquoted empty field: NULL)
    base_rows = same_rows()
    assert migrate(write_export(tmp_path / "export", base_rows()))[0] == 0
    assert owner_rows("orders", "customer_name", "id")[1] == (None,)
    # when the legacy system now holds an empty string there (a quoted "")
    newer = write_export(tmp_path / "newer", base_rows())
    path = newer / "orders_export.csv"
    lines = path.read_text().splitlines()
    at = lines[0].split(",").index("customer_name")
    for number, line in enumerate(lines):
        if line.startswith("501,"):
            fields = line.split(",")
            assert fields[at] == ""
            fields[at] = '""'
            lines[number] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    code, out, report = migrate(newer, "--catch-up")
    # then the record is not taken as unchanged: the empty string is applied
    assert code == 0, out
    assert report["tables"]["orders"]["updated"] == 1
    assert owner_rows("orders", "customer_name", "id")[1] == ("",)


def test_a_catch_up_whose_orders_file_does_not_parse_still_catches_up_the_rest(tmp_path):
    # given an import; then an export whose orders file is cut in a quoted field
    base_rows = same_rows()
    assert migrate(write_export(tmp_path / "export", base_rows()))[0] == 0
    newer = write_export(tmp_path / "newer", base_rows())
    path = newer / "orders_export.csv"
    path.write_text(path.read_text() + '502,10,"R10-3\n')
    # when it is caught up
    code, out, report = migrate(newer, "--catch-up")
    # then orders are reported unparseable (nothing of them read or deleted), the rest caught up
    # against the orders in ours
    assert code != 0, out
    assert report["tables"]["orders"]["status"] == "unparseable"
    for table in ("order_items", "payments", "refunds"):
        got = report["tables"][table]
        assert got["already_present"] == got["rows_in"] > 0 and got["rejected"] == 0, (table, got)
    assert len(owner_rows("orders")) == 3


def test_a_catch_up_of_a_few_new_rows_after_many_unchanged_sets_nothing_aside(tmp_path):
    # given an import; then two new orders at the end of the export, after the three unchanged
    base_rows = same_rows()
    assert migrate(write_export(tmp_path / "export", base_rows()))[0] == 0
    rows = base_rows()
    rows["orders"] += [{**order(rows, "501"), "id": "502", "order_number": "R10-3"},
                       {**order(rows, "501"), "id": "503", "order_number": "R10-4"}]
    # when it is caught up a few rows a batch (the unchanged rows are read, not loaded)
    code, out, report = migrate(write_export(tmp_path / "newer", rows), "--catch-up", "--batch-size", "2")
    # then the table's foreign keys and indexes stay on for two new rows (they are not set aside
    # as for a big load), and its statistics are left to autovacuum
    assert code == 0, out
    orders = report["tables"]["orders"]
    assert orders["imported"] == 2 and orders["already_present"] == 3, orders
    assert not orders.get("set_aside_during_load"), orders


@pytest.mark.parametrize("lookups", [10, 1])
def test_a_catch_up_looks_new_unique_keys_up_in_ours(tmp_path, monkeypatch, lookups):
    # given an import (its orders' numbers not read back by the catch-up: looked up one by one,
    # and, with a single lookup allowed, all read after the first)
    from fynlo.cutover.legacy import importer

    monkeypatch.setattr(importer, "LAZY_UNIQUES", 1)
    monkeypatch.setattr(importer, "LAZY_SHARE", 1)
    monkeypatch.setattr(importer, "LAZY_LOOKUPS", lookups)
    base_rows = same_rows()
    assert migrate(write_export(tmp_path / "export", base_rows()))[0] == 0
    rows = base_rows()
    rows["orders"] += [{**order(rows, "501"), "id": "502", "order_number": "R10-3"},
                       {**order(rows, "501"), "id": "503", "order_number": "R10-1"},  # order 500's
                       {**order(rows, "501"), "id": "504", "order_number": "R10-2"}]  # order 501's
    # when it is caught up
    code, out, report = migrate(write_export(tmp_path / "newer", rows), "--catch-up")
    # then the new orders holding numbers of ours are rejected by the importer, naming the holder
    assert code == 1, out
    rejected = {row["id"]: row["reason"] for row in read_rejects(tmp_path / "newer.rejects", "orders")}
    assert rejected == {
        "503": "duplicate order_number 'R10-1': orders id 500 in the database has it (orders_order_number_key)",
        "504": "duplicate order_number 'R10-2': orders id 501 in the database has it (orders_order_number_key)",
    }, rejected
    assert report["tables"]["orders"]["imported"] == 1


def test_a_catch_up_seeds_ids_spread_over_many_blocks(tmp_path):
    # given orders whose ids lie in blocks far apart (the seeding query reads a table 16k ids at a
    # time and jumps over the empty blocks), one of them since changed in ours
    rows = same_rows()()
    far = [str(16384 * 3 + 5), str(16384 * 300 + 1), "2000000000"]
    for number, ident in enumerate(far):
        rows["orders"].append({**order(rows, "501"), "id": ident, "order_number": f"R10-F{number}"})
    source = write_export(tmp_path / "export", rows)
    assert migrate(source)[0] == 0
    owner_execute(f"UPDATE orders SET table_number = 'T99' WHERE id = {far[1]}")
    # when the same export is caught up
    code, out, report = migrate(source, "--catch-up")
    # then every order was found in ours with its bookkeeping: none new, none gone, ours kept
    assert code == 0, out
    orders = report["tables"]["orders"]
    assert (orders["imported"], orders["deleted"], orders["kept_ours"], orders["already_present"]) == (0, 0, 1, 5), orders
    assert owner_rows("orders", "id, table_number", "id")[-2:] == [(int(far[1]), "T99"), (int(far[2]), None)]
