"""GET /health: is the database answering, is the cache answering? Each check is bounded.

Read replicas (DATABASE_REPLICA_URLS) are reported with their lag; a replica that is down or
lagging does not make the service unhealthy (its reads go to the primary)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from fynlo.core.db import measure_replica, replica_aliases
from fynlo.core.messages import first_line

_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="health")


def _check_database() -> None:
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()  # a health thread must not keep a connection of its own


def _check_cache() -> None:
    key = "health:ping"
    cache.set(key, "pong", timeout=10)
    if cache.get(key) != "pong":
        raise RuntimeError("cache did not return what was written")


def _check_replica(alias: str) -> dict:
    try:
        return measure_replica(alias).as_dict()
    finally:
        connections[alias].close()  # a health thread must not keep a connection of its own


def _replicas() -> dict:
    """Each replica's lag (measured in parallel, each bounded)."""
    futures = {alias: _pool.submit(_check_replica, alias) for alias in replica_aliases()}
    deadline = time.monotonic() + settings.HEALTH_CHECK_TIMEOUT
    report = {}
    for alias, future in futures.items():
        try:
            report[alias] = future.result(timeout=max(deadline - time.monotonic(), 0))
        except FutureTimeout:
            report[alias] = {"status": "error", "error": f"no answer within {settings.HEALTH_CHECK_TIMEOUT:g}s"}
    return report


def _run(check) -> dict:
    started = time.monotonic()
    future = _pool.submit(check)
    try:
        future.result(timeout=settings.HEALTH_CHECK_TIMEOUT)
    except FutureTimeout:
        return {"status": "error", "error": f"no answer within {settings.HEALTH_CHECK_TIMEOUT:g}s"}
    except Exception as exc:  # any failure is a failed check, reported not raised
        return {"status": "error", "error": first_line(exc)[:200]}
    return {"status": "ok", "ms": round((time.monotonic() - started) * 1000, 1)}


@never_cache
@require_GET
def health(request):
    checks = {"database": _run(_check_database), "cache": _run(_check_cache)}
    healthy = all(check["status"] == "ok" for check in checks.values())
    body = {"status": "ok" if healthy else "error", "checks": checks}
    if replica_aliases():
        body["replicas"] = _replicas()
    return JsonResponse(body, status=200 if healthy else 503)
