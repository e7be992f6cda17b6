"""The database side of the import, as the owner role: COPY in committed batches, the
comparison of rows that already exist, the foreign keys set aside while a big table loads
(and always put back), sequences, and the figures of the reconciliation.

Foreign keys and indexes: PostgreSQL checks a foreign key with a trigger per inserted row,
most of the cost of a COPY, and updates every index row by row. The importer checks every
reference itself (it must, to explain rejects), so for a big load it drops the table's
outgoing foreign keys and its secondary indexes, and puts them back afterwards: indexes
rebuilt by one sort each, foreign keys validated by one set-based query each (as pg_restore
orders data before indexes and constraints). Each dropped definition is first written to
`legacy_import_ledger`, in the same transaction as the DROP; any run starts by restoring
what the ledger holds, so a run killed in between leaves nothing missing for long.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from fynlo.cutover.common import CutoverError, first_line

LEDGER = "legacy_import_ledger"
APPLICATION_NAME = "migrate_legacy"
LOCK_KEY = "fynlo.cutover.migrate_legacy"
CHUNK_ROWS = 2000
_FOREIGN_KEY_DEFINITION = re.compile(r"^FOREIGN KEY \([\w\", ]+\) REFERENCES [\w\".]+\([\w\", ]+\)[\w ]*$")
_INDEX_DEFINITION = re.compile(r"^CREATE INDEX [\w\"]+ ON [\w\".]+ USING \w+ \([^;]*\)$")


def connect(params: dict, *, timezone: str) -> psycopg.Connection:
    """A connection of the importer's own, in autocommit mode, reading zone-less
    timestamps in the import's time zone. Its values are bound by the server (psycopg's own
    cursor, not Django's client-side one): a batch's arrays of ids and hashes go in binary (%b)
    rather than quoted as text in the client, a tenth of a fynlo-v1 import's time."""
    params = {key: value for key, value in params.items() if key != "cursor_factory"}
    try:
        conn = psycopg.connect(**{**params, "application_name": APPLICATION_NAME}, autocommit=True)
    except psycopg.Error as error:
        raise CutoverError(f"cannot connect to the database as the owner role: {first_line(error)}") from error
    conn.execute("SELECT set_config('TimeZone', %s, false)", [timezone])
    # indexes set aside are rebuilt by sorting: give the sorts room
    conn.execute("SELECT set_config('maintenance_work_mem', '256MB', false)")
    return conn


def check_schema(conn: psycopg.Connection) -> None:
    """The importer's ledger comes with the project's migrations."""
    if conn.execute("SELECT to_regclass(%s)", [LEDGER]).fetchone()[0] is None:
        raise CutoverError(f"the database has no {LEDGER} table: run `manage.py migrate` first")


def take_lock(conn: psycopg.Connection, *, wait_seconds: int = 15) -> None:
    """One import at a time. The lock goes with the connection, so a killed run's is freed
    as soon as the server notices; a new run waits that long for it."""
    try:
        conn.execute(f"SET lock_timeout = '{int(wait_seconds)}s'")
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", [LOCK_KEY])
    except psycopg.errors.LockNotAvailable as error:
        raise CutoverError("another migrate_legacy is running against this database") from error
    finally:
        conn.execute("RESET lock_timeout")


# --- Foreign keys and indexes set aside --------------------------------------------------------

FOREIGN_KEY = "foreign key"
INDEX = "index"


@dataclass
class Restored:
    table: str
    kind: str
    name: str
    validated: bool
    error: str | None = None


def set_aside_entries(conn: psycopg.Connection) -> list[tuple[int, str, str, str, str]]:
    """(ledger id, table, kind, name, definition) of what a run has set aside."""
    return conn.execute(
        sql.SQL("SELECT id, table_name, kind, name, definition FROM {} ORDER BY id").format(sql.Identifier(LEDGER))
    ).fetchall()


# Lock conflicts between the load and the finisher's ALTER TABLEs (both lock a table and the
# tables it references): PostgreSQL aborts one side, which simply tries again.
TRANSIENT_ERRORS = (psycopg.errors.DeadlockDetected, psycopg.errors.LockNotAvailable)
ATTEMPTS = 6


