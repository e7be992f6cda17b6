"""`migrate_legacy SOURCE --catch-up`: a source row whose key is in ours and whose content
differs is decided by three versions, by content (md5s), not by timestamps:

- the source row now (its hash, as `rows.source_hash` takes it),
- the source row at the last run that wrote it (`legacy_import_rows.source_hash`),
- ours now against what that run wrote (`legacy_import_rows.written_hash`).

Source unchanged, ours changed: ours is kept (counted, not a conflict). Source changed, ours
untouched: the source's version is applied, the row as it was first kept in
`legacy_import_changes` (with its bookkeeping then). Both changed: a conflict, listed with both
versions, never overwritten. A source row whose `updated_at` is earlier than ours (untouched,
so what was imported) is stale: never applied, listed. A row no import wrote is a conflict, as
without --catch-up. Rows without an id in the source (settings) are found by their identity
(scope and key); their bookkeeping is by the database's id.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
import threading
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from fynlo.cutover.common import CutoverError, first_line
from fynlo.cutover.legacy.ids import PAGE_BITS, PAGE_MASK, IdMap64, IdSet
from fynlo.cutover.legacy.load import connect
from fynlo.cutover.legacy.rows import CHANGES, ROWS, in_utc, row_hash, source_hash, untouched
from fynlo.cutover.legacy.source import QuotedEmpty, QuotedEmptyFields
from fynlo.cutover.legacy.verify import _version, source_version
from tenants.models import TenantScope

LISTED = 1000


@dataclass
class CatchUp:
    updated: int = 0
    kept_ours: int = 0
    stale: int = 0
    stale_list: list = field(default_factory=list)
    conflicts: list = field(default_factory=list)  # load.Conflict, changed on both sides (or never imported)
    versions: dict = field(default_factory=dict)  # key -> ours (for the conflicts listed)
    refused: list = field(default_factory=list)  # (load.Conflict, reason): the database refused the source's version


def decide(conn: psycopg.Connection, table: str, columns: list[str], compare_table: str, conflicts: list,
           run: int | None, now_text: str, *, dry_run: bool = False, identity: tuple[str, ...] = ("id",),
           raws: dict | None = None) -> CatchUp:
    """Sort a committed batch's differing rows (its existing rows still in `compare_table`).
    Rows are found by `identity`: their id, or (settings) their scope and key. In a dry run
    (`run` None) nothing is kept: the differing rows are put in `compare_table` and decided, and
    applied, in a transaction rolled back."""
    if dry_run:
        with conn.transaction(force_rollback=True):
            conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(compare_table)))
            with conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
                sql.Identifier(compare_table), sql.SQL(", ").join(map(sql.Identifier, columns)))) as copy:
                copy.write("".join(conflict.text + "\n" for conflict in conflicts))
            return _decide(conn, table, columns, compare_table, conflicts, run, now_text, identity, dry_run=True)
    return _decide(conn, table, columns, compare_table, conflicts, run, now_text, identity, dry_run=False, raws=raws)


def _join(identity: tuple[str, ...]) -> sql.Composable:
    return sql.SQL(" AND ").join(sql.SQL("c.{0} = t.{0}").format(sql.Identifier(c)) for c in identity)


def _decide(conn, table, columns, compare_table, conflicts, run, now_text, identity, *, dry_run: bool,
            raws: dict | None = None) -> CatchUp:
    outcome = CatchUp()
    by_key = {}
    for conflict in conflicts:
        key = conflict.key
        if identity == ("id",) and not (isinstance(key, str) and key.isdigit()):
            outcome.conflicts.append(conflict)
        else:
            by_key[key] = conflict
    if not by_key:
        return outcome
    stale = sql.SQL("c.updated_at < t.updated_at") if "updated_at" in columns else sql.SQL("false")
    selected = sql.SQL(", ").join(sql.SQL("t.{}::text").format(sql.Identifier(c)) for c in columns)
    keys = sql.SQL(", ").join(sql.SQL("t.{}::text").format(sql.Identifier(c)) for c in identity)
    where = sql.SQL(" WHERE t.id = ANY(%s)") if identity == ("id",) else sql.SQL("")
    found = {}
    with in_utc(conn):  # ours hashed as the written hashes were
        for row in conn.execute(
            sql.SQL(
                "SELECT ARRAY[{keys}], t.id, r.source_hash, r.written_hash = {hash}, coalesce({stale}, false), {selected}"
                " FROM {table} t JOIN {temp} c ON {join}"
                " LEFT JOIN {rows} r ON r.table_name = %s AND r.row_id = t.id{where}"
            ).format(keys=keys, hash=row_hash(columns), stale=stale, selected=selected, table=sql.Identifier(table),
                     temp=sql.Identifier(compare_table), join=_join(identity), rows=sql.Identifier(ROWS), where=where),
            [table, [int(key) for key in by_key]] if identity == ("id",) else [table],
        ):
            found[row[0][0] if len(row[0]) == 1 else tuple(row[0])] = row[1:]
    apply_ids, apply_hashes, by_id = [], [], {}
    for key, conflict in by_key.items():
        row = found.get(key)
        if row is None or row[1] is None:  # deleted meanwhile, or never imported: as without --catch-up
            outcome.conflicts.append(conflict)
            if row is not None:
                outcome.versions[key] = _version(columns, list(row[4:]))
            continue
        ident, recorded, untouched, is_stale, *ours = row
        new_hash = source_hash(conflict.text, now_text)
        if new_hash == bytes(recorded):
            outcome.kept_ours += 1  # the source did not change: the difference is ours
        elif not untouched:
            outcome.conflicts.append(conflict)
            outcome.versions[key] = _version(columns, ours)
        elif is_stale:
            outcome.stale += 1
            if len(outcome.stale_list) < LISTED:
                outcome.stale_list.append({"key": int(key) if identity == ("id",) else list(key),
                                           "line": conflict.line,
                                           "source": source_version(columns, conflict.text),
                                           "ours": _version(columns, ours)})
        else:
            apply_ids.append(ident)
            apply_hashes.append(new_hash)
            by_id[ident] = conflict
    if apply_ids:
        with in_utc(conn):
            refused = _apply(conn, table, columns, compare_table, apply_ids, apply_hashes, run, record=not dry_run,
                             identity=identity, raws=[(raws or {}).get(ident) for ident in apply_ids])
        for ident, error in refused:
            outcome.refused.append((by_id[ident], error))
        outcome.updated = len(apply_ids) - len(refused)
    return outcome


def _apply(conn, table: str, columns: list[str], compare_table: str, ids: list[int], hashes: list[bytes],
           run: int | None, *, record: bool = True, identity: tuple[str, ...] = ("id",),
           raws: list | None = None) -> list[tuple[int, str]]:
    """The source's version over ours, the prior one kept, the bookkeeping moved on: one transaction
    (in a dry run, `record` False, only the update, in the caller's transaction rolled back). Rows
    the database refuses (a unique key another row of ours holds, ...) are found by halving and
    left as they are: their (id, the database's reason)."""
    name = sql.Identifier(table)
    assignments = sql.SQL(", ").join(
        sql.SQL("{0} = c.{0}").format(sql.Identifier(c)) for c in columns if c not in identity
    )
    keep = sql.SQL(
        "INSERT INTO {changes} (run_id, table_name, row_id, action, prior, prior_run_id, prior_source_hash,"
        " prior_written_hash) SELECT %s, %s, t.id, 'updated', to_jsonb(t), r.run_id, r.source_hash,"
        " r.written_hash FROM {table} t JOIN {rows} r ON r.table_name = %s AND r.row_id = t.id"
        " WHERE t.id = ANY(%s)"
    ).format(changes=sql.Identifier(CHANGES), table=name, rows=sql.Identifier(ROWS))
    update = sql.SQL("UPDATE {} t SET {} FROM {} c WHERE {} AND t.id = ANY(%s)").format(
        name, assignments, sql.Identifier(compare_table), _join(identity))
    book = sql.SQL(
        "UPDATE {rows} r SET run_id = %s, source_hash = s.source_hash, written_hash = {hash}, raw_hash = s.raw_hash,"
        " written_xmin = t.xmin::text::bigint"
        " FROM unnest(%s::bigint[], %s::bytea[], %s::bigint[]) s (row_id, source_hash, raw_hash)"
        " JOIN {table} t ON t.id = s.row_id"
        " WHERE r.table_name = %s AND r.row_id = s.row_id"
    ).format(rows=sql.Identifier(ROWS), hash=row_hash(columns), table=name)
    refused: list[tuple[int, str]] = []

    def attempt(ids: list[int], hashes: list[bytes], raws: list) -> None:
        try:
            with conn.transaction():
                if record:
                    conn.execute(keep, [run, table, table, ids])
                conn.execute(update, [ids])
                conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
                conn.execute("SET CONSTRAINTS ALL DEFERRED")
                if record:
                    conn.execute(book, [run, ids, hashes, raws, table])
        except (psycopg.errors.IntegrityError, psycopg.errors.DataError) as error:
            if len(ids) == 1:
                refused.append((ids[0], first_line(error)))
                return
            middle = len(ids) // 2
            attempt(ids[:middle], hashes[:middle], raws[:middle])
            attempt(ids[middle:], hashes[middle:], raws[middle:])

    with conn.transaction():
        attempt(ids, hashes, raws if raws is not None else [None] * len(ids))
    return refused


def hash64(digest: bytes) -> int:
    """The first 8 bytes of an md5 as a signed 64-bit int (as PostgreSQL's bit(64)::bigint reads them)."""
    return int.from_bytes(digest[:8], "big", signed=True) or 1


class Recorded:
    """A table's rows an import wrote, read once before its source rows, in the same pass as its
    ids (`selected`, `join`: the importer's seeding query reads them with its own columns): per id
    the recorded source hash (64 bits of it), the raw hash of its record when recorded, and
    whether ours has changed since (not the row version written, and its hash not the written
    one: `rows.untouched`). A source row whose hash is the recorded one is unchanged in the source:
    nothing to compare or write, whatever ours is (kept_ours when ours changed, already present
    when not); one whose record's raw hash is the recorded one, over ours untouched, is not even
    parsed."""

    def __init__(self):
        self.hashes = IdMap64()
        self.raws = IdMap64()  # id -> the raw hash of its source record (raw_keyer), where recorded
        self.ours_changed = IdSet()

    @staticmethod
    def selected(columns: list[str]) -> list[sql.Composable]:
        """Three 8-byte big-endian integers (bytea; 0 where none): the source hash's 64 bits (its
        first 8 bytes as they are), ours changed (1), the raw hash."""
        zero = sql.SQL("'\\x0000000000000000'::bytea")
        return [
            sql.SQL("coalesce(substring(r.source_hash FROM 1 FOR 8), {zero})").format(zero=zero),
            sql.SQL("CASE WHEN r.row_id IS NULL OR {untouched} THEN {zero} ELSE '\\x0000000000000001'::bytea END").format(
                untouched=untouched(columns), zero=zero),
            sql.SQL("int8send(coalesce(r.raw_hash, 0))"),
        ]

    @staticmethod
    def join(table: str, low: sql.Composable, high: sql.Composable) -> sql.Composable:
        """The table's bookkeeping of ids low .. high - 1 (`t`'s, which the query bounds alike)."""
        return sql.SQL(" LEFT JOIN {} r ON r.table_name = {} AND r.row_id = t.id AND r.row_id >= {} AND r.row_id < {}").format(
            sql.Identifier(ROWS), sql.Literal(table), low, high)



class Prefetch:
    """The catch-up's seeding queries (the tables read whole this run, in load order) run ahead on
    a connection of their own, with the session in UTC (ours hashed as written): the database
    works on the next table's ids and recorded hashes while this table's records are read. It reads
    only, and only the tables' own rows and bookkeeping, which this run writes to only during
    their own load or after all of them (rows gone from the source).

    Each query's rows are spooled to an unnamed temporary file (TMPDIR) as fast as the database
    sends them, and the reader follows the file. The connection is never held back by a reader
    still busy with an earlier table: held back for minutes, a loopback connection was seen to
    resume tens of seconds after its reader came back (the server waiting to write, the reader
    waiting to read: the receiving socket, unread, had dropped segments, and the server's
    retransmission timer had backed off to 30s). Memory stays flat; the files take disk instead
    (393 MB at most at 1M legacy orders), each closed once its table is read."""

    _FRAME = struct.Struct("<I")

    def __init__(self, params: dict, timezone: str, queries: list[tuple[str, sql.Composable]]):
        self.files = {name: tempfile.TemporaryFile(prefix="fynlo-catch-up-") for name, _ in queries}
        self.written = {name: 0 for name, _ in queries}  # bytes of whole frames in each file
        self.discarded: set[str] = set()
        self.finished: set[str] = set()  # read to their end
        self.error: BaseException | None = None
        self.changed = threading.Condition()
        self.stopping = threading.Event()
        self.conn = None
        self.thread = threading.Thread(target=self._run, args=(params, timezone, queries), daemon=True,
                                       name="migrate_legacy prefetch")
        self.thread.start()

    def _run(self, params, timezone, queries) -> None:
        try:
            self.conn = connect(params, timezone=timezone)
            self.conn.execute("SELECT set_config('TimeZone', 'UTC', false)")
            for name, query in queries:
                if self.stopping.is_set():
                    raise CutoverError("the prefetch was stopped")
                if name not in self.discarded:
                    self._spool(name, query)
                with self.changed:
                    self.finished.add(name)
                    self.changed.notify_all()
        except BaseException as error:  # handed to the reader of each table not finished
            with self.changed:
                self.error = error
                self.changed.notify_all()
        finally:
            if self.conn is not None and not self.conn.closed:
                self.conn.close()

    def _spool(self, name: str, query: sql.Composable) -> None:
        frame, fd = self._FRAME.pack, self.files[name].fileno()
        with self.conn.cursor().copy(sql.SQL("COPY ({}) TO STDOUT").format(query)) as copy:
            for block in copy:
                if self.stopping.is_set():
                    raise CutoverError("the prefetch was stopped")
                if name in self.discarded:
                    continue  # read to its end, kept nowhere
                size = self._FRAME.size + len(block)
                if os.pwritev(fd, [frame(len(block)), block], self.written[name]) != size:
                    raise CutoverError("the prefetch could not write its temporary file (is TMPDIR full?)")
                with self.changed:
                    self.written[name] += size
                    self.changed.notify_all()

    def has(self, name: str) -> bool:
        return name in self.files and name not in self.discarded

    def lines(self, name: str):
        """The query's rows, as they come (raises what stopped the prefetch before its end)."""
        fd, offset, size = self.files[name].fileno(), 0, self._FRAME.size
        try:
            while True:
                with self.changed:
                    while offset == self.written[name] and not self._ended(name):
                        self.changed.wait()
                    available = self.written[name]
                    if offset == available and name not in self.finished:
                        raise self.error or CutoverError("the prefetch of the ids stopped")
                if offset == available:
                    return
                while offset < available:
                    (length,) = self._FRAME.unpack(os.pread(fd, size, offset))
                    line = os.pread(fd, length, offset + size)  # (written whole: a regular file reads whole)
                    if len(line) != length:
                        raise CutoverError("the prefetch's temporary file ended early")
                    yield line
                    offset += size + length
        finally:
            self._forget(name)

    def _ended(self, name: str) -> bool:
        """Nothing more will be written for the table."""
        return name in self.finished or self.error is not None

    def _forget(self, name: str) -> None:
        if self._ended(name):
            self.files[name].close()  # its disk space goes now, not at the end of the run

    def discard(self, name: str) -> None:
        """A table not seeded from here after all (its file unparseable, no id column)."""
        self.discarded.add(name)

    def close(self) -> None:
        self.stopping.set()
        conn = self.conn
        if conn is not None and not conn.closed:
            try:
                conn.cancel()
            except psycopg.Error:
                pass
        self.thread.join(timeout=5)
        if not self.thread.is_alive():  # (else its descriptors are still written to: they go with the process)
            for file in self.files.values():
                file.close()


# What a source record becomes depends on more than its fields; every such input is in the salt
# of its raw hash (`raw_keyer`). Bumped when a change of the importer changes what a record becomes.
RAW_VERSION = "raw-1"


def raw_salt(plan, options: list) -> bytes:
    """The salt of a file's raw hashes: the importer's version, the table, the file's header (names
    and order), the row function compiled for it, and the run's options that change what is
    written (format, --timezone, --employee-role, --default-platform)."""
    material = json.dumps([RAW_VERSION, plan.spec.name, list(plan.header), plan.source, *options], default=str)
    return hashlib.md5(material.encode()).digest()


def raw_keyer(plan, states: dict, *, salt: bytes, sum_column: str | None, fast_test=None, marked: bool = False,
              skip: dict | None = None):
    """The function of a file's raw records: fields -> their raw hash, or None when the record is not
    plain enough to be told unchanged without parsing it (a width or an id or a foreign key that is
    not an integer, a sum not in its plain form).

    The raw hash is 64 bits of the sha1 of the salt, the record's fields (a quoted empty one told
    from an unquoted one: by searching the fields, or, `marked`, CSV records, by the record's class,
    source.QuotedEmptyFields) and, per foreign key of the record, its parent's value in this run's
    state (0: absent or rejected; else its tenant), and, for a restaurant taken from a parent, that
    restaurant's platform: all the row function reads besides the fields. So the same raw hash means
    the row function would give the same row and the same verdict as when it was recorded.

    With `skip` (a catch-up: `raws` and `ours_changed`, the catchup.Recorded maps; `seen`, the
    table's IdSet of ids met; `figures`, the reconciliation's per-restaurant figures of the table;
    `duplicate`, id -> the RowError of an id met twice), a record whose raw hash is the recorded
    one, over a row of ours untouched since, is counted there (seen, its restaurant's count and
    sum from the record) and the function returns 0: already present, nothing else to do.

    Only for tables keyed by id whose rows belong to a restaurant (the acceptor's other work, user
    passwords and restaurant names, is left to the row function)."""
    spec, header = plan.spec, list(plan.header)
    if "id" not in header or spec.scope != TenantScope.RESTAURANT or plan.identity != ("id",):
        return None
    at = {name: index for index, name in enumerate(header)}
    namespace = {"QE": QuotedEmpty, "MARKED": QuotedEmptyFields, "JOIN": "\x00".join, "SHA1": hashlib.sha1,
                 "FROM": int.from_bytes, "SALT": salt}
    code = ["def key(fields):", f"    if len(fields) != {len(header)}:", "        return None", "    try:",
            f"        ident = int(fields[{at['id']}])"]
    values = []
    first_parent = {}  # a derived restaurant: the first restaurant parent given
    for number, fk in enumerate(spec.foreign_keys):
        if fk.column not in at:
            continue
        var = f"v{number}"
        namespace[f"P{number}"] = states[fk.target].values.pages
        code += [f"        {var} = fields[{at[fk.column]}]",
                 f"        if {var}:",
                 f"            {var} = int({var})",
                 f"            page = P{number}.get({var} >> {PAGE_BITS})",
                 f"            {var} = page[{var} & {PAGE_MASK}] if page is not None else 0",
                 "        else:",
                 f"            {var} = 0"]
        values.append(var)
        first_parent[fk.column] = var
    if "restaurant_id" in at:
        code.append(f"        restaurant = int(fields[{at['restaurant_id']}]) if fields[{at['restaurant_id']}] else None")
    else:
        parents = [fk for fk in spec.restaurant_parents if fk.column in at]
        code.append("        restaurant = None")
        for number, fk in enumerate(parents):
            code += [f"        {'if' if number == 0 else 'elif'} fields[{at[fk.column]}]:",
                     f"            restaurant = {first_parent[fk.column]} or None"]
        namespace["RP"] = states["restaurants"].values.pages
        code += ["        platform = 0",
                 "        if restaurant is not None:",
                 f"            page = RP.get(restaurant >> {PAGE_BITS})",
                 f"            platform = page[restaurant & {PAGE_MASK}] if page is not None else 0"]
        values.append("platform")
    code += ["    except ValueError:", "        return None"]
    if sum_column in at:
        code.append(f"    amount = fields[{at[sum_column]}]")
        if fast_test is not None:
            code += [f"    if amount and not ({fast_test('amount', at[sum_column])}):", "        return None"]
    else:
        code.append("    amount = None")
    namespace["PACK"] = struct.Struct(f">{len(values)}q").pack
    code.append(f"    head = PACK({', '.join(values)}{',' if len(values) == 1 else ''})")
    if marked:
        code.append("    if fields.__class__ is MARKED:")
    else:
        code.append('    if "" in fields and QE in map(type, fields):')
    code += ["        head += b'\\x01' + bytes([f.__class__ is QE for f in fields])",
             "    raw = FROM(SHA1(SALT + head + b'\\x00' + JOIN(fields).encode()).digest()[:8], 'big', signed=True) or 1"]
    if skip is not None:
        namespace.update(RAWS=skip["raws"].pages, CHANGED=skip["ours_changed"].pages, SEEN=skip["seen"].add,
                         PER=skip["figures"], FIGURES=skip["Figures"], DECIMAL=skip["Decimal"],
                         DUPLICATE=skip["duplicate"])
        code += [f"    page = RAWS.get(ident >> {PAGE_BITS})",
                 f"    if page is None or page[ident & {PAGE_MASK}] != raw:",
                 "        return raw",
                 f"    low = ident & {PAGE_MASK}",
                 f"    page = CHANGED.get(ident >> {PAGE_BITS})",
                 "    if page is not None and page[low >> 3] & (1 << (low & 7)):",
                 "        return raw",
                 "    if not SEEN(ident):",
                 "        raise DUPLICATE(ident)",
                 "    figures = PER.get(restaurant)",
                 "    if figures is None:",
                 "        figures = PER[restaurant] = FIGURES()",
                 "    figures.count += 1",
                 "    if amount:",
                 "        figures.total += DECIMAL(amount)",
                 "    return 0"]
    else:
        code.append("    return raw")
    exec(compile("\n".join(code), f"<migrate_legacy raw key of {plan.file_name} for {spec.name}>", "exec"), namespace)
    return namespace["key"]
