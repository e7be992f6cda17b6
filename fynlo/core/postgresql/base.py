"""Django's PostgreSQL backend, with its connection health check (`CONN_HEALTH_CHECKS`) done at
most every `HEALTH_CHECK_SECONDS` (DATABASE_HEALTH_CHECK_INTERVAL) per connection, and
statements deferred to the next one's round trip (`DatabaseWrapper.defer`).

Django checks a persistent connection at the start of every request that uses it: a `SELECT 1`
in a transaction of its own, one more round trip than the request's statements (and, behind a
transaction-mode PgBouncer, one more transaction for the pooler to hand a server connection to).
Here a connection that has committed, or passed a check, within the interval is taken as alive.
One that dies inside the interval fails the request that finds it dead; Django then checks it
(`errors_occurred`) at the next request's start and replaces it, as it would without checks.

Round trips. Each statement is a round trip: the web process waits for the database's answer
before it sends the next (behind PgBouncer, each one also passes through its single process). A
statement whose result nobody reads (the tenant's `set_config`, the stock's update, the
idempotency key's response) need not be waited for on its own: `defer(sql, params)` keeps it, and
the connection's next statement carries it, in front, in the same message of the simple query
protocol (`a; b; c`: the parameters are bound client-side, as Django's psycopg cursor does
anyway); the commit carries what is left. The database runs them in order, as if sent one by one:
a deferred statement cannot be overtaken, and one that fails fails the statement (or the commit)
that carried it. Every statement is still in Django's query log, where it was sent. A read can be
deferred too (`defer(..., rows=True)`): its rows are kept when it is sent, and asking for them
before then sends it at once.

A deferred read may also decide whether the transaction goes on (`defer(..., rows=True,
check=...)`: the idempotency key's claim, pos.idempotency): `check(rows)` runs as soon as its rows
arrive and may raise. Until it has run, only reads go with it: a statement that does not start
with `SELECT` (a write, a `SAVEPOINT`, a `COMMIT`), sent or deferred, first sends what is deferred
on its own, so nothing but reads ever runs before the check has had its say.

The transaction's `BEGIN` goes the same way. psycopg, out of autocommit, sends its own `BEGIN` as a
round trip of its own before a transaction's first statement; here the psycopg connection stays in
autocommit, and Django's `BEGIN` (still logged where Django logs it, when the transaction opens) is
sent in front of the transaction's first statement. A transaction that sends nothing sends no
`BEGIN` and no `COMMIT`. (Not with OPTIONS that give psycopg's BEGIN an isolation level, read-only or
deferrable: psycopg then sends its own, as before.)
"""

from __future__ import annotations

import datetime
import time
from functools import lru_cache
from typing import Callable

from django.db import DatabaseError
from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from django.db.backends.utils import debug_transaction
from django.db.transaction import TransactionManagementError
from psycopg import _queries, _tz, adapt
from psycopg import adapters as psycopg_adapters
from psycopg.pq import Format

# psycopg's client-side binding parses a statement's text into a template (where each parameter
# goes) and caches it, but not for a statement of more than 50 parameters: an order with five
# lines has ~75, and its text was parsed again at every order (~0.3 ms of CPU, 5 % of an order's).
# The text of such a statement is fixed per shape (fynlo.core.statements); its template is cached
# here too. (psycopg's own parser and cache function, private: psycopg is pinned in requirements.)
_LONG_TEMPLATES = lru_cache(maxsize=256)(_queries._query2pg_client_nocache)


class _ClientQuery(_queries.PostgresClientQuery):
    __slots__ = ()

    def convert(self, query, vars) -> None:
        if (
            vars is not None and isinstance(query, (str, bytes))
            and len(vars) > _queries.MAX_CACHED_STATEMENT_PARAMS
            and len(query) <= _queries.MAX_CACHED_STATEMENT_LENGTH
        ):
            query = self._ensure_bytes(query)
            self.template, self._order, self._parts = _LONG_TEMPLATES(query, self._tx.encoding)
            self.dump(vars)
            return
        super().convert(query, vars)