def with_retries(work):
    """`work()`, tried again (with a short, growing pause) when a lock conflict aborted it."""
    for attempt in range(ATTEMPTS):
        try:
            return work()
        except TRANSIENT_ERRORS:
            if attempt == ATTEMPTS - 1:
                raise
            time.sleep(0.05 * 2 ** attempt)


def restore_set_aside(conn: psycopg.Connection, *, table: str | None = None) -> list[Restored]:
    """Put back what the ledger holds (everything, or one table's): indexes rebuilt, then
    foreign keys added and validated by one set-based query each. A foreign key that
    existing rows violate is added NOT VALID (it holds for new rows) and reported; any other
    error leaves it in the ledger and is raised."""
    restored = []
    forget = sql.SQL("DELETE FROM {} WHERE id = %s").format(sql.Identifier(LEDGER))
    entries = [entry for entry in set_aside_entries(conn) if table is None or entry[1] == table]
    entries.sort(key=lambda entry: (entry[2] != INDEX, entry[0]))

    def run(statement, ledger_id):
        with conn.transaction():
            conn.execute(statement)
            conn.execute(forget, [ledger_id])

    for ledger_id, table_name, kind, name, definition in entries:
        if kind == INDEX:
            if not _INDEX_DEFINITION.match(definition):
                raise CutoverError(f"{LEDGER} row {ledger_id} holds an unexpected definition; restore {name} by hand")
            with_retries(lambda: run(sql.SQL(definition), ledger_id))
            restored.append(Restored(table_name, kind, name, validated=True))
            continue
        if not _FOREIGN_KEY_DEFINITION.match(definition):
            raise CutoverError(f"{LEDGER} row {ledger_id} holds an unexpected definition; restore {name} by hand")
        add = sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} " + definition).format(
            sql.Identifier(table_name), sql.Identifier(name)
        )
        try:
            with_retries(lambda: run(add, ledger_id))
            restored.append(Restored(table_name, kind, name, validated=True))
        except psycopg.errors.ForeignKeyViolation as error:
            with_retries(lambda: run(sql.SQL("{} NOT VALID").format(add), ledger_id))
            restored.append(Restored(table_name, kind, name, validated=False, error=first_line(error)))
    return restored


def set_aside(conn: psycopg.Connection, table: str) -> dict[str, int]:
    """Set a table's outgoing foreign keys and its secondary (non-unique) indexes aside
    for a big load: each definition goes to the ledger in the same transaction as its DROP.
    Primary and unique keys stay: they guard the data and find existing rows."""
    return with_retries(lambda: _set_aside(conn, table))


def _set_aside(conn: psycopg.Connection, table: str) -> dict[str, int]:
    with conn.transaction():
        foreign_keys = conn.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
            [table],
        ).fetchall()
        indexes = conn.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indrelid = %s::regclass AND NOT i.indisunique AND NOT i.indisprimary"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY c.relname",
            [table],
        ).fetchall()
        record = sql.SQL("INSERT INTO {} (table_name, kind, name, definition) VALUES (%s, %s, %s, %s)").format(
            sql.Identifier(LEDGER)
        )
        for name, definition in foreign_keys:
            conn.execute(record, [table, FOREIGN_KEY, name, definition])
            conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(sql.Identifier(table), sql.Identifier(name)))
        for name, definition in indexes:
            conn.execute(record, [table, INDEX, name, definition])
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    return {FOREIGN_KEY: len(foreign_keys), INDEX: len(indexes)}


