"""migrate_legacy vs `psql \\copy` of the same files into the guide's own tables.

A synthetic export (1M orders, ~3M order items, ~1M payments by default; BENCH_LEGACY_ORDERS
to change) is generated once (cached under BENCH_LEGACY_DIR, default /tmp). The benchmark
takes its orders, order_items and payments and their parents (platforms, restaurants,
users, categories, products, employees). In the same run:

- the limit: `psql \\copy` of each of those files, parents first, into empty tables made from
  the guide's "Complete Database Schema Definition" DDL (bench/guide_schema.sql: its foreign
  keys and constraints), in a schema `guide` of the benchmark database;
- the subject: `manage.py migrate_legacy SOURCE --only <those tables>` into the emptied
  schema, end to end: its own process from start to exit (Django start-up, parse checks,
  validation, COPY, foreign keys and indexes put back, sequences, statistics, the
  reconciliation), its peak RSS measured by the kernel.

Printed: end-to-end rows/s of both and their ratio (target >= 0.8x), each table's rows/s
from the command's report, and the peak RSS (target <= 300 MB).

Then the fynlo-v1 case (the real legacy Fynlo database, BENCH_LEGACY_FORMATS=guide,fynlo-v1 by
default): the same number of legacy orders (~3 lines each in `orders.items`, ~1 payment each,
their parents) from `generate_legacy_export --format fynlo-v1`, as a CSV folder and a plain
dump. The limit: `psql \\copy` of the CSV files into the legacy DDL (tests/data/fynlo_v1_schema.sql)
in an empty database; that database is then the live URL source. The subject: migrate_legacy
from the CSV folder, from the dump (targets >= 0.8x) and from the URL (>= 0.6x), end to end;
rows counted are the legacy rows plus the order lines, the same for both sides.

After the import from the CSV folder, the write floor of what it wrote (unless BENCH_LEGACY_FLOOR=0):
our tables' rows and the import's bookkeeping (id map, archive, row hashes), as that import left
them, loaded the fastest way PostgreSQL offers into an emptied copy of the database: foreign keys
and secondary indexes dropped, `psql \\copy` of each table, then the indexes built and the keys
added. What no importer writing those rows can beat; printed with the legacy `\\copy` as a
ratio, beside the target's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import bench_database, connect, setup_django

HOT_TABLES = ("orders", "order_items", "payments")
PARENTS = ("platforms", "restaurants", "users", "categories", "products", "employees")
TARGET_RATIO = 0.8
TARGET_RSS_MB = 300
# Columns of our schema that the guide uses elsewhere but never defines (DESIGN.md, "Data model").
GUIDE_COMPLETIONS = ("ALTER TABLE users ADD COLUMN profile_image_url TEXT", "ALTER TABLE orders ADD COLUMN receipt_url TEXT")
GUIDE_SCHEMA = Path(__file__).with_name("guide_schema.sql")
# migrate_legacy's memory of its runs: emptied with the tables, so every import timed is a first import
BOOKKEEPING = "legacy_import_keyed_changes, legacy_import_changes, legacy_import_rows, legacy_import_runs"


def guide_ddl() -> list[str]:
    """The guide's CREATE TABLE statements (bench/guide_schema.sql, copied from the migration guide)."""
    return re.findall(r"^CREATE TABLE \w+ \(.*?\n\);", GUIDE_SCHEMA.read_text(encoding="utf-8"), re.DOTALL | re.MULTILINE)


