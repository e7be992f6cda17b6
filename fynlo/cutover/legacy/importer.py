"""`legacy_import`: the legacy system's CSV export into the new schema, on cutover night.

For each table, parents first (the order comes from the models' foreign keys): the file is
checked to parse as a whole, every row is validated (types, NOT NULL, lengths, allowed
values, checks, foreign keys, tenant consistency, unique keys), the good rows are streamed
with COPY in committed batches, the bad ones go to the rejects file with their line and
reason, and rows that depend on a rejected row are rejected too.

Legacy ids are kept. A row whose id is already in the database is compared with it: equal
is "already present", different is a conflict (reported, never overwritten). So a second
run writes nothing, and a run killed at any moment is finished by running it again.
"""

from __future__ import annotations

import csv
import time as clock
import zoneinfo
from array import array
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import compress
from pathlib import Path
from typing import IO

import psycopg
from django.conf import settings
from django.db import connections

from fynlo.cutover.common import CutoverError, Progress, first_line
from fynlo.cutover.legacy import catchup as catch_up_rows
from fynlo.cutover.legacy import ids, load
from fynlo.cutover.legacy import rows as bookkeeping
from fynlo.cutover.legacy import verify as verify_rows
from fynlo.cutover.legacy.report import (
    RECONCILED_SUMS,
    Figures,
    ImportReport,
    Reconciliation,
    RejectWriter,
    TableReport,
)
from fynlo.cutover.legacy.schema import SETTINGS_SOURCE, SETTINGS_TARGETS, TableSpec, source_order, table_specs
from fynlo.cutover.legacy.source import (
    CSV,
    ParseError,
    Rejected,
    SkippedRun,
    Source,
    SourceFile,
    first_record,
    is_url,
    open_source,
    read_records,
    scan,
)
from fynlo.cutover.legacy.validate import (
    NO_TENANT,
    PRESENT,
    HeaderError,
    Plan,
    RowError,
    TableState,
    UniqueGuard,
    _fast_test,
    build_plan,
    decimal_or_none,
    normalise_header,
    plan_columns,
    tenant_value,
)
from tenants.models import TenantScope

DEFAULT_BATCH_SIZE = 50_000
GUIDE = "guide"
FYNLO_V1 = "fynlo-v1"
FORMATS = (GUIDE, FYNLO_V1)
ANALYZE_THRESHOLD = 10_000
PROGRESS_STEP = 1000
CONFLICTS_LISTED = 1000
# a catch-up of a table of LAZY_UNIQUES rows or more looks its new rows' unique keys up one by one, up
# to a LAZY_SHARE-th of its rows and LAZY_LOOKUPS, then reads all of ours (see _target)
LAZY_UNIQUES, LAZY_SHARE, LAZY_LOOKUPS = 10_000, 100, 10_000
SETTINGS_EXTRA_COLUMNS = ("entity_type", "entity_id")


@dataclass
class Target:
    """One target table of a source file: its plan, loader, unique keys and counters."""

    spec: TableSpec
    state: TableState
    plan: Plan
    positions: dict[str, int]
    loader: load.BatchLoader
    uniques: UniqueGuard
    db_keys: set | None  # identities of existing rows, when they are a natural key (no id)
    sum_position: int | None
    imported: int = 0
    set_aside: dict = field(default_factory=dict)  # kind -> how many were set aside for the load
    conflict_list: list = field(default_factory=list)
    accept: object = None  # fields, line -> None (RowError when the row is rejected)
    recorded: object = None  # --catch-up: catchup.Recorded, the rows an import wrote and their source hashes
    unchanged_present: int = 0  # --catch-up: source rows unchanged since the last run (not compared), ours too
    unchanged_kept: int = 0  # ... and ours changed since: kept_ours
    skipped: int = 0  # --catch-up: the two above, of the batches flushed
    # --catch-up, rows without an id (settings): the keys read this run, and those of rows rejected
    seen_keys: set = field(default_factory=set)
    rejected_keys: set = field(default_factory=set)
    key_of: object = None  # the file's fields -> the key of a row of this target (for a rejected row)
    # raw hashes (catchup.raw_keyer): the record's fields -> (id, raw hash, restaurant, amount), and
    # this run's raw hashes to record: of rows it inserts (in the RowBook), of unchanged rows (by id,
    # written after each batch) and of differing ones (for a catch-up's update)
    raw_key: object = None
    raw_unchanged: list = field(default_factory=list)
    raw_existing: dict = field(default_factory=dict)


def legacy_import(
    *,
    source: str | Path,
    dry_run: bool = False,
    only: list[str] | None = None,
    rejects_dir: str | Path | None = None,
    encoding: str = "utf-8",
    timezone: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: IO | None = None,
    using: str = "owner",
    format: str | None = None,
    employee_role: str = "cashier",
    default_platform: str | None = None,
    verify: bool = False,
    catch_up: bool = False,
) -> ImportReport:
    """Import a legacy export (CSV folder or archive, pg_dump file, live URL) into the database
    as the owner role. With `verify`, write nothing and compare the source with the database
    instead (the report's `verification`)."""
    if format is not None and format not in FORMATS:
        raise CutoverError(f"--format must be one of {', '.join(FORMATS)}")
    importer = _Importer(
        source=str(source) if is_url(str(source)) else Path(source),
        dry_run=dry_run,
        only=only,
        rejects_dir=Path(rejects_dir) if rejects_dir else None,
        encoding=encoding,
        timezone=timezone,
        batch_size=batch_size,
        progress=progress,
        using=using,
        format=format,
        employee_role=employee_role,
        default_platform=default_platform,
        verify=verify,
        catch_up=catch_up,
    )
    return importer.run()