class Cursor(base.Cursor):
    """Django's psycopg cursor (client-side binding) that sends its connection's deferred
    statements in front of its next one, in the same round trip."""

    _query_cls = _ClientQuery
    deferring = None  # the DatabaseWrapper whose deferred statements this cursor carries
    own_query = None  # the last statement's own text, when it carried others (for Django's log)

    def execute(self, query, params=None, **kwargs):
        wrapper = self.deferring
        self.own_query = None
        if wrapper is None or not (wrapper.deferred or wrapper.begin_deferred):
            return super().execute(query, params, **kwargs)
        if wrapper.checked_later and not is_read(query):
            wrapper.send_deferred()  # the check runs before this statement is sent
            return super().execute(query, params, **kwargs)
        begin, deferred, reads = wrapper.take_deferred()
        self.own_query = self.mogrify(query, params)
        try:
            super().execute("; ".join([*begin, *deferred, self.own_query]), **kwargs)
        finally:
            wrapper.log_sent(deferred)
        self.walk(begin, deferred, reads)  # this statement's result is the last
        return self

    def walk(self, begin: list, deferred: list, reads: dict) -> None:
        """Past the results of the statements sent in front: the deferred reads' rows are kept."""
        for _ in begin:
            self.nextset()
        for index in range(len(deferred)):
            if index in reads:
                reads[index].arrived(self.fetchall())
            self.nextset()

    def executemany(self, query, params_seq, **kwargs):
        if self.deferring is not None:
            self.deferring.send_deferred()
        return super().executemany(query, params_seq, **kwargs)

    def copy(self, statement, *args, **kwargs):
        if self.deferring is not None:
            self.deferring.send_deferred()
        return super().copy(statement, *args, **kwargs)


def is_read(sql) -> bool:
    """Whether a statement may go with a deferred read whose check has not run: a `SELECT` (one that
    writes through a function it calls is the caller's to keep away from a pending check)."""
    if isinstance(sql, bytes):
        sql = sql.decode()
    return isinstance(sql, str) and sql.lstrip()[:6].upper() == "SELECT"


class DeferredRows:
    """The rows of a deferred read: `fetchall()` gives them, sending the read now if it still waits."""

    def __init__(self, wrapper: DatabaseWrapper, check: Callable[[list[tuple]], None] | None = None):
        self.wrapper = wrapper
        self.rows: list[tuple] | None = None
        self.check = check

    def arrived(self, rows: list[tuple]) -> None:
        self.rows = rows
        if self.check is not None:
            self.check(rows)

    def fetchall(self) -> list[tuple]:
        if self.rows is None:
            self.wrapper.send_deferred()
        if self.rows is None:
            raise TransactionManagementError("the deferred read was never sent: its transaction ended first")
        return self.rows


class DatabaseOperations(base.DatabaseOperations):
    def last_executed_query(self, cursor, sql, params):
        """A statement that carried deferred ones is logged alone: they are logged on their own."""
        own = getattr(cursor, "own_query", None)
        return own if own is not None else super().last_executed_query(cursor, sql, params)


class _DjangoUtcLoader(BaseTzLoader):
    timezone = datetime.timezone.utc


# psycopg's own timestamptz loader (its C one, with psycopg's binary package), which Django's cannot
# subclass: Django's (a Python subclass of psycopg's Python loader, then `.replace(tzinfo=...)`) parses
# each timestamp in Python, ~25 of them an order (~2% of its CPU).
_PSYCOPG_TIMESTAMPTZ = psycopg_adapters.get_loader(psycopg_adapters.types["timestamptz"].oid, Format.TEXT)


