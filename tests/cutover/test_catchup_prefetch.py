"""The catch-up's prefetch of the seeding queries (`catchup.Prefetch`): the database's rows are
taken off the connection as fast as they come, whether or not anyone reads them yet, and read back
whole, in order; a query that fails fails its table's reader."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import connections
from psycopg import sql

from fynlo.cutover.legacy.catchup import Prefetch
from fynlo.cutover.legacy.load import connect, stream_text

pytestmark = pytest.mark.django_db(databases=["owner"])

# 2,000 rows of 3.2 kB: 6.4 MB, more than the sockets of a connection hold
BIG = sql.SQL("SELECT i || ' ' || repeat(md5(i::text), 100) FROM generate_series(1, 2000) i")
SMALL = sql.SQL("SELECT 'x' || i FROM generate_series(1, 3) i")
EMPTY = sql.SQL("SELECT 'never' WHERE false")
FAILS = sql.SQL("SELECT (1 / (i - 2))::text FROM generate_series(1, 3) i")


def params() -> dict:
    return connections["owner"].get_connection_params()


def direct(query: sql.Composable) -> list[bytes]:
    with connect(params(), timezone="UTC") as conn:
        return list(stream_text(conn, query))


def test_the_queries_run_to_their_end_with_no_reader_and_are_read_back_whole():
    prefetch = Prefetch(params(), "UTC", [("big", BIG), ("empty", EMPTY), ("small", SMALL)])
    try:
        prefetch.thread.join(timeout=60)  # nothing read yet: the connection is never held back
        assert not prefetch.thread.is_alive()
        assert prefetch.finished == {"big", "empty", "small"}
        files = dict(prefetch.files)
        expected = {name: direct(query) for name, query in (("big", BIG), ("empty", EMPTY), ("small", SMALL))}
        for name, rows in expected.items():
            assert list(prefetch.lines(name)) == rows, name
            assert files[name].closed  # its disk space went once read
        assert expected["big"][0].startswith(b"1 ") and len(expected["big"]) == 2000
    finally:
        prefetch.close()


def test_a_reader_that_starts_first_follows_the_rows_as_they_come():
    prefetch = Prefetch(params(), "UTC", [("big", BIG)])
    try:
        lines = list(prefetch.lines("big"))
        assert lines == direct(BIG)
    finally:
        prefetch.close()


def test_a_failing_query_fails_its_reader_and_the_ones_after_it():
    prefetch = Prefetch(params(), "UTC", [("small", SMALL), ("fails", FAILS), ("after", SMALL)])
    try:
        assert list(prefetch.lines("small")) == direct(SMALL)
        with pytest.raises(psycopg.errors.DivisionByZero):
            list(prefetch.lines("fails"))
        with pytest.raises(psycopg.errors.DivisionByZero):
            list(prefetch.lines("after"))
    finally:
        prefetch.close()


def test_a_discarded_table_is_no_longer_offered_and_the_others_still_are():
    prefetch = Prefetch(params(), "UTC", [("big", BIG), ("small", SMALL)])
    try:
        prefetch.discard("big")
        assert not prefetch.has("big") and prefetch.has("small")
        assert list(prefetch.lines("small")) == direct(SMALL)
    finally:
        prefetch.close()


def test_closed_early_the_prefetch_cancels_its_query_and_stops():
    slow = sql.SQL("SELECT pg_sleep(0.01)::text || i FROM generate_series(1, 3000) i")  # 30 s
    prefetch = Prefetch(params(), "UTC", [("slow", slow), ("small", SMALL)])
    started = time.monotonic()
    prefetch.close()
    assert not prefetch.thread.is_alive() and time.monotonic() - started < 5
    assert "slow" not in prefetch.finished and prefetch.error is not None