class Finisher:
    """Puts back what a table's load set aside (indexes rebuilt, foreign keys validated) and
    refreshes its statistics on a connection and thread of its own, while the next table
    loads: the rebuild is the server's work, the next load mostly the importer's. Jobs run
    one at a time, in order; `wait` returns when all are done."""

    def __init__(self, params: dict, *, timezone: str):
        self.params = params
        self.timezone = timezone
        self.jobs: queue.Queue = queue.Queue()
        self.results: list[tuple[str, list[Restored], float, str | None]] = []
        self.thread: threading.Thread | None = None

    def submit(self, table: str, *, restore: bool, analyze: bool) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._work, name="migrate_legacy finisher", daemon=True)
            self.thread.start()
        self.jobs.put((table, restore, analyze))

    def wait(self) -> list[tuple[str, list[Restored], float, str | None]]:
        """(table, what was restored, seconds, error) of every job, once all are done."""
        if self.thread is not None:
            self.jobs.put(None)
            self.thread.join()
            self.thread = None
        return self.results

    def _work(self) -> None:
        conn = None
        while True:
            job = self.jobs.get()
            if job is None:
                break
            table, restore, statistics = job
            started = time.monotonic()
            try:
                if conn is None or conn.closed:
                    conn = connect(self.params, timezone=self.timezone)
                restored = restore_set_aside(conn, table=table) if restore else []
                if statistics:
                    analyze(conn, table)
                self.results.append((table, restored, time.monotonic() - started, None))
            except (psycopg.Error, CutoverError) as error:
                # what is still set aside stays in the ledger: the next run restores it
                self.results.append((table, [], time.monotonic() - started, first_line(error)))
        if conn is not None:
            conn.close()


# --- What the database already holds ---------------------------------------------------------


def stream_rows(conn: psycopg.Connection, query: sql.Composable, types: tuple[str, ...]):
    """Rows of a query through COPY TO (constant memory, whatever the table's size)."""
    with conn.cursor().copy(sql.SQL("COPY ({}) TO STDOUT").format(query)) as copy:
        copy.set_types(list(types))
        yield from copy.rows()


def stream_int_rows(conn: psycopg.Connection, query: sql.Composable):
    """Rows of integers (None for NULL) of a query, read from COPY TO's text in blocks:
    a million ids in a second or so, in constant memory."""
    rest = b""
    with conn.cursor().copy(sql.SQL("COPY ({}) TO STDOUT").format(query)) as copy:
        for block in copy:
            lines = (rest + bytes(block)).split(b"\n")
            rest = lines.pop()
            for line in lines:
                yield [None if value == b"\\N" else int(value) for value in line.split(b"\t")]
    if rest:
        yield [None if value == b"\\N" else int(value) for value in rest.split(b"\t")]


def stream_text(conn: psycopg.Connection, query: sql.Composable):
    """The text of each row of a one-column query (COPY TO: PostgreSQL's text escapes left in)."""
    with conn.cursor().copy(sql.SQL("COPY ({}) TO STDOUT").format(query)) as copy:
        for block in copy:
            yield bytes(block)


def existing_keys(conn: psycopg.Connection, table: str, columns: tuple[str, ...], *, lower: bool = False):
    """The values of a unique key, as the importer's COPY text (lower-cased when the key is)."""
    if lower:
        selected = sql.SQL("lower({})").format(sql.Identifier(columns[0]))
    else:
        selected = sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in columns)
    query = sql.SQL("SELECT {} FROM {}").format(selected, sql.Identifier(table))
    for row in stream_rows(conn, query, ("text",) * (1 if lower else len(columns))):
        yield row[0] if len(row) == 1 else tuple(row)


def table_count(conn: psycopg.Connection, table: str) -> int:
    return conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]


def key_owner(conn: psycopg.Connection, table: str, columns: tuple[str, ...], types: tuple[str, ...], key, *, lower: bool):
    """The id of the row that holds a unique key's value, or None."""
    values = (key,) if isinstance(key, str) else tuple(key)
    if lower:
        condition = sql.SQL("lower({}) = lower(%s)").format(sql.Identifier(columns[0]))
    else:
        condition = sql.SQL(" AND ").join(
            sql.SQL("{} = %s::" + sql_type).format(sql.Identifier(column)) for column, sql_type in zip(columns, types)
        )
    row = conn.execute(
        sql.SQL("SELECT id FROM {} WHERE {} LIMIT 1").format(sql.Identifier(table), condition), values
    ).fetchone()
    return None if row is None else row[0]


