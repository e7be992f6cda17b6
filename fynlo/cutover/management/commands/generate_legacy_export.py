"""`manage.py generate_legacy_export DEST`: a synthetic legacy CSV export (test and benchmark input)."""

from __future__ import annotations

import argparse
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from fynlo.cutover.common import EXIT_USAGE, CutoverError, Progress, command_error, write_report
from fynlo.cutover.legacy.generate import generate_export
from fynlo.cutover.legacy.generate_v1 import generate_fynlo_v1


class Command(BaseCommand):
    help = (
        "Write a synthetic export of the legacy system into DEST: one <table>_export.csv per table of the "
        "guide's schema plus settings_export.csv, consistent and seeded, optionally with bad rows (listed in "
        "the --manifest). Needs no database. --format fynlo-v1: the real legacy Fynlo database instead (one "
        "<legacy table>.csv each, optionally a plain pg_dump file --dump and loaded into --database-url)."
    )
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("dest", help="folder to write the CSV files into (created; must be empty unless --force)")
        parser.add_argument("--platforms", type=int, default=2, help="platforms (default 2)")
        parser.add_argument("--restaurants-per-platform", type=int, default=2, help="restaurants per platform (default 2)")
        parser.add_argument("--orders", type=int, default=1000, help="orders over all restaurants (default 1000)")
        parser.add_argument("--items-per-order", type=float, default=3.0, help="average order lines (default 3.0)")
        parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same bytes (default 1)")
        parser.add_argument("--bad-rows", type=int, default=0, help="bad rows to add to every table (default 0)")
        parser.add_argument("--crlf", action="store_true", help="end records with \\r\\n")
        parser.add_argument("--bom", action="store_true", help="start each file with a UTF-8 byte order mark")
        parser.add_argument("--encoding", default="utf-8", help="file encoding, e.g. cp1252 (default utf-8)")
        parser.add_argument("--archive", choices=["zip", "tar.gz"], help="also pack DEST into DEST.zip or DEST.tar.gz")
        parser.add_argument("--with-refunds", action=argparse.BooleanOptionalAction, default=True,
                            help="write refunds_export.csv (default: yes)")
        parser.add_argument("--manifest", metavar="FILE", help="write the manifest (files, rows, bad rows, sums) as JSON; - for stdout")
        parser.add_argument("--force", action="store_true", help="write into a DEST that is not empty")
        parser.add_argument("--format", choices=["guide", "fynlo-v1"], default="guide",
                            help="guide: the guide's CSV exports (default); fynlo-v1: the legacy Fynlo database's tables")
        parser.add_argument("--dump", metavar="FILE", help="fynlo-v1: also write the rows as a plain pg_dump file")
        parser.add_argument("--database-url", metavar="URL",
                            help="fynlo-v1: also load the rows into the legacy tables of this database")
        parser.add_argument("--schema", metavar="FILE",
                            help="fynlo-v1 with --database-url: run this DDL first (e.g. tests/data/fynlo_v1_schema.sql)")

    def handle(self, *args, dest, platforms, restaurants_per_platform, orders, items_per_order, seed, bad_rows, crlf,
               bom, encoding, archive, with_refunds, manifest, force, format, dump, database_url, schema, **options):
        target = Path(dest)
        if target.exists() and not target.is_dir():
            raise CommandError(f"{target} is not a folder", returncode=EXIT_USAGE)
        if target.is_dir() and any(target.iterdir()) and not force:
            raise CommandError(f"{target} is not empty; pass --force to write into it", returncode=EXIT_USAGE)
        if archive and not force:
            packed = target.with_name(f"{target.name}.{archive}")
            if packed.exists():
                raise CommandError(f"{packed} exists; pass --force to replace it", returncode=EXIT_USAGE)
        if format == "guide" and (dump or database_url or schema):
            raise CommandError("--dump, --database-url and --schema go with --format fynlo-v1", returncode=EXIT_USAGE)
        progress = Progress("generate_legacy_export", total=orders, unit="orders", stream=self.stderr._out)
        if format == "fynlo-v1":
            return self.fynlo_v1(target, platforms, restaurants_per_platform, orders, items_per_order, seed, bad_rows,
                                 dump, database_url, schema, manifest, progress)
        try:
            result = generate_export(
                target, platforms=platforms, restaurants_per_platform=restaurants_per_platform, orders=orders,
                items_per_order=items_per_order, seed=seed, bad_rows=bad_rows, crlf=crlf, bom=bom,
                encoding=encoding, archive=archive, with_refunds=with_refunds, progress=progress.update,
            )
            progress.close()  # only after a run: a refused argument prints its one line and nothing else
            write_report(result.as_dict(), manifest, stdout=self.stdout._out)
        except CutoverError as error:
            raise command_error(error) from error

        rows = sum(result.rows.values())
        if manifest != "-":
            self.stdout.write(
                f"{target}: {len(result.files)} files, {rows:,} rows ({len(result.bad)} bad) in "
                f"{result.seconds:.1f}s, {rows / max(result.seconds, 1e-9):,.0f} rows/s"
            )
            self.stdout.write(
                f"orders {result.rows['orders']:,}, order_items {result.rows['order_items']:,}, "
                f"payments {result.rows['payments']:,}"
            )
            if result.archive:
                self.stdout.write(f"archive: {result.archive}")

    def fynlo_v1(self, target, platforms, restaurants_per_platform, orders, items_per_order, seed, bad_rows, dump,
                 database_url, schema, manifest, progress):
        try:
            result = generate_fynlo_v1(
                target, platforms=platforms, restaurants_per_platform=restaurants_per_platform, orders=orders,
                items_per_order=items_per_order, seed=seed, bad_rows=bad_rows, dump=dump,
                database_url=database_url, schema=Path(schema) if schema else None, progress=progress.update,
            )
            progress.close()
            write_report(result.as_dict(), manifest, stdout=self.stdout._out)
        except CutoverError as error:
            raise command_error(error) from error
        except Exception as error:  # psycopg / OS errors of the database load or the files: one line
            raise CommandError(f"generate_legacy_export: {str(error).splitlines()[0] if str(error) else error!r}",
                               returncode=EXIT_USAGE) from error
        if manifest != "-":
            rows = sum(result.rows.values())
            self.stdout.write(
                f"{target}: fynlo-v1, {len(result.rows)} tables, {rows:,} rows (+{result.order_items:,} order lines in "
                f"orders.items), {len(result.traps)} traps in {result.seconds:.1f}s"
            )
            if result.dump:
                self.stdout.write(f"dump: {result.dump}")
            if database_url:
                self.stdout.write("loaded into the database")
