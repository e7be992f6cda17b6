"""migrate_legacy's runs and per-row bookkeeping (`legacy_import_runs`, `legacy_import_rows`,
owner-only): per row an import inserted, the run, the hash of the source row as read (its COPY
record) and the hash of what the database then held. Written with each batch, in the batch's
transaction, set-based: one INSERT ... SELECT per batch over the batch's (id, source hash) arrays, that
hashes the rows just written."""

from __future__ import annotations

import hashlib
import json
import re
from contextlib import contextmanager

import psycopg
from psycopg import sql

from fynlo.cutover.common import CutoverError
from fynlo.cutover.legacy.ids import IdSet
from fynlo.cutover.legacy.load import stream_int_rows
from fynlo.cutover.legacy.verify import copy_fields

RUNS = "legacy_import_runs"
ROWS = "legacy_import_rows"
CHANGES = "legacy_import_changes"
KEYED_CHANGES = "legacy_import_keyed_changes"  # the same for the fynlo-v1 id map and archive, by legacy key
ID_MAP = "legacy_id_map"  # fynlo-v1: legacy key -> our id
ARCHIVE = "legacy_archive"  # fynlo-v1: what no column of ours holds


# the transaction that wrote a row's version (t.xmin, a 32-bit xid) as a bigint
XMIN = sql.SQL("t.xmin::text::bigint")


def untouched(columns: list[str]) -> sql.Composable:
    """True where our row `t` is still the version written (`r`, its legacy_import_rows row): the
    same xmin (the row version the run wrote), else, by content, our row's hash the written one."""
    return sql.SQL("(CASE WHEN r.written_xmin = {xmin} THEN true ELSE r.written_hash = {hash} END)").format(
        xmin=XMIN, hash=row_hash(columns))


def row_hash(columns: list[str], alias: str = "t") -> sql.Composable:
    """The database's hash (bytea) of a row over these columns: md5 of their row text."""
    values = sql.SQL(", ").join(sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(c)) for c in columns)
    return sql.SQL("decode(md5(ROW({})::text), 'hex')").format(values)


@contextmanager
def in_utc(conn: psycopg.Connection):
    """The session's TimeZone at UTC while row hashes are taken, then back: a row's text holds its
    timestamps in the session's zone, and the import's session is in --timezone, so a written hash
    taken there (Europe/London, a summer timestamp) would never equal ours hashed later by --undo
    or by a catch-up run in another zone."""
    previous = conn.execute("SELECT current_setting('TimeZone'), set_config('TimeZone', 'UTC', false)").fetchone()[0]
    try:
        yield
    finally:
        if previous != "UTC" and conn.info.transaction_status != psycopg.pq.TransactionStatus.INERROR:
            conn.execute("SELECT set_config('TimeZone', %s, false)", [previous])


# Django's unusable password (make_password(None)): "!" and 40 random letters and digits
UNUSABLE_PASSWORD = re.compile(r"(?<=,)![A-Za-z0-9]{40}(?=,|$)")


def source_hash(text: str, now_text: str | None = None) -> bytes:
    """The hash of a source row as the import writes it, less what the run itself made up, so an
    unchanged source row hashes the same every run: empty fields filled with the run's time
    (`now_text`) and the random unusable password given to a non-bcrypt legacy hash (so a
    legacy hash changed from one non-bcrypt hash to another is not seen as a change)."""
    if now_text is not None and now_text in text:
        text = text.replace(now_text, "")
    if "!" in text:
        text = UNUSABLE_PASSWORD.sub("!", text)
    return hashlib.md5(text.encode()).digest()


def start_run(conn: psycopg.Connection, *, source: str, format: str, kind: str = "import") -> int:
    if conn.execute("SELECT to_regclass(%s)", [ROWS]).fetchone()[0] is None:
        raise CutoverError(f"the database has no {ROWS} table: run `manage.py migrate` first")
    return conn.execute(
        sql.SQL("INSERT INTO {} (kind, source, format) VALUES (%s, %s, %s) RETURNING id").format(sql.Identifier(RUNS)),
        [kind, source, format],
    ).fetchone()[0]


def finish_run(conn: psycopg.Connection, run: int, *, inserted: int = 0, updated: int = 0, deleted: int = 0,
               conflicts: int = 0) -> None:
    conn.execute(
        sql.SQL("UPDATE {} SET finished_at = statement_timestamp(), inserted = %s, updated = %s, deleted = %s,"
                " conflicts = %s WHERE id = %s").format(sql.Identifier(RUNS)),
        [inserted, updated, deleted, conflicts, run],
    )


def imported_ids(conn: psycopg.Connection, table: str) -> IdSet | None:
    """The ids of a table that an import wrote (None when no run recorded any)."""
    ids = IdSet()
    query = sql.SQL("SELECT row_id FROM {} WHERE table_name = {}").format(sql.Identifier(ROWS), sql.Literal(table))
    for (ident,) in stream_int_rows(conn, query):
        ids.add(ident)
    return ids if len(ids) else None


