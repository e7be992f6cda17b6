"""`python -m bench [NAME ...]`: run the named benchmarks (all by default)."""

from __future__ import annotations

import importlib
import signal
import sys

BENCHMARKS = ["rls", "orders_api", "sessions", "storage_urls", "legacy_import", "legacy_catchup"]


def _stop(signum, frame):
    """SIGTERM (`timeout`, a CI job cancelled) as Ctrl-C: the benchmark unwinds, so what it started
    (gunicorn servers in sessions of their own, a PgBouncer, database copies) is stopped and dropped
    rather than left running."""
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, _stop)
    names = argv or BENCHMARKS
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    failed = [name for name in names if not importlib.import_module(f"bench.{name}").run()]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