class _Importer:
    def __init__(self, *, source, dry_run, only, rejects_dir, encoding, timezone, batch_size, progress, using,
                 format=None, employee_role="cashier", default_platform=None, verify=False, catch_up=False):
        if batch_size < 1:
            raise CutoverError("--batch-size must be at least 1")
        self.timezone_given = timezone is not None  # (before the default: fynlo-v1's own default is UTC)
        timezone = timezone or settings.TIME_ZONE
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
            raise CutoverError(f"unknown time zone {timezone!r} (e.g. Europe/London, UTC)") from error
        self.source_path = source
        self.format = format
        self.employee_role = employee_role
        self.default_platform = default_platform
        self.translation = None  # the fynlo-v1 format's view of the source
        self.verification = verify_rows.Verification() if verify else None
        self.catch_up = catch_up
        self.caught_up: dict[str, Target] = {}  # --catch-up: the tables read whole this run
        self.rejected_ids: dict[str, set] = {}  # --catch-up: ids of source rows rejected this run
        dry_run = dry_run or verify
        self.dry_run = dry_run
        self.rejects_dir = rejects_dir
        self.encoding = encoding
        self.timezone = timezone
        self.batch_size = batch_size
        self.progress = progress
        self.using = using
        self.specs = table_specs()
        self.order = source_order()
        self.selected = self._selection(only)
        self.report = ImportReport(
            source=str(source), dry_run=dry_run, timezone=timezone, encoding=encoding,
            rejects_dir=str(rejects_dir) if rejects_dir else None,
        )
        self.report.verification = self.verification
        self.states = {name: TableState(spec=spec, source_name=name) for name, spec in self.specs.items()}
        self.now_text = datetime.now(zoneinfo.ZoneInfo("UTC")).isoformat()
        self.conn: psycopg.Connection | None = None
        self.lookup_conn: psycopg.Connection | None = None
        self.needed: set[str] = set()  # tables whose ids (and tenants) later rows refer to
        self.finisher: load.Finisher | None = None
        self.run_id: int | None = None  # legacy_import_runs: this run (not in a dry run)
        self.source: Source | None = None  # what is read: the export's files, or fynlo-v1's translation
        self.prefetch: catch_up_rows.Prefetch | None = None  # --catch-up: the seeding queries run ahead
        self.prefetched_columns: dict[str, list[str]] = {}  # ... and the columns each hashes ours over

    def _selection(self, only: list[str] | None) -> list[str]:
        if not only:
            return list(self.order)
        wanted = {name.strip().lower() for name in only}
        unknown = sorted(wanted - set(self.order))
        if unknown:
            raise CutoverError(f"--only: no table named {', '.join(unknown)} (tables: {', '.join(self.order)})")
        return [name for name in self.order if name in wanted]

    # -- the run --

    def run(self) -> ImportReport:
        started = clock.monotonic()
        with open_source(self.source_path, tables=None, encoding=self.encoding) as raw:
            source = self.source = self._view(raw)
            self.report.ignored_files = source.ignored
            self.report.ignored_statements = raw.ignored_statements
            self._check_found(source)
            self._check_headers(source)
            self._connect()
            try:
                self._restore_leftovers()
                if self.catch_up and self.run_id is not None:
                    # started first: the database works on the first tables' seeding queries while the
                    # translation's prepare (its id map: all it writes) runs here
                    self._prefetch(source)
                if self.translation is not None:
                    self.translation.prepare()
                needed = self.needed = self._needed_values(source)
                for name in self.order:
                    if name == SETTINGS_SOURCE:
                        if name in self.selected:
                            self._load_settings(source.files.get(name))
                        continue
                    if (name in needed or (name in self.selected and name in source.files)) and not (
                        self._seeds_with_its_load(name, source)
                    ):
                        self._seed(name)
                    if name in self.selected:
                        file = source.files.get(name)
                        if file is None:
                            self.report.tables[name] = TableReport(name)
                        else:
                            self._load_table(name, file)
                self._finish()
                if self.catch_up and self.verification is None:
                    self._delete_gone()
                if self.translation is not None:
                    self.translation.finish()
                self._reconcile()
                if self.run_id is not None:
                    tables = self.report.tables.values()
                    bookkeeping.finish_run(self.conn, self.run_id, inserted=sum(t.imported for t in tables),
                                           updated=sum(t.updated for t in tables),
                                           deleted=sum(t.deleted for t in tables),
                                           conflicts=sum(t.conflicts + t.kept_not_deleted for t in tables))
                    self._analyze_bookkeeping(sum(t.imported + t.updated for t in tables))
            except psycopg.OperationalError as error:
                raise CutoverError(f"database connection lost: {first_line(error)}") from error
            finally:
                if self.prefetch is not None:
                    self.prefetch.close()
                if self.finisher is not None:
                    self.finisher.wait()
                if self.translation is not None:
                    self.translation.close()
                self._close()
        self.report.seconds = clock.monotonic() - started
        return self.report

    def _analyze_bookkeeping(self, written: int) -> None:
        """Statistics of the bookkeeping a big run grew (its rows' hashes; fynlo-v1's id map and archive):
        never analyzed, a catch-up right after an import planned its reads of them for a few thousand
        rows, not millions (parallel workers, sorts spilled to disk)."""
        tables = [bookkeeping.ROWS] + ([bookkeeping.ID_MAP, bookkeeping.ARCHIVE] if self.translation is not None else [])
        for table in tables:
            load.analyze_if_grown(self.conn, table, written, threshold=ANALYZE_THRESHOLD)

    def _view(self, raw: Source) -> Source:
        """The source as our tables: the guide's files as they are, or the fynlo-v1 format's
        translation of the legacy tables. The format is detected when not given."""
        from fynlo.cutover.legacy import fynlo_v1

        detected = self.format is None
        if detected:
            self.format = FYNLO_V1 if fynlo_v1.looks_like(raw) else GUIDE
        self.report.format = self.format
        self.report.format_detected = detected
        if self.format == GUIDE:
            known = set(self.order)
            ignored = list(raw.ignored) + [file.name for name, file in raw.files.items() if name not in known]
            return Source(raw.path, {n: f for n, f in raw.files.items() if n in known}, ignored)
        if not self.timezone_given:
            # the legacy application wrote its zone-less timestamps with utcnow()
            self.timezone = self.report.timezone = "UTC"
        self.translation = fynlo_v1.Translation(raw, self)
        return self.translation.source

    def _connect(self) -> None:
        params = connections[self.using].get_connection_params()
        self.conn = load.connect(params, timezone=self.timezone)
        self.lookup_conn = load.connect(params, timezone=self.timezone)
        load.check_schema(self.conn)
        load.take_lock(self.conn)
        if not self.dry_run:
            self.run_id = bookkeeping.start_run(self.conn, source=str(self.source_path), format=self.format,
                                                kind="catch-up" if self.catch_up else "import")
        self.finisher = load.Finisher(params, timezone=self.timezone)

    def _close(self) -> None:
        for conn in (self.conn, self.lookup_conn):
            if conn is not None and not conn.closed:
                conn.close()

    def _restore_leftovers(self) -> None:
        """A run killed while a table's foreign keys were set aside left them in the ledger."""
        if self.dry_run:
            for _, table, kind, name, _ in load.set_aside_entries(self.conn):
                self.report.constraint_problems.append(
                    f"{kind} {name} on {table} was set aside by an interrupted run; a real run restores it first"
                )
            return
        for restored in load.restore_set_aside(self.conn):
            self.report.restored_constraints.append(
                {"table": restored.table, "kind": restored.kind, "name": restored.name}
            )
            if not restored.validated:
                self.report.constraint_problems.append(
                    f"{restored.name} on {restored.table} restored NOT VALID: existing rows violate it ({restored.error})"
                )

    def _check_found(self, source: Source) -> None:
        """An export with no file for any selected table would import nothing: an error, not 0 rows."""
        if any(name in source.files for name in self.selected):
            return
        expected = ", ".join(f"{name}_export.csv" for name in self.selected)
        ignored = f"; ignored: {', '.join(source.ignored)}" if source.ignored else ""
        raise CutoverError(
            f"{self.source_path}: no export file found (expected files named <table>_export.csv or <table>.csv: "
            f"{expected}){ignored}"
        )

    # -- headers: all checked before anything is written --

    def _check_headers(self, source: Source) -> None:
        """Every selected file's header, before anything is written: an unknown column, or a
        missing required one, stops the run."""
        problems: list[str] = []
        for name in self.selected:
            file = source.files.get(name)
            if file is None:
                continue
            try:
                first = first_record(file)
            except ParseError:
                continue  # reported with its line when the table's turn comes
            except OSError as error:
                raise CutoverError(f"cannot read {file.name}: {error}") from error
            if first is None:
                continue
            header = normalise_header(first[1])
            try:
                if name == SETTINGS_SOURCE:
                    for target, columns in self._settings_headers(header, file.name).items():
                        plan_columns(self.specs[target], columns, file.name)
                else:
                    plan_columns(self.specs[name], header, file.name)
            except HeaderError as error:
                problems.append(str(error))
        if problems:
            raise CutoverError("; ".join(problems) + " (nothing was written)")

    def _settings_headers(self, header: list[str], file_name: str) -> dict[str, list[str]]:
        missing = [column for column in SETTINGS_EXTRA_COLUMNS if column not in header]
        if missing:
            raise HeaderError("; ".join(f"{file_name}: missing required column {column!r}" for column in missing))
        columns = {}
        for entity, target in SETTINGS_TARGETS.items():
            scope_column = self.specs[target].scope_column
            columns[target] = [scope_column if c == "entity_id" else c for c in header if c != "entity_type"]
        return columns

    def _needed_values(self, source: Source) -> set[str]:
        """Tables whose ids (and tenants) the selected files' rows refer to."""
        needed = set()
        for name in self.selected:
            if name not in source.files:
                continue
            targets = SETTINGS_TARGETS.values() if name == SETTINGS_SOURCE else [name]
            for target in targets:
                for fk in self.specs[target].foreign_keys:
                    needed.add(fk.target)
                if self.specs[target].scope in (TenantScope.RESTAURANT, TenantScope.USER):
                    needed.add("restaurants")
        return needed

    def _seeds_with_its_load(self, name: str, source: Source) -> bool:
        """--catch-up of a table read this run (keyed by id, recorded): its ids are read with its
        recorded hashes, in one pass, when its load begins (_load_table)."""
        return (self.catch_up and self.run_id is not None and name in self.selected and name in source.files
                and "id" in self.specs[name].columns)

    def _seed(self, name: str, recorded_columns: list[str] | None = None):
        """What the database already holds of a table: its ids and their tenants. With
        `recorded_columns` (--catch-up), in the same pass, the rows an import wrote: their recorded
        hashes and whether ours changed since, over these columns (a catchup.Recorded, None when
        the table is empty)."""
        state = self.states[name]
        spec = state.spec
        columns = self._tenant_columns(spec)
        if recorded_columns is not None:
            return self._seed_recorded(state, columns, recorded_columns)
        query = load.sql.SQL("SELECT id{} FROM {}").format(
            load.sql.SQL("").join(load.sql.SQL(", {}").format(load.sql.Identifier(c)) for c in columns),
            load.sql.Identifier(name),
        )
        for row in load.stream_int_rows(self.conn, query):
            ident = row[0]
            state.db_ids.add(ident)
            if spec.scope == TenantScope.USER:
                value = row[1] or (-row[2] if row[2] else NO_TENANT)
            elif columns:
                value = row[1]
            else:
                value = PRESENT
            state.values.set(ident, value)

    @staticmethod
    def _tenant_columns(spec: TableSpec) -> tuple:
        if spec.scope == TenantScope.USER:
            return ("restaurant_id", "platform_id")
        if spec.scope_column:
            return (spec.scope_column,)
        return ()

    def _seed_query(self, spec: TableSpec, recorded_columns: list[str]):
        """Per 16k ids one line of 8-byte big-endian integers in hex (id, tenant columns, recorded:
        catchup.Recorded.selected), ids ascending, so a table's dense ids fill the id maps a slice at
        a time; so neither side writes or parses a million decimal numbers (hex by encode(), whatever
        the server's bytea_output). Block by block (id >> 14): the blocks that hold ids found one
        index probe each, then each block's rows and bookkeeping by index range scans, so the
        database neither sorts nor hashes the whole table (for 3M order lines, with the default
        work_mem, ~400 MB of temporary files and 3.5s before the first line) and the lines come
        from the start."""
        name = load.sql.Identifier(spec.name)
        values = load.sql.SQL(" || ").join(
            [load.sql.SQL("int8send(t.id::bigint)")]
            + [load.sql.SQL("int8send(coalesce(t.{}, 0)::bigint)").format(load.sql.Identifier(c))
               for c in self._tenant_columns(spec)]
            + catch_up_rows.Recorded.selected(recorded_columns)
        )
        low, high = load.sql.SQL("(b.n << 14)"), load.sql.SQL("((b.n + 1) << 14)")
        return load.sql.SQL(
            "WITH RECURSIVE b (n) AS (SELECT (SELECT min(id) FROM {table})::bigint >> 14"
            " UNION ALL SELECT (SELECT min(id) FROM {table} WHERE id >= {high})::bigint >> 14"
            " FROM b WHERE b.n IS NOT NULL)"
            " SELECT x.line FROM b, LATERAL (SELECT encode(string_agg({values}, '' ORDER BY t.id), 'hex') AS line"
            " FROM {table} t{join} WHERE t.id >= {low} AND t.id < {high}) x WHERE x.line IS NOT NULL"
        ).format(table=name, values=values, join=catch_up_rows.Recorded.join(spec.name, low, high), low=low, high=high)

    def _prefetch(self, source: Source) -> None:
        """--catch-up: the seeding queries of the tables read whole this run, run ahead (catchup.Prefetch)."""
        queries = []
        for name in self.order:
            file = source.files.get(name)
            if name == SETTINGS_SOURCE or not self._seeds_with_its_load(name, source):
                continue
            try:
                first = first_record(file)
                copy_columns, identity, _ = plan_columns(self.specs[name], normalise_header(first[1]), file.name)
            except (ParseError, HeaderError, OSError, TypeError):
                continue  # seeded when its turn comes, as it can be
            if identity == ("id",):
                queries.append((name, self._seed_query(self.specs[name], copy_columns)))
                self.prefetched_columns[name] = copy_columns
        if queries:
            params = connections[self.using].get_connection_params()
            self.prefetch = catch_up_rows.Prefetch(params, self.timezone, queries)

    def _seed_recorded(self, state: TableState, columns: tuple, recorded_columns: list[str]):
        spec, name = state.spec, state.spec.name
        recorded = catch_up_rows.Recorded()
        width = 1 + len(columns) + 3
        if self.prefetch is not None and self.prefetch.has(name) and self.prefetched_columns[name] != recorded_columns:
            self.prefetch.discard(name)  # (the file's header read again is another one: read here)
        if self.prefetch is not None and self.prefetch.has(name):
            lines = self.prefetch.lines(name)
        else:
            lines = load.stream_text(self.conn, self._seed_query(spec, recorded_columns))
        with bookkeeping.in_utc(self.conn):  # ours hashed as the written hashes were
            for line in lines:
                numbers = _int64s(line)
                ids_ = numbers[0::width]
                state.db_ids.add_many(ids_)
                if spec.scope == TenantScope.USER:
                    tenants = [r or (-p if p else NO_TENANT) for r, p in zip(numbers[1::width], numbers[2::width])]
                elif columns:
                    tenants = numbers[1::width]
                else:
                    tenants = [PRESENT] * len(ids_)
                state.values.set_many(ids_, tenants)
                recorded.hashes.set_many(ids_, numbers[width - 3::width])
                recorded.raws.set_many(ids_, numbers[width - 1::width])
                for ident in compress(ids_, numbers[width - 2::width]):
                    recorded.ours_changed.add(ident)
        return recorded if len(state.db_ids) else None

    # -- one table --

    def _target(self, spec: TableSpec, header: list[str], file: SourceFile, *, stream: bool, rows: int,
                recorded: catch_up_rows.Recorded | None = None) -> Target:
        state = self.states[spec.name]

        def lookup(unique, key):
            columns = unique.columns
            types = tuple(spec.columns[c].sql_type for c in columns)
            return load.key_owner(self.lookup_conn, spec.name, columns, types, key, lower=unique.lower)

        copy_columns, identity, derived = plan_columns(spec, header, file.name)
        positions = {column: index for index, column in enumerate(copy_columns)}
        uniques = UniqueGuard(spec, positions, lookup, dry_run=self.dry_run, capacity=rows)
        plan = build_plan(spec, header, file_name=file.name, states=self.states, now_text=self.now_text)
        def seed_uniques(conn) -> None:
            for unique, _, _, _ in uniques.keys:
                uniques.seed(unique.name, load.existing_keys(conn, spec.name, unique.columns, lower=unique.lower))

        if uniques.keys and recorded is not None and len(state.db_ids) >= LAZY_UNIQUES:
            # a catch-up of a big table: its few new rows' keys looked up one by one, rather than
            # all of ours read first (on the lookup connection: the load's may be in a COPY then)
            uniques.lazy(lambda: seed_uniques(self.lookup_conn), min(LAZY_LOOKUPS, len(state.db_ids) // LAZY_SHARE))
        elif len(state.db_ids):
            seed_uniques(self.conn)
        db_keys = None
        if identity != ("id",):
            db_keys = set(load.existing_keys(self.conn, spec.name, identity))
        loader = load.BatchLoader(
            self.conn, spec.name, copy_columns, identity=identity, scope_column=spec.scope_column,
            compare_columns=[c for c in copy_columns if c not in identity], dry_run=self.dry_run, stream=stream,
            chunk_rows=min(load.CHUNK_ROWS, max(1, self.batch_size // 2)),
        )
        if self.run_id is not None and "id" in spec.columns:
            loader.book = bookkeeping.RowBook(
                self.conn, spec.name, copy_columns, self.run_id, identity,
                {column: spec.columns[column].sql_type for column in identity}, now_text=self.now_text,
            )
        sum_column = RECONCILED_SUMS.get(spec.name)
        target = Target(
            spec=spec, state=state, plan=plan, positions=positions, loader=loader, uniques=uniques,
            db_keys=db_keys, sum_position=positions.get(sum_column) if sum_column else None,
        )
        if self.catch_up and loader.book is not None and identity == ("id",):
            target.recorded = recorded
        if loader.book is not None and self.format == GUIDE:
            target.raw_key = self._raw_key(plan, sum_column, file, target.recorded)
        elif loader.book is not None and self.translation is not None:
            target.raw_key = self._translated_raw_key(target)
        if target.raw_key is not None:
            loader.book.raw = {}
        target.accept = self._acceptor(target)

        def set_aside_for_a_big_load() -> None:
            # New rows are about to go in. When more than a batch of the file is left, and more
            # than the table already holds, per-row foreign key checks and index updates cost
            # more than validating and rebuilding once at the end. (The rows a catch-up found
            # unchanged were read too, though never handed to the loader.)
            remaining = rows - loader.rows_seen - target.skipped - target.unchanged_present - target.unchanged_kept
            if remaining > self.batch_size and remaining > len(state.db_ids):
                target.set_aside = load.set_aside(self.conn, spec.name)

        loader.before_first_copy = set_aside_for_a_big_load
        return target

    def _raw_key(self, plan: Plan, sum_column: str | None, file: SourceFile, recorded):
        """The raw hashes of a guide-format file (fynlo-v1's records are the translation's, left to
        its own path): salted with what else the rows depend on (catchup.raw_salt). With raw hashes
        recorded (a catch-up), the records unchanged since over rows of ours untouched are counted
        and skipped by it (catchup.raw_keyer)."""
        salt = catch_up_rows.raw_salt(plan, [self.format, self.timezone, self.employee_role, self.default_platform])
        fast_test = None
        if sum_column in plan.spec.columns:
            column = plan.spec.columns[sum_column]
            fast_test = lambda var, index: _fast_test(column, var, index, plan.spec)  # noqa: E731
        skip = None
        if recorded is not None and len(recorded.raws):
            state = self.states[plan.spec.name]
            skip = {"raws": recorded.raws, "ours_changed": recorded.ours_changed, "seen": state.seen,
                    "figures": self.report.reconciliation.source.setdefault(plan.spec.name, {}), "Figures": Figures,
                    "Decimal": Decimal,
                    "duplicate": lambda ident: RowError("id", f"id {ident} appears more than once in the export")}
        return catch_up_rows.raw_keyer(plan, self.states, salt=salt, sum_column=sum_column, fast_test=fast_test,
                                       marked=file.kind == CSV, skip=skip)

    def _translated_raw_key(self, target: Target):
        """The raw hashes of a fynlo-v1 target's rows: taken by the translation from the legacy record
        (fynlo_v1.Translation.raw_hasher), which, with raw hashes recorded (a catch-up), does not
        translate a record unchanged since over rows of ours untouched: its rows come as
        fynlo_v1.Skipped, counted here as the guide's skipped records are (seen, the reconciliation)."""
        from fynlo.cutover.legacy import fynlo_v1

        if target.spec.name not in fynlo_v1.RAW_TARGETS:
            return None
        recorded, state = target.recorded, target.state
        skip = recorded is not None and len(recorded.raws)
        self.translation.raw_checks[target.spec.name] = (
            recorded.raws if skip else None, recorded.ours_changed if skip else None, state.seen, target.plan.source)
        seen_add, seen_run = state.seen.add, state.seen.add_run
        figures_of = self.report.reconciliation.source.setdefault(target.spec.name, {})
        raw_row, skipped, skipped_run = fynlo_v1.RawRow, fynlo_v1.Skipped, SkippedRun

        def key(fields):
            kind = fields.__class__
            if kind is raw_row:
                return fields.raw
            if kind is skipped_run:
                count = fields.count
                seen_run(fields.first, count)  # (the translation skips no id met already: none_in)
                figures = figures_of.get(fields.restaurant)
                if figures is None:
                    figures = figures_of[fields.restaurant] = Figures()
                figures.count += count
                target.unchanged_present += count - 1  # (and one by the acceptor)
                return 0
            if kind is not skipped:
                return None
            seen_add(fields.ident)  # (the translation skips no id met already)
            figures = figures_of.get(fields.restaurant)
            if figures is None:
                figures = figures_of[fields.restaurant] = Figures()
            figures.count += 1
            if fields.amount:
                figures.total += Decimal(fields.amount)
            return 0

        return key

    def _record_raw(self, target: Target) -> None:
        """Raw hashes of rows found unchanged by their content: a later catch-up skips them unparsed.
        (A fact of the row, not of the batch: on its own connection, outside the write path.)"""
        if target.raw_unchanged:
            ids_, raws = zip(*target.raw_unchanged)
            target.raw_unchanged = []
            bookkeeping.record_raw(self.lookup_conn, target.spec.name, list(ids_), list(raws))

    def _load_table(self, name: str, file: SourceFile) -> None:
        spec = self.specs[name]
        table = self.report.tables[name] = TableReport(name, file=file.name, status="loaded")
        started = clock.monotonic()
        counted = self._scan(table, file, self.states[name])
        seeding = self._seeds_with_its_load(name, self.source)
        if counted is None:
            if seeding:
                if self.prefetch is not None:
                    self.prefetch.discard(name)
                self._seed(name)
            return
        rows, header = counted
        recorded = None
        if seeding:
            copy_columns, identity, _ = plan_columns(spec, header, file.name)
            if identity == ("id",):
                recorded = self._seed(name, copy_columns)
            else:
                if self.prefetch is not None:
                    self.prefetch.discard(name)
                self._seed(name)
        self.states[name].source_name = file.name
        target = self._target(spec, header, file, stream=True, rows=rows, recorded=recorded)
        rejects = RejectWriter(self.rejects_dir, name, header, place=None if file.kind == CSV else file.place)
        prepared = clock.monotonic()
        try:
            self._read(file, table, rows, rejects, None, [target])
            self._flush(table, target, rejects)
            self._record_raw(target)
        except BaseException:
            # the batch in flight is rolled back; the foreign keys set aside go back on
            # (the ledger keeps them if even that fails, for the next run)
            rejects.close()
            target.loader.close()
            try:
                self._restore(target, table)
            except psycopg.Error:
                pass
            raise
        rejects.close()
        # what only the load needed, let go now: the row function and the loader's hook close over
        # the target, so without this it lives until a full garbage collection, with its unique keys'
        # hashes (16 MB for a million orders' numbers, still held while the payments loaded)
        target.accept = target.uniques = target.loader.before_first_copy = None
        target.raw_existing = {}
        if self.catch_up and target.plan.identity == ("id",):
            self.caught_up[name] = target
        loaded = clock.monotonic()
        table.set_aside = {kind: count for kind, count in target.set_aside.items() if count}
        self._restore(target, table)
        table.phases = {
            "check_and_prepare": round(prepared - started, 3),
            "validate_and_copy": round(loaded - prepared, 3),
            "constraints_and_statistics": 0.0,  # the finisher's, added when it is done
        }
        self._note_rejects(name, rejects)
        self._note_conflicts(name, target)
        if self.verification is not None:
            self._verify_table(target, table.rows_in, table.rejected - table.conflicts)
        table.defaults_applied = dict(target.plan.replaced_by_default)
        table.seconds = clock.monotonic() - started

    def _scan(self, table: TableReport, file: SourceFile, *states: TableState):
        try:
            scanned = scan(file)
        except ParseError as error:
            table.status = "unparseable"
            table.error = f"line {error.line}: {error.message}"
            for state in states:
                state.unavailable = f"{file.name} could not be parsed"
            return None
        except OSError as error:
            raise CutoverError(f"cannot read {file.name}: {error}") from error
        return scanned.rows, normalise_header(scanned.header)

    def _load_settings(self, file: SourceFile | None) -> None:
        """The guide's `settings` export: platform rows to platform_settings, restaurant rows
        to restaurant_settings."""
        if file is None:
            self.report.tables[SETTINGS_SOURCE] = TableReport(SETTINGS_SOURCE)
            return
        table = self.report.tables[SETTINGS_SOURCE] = TableReport(SETTINGS_SOURCE, file=file.name, status="loaded")
        started = clock.monotonic()
        counted = self._scan(table, file, *(self.states[t] for t in SETTINGS_TARGETS.values()))
        if counted is None:
            return
        rows, header = counted
        targets = {}
        for entity, (target_name, columns) in zip(
            SETTINGS_TARGETS, self._settings_headers(header, file.name).items()
        ):
            self._seed(target_name)
            self.states[target_name].source_name = file.name
            targets[entity] = self._target(self.specs[target_name], columns, file, stream=False, rows=0)
        entity_index = header.index("entity_type")
        listed = ", ".join(SETTINGS_TARGETS)
        key_positions = [header.index(c) for c in ("entity_id", "setting_key")]
        for target in targets.values():
            target.key_of = lambda fields: tuple(fields[i].strip() if i < len(fields) else None for i in key_positions)

        def route(fields: list[str]):
            if len(fields) != len(header):
                raise RowError(None, f"the row has {len(fields)} fields, the header {len(header)}")
            entity = fields[entity_index]
            target = targets.get(entity.strip().lower())
            if target is None:
                raise RowError("entity_type", f"entity_type {entity!r} is not one of {listed}")
            return target, fields[:entity_index] + fields[entity_index + 1:]

        rejects = RejectWriter(self.rejects_dir, SETTINGS_SOURCE, header, place=None if file.kind == CSV else file.place)
        try:
            self._read(file, table, rows, rejects, route, list(targets.values()))
            for target in targets.values():
                self._flush(table, target, rejects)
        except BaseException:
            for target in targets.values():
                target.loader.close()
            raise
        finally:
            rejects.close()
        table.targets = {target.spec.name: target.imported for target in targets.values()}
        if self.catch_up:
            for target in targets.values():
                self.caught_up[target.spec.name] = target
        if self.verification is not None:
            for target in targets.values():
                self._verify_table(target, None, 0)
            verified = self.verification.table(SETTINGS_SOURCE)
            verified.source_rows, verified.rejected = table.rows_in, table.rejected - table.conflicts
            verified.extra_checked = False
        self._note_rejects(SETTINGS_SOURCE, rejects)
        for target in targets.values():
            self._note_conflicts(target.spec.name, target)
        table.seconds = clock.monotonic() - started

    def _read(self, file: SourceFile, table: TableReport, rows: int, rejects: RejectWriter, route,
              targets: list[Target]) -> None:
        """Validate and load every record of a file, a batch at a time."""
        reconciliation = self.report.reconciliation
        batch_size = self.batch_size
        progress = Progress(table.table, rows, stream=self.progress)
        counted = 0  # records read, not yet in table.rows_in
        in_batch = 0  # records read since the batch began
        try:
            single = targets[0] if route is None else None
            accept = single.accept if single else None
            for line, fields in read_records(file):
                try:
                    if fields.__class__ is Rejected:
                        raise fields.error
                    if single:
                        accept(fields, line)
                    else:
                        target, fields_for_target = route(fields)
                        target.accept(fields_for_target, line)
                except RowError as error:
                    routed = single or _routed(route, fields)
                    if routed is None and self.catch_up:
                        # a settings row whose entity_type is refused: not "gone" from whichever table has its key
                        for target in targets:
                            if target.key_of is not None:
                                target.rejected_keys.add(target.key_of(fields))
                    self._reject(routed, fields, line, error, rejects, reconciliation)
                    table.rejected += 1
                if fields.__class__ is SkippedRun:  # (rows, not one)
                    counted += fields.count - 1
                    in_batch += fields.count - 1
                counted += 1
                in_batch += 1
                if in_batch >= batch_size:
                    in_batch = 0
                    for target in targets:
                        target.skipped += target.unchanged_present + target.unchanged_kept
                        self._flush(table, target, rejects)
                        self._record_raw(target)
                if counted >= PROGRESS_STEP:
                    table.rows_in += counted
                    progress.update(counted)
                    counted = 0
        except ParseError as error:
            if file.kind == CSV:
                raise CutoverError(f"{file.name} changed while it was being imported ({error})") from error
            raise CutoverError(f"{file.place(error.line)}: {error.message} (nothing after it was read)") from error
        finally:
            table.rows_in += counted
            progress.count += counted  # the closing line shows it
            progress.close()

    def _acceptor(self, target: Target):
        """The function that takes one valid-looking row of a target into its batch (its
        locals bound once: this runs for every row)."""
        row = target.plan.row
        state = target.state
        seen_add = state.seen.add
        db_ids = state.db_ids
        database_has_rows = len(db_ids) > 0
        get_value = state.values.get
        set_value = state.values.set
        rejected = state.rejected
        # a table no other table refers to needs a bit per id (duplicates), not its tenant
        keep_values = target.spec.name in self.needed
        check_unique = target.uniques.check if target.uniques.keys else None
        add_new = target.loader.add
        add_existing = target.loader.add_existing
        spec, positions = target.spec, target.positions
        identity_positions = [positions[column] for column in target.plan.identity]
        db_keys = target.db_keys
        unusable_passwords = self.report.unusable_passwords
        reconciliation = self.report.reconciliation
        counted = spec.scope == TenantScope.RESTAURANT or spec.name == "restaurants"
        per_restaurant = reconciliation.source.setdefault(spec.name, {}) if counted else None
        sum_position = target.sum_position
        is_restaurants = spec.name == "restaurants"
        name_position = positions.get("name")
        scope = spec.scope
        platform_position = positions.get("platform_id")
        own_tenant = scope in (TenantScope.PLATFORM, TenantScope.RESTAURANT_ROW)
        recorded = target.recorded
        if recorded is not None:
            recorded_hash, ours_changed, now_text = recorded.hashes.get, recorded.ours_changed, self.now_text
            source_hash, hash64 = bookkeeping.source_hash, catch_up_rows.hash64
        catching_up, seen_keys = self.catch_up, target.seen_keys
        raw_key = target.raw_key
        if raw_key is not None:
            recorded_raw = recorded.raws.get if recorded is not None and len(recorded.raws) else None
            run_raw = target.loader.book.raw.__setitem__
            raw_unchanged, raw_existing = target.raw_unchanged.append, target.raw_existing

        def accept(fields: list[str], line: int) -> None:
            raw = None
            if raw_key is not None:
                raw = raw_key(fields)
                if raw == 0:
                    # the same record, over the same parents, as when the row was written or last
                    # found unchanged, and ours untouched since: already present (counted), nothing parsed
                    target.unchanged_present += 1
                    return
            out, ident, restaurant, unusable = row(fields)
            if ident is not None:
                existing = database_has_rows and ident in db_ids
                if existing:
                    if not seen_add(ident):
                        raise RowError("id", f"id {ident} appears more than once in the export")
                elif (get_value(ident) if keep_values else not seen_add(ident)) or ident in rejected:
                    raise RowError("id", f"id {ident} appears more than once in the export")
                key = ident
            else:
                key = tuple(_plain(out[position]) for position in identity_positions)
                existing = key in db_keys
                if catching_up:
                    seen_keys.add(key)
            if not existing and check_unique is not None:
                check_unique(out, line)
            if keep_values and ident is not None:
                if scope == TenantScope.RESTAURANT:
                    set_value(ident, restaurant)
                elif own_tenant:
                    set_value(ident, int(out[platform_position]))
                else:
                    set_value(ident, tenant_value(spec, out, positions, restaurant))
            if unusable:
                unusable_passwords.append({"id": ident, "email": _plain(out[positions["email"]]), "line": line})
            if counted:
                if is_restaurants:
                    restaurant = ident
                    reconciliation.names[ident] = _plain(out[name_position]) if name_position is not None else None
                figures = per_restaurant.get(restaurant)
                if figures is None:
                    figures = per_restaurant[restaurant] = Figures()
                figures.count += 1
                if sum_position is not None:
                    amount = out[sum_position]
                    if amount:
                        figures.total += Decimal(amount)
            if existing:
                text = ",".join(out)
                if recorded is not None and ident is not None and (
                    recorded_hash(ident) == hash64(source_hash(text, now_text))
                ):
                    # unchanged in the source since the last run: ours stays, nothing to compare
                    if ident in ours_changed:
                        target.unchanged_kept += 1
                    else:
                        target.unchanged_present += 1
                    if raw is not None and (recorded_raw is None or recorded_raw(ident) != raw):
                        raw_unchanged((ident, raw))
                    return
                if raw is not None and catching_up:
                    raw_existing[ident] = raw
                add_existing(line, key, text)
            else:
                if raw is not None:
                    run_raw(ident, raw)
                add_new(line, ident, ",".join(out))

        return accept

    def _reject(self, target: Target | None, fields: list[str], line: int, error: RowError,
                rejects: RejectWriter, reconciliation: Reconciliation) -> None:
        rejects.write(fields, line, error.column, error.reason)
        if target is None:
            return
        plan = target.plan
        header = plan.header
        raw = dict(zip(header, fields))
        ident = _int_or_none(raw.get("id"))
        if self.catch_up and ident is not None:
            self.rejected_ids.setdefault(target.spec.name, set()).add(ident)
        if self.catch_up and target.key_of is not None:
            target.rejected_keys.add(target.key_of(fields))
        state = target.state
        if (
            ident is not None and ident > 0 and ident not in state.db_ids and state.values.get(ident) == 0
            and not error.reason.startswith(f"id {ident} appears")
        ):
            state.rejected.setdefault(ident, line)
        if target.spec.scope == TenantScope.RESTAURANT:
            restaurant = _int_or_none(raw.get("restaurant_id"))
            if restaurant is None:
                for fk in target.spec.restaurant_parents:
                    parent_id = _int_or_none(raw.get(fk.column))
                    if parent_id is not None:
                        value = self.states[fk.target].values.get(parent_id)
                        restaurant = value if value > 0 else None
                        break
            amount = None
            sum_column = RECONCILED_SUMS.get(target.spec.name)
            if sum_column:
                amount = decimal_or_none(raw.get(sum_column) or "")
            for side in (reconciliation.source, reconciliation.rejected):
                reconciliation.figures(side, target.spec.name, restaurant).add(amount)

    def _flush(self, table: TableReport, target: Target, rejects: RejectWriter) -> None:
        result = target.loader.flush()
        if self.verification is not None:
            verify_rows.record_batch(self.verification.table(target.spec.name), self.conn, target, result)
        target.uniques.end_batch()
        table.batches_retried += result.retried
        table.imported += result.imported
        target.imported += result.imported
        table.already_present += result.present + target.unchanged_present
        table.kept_ours += target.unchanged_kept
        target.unchanged_present = target.unchanged_kept = 0
        state = target.state
        versions = {}
        if self.catch_up and result.conflicts and self.verification is None:
            outcome = catch_up_rows.decide(
                self.conn, target.spec.name, target.plan.copy_columns, target.loader.compare_table,
                result.conflicts, self.run_id, self.now_text, dry_run=self.dry_run, identity=target.plan.identity,
                raws=target.raw_existing,
            )
            result.conflicts, versions = outcome.conflicts, outcome.versions
            table.updated += outcome.updated
            table.kept_ours += outcome.kept_ours
            table.stale += outcome.stale
            if outcome.stale_list:
                self.report.stale.setdefault(target.spec.name, []).extend(outcome.stale_list)
            for conflict, error in outcome.refused:
                table.rejected += 1
                rejects.write(_fields_of(conflict.text), conflict.line, None,
                              f"the database refused the source's version of the row: {error}")
        for conflict in result.conflicts:
            table.rejected += 1
            table.conflicts += 1
            if conflict.tenant is not None and isinstance(conflict.key, str) and conflict.key.isdigit():
                state.values.set(int(conflict.key), conflict.tenant)
            reason = "differs from the row with this id in the database: " + ", ".join(conflict.columns)
            if len(target.conflict_list) < CONFLICTS_LISTED:
                entry = {"key": conflict.key, "line": conflict.line, "columns": conflict.columns}
                if self.catch_up:  # both versions: the source's and ours
                    entry["source"] = verify_rows.source_version(target.plan.copy_columns, conflict.text)
                    entry["ours"] = versions.get(conflict.key)
                target.conflict_list.append(entry)
            rejects.write(_fields_of(conflict.text), conflict.line, None, reason)
        for failed in result.failed:
            table.rejected += 1
            if failed.ident is not None:
                state.values.set(failed.ident, 0)
                state.rejected[failed.ident] = failed.line
            rejects.write(_fields_of(failed.text), failed.line, None, f"the database refused the row: {failed.error}")
            self._uncount(target, failed.text)

    def _delete_gone(self) -> None:
        """--catch-up: rows an import wrote that the source (read whole, this run) no longer has
        are deleted where ours is untouched, children first; the others are kept and listed."""
        names, ids = [], []
        for name, target in self.caught_up.items():
            if target.plan.identity != ("id",):  # settings: by their scope and key
                identity = load.sql.SQL(", ").join(
                    load.sql.SQL("t.{}::text").format(load.sql.Identifier(c)) for c in target.plan.identity)
                for ident, *key in self.conn.execute(load.sql.SQL(
                    "SELECT t.id, {} FROM {} t JOIN {} r ON r.table_name = %s AND r.row_id = t.id"
                ).format(identity, load.sql.Identifier(name), load.sql.Identifier(bookkeeping.ROWS)), [name]):
                    key = tuple(key)
                    if key not in target.seen_keys and key not in target.rejected_keys:
                        names.append(name)
                        ids.append(ident)
                continue
            # ours less the source, in memory; the join below keeps the rows an import wrote
            # (not all of legacy_import_rows read back: that was most of a catch-up's time)
            rejected = self.rejected_ids.get(name, ())
            for ident in verify_rows.missing_from(target.state.db_ids, target.state.seen):
                if ident not in rejected:
                    names.append(name)
                    ids.append(ident)
        if not ids:
            return
        from fynlo.cutover.legacy.undo import take_back

        outcome: dict = {}
        # a dry run takes them back the same way, in a transaction rolled back
        with self.conn.transaction(force_rollback=self.dry_run):
            self.conn.execute(load.sql.SQL(
                "CREATE TEMPORARY TABLE undo_rows ON COMMIT DROP AS SELECT r.table_name, r.row_id, r.written_hash,"
                " NULL::text AS state FROM {} r JOIN unnest(%s::text[], %s::bigint[]) g (table_name, row_id)"
                " ON r.table_name = g.table_name AND r.row_id = g.row_id"
            ).format(load.sql.Identifier(bookkeeping.ROWS)), [names, ids])
            columns = {name: target.plan.copy_columns for name, target in self.caught_up.items()}
            with bookkeeping.in_utc(self.conn):  # ours hashed as the written hashes were
                take_back(self.conn, self.run_id or 0, columns, outcome, deleting_run=self.run_id)
        settings_targets = set(SETTINGS_TARGETS.values())
        for name, result in outcome.items():
            # (the settings tables' rows are counted with their source file's, as the rest of them)
            table = self.report.tables[SETTINGS_SOURCE if name in settings_targets else name]
            table.deleted += result.deleted
            table.kept_not_deleted += result.kept_total
            if result.kept_list:
                self.report.not_deleted[name] = result.kept_list

    def _verify_table(self, target: Target, rows_in: int | None, rejected: int) -> None:
        """--verify, after a table's source rows: the counts, and our rows the source lacks."""
        verified = self.verification.table(target.spec.name)
        verified.rejected = rejected
        verified.source_rows = rows_in if rows_in is not None else (
            verified.missing + verified.identical + verified.different
        )
        if target.plan.identity != ("id",):
            verified.extra_checked = False
            return
        state = target.state
        imported = bookkeeping.imported_ids(self.conn, target.spec.name)
        verify_rows.record_extra(
            verified, self.conn, target.spec, state.db_ids, state.seen, None if imported is None else imported.__contains__
        )

    def _uncount(self, target: Target, text: str) -> None:
        """A row the database refused after it was counted as accepted."""
        out = _fields_of(text)
        restaurant_at = target.positions.get("restaurant_id")
        if target.spec.scope != TenantScope.RESTAURANT or restaurant_at is None:
            return
        restaurant = _int_or_none(out[restaurant_at])
        amount = decimal_or_none(out[target.sum_position]) if target.sum_position is not None else None
        self.report.reconciliation.figures(self.report.reconciliation.rejected, target.spec.name, restaurant).add(amount)

    def _restore(self, target: Target, table: TableReport) -> None:
        """The sequence now; what was set aside, and the statistics, while the next table loads."""
        if self.dry_run:
            return
        if target.imported:
            value = load.set_sequence(self.conn, target.spec.name)
            if value is not None:
                self.report.sequences[target.spec.name] = value
        # statistics when the table grew by a tenth or more (as autovacuum would; not after a
        # catch-up's few new rows in a big table)
        restore = bool(target.set_aside)
        statistics = target.imported >= ANALYZE_THRESHOLD and target.imported * 10 >= len(target.state.db_ids)
        if restore or statistics:
            self.finisher.submit(target.spec.name, restore=restore, analyze=statistics)

    def _finish(self) -> None:
        """Wait for the foreign keys and indexes being put back; note what went wrong."""
        results = self.finisher.wait()
        late: list = []
        if any(error for _, _, _, error in results):
            # A background job failed (e.g. a lock conflict with the load it overlapped): the
            # loading is over now, so put back here what is still set aside.
            try:
                late = load.restore_set_aside(self.conn)
            except (psycopg.Error, CutoverError):
                late = []
        late_tables = {item.table for item in late}
        for table, restored, seconds, error in results:
            report = self.report.tables.get(table)
            if report is not None and report.phases:
                report.phases["constraints_and_statistics"] = round(seconds, 3)
                report.seconds += seconds
            if error and table not in late_tables:
                self.report.constraint_problems.append(
                    f"{table}: foreign keys and indexes not put back yet ({error}); the next run restores them"
                )
        for table, restored, seconds, error in [(None, late, 0.0, None)] + results:
            for item in restored:
                if not item.validated:
                    self.report.constraint_problems.append(
                        f"{item.name} on {item.table} restored NOT VALID: existing rows violate it ({item.error})"
                    )

    def _note_rejects(self, name: str, rejects: RejectWriter) -> None:
        if rejects.count:
            self.report.rejects[name] = {
                "count": rejects.count,
                "file": str(rejects.path) if rejects.path else None,
                "sample": rejects.sample,
            }

    def _note_conflicts(self, name: str, target: Target) -> None:
        if target.conflict_list:
            self.report.conflicts[name] = target.conflict_list

    # -- reconciliation --

    def _reconcile(self) -> None:
        reconciliation = self.report.reconciliation
        restaurants = [r for r in reconciliation.restaurants() if r is not None]
        if not restaurants:
            return
        for table in list(reconciliation.source):
            column = load.sql.Identifier("id" if table == "restaurants" else "restaurant_id")
            amount = RECONCILED_SUMS.get(table)
            total = load.sql.SQL(", sum({})").format(load.sql.Identifier(amount)) if amount else load.sql.SQL(", NULL")
            rows = self.conn.execute(
                load.sql.SQL("SELECT {0}, count(*){1} FROM {2} WHERE {0} = ANY(%s) GROUP BY 1").format(
                    column, total, load.sql.Identifier(table)
                ),
                [restaurants],
            ).fetchall()
            for restaurant, count, money in rows:
                figures = reconciliation.figures(reconciliation.database, table, restaurant)
                figures.count = count
                if money is not None:
                    figures.total = money
        missing_names = [r for r in restaurants if reconciliation.names.get(r) is None]
        if missing_names:
            for restaurant, name in self.conn.execute(
                "SELECT id, name FROM restaurants WHERE id = ANY(%s)", [missing_names]
            ):
                reconciliation.names[restaurant] = name


def _int64s(line: bytes) -> array:
    """The 8-byte big-endian integers of a line of hex digits."""
    return ids.big_endian("q", bytes.fromhex(line.rstrip(b"\n").decode()))


def _fields_of(text: str) -> list[str]:
    return next(csv.reader([text]), [])


def _routed(route, fields: list[str]):
    """The target a rejected row was meant for (None when the routing itself failed)."""
    try:
        return route(fields)[0]
    except RowError:
        return None


def _plain(text: str) -> str:
    if text.startswith('"'):
        return text[1:-1].replace('""', '"')
    return text


def _int_or_none(text) -> int | None:
    if text is None:
        return None
    try:
        return int(str(text).strip())
    except ValueError:
        return None
