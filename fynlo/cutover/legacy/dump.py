"""Tables of a `pg_dump` file or of a live database, in PostgreSQL's text COPY format.

A plain dump is indexed once (where each `COPY ... FROM stdin;` block starts, its columns,
its line and row count, and which columns its `CREATE TABLE` declares json or jsonb); a table is
then read from its block alone. A gzip-compressed dump,
and a custom-format one (through `pg_restore -f -`), first become a plain file in a private
temporary folder: their streams cannot be re-read from the middle. A live database is read
in one REPEATABLE READ READ ONLY transaction, so every table comes from the same snapshot; its
catalog says which columns are json or jsonb.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import psycopg
from psycopg import sql

from fynlo.cutover.common import CutoverError, first_line
from fynlo.cutover.legacy.source import CHUNK, COPY_TEXT, QUOTED_EMPTY, ParseError, Source, SourceFile

_NAME = rb'((?:"[^"]+"|[\w$]+)(?:\.(?:"[^"]+"|[\w$]+))?)'  # a table's name, as pg_dump writes it
_COPY = re.compile(rb'COPY ' + _NAME + rb' \(([^)]*)\) FROM stdin;\r?\n')
_CREATE = re.compile(rb'CREATE (?:UNLOGGED )?TABLE ' + _NAME + rb' \(\r?\n')
# a column line of a CREATE TABLE whose type is json or jsonb (not an array of them: jsonb[])
_JSON_COLUMN = re.compile(rb'    ("(?:[^"]|"")+"|[^\s"]+) jsonb?(?=[ ,\r\n]|$)')
_END = b"\\.\n"
_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9a-fA-F]{1,2})|(.))", re.S)
_SIMPLE_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _unquote(name: str) -> str:
    return name[1:-1].replace('""', '"') if name.startswith('"') else name.lower()


def _unescape_match(match: re.Match) -> str:
    octal, hexa, other = match.groups()
    if octal is not None:
        return chr(int(octal, 8))
    if hexa is not None:
        return chr(int(hexa, 16))
    return _SIMPLE_ESCAPES.get(other, other)


def copy_fields(line: str) -> list[str]:
    """One line of text COPY (no line end) as fields: `\\N` is NULL (""), an empty field the
    empty string (QUOTED_EMPTY, as a quoted "" of CSV), backslash escapes decoded."""
    fields = line.split("\t")
    if "\\" not in line:
        if "" in fields:
            return [value or QUOTED_EMPTY for value in fields]
        return fields
    out = []
    for value in fields:
        if value == "\\N":
            out.append("")
        elif not value:
            out.append(QUOTED_EMPTY)
        elif "\\" in value:
            out.append(_ESCAPE.sub(_unescape_match, value) or QUOTED_EMPTY)
        else:
            out.append(value)
    return out


def _count_lines(handle, start: int, end: int) -> int:
    handle.seek(start)
    count, left = 0, end - start
    while left > 0:
        chunk = handle.read(min(CHUNK * 16, left))
        if not chunk:
            break
        count += chunk.count(b"\n")
        left -= len(chunk)
    return count


def _plain_copy(path: Path, folder: Path) -> Path:
    """A plain dump to read: the file itself, or its gunzipped / pg_restored copy."""
    lower = path.name.lower()
    if lower.endswith(".sql"):
        return path
    target = folder / "dump.sql"
    if lower.endswith(".gz"):
        try:
            with gzip.open(path, "rb") as data, open(target, "wb") as out:
                shutil.copyfileobj(data, out, CHUNK)
        except (OSError, EOFError) as error:
            raise CutoverError(f"{path}: not a readable gzip file ({error})") from error
        return target
    pg_restore = shutil.which("pg_restore")
    if pg_restore is None:
        raise CutoverError(
            f"{path}: a custom-format dump needs pg_restore, which is not on this machine's PATH "
            f"(install the PostgreSQL client, or give the plain dump: pg_dump -Fp)"
        )
    with open(target, "wb") as out:
        # the whole plain script (its CREATE TABLE statements declare the json columns), as pg_dump -Fp writes it
        done = subprocess.run([pg_restore, "-f", "-", str(path)], stdout=out, stderr=subprocess.PIPE)
    if done.returncode != 0:
        raise CutoverError(f"{path}: pg_restore could not read it: {first_line(done.stderr.decode(errors='replace'))}")
    return target


def open_dump(path: Path, *, tables: list[str] | None, encoding: str) -> Source:
    """The COPY blocks of a plain (or gzipped, or custom-format) pg_dump file."""
    folder = Path(tempfile.mkdtemp(prefix="migrate_legacy_"))
    cleanup = [lambda: shutil.rmtree(folder, ignore_errors=True)]
    try:
        plain = _plain_copy(path, folder)
        blocks, ignored_statements, declared = _index(plain)
    except BaseException:
        cleanup[0]()
        raise
    known = set(tables) if tables is not None else None
    files: dict[str, SourceFile] = {}
    ignored: list[str] = []
    for name, table, columns, offset, line, rows in blocks:
        if known is not None and table not in known:
            ignored.append(f"COPY {table} (line {line})")
            continue
        if table in files:
            raise CutoverError(f"{path}: two COPY blocks for table {table} (lines {files[table].start_line} and {line})")
        files[table] = SourceFile(
            table=table, name=path.name, size=0, encoding=encoding, kind=COPY_TEXT, header=columns, rows=rows,
            start_line=line, _reader=_block_reader(plain, offset, line, encoding),
            json_columns=declared.get(name, frozenset()),
        )
    return Source(path, files, ignored, cleanup, ignored_statements=ignored_statements)


def _index(plain: Path) -> tuple[list, int, dict[str, frozenset[str]]]:
    """(name as written, table, columns, offset of the first row, line of the COPY statement, rows)
    of each block, how many other statements the file holds, and the json columns its CREATE TABLE
    statements declare (by the table's name as written). Lines outside the blocks (the schema) are
    read one by one; a block is skipped by searching for its end."""
    blocks = []
    ignored = 0
    declarations = _Declarations()
    with open(plain, "rb") as handle:
        line = 0
        while True:
            raw = handle.readline()
            if not raw:
                break
            line += 1
            statement = _COPY.fullmatch(raw) if raw.startswith(b"COPY ") else None
            if statement is None:
                declarations.read(raw)
                if raw.rstrip().endswith(b";"):
                    ignored += 1
                continue
            body = handle.tell()
            end = _find(handle, body)
            if end is None:
                raise CutoverError(f"{plain.name}:{line}: the COPY block is never ended by \\.")
            rows = _count_lines(handle, body, end)
            name = statement.group(1).decode()
            table = _unquote(_NAME_PARTS.findall(name)[-1])
            columns = [_unquote(column.strip()) for column in statement.group(2).decode().split(",")]
            blocks.append((name, table, columns, body, line, rows))
            line += rows + 1  # the rows and the \.
            handle.seek(end)
            handle.readline()
    return blocks, ignored, declarations.tables


class _Declarations:
    """The json and jsonb columns of the tables a dump's CREATE TABLE statements declare, read from
    the schema's lines as they go by: what tells a JSON value from a text that looks like one."""

    def __init__(self):
        self.tables: dict[str, frozenset[str]] = {}
        self._table: str | None = None  # the table whose CREATE TABLE is being read
        self._columns: list[str] = []

    def read(self, raw: bytes) -> None:
        if self._table is None:
            created = _CREATE.fullmatch(raw) if raw.startswith(b"CREATE ") else None
            if created is not None:
                self._table, self._columns = created.group(1).decode(), []
        elif raw.startswith(b")"):
            self.tables[self._table] = frozenset(self._columns)
            self._table = None
        else:
            column = _JSON_COLUMN.match(raw)
            if column is not None:
                self._columns.append(_unquote(column.group(1).decode()))


_NAME_PARTS = re.compile(r'"(?:[^"]|"")+"|[^".]+')


def _find(handle, start: int) -> int | None:
    """The offset of the line `\\.` that ends a block whose rows begin at `start`, or None."""
    handle.seek(start)
    if handle.read(len(_END)) == _END:
        return start
    needle = b"\n" + _END
    handle.seek(start)
    offset, carry = start, b""
    while True:
        chunk = handle.read(CHUNK * 8)
        if not chunk:
            return None
        data = carry + chunk
        index = data.find(needle)
        if index >= 0:
            return offset - len(carry) + index + 1
        carry = data[-(len(needle) - 1):]
        offset += len(chunk)


def _block_reader(plain: Path, offset: int, line: int, encoding: str):
    def read() -> Iterator[tuple[int, list[str]]]:
        number = line
        with open(plain, "rb") as handle:
            handle.seek(offset)
            for raw in handle:
                number += 1
                if raw == _END or raw == b"\\.\r\n":
                    return
                try:
                    text = raw.decode(encoding)
                except UnicodeDecodeError as error:
                    raise ParseError(number, f"not valid {encoding} (byte 0x{raw[error.start:error.start + 1].hex()})")
                yield number, copy_fields(text[:-1] if text.endswith("\n") else text)
            raise ParseError(number, "the COPY block is never ended by \\.")

    return read


# --- A live database ------------------------------------------------------------------------


def open_url(url: str, *, tables: list[str] | None) -> Source:
    """Every table of a live database's `public` schema (or the `tables` asked for), read in one
    REPEATABLE READ READ ONLY transaction: the same snapshot for all of them."""
    try:
        conn = psycopg.connect(url, application_name="migrate_legacy (reading)")
    except psycopg.Error as error:
        raise CutoverError(f"cannot connect to the legacy database: {first_line(error)}") from error
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    columns: dict[str, list[str]] = {}
    json_columns: dict[str, set[str]] = {}
    # (data_type: a domain's is its base type's, an array's ARRAY)
    for table, column, data_type in conn.execute(
        "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c"
        " JOIN information_schema.tables t USING (table_schema, table_name)"
        " WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' ORDER BY c.table_name, c.ordinal_position"
    ):
        columns.setdefault(table, []).append(column)
        if data_type in ("json", "jsonb"):
            json_columns.setdefault(table, set()).add(column)
    known = set(tables) if tables is not None else None
    files = {}
    ignored = []
    shown = re.sub(r"//[^@/]*@", "//", url)  # no password in reports
    for table, names in columns.items():
        if known is not None and table not in known:
            ignored.append(table)
            continue
        files[table] = SourceFile(
            table=table, name=table, size=0, kind=COPY_TEXT, header=names, keyed=True, start_line=0,
            _reader=_table_reader(conn, table, names), _counter=_table_counter(conn, table),
            json_columns=frozenset(json_columns.get(table, ())),
        )

    def close() -> None:
        if not conn.closed:
            conn.rollback()
            conn.close()

    source = Source(Path(shown.replace("://", ":")), files, ignored, [close])
    source.path = shown  # printed as given (less the password)
    return source


def _table_counter(conn, table: str):
    return lambda: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("public", table))).fetchone()[0]


def _table_reader(conn, table: str, names: list[str]):
    key = names.index("id") if "id" in names else None

    def read() -> Iterator[tuple[str, list[str]]]:
        query = sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT").format(
            sql.SQL(", ").join(map(sql.Identifier, names)), sql.Identifier("public", table)
        )
        number = 0
        rest = b""
        with conn.cursor().copy(query) as copy:
            for block in copy:
                lines = (rest + bytes(block)).split(b"\n")
                rest = lines.pop()
                for raw in lines:
                    number += 1
                    fields = copy_fields(raw.decode("utf-8"))
                    yield (f"id={fields[key]}" if key is not None else f"row {number}"), fields
        if rest:
            fields = copy_fields(rest.decode("utf-8"))
            yield (f"id={fields[key]}" if key is not None else f"row {number + 1}"), fields

    return read
