"""Point stored file URLs at Spaces: prefix-anchored, exact host, batched, with an undo log.

Replaces the guide's step 5, whose `REPLACE(url, old, new)` rewrites the old domain anywhere
in a string and updates tables and columns the schema never had.

Where: every column that a model declares as `fynlo.core.fields.URLTextField` (found from the
models, so a URL field added later is covered), and URLs inside the values of
`platform_settings` / `restaurant_settings`.

What matches a `--from` prefix (`https://old.com` and `https://old.com/` both mean
`https://old.com/`): the scheme and the exact host (and port), case-insensitively, then the
prefix's path, case-sensitively; or the bare prefix itself (`https://old.com`) as a whole
value. `https://old.com.evil.net/a.png` does not match, nor does a URL that merely contains
the prefix (`https://cdn.example.com/?u=https://old.com/a.png`). Only the prefix is
replaced; the rest of the URL is kept byte for byte.

- A URL column's value matches when it starts with the prefix.
- A settings value is rewritten where a URL starts at a string boundary: at the start of the
  whole value, or, when the value is JSON, at the start of one of its strings, in plain
  (`https://old.com/x.png`) or JSON-escaped (`https:\\/\\/old.com\\/x.png`) form. A URL
  elsewhere in a string (inside HTML, after `?u=`) is left alone.

Undo log: CSV, header `table,pk,column,old,new`, one line per changed value, written and
flushed to disk before the batch that made the change commits. `--undo FILE` puts `old` back
wherever the value is still `new` (a value changed since is reported, not overwritten).

Speed: each URL column is updated set-based in primary-key batches, one transaction each.
Values whose prefix is written exactly as `--from` (the common case) are updated by
`left(col, n) = prefix`, and their old value is rebuilt by the server in the RETURNING
clause; one sweep after the batches finds the rarer forms (the host in another case, the
bare prefix), whose old values are captured through a self-join. The changed rows stream
from `COPY (UPDATE ... RETURNING ...) TO STDOUT` straight into the undo log, without a
Python object per row.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlsplit

from django.apps import apps
from django.core.files.storage import storages
from django.db import DatabaseError, connections, transaction

from fynlo.core.fields import URLTextField
from fynlo.cutover.common import EXIT_DIFFERENCES, EXIT_OK, CutoverError, Progress, first_line
from tenants.models import PlatformSetting, RestaurantSetting

DB = "owner"  # cutover commands run as the schema owner
DEFAULT_BATCH_SIZE = 20_000
SAMPLES = 5
UNDO_HEADER = ("table", "pk", "column", "old", "new")
HEAD_WORKERS = 8


# --- prefixes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prefix:
    """A normalised URL prefix: `scheme://host[:port]` (lower case) and a path ending in "/"."""

    authority: str
    path: str

    @property
    def text(self) -> str:
        return self.authority + self.path

    @property
    def bare(self) -> str:
        return self.authority + self.path[:-1]


def prefix_parse(value: str, *, option: str) -> Prefix:
    """`https://Old.com` -> Prefix("https://old.com", "/"); a clear error for anything else."""
    raw = value.strip()
    example = "like https://old-storage-domain.com/"
    if not raw or any(ch.isspace() or ch in "\"\\<>'" for ch in raw):
        raise CutoverError(f"{option} {value!r} is not a URL prefix ({example})")
    parts = urlsplit(raw)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise CutoverError(f"{option} {value!r} is not an http(s) URL prefix ({example})")
    if parts.query or parts.fragment or "@" in parts.netloc or raw.endswith(("?", "#")):
        raise CutoverError(f"{option} {value!r} must be a scheme, a host and an optional path, nothing else")
    try:
        parts.port
    except ValueError:
        raise CutoverError(f"{option} {value!r} has an invalid port") from None
    path = parts.path or "/"
    if not path.endswith("/"):
        path += "/"
    return Prefix(f"{parts.scheme.lower()}://{parts.netloc.lower()}", path)


def storage_base_url() -> str | None:
    """The public base URL of the default storage (the CDN's when one is set); None if relative."""
    storage = storages["default"]
    probe = "fynlo-probe"
    url = storage.url(probe)
    base = url[: -len(probe)] if url.endswith(probe) else None
    return base if base and urlsplit(base).scheme in ("http", "https") else None


def _prefixes(from_prefixes: Iterable[str], to: str | None) -> tuple[list[Prefix], Prefix]:
    olds: dict[str, Prefix] = {}
    for value in from_prefixes:
        prefix = prefix_parse(value, option="--from")
        olds.setdefault(prefix.text, prefix)
    if not olds:
        raise CutoverError("give at least one --from OLD_PREFIX")
    if to is None:
        to = storage_base_url()
        if to is None:
            raise CutoverError(
                "--to is required: Spaces is not configured (SPACES_BUCKET), so there is no public base URL to"
                " rewrite to"
            )
        new = prefix_parse(to, option="the configured Spaces base URL")
    else:
        new = prefix_parse(to, option="--to")
    for old in olds.values():
        # Either way round, a rewritten URL could match again: a second run would change it.
        if new.text.startswith(old.text) or old.text.startswith(new.text):
            raise CutoverError(
                f"--to {new.text} and --from {old.text} overlap (one is a prefix of the other); a second run"
                " would rewrite the rewritten URLs again"
            )
    # Longest first: of two prefixes that both match, the more specific one wins.
    return sorted(olds.values(), key=lambda p: len(p.text), reverse=True), new


# --- where URLs live --------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    table: str
    column: str
    pk: str
    pk_type: str

    @property
    def label(self) -> str:
        return f"{self.table}.{self.column}"


def _column(model, model_field) -> Column:
    meta = model._meta
    return Column(meta.db_table, model_field.column, meta.pk.column, meta.pk.db_type(connections[DB]))


def url_columns() -> list[Column]:
    """Every column that a model declares as a URL (`URLTextField`), found from the models."""
    found = {
        _column(model, model_field)
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
        for model_field in model._meta.local_concrete_fields
        if isinstance(model_field, URLTextField)
    }
    return sorted(found, key=lambda c: c.label)


def settings_columns() -> list[Column]:
    """The settings values that may hold URLs (bare, or inside JSON)."""
    return [_column(model, model._meta.get_field("setting_value")) for model in (PlatformSetting, RestaurantSetting)]


# --- the matching rules, in SQL (URL columns) -------------------------------------------------


class _Sql:
    """SQL text with its positional parameters."""

    def __init__(self, text: str = "", params: Iterable = ()):
        self.text = text
        self.params = list(params)

    def __add__(self, other: _Sql | str) -> _Sql:
        other = _Sql(other) if isinstance(other, str) else other
        return _Sql(self.text + other.text, self.params + other.params)

    def __radd__(self, other: str) -> _Sql:
        return _Sql(other) + self

    @staticmethod
    def join(parts: list[_Sql], sep: str) -> _Sql:
        out = _Sql()
        for index, part in enumerate(parts):
            out = out + (sep if index else "") + part
        return out


def _prefix_match(c: str, p: Prefix) -> _Sql:
    a = len(p.authority)
    return _Sql(
        f"(lower(left({c}, %s)) = %s AND substr({c}, %s, %s) = %s)", [a, p.authority, a + 1, len(p.path), p.path]
    )


def _bare_match(c: str, p: Prefix) -> _Sql:
    a = len(p.authority)
    return _Sql(
        f"(length({c}) = %s AND lower(left({c}, %s)) = %s AND substr({c}, %s) = %s)",
        [len(p.bare), a, p.authority, a + 1, p.path[:-1]],
    )


def _any_match(c: str, olds: list[Prefix]) -> _Sql:
    parts = [_prefix_match(c, p) for p in olds] + [_bare_match(c, p) for p in olds]
    return "(" + _Sql.join(parts, " OR ") + ")"


def _rewritten(c: str, olds: list[Prefix], new: Prefix) -> _Sql:
    """The new value. Prefix forms before bare forms, longest prefix first (as in Python)."""
    cases = [_Sql(" WHEN ") + _prefix_match(c, p) + _Sql(f" THEN %s || substr({c}, %s)", [new.text, len(p.text) + 1])
             for p in olds]
    cases += [_Sql(" WHEN ") + _bare_match(c, p) + _Sql(" THEN %s", [new.bare]) for p in olds]
    return _Sql.join([_Sql("CASE"), *cases, _Sql(" END")], "")


# --- the matching rules, in Python (settings values) ------------------------------------------

_JSON_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)


