"""Statements deferred to the next one's round trip, and the BEGIN sent with a transaction's first
statement (fynlo.core.postgresql): each is still run, in the order it was sent, each still logged;
what the connection sends is read from libpq's own protocol trace."""

from __future__ import annotations

import tempfile

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from psycopg import pq

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])

SETTING = "fynlo_test.deferred"


def sent_by(call) -> list[str]:
    """The simple-query messages (one round trip each) the connection sends during `call()`."""
    connection.ensure_connection()
    with tempfile.TemporaryFile("w+") as trace:
        pgconn = connection.connection.pgconn
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            call()
        finally:
            pgconn.untrace()
        trace.seek(0)
        return [line.split("\t")[3].strip().strip('"') for line in trace if line.startswith("F\t") and "\tQuery\t" in line]


def read_setting() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s, true)", [SETTING])
        return cursor.fetchone()[0]


def test_a_deferred_statement_runs_first_in_the_next_ones_round_trip_and_is_logged():
    seen = {}

    def work():
        with CaptureQueriesContext(connection) as captured, transaction.atomic():
            connection.defer("SELECT set_config(%s, %s, true)", [SETTING, "it's 100%"])
            seen["value"] = read_setting()
        seen["logged"] = [query["sql"] for query in captured.captured_queries]

    sent = sent_by(work)

    # the read sees the setting: it ran before, in the same message as BEGIN and the read
    assert seen["value"] == "it's 100%"
    assert sent == [
        ("BEGIN; SELECT set_config('fynlo_test.deferred', 'it''s 100%', true); "
         "SELECT current_setting('fynlo_test.deferred', true)"),
        "COMMIT",
    ]
    # and Django's log holds each statement where it was sent
    assert [sql.split("(")[0] for sql in seen["logged"]] == [
        "BEGIN", "SELECT set_config", "SELECT current_setting", "COMMIT",
    ]


def test_what_is_deferred_last_goes_with_the_commit_and_is_kept():
    def work():
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("CREATE TEMPORARY TABLE deferred_rows (n int) ON COMMIT PRESERVE ROWS")
            connection.defer("INSERT INTO deferred_rows VALUES (%s)", [1])
            connection.defer("INSERT INTO deferred_rows VALUES (%s)", [2])

    sent = sent_by(work)

    assert sent[-1] == "INSERT INTO deferred_rows VALUES (1); INSERT INTO deferred_rows VALUES (2); COMMIT"
    with connection.cursor() as cursor:
        cursor.execute("SELECT array_agg(n ORDER BY n) FROM deferred_rows")
        assert cursor.fetchone()[0] == [1, 2]
        cursor.execute("DROP TABLE deferred_rows")


def test_a_deferred_statement_that_fails_fails_the_one_that_carries_it_and_rolls_back():
    with pytest.raises(DatabaseError, match="division by zero"), transaction.atomic():
        connection.defer("SELECT set_config(%s, %s, true)", [SETTING, "before"])
        connection.defer("SELECT 1 / 0")
        read_setting()

    # nothing of the transaction is left, and the connection serves the next one
    with transaction.atomic():
        assert read_setting() in (None, "")


def test_a_rolled_back_transaction_sends_nothing_it_deferred_and_an_empty_one_sends_nothing():
    def rolled_back():
        with transaction.atomic():
            connection.defer("SELECT set_config(%s, %s, true)", [SETTING, "never"])
            transaction.set_rollback(True)

    def empty():
        with transaction.atomic():
            pass

    assert sent_by(rolled_back) == []
    assert sent_by(empty) == []


