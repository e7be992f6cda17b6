"""`migrate_legacy --runs` and `migrate_legacy --undo RUN`: the runs listed, and one run's
inserted rows taken back.

A row the run inserted is deleted only where ours is still what the run wrote (its hash now,
over the columns the run wrote, equals the written hash recorded). The others are kept and
listed, exit 1:

- changed: ours was edited since the run;
- under a kept row: a row it refers to (its parent) is kept, so it stays with it;
- referred to: rows that are not this run's (made in ours since, or by another run) refer to it.

Children go first (the load order reversed), all in one transaction; a row already gone from
ours is only struck from the bookkeeping. Runs are taken back newest first: a newer run that
recorded rows and is not undone stops it. A run with nothing kept is marked undone; one with
kept rows can be undone again once they are dealt with.

Rows a --catch-up run updated get their prior version back (from `legacy_import_changes`), with
their bookkeeping as it was, where ours is still what that run wrote; rows it deleted are
inserted again where their id is still free.

The fynlo-v1 id map and archive (`legacy_id_map`, `legacy_archive`, owner-only: only migrate_legacy
writes them) are taken back with the rest, once nothing is kept: the entries and archive rows
the run wrote (their `run_id`) go, and those it changed or deleted come back as they were (from
`legacy_import_keyed_changes`). While rows are kept they stay: the kept rows' ids and archived
columns are still theirs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timezone as dt_timezone

import psycopg
from django.db import connections
from psycopg import sql

from fynlo.cutover.common import EXIT_DIFFERENCES, EXIT_OK, CutoverError
from fynlo.cutover.legacy import load
from fynlo.cutover.legacy.rows import ARCHIVE, CHANGES, ID_MAP, KEYED_CHANGES, ROWS, RUNS, row_hash
from fynlo.cutover.legacy.schema import table_specs

LISTED = 1000  # kept rows listed per table in the JSON report
SHOWN = 10  # kept keys shown per table in the summary
CHANGED, UNDER_KEPT, REFERRED_TO, GONE = "changed", "under a kept row", "referred to", "gone"
RESTORE = "restore"  # a row the run updated (--catch-up), untouched since: its prior version goes back
KEPT = (CHANGED, UNDER_KEPT, REFERRED_TO)
KEYED = (ID_MAP, ARCHIVE)  # fynlo-v1's, keyed by (legacy table, legacy key)


@dataclass
class KeyedUndo:
    """One of the fynlo-v1 id map and archive, taken back: entries the run wrote new deleted,
    those it changed restored, those it deleted put back."""
    table: str
    deleted: int = 0
    restored: int = 0
    put_back: int = 0

    def as_dict(self) -> dict:
        return {"deleted": self.deleted, "restored": self.restored, "put_back": self.put_back}


@dataclass
class TableUndo:
    table: str
    recorded: int = 0
    deleted: int = 0
    restored: int = 0
    put_back: int = 0  # rows the run deleted, inserted again
    gone: int = 0
    kept: dict = field(default_factory=lambda: {reason: 0 for reason in KEPT})
    kept_list: list = field(default_factory=list)

    @property
    def kept_total(self) -> int:
        return sum(self.kept.values())

    def as_dict(self) -> dict:
        return {"recorded": self.recorded, "deleted": self.deleted, "restored": self.restored,
                "put_back": self.put_back,
                "already_gone": self.gone,
                "kept": dict(self.kept), "kept_rows": self.kept_list}


@dataclass
class UndoReport:
    run: int
    dry_run: bool
    source: str = ""
    format: str = ""
    tables: dict[str, TableUndo] = field(default_factory=dict)
    keyed: dict[str, KeyedUndo] = field(default_factory=dict)  # the id map and archive, when taken back
    undone: bool = False

    @property
    def deleted(self) -> int:
        return sum(t.deleted for t in self.tables.values())

    @property
    def restored(self) -> int:
        return sum(t.restored + t.put_back for t in self.tables.values())

    @property
    def kept(self) -> int:
        return sum(t.kept_total for t in self.tables.values())

    @property
    def exit_code(self) -> int:
        return EXIT_DIFFERENCES if self.kept else EXIT_OK

    def as_dict(self) -> dict:
        return {
            "run": self.run, "dry_run": self.dry_run, "source": self.source, "format": self.format,
            "deleted": self.deleted, "restored": self.restored, "kept": self.kept, "undone": self.undone,
            "tables": {name: table.as_dict() for name, table in self.tables.items()},
            "keyed": {name: table.as_dict() for name, table in self.keyed.items()},
        }


def _connect(using: str) -> psycopg.Connection:
    conn = load.connect(connections[using].get_connection_params(), timezone="UTC")
    load.check_schema(conn)
    if conn.execute("SELECT to_regclass(%s)", [ROWS]).fetchone()[0] is None:
        conn.close()
        raise CutoverError(f"the database has no {ROWS} table: run `manage.py migrate` first")
    return conn


RUN_COLUMNS = ("id", "kind", "source", "format", "started_at", "finished_at", "inserted", "updated", "deleted",
               "conflicts", "undone_at")


def list_runs(*, using: str = "owner") -> list[dict]:
    with _connect(using) as conn:
        rows = conn.execute(
            sql.SQL("SELECT {} FROM {} ORDER BY id").format(
                sql.SQL(", ").join(map(sql.Identifier, RUN_COLUMNS)), sql.Identifier(RUNS)
            )
        ).fetchall()
    return [dict(zip(RUN_COLUMNS, row)) for row in rows]


def runs_lines(runs: list[dict]) -> list[str]:
    header = f"{'run':>5}  {'started (UTC)':<19}  {'format':<8} {'inserted':>9} {'updated':>8} {'deleted':>8} " \
             f"{'conflicts':>9}  {'state':<10} source"
    lines = [header, "-" * len(header)]
    for run in runs:
        state = "undone" if run["undone_at"] else ("finished" if run["finished_at"] else "unfinished")
        started = run["started_at"].astimezone(dt_timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if run["started_at"] else ""
        lines.append(
            f"{run['id']:>5}  {started:<19}  {run['format']:<8} {run['inserted']:>9,} {run['updated']:>8,} "
            f"{run['deleted']:>8,} {run['conflicts']:>9,}  {state:<10} {run['source']}"
        )
    lines.append(f"{len(runs)} run{'s' if len(runs) != 1 else ''}")
    return lines


def undo_run(run: int, *, dry_run: bool = False, using: str = "owner") -> UndoReport:
    """Take back the rows run `run` inserted (in a dry run, only say what would go)."""
    report = UndoReport(run=run, dry_run=dry_run)
    with _connect(using) as conn:
        load.take_lock(conn)
        found = conn.execute(
            sql.SQL("SELECT source, format, undone_at, hashed_columns FROM {} WHERE id = %s").format(
                sql.Identifier(RUNS)), [run],
        ).fetchone()
        if found is None:
            raise CutoverError(f"no run {run} (migrate_legacy --runs lists them)")
        report.source, report.format, undone_at, hashed_columns = found
        if isinstance(hashed_columns, str):  # Django has psycopg load jsonb as text
            hashed_columns = json.loads(hashed_columns)
        if undone_at is not None:
            raise CutoverError(f"run {run} was undone already ({undone_at:%Y-%m-%d %H:%M:%S} UTC)")
        newer = [row[0] for row in conn.execute(
            sql.SQL("SELECT r.id FROM {runs} r WHERE r.id > %s AND r.undone_at IS NULL"
                    " AND (EXISTS (SELECT 1 FROM {rows} w WHERE w.run_id = r.id)"
                    " OR EXISTS (SELECT 1 FROM {changes} c WHERE c.run_id = r.id)"
                    " OR EXISTS (SELECT 1 FROM {keyed} k WHERE k.run_id = r.id)"
                    " OR EXISTS (SELECT 1 FROM {id_map} m WHERE m.run_id = r.id)"
                    " OR EXISTS (SELECT 1 FROM {archive} a WHERE a.run_id = r.id)) ORDER BY r.id").format(
                runs=sql.Identifier(RUNS), rows=sql.Identifier(ROWS), changes=sql.Identifier(CHANGES),
                keyed=sql.Identifier(KEYED_CHANGES), id_map=sql.Identifier(ID_MAP), archive=sql.Identifier(ARCHIVE)),
            [run],
        )]
        if newer:
            raise CutoverError(
                f"run {run} is not the newest: undo run{'s' if len(newer) > 1 else ''} "
                f"{', '.join(map(str, reversed(newer)))} first (newest first; nothing was written)"
            )
        if load.set_aside_entries(conn):
            raise CutoverError("an interrupted import set foreign keys aside: run it again first (nothing was written)")
        with conn.transaction(force_rollback=dry_run):
            _undo(conn, run, hashed_columns, report)
            if not report.kept:
                take_back_keyed(conn, run, report)
            if not dry_run and not report.kept:
                conn.execute(sql.SQL("UPDATE {} SET undone_at = statement_timestamp() WHERE id = %s").format(
                    sql.Identifier(RUNS)), [run])
                report.undone = True
    return report


def _undo(conn: psycopg.Connection, run: int, hashed_columns: dict, report: UndoReport) -> None:
    conn.execute(
        sql.SQL("CREATE TEMPORARY TABLE undo_rows ON COMMIT DROP AS SELECT table_name, row_id, written_hash,"
                " NULL::text AS state FROM {} WHERE run_id = %s").format(sql.Identifier(ROWS)), [run],
    )
    take_back(conn, run, hashed_columns, report.tables)
    # the rows the run (a catch-up) deleted, put back parents first, where the key is still free
    specs = table_specs()
    deleted = dict(conn.execute(sql.SQL(
        "SELECT table_name, count(*) FROM {} WHERE run_id = %s AND action = 'deleted' GROUP BY 1"
    ).format(sql.Identifier(CHANGES)), [run]).fetchall())
    for name in [name for name in specs if name in deleted]:
        table = sql.Identifier(name)
        put_back = conn.execute(sql.SQL(
            "INSERT INTO {table} SELECT (jsonb_populate_record(NULL::{table}, ch.prior)).* FROM {changes} ch"
            " WHERE ch.run_id = %s AND ch.table_name = %s AND ch.action = 'deleted'"
            " AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id = ch.row_id)"
        ).format(table=table, changes=sql.Identifier(CHANGES)), [run, name]).rowcount
        conn.execute(sql.SQL(
            "INSERT INTO {rows} (table_name, row_id, run_id, source_hash, written_hash) SELECT ch.table_name,"
            " ch.row_id, ch.prior_run_id, ch.prior_source_hash, ch.prior_written_hash FROM {changes} ch"
            " WHERE ch.run_id = %s AND ch.table_name = %s AND ch.action = 'deleted' ON CONFLICT DO NOTHING"
        ).format(rows=sql.Identifier(ROWS), changes=sql.Identifier(CHANGES)), [run, name])
        result = report.tables.setdefault(name, TableUndo(name))
        result.put_back = put_back


def take_back(conn: psycopg.Connection, run: int, hashed_columns: dict, tables: dict, *,
              deleting_run: int | None = None) -> None:
    """Delete the rows of the temporary table `undo_rows` (table_name, row_id, written_hash,
    state NULL) where ours is still what was written, children first; keep (state) the rows
    changed since, under a kept row or referred to by rows that stay. For --undo of `run`, its
    updated rows get their prior version back; for a catch-up (`deleting_run`), each deleted row is
    kept first in legacy_import_changes. The counts and kept rows go to `tables` (TableUndo)."""
    restoring = deleting_run is None
    conn.execute("CREATE INDEX ON undo_rows (table_name, row_id)")
    conn.execute("ANALYZE undo_rows")
    recorded = dict(conn.execute("SELECT table_name, count(*) FROM undo_rows GROUP BY 1").fetchall())
    specs = table_specs()
    order = [name for name in specs if name in recorded]
    unknown = sorted(set(recorded) - set(order))
    if unknown:
        raise CutoverError(f"run {run} recorded rows of unknown tables: {', '.join(unknown)} (nothing was written)")

    def mark(state: str, table: str, condition: sql.Composable, params=()) -> None:
        conn.execute(
            sql.SQL("UPDATE undo_rows u SET state = {state} WHERE u.table_name = {table} AND u.state IS NULL"
                    " AND {condition}").format(state=sql.Literal(state), table=sql.Literal(table),
                                                 condition=condition), list(params),
        )

    # parents first: which rows stay (changed since, or under a row that stays)
    for name in order:
        tables[name] = TableUndo(name, recorded=recorded[name])
        table = sql.Identifier(name)
        columns = hashed_columns.get(name)
        if not columns:
            raise CutoverError(f"no columns recorded for {name} (nothing was written)")
        mark(GONE, name, sql.SQL("NOT EXISTS (SELECT 1 FROM {} t WHERE t.id = u.row_id)").format(table))
        mark(CHANGED, name, sql.SQL("EXISTS (SELECT 1 FROM {} t WHERE t.id = u.row_id AND {} <> u.written_hash)").format(
            table, row_hash(columns)))
        if restoring:
            mark(RESTORE, name, sql.SQL(
                "EXISTS (SELECT 1 FROM {} ch WHERE ch.run_id = %s AND ch.table_name = u.table_name"
                " AND ch.row_id = u.row_id AND ch.action = 'updated')").format(sql.Identifier(CHANGES)), [run])
        for fk in specs[name].foreign_keys:
            if fk.target not in recorded:
                continue
            mark(UNDER_KEPT, name, sql.SQL(
                "EXISTS (SELECT 1 FROM {} t JOIN undo_rows p ON p.table_name = {} AND p.row_id = t.{}"
                " WHERE t.id = u.row_id AND p.state = ANY(%s))").format(
                    table, sql.Literal(fk.target), sql.Identifier(fk.column)), [list(KEPT)])
    # children first: delete what is left, unless rows that stay still refer to it
    for name in reversed(order):
        table = sql.Identifier(name)
        for child, column in _referring(conn, name):
            own = sql.SQL("")
            if child == name:  # a row of the same table that goes too does not hold it
                own = sql.SQL(" AND NOT EXISTS (SELECT 1 FROM undo_rows d WHERE d.table_name = {} AND d.row_id = c.id"
                              " AND d.state IS NULL)").format(sql.Literal(name))
            mark(REFERRED_TO, name, sql.SQL("EXISTS (SELECT 1 FROM {} c WHERE c.{} = u.row_id{})").format(
                sql.Identifier(child), sql.Identifier(column), own))
        if deleting_run is not None:
            conn.execute(sql.SQL(
                "INSERT INTO {changes} (run_id, table_name, row_id, action, prior, prior_run_id, prior_source_hash,"
                " prior_written_hash) SELECT %s, r.table_name, r.row_id, 'deleted', to_jsonb(t), r.run_id,"
                " r.source_hash, r.written_hash FROM undo_rows u JOIN {rows} r ON r.table_name = u.table_name"
                " AND r.row_id = u.row_id JOIN {table} t ON t.id = u.row_id WHERE u.table_name = {name}"
                " AND u.state IS NULL"
            ).format(changes=sql.Identifier(CHANGES), rows=sql.Identifier(ROWS), table=table,
                     name=sql.Literal(name)), [deleting_run])
        deleted = conn.execute(sql.SQL(
            "DELETE FROM {} t USING undo_rows u WHERE u.table_name = {} AND u.state IS NULL AND t.id = u.row_id"
        ).format(table, sql.Literal(name))).rowcount
        result = tables[name]
        result.deleted = deleted
        every_column = [c for c in specs[name].columns if c != "id"]
        restored = 0 if not restoring else conn.execute(sql.SQL(
            "UPDATE {table} t SET {assignments} FROM undo_rows u, {changes} ch,"
            " jsonb_populate_record(NULL::{table}, ch.prior) p WHERE u.table_name = {name} AND u.state = {restore}"
            " AND t.id = u.row_id AND ch.run_id = %s AND ch.table_name = u.table_name AND ch.row_id = u.row_id"
            " AND ch.action = 'updated'"
        ).format(table=table, assignments=sql.SQL(", ").join(sql.SQL("{0} = p.{0}").format(sql.Identifier(c))
                                                                for c in every_column),
                 changes=sql.Identifier(CHANGES), name=sql.Literal(name), restore=sql.Literal(RESTORE)), [run]).rowcount
        result.restored = restored
        conn.execute(sql.SQL(
            "UPDATE {rows} r SET run_id = ch.prior_run_id, source_hash = ch.prior_source_hash,"
            " written_hash = ch.prior_written_hash, raw_hash = NULL, written_xmin = NULL FROM undo_rows u, {changes} ch"
            " WHERE u.table_name = {name}"
            " AND u.state = {restore} AND r.table_name = u.table_name AND r.row_id = u.row_id AND ch.run_id = %s"
            " AND ch.table_name = u.table_name AND ch.row_id = u.row_id AND ch.action = 'updated'"
        ).format(rows=sql.Identifier(ROWS), changes=sql.Identifier(CHANGES), name=sql.Literal(name),
                 restore=sql.Literal(RESTORE)), [run])
        for state, count in conn.execute(
            "SELECT state, count(*) FROM undo_rows WHERE table_name = %s AND state IS NOT NULL GROUP BY 1", [name]
        ):
            if state == RESTORE:
                continue
            if state == GONE:
                result.gone = count
            else:
                result.kept[state] = count
        if result.kept_total:
            selected = sql.SQL(", ").join(sql.SQL("t.{}::text").format(sql.Identifier(c))
                                          for c in hashed_columns[name])
            for row_id, state, *values in conn.execute(sql.SQL(
                "SELECT u.row_id, u.state, {} FROM undo_rows u JOIN {} t ON t.id = u.row_id"
                " WHERE u.table_name = %s AND u.state = ANY(%s) ORDER BY u.row_id LIMIT %s"
            ).format(selected, table), [name, list(KEPT), LISTED]):
                ours = {c: ("(hidden)" if c == "password_hash" and v else v)
                        for c, v in zip(hashed_columns[name], values)}
                result.kept_list.append({"key": row_id, "reason": state, "ours": ours})
    conn.execute(sql.SQL(
        "DELETE FROM {} r USING undo_rows u WHERE r.table_name = u.table_name AND r.row_id = u.row_id"
        " AND (u.state IS NULL OR u.state = %s)").format(sql.Identifier(ROWS)), [GONE])


def take_back_keyed(conn: psycopg.Connection, run: int, report: UndoReport) -> None:
    """The id map entries and archive rows run `run` wrote deleted (both those it inserted and
    its versions of those it changed), then those it changed or deleted put back as they were."""
    for name in KEYED:
        params = {"run": run, "name": name}
        logged = sql.SQL("SELECT 1 FROM {} ch WHERE ch.run_id = %(run)s AND ch.table_name = %(name)s"
                         " AND ch.legacy_table = x.legacy_table AND ch.legacy_key = x.legacy_key").format(
            sql.Identifier(KEYED_CHANGES))
        # a version the run wrote of an entry it changed is not counted deleted: it is restored below
        (deleted,) = conn.execute(sql.SQL(
            "WITH x AS (DELETE FROM {table} WHERE run_id = %(run)s RETURNING legacy_table, legacy_key)"
            " SELECT count(*) FILTER (WHERE NOT EXISTS ({logged})) FROM x"
        ).format(table=sql.Identifier(name), logged=logged), params).fetchone()
        back = dict(conn.execute(sql.SQL(
            "WITH x AS (INSERT INTO {table} SELECT (jsonb_populate_record(NULL::{table}, ch.prior)).* FROM {changes} ch"
            " WHERE ch.run_id = %(run)s AND ch.table_name = %(name)s ON CONFLICT DO NOTHING"
            " RETURNING legacy_table, legacy_key)"
            " SELECT ch.action, count(*) FROM x JOIN {changes} ch ON ch.run_id = %(run)s AND ch.table_name = %(name)s"
            " AND ch.legacy_table = x.legacy_table AND ch.legacy_key = x.legacy_key GROUP BY 1"
        ).format(table=sql.Identifier(name), changes=sql.Identifier(KEYED_CHANGES)), params).fetchall())
        if deleted or back:
            report.keyed[name] = KeyedUndo(name, deleted=deleted, restored=back.get("updated", 0),
                                           put_back=back.get("deleted", 0))


def _referring(conn: psycopg.Connection, table: str) -> list[tuple[str, str]]:
    """(table, column) of every single-column foreign key that refers to `table`."""
    return conn.execute(
        "SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c"
        " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
        " WHERE c.contype = 'f' AND c.confrelid = %s::regclass AND cardinality(c.conkey) = 1",
        [table],
    ).fetchall()


def summary_lines(report: UndoReport) -> list[str]:
    what = "dry run, nothing written" if report.dry_run else "written"
    lines = [f"migrate_legacy --undo {report.run} ({what}): run {report.run} of {report.source} ({report.format})"]
    header = f"{'table':<26} {'recorded':>9} {'deleted':>9} {'restored':>9} {'gone':>7} {'kept':>7}"
    lines += [header, "-" * len(header)]
    for name, table in report.tables.items():
        lines.append(f"{name:<26} {table.recorded:>9,} {table.deleted:>9,} {table.restored:>9,} {table.gone:>7,} "
                     f"{table.kept_total:>7,}")
    for name, table in report.tables.items():
        for reason in KEPT:
            keys = [str(row["key"]) for row in table.kept_list if row["reason"] == reason]
            if keys:
                total = table.kept[reason]
                more = "" if total <= SHOWN else f" and {total - SHOWN:,} more"
                lines.append(f"{name}: kept ({reason}) {', '.join(keys[:SHOWN])}{more}")
    would = "would be: " if report.dry_run else ""
    for name, table in report.keyed.items():
        lines.append(f"{name}: {would}{table.deleted:,} deleted, {table.restored:,} restored, "
                     f"{table.put_back:,} put back")
    if report.kept and report.format == "fynlo-v1":
        lines.append(f"{ID_MAP}, {ARCHIVE}: left as they are while rows are kept (taken back with the rest)")
    verb = "would be deleted" if report.dry_run else "deleted"
    restored = "would be restored" if report.dry_run else "restored"
    lines.append(f"{report.deleted:,} rows {verb}, {report.restored:,} {restored}, {report.kept:,} kept")
    return lines
