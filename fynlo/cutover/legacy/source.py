"""The legacy export, read as rows per table with their place in the source.

Sources: a folder, a .zip or a .tar.gz of one with one CSV file a table (below); a plain
`pg_dump` file (.sql, .sql.gz: its `COPY ... FROM stdin;` blocks, in PostgreSQL's text
format; every other statement is ignored and counted); a custom-format dump (.dump, turned
into the plain one by `pg_restore -f -`); a live `postgresql://` URL (every table read
through `COPY ... TO STDOUT` in one REPEATABLE READ READ ONLY transaction). Places are
`file.csv:LINE`, `dump.sql:LINE` or `table id=<key>`.

CSV files are found by name (`<table>_export.csv` or `<table>.csv`, anywhere in the folder or
archive). Text is decoded with the operator's encoding (UTF-8 by default, with or without
a byte-order mark). Records follow PostgreSQL's CSV format: comma-separated, fields quoted
with `"` when they hold commas, quotes or newlines, an unquoted empty field is NULL and a
quoted one ("") an empty string.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import shutil
import tarfile
import tempfile
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator, TextIO

from fynlo.cutover.common import CutoverError

CHUNK = 1 << 20
# A field may be as large as PostgreSQL's text allows (csv's default limit is 128 KiB).
csv.field_size_limit(2**31 - 1)
FILE_SUFFIXES = ("_export.csv", ".csv")


class ParseError(Exception):
    """The file is not readable CSV in the given encoding; nothing of it may be loaded."""

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


class QuotedEmpty(str):
    """A quoted empty field (""): an empty string, where an unquoted empty field is NULL."""


QUOTED_EMPTY = QuotedEmpty("")


class QuotedEmptyFields(list):
    """A CSV record's fields holding a quoted empty one (QUOTED_EMPTY): the only kind of CSV record
    that does, so the others need not be searched for one (catchup.raw_keyer)."""


class Rejected(list):
    """A row a format could not translate: its fields as far as known (in the target's
    header, so the reconciliation counts it) and the error that rejects it."""

    def __init__(self, fields, error):
        super().__init__(fields)
        self.error = error


class SkippedRun(list):
    """`count` rows of ours with consecutive ids from `first`, made from one record unchanged since
    and not made again (the lines of a fynlo-v1 order): counted by the importer as that many rows,
    with one call rather than one a row."""

    __slots__ = ("first", "count", "restaurant")

    def __init__(self, first: int, count: int, restaurant):
        super().__init__()
        self.first, self.count, self.restaurant = first, count, restaurant


def codec_name(encoding: str) -> str:
    """The codec to read with: UTF-8 reads (and drops) a byte-order mark too."""
    try:
        info = codecs.lookup(encoding)
    except LookupError as error:
        raise CutoverError(f"unknown encoding {encoding!r} (try utf-8 or cp1252)") from error
    return "utf-8-sig" if info.name in ("utf-8", "utf-8-sig") else info.name


CSV = "csv"  # a CSV file with its header line
COPY_TEXT = "copy"  # PostgreSQL's text COPY format (a dump's block, a live table): header known
ROWS = "rows"  # rows made by a format from other tables: header known


@dataclass
class SourceFile:
    """One table of the source: an export file, a dump's COPY block or a live table."""

    table: str
    name: str
    size: int
    _opener: object = field(repr=False, default=None)
    encoding: str = "utf-8-sig"
    kind: str = CSV
    header: list[str] | None = None  # known without reading the rows (COPY_TEXT, ROWS)
    rows: int | None = None  # known without reading them (a dump's block)
    start_line: int = 1  # the line of the header (a dump: of its COPY statement)
    _reader: object = field(repr=False, default=None)  # () -> iterator of (place, fields), no header
    _counter: object = field(repr=False, default=None)  # () -> rows (a live table)
    keyed: bool = False  # places are keys (`id=<uuid>`), not line numbers
    # the columns the source declares json or jsonb (a dump's CREATE TABLE, a live table's catalog); a
    # CSV file declares no type
    json_columns: frozenset[str] = frozenset()

    def open_bytes(self) -> BinaryIO:
        return self._opener()

    def open_text(self) -> TextIO:
        return io.TextIOWrapper(self.open_bytes(), encoding=self.encoding, newline="", errors="strict")

    def place(self, line) -> str:
        """Where a row is, in the operator's words: `orders.csv:12`, `dump.sql:4711`, `orders id=<uuid>`."""
        if isinstance(line, int):
            return f"{self.name}:{line}"
        return f"{self.table} {line}" if self.keyed else str(line)