def test_a_savepoint_carries_what_was_deferred_before_it():
    def work():
        with transaction.atomic():
            connection.defer("SELECT set_config(%s, %s, true)", [SETTING, "outer"])
            with transaction.atomic():
                connection.defer("SELECT set_config(%s, %s, true)", [SETTING, "inner"])
                transaction.set_rollback(True)
            assert read_setting() == "outer"  # the inner one ran inside the savepoint rolled back

    sent = sent_by(work)

    assert sent[0].startswith("BEGIN; SELECT set_config('fynlo_test.deferred', 'outer', true); SAVEPOINT")
    assert sent[1].startswith("SELECT set_config('fynlo_test.deferred', 'inner', true); ROLLBACK TO SAVEPOINT")


def test_a_server_side_cursor_in_a_transaction_is_declared_after_the_deferred_statements_and_not_held():
    connection.ensure_connection()
    if connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        pytest.skip("server-side cursors are off (PgBouncer)")
    with transaction.atomic():
        connection.defer("SELECT set_config(%s, %s, true)", [SETTING, "declared"])
        cursor = connection.chunked_cursor()
        assert cursor.cursor._withhold is False
        cursor.execute("SELECT current_setting(%s, true)", [SETTING])
        assert cursor.fetchone()[0] == "declared"
        cursor.close()


def test_outside_a_transaction_a_deferred_statement_is_sent_at_once():
    def work():
        read = connection.defer("SELECT %s::int", [7], rows=True)
        assert read.rows == [(7,)]

    assert sent_by(work) == ["SELECT 7::int"]


def test_a_deferred_read_keeps_its_rows_and_asking_for_them_early_sends_it():
    def work():
        with transaction.atomic():
            first = connection.defer("SELECT %s::int", [1], rows=True)
            connection.defer("SELECT set_config(%s, %s, true)", [SETTING, "x"])
            second = connection.defer("SELECT generate_series(1, %s)", [3], rows=True)
            assert read_setting() == "x"  # carries all three
            assert first.fetchall() == [(1,)] and second.fetchall() == [(1,), (2,), (3,)]
            early = connection.defer("SELECT %s::text", ["now"], rows=True)
            assert early.fetchall() == [("now",)]  # nothing else to carry it: sent on its own

    sent = sent_by(work)

    assert sent == [
        ("BEGIN; SELECT 1::int; SELECT set_config('fynlo_test.deferred', 'x', true); SELECT generate_series(1, 3); "
         "SELECT current_setting('fynlo_test.deferred', true)"),
        "SELECT 'now'::text",
        "COMMIT",
    ]


def test_out_of_autocommit_each_commit_or_rollback_starts_the_next_transaction():
    # given a connection taken out of autocommit by hand (not by atomic)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE deferred_kept (n int) ON COMMIT PRESERVE ROWS")
    connection.set_autocommit(False)
    try:
        def work():
            with connection.cursor() as cursor:
                cursor.execute("INSERT INTO deferred_kept VALUES (1)")
                connection.commit()
                cursor.execute("INSERT INTO deferred_kept VALUES (2)")
                connection.rollback()  # the second insert was in a transaction of its own: undone
                cursor.execute("INSERT INTO deferred_kept VALUES (3)")
                connection.commit()

        sent = sent_by(work)
    finally:
        connection.set_autocommit(True)

    assert sent == [
        "BEGIN; INSERT INTO deferred_kept VALUES (1)", "COMMIT",
        "BEGIN; INSERT INTO deferred_kept VALUES (2)", "ROLLBACK",
        "BEGIN; INSERT INTO deferred_kept VALUES (3)", "COMMIT",
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT array_agg(n ORDER BY n) FROM deferred_kept")
        assert cursor.fetchone()[0] == [1, 3]
        cursor.execute("DROP TABLE deferred_kept")


def test_deferred_statements_are_bound_as_a_new_cursor_binds_them_and_a_new_connection_gets_its_own_binder():
    import datetime
    import uuid
    from decimal import Decimal

    from psycopg.types.json import Jsonb

    values = [
        [1], [40000], [3_000_000_000], [10**30], [-5], [Decimal("12.50")], [Decimal("-0.001")], ["it's"], [None],
        [True], [[1, 2, 3]], [[70000, 1]], [["a", "b"]], [[Decimal("1.5")]], [Jsonb({"a": [1, "x"]})], [Jsonb([])],
        [datetime.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc)], [datetime.date(2026, 1, 2)],
        [uuid.UUID(int=5)], [1], [Decimal("3")], [[1]],
    ]
    with transaction.atomic():
        connection.ensure_connection()
        fresh = [connection.connection.cursor().mogrify("SELECT %s", value) for value in values]
        for value in values:
            connection.defer("SELECT %s", value)
        bound, binder = list(connection.deferred), connection._binder
        connection.deferred = []  # nothing of this is sent
    assert bound == fresh

    connection.close()
    with transaction.atomic():
        connection.defer("SELECT %s", [1])
        connection.deferred = []
    assert connection._binder is not binder and connection._binder.connection is connection.connection


