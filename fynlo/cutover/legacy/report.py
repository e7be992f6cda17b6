"""What an import tells the cutover engineer: per table rows in, imported, already present,
rejected (with the rejects files), the reconciliation per restaurant, and the exit code."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from fynlo.cutover.common import EXIT_DIFFERENCES, EXIT_OK, CutoverError

# The money the reconciliation adds up per restaurant, source against database.
RECONCILED_SUMS = {"orders": "total_amount", "payments": "amount", "refunds": "amount"}
SAMPLE = 20


@dataclass
class TableReport:
    table: str
    file: str | None = None
    status: str = "absent"  # loaded, absent, unparseable
    rows_in: int = 0
    imported: int = 0
    already_present: int = 0
    rejected: int = 0
    conflicts: int = 0
    updated: int = 0  # --catch-up: changed in the source only, applied
    kept_ours: int = 0  # --catch-up: changed in ours only, kept
    stale: int = 0  # --catch-up: older in the source than ours, not applied
    deleted: int = 0  # --catch-up: gone from the source, deleted from ours
    kept_not_deleted: int = 0  # --catch-up: gone from the source, kept (changed in ours, or needed)
    seconds: float = 0.0
    error: str | None = None
    targets: dict[str, int] = field(default_factory=dict)
    defaults_applied: dict[str, int] = field(default_factory=dict)
    set_aside: dict[str, int] = field(default_factory=dict)  # foreign keys, indexes dropped for the load
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase of the table's work
    batches_retried: int = 0  # batches the database refused, loaded again by halves to find the bad rows

    @property
    def rows_per_second(self) -> float:
        return self.rows_in / self.seconds if self.seconds > 0 else 0.0

    @property
    def balanced(self) -> bool:
        return self.rows_in == (self.imported + self.already_present + self.rejected + self.updated
                                + self.kept_ours + self.stale)

    def as_dict(self) -> dict:
        data = {
            "file": self.file,
            "status": self.status,
            "rows_in": self.rows_in,
            "imported": self.imported,
            "already_present": self.already_present,
            "rejected": self.rejected,
            "conflicts": self.conflicts,
            "updated": self.updated,
            "kept_ours": self.kept_ours,
            "stale": self.stale,
            "deleted": self.deleted,
            "kept_not_deleted": self.kept_not_deleted,
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows_per_second, 1),
            "balanced": self.balanced,
        }
        if self.error:
            data["error"] = self.error
        if self.targets:
            data["targets"] = self.targets
        if self.defaults_applied:
            data["defaults_applied"] = self.defaults_applied
        if self.set_aside:
            data["set_aside_during_load"] = self.set_aside
        if self.phases:
            data["phases"] = self.phases
        if self.batches_retried:
            data["batches_retried"] = self.batches_retried
        return data


@dataclass
class Figures:
    count: int = 0
    total: Decimal = Decimal(0)

    def add(self, amount: Decimal | None) -> None:
        self.count += 1
        if amount is not None:
            self.total += amount


class Reconciliation:
    """Per restaurant and table: rows (and money) of the export, of them rejected, and in the
    database after the import. Balanced when database = export - rejected."""

    def __init__(self):
        self.source: dict[str, dict[int | None, Figures]] = {}
        self.rejected: dict[str, dict[int | None, Figures]] = {}
        self.database: dict[str, dict[int, Figures]] = {}
        self.names: dict[int, str] = {}

    def figures(self, side: dict, table: str, restaurant: int | None) -> Figures:
        per_table = side.setdefault(table, {})
        figures = per_table.get(restaurant)
        if figures is None:
            figures = per_table[restaurant] = Figures()
        return figures

    def restaurants(self) -> list[int | None]:
        ids = set(self.names)
        for side in (self.source, self.rejected):
            for per_table in side.values():
                ids.update(per_table)
        return sorted(ids, key=lambda value: (value is None, value or 0))

    def as_dict(self) -> dict:
        restaurants = []
        all_balanced = True
        for restaurant in self.restaurants():
            tables = {}
            sums = {}
            balanced = True
            for table in sorted(set(self.source) | set(self.database)):
                source = self.source.get(table, {}).get(restaurant, Figures())
                rejected = self.rejected.get(table, {}).get(restaurant, Figures())
                database = self.database.get(table, {}).get(restaurant, Figures()) if restaurant is not None else Figures()
                if not (source.count or database.count):
                    continue
                tables[table] = {"source": source.count, "rejected": rejected.count, "database": database.count}
                ok = database.count == source.count - rejected.count
                if table in RECONCILED_SUMS:
                    key = f"{table}.{RECONCILED_SUMS[table]}"
                    sums[key] = {
                        "source": source.total, "rejected": rejected.total, "database": database.total,
                    }
                    ok = ok and database.total == source.total - rejected.total
                balanced = balanced and ok
            if not tables:
                continue
            all_balanced = all_balanced and balanced
            restaurants.append({
                "restaurant_id": restaurant,
                "name": self.names.get(restaurant, "(no such restaurant)") if restaurant is not None
                else "(restaurant unknown)",
                "tables": tables,
                "sums": sums,
                "balanced": balanced,
            })
        return {"balanced": all_balanced, "restaurants": restaurants}


class RejectWriter:
    """`<rejects>/<table>.csv`: the rejected rows with their fields, line, column and reason."""

    def __init__(self, folder: Path | None, table: str, header: list[str], place=None):
        self.place = place  # line -> where it is in the source (`orders.csv:12`, `dump.sql:40`)
        self.path = folder / f"{table}.csv" if folder else None
        self.header = header
        self.count = 0
        self.sample: list[dict] = []
        self._file = None
        self._writer = None

    def write(self, fields: list, line: int, column: str | None, reason: str) -> None:
        self.count += 1
        if len(self.sample) < SAMPLE:
            entry = {"line": line, "column": column, "reason": reason}
            if self.place is not None:
                entry["place"] = self.place(line)
            self.sample.append(entry)
        if self.path is None:
            return
        if self._writer is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = open(self.path, "w", newline="", encoding="utf-8")
            except OSError as error:
                raise CutoverError(f"cannot write rejects to {self.path}: {error.strerror or error}") from error
            self._writer = csv.writer(self._file, lineterminator="\n")
            self._writer.writerow([*self.header, "line", "column", "reason"])
        width = len(self.header)
        values = list(fields[:width]) + [""] * max(0, width - len(fields))
        self._writer.writerow([*values, self.place(line) if self.place else line, column or "", reason])

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        elif self.path is not None and self.path.exists():
            self.path.unlink()  # a previous run's rejects for rows that now pass


@dataclass
class ImportReport:
    source: str
    dry_run: bool
    timezone: str
    encoding: str
    format: str = "guide"
    format_detected: bool = False
    tables: dict[str, TableReport] = field(default_factory=dict)
    ignored_statements: int = 0  # a dump's statements other than its COPY blocks
    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # legacy table -> column -> where it went
    choices: dict[str, int] = field(default_factory=dict)  # what the format decided for the data, and how often
    archived: dict[str, int] = field(default_factory=dict)  # legacy table -> rows written to the archive
    # fynlo-v1: legacy table -> its id map's keys, where the run kept it ("in memory", or "in the
    # database": read a look-ahead at a time, `stored` the StoredKeyMap counting its lookups)
    id_maps: dict[str, dict] = field(default_factory=dict)
    # --catch-up (fynlo-v1): archive rows removed (or, in a dry run, that would be), up to 1,000
    archive_removed: list[dict] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)
    rejects_dir: str | None = None
    rejects: dict[str, dict] = field(default_factory=dict)
    conflicts: dict[str, list[dict]] = field(default_factory=dict)
    stale: dict[str, list[dict]] = field(default_factory=dict)  # --catch-up: source rows older than ours
    not_deleted: dict[str, list[dict]] = field(default_factory=dict)  # --catch-up: gone from the source, kept
    unusable_passwords: list[dict] = field(default_factory=list)
    restored_constraints: list[dict] = field(default_factory=list)
    constraint_problems: list[str] = field(default_factory=list)
    sequences: dict[str, int] = field(default_factory=dict)
    reconciliation: Reconciliation = field(default_factory=Reconciliation)
    seconds: float = 0.0
    verification: object = None  # --verify: verify.Verification

    @property
    def absent(self) -> list[str]:
        return [name for name, table in self.tables.items() if table.status == "absent"]

    @property
    def unbalanced(self) -> list[str]:
        """Where rows_in != imported + already_present + rejected, said in words."""
        problems = []
        for name, table in self.tables.items():
            if table.status == "unparseable":
                problems.append(f"{name}: {table.file} could not be parsed ({table.error}); nothing of it was loaded")
            elif not table.balanced:
                problems.append(
                    f"{name}: {table.rows_in} rows in, but {table.imported} imported + {table.already_present} "
                    f"already present + {table.rejected} rejected = "
                    f"{table.imported + table.already_present + table.rejected}"
                )
        return problems

    @property
    def rejected(self) -> int:
        return sum(table.rejected for table in self.tables.values())

    @property
    def exit_code(self) -> int:
        if self.verification is not None:
            return self.verification.exit_code
        if self.rejected or self.unbalanced or self.constraint_problems or self.not_deleted:
            return EXIT_DIFFERENCES
        return EXIT_OK

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "format": self.format,
            "format_detected": self.format_detected,
            "dry_run": self.dry_run,
            "timezone": self.timezone,
            "encoding": self.encoding,
            "seconds": round(self.seconds, 3),
            "exit_code": self.exit_code,
            "tables": {name: table.as_dict() for name, table in self.tables.items()},
            "absent": self.absent,
            "ignored_files": self.ignored_files,
            "ignored_statements": self.ignored_statements,
            "where_every_legacy_column_went": self.columns,
            "choices": self.choices,
            "archived": self.archived,
            "id_maps": {name: {key: value for key, value in entry.items() if key != "stored"}
                        | ({"batch_lookups": entry["stored"].batch_lookups,
                            "single_lookups": entry["stored"].single_lookups} if "stored" in entry else {})
                        for name, entry in self.id_maps.items()},
            "archive_removed": self.archive_removed,
            "must_set_a_password": [
                {"id": entry["id"], "email": entry["email"]} for entry in self.unusable_passwords
            ],
            "unbalanced": self.unbalanced,
            "rejects_dir": self.rejects_dir,
            "rejects": self.rejects,
            "conflicts": self.conflicts,
            "stale": self.stale,
            "not_deleted": self.not_deleted,
            "unusable_passwords": self.unusable_passwords,
            "restored_constraints": self.restored_constraints,
            "constraint_problems": self.constraint_problems,
            "sequences": self.sequences,
            "reconciliation": self.reconciliation.as_dict(),
            **({"verification": self.verification.as_dict()} if self.verification is not None else {}),
        }


def summary_lines(report: ImportReport) -> list[str]:
    """The summary table printed on stdout."""
    lines = [f"format: {report.format} ({'detected' if report.format_detected else 'as given'})"]
    title = "migrate_legacy (dry run: nothing written)" if report.dry_run else "migrate_legacy"
    lines.append(f"{title}: {report.source}")
    if report.ignored_statements:
        lines.append(f"ignored: {report.ignored_statements:,} statements of the dump other than its COPY blocks")
    if report.ignored_files:
        lines.append(
            f"ignored files (not <table>_export.csv or <table>.csv of a known table): {', '.join(report.ignored_files)}"
        )
    header = f"{'table':<22} {'rows_in':>10} {'imported':>10} {'present':>10} {'rejected':>9} {'seconds':>8} {'rows/s':>9}"
    lines.append(header)
    lines.append("-" * len(header))
    for name, table in report.tables.items():
        if table.status == "absent":
            continue
        if table.status == "unparseable":
            lines.append(f"{name:<22} unparseable: {table.error}")
            continue
        lines.append(
            f"{name:<22} {table.rows_in:>10,} {table.imported:>10,} {table.already_present:>10,} "
            f"{table.rejected:>9,} {table.seconds:>8.2f} {table.rows_per_second:>9,.0f}"
        )
    if report.absent:
        lines.append(f"absent (no file): {', '.join(report.absent)}")
    for restored in report.restored_constraints:
        lines.append(
            f"restored {restored['kind']} {restored['name']} on {restored['table']} (set aside by an interrupted run)"
        )
    for problem in report.constraint_problems:
        lines.append(f"constraint: {problem}")
    for name, conflicts in report.conflicts.items():
        shown = ", ".join(str(conflict["key"]) for conflict in conflicts[:10])
        more = "" if len(conflicts) <= 10 else f" and {len(conflicts) - 10} more"
        lines.append(f"{name}: {len(conflicts)} rows differ from the database (ids {shown}{more}); not overwritten")
    if report.unusable_passwords:
        lines.append(
            f"users: {len(report.unusable_passwords)} legacy password hashes are not bcrypt; those users must reset "
            f"their password (listed in the JSON report)"
        )
        lines.append("must set a password: " + ", ".join(str(entry["email"]) for entry in report.unusable_passwords[:20])
                     + ("" if len(report.unusable_passwords) <= 20 else f" and {len(report.unusable_passwords) - 20} more"))
    if report.choices:
        lines.append("choices made for the legacy data (counted):")
        for choice, count in sorted(report.choices.items()):
            lines.append(f"  {choice}: {count:,}")
    if report.columns:
        lines.append("where every legacy column went:")
        for legacy_table, columns in report.columns.items():
            lines.append(f"  {legacy_table}:")
            for column, where in columns.items():
                lines.append(f"    {column} -> {where}")
    if report.archived:
        archived = ", ".join(f"{table} {count:,}" for table, count in sorted(report.archived.items()))
        lines.append(f"archived (owner-only legacy_archive): {archived}")
    reconciliation = report.reconciliation.as_dict()
    if reconciliation["restaurants"]:
        lines.append("")
        lines.append("reconciliation per restaurant (export - rejected = database):")
        for entry in reconciliation["restaurants"]:
            mark = "ok" if entry["balanced"] else "DIFFERS"
            parts = []
            for table in ("orders", "order_items", "payments", "refunds"):
                figures = entry["tables"].get(table)
                if figures:
                    parts.append(f"{table} {figures['source']}-{figures['rejected']}={figures['database']}")
            for key, money in entry["sums"].items():
                parts.append(f"{key} {money['source']}-{money['rejected']}={money['database']}")
            if not parts:
                parts = [f"{table} {f['source']}-{f['rejected']}={f['database']}" for table, f in entry["tables"].items()]
            restaurant = entry["restaurant_id"] if entry["restaurant_id"] is not None else "-"
            lines.append(f"  [{mark}] {restaurant} {entry['name'] or ''}: " + "; ".join(parts))
    lines.append("")
    for problem in report.unbalanced:
        lines.append(f"not accounted for: {problem}")
    tables = report.tables.values()
    caught = {kind: sum(getattr(t, kind) for t in tables)
              for kind in ("updated", "kept_ours", "stale", "deleted", "kept_not_deleted")}
    if any(caught.values()):
        what = "catch-up (dry run, what it would do; nothing written)" if report.dry_run else "catch-up"
        lines.append(
            f"{what}: {caught['updated']:,} updated (changed in the source only), {caught['kept_ours']:,} kept "
            f"(changed in ours only), {caught['stale']:,} stale (older than ours, not applied), "
            f"{caught['deleted']:,} deleted (gone from the source), {caught['kept_not_deleted']:,} gone from the "
            "source but kept"
        )
        for name, kept in report.not_deleted.items():
            keys = ", ".join(f"{row['key']} ({row['reason']})" for row in kept[:10])
            lines.append(f"{name}: gone from the source, kept: {keys}{'' if len(kept) <= 10 else ' ...'}")
    total_in = sum(t.rows_in for t in report.tables.values())
    total_imported = sum(t.imported for t in report.tables.values())
    total_present = sum(t.already_present for t in report.tables.values())
    verb = "would be imported" if report.dry_run else "imported"
    closing = (
        f"{total_in:,} rows: {total_imported:,} {verb}, {total_present:,} already present, {report.rejected:,} rejected"
        f" in {report.seconds:.1f}s"
    )
    if report.rejected and report.rejects_dir:
        closing += f" (rejects in {report.rejects_dir})"
    lines.append(closing)
    return lines
