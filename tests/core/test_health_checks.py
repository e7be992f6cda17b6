"""A persistent connection is health-checked (`SELECT 1`) before a request uses it only when it
has not committed, nor passed a check, for DATABASE_HEALTH_CHECK_INTERVAL seconds
(fynlo.core.postgresql): Django's own check is one more round trip at every request.

A request is played as gunicorn runs one: `request_started` and `request_finished` close old
connections (`close_old_connections`), and the request's work is a transaction. What the
connection sends is read from libpq's own protocol trace."""

from __future__ import annotations

import os
import time

import psycopg
import pytest
from django.db import DatabaseError, close_old_connections, connection, connections, transaction

from tests.core.test_deferred_statements import sent_by

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])

# Behind PgBouncer (make test-pgbouncer) a server process that ends is PgBouncer's to replace,
# and the connection that would end it may be handed that same server process.
direct_only = pytest.mark.skipif(
    os.environ.get("FYNLO_TEST_PGBOUNCER", "") not in ("", "0"),
    reason="ends server processes of a direct connection; behind PgBouncer they are PgBouncer's",
)


def request() -> int:
    """One request's life on the connection: its server process id."""
    close_old_connections()  # request_started
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    close_old_connections()  # request_finished
    return pid


def age_past_interval() -> None:
    connection.alive_at = time.monotonic() - connection.settings_dict["HEALTH_CHECK_SECONDS"] - 1


def terminate(pid: int) -> None:
    """End a server process of the runtime role (as a restart or failover would), from another
    connection of that role (the owner may not signal it)."""
    with psycopg.connect(**connections["default"].get_connection_params(), autocommit=True) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
        deadline = time.monotonic() + 10
        while other.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0]:
            assert time.monotonic() < deadline, f"backend {pid} did not end"
            time.sleep(0.05)


def test_the_settings_turn_checks_on_at_an_interval():
    assert connection.settings_dict["ENGINE"] == "fynlo.core.postgresql"
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    assert connection.settings_dict["HEALTH_CHECK_SECONDS"] > 0


def test_a_connection_that_committed_within_the_interval_is_not_checked_again():
    # given a connection that has just served a request
    first = request()

    # when the next requests come within the interval
    sent = sent_by(lambda: [request() for _ in range(3)])

    # then they send their own statements only (the BEGIN with the first), on the same connection
    assert "SELECT 1" not in sent
    assert sent.count("BEGIN; SELECT pg_backend_pid()") == 3
    assert request() == first


def test_a_connection_idle_for_the_interval_is_checked_once_first():
    # given a connection whose last commit is older than the interval
    first = request()
    age_past_interval()

    # when two requests come
    sent = sent_by(lambda: [request(), request()])

    # then the first is checked (SELECT 1 before its BEGIN, which goes with its first statement),
    # the second is not
    assert sent[:2] == ["SELECT 1", "BEGIN; SELECT pg_backend_pid()"]
    assert sent.count("SELECT 1") == 1
    assert request() == first


@direct_only
def test_a_connection_that_died_while_idle_past_the_interval_is_replaced_unseen():
    # given a connection idle past the interval whose server process has ended
    dead = request()
    terminate(dead)
    age_past_interval()

    # when a request comes, then the check finds it dead and the request runs on a new one
    assert request() != dead


@direct_only
def test_a_connection_that_died_within_the_interval_fails_one_request_then_is_replaced():
    # given a connection that committed a moment ago, whose server process has since ended
    dead = request()
    terminate(dead)

    # when a request comes, then it is not checked, so it fails, as it would without checks
    with pytest.raises(DatabaseError):
        request()

    # and the next request runs on a new connection
    assert request() != dead