def read_records(source_file: SourceFile, *, skip=None) -> Iterator[tuple[object, list[str] | None]]:
    """(place, fields) of every row of a table, its header left out. Raises ParseError.
    `skip`: see `records` (a CSV file's; the other kinds' records are all parsed)."""
    if source_file.kind == CSV:
        with source_file.open_text() as stream:
            iterator = records(stream, skip=skip)
            next(iterator, None)
            yield from iterator
        return
    yield from source_file._reader()


@dataclass
class Source:
    path: Path
    files: dict[str, SourceFile]
    ignored: list[str]
    _cleanup: list = field(default_factory=list, repr=False)
    ignored_statements: int = 0  # a dump's statements other than its COPY blocks

    def close(self) -> None:
        for action in self._cleanup:
            action()
        self._cleanup.clear()

    def __enter__(self) -> "Source":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _table_of(name: str, tables: set[str] | None) -> str | None:
    lower = name.lower()
    for suffix in FILE_SUFFIXES:
        if lower.endswith(suffix) and (tables is None or lower[: -len(suffix)] in tables):
            return lower[: -len(suffix)]
    return None


def _collect(entries: list[tuple[str, int, object]], tables: set[str], encoding: str, path: Path):
    files: dict[str, SourceFile] = {}
    ignored: list[str] = []
    for name, size, opener in sorted(entries, key=lambda entry: entry[0]):
        base = name.rsplit("/", 1)[-1]
        if not base.lower().endswith(".csv"):
            continue
        table = _table_of(base, tables)
        if table is None:
            ignored.append(name)
            continue
        if table in files:
            raise CutoverError(f"{path}: two files for table {table}: {files[table].name} and {name}")
        files[table] = SourceFile(table=table, name=name, size=size, _opener=opener, encoding=encoding)
    return files, ignored


DUMP_SUFFIXES = (".sql", ".sql.gz", ".dump", ".backup")