class RowBook:
    """The bookkeeping of one table's inserted rows, batch by batch. A table whose rows have no
    id in the source (settings, keyed by their scope) is found by its identity columns."""

    def __init__(self, conn: psycopg.Connection, table: str, columns: list[str], run: int,
                 identity: tuple[str, ...] = ("id",), types: dict[str, str] | None = None,
                 now_text: str | None = None):
        self.conn = conn
        self.now_text = now_text
        # id -> the raw hash of its source record (catchup.raw_keyer), when taken: of the batch's new
        # rows only, emptied with the batch (BatchLoader.flush), so it never grows with the table
        self.raw: dict[int, int] | None = None
        # what the written hash is taken over, so --undo can hash ours now the same way
        conn.execute(
            sql.SQL("UPDATE {} SET hashed_columns = hashed_columns || jsonb_build_object(%s::text, %s::jsonb)"
                    " WHERE id = %s").format(sql.Identifier(RUNS)),
            [table, json.dumps(columns), run],
        )
        self.key_positions = None if identity == ("id",) else [columns.index(c) for c in identity]
        # the arrays go in binary (%b): psycopg's text dumping of a 50k-element array is ~0.3 s of
        # the client's CPU per batch, the binary one a sixth of that
        if self.key_positions is None:
            keys = sql.SQL("s.row_id")
            arrays = sql.SQL("%b::bigint[], %b::bigint[], ")
            names = sql.SQL("row_id, raw_hash, ")
            join = sql.SQL("t.id = s.row_id")
        else:
            keys = sql.SQL("t.id")
            arrays = sql.SQL("").join(sql.SQL("%b::text[], ") for _ in identity) + sql.SQL("NULL::bigint[], ")
            names = sql.SQL("").join(sql.SQL("{}, ").format(sql.Identifier(f"k{i}")) for i in range(len(identity)))
            names += sql.SQL("raw_hash, ")
            join = sql.SQL(" AND ").join(
                sql.SQL("t.{} = s.{}::{}").format(sql.Identifier(c), sql.Identifier(f"k{i}"), sql.SQL(types[c]))
                for i, c in enumerate(identity)
            )
        # No row of this table in the bookkeeping yet (its first import; runs take a lock, so no
        # other run adds any): the batches' rows are plain inserts. Otherwise a row written by an
        # earlier run may be inserted again (deleted from ours since), and its entry is replaced.
        # (The upsert's conflict check costs ~7 us a row: a quarter of this statement.) Asked as
        # min(row_id), which reads the primary key's first entry: an EXISTS was planned as a
        # sequential scan that stops at the first match, 1.2s of reading when the table's entries
        # lie behind millions of others'.
        fresh = conn.execute(
            sql.SQL("SELECT min(row_id) IS NULL FROM {} WHERE table_name = %s").format(sql.Identifier(ROWS)), [table]
        ).fetchone()[0]
        upsert = sql.SQL("") if fresh else sql.SQL(
            " ON CONFLICT (table_name, row_id) DO UPDATE SET run_id = excluded.run_id,"
            " source_hash = excluded.source_hash, written_hash = excluded.written_hash, raw_hash = excluded.raw_hash,"
            " written_xmin = excluded.written_xmin"
        )
        # the batch's ids as an array: the planner expects few rows and finds each by its
        # primary key (a hash join would read the whole, growing table per batch)
        self.insert_sql = sql.SQL(
            "INSERT INTO {rows} (table_name, row_id, run_id, source_hash, written_hash, raw_hash, written_xmin)"
            " SELECT {table_name}, {keys}, {run}, s.source_hash, {hash}, s.raw_hash, {xmin}"
            " FROM unnest({arrays}%b::bytea[]) s ({names}source_hash) JOIN {table} t ON {join}{upsert}"
        ).format(
            rows=sql.Identifier(ROWS), table_name=sql.Literal(table), run=sql.Literal(run), hash=row_hash(columns),
            xmin=XMIN,
            table=sql.Identifier(table), keys=keys, arrays=arrays, names=names, join=join, upsert=upsert,
        )

    def record(self, rows: list[tuple]) -> None:
        """(line, id, COPY text) rows just written, in the open transaction."""
        if self.key_positions is None:
            ids = [ident for _, ident, _ in rows if ident is not None]
            if not ids:
                return
            now_text = self.now_text
            hashes = [source_hash(text, now_text) for _, ident, text in rows if ident is not None]
            raw = self.raw.get if self.raw is not None else None
            raws = [raw(ident) for ident in ids] if raw is not None else [None] * len(ids)
            with in_utc(self.conn):
                self.conn.execute(self.insert_sql, [ids, raws, hashes])
            return
        if not rows:
            return
        keys = [[] for _ in self.key_positions]
        for _, _, text in rows:
            values = copy_fields(text)
            for column, position in zip(keys, self.key_positions):
                column.append(values[position])
        with in_utc(self.conn):
            self.conn.execute(self.insert_sql, [*keys, [source_hash(text, self.now_text) for _, _, text in rows]])


def record_raw(conn: psycopg.Connection, table: str, ids: list[int], raws: list[int]) -> None:
    """The raw hashes of source records found unchanged (their content's hash the recorded one)."""
    conn.execute(
        sql.SQL("UPDATE {} r SET raw_hash = s.raw_hash FROM unnest(%s::bigint[], %s::bigint[]) s (row_id, raw_hash)"
                " WHERE r.table_name = %s AND r.row_id = s.row_id").format(sql.Identifier(ROWS)),
        [ids, raws, table],
    )