class Refused(Exception):
    pass


def refuse_empty(rows):
    if not rows:
        raise Refused


@pytest.fixture
def scratch():
    """A table of the test's own, created and dropped outside the transactions under test."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE deferred_checked (n int)")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE deferred_checked")


def scratch_rows() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT n FROM deferred_checked ORDER BY n")
        return [n for (n,) in cursor.fetchall()]


def test_a_checked_read_goes_with_the_reads_after_it_and_its_check_runs_when_its_rows_arrive():
    checked = []

    def work():
        with transaction.atomic():
            connection.defer("SELECT %s::int", [5], rows=True, check=checked.append)
            connection.defer("SELECT set_config(%s, %s, true)", [SETTING, "read"])
            assert read_setting() == "read"
            assert checked == [[(5,)]]

    sent = sent_by(work)

    assert sent[0] == ("BEGIN; SELECT 5::int; SELECT set_config('fynlo_test.deferred', 'read', true); "
                       "SELECT current_setting('fynlo_test.deferred', true)")


@pytest.mark.parametrize("write", ["sent", "deferred"])
def test_a_write_is_never_sent_before_a_checked_read_is_checked_and_a_refusal_stops_it(scratch, write):
    def insert():
        if write == "sent":
            with connection.cursor() as cursor:
                cursor.execute("INSERT INTO deferred_checked VALUES (1)")
        else:
            connection.defer("INSERT INTO deferred_checked VALUES (1)")

    def refused():
        with pytest.raises(Refused), transaction.atomic():
            connection.defer("SELECT 1 WHERE false", rows=True, check=refuse_empty)
            insert()  # the read goes alone first: its check refuses, the insert is never sent

    def passed():
        with transaction.atomic():
            connection.defer("SELECT 1", rows=True, check=refuse_empty)
            insert()

    sent = sent_by(refused)

    assert sent == ["BEGIN; SELECT 1 WHERE false", "ROLLBACK"]
    assert scratch_rows() == []
    sent = sent_by(passed)
    assert sent[0] == "BEGIN; SELECT 1"  # alone, then the insert (with the commit, when deferred)
    assert sent[1].startswith("INSERT INTO deferred_checked VALUES (1)")
    assert scratch_rows() == [1]


@pytest.mark.parametrize("statement", ["SAVEPOINT", "COMMIT"])
def test_a_savepoint_or_the_commit_does_not_carry_an_unchecked_read(scratch, statement):
    def work():
        with pytest.raises(Refused), transaction.atomic():
            connection.defer("INSERT INTO deferred_checked VALUES (2)")  # deferred before: goes with the read
            connection.defer("SELECT 1 WHERE false", rows=True, check=refuse_empty)
            if statement == "SAVEPOINT":
                with transaction.atomic():
                    pass

    sent = sent_by(work)

    assert sent == ["BEGIN; INSERT INTO deferred_checked VALUES (2); SELECT 1 WHERE false", "ROLLBACK"]
    assert scratch_rows() == []  # refused: the whole transaction rolled back