def _slashes(text: str) -> str:
    """A regex for `text` in which every "/" may be JSON-escaped as "\\/"."""
    return re.escape(text).replace("/", r"\\?/")


class TextRewriter:
    """Rewrites URLs that start at a string boundary of a settings value."""

    def __init__(self, olds: list[Prefix], new: Prefix):
        self.new = new
        self.prefix_rules = [re.compile(f"(?i:{_slashes(p.authority)}){_slashes(p.path)}") for p in olds]
        self.bare_rules = [re.compile(f"(?i:{_slashes(p.authority)}){_slashes(p.path[:-1])}\\Z") for p in olds]

    def _start(self, text: str) -> str | None:
        """`text` with the URL prefix at its start replaced (None when none is there)."""
        for rule in self.prefix_rules:
            found = rule.match(text)
            if found:
                return self._escaped(self.new.text, found.group()) + text[found.end():]
        for rule in self.bare_rules:
            found = rule.match(text)
            if found:
                return self._escaped(self.new.bare, found.group())
        return None

    @staticmethod
    def _escaped(new: str, matched: str) -> str:
        return new.replace("/", "\\/") if "\\/" in matched else new

    def rewrite(self, value: str, allow: Callable[[str], bool] | None = None) -> tuple[str, list[tuple[str, str]]]:
        """The rewritten value and its (old URL, new URL) pairs; `allow(new_url)` False keeps a URL as it was."""
        urls: list[tuple[str, str]] = []
        if _is_json(value):
            pieces, position = [], 0
            for token in _JSON_STRING.finditer(value):
                content = self._start(token.group(1))
                if content is None:
                    continue
                url = json.loads(f'"{content}"')
                if allow is not None and not allow(url):
                    continue
                urls.append((json.loads(f'"{token.group(1)}"'), url))
                pieces += [value[position:token.start(1)], content]
                position = token.end(1)
            return "".join(pieces) + value[position:], urls
        rewritten = self._start(value)
        if rewritten is None:
            return value, urls
        url = rewritten.split(None, 1)[0].replace("\\/", "/")
        if allow is not None and not allow(url):
            return value, urls
        return rewritten, [(value.split(None, 1)[0].replace("\\/", "/"), url)]


