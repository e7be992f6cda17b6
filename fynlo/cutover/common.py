"""What every cutover command shares: exit codes, one-line errors, JSON reports, progress.

Exit codes (DESIGN.md "Cutover commands"): 0 every input item accounted for; 1 some were
rejected or differ; 2 a usage or connection error. Always a one-line human message, never
a traceback.
"""

from __future__ import annotations

import ctypes
import json
import sys
import time
from dataclasses import asdict, is_dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO

from django.core.management.base import CommandError

from fynlo.core.messages import first_line  # noqa: F401  (the commands' one-line errors)

EXIT_OK = 0
EXIT_DIFFERENCES = 1
EXIT_USAGE = 2


_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)
_MMAP_THRESHOLD = 128 * 1024


def return_freed_blocks() -> bool:
    """Have glibc's malloc serve every block of 128 KB or more with its own mapping, returned to the
    system when freed. glibc starts there but raises that threshold (up to 32 MB) each time such a
    block is freed, after which big blocks (a batch's lists, an id map's arrays as they grow, a table's
    unique-key hashes) come from its heap and their memory stays with the process once freed: a 1M
    legacy orders' import peaked at 279 MB of RSS with the moving threshold, 236 MB with it fixed.
    Setting the threshold fixes it (malloc(3), M_MMAP_THRESHOLD). False where there is no glibc
    mallopt (macOS, ...): nothing changed."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD) == 1


class CutoverError(Exception):
    """A failure the operator must fix (bad path, bad URL, unreachable server): exit 2."""

    exit_code = EXIT_USAGE


def command_error(error: BaseException, *, context: str = "") -> CommandError:
    """A CommandError with one human line and the exit code of the error's kind."""
    code = getattr(error, "exit_code", EXIT_USAGE)
    message = first_line(error)
    return CommandError(f"{context}: {message}" if context else message, returncode=code)


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    if is_dataclass(value):
        return asdict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def write_report(report: dict, path: str | Path | None, *, stdout: IO | None = None) -> None:
    """Write the JSON report to `path` (or to stdout when path is "-")."""
    if path is None:
        return
    text = json.dumps(report, indent=2, default=_json_default, ensure_ascii=False)
    if str(path) == "-":
        (stdout or sys.stdout).write(text + "\n")
        return
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text + "\n", encoding="utf-8")
    except OSError as error:
        raise CutoverError(f"cannot write the report to {target}: {error.strerror or error}") from error


class Progress:
    """Progress on stderr: a bar with rate and ETA on a terminal, a plain line every few
    seconds otherwise (CI logs), and a final line in both cases.

    Kept by hand on purpose (DESIGN.md asks for bars on a terminal, quiet lines in CI): tqdm
    writes its carriage-return redraws into a log file too (or nothing at all with
    disable=None), and rich's live display off a terminal prints only when it stops, so a
    long import in CI would look hung. Neither gives the periodic plain line; this does, in
    sixty lines."""

    def __init__(self, label: str, total: int | None = None, *, stream: IO | None = None, unit: str = "rows",
                 interval: float | None = None):
        self.label = label
        self.total = total
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval if interval is not None else (0.2 if self.tty else 5.0)
        self.count = 0
        self.started = time.monotonic()
        self._last = 0.0
        self._shown: int | None = None  # the count the last line showed

    def update(self, n: int = 1) -> None:
        self.count += n
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._emit(final=False)

    def _line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.count / elapsed
        if self.total:
            share = min(self.count / self.total, 1.0)
            eta = (self.total - self.count) / rate if rate and self.count < self.total else 0.0
            width = 24
            bar = "#" * int(share * width) + "-" * (width - int(share * width))
            return (f"{self.label} [{bar}] {self.count:,}/{self.total:,} {self.unit} "
                    f"{rate:,.0f}/s ETA {eta:,.0f}s")
        return f"{self.label}: {self.count:,} {self.unit} {rate:,.0f}/s"

    def _emit(self, *, final: bool) -> None:
        self._shown = self.count
        if self.tty:
            self.stream.write("\r" + self._line() + ("\n" if final else ""))
        else:
            self.stream.write(self._line() + "\n")
        self.stream.flush()

    def close(self) -> None:
        """The final line, unless the last one shown already holds the final count (a small run
        counted at once): then only the terminal's line is ended."""
        if self._shown == self.count:
            if self.tty:
                self.stream.write("\n")
                self.stream.flush()
            return
        self._emit(final=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
