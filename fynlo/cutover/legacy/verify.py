"""`migrate_legacy SOURCE --verify`: the source compared with the database by content, writing
nothing.

It is the import's own dry run, so a row is compared as the import would write it (the same
validation, the same mapping, the same comparison a re-run makes, legacy passwords included):

- missing: a mapped source row whose key is not in our table;
- different: a row with the key in both, whose content differs (both versions listed);
- extra: a row of our table that the source does not have (only among the rows an import
  wrote, when the row bookkeeping knows them; else every row of the table);
- rejected: a source row the import would refuse (counted, its reason in the rejects file).

Exit 0 only when no row is missing, different or extra. Rejected rows do not fail it: the
import refuses them every time (its report and rejects files list them), so they are the
same on both runs, and a cutover with a few known rejects can still verify.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from psycopg import sql

from fynlo.cutover.common import EXIT_DIFFERENCES, EXIT_OK

LISTED = 1000  # keys listed per table and kind in the JSON report
SHOWN = 10  # keys shown per table and kind in the summary
HIDDEN_COLUMNS = {"password_hash"}


@dataclass
class TableVerification:
    table: str
    source_rows: int = 0
    identical: int = 0
    missing: int = 0
    different: int = 0
    extra: int = 0
    rejected: int = 0
    extra_checked: bool = True
    missing_list: list = field(default_factory=list)
    different_list: list = field(default_factory=list)
    extra_list: list = field(default_factory=list)

    @property
    def differs(self) -> bool:
        return bool(self.missing or self.different or self.extra)

    def as_dict(self) -> dict:
        return {
            "source_rows": self.source_rows, "identical": self.identical, "missing": self.missing,
            "different": self.different, "extra": self.extra, "rejected": self.rejected,
            "extra_checked": self.extra_checked, "missing_rows": self.missing_list,
            "different_rows": self.different_list, "extra_rows": self.extra_list,
        }


@dataclass
class Verification:
    tables: dict[str, TableVerification] = field(default_factory=dict)

    def table(self, name: str) -> TableVerification:
        found = self.tables.get(name)
        if found is None:
            found = self.tables[name] = TableVerification(name)
        return found

    @property
    def exit_code(self) -> int:
        return EXIT_DIFFERENCES if any(t.differs for t in self.tables.values()) else EXIT_OK

    def as_dict(self) -> dict:
        return {
            "identical": self.exit_code == EXIT_OK,
            "tables": {name: table.as_dict() for name, table in self.tables.items()},
        }


def _version(columns: list[str], values: list) -> dict:
    return {
        column: ("(hidden)" if column in HIDDEN_COLUMNS and value not in (None, "") else value)
        for column, value in zip(columns, values)
    }


def source_version(columns: list[str], text: str) -> dict:
    """A COPY record (CSV; an unquoted empty field is NULL) as column -> value."""
    return _version(columns, copy_fields(text))


def copy_fields(text: str) -> list:
    """The fields of one COPY CSV record: None for NULL (unquoted empty), else the text."""
    values, at, size = [], 0, len(text)
    while True:
        if at < size and text[at] == '"':
            end, parts = at + 1, []
            while True:
                quote = text.index('"', end)
                parts.append(text[end:quote])
                if quote + 1 < size and text[quote + 1] == '"':
                    parts.append('"')
                    end = quote + 2
                    continue
                break
            values.append("".join(parts))
            at = quote + 1
        else:
            comma = text.find(",", at)
            end = size if comma < 0 else comma
            values.append(text[at:end] or None)
            at = end
        if at >= size:
            return values
        at += 1  # the comma
        if at == size:
            values.append(None)
            return values


def record_batch(verification: TableVerification, conn, target, result) -> None:
    """A compared batch: its new rows are missing from ours, its conflicts differ."""
    columns = target.plan.copy_columns
    identity = target.plan.identity
    verification.missing += len(result.new_rows)
    for line, ident, text in result.new_rows:
        if len(verification.missing_list) < LISTED:
            key = ident if ident is not None else _identity_of(columns, identity, text)
            verification.missing_list.append({"key": key, "line": line, "source": source_version(columns, text)})
    listed = []
    for conflict in result.conflicts:
        verification.different += 1
        if len(verification.different_list) + len(listed) < LISTED:
            listed.append(conflict)
    if listed:
        ours = _database_versions(conn, target.spec, columns, identity, [c.key for c in listed])
        for conflict in listed:
            key = conflict.key if isinstance(conflict.key, tuple) else (conflict.key,)
            verification.different_list.append({
                "key": conflict.key, "line": conflict.line, "columns": conflict.columns,
                "source": source_version(columns, conflict.text), "ours": ours.get(key),
            })
    verification.identical += result.present


def _identity_of(columns: list[str], identity: tuple[str, ...], text: str):
    version = dict(zip(columns, copy_fields(text)))
    return [version.get(column) for column in identity]


def _database_versions(conn, spec, columns: list[str], identity: tuple[str, ...], keys: list) -> dict:
    """Our rows of these keys (as text), keyed by the tuple of their identity's text."""
    selected = sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in columns)
    condition = sql.SQL(" AND ").join(
        sql.SQL("{} = %s::{}").format(sql.Identifier(c), sql.SQL(spec.columns[c].sql_type)) for c in identity
    )
    query = sql.SQL("SELECT {} FROM {} WHERE {}").format(selected, sql.Identifier(spec.name), condition)
    versions = {}
    for key in keys:
        values = key if isinstance(key, tuple) else (key,)
        row = conn.execute(query, list(values)).fetchone()
        if row is not None:
            versions[tuple(str(v) for v in values)] = _version(columns, list(row))
    return versions