def set_sequence(conn: psycopg.Connection, table: str) -> int | None:
    """Move the id sequence past the highest id, when it is not already; the new value."""
    sequence = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table]).fetchone()[0]
    if sequence is None:
        return None
    highest = conn.execute(sql.SQL("SELECT max(id) FROM {}").format(sql.Identifier(table))).fetchone()[0]
    if highest is None:
        return None
    last, called = conn.execute(sql.SQL("SELECT last_value, is_called FROM {}").format(sql.SQL(sequence))).fetchone()
    if last > highest or (last == highest and called):
        return None
    conn.execute("SELECT setval(%s, %s, true)", [sequence, highest])
    return highest


def analyze(conn: psycopg.Connection, table: str) -> None:
    """VACUUM (ANALYZE) a table a run grew: its statistics, and its new rows' pages marked visible
    to all (hint bits, visibility map) now, by the run that wrote them, rather than by the first
    reads after it. A catch-up right after a 1M-order fynlo-v1 import took 129.2s on the tables as
    the import left them, 116.0s after a VACUUM (ANALYZE) of them that took 3.3s. Inside a
    transaction block (where VACUUM cannot run): ANALYZE only."""
    vacuum = conn.autocommit and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    conn.execute(sql.SQL("VACUUM (ANALYZE) {}" if vacuum else "ANALYZE {}").format(sql.Identifier(table)))


def analyze_if_grown(conn: psycopg.Connection, table: str, added: int, *, threshold: int) -> bool:
    """VACUUM (ANALYZE) `table` (`analyze`) when `added` rows (at least `threshold`) are a tenth or
    more of what its statistics last counted, or it has none (as autovacuum would, but now: the next
    run's queries are planned from them, and read pages already marked). Whether it did."""
    counted = conn.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", [table]).fetchone()
    if added < threshold or counted is None or (counted[0] >= 0 and added * 10 < counted[0]):
        return False
    analyze(conn, table)
    return True


# --- Batches ------------------------------------------------------------------------------------


@dataclass
class Conflict:
    line: int
    key: object
    columns: list[str]
    tenant: int | None
    text: str  # the row as it was to be imported (a COPY record)


@dataclass
class Failed:
    line: int
    ident: int | None
    text: str
    error: str


@dataclass
class BatchResult:
    imported: int = 0
    present: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    retried: bool = False  # the database refused the batch; it went in again by halves
    new_rows: list = field(default_factory=list)  # dry run: the (line, ident, text) that would be inserted


def _lines(rows: list[tuple]) -> str:
    """COPY input of (line, key, text) rows: each text is one record, without its newline."""
    if not rows:
        return ""
    return "\n".join([text for _, _, text in rows]) + "\n"


