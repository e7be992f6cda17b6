"""`manage.py cutover_check`: the guide's pre-cutover verification and verification steps, as one
command. Prints a PASS/FAIL table, writes the JSON report, exits 0 only when every check passes."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from fynlo.cutover.checks import CheckResult, CutoverCheckReport, cutover_check
from fynlo.cutover.common import EXIT_DIFFERENCES, EXIT_USAGE, CutoverError, command_error, write_report

NAME_WIDTH = 20


class Command(BaseCommand):
    help = (
        "Check the new system before (and after) the cutover: database roles, Valkey and Spaces reachable, "
        "migrations applied, row-level security on every tenant table, row counts (against the legacy export "
        "with --source), orphans, order totals, sequences and index use. "
        "Exit 0: every check passed; 1: a check failed; 2: bad arguments or the database unreachable."
    )

    def add_arguments(self, parser):
        parser.add_argument("--source", metavar="SOURCE",
                            help="the legacy export (a folder, .zip or .tar.gz of <table>_export.csv files): "
                                 "each table's rows must equal its records")
        parser.add_argument("--report", metavar="FILE", help="write the JSON report here ('-' for stdout)")

    def handle(self, *args, source=None, report=None, **options):
        out = self.stderr if report == "-" else self.stdout  # the table; the report may own stdout

        def show(check: CheckResult) -> None:
            if check.name == "database":
                out.write(f"{'CHECK':<{NAME_WIDTH}} RESULT  DETAIL")
            out.write(self._row(check))

        try:
            result = cutover_check(source=source, on_result=show)
            write_report(result.as_dict(), report, stdout=self.stdout)
        except CutoverError as error:
            raise command_error(error) from error
        out.write(self._summary(result))
        if result.unreachable:
            raise CommandError(f"cannot connect: {result.unreachable}", returncode=EXIT_USAGE)
        if not result.passed:
            names = ", ".join(check.name for check in result.failed)
            raise CommandError(f"{len(result.failed)} of {len(result.results)} checks failed: {names}",
                               returncode=EXIT_DIFFERENCES)

    @staticmethod
    def _row(check: CheckResult) -> str:
        return f"{check.name:<{NAME_WIDTH}} {check.status:<6}  {check.summary}"

    @staticmethod
    def _summary(result: CutoverCheckReport) -> str:
        failed = len(result.failed)
        seconds = (result.finished_at - result.started_at).total_seconds()
        return (f"{len(result.results)} checks in {seconds:.1f}s: {len(result.results) - failed} passed, "
                f"{failed} failed.")
