"""Shared helpers for the benchmarks: a dedicated database, timing, ratio printing.

Benchmarks run in their own database (`fynlo_bench`, or BENCH_DATABASE), created and
migrated by the owner role, so they never touch the development or test data.
"""

from __future__ import annotations

import os
import statistics
import time
from contextlib import contextmanager

import django


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fynlo.settings")
    django.setup()


def bench_database() -> str:
    """Create (if needed) and migrate the benchmark database; point both aliases at it."""
    import psycopg
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    name = os.environ.get("BENCH_DATABASE", "fynlo_bench")
    owner_params = connections["owner"].get_connection_params()
    with psycopg.connect(**owner_params, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    connections.close_all()
    for alias in ("default", "owner"):
        settings.DATABASES[alias]["NAME"] = name
        connections[alias].settings_dict["NAME"] = name
    call_command("migrate", database="owner", verbosity=0)
    return name


def connect(alias: str):
    """A plain psycopg connection as the alias' role (runtime or owner)."""
    import psycopg
    from django.db import connections

    return psycopg.connect(**connections[alias].get_connection_params(), autocommit=True)


@contextmanager
def timer(results: list):
    started = time.perf_counter()
    yield
    results.append(time.perf_counter() - started)


def report(
    title: str, subject: float, limit: float, target: float, *, lower_is_better: bool = True, unit: str = "s"
) -> bool:
    """Print subject vs the physical limit as a ratio and whether the target holds."""
    ratio = subject / limit if limit else float("inf")
    ok = ratio <= target if lower_is_better else ratio >= target
    print(f"{title}: {subject:.4f}{unit} vs {limit:.4f}{unit}  ratio {ratio:.3f}x  (target {'<=' if lower_is_better else '>='} {target}x) {'PASS' if ok else 'FAIL'}")
    return ok


def median(values: list[float]) -> float:
    return statistics.median(values)