class BatchLoader:
    """COPY of one table's new rows, committed a batch at a time; rows whose identity
    already exists are compared with the database instead (set-based, per batch).

    With `stream`, new rows go to the server while the next ones are being validated (the
    two processes overlap); otherwise a batch is sent when it is complete.
    """

    def __init__(
        self,
        conn: psycopg.Connection,
        table: str,
        columns: list[str],
        *,
        identity: tuple[str, ...],
        scope_column: str | None,
        compare_columns: list[str],
        dry_run: bool,
        stream: bool = True,
        chunk_rows: int = CHUNK_ROWS,
        before_first_copy=None,
    ):
        self.conn = conn
        self.chunk_rows = chunk_rows
        self.before_first_copy = before_first_copy  # called once, outside any batch, before new rows go in
        self.book = None  # rows.RowBook: what each committed batch inserted, recorded in its transaction
        self.received = 0  # rows handed over in the batches already flushed
        self.table = table
        self.columns = columns
        self.identity = identity
        self.scope_column = scope_column
        self.dry_run = dry_run
        self.stream = stream and not dry_run
        self.new: list[tuple[int, int | None, str]] = []
        self.existing: list[tuple[int, object, str]] = []
        self._sent = 0
        self._transaction = None
        self._copy_context = None
        self._copy = None
        self._broken: psycopg.Error | None = None
        self._compare_table = f"_legacy_compare_{table}"
        # a temporary table of the session, made outside any batch so no rollback drops it
        conn.execute(
            sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} AS SELECT {} FROM {} WITH NO DATA").format(
                sql.Identifier(self._compare_table), sql.SQL(", ").join(map(sql.Identifier, columns)),
                sql.Identifier(table),
            )
        )
        self._copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        self._compare_sql = self._build_compare(compare_columns)

    @property
    def compare_table(self) -> str:
        """The temporary table holding the last batch's rows whose key was in ours."""
        return self._compare_table

    @property
    def size(self) -> int:
        return len(self.new) + len(self.existing)

    def add(self, line: int, ident: int | None, text: str) -> None:
        self.new.append((line, ident, text))
        if self.stream and len(self.new) - self._sent >= self.chunk_rows and self._broken is None:
            try:
                self._send()
            except psycopg.Error as error:
                self._broken = error

    def add_existing(self, line: int, key, text: str) -> None:
        self.existing.append((line, key, text))

    def _begin(self) -> None:
        if self._transaction is None:
            self._transaction = self.conn.transaction()
            self._transaction.__enter__()

    @property
    def rows_seen(self) -> int:
        return self.received + len(self.new) + len(self.existing)

    def _send(self) -> None:
        if self.before_first_copy is not None and self._transaction is None:
            action, self.before_first_copy = self.before_first_copy, None
            action()
        self._begin()
        if self._copy is None:
            self._copy_context = self.conn.cursor().copy(self._copy_sql)
            self._copy = self._copy_context.__enter__()
        if self._sent < len(self.new):
            self._copy.write(_lines(self.new[self._sent:]))
            self._sent = len(self.new)

    def _end_copy(self) -> None:
        context, self._copy_context, self._copy = self._copy_context, None, None
        if context is not None:
            context.__exit__(None, None, None)

    def _commit(self) -> None:
        transaction, self._transaction = self._transaction, None
        if transaction is not None:
            transaction.__exit__(None, None, None)

    def _abort(self, error: BaseException) -> None:
        for context in (self._copy_context, self._transaction):
            if context is None:
                continue
            try:
                context.__exit__(type(error), error, None)
            except psycopg.Error:
                pass
        self._copy_context = self._copy = self._transaction = None

    def close(self) -> None:
        """Roll back a batch left open by an error (nothing of it is committed)."""
        if self._transaction is not None or self._copy_context is not None:
            self._abort(RuntimeError("batch abandoned"))
        self.new, self.existing, self._sent = [], [], 0

    def flush(self) -> BatchResult:
        """Commit the batch (or, in a dry run, only compare it) and start the next."""
        result = BatchResult()
        try:
            if self.dry_run:
                result.imported = len(self.new)
                result.new_rows = self.new
                if self.existing:
                    with self.conn.transaction(force_rollback=True):
                        self._compare(result)
            elif self.new or self.existing:
                try:
                    if self._broken is not None:
                        raise self._broken
                    if self.new:
                        self._send()
                        self._end_copy()
                        if self.book is not None:
                            self.book.record(self.new)
                    if self.existing:
                        self._begin()
                        self._compare(result)
                    self._commit()
                    result.imported = len(self.new)
                except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as error:
                    self._abort(error)
                    result = BatchResult(retried=True)
                    self._salvage(result)
                except BaseException as error:
                    self._abort(error)
                    raise
        finally:
            self.received += len(self.new) + len(self.existing)
            if self.book is not None and self.book.raw:
                self.book.raw.clear()
            self.new = []
            self.existing = []
            self._sent = 0
            self._broken = None
        return result

    # -- comparison of existing rows --

    def _build_compare(self, compare_columns: list[str]) -> sql.Composable:
        table, temp = sql.Identifier(self.table), sql.Identifier(self._compare_table)
        join = sql.SQL(" AND ").join(
            sql.SQL("t.{0} = c.{0}").format(sql.Identifier(column)) for column in self.identity
        )
        differences = []
        for column in compare_columns:
            name = sql.Identifier(column)
            differs = sql.SQL("c.{0} IS DISTINCT FROM t.{0}").format(name)
            if column == "password_hash":
                # Compared as what the import writes: a legacy bcrypt hash upgraded at first login
                # is the same password; a non-bcrypt one is written as an unusable password (random,
                # so never equal to the one stored), the same as any unusable password in the
                # database or a password its user has set since, as the report asks them to.
                differs = sql.SQL(
                    "({} AND NOT (c.password_hash LIKE '$2%%' AND t.password_hash NOT LIKE '$2%%'"
                    " AND t.password_hash NOT LIKE '!%%')"
                    " AND NOT (c.password_hash LIKE '!%%' AND t.password_hash NOT LIKE '$2%%'))"
                ).format(differs)
            differences.append(sql.SQL("CASE WHEN {} THEN {} END").format(differs, sql.Literal(column)))
        diff = sql.SQL("array_remove(ARRAY[{}]::text[], NULL)").format(
            sql.SQL(", ").join(differences) if differences else sql.SQL("")
        )
        scope = sql.SQL("t.{}").format(sql.Identifier(self.scope_column)) if self.scope_column else sql.SQL("NULL::int")
        keys = sql.SQL(", ").join(sql.SQL("c.{}::text").format(sql.Identifier(column)) for column in self.identity)
        return sql.SQL(
            "SELECT * FROM (SELECT ARRAY[{keys}] AS key, t.{first} IS NULL AS missing, {scope} AS scope, {diff} AS diff"
            " FROM {temp} c LEFT JOIN {table} t ON {join}) x WHERE missing OR cardinality(diff) > 0"
        ).format(
            keys=keys, first=sql.Identifier(self.identity[0]), scope=scope, diff=diff, temp=temp, table=table,
            join=join,
        )

    def _compare(self, result: BatchResult) -> None:
        temp = sql.Identifier(self._compare_table)
        self.conn.execute(sql.SQL("TRUNCATE {}").format(temp))
        with self.conn.cursor().copy(
            sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
                temp, sql.SQL(", ").join(map(sql.Identifier, self.columns))
            )
        ) as copy:
            copy.write(_lines(self.existing))
        rows = {self._key_text(key): (line, text) for line, key, text in self.existing}
        differing = 0
        for key, missing, scope, diff in self.conn.execute(self._compare_sql):
            key_text = tuple(key) if len(key) > 1 else key[0]
            line, text = rows.get(key_text, (0, ""))
            columns = ["(the row was deleted from the database during the import)"] if missing else list(diff)
            result.conflicts.append(Conflict(line, key_text, columns, scope, text))
            differing += 1
        result.present = len(self.existing) - differing

    @staticmethod
    def _key_text(key):
        if isinstance(key, tuple):
            return tuple(str(part) for part in key)
        return str(key)

    # -- when a batch is refused --

    def _salvage(self, result: BatchResult) -> None:
        """The database refused the batch (something the validation does not know of):
        find the refused rows by halving, keep the others, and report each with the
        database's reason."""
        rows = self.new

        def attempt(chunk: list) -> None:
            try:
                with self.conn.transaction():
                    with self.conn.cursor().copy(self._copy_sql) as copy:
                        copy.write(_lines(chunk))
                    self.conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    self.conn.execute("SET CONSTRAINTS ALL DEFERRED")
                result.imported += len(chunk)
            except psycopg.Error as error:
                if len(chunk) == 1:
                    line, ident, text = chunk[0]
                    result.failed.append(Failed(line, ident, text, first_line(error)))
                    return
                middle = len(chunk) // 2
                attempt(chunk[:middle])
                attempt(chunk[middle:])

        with self.conn.transaction():
            if rows:
                attempt(rows)
                if self.book is not None:
                    refused = {failed.line for failed in result.failed}
                    self.book.record([row for row in rows if row[0] not in refused])
            if self.existing:
                self._compare(result)