def read_ahead(paths: list[Path]) -> threading.Thread | None:
    """Ask the kernel to read these files into its page cache now (POSIX_FADV_WILLNEED), in the
    background, in the order given, so the import finds them in memory rather than waiting for the disk
    when their turn comes. An export written an hour before is cold on a machine that keeps little
    page cache: a 1M-order fynlo-v1 catch-up waited 14.5s and 34.1s for its orders and order lines
    with its CSV folder cold, 1.0s and 5.3s with it read beforehand (its database cold in both).
    Advice only: nothing waits for it, and a file it cannot open is left to the reader to report.
    None where the platform has no posix_fadvise."""
    if not hasattr(os, "posix_fadvise"):
        return None

    def advise() -> None:
        for target in paths:
            try:
                fd = os.open(target, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
            except OSError:
                pass
            finally:
                os.close(fd)

    thread = threading.Thread(target=advise, daemon=True, name="migrate_legacy read-ahead")
    thread.start()
    return thread


def is_url(text: str) -> bool:
    return str(text).startswith(("postgresql://", "postgres://"))


def open_source(path: str | Path, *, tables: list[str] | None, encoding: str = "utf-8") -> Source:
    """Open a folder, .zip, .tar.gz (.tgz) or .tar of CSV files, a pg_dump file or a live URL.
    `tables`: the tables to look for (None: every table the source holds)."""
    from fynlo.cutover.legacy import dump  # the dump and URL readers

    if is_url(str(path)):
        return dump.open_url(str(path), tables=tables)
    path = Path(path)
    codec = codec_name(encoding)
    known = set(tables) if tables is not None else None
    if path.is_file() and path.name.lower().endswith(DUMP_SUFFIXES):
        return dump.open_dump(path, tables=tables, encoding=codec)
    if not path.exists():
        raise CutoverError(f"{path}: no such file or folder")
    if path.is_dir():
        entries = [
            (str(p.relative_to(path)), p.stat().st_size, (lambda p=p: open(p, "rb")))
            for p in path.rglob("*") if p.is_file()
        ]
        files, ignored = _collect(entries, known, codec, path)
        # smallest first: the small tables load first, and the big files' reads go on behind them
        read_ahead([path / file.name for file in sorted(files.values(), key=lambda file: file.size)])
        return Source(path, files, ignored)
    lower = path.name.lower()
    if lower.endswith(".zip"):
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as error:
            raise CutoverError(f"{path}: not a readable zip file ({error})") from error
        entries = [
            (info.filename, info.file_size, (lambda info=info: archive.open(info)))
            for info in archive.infolist() if not info.is_dir()
        ]
        files, ignored = _collect(entries, known, codec, path)
        return Source(path, files, ignored, [archive.close])
    if lower.endswith((".tar.gz", ".tgz", ".tar")):
        return _open_tar(path, known, codec)
    raise CutoverError(
        f"{path}: expected a folder, a .zip or a .tar.gz of CSV files, a pg_dump file (.sql, .sql.gz, .dump) "
        f"or a postgresql:// URL"
    )


def _open_tar(path: Path, known: set[str], codec: str) -> Source:
    """A tar archive is read front to back once: its CSV files go to a private temporary
    folder (a gzip stream cannot be re-read from the middle)."""
    folder = Path(tempfile.mkdtemp(prefix="migrate_legacy_"))
    entries = []
    try:
        with tarfile.open(path, "r:*") as archive:
            for index, member in enumerate(archive):
                if not member.isfile() or not member.name.lower().endswith(".csv"):
                    continue
                target = folder / f"{index}.csv"
                with archive.extractfile(member) as data, open(target, "wb") as out:
                    shutil.copyfileobj(data, out, CHUNK)
                entries.append((member.name, member.size, (lambda target=target: open(target, "rb"))))
    except (tarfile.TarError, OSError, EOFError) as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise CutoverError(f"{path}: not a readable tar archive ({error})") from error
    files, ignored = _collect(entries, known, codec, path)
    return Source(path, files, ignored, [lambda: shutil.rmtree(folder, ignore_errors=True)])


# --- Records -------------------------------------------------------------------------------

def _has_quoted_empty(record: str) -> bool:
    """Whether a record may hold a quoted empty field (""): the one case where csv's reader
    loses the NULL/empty distinction, so such records are re-read field by field. (A
    false positive only costs the slower, exact reading.)"""
    if ',""' not in record and not record.startswith('""'):
        return False
    text = record.rstrip("\r\n")
    return ',"",' in text or text.startswith('"",') or text.endswith(',""') or text == '""'


def _exact_fields(record: str) -> list[str]:
    """Split one record (already known to be valid CSV), keeping "" apart from NULL."""
    text = record.rstrip("\r\n")
    fields: list[str] = []
    i, n = 0, len(text)
    while True:
        if i < n and text[i] == '"':
            i += 1
            parts = []
            while True:
                j = text.index('"', i)
                parts.append(text[i:j])
                if j + 1 < n and text[j + 1] == '"':
                    parts.append('"')
                    i = j + 2
                    continue
                i = j + 1
                break
            value = "".join(parts)
            fields.append(value if value else QUOTED_EMPTY)
            if i >= n:
                return fields
            i += 1  # the comma
        else:
            j = text.find(",", i)
            if j < 0:
                fields.append(text[i:])
                return fields
            fields.append(text[i:j])
            i = j + 1


class _Feed:
    """Feeds physical lines to csv's reader, counting them and keeping the current record's."""

    __slots__ = ("lines", "pending", "number", "raw")

    def __init__(self, lines: Iterator[str]):
        self.lines = lines
        self.pending: str | None = None
        self.number = 0
        self.raw: list[str] = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.pending is not None:
            line, self.pending = self.pending, None
        else:
            line = next(self.lines)
            self.number += 1
        self.raw.append(line)
        return line


def records(stream: TextIO, *, skip=None) -> Iterator[tuple[int, list[str] | None]]:
    """(line where the record starts, fields) for each record; the header is line 1.

    Lines without a quote (most of them) are split directly; the others go through csv's
    reader in strict mode. Empty lines are skipped. Raises ParseError.

    `skip`: a function of a line's text before its first comma; a record on one line (its quotes
    balanced) for which it is true comes as (line, None), not parsed or checked (a caller that
    needs only the records it does not know yet: a catch-up's keys, fynlo_v1.Translation._keys).
    """
    lines = iter(stream)
    feed = _Feed(lines)
    reader = csv.reader(feed, strict=True)
    start = number = 0
    try:
        for line in lines:
            number += 1
            if skip is not None and number > 1:
                comma = line.find(",")
                if comma > 0 and skip(line[:comma]) and not line.count('"') % 2:
                    yield number, None
                    continue
            if '"' not in line:
                if "\x00" in line:
                    raise ParseError(number, "NUL character in the data")
                text = line.rstrip("\r\n")
                if text:
                    yield number, text.split(",")
                continue
            start = feed.number = number
            feed.pending = line
            feed.raw = []
            fields = next(reader)
            number = feed.number
            record = line if len(feed.raw) == 1 else "".join(feed.raw)
            if "\x00" in record:
                raise ParseError(start, "NUL character in the data")
            if '""' in record and _has_quoted_empty(record):
                fields = QuotedEmptyFields(_exact_fields(record))
            if fields:
                yield start, fields
    except (csv.Error, StopIteration) as error:
        message = str(error)
        if isinstance(error, StopIteration) or "end of data" in message:
            raise ParseError(start, "a quoted field opened on this line is never closed") from None
        raise ParseError(max(number, feed.number), message) from None
    except UnicodeDecodeError as error:
        raise ParseError(max(number, feed.number) + 1, _decode_message(error)) from None


def _decode_message(error: UnicodeDecodeError) -> str:
    byte = error.object[error.start:error.start + 1].hex()
    return f"not valid {error.encoding} (byte 0x{byte}); pass --encoding (e.g. cp1252)"


# How files that are not text begin: a file renamed to .csv is no CSV in any encoding.
BINARY_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a zip archive (an .xlsx workbook is one)"),
    (b"\x1f\x8b", "gzip data"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office document (.xls)"),
)
SNIFF = 8192
# Control bytes no text holds (tab, line ends, form feed and escape aside). A text file with a
# stray NUL is still text (the line is reported); one whose head is a tenth control bytes is not.
CONTROL_BYTES = bytes([*range(0, 9), *range(14, 27), *range(28, 32)])


def not_text(head: bytes, encoding: str) -> str | None:
    """What a file that begins with `head` is, if it is not text (else None)."""
    for signature, kind in BINARY_SIGNATURES:
        if head.startswith(signature):
            return kind
    if encoding.startswith(("utf-16", "utf-32")) or b"\x00" not in head:
        return None
    controls = len(head) - len(head.translate(None, CONTROL_BYTES))
    return "binary data (NUL and other control bytes)" if controls * 10 > len(head) else None


def check_text(source_file: SourceFile) -> None:
    """Raise ParseError if the file is not text (an image, an archive): no --encoding reads it."""
    with source_file.open_bytes() as data:
        kind = not_text(data.read(SNIFF), source_file.encoding)
    if kind is not None:
        raise ParseError(1, f"not a CSV text file: it is {kind}")


def first_record(source_file: SourceFile) -> tuple[int, list[str]] | None:
    """The file's first record (its header), once the file is known to be text. Raises ParseError."""
    if source_file.kind != CSV:
        return source_file.start_line, list(source_file.header)
    check_text(source_file)
    with source_file.open_text() as stream:
        return next(records(stream), None)


@dataclass
class Scan:
    rows: int  # records after the header (exact when the file holds no quote)
    header: list[str]


def scan(source_file: SourceFile) -> Scan:
    """Check that a whole file decodes and parses before any of it is loaded, and count
    its records (the progress bar's total). Raises ParseError with the line."""
    if source_file.kind != CSV:
        rows = source_file.rows
        if rows is None:
            rows = source_file._counter() if source_file._counter else 0
        return Scan(rows=rows, header=list(source_file.header))
    check_text(source_file)
    decoder = codecs.getincrementaldecoder(source_file.encoding)(errors="strict")
    newlines = 0
    quoted = False
    tail = ""
    with source_file.open_bytes() as data:
        while True:
            chunk = data.read(CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                line = newlines + chunk[: max(error.start, 0)].count(b"\n") + 1
                raise ParseError(line, _decode_message(error)) from None
            if "\x00" in text:
                raise ParseError(newlines + text[: text.index("\x00")].count("\n") + 1, "NUL character in the data")
            newlines += text.count("\n")
            quoted = quoted or '"' in text
            if text:
                tail = text[-1]
            if not chunk:
                break
    lines = newlines + (1 if tail and tail != "\n" else 0)
    with source_file.open_text() as stream:
        first = next(records(stream), None)
    if first is None:
        raise ParseError(1, "the file is empty (no header line)")
    if not quoted:
        return Scan(rows=max(lines - 1, 0), header=first[1])
    # quotes: the records that hold one must be read as CSV to know that the file parses
    with source_file.open_text() as stream:
        rows = _count_records(stream) - 1
    return Scan(rows=rows, header=first[1])


def _count_records(stream: TextIO) -> int:
    """The records of a file, read as `records` reads them, without splitting the lines that
    hold no quote. Raises ParseError."""
    lines = iter(stream)
    feed = _Feed(lines)
    reader = csv.reader(feed, strict=True)
    count = start = 0
    try:
        for line in lines:
            feed.number += 1
            if '"' not in line:
                if line != "\n" and line != "\r\n":
                    count += 1
                continue
            start = feed.number
            feed.pending = line
            feed.raw = []
            if next(reader):
                count += 1
    except (csv.Error, StopIteration) as error:
        message = str(error)
        if isinstance(error, StopIteration) or "end of data" in message:
            raise ParseError(start, "a quoted field opened on this line is never closed") from None
        raise ParseError(feed.number, message) from None
    return count