class UtcTimestamptzLoader(adapt.Loader):
    """Django's timestamptz loader for a UTC connection (USE_TZ, no database TIME_ZONE): psycopg's own
    when the session's TimeZone is UTC, which gives the same datetimes (in datetime.timezone.utc, what
    Django's replace() gives); Django's otherwise. `timezone` is what Django's create_cursor compares
    with the connection's, as for its own loader."""

    timezone = datetime.timezone.utc

    def __init__(self, oid, context=None):
        super().__init__(oid, context)
        pgconn = self.connection.pgconn if self.connection is not None else None
        utc = _tz.get_tzinfo(pgconn) is datetime.timezone.utc
        # psycopg's row loading looks `load` up once per column of a result: the chosen one's, direct
        self.load = (_PSYCOPG_TIMESTAMPTZ if utc else _DjangoUtcLoader)(oid, context).load

    def load(self, data):  # replaced per instance (above)
        raise NotImplementedError


@lru_cache(maxsize=8)
def _utc_adapters(template) -> adapt.AdaptersMap:
    adapters = adapt.AdaptersMap(template)
    adapters.register_loader("timestamptz", UtcTimestamptzLoader)
    return adapters


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
    alive_at: float | None = None  # time.monotonic() of the last commit or passed check

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.deferred: list[str] = []  # statements (parameters bound) for the next one's round trip
        self.reads: dict[int, DeferredRows] = {}  # the deferred reads, by their place in `deferred`
        self.begin_deferred = False  # the transaction's BEGIN is not sent yet
        self._binder = None  # a psycopg cursor of the current connection, only to bind deferred statements

    def get_connection_params(self):
        params = super().get_connection_params()
        if params.get("cursor_factory") is base.Cursor:
            params["cursor_factory"] = Cursor
        if self.timezone is datetime.timezone.utc and params.get("context") is not None:
            params["context"] = _utc_adapters(params["context"])
        return params

    # --- Deferred statements ----------------------------------------------------------------

    @property
    def checked_later(self) -> bool:
        """A deferred read's check has not run yet: only reads may go with it."""
        return any(read.check is not None for read in self.reads.values())

    def defer(self, sql: str, params=None, *, rows: bool = False,
              check: Callable[[list[tuple]], None] | None = None) -> DeferredRows | None:
        """Send `sql` with this connection's next statement (or its commit), in one round trip;
        nothing runs before it that was sent after it. `rows`: a read whose rows are wanted
        later (DeferredRows); else its result is not kept. `check(rows)` (with `rows`): run when
        the rows arrive, before any statement but a read is sent after it. Outside a transaction
        (autocommit: each statement is a transaction of its own) it is sent at once."""
        self.ensure_connection()
        read = DeferredRows(self, check) if rows or check is not None else None
        if not self.in_atomic_block or self.connection.cursor_factory is not Cursor:
            # at once (server-side binding sends no multi-statement messages)
            with self.cursor() as cursor:
                cursor.execute(sql, params)
                if read is not None:
                    read.arrived(cursor.fetchall())
            return read
        if self.checked_later and not is_read(sql):
            self.send_deferred()  # the pending check runs before this statement is sent
        if read is not None:
            self.reads[len(self.deferred)] = read
        binder = self._binder
        if binder is None or binder.connection is not self.connection:
            # one per connection: a new cursor is a new adapter map and empty dumper caches, each time
            binder = self._binder = self.connection.cursor()
        self.deferred.append(binder.mogrify(sql, params))
        return read

    def take_deferred(self) -> tuple[list[str], list[str], dict[int, DeferredRows]]:
        """(the BEGIN, if not sent yet; the deferred statements; the reads among them), to be sent now."""
        begin, deferred, reads = ["BEGIN"] if self.begin_deferred else [], self.deferred, self.reads
        self.begin_deferred, self.deferred, self.reads = False, [], {}
        return begin, deferred, reads

    def log_sent(self, deferred: list[str]) -> None:
        """Deferred statements go in the query log where they are sent, before the one that carried them."""
        if self.queries_logged:
            self.queries_log.extend({"sql": sql, "time": "0.000"} for sql in deferred)

    def send_deferred(self) -> None:
        """Send the deferred statements now, on their own (before a statement that cannot carry them)."""
        if self.deferred or self.begin_deferred:
            begin, deferred, reads = self.take_deferred()
            cursor = self.create_cursor()
            try:
                with self.wrap_database_errors:
                    cursor.execute("; ".join([*begin, *deferred]))
                    cursor.walk(begin, deferred, reads)
            finally:
                cursor.close()
                self.log_sent(deferred)

    def create_cursor(self, name=None):
        if name:
            self.send_deferred()  # a server-side cursor's DECLARE goes alone
        cursor = super().create_cursor(name)
        if name:
            # Django holds a server-side cursor (WITH HOLD) when psycopg's connection is in
            # autocommit: here it always is, so whether Django's is decides
            cursor._withhold = self.get_autocommit()
        elif isinstance(cursor, Cursor):
            cursor.deferring = self
        return cursor

    def _commit(self):
        if self.checked_later:
            try:
                self.send_deferred()  # a check may still refuse: not with the COMMIT
            except Exception as error:
                if not isinstance(error, DatabaseError):
                    self.rollback()  # Django's atomic rolls back only after a database error
                raise
        if self.connection is not None and self.deferred:
            begin, deferred, reads = self.take_deferred()
            with debug_transaction(self, "COMMIT"):
                cursor = self.create_cursor()
                try:
                    with self.wrap_database_errors:
                        cursor.execute("; ".join([*begin, *deferred, "COMMIT"]))
                        cursor.walk(begin, deferred, reads)
                finally:
                    cursor.close()
                    self.log_sent(deferred)
                    self._next_transaction()
            self.alive_at = time.monotonic()
            return
        self.begin_deferred = False  # nothing was sent: psycopg's commit sends nothing either
        try:
            super()._commit()
        finally:
            self._next_transaction()
        if self.connection is not None:
            self.alive_at = time.monotonic()

    def _rollback(self):
        self.deferred, self.reads, self.begin_deferred = [], {}, False
        try:
            super()._rollback()
        finally:
            self._next_transaction()

    def _next_transaction(self) -> None:
        """Out of autocommit (Django's), a commit or rollback starts the next transaction, as psycopg
        would with its own BEGIN: ours goes with that transaction's first statement."""
        self.begin_deferred = (
            not self.autocommit and self.connection is not None and self.connection.autocommit and self._folds_begin()
        )

    def _set_autocommit(self, autocommit):
        self.deferred, self.reads, self.begin_deferred = [], {}, False
        connection = self.connection
        if not autocommit and self._folds_begin():
            if not connection.autocommit:
                super()._set_autocommit(True)
            self.begin_deferred = True
            return
        if connection.autocommit != autocommit:
            super()._set_autocommit(autocommit)

    def _folds_begin(self) -> bool:
        """Whether the transaction's BEGIN may go with its first statement (psycopg's would be plain BEGIN)."""
        connection = self.connection
        return (
            connection.cursor_factory is Cursor and connection.isolation_level is None
            and connection.read_only is None and connection.deferrable is None
        )

    # --- Health checks ------------------------------------------------------------------------

    def close_if_health_check_failed(self):
        if self.connection is not None and self.health_check_enabled and not self.health_check_done:
            seconds = self.settings_dict.get("HEALTH_CHECK_SECONDS") or 0
            if self.alive_at is not None and time.monotonic() - self.alive_at < seconds:
                self.health_check_done = True
                return
            super().close_if_health_check_failed()
            if self.connection is not None:
                self.alive_at = time.monotonic()
            return
        super().close_if_health_check_failed()

    def _close(self):
        self.alive_at = None
        self.deferred, self.reads, self.begin_deferred = [], {}, False
        self._binder = None
        super()._close()