def export(orders: int) -> tuple[Path, dict]:
    from fynlo.cutover.legacy.generate import generate_export

    folder = Path(os.environ.get("BENCH_LEGACY_DIR", tempfile.gettempdir())) / f"fynlo_bench_legacy_export_{orders}"
    manifest_path = folder / "manifest.json"
    if manifest_path.exists():
        return folder, json.loads(manifest_path.read_text())
    print(f"generating an export of {orders:,} orders in {folder} ...", flush=True)
    restaurants = max(2, min(50, orders // 20_000))
    manifest = generate_export(folder, platforms=2, restaurants_per_platform=restaurants // 2, orders=orders, seed=1)
    data = manifest.as_dict()
    manifest_path.write_text(json.dumps(data, default=str))
    return folder, data


def psql_url(conn) -> tuple[str, dict]:
    info = conn.info
    env = {**os.environ, "PGPASSWORD": info.password or "", "PGOPTIONS": "-c search_path=guide"}
    return f"host={info.host} port={info.port} dbname={info.dbname} user={info.user}", env


def psql_binary() -> str | None:
    """The machine's psql, else the one pgserver (the embedded PostgreSQL) ships."""
    found = shutil.which("psql")
    if found:
        return found
    try:
        from pgserver._commands import POSTGRES_BIN_PATH
    except ImportError:
        return None
    bundled = Path(POSTGRES_BIN_PATH) / "psql"
    return str(bundled) if bundled.exists() else None


def psql(url: str, env: dict, command: str) -> None:
    """One psql command (a `\\copy`), stopping at its first error."""
    subprocess.run([psql_binary() or "psql", url, "-v", "ON_ERROR_STOP=1", "-qc", command], env=env, check=True)


def psql_copy(url: str, env: dict, table: str, path: Path) -> float:
    with open(path, encoding="utf-8") as file:
        header = file.readline().strip().lstrip("\ufeff")
    started = time.perf_counter()
    psql(url, env, f"\\copy {table} ({header}) FROM '{path}' WITH (FORMAT csv, HEADER true)")
    return time.perf_counter() - started


def limit(folder: Path) -> dict[str, float]:
    """psql \\copy into empty guide tables, parents first; seconds per table."""
    owner = connect("owner")
    owner.execute("DROP SCHEMA IF EXISTS guide CASCADE")
    owner.execute("CREATE SCHEMA guide")
    owner.execute("SET search_path = guide")
    for statement in guide_ddl() + list(GUIDE_COMPLETIONS):
        owner.execute(statement)
    url, env = psql_url(owner)
    seconds = {table: psql_copy(url, env, table, folder / f"{table}_export.csv") for table in PARENTS + HOT_TABLES}
    owner.execute("DROP SCHEMA guide CASCADE")
    owner.close()
    return seconds


def subject(folder: Path, database: str) -> tuple[dict, float, float]:
    """migrate_legacy in its own process: (report, wall seconds, peak RSS in MB)."""
    from fynlo.cutover.legacy.schema import table_specs

    owner = connect("owner")
    owner.execute(f"TRUNCATE {', '.join(table_specs())}, {BOOKKEEPING} RESTART IDENTITY CASCADE")
    owner.close()
    report, wall, rss, code = migrate_legacy_process(
        folder, database, ["--only", *PARENTS, *HOT_TABLES, "--timezone", "UTC"],
        folder.parent / f"{folder.name}.report.json", folder.parent / f"{folder.name}.rejects",
    )
    if code != 0:
        raise SystemExit(f"migrate_legacy exited {code}; see {folder.parent / f'{folder.name}.report.json'}")
    return report, wall, rss


def migrate_legacy_process(source, database: str, args: list[str], report_path: Path,
                           rejects: Path) -> tuple[dict | None, float, float, int]:
    """`manage.py migrate_legacy SOURCE ARGS` in its own process against the benchmark database,
    end to end: (its JSON report, wall seconds from start to exit, peak RSS in MB, exit code)."""
    from django.conf import settings

    report_path.unlink(missing_ok=True)
    env = {**os.environ, "DATABASE_URL": database_url("default", database),
           "DATABASE_OWNER_URL": database_url("owner", database)}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "migrate_legacy", str(source), *args,
         "--report", str(report_path), "--rejects", str(rejects)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    return report, wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def database_url(alias: str, database: str) -> str:
    from urllib.parse import quote

    from django.db import connections

    config = connections[alias].settings_dict
    return (f"postgresql://{quote(config['USER'], safe='')}:{quote(config['PASSWORD'] or '', safe='')}"
            f"@{config['HOST'] or '127.0.0.1'}:{config['PORT'] or 5432}/{database}")


# -- fynlo-v1 --

FYNLO_V1_SCHEMA = Path(__file__).resolve().parent.parent / "tests" / "data" / "fynlo_v1_schema.sql"
TARGET_URL_RATIO = 0.6


def fynlo_v1_export(orders: int) -> tuple[Path, Path, dict]:
    from fynlo.cutover.legacy.generate_v1 import generate_fynlo_v1

    folder = Path(os.environ.get("BENCH_LEGACY_DIR", tempfile.gettempdir())) / f"fynlo_bench_fynlo_v1_{orders}"
    manifest_path, dump = folder / "manifest.json", folder / "fynlo_backup.sql"
    if manifest_path.exists():
        return folder / "csv", dump, json.loads(manifest_path.read_text())
    print(f"generating a fynlo-v1 legacy database of {orders:,} orders in {folder} ...", flush=True)
    restaurants = max(2, min(50, orders // 20_000))
    manifest = generate_fynlo_v1(folder / "csv", platforms=2, restaurants_per_platform=restaurants // 2,
                                 orders=orders, seed=1, dump=dump)
    data = manifest.as_dict()
    manifest_path.write_text(json.dumps(data, default=str))
    return folder / "csv", dump, data


def fynlo_v1_limit(folder: Path, database: str) -> tuple[float, str]:
    """psql \\copy of every CSV file into the legacy DDL in an empty database: (seconds, its URL)."""
    from fynlo.cutover.legacy.generate_v1 import TABLES

    name = f"{database}_legacy_v1"
    admin = connect("owner")
    admin.autocommit = True
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    url = database_url("owner", name)
    with psycopg_connect(url) as conn:
        conn.execute(FYNLO_V1_SCHEMA.read_text(encoding="utf-8"))
    env = {**os.environ, "PGOPTIONS": "-c TimeZone=UTC"}
    seconds = sum(psql_copy(url, env, table, folder / f"{table}.csv") for table in TABLES)
    return seconds, url


def psycopg_connect(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True)


def fynlo_v1_subject(source, database: str, label: str) -> tuple[dict, float, float]:
    from fynlo.cutover.legacy.schema import table_specs

    owner = connect("owner")
    owner.execute(f"TRUNCATE {', '.join(table_specs())}, legacy_id_map, legacy_archive, {BOOKKEEPING}"
                  " RESTART IDENTITY CASCADE")
    owner.close()
    base = Path(os.environ.get("BENCH_LEGACY_DIR", tempfile.gettempdir()))
    report_path = base / f"fynlo_bench_fynlo_v1.{label}.report.json"
    report, wall, rss, code = migrate_legacy_process(source, database, ["--format", "fynlo-v1"], report_path,
                                                     base / f"fynlo_bench_{label}.rejects")
    if code != 0:
        raise SystemExit(f"migrate_legacy ({label}) exited {code}; see {report_path}")
    return report, wall, rss


def write_floor(database: str) -> dict[str, float]:
    """The write floor of a fynlo-v1 import (see the module's docstring): seconds of each part (our
    rows' \\copy, their indexes and keys put back; the same of the bookkeeping)."""
    from fynlo.cutover.legacy.schema import table_specs

    from django.db import connections

    bookkeeping = ["legacy_id_map", "legacy_archive", "legacy_import_rows"]
    folder = Path(tempfile.mkdtemp(prefix="fynlo_bench_floor_", dir=os.environ.get("BENCH_LEGACY_DIR")))
    name = f"{database}_floor"
    url = database_url("owner", database)
    admin = psycopg_connect(database_url("owner", "postgres"))  # (not the template's: it must have no session)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    try:
        env = {**os.environ, "PGOPTIONS": "-c TimeZone=UTC"}
        with psycopg_connect(url) as conn:
            tables = [table for table in [*table_specs(), *bookkeeping]
                      if conn.execute(f'SELECT EXISTS (SELECT FROM "{table}")').fetchone()[0]]
        for table in tables:
            psql(url, env, f"\\copy {table} TO '{folder / table}.csv' WITH (FORMAT csv, HEADER true)")
        connections.close_all()
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{database}"')
        floor_url = database_url("owner", name)
        with psycopg_connect(floor_url) as conn:
            conn.execute("SET client_min_messages = warning")
            conn.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
            # each table's secondary indexes (their definitions) and foreign keys, set aside
            indexes = conn.execute(
                "SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indexrelid::regclass::text FROM pg_index i"
                " JOIN pg_class c ON c.oid = i.indrelid WHERE c.relname = ANY(%s)"
                " AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid)", [tables]).fetchall()
            keys = conn.execute(
                "SELECT conrelid::regclass::text, format('ALTER TABLE %%s ADD CONSTRAINT %%I %%s', conrelid::regclass,"
                " conname, pg_get_constraintdef(oid)), format('ALTER TABLE %%s DROP CONSTRAINT %%I', conrelid::regclass,"
                " conname) FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)",
                [tables]).fetchall()
            for _, _, index in indexes:
                conn.execute(f"DROP INDEX {index}")
            for _, _, drop in keys:
                conn.execute(drop)
            seconds = {"ours": 0.0, "ours_indexes": 0.0, "bookkeeping": 0.0, "bookkeeping_indexes": 0.0}
            for table in tables:
                seconds["bookkeeping" if table in bookkeeping else "ours"] += psql_copy(
                    floor_url, env, table, folder / f"{table}.csv")
            conn.execute("SET maintenance_work_mem = '256MB'")
            for table, definition, _ in [*indexes, *keys]:
                started = time.perf_counter()
                conn.execute(definition)
                seconds["bookkeeping_indexes" if table in bookkeeping else "ours_indexes"] += time.perf_counter() - started
        return seconds
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
        shutil.rmtree(folder, ignore_errors=True)


def run_fynlo_v1(database: str, orders: int) -> bool:
    folder, dump, manifest = fynlo_v1_export(orders)
    limit_seconds, url = fynlo_v1_limit(folder, database)
    total_rows = sum(manifest["rows"].values()) + manifest["order_items"]
    print(f"legacy import fynlo-v1: {orders:,} orders; {total_rows:,} rows ({manifest['order_items']:,} order lines "
          f"in orders.items, {manifest['rows']['payments']:,} payments)")
    print(f"  psql \\copy of the CSV files into the legacy DDL: {total_rows / limit_seconds:,.0f} rows/s "
          f"({limit_seconds:.1f}s)")
    ok = True
    try:
        for label, source, target in (("csv", folder, TARGET_RATIO), ("dump", dump, TARGET_RATIO),
                                      ("url", url, TARGET_URL_RATIO)):
            report, wall, rss = fynlo_v1_subject(source, database, label)
            ratio = limit_seconds / wall
            passed = ratio >= target and rss <= TARGET_RSS_MB
            ok = ok and passed
            print(f"  fynlo-v1 from {label:<4}: migrate_legacy {total_rows / wall:,.0f} rows/s ({wall:.1f}s) ratio "
                  f"{ratio:.2f}x (target >= {target}x); peak RSS {rss:,.0f} MB (target <= {TARGET_RSS_MB} MB) "
                  f"{'PASS' if passed else 'FAIL'}")
            if label == "csv" and os.environ.get("BENCH_LEGACY_FLOOR", "1") != "0":
                floor = write_floor(database)
                ours = floor["ours"] + floor["ours_indexes"]
                book = floor["bookkeeping"] + floor["bookkeeping_indexes"]
                print(f"  the write floor of what that import wrote (psql \\copy with keys and secondary indexes set "
                      f"aside): our rows {floor['ours']:.1f}s + their indexes and keys {floor['ours_indexes']:.1f}s, "
                      f"the bookkeeping {floor['bookkeeping']:.1f}s + {floor['bookkeeping_indexes']:.1f}s; "
                      f"the legacy \\copy is {limit_seconds / ours:.2f}x of our rows' floor, "
                      f"{limit_seconds / (ours + book):.2f}x with the bookkeeping "
                      f"(the best ratio any importer writing them could reach)")
    finally:
        admin = connect("owner")
        admin.autocommit = True
        admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        admin.close()
    return ok


def run() -> bool:
    setup_django()
    if psql_binary() is None:
        print("legacy_import: psql is not installed; it is the yardstick (apt-get install postgresql-client)")
        return False
    database = bench_database()
    orders = int(os.environ.get("BENCH_LEGACY_ORDERS", 1_000_000))
    formats = os.environ.get("BENCH_LEGACY_FORMATS", "guide,fynlo-v1").split(",")
    ok = True
    if "guide" in formats:
        ok = run_guide(database, orders) and ok
    if "fynlo-v1" in formats:
        ok = run_fynlo_v1(database, orders) and ok
    return ok


def run_guide(database: str, orders: int) -> bool:
    folder, manifest = export(orders)
    baseline = limit(folder)
    report, wall, rss = subject(folder, database)
    tables = PARENTS + HOT_TABLES
    rows = {table: manifest["rows"][table] for table in tables}
    total_rows = sum(rows.values())
    limit_seconds = sum(baseline.values())
    ratio = limit_seconds / wall
    print(f"legacy import: {orders:,} orders; {total_rows:,} rows of {', '.join(tables)}")
    for table in HOT_TABLES:
        ours = report["tables"][table]["seconds"]
        print(f"  {table:<12} {rows[table]:>10,} rows  migrate_legacy {rows[table] / ours:>9,.0f} rows/s"
              f"  psql \\copy {rows[table] / baseline[table]:>9,.0f} rows/s  ({baseline[table] / ours:.2f}x)")
    print(f"end to end: migrate_legacy {total_rows / wall:,.0f} rows/s ({wall:.1f}s, start-up to exit) vs psql \\copy "
          f"{total_rows / limit_seconds:,.0f} rows/s ({limit_seconds:.1f}s)  ratio {ratio:.2f}x "
          f"(target >= {TARGET_RATIO}x) {'PASS' if ratio >= TARGET_RATIO else 'FAIL'}")
    print(f"peak RSS of migrate_legacy: {rss:,.0f} MB (target <= {TARGET_RSS_MB} MB) "
          f"{'PASS' if rss <= TARGET_RSS_MB else 'FAIL'}")
    return ratio >= TARGET_RATIO and rss <= TARGET_RSS_MB


if __name__ == "__main__":
    raise SystemExit(0 if run() else 1)