def _is_json(value: str) -> bool:
    if value.lstrip()[:1] not in ("{", "[", '"'):
        return False
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


# --- objects in the bucket --------------------------------------------------------------------


class ObjectChecker:
    """HEADs the objects that rewritten URLs point to, in the configured Spaces bucket."""

    def __init__(self, new: Prefix):
        from botocore.exceptions import BotoCoreError, ClientError
        from storages.backends.s3 import S3Storage

        storage = storages["default"]
        if not isinstance(storage, S3Storage):
            raise CutoverError(
                "--verify-objects needs Spaces: SPACES_BUCKET is not set, so the default storage is the local"
                " filesystem"
            )
        self.errors = (BotoCoreError, ClientError)
        self.client = storage.connection.meta.client
        self.bucket = storage.bucket_name
        self.new = new
        probe = "fynlo-probe"
        url, name = storage.url(probe), storage._normalize_name(probe)
        self.root = url[: -len(name)] if url.endswith(name) else new.text
        self.known: dict[str, bool] = {}
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except self.errors as error:
            raise CutoverError(f"cannot use the Spaces bucket {self.bucket!r}: {_s3_error(error)}") from error

    def key(self, url: str) -> str:
        """The object key a URL points to: its path after the bucket's root URL (or after --to)."""
        url = url.split("#", 1)[0].split("?", 1)[0]
        base = self.root if url.startswith(self.root) else self.new.text
        return unquote(url[len(base):]) if url.startswith(base) else ""

    def present(self, urls: Iterable[str]) -> dict[str, bool]:
        """url -> whether its object exists (HEADs in parallel, each key once per run)."""
        keys = {url: self.key(url) for url in urls}
        todo = sorted({key for key in keys.values() if key and key not in self.known})
        if todo:
            with ThreadPoolExecutor(max_workers=HEAD_WORKERS) as pool:
                self.known.update(zip(todo, pool.map(self._head, todo)))
        return {url: bool(key) and self.known[key] for url, key in keys.items()}

    def _head(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
            return True
        except self.errors as error:
            if getattr(error, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return False
            raise CutoverError(f"HEAD {key!r} in bucket {self.bucket!r} failed: {_s3_error(error)}") from error


def _s3_error(error: Exception) -> str:
    response = getattr(error, "response", None)
    if response:
        meta = response.get("Error", {})
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return f"{meta.get('Code') or status} {meta.get('Message') or ''}".strip()
    return first_line(error)


# --- the undo log -----------------------------------------------------------------------------


class UndoLog:
    """The CSV undo log; each batch's lines reach the disk before the batch commits."""

    def __init__(self, path: Path):
        self.path = path
        if path.exists() and not _holds_nothing(path):
            raise CutoverError(
                f"the undo log {path} already exists (it may be what undoes an earlier run); give a new file"
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.file: IO[bytes] = open(path, "wb")  # noqa: SIM115 (closed by close())
        except OSError as error:
            raise CutoverError(f"cannot write the undo log {path}: {error.strerror or error}") from error
        self.write_rows([UNDO_HEADER])
        self.sync()

    def write(self, data: bytes | memoryview) -> None:
        try:
            self.file.write(data)
        except OSError as error:
            raise self._error(error) from error

    def write_rows(self, rows: Iterable[Iterable]) -> None:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        self.write(buffer.getvalue().encode())

    def sync(self) -> None:
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
        except OSError as error:
            raise self._error(error) from error

    def close(self) -> None:
        try:
            self.sync()
        finally:
            self.file.close()

    def _error(self, error: OSError) -> CutoverError:
        return CutoverError(f"cannot write the undo log {self.path}: {error.strerror or error}")


def _holds_nothing(path: Path) -> bool:
    """An empty file, or an undo log of a run that changed nothing (the header alone)."""
    header = (",".join(UNDO_HEADER) + "\n").encode()
    try:
        with open(path, "rb") as existing:
            return existing.read(len(header) + 1) in (b"", header)
    except OSError:
        return False


def default_undo_log_path() -> Path:
    return Path(f"rewrite_storage_urls-undo-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.csv")


# --- reports ----------------------------------------------------------------------------------


@dataclass
class ColumnReport:
    table: str
    column: str
    matched: int = 0  # values that match a --from prefix (with --verify-objects: object present or not)
    rewritten: int = 0  # values changed (0 in a dry run)
    missing_objects: int = 0  # URLs kept because their object is not in the bucket
    samples: list[dict] = field(default_factory=list)  # the first few {pk, before, after}


@dataclass
class RewriteReport:
    from_prefixes: list[str]
    to: str
    dry_run: bool
    verify_objects: bool
    undo_log: str | None
    bucket: str | None = None
    columns: list[ColumnReport] = field(default_factory=list)
    missing_objects: list[dict] = field(default_factory=list)  # {table, column, pk, url, new_url, key}
    seconds: float = 0.0

    @property
    def matched(self) -> int:
        return sum(c.matched for c in self.columns)

    @property
    def rewritten(self) -> int:
        return sum(c.rewritten for c in self.columns)

    @property
    def exit_code(self) -> int:
        return EXIT_DIFFERENCES if self.missing_objects else EXIT_OK

    def as_dict(self) -> dict:
        return {
            "command": "rewrite_storage_urls",
            "dry_run": self.dry_run,
            "from": self.from_prefixes,
            "to": self.to,
            "verify_objects": self.verify_objects,
            "bucket": self.bucket,
            "undo_log": self.undo_log,
            "matched": self.matched,
            "rewritten": self.rewritten,
            "missing_objects_count": len(self.missing_objects),
            "columns": self.columns,
            "missing_objects": self.missing_objects,
            "seconds": round(self.seconds, 3),
            "exit_code": self.exit_code,
        }


@dataclass
class UndoColumnReport:
    table: str
    column: str
    logged: int = 0  # lines in the undo log
    restored: int = 0  # values put back (a dry run: that would be)
    already_old: int = 0  # values already as they were before the run
    conflicts: int = 0  # values changed since the run (or rows gone): left alone


@dataclass
class UndoReport:
    undo_log: str
    dry_run: bool
    columns: list[UndoColumnReport] = field(default_factory=list)
    conflicts: list[dict] = field(default_factory=list)  # {table, column, pk, old, new, current}
    seconds: float = 0.0

    @property
    def restored(self) -> int:
        return sum(c.restored for c in self.columns)

    @property
    def exit_code(self) -> int:
        return EXIT_DIFFERENCES if self.conflicts else EXIT_OK

    def as_dict(self) -> dict:
        return {
            "command": "rewrite_storage_urls --undo",
            "dry_run": self.dry_run,
            "undo_log": self.undo_log,
            "restored": self.restored,
            "conflicts_count": len(self.conflicts),
            "columns": self.columns,
            "conflicts": self.conflicts,
            "seconds": round(self.seconds, 3),
            "exit_code": self.exit_code,
        }


# --- the rewrite ------------------------------------------------------------------------------


def _q(name: str) -> str:
    return connections[DB].ops.quote_name(name)


def _batches(col: Column, batch_size: int) -> Iterator[tuple[object, object]]:
    """Primary-key ranges (after, upto] of about `batch_size` rows; None is open-ended."""
    pk, table = _q(col.pk), _q(col.table)
    after = None
    with connections[DB].cursor() as cursor:
        while True:
            where = f" WHERE {pk} > %s" if after is not None else ""
            cursor.execute(
                f"SELECT {pk} FROM {table}{where} ORDER BY {pk} OFFSET %s LIMIT 1",
                ([after] if after is not None else []) + [batch_size - 1],
            )
            row = cursor.fetchone()
            upto = row[0] if row else None
            yield after, upto
            if upto is None:
                return
            after = upto


def _in_range(pk: str, after, upto) -> _Sql:
    parts = []
    if after is not None:
        parts.append(_Sql(f"{pk} > %s", [after]))
    if upto is not None:
        parts.append(_Sql(f"{pk} <= %s", [upto]))
    return _Sql.join(parts, " AND ") if parts else _Sql("TRUE")


def _estimate(col: Column) -> int | None:
    with connections[DB].cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [col.table])
        row = cursor.fetchone()
    return row[0] if row and row[0] > 0 else None


def _copy_into(undo: UndoLog, statement: _Sql) -> int:
    """Run `COPY (statement) TO STDOUT` into the undo log; the number of rows it returned."""
    connection = connections[DB]
    # COPY goes to psycopg directly: wrap its errors as Django's, like every other query.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        with cursor.copy(f"COPY ({statement.text}) TO STDOUT WITH (FORMAT csv)", statement.params) as copy:
            for data in copy:
                undo.write(data)
        return cursor.rowcount


def _advance(progress: Progress, batch_size: int, *, last: bool) -> None:
    """A full batch holds `batch_size` rows; the last one, whatever the estimate leaves."""
    progress.update(max((progress.total or 0) - progress.count, 0) if last else batch_size)


def _returning(col: Column, old: _Sql | str, new_sql: str) -> _Sql:
    """RETURNING the undo log's line: table, pk, column, old, new."""
    return _Sql(f" RETURNING %s, t.{_q(col.pk)}, %s, ", [col.table, col.column]) + old + f", {new_sql}"


def _column_dry_run(col: Column, olds: list[Prefix], new: Prefix, report: ColumnReport) -> None:
    c, pk, table = f"t.{_q(col.column)}", f"t.{_q(col.pk)}", _q(col.table)
    match = _any_match(c, olds)
    with connections[DB].cursor() as cursor:
        query = _Sql(f"SELECT count(*) FROM {table} t WHERE ") + match
        cursor.execute(query.text, query.params)
        report.matched = cursor.fetchone()[0]
        query = _Sql(f"SELECT {pk}, {c}, ") + _rewritten(c, olds, new) + f" FROM {table} t WHERE " + match
        query += _Sql(f" ORDER BY {pk} LIMIT %s", [SAMPLES])
        cursor.execute(query.text, query.params)
        report.samples = [{"pk": row[0], "before": row[1], "after": row[2]} for row in cursor.fetchall()]


def _column_rewrite(col: Column, olds: list[Prefix], new: Prefix, undo: UndoLog, batch_size: int,
                    report: ColumnReport, progress: Progress) -> None:
    """The fast path: set-based updates per primary-key batch, old values logged by the server."""
    c, pk, table, column = f"t.{_q(col.column)}", f"t.{_q(col.pk)}", _q(col.table), _q(col.column)
    for after, upto in _batches(col, batch_size):
        in_range = _in_range(pk, after, upto)
        changed = 0
        with transaction.atomic(using=DB):
            # The common form, written exactly as --from: the old value is that prefix and the rest.
            for old in olds:
                exact = (
                    _Sql(f"UPDATE {table} t SET {column} = %s || substr({c}, %s) WHERE ", [new.text, len(old.text) + 1])
                    + in_range + _Sql(f" AND left({c}, %s) = %s", [len(old.text), old.text])
                    + _returning(col, _Sql(f"%s || substr({c}, %s)", [old.text, len(new.text) + 1]), c)
                )
                changed += _copy_into(undo, exact)
            undo.sync()
        report.matched += changed
        report.rewritten += changed
        _advance(progress, batch_size, last=upto is None)
    # What is left matches in a rarer form (the host in another case, the bare prefix): one sweep
    # finds those rows, and their old values are captured through a self-join, guarded against a
    # concurrent change by `t.col = x.value`.
    with connections[DB].cursor() as cursor:
        query = _Sql(f"SELECT {pk} FROM {table} t WHERE ") + _any_match(c, olds) + f" ORDER BY {pk}"
        cursor.execute(query.text, query.params)
        rest = [row[0] for row in cursor.fetchall()]
    for start in range(0, len(rest), batch_size):
        with transaction.atomic(using=DB):
            others = (
                _Sql(f"UPDATE {table} t SET {column} = ") + _rewritten(c, olds, new)
                + _Sql(f" FROM (SELECT {pk} AS pk, {c} AS value FROM {table} t WHERE {pk} = ANY(%s) AND ",
                       [rest[start:start + batch_size]])
                + _any_match(c, olds) + f") x WHERE {pk} = x.pk AND {c} = x.value" + _returning(col, "x.value", c)
            )
            changed = _copy_into(undo, others)
            undo.sync()
        report.matched += changed
        report.rewritten += changed


def _column_verified(col: Column, olds: list[Prefix], new: Prefix, undo: UndoLog | None, checker: ObjectChecker,
                     batch_size: int, report: ColumnReport, missing: list[dict], progress: Progress) -> None:
    """With --verify-objects: per batch, lock the matches, HEAD their objects, rewrite the present ones."""
    c, pk, table, column = f"t.{_q(col.column)}", f"t.{_q(col.pk)}", _q(col.table), _q(col.column)
    dry_run = undo is None
    for after, upto in _batches(col, batch_size):
        with transaction.atomic(using=DB), connections[DB].cursor() as cursor:
            query = (
                _Sql(f"SELECT {pk}, {c}, ") + _rewritten(c, olds, new) + f" FROM {table} t WHERE "
                + _in_range(pk, after, upto) + " AND " + _any_match(c, olds) + f" ORDER BY {pk}"
                + ("" if dry_run else " FOR UPDATE")
            )
            cursor.execute(query.text, query.params)
            rows = cursor.fetchall()
            present = checker.present(row[2] for row in rows)
            keep = []
            for row_pk, before, after_value in rows:
                report.matched += 1
                if present[after_value]:
                    keep.append(row_pk)
                    if len(report.samples) < SAMPLES:
                        report.samples.append({"pk": row_pk, "before": before, "after": after_value})
                else:
                    report.missing_objects += 1
                    missing.append({"table": col.table, "column": col.column, "pk": row_pk, "url": before,
                                    "new_url": after_value, "key": checker.key(after_value)})
            if keep and not dry_run:
                update = (
                    _Sql(f"UPDATE {table} t SET {column} = ") + _rewritten(c, olds, new)
                    + _Sql(f" FROM (SELECT {pk} AS pk, {c} AS value FROM {table} t WHERE {pk} = ANY(%s)) x", [keep])
                    + f" WHERE {pk} = x.pk" + _returning(col, "x.value", c)
                )
                report.rewritten += _copy_into(undo, update)
                undo.sync()
        _advance(progress, batch_size, last=upto is None)


def _settings_rewrite(col: Column, rewriter: TextRewriter, olds: list[Prefix], undo: UndoLog | None,
                      checker: ObjectChecker | None, batch_size: int, report: ColumnReport,
                      missing: list[dict]) -> None:
    """Settings values: few rows, rewritten in Python by the string-boundary rules."""
    pk, value, table = _q(col.pk), _q(col.column), _q(col.table)
    hosts = sorted({p.authority.split("://", 1)[1] for p in olds})
    patterns = ["%" + re.sub(r"([\\%_])", r"\\\1", host) + "%" for host in hosts]
    dry_run = undo is None
    after = None
    while True:
        with transaction.atomic(using=DB), connections[DB].cursor() as cursor:
            cursor.execute(
                f"SELECT {pk}, {value} FROM {table} WHERE {value} ILIKE ANY(%s)"
                + (f" AND {pk} > %s" if after is not None else "")
                + f" ORDER BY {pk} LIMIT %s" + ("" if dry_run else " FOR UPDATE"),
                [patterns] + ([after] if after is not None else []) + [batch_size],
            )
            rows = cursor.fetchall()
            if not rows:
                return
            after = rows[-1][0]
            found = [(row_pk, text, rewriter.rewrite(text)[1]) for row_pk, text in rows]
            found = [item for item in found if item[2]]
            allow = None
            if checker is not None:
                present = checker.present(new_url for _, _, urls in found for _, new_url in urls)
                allow = present.__getitem__
                for row_pk, _, urls in found:
                    for old_url, new_url in urls:
                        if not present[new_url]:
                            report.missing_objects += 1
                            missing.append({"table": col.table, "column": col.column, "pk": row_pk, "url": old_url,
                                            "new_url": new_url, "key": checker.key(new_url)})
            report.matched += len(found)
            changes = []
            for row_pk, text, _ in found:
                new_text = rewriter.rewrite(text, allow)[0]
                if new_text != text:
                    changes.append((row_pk, text, new_text))
                    if len(report.samples) < SAMPLES:
                        report.samples.append({"pk": row_pk, "before": text, "after": new_text})
            if changes and not dry_run:
                cursor.execute(
                    f"UPDATE {table} t SET {value} = v.new"
                    f" FROM unnest(%s::{col.pk_type}[], %s::text[], %s::text[]) AS v(pk, old, new)"
                    f" WHERE t.{pk} = v.pk AND t.{value} = v.old RETURNING t.{pk}, v.old, v.new",
                    [[c[0] for c in changes], [c[1] for c in changes], [c[2] for c in changes]],
                )
                done = cursor.fetchall()
                undo.write_rows((col.table, row_pk, col.column, old, new) for row_pk, old, new in done)
                undo.sync()
                report.rewritten += len(done)


def storage_urls_rewrite(*, from_prefixes: list[str], to: str | None = None, dry_run: bool = False,
                         verify_objects: bool = False, undo_log: str | Path | None = None,
                         batch_size: int = DEFAULT_BATCH_SIZE, progress_stream: IO | None = None) -> RewriteReport:
    """Rewrite every stored file URL that starts with a --from prefix to start with --to instead."""
    if batch_size < 1:
        raise CutoverError(f"--batch-size must be a positive number, not {batch_size}")
    olds, new = _prefixes(from_prefixes, to)
    checker = ObjectChecker(new) if verify_objects else None
    undo = None if dry_run else UndoLog(Path(undo_log) if undo_log else default_undo_log_path())
    report = RewriteReport(
        from_prefixes=[p.text for p in olds], to=new.text, dry_run=dry_run, verify_objects=verify_objects,
        undo_log=str(undo.path) if undo else None, bucket=checker.bucket if checker else None,
    )
    started = time.monotonic()
    rewriter = TextRewriter(olds, new)
    try:
        for col in url_columns():
            column_report = ColumnReport(col.table, col.column)
            report.columns.append(column_report)
            if dry_run and checker is None:
                _column_dry_run(col, olds, new, column_report)
                continue
            with Progress(col.label, _estimate(col), stream=progress_stream) as progress:
                if checker is not None:
                    _column_verified(col, olds, new, undo, checker, batch_size, column_report,
                                     report.missing_objects, progress)
                else:
                    _column_rewrite(col, olds, new, undo, batch_size, column_report, progress)
        for col in settings_columns():
            column_report = ColumnReport(col.table, col.column)
            report.columns.append(column_report)
            _settings_rewrite(col, rewriter, olds, undo, checker, batch_size, column_report, report.missing_objects)
    except DatabaseError as error:
        if undo is None:
            raise
        raise CutoverError(
            f"database error: {first_line(error)} (the batches before it are committed; their undo log is {undo.path})"
        ) from error
    finally:
        if undo is not None:
            undo.close()
    report.seconds = time.monotonic() - started
    return report


# --- undo -------------------------------------------------------------------------------------

_UNDO_TABLE = "fynlo_storage_urls_undo"


def storage_urls_undo(*, undo_log: str | Path, dry_run: bool = False, batch_size: int = DEFAULT_BATCH_SIZE,
                      progress_stream: IO | None = None) -> UndoReport:
    """Put back the values an undo log recorded, wherever they still hold what the run wrote."""
    if batch_size < 1:
        raise CutoverError(f"--batch-size must be a positive number, not {batch_size}")
    path = Path(undo_log)
    if not path.is_file():
        raise CutoverError(f"the undo log {path} does not exist")
    known = {(col.table, col.column): col for col in url_columns() + settings_columns()}
    report = UndoReport(undo_log=str(path), dry_run=dry_run)
    started = time.monotonic()
    connection = connections[DB]
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{_UNDO_TABLE}")
        cursor.execute(
            f'CREATE TEMP TABLE {_UNDO_TABLE} ("table" text, pk text, "column" text, old text, new text,'
            " line bigserial PRIMARY KEY)"
        )
        try:
            _undo_load(cursor, path)
            cursor.execute(
                f'SELECT "table", "column", count(*), min(line), max(line) FROM {_UNDO_TABLE}'
                ' GROUP BY 1, 2 ORDER BY 1, 2'
            )
            groups = cursor.fetchall()
            for table, column, *_ in groups:
                if (table, column) not in known:
                    raise CutoverError(
                        f"the undo log {path} names {table}.{column}, which rewrite_storage_urls never changes"
                    )
            for table, column, logged, first, last in groups:
                col = known[(table, column)]
                column_report = UndoColumnReport(table, column, logged=logged)
                report.columns.append(column_report)
                _undo_column(cursor, col, first, last, dry_run, batch_size, column_report, report.conflicts,
                             progress_stream)
        finally:
            cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{_UNDO_TABLE}")
    report.seconds = time.monotonic() - started
    return report


def _undo_load(cursor, path: Path) -> None:
    try:
        with cursor.db.wrap_database_errors, open(path, "rb") as source, cursor.copy(
            f'COPY {_UNDO_TABLE} ("table", pk, "column", old, new) FROM STDIN WITH (FORMAT csv, HEADER MATCH)'
        ) as copy:
            while chunk := source.read(1 << 20):
                copy.write(chunk)
    except OSError as error:
        raise CutoverError(f"cannot read the undo log {path}: {error.strerror or error}") from error
    except DatabaseError as error:
        raise CutoverError(f"{path} is not an undo log of rewrite_storage_urls: {first_line(error)}") from error
    cursor.execute(f"ANALYZE {_UNDO_TABLE}")  # temporary tables are never auto-analyzed
    cursor.execute(f"SELECT count(*) FROM {_UNDO_TABLE} WHERE pk IS NULL OR old IS NULL OR new IS NULL")
    if cursor.fetchone()[0]:
        raise CutoverError(f"{path} is not an undo log of rewrite_storage_urls: lines with empty fields")


def _undo_column(cursor, col: Column, first: int, last: int, dry_run: bool, batch_size: int,
                 report: UndoColumnReport, conflicts: list[dict], progress_stream: IO | None) -> None:
    table, pk, column = _q(col.table), _q(col.pk), _q(col.column)
    joined = (
        f" FROM {_UNDO_TABLE} u LEFT JOIN {table} t ON t.{pk} = u.pk::{col.pk_type}"
        f' WHERE u."table" = %s AND u."column" = %s'
    )
    params = [col.table, col.column]
    try:
        cursor.execute(
            f"SELECT count(*) FILTER (WHERE t.{column} = u.new), count(*) FILTER (WHERE t.{column} = u.old)"
            + joined, params,
        )
        restorable, report.already_old = cursor.fetchone()
        cursor.execute(
            f"SELECT u.pk, u.old, u.new, t.{column}" + joined
            + f" AND t.{column} IS DISTINCT FROM u.new AND t.{column} IS DISTINCT FROM u.old ORDER BY u.line",
            params,
        )
    except DatabaseError as error:
        raise CutoverError(f"the undo log's lines for {col.label} are not valid: {first_line(error)}") from error
    for row_pk, old, new, current in cursor.fetchall():
        report.conflicts += 1
        conflicts.append({"table": col.table, "column": col.column, "pk": row_pk, "old": old, "new": new,
                          "current": current})
    if dry_run:
        report.restored = restorable
        return
    with Progress(f"undo {col.label}", last - first + 1, stream=progress_stream) as progress:
        for low in range(first, last + 1, batch_size):
            high = min(low + batch_size - 1, last)
            with transaction.atomic(using=DB):
                cursor.execute(
                    f"UPDATE {table} t SET {column} = u.old FROM {_UNDO_TABLE} u"
                    f' WHERE u.line BETWEEN %s AND %s AND u."table" = %s AND u."column" = %s'
                    f" AND t.{pk} = u.pk::{col.pk_type} AND t.{column} = u.new",
                    [low, high, *params],
                )
                report.restored += cursor.rowcount
            progress.update(high - low + 1)