def record_extra(verification: TableVerification, conn, spec, db_ids, seen, imported=None) -> None:
    """Rows of ours (ids known before the table was read) the source did not have; only the
    ids an import wrote when `imported` (an id test) is given."""
    extra = [ident for ident in missing_from(db_ids, seen) if imported is None or imported(ident)]
    verification.extra += len(extra)
    shown = extra[:LISTED]
    if not shown:
        return
    columns = list(spec.columns)
    selected = sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in columns)
    rows = conn.execute(
        sql.SQL("SELECT {} FROM {} WHERE id = ANY(%s) ORDER BY id").format(selected, sql.Identifier(spec.name)),
        [shown],
    ).fetchall()
    for row in rows:
        version = _version(columns, list(row))
        verification.extra_list.append({"key": version.get("id"), "ours": version})


def missing_from(present, seen) -> list[int]:
    """The ids of IdSet `present` that IdSet `seen` lacks, ascending (page by page: equal
    pages cost a comparison)."""
    found = []
    for number in sorted(present.pages):
        page = present.pages[number]
        other = seen.pages.get(number)
        if other is not None and other == page:
            continue
        base = number << 16
        for index, byte in enumerate(page):
            if not byte:
                continue
            left = byte & ~(other[index] if other is not None else 0)
            bit = 0
            while left:
                if left & 1:
                    found.append(base + index * 8 + bit)
                left >>= 1
                bit += 1
    return found


def summary_lines(verification: Verification, source: str) -> list[str]:
    lines = [f"migrate_legacy --verify (nothing written): {source}"]
    header = f"{'table':<22} {'source':>9} {'identical':>10} {'missing':>8} {'different':>10} {'extra':>7} {'rejected':>9}"
    lines.append(header)
    lines.append("-" * len(header))
    for name, table in verification.tables.items():
        extra = f"{table.extra:>7,}" if table.extra_checked else f"{'-':>7}"
        lines.append(
            f"{name:<22} {table.source_rows:>9,} {table.identical:>10,} {table.missing:>8,} {table.different:>10,} "
            f"{extra} {table.rejected:>9,}"
        )
    for name, table in verification.tables.items():
        for kind, rows in (("missing", table.missing_list), ("different", table.different_list),
                           ("extra", table.extra_list)):
            if not rows:
                continue
            total = getattr(table, kind)
            keys = ", ".join(json.dumps(row["key"]) if not isinstance(row["key"], (int, str)) else str(row["key"])
                             for row in rows[:SHOWN])
            more = "" if total <= SHOWN else f" and {total - SHOWN:,} more"
            lines.append(f"{name}: {kind} {keys}{more}")
    unchecked = [name for name, table in verification.tables.items() if not table.extra_checked]
    if unchecked:
        lines.append(f"extra rows not looked for (no id in the source): {', '.join(unchecked)}")
    lines.append("identical" if verification.exit_code == EXIT_OK else "DIFFERENT (all keys in the JSON report)")
    return lines
