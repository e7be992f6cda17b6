"""Moving the old Redis's keys (sessions) to Valkey: the guide's step 4, done properly.

The guide's loop (`redis-cli GET` into `SET key "value"` lines) loses every TTL, breaks on
any value with a quote and moves a few hundred keys a second. Here: SCAN (never KEYS), DUMP
and RESTORE with the remaining TTL, every type, binary-safe, pipelined; a type-wise copy for
keys whose DUMP payload the target refuses; then a verification of counts, values and TTLs.

    report = sessions_move(source_url="redis://old:6379/0")
"""

from __future__ import annotations

import time

import redis
from django.conf import settings

from fynlo.cutover.common import CutoverError, Progress, first_line
from fynlo.cutover.sessions.move import MODES, SessionMover
from fynlo.cutover.sessions.report import SessionMoveReport, Tally, Verification
from fynlo.cutover.sessions.servers import server_connect, server_identity, server_name, url_redacted
from fynlo.cutover.sessions.verify import VERIFY_MODES, sessions_verify
from fynlo.cutover.sessions.wire import WireError

DEFAULT_PATTERNS = ("session:*",)
DEFAULT_BATCH_SIZE = 1000

__all__ = [
    "DEFAULT_BATCH_SIZE", "DEFAULT_PATTERNS", "MODES", "VERIFY_MODES", "SessionMoveReport", "Tally", "Verification",
    "configured_target", "sessions_move",
]


def configured_target() -> tuple[str, str | None]:
    """The project's Valkey (VALKEY_URL) and its CA file (VALKEY_CA_FILE), as the cache uses them."""
    options = settings.CACHES["default"].get("OPTIONS", {})
    return settings.VALKEY_URL, options.get("CONNECTION_POOL_KWARGS", {}).get("ssl_ca_certs")


def sessions_move(*, source_url: str, target_url: str | None = None, patterns: list[str] | None = None,
                  dry_run: bool = False, replace: bool = False, batch_size: int = DEFAULT_BATCH_SIZE,
                  mode: str = "auto", verify: str = "sample", progress: Progress | None = None,
                  seed: int | None = None) -> SessionMoveReport:
    """Move the keys matching `patterns` from the source to the target (default: the project's Valkey)."""
    if mode not in MODES:
        raise CutoverError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    if verify not in VERIFY_MODES:
        raise CutoverError(f"unknown verification {verify!r}; choose from {', '.join(VERIFY_MODES)}")
    if batch_size < 1:
        raise CutoverError("the batch size must be at least 1")
    patterns = list(patterns or DEFAULT_PATTERNS)
    default_url, default_ca = configured_target()
    target_url = target_url or default_url
    source = server_connect(url=source_url, role="source")
    try:
        target = server_connect(url=target_url, role="target", ca_file=default_ca)
    except CutoverError:
        source.close()
        raise
    try:
        if server_identity(source) == server_identity(target):
            raise CutoverError(
                f"the source and the target are the same server and database ({url_redacted(target_url)})")
        report = SessionMoveReport(
            source=url_redacted(source_url), target=url_redacted(target_url),
            source_server=server_name(source), target_server=server_name(target),
            patterns=patterns, mode=mode, dry_run=dry_run, replace=replace,
        )
        started = time.monotonic()
        mover = SessionMover(source=source, target=target, report=report, patterns=patterns,
                             batch_size=batch_size, progress=progress)
        keys = mover.run()
        report.seconds = time.monotonic() - started
        if progress is not None:
            progress.close()
        if verify != "none" and not dry_run:
            report.verification = sessions_verify(source=source, target=target, keys=keys, mode=verify,
                                                  batch_size=batch_size, seed=seed)
        return report
    except (redis.RedisError, WireError, OSError) as error:
        raise CutoverError(f"the move stopped: {first_line(error)}") from error
    finally:
        source.close()
        target.close()
