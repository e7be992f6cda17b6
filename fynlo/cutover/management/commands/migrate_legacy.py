"""`manage.py migrate_legacy SOURCE`: the legacy CSV export into the new schema (cutover night)."""

from __future__ import annotations

import psycopg
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from fynlo.cutover.common import CutoverError, command_error, first_line, return_freed_blocks, write_report
from fynlo.cutover.legacy.importer import DEFAULT_BATCH_SIZE, FORMATS, legacy_import
from fynlo.cutover.legacy.report import summary_lines
from fynlo.cutover.legacy.undo import list_runs, runs_lines, undo_run
from fynlo.cutover.legacy.undo import summary_lines as undo_summary
from fynlo.cutover.legacy.verify import summary_lines as verify_summary


class Command(BaseCommand):
    help = (
        "Import the legacy system's CSV export (a folder, .zip or .tar.gz with one <table>_export.csv per table): "
        "every row validated, bad rows to the rejects files with line and reason, good rows COPYed in committed "
        "batches. Idempotent and resumable: run it again to finish an interrupted import."
    )
    # a data tool on its own connections: Django's system checks (a fifth of a second, all the
    # models and URLs) are `manage.py check`'s business, not every catch-up's
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument(
            "source", nargs="?",
            help="the legacy data: a folder (or .zip / .tar.gz) of CSV files, a pg_dump file (.sql, .sql.gz, .dump) "
                 "or a postgresql:// URL of the legacy database (read-only)",
        )
        parser.add_argument(
            "--format", choices=FORMATS,
            help="guide (our tables' shape) or fynlo-v1 (the legacy Fynlo backend: UUID keys, orders.items JSON); "
                 "detected when omitted",
        )
        parser.add_argument(
            "--employee-role", default="cashier", choices=["cashier", "server", "cook", "manager"],
            help="fynlo-v1: the role given to legacy 'employee' users (default cashier; every use counted)",
        )
        parser.add_argument(
            "--default-platform", metavar="NAME",
            help="fynlo-v1: the platform (its legacy name or key) of restaurants that name none "
                 "(needed when the legacy data has more than one platform)",
        )
        parser.add_argument("--dry-run", action="store_true", help="validate and report everything; write nothing")
        parser.add_argument(
            "--verify", action="store_true",
            help="write nothing; compare every mapped source row with ours by content (missing, different, extra "
                 "rows per table, both versions in the JSON report); exit 0 only when identical",
        )
        parser.add_argument(
            "--catch-up", action="store_true",
            help="after an import from an older copy of the same legacy system: new rows imported, rows changed in "
                 "the source applied where ours is untouched since the last run, rows changed on both sides "
                 "listed as conflicts (exit 1), source rows older than ours never applied",
        )
        parser.add_argument(
            "--runs", action="store_true",
            help="list the runs that wrote (when, source, format, inserted/updated/deleted/conflicts, undone)",
        )
        parser.add_argument(
            "--undo", type=int, metavar="RUN",
            help="take run RUN back (newest first): delete the rows it inserted where ours is still what it wrote; "
                 "rows changed since (and rows under them or referred to) are listed and kept, exit 1; "
                 "with --dry-run, only show what would go",
        )
        parser.add_argument("--only", nargs="+", metavar="TABLE", help="import only these tables (parents must exist)")
        parser.add_argument(
            "--rejects", metavar="DIR", default="legacy-rejects",
            help="folder for the rejected rows, one <table>.csv each (default: ./legacy-rejects)",
        )
        parser.add_argument("--report", metavar="FILE", help="write the JSON report there ('-' for stdout)")
        parser.add_argument("--encoding", default="utf-8", help="the files' encoding (default utf-8, BOM or not)")
        parser.add_argument(
            "--timezone", help="zone of timestamps written without an offset (default: the TIME_ZONE setting; UTC for "
                               "fynlo-v1, whose application wrote utcnow())"
        )
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
            help=f"rows per committed batch (default {DEFAULT_BATCH_SIZE:,})",
        )

    def handle(self, *args, **options):
        if options["runs"] or options["undo"] is not None:
            return self._runs_or_undo(options)
        if not options["source"]:
            raise CommandError("give the SOURCE to import (or --runs, or --undo RUN)", returncode=2)
        return_freed_blocks()
        try:
            report = legacy_import(
                source=options["source"],
                dry_run=options["dry_run"],
                only=options["only"],
                rejects_dir=options["rejects"],
                encoding=options["encoding"],
                timezone=options["timezone"],
                batch_size=options["batch_size"],
                progress=self.stderr._out,
                format=options["format"],
                employee_role=options["employee_role"],
                default_platform=options["default_platform"],
                verify=options["verify"],
                catch_up=options["catch_up"],
            )
        except CutoverError as error:
            raise command_error(error) from error
        except (psycopg.Error, DatabaseError) as error:
            raise CommandError(f"database error: {first_line(error)}", returncode=2) from error
        except OSError as error:
            raise CommandError(f"cannot read the export: {first_line(error)}", returncode=2) from error
        except KeyboardInterrupt as error:
            raise CommandError("interrupted; run the same command again to finish the import", returncode=2) from error
        except Exception as error:  # one line, never a traceback (--traceback shows it)
            raise CommandError(
                f"migrate_legacy failed: {type(error).__name__}: {first_line(error)}", returncode=2
            ) from error

        lines = verify_summary(report.verification, report.source) if options["verify"] else summary_lines(report)
        for line in lines:
            self.stdout.write(line)
        try:
            write_report(report.as_dict(), options["report"], stdout=self.stdout)
        except CutoverError as error:
            raise command_error(error) from error
        if options["verify"]:
            if report.exit_code:
                raise CommandError(
                    "the database differs from the source (see "
                    f"{_where_the_details_are(report, options['report'], rejects=False)})",
                    returncode=report.exit_code,
                )
            return
        if report.exit_code:
            reasons = []
            if report.rejected:
                reasons.append(f"{report.rejected:,} rows rejected or in conflict")
            if report.not_deleted:
                reasons.append(f"{sum(map(len, report.not_deleted.values())):,} rows gone from the source kept")
            if report.unbalanced:
                reasons.append(f"{len(report.unbalanced)} tables not accounted for")
            if report.constraint_problems:
                reasons.append(f"{len(report.constraint_problems)} constraint problems")
            raise CommandError(
                "; ".join(reasons) + f" (see {_where_the_details_are(report, options['report'])})",
                returncode=report.exit_code,
            )

    def _runs_or_undo(self, options):
        if options["source"]:
            raise CommandError("--runs and --undo take no SOURCE", returncode=2)
        if options["runs"] and options["undo"] is not None:
            raise CommandError("--runs or --undo, not both", returncode=2)
        try:
            if options["runs"]:
                runs = list_runs()
                for line in runs_lines(runs):
                    self.stdout.write(line)
                write_report({"runs": runs}, options["report"], stdout=self.stdout)
                return
            report = undo_run(options["undo"], dry_run=options["dry_run"])
            for line in undo_summary(report):
                self.stdout.write(line)
            write_report(report.as_dict(), options["report"], stdout=self.stdout)
        except CutoverError as error:
            raise command_error(error) from error
        except (psycopg.Error, DatabaseError) as error:
            raise CommandError(f"database error (nothing was written): {first_line(error)}", returncode=2) from error
        if report.exit_code:
            where = {"-": "the JSON report above", None: "the summary above; --report FILE lists them as JSON"}.get(
                options["report"], f"the report {options['report']}")
            raise CommandError(
                f"{report.kept:,} rows kept: changed since run {report.run}, under a kept row or referred to by rows "
                f"that stay (see {where})", returncode=report.exit_code,
            )


def _where_the_details_are(report, report_option: str | None, *, rejects: bool = True) -> str:
    """The rejects folder and the JSON report as this run wrote them (or how to get the report)."""
    places = []
    if rejects and report.rejected and report.rejects_dir:
        places.append(f"the rejected rows in {report.rejects_dir}/")
    if report_option == "-":
        places.append("the JSON report above")
    elif report_option:
        places.append(f"the report {report_option}")
    else:
        places.append("the summary above; --report FILE writes the details as JSON")
    return ", ".join(places)
