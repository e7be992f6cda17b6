"""`manage.py rewrite_storage_urls`: point stored file URLs at Spaces (the guide's step 5, done safely)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from fynlo.cutover.common import EXIT_DIFFERENCES, CutoverError, command_error, write_report
from fynlo.cutover.storage_urls import (
    DEFAULT_BATCH_SIZE,
    RewriteReport,
    UndoReport,
    storage_urls_rewrite,
    storage_urls_undo,
)

SHOWN = 10  # missing objects / conflicts printed; the report lists them all


class Command(BaseCommand):
    help = (
        "Rewrite stored file URLs that start with --from to start with --to (default: the Spaces/CDN base URL), "
        "in every URL field of the models and in platform/restaurant settings values. Prefix-anchored, exact "
        "host; every change goes to an undo log that --undo replays backwards."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="from_prefixes", action="append", default=[], metavar="OLD_PREFIX",
                            help="old URL prefix, e.g. https://old-storage-domain.com/ (repeat for http and https)")
        parser.add_argument("--to", metavar="NEW_PREFIX",
                            help="new URL prefix (default: the configured Spaces base URL, on the CDN when set)")
        parser.add_argument("--dry-run", action="store_true",
                            help="count per column and show the first before/after pairs; write nothing")
        parser.add_argument("--verify-objects", action="store_true",
                            help="HEAD each target object in the Spaces bucket; keep URLs whose object is missing")
        parser.add_argument("--report", metavar="FILE", help="write the JSON report to FILE ('-' for stdout)")
        parser.add_argument("--undo-log", metavar="FILE",
                            help="where to write the undo log (default: rewrite_storage_urls-undo-<time>.csv)")
        parser.add_argument("--undo", metavar="FILE", help="restore what the undo log FILE recorded")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, metavar="N",
                            help=f"rows per transaction (default {DEFAULT_BATCH_SIZE:,})")

    def handle(self, *args, from_prefixes, to, dry_run, verify_objects, report, undo_log, undo, batch_size,
               **options):
        if undo and (from_prefixes or to or verify_objects or undo_log):
            raise CommandError("--undo takes no --from, --to, --verify-objects or --undo-log", returncode=2)
        if not undo and not from_prefixes:
            raise CommandError("give --from OLD_PREFIX (or --undo FILE)", returncode=2)
        progress = self.stderr._out
        try:
            if undo:
                result = storage_urls_undo(undo_log=undo, dry_run=dry_run, batch_size=batch_size,
                                           progress_stream=progress)
            else:
                result = storage_urls_rewrite(
                    from_prefixes=from_prefixes, to=to, dry_run=dry_run, verify_objects=verify_objects,
                    undo_log=undo_log, batch_size=batch_size, progress_stream=progress,
                )
            write_report(result.as_dict(), report, stdout=self.stdout)
        except CutoverError as error:
            raise command_error(error) from error
        except DatabaseError as error:
            raise command_error(error, context="database error") from error

        if report != "-":
            if isinstance(result, UndoReport):
                self._undo_summary(result)
            else:
                self._summary(result)
        if result.exit_code == EXIT_DIFFERENCES:
            if isinstance(result, UndoReport):
                message = (f"{len(result.conflicts):,} values were changed since the run and were left alone"
                           " (listed in the report)")
            else:
                message = (f"{len(result.missing_objects):,} URLs were not rewritten: their objects are missing from"
                           f" bucket {result.bucket} (listed in the report)")
            raise CommandError(message, returncode=EXIT_DIFFERENCES)

    def _summary(self, result: RewriteReport) -> None:
        verb = "would rewrite" if result.dry_run else "rewritten"
        width = max(len(f"{c.table}.{c.column}") for c in result.columns)
        for column in result.columns:
            line = f"{column.table}.{column.column:<{width - len(column.table) - 1}}  "
            line += f"{verb} {column.matched - column.missing_objects if result.dry_run else column.rewritten:,}"
            if result.verify_objects:
                line += f", object missing {column.missing_objects:,}"
            self.stdout.write(line)
            if result.dry_run:
                for sample in column.samples:
                    self.stdout.write(f"    {sample['pk']}: {sample['before']}  ->  {sample['after']}")
        for item in result.missing_objects[:SHOWN]:
            self.stdout.write(f"missing object {item['key']!r}: {item['table']}.{item['column']} {item['pk']} "
                              f"keeps {item['url']}")
        if len(result.missing_objects) > SHOWN:
            self.stdout.write(f"... and {len(result.missing_objects) - SHOWN:,} more missing objects in the report")
        targets = f"from {', '.join(result.from_prefixes)} to {result.to}"
        if result.dry_run:
            self.stdout.write(f"Dry run: {result.matched - len(result.missing_objects):,} URLs would be rewritten "
                              f"{targets}; nothing was written.")
        else:
            self.stdout.write(f"Rewrote {result.rewritten:,} URLs {targets} in {result.seconds:.1f}s; "
                              f"undo log: {result.undo_log}")

    def _undo_summary(self, result: UndoReport) -> None:
        verb = "would restore" if result.dry_run else "restored"
        for column in result.columns:
            self.stdout.write(f"{column.table}.{column.column}  {verb} {column.restored:,} of {column.logged:,}, "
                              f"already as before {column.already_old:,}, changed since {column.conflicts:,}")
        for item in result.conflicts[:SHOWN]:
            self.stdout.write(f"changed since the run: {item['table']}.{item['column']} {item['pk']} is now "
                              f"{item['current']!r}")
        if len(result.conflicts) > SHOWN:
            self.stdout.write(f"... and {len(result.conflicts) - SHOWN:,} more in the report")
        self.stdout.write(f"{'Dry run: ' if result.dry_run else ''}{verb.capitalize()} {result.restored:,} values "
                          f"from {result.undo_log}.")
