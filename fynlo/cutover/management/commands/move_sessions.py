"""`manage.py move_sessions`: the old Redis's sessions to Valkey, with their TTLs, verified."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from fynlo.cutover.common import EXIT_OK, CutoverError, Progress, command_error, write_report
from fynlo.cutover.sessions import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_PATTERNS,
    MODES,
    VERIFY_MODES,
    SessionMoveReport,
    sessions_move,
)


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{count} B"


class Command(BaseCommand):
    help = (
        "Move keys (default session:*) from the old Redis to the configured Valkey: SCAN, DUMP/RESTORE with "
        "the remaining TTL, a type-wise copy where the target refuses the DUMP format, then a verification. "
        "Exit 0: every key accounted for; 1: failures or differences; 2: bad arguments or a server unreachable."
    )

    def add_arguments(self, parser):
        parser.add_argument("--source", required=True, metavar="URL",
                            help="the old Redis: redis://[:password@]host:port/db or rediss://... "
                                 "(a CA file as ?ssl_ca_certs=/path)")
        parser.add_argument("--target", metavar="URL",
                            help="default: the configured Valkey (VALKEY_URL, with VALKEY_CA_FILE)")
        parser.add_argument("--pattern", action="append", metavar="GLOB", dest="patterns",
                            help=f"keys to move, a SCAN MATCH glob; repeatable (default: {DEFAULT_PATTERNS[0]})")
        parser.add_argument("--dry-run", action="store_true",
                            help="count what would move, by type and bytes; write nothing")
        parser.add_argument("--replace", action="store_true",
                            help="overwrite keys already on the target (default: leave them, and count them)")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, metavar="N",
                            help=f"keys per SCAN page and pipeline (default {DEFAULT_BATCH_SIZE})")
        parser.add_argument("--mode", choices=MODES, default="auto",
                            help="auto: DUMP/RESTORE, type-wise where the target refuses the payload; "
                                 "dump: DUMP/RESTORE only; struct: type-wise only")
        parser.add_argument("--verify", choices=VERIFY_MODES, default="sample",
                            help="after the move compare counts, and values and TTLs of a sample (default) or all")
        parser.add_argument("--report", metavar="FILE", help="write the JSON report here ('-' for stdout)")

    def handle(self, *args, source, target=None, patterns=None, dry_run=False, replace=False,
               batch_size=DEFAULT_BATCH_SIZE, mode="auto", verify="sample", report=None, **options):
        progress = Progress("moving keys" if not dry_run else "counting keys", unit="keys")
        try:
            result = sessions_move(
                source_url=source, target_url=target, patterns=patterns, dry_run=dry_run, replace=replace,
                batch_size=batch_size, mode=mode, verify=verify, progress=progress,
            )
            write_report(result.as_dict(), report, stdout=self.stdout)
        except CutoverError as error:
            raise command_error(error) from error
        if report != "-":
            self._summary(result)
        if result.exit_code != EXIT_OK:
            raise CommandError(self._problem(result), returncode=result.exit_code)

    def _summary(self, result: SessionMoveReport) -> None:
        tally = result.tally
        write = self.stdout.write
        write(f"{result.source} ({result.source_server}) -> {result.target} ({result.target_server}), "
              f"{', '.join(result.patterns)}, mode {result.mode}{', dry run' if result.dry_run else ''}")
        moved = "would move" if result.dry_run else "moved"
        for kind, counts in sorted(tally.by_type.items()):
            write(f"  {kind:<8} {counts.keys:>10,} keys  {moved} {counts.moved:,}  already present "
                  f"{counts.already_present:,}  replaced {counts.replaced:,}  failed {counts.failed:,}  "
                  f"{_size(counts.bytes)}")
        write(f"{result.scanned:,} keys in {result.seconds:.2f}s ({result.keys_per_second:,.0f} keys/s): "
              f"{tally.moved:,} {moved}, {tally.already_present:,} already present, {tally.replaced:,} replaced, "
              f"{tally.expired:,} expired, {tally.failed:,} failed; {_size(tally.bytes)}.")
        if tally.copied_by_type:
            why = " (the target refuses the source's DUMP format)" if result.switched_to_struct else ""
            write(f"{tally.copied_by_type:,} keys copied type-wise{why}.")
        for problem in tally.failures[:10]:
            write(f"  failed: {problem.key}: {problem.problem}")
        check = result.verification
        if check is not None:
            write(f"verification ({check.mode}): {check.keys_on_target:,} of {check.keys_on_source:,} keys on the "
                  f"target; {check.checked:,} compared, {check.differences:,} differences.")
            for problem in check.problems[:10]:
                write(f"  differs: {problem.key}: {problem.problem}")

    @staticmethod
    def _problem(result: SessionMoveReport) -> str:
        parts = []
        if result.tally.failed:
            parts.append(f"{result.tally.failed:,} keys failed")
        if result.verification is not None and result.verification.differences:
            parts.append(f"verification found {result.verification.differences:,} differences "
                         f"(keys already on the target are left alone unless --replace)")
        return "; ".join(parts)
