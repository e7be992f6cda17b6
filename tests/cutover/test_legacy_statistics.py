"""A big run leaves statistics on the bookkeeping it grew (fynlo.cutover.legacy.load.analyze_if_grown):
the next run's reads of it are planned for the rows it holds."""

from __future__ import annotations

import pytest
from django.db import connections

from fynlo.cutover.legacy import load

pytestmark = pytest.mark.django_db(databases=["owner"])


def counted(conn, table: str) -> float:
    return conn.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", [table]).fetchone()[0]


def test_a_table_is_analyzed_when_a_run_grew_it_by_a_tenth_and_not_for_a_few_rows():
    owner = connections["owner"]
    owner.ensure_connection()
    conn = owner.connection
    conn.execute("CREATE TABLE bookkeeping_probe (n int)")
    conn.execute("INSERT INTO bookkeeping_probe SELECT generate_series(1, 20000)")
    assert counted(conn, "bookkeeping_probe") < 0  # never analyzed

    assert load.analyze_if_grown(conn, "bookkeeping_probe", 20_000, threshold=10_000)
    assert counted(conn, "bookkeeping_probe") == 20_000

    conn.execute("INSERT INTO bookkeeping_probe SELECT generate_series(1, 1000)")
    assert not load.analyze_if_grown(conn, "bookkeeping_probe", 1_000, threshold=10_000)  # under the threshold
    assert not load.analyze_if_grown(conn, "bookkeeping_probe", 1_000, threshold=100)  # under a tenth
    assert counted(conn, "bookkeeping_probe") == 20_000
    assert load.analyze_if_grown(conn, "bookkeeping_probe", 2_100, threshold=100)
    assert counted(conn, "bookkeeping_probe") == 21_000


def test_on_its_own_connection_a_grown_table_is_vacuumed_too():
    # (the importer's connections are autocommit: the pages a run wrote are marked all-visible by it;
    # the test's own connection runs no query, so holds no snapshot that would keep them from it)
    conn = load.connect(connections["owner"].get_connection_params(), timezone="UTC")
    try:
        conn.execute("CREATE TABLE bookkeeping_vacuum_probe (n int)")
        conn.execute("INSERT INTO bookkeeping_vacuum_probe SELECT generate_series(1, 20000)")
        visible = "SELECT relallvisible FROM pg_class WHERE oid = 'bookkeeping_vacuum_probe'::regclass"
        assert conn.execute(visible).fetchone()[0] == 0

        assert load.analyze_if_grown(conn, "bookkeeping_vacuum_probe", 20_000, threshold=10_000)
        assert counted(conn, "bookkeeping_vacuum_probe") == 20_000
        assert conn.execute(visible).fetchone()[0] > 0
    finally:
        conn.execute("DROP TABLE IF EXISTS bookkeeping_vacuum_probe")
        conn.close()
