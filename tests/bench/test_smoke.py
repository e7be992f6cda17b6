"""A smoke run of each benchmark (and case) at a toy size, in its own process and database: it runs to the
end and prints its ratio. (At this size the ratios mean nothing; `python -m bench` is the real run.)"""

from __future__ import annotations

import subprocess
import sys
import uuid

import psycopg
import pytest
from django.conf import settings
from django.db import connections

from tests.processes import command_env

SMOKE = {
    "rls": ({"BENCH_ORDERS": "2000", "BENCH_RESTAURANTS": "4", "BENCH_ROUNDS": "1"}, "per-restaurant aggregate"),
    "storage_urls": ({"BENCH_PRODUCTS": "500"}, "rewrite_storage_urls on 500 product URLs"),
    # both formats: the guide's exports, then the real legacy Fynlo database (CSV, dump, URL)
    "legacy_import": ({"BENCH_LEGACY_ORDERS": "200"}, ("end to end: migrate_legacy", "fynlo-v1 from csv",
                                                       "the write floor of what that import wrote",
                                                       "fynlo-v1 from dump", "fynlo-v1 from url")),
    # the full import, a mutated copy, the catch-up: its counts must be the mutation's
    "legacy_catchup": ({"BENCH_LEGACY_ORDERS": "2000"}, ("catch-up vs full import", "counts as mutated",
                                                         "peak RSS: full import")),
    # the same for the real legacy Fynlo database (UUIDs, lines in orders.items): changed, new, deleted orders
    "legacy_catchup:fynlo-v1": ({"BENCH_LEGACY_ORDERS": "200", "BENCH_LEGACY_FORMATS": "fynlo-v1"},
                                ("fynlo-v1 catch-up vs full import", "fynlo-v1 catch-up exit 0; counts as mutated",
                                 "peak RSS: full import")),
    "orders_api": ({"BENCH_SECONDS": "2", "BENCH_ROUNDS": "1", "BENCH_CLIENTS": "2"}, "RLS overhead"),
}


def drop_databases(prefix: str) -> None:
    with psycopg.connect(**{**connections["owner"].get_connection_params(), "dbname": "postgres"}, autocommit=True) as admin:
        names = admin.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [prefix + "%"]).fetchall()
        for (name,) in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True, databases=["default", "owner"])
@pytest.mark.parametrize("key", list(SMOKE))
def test_the_benchmark_runs_and_prints_its_ratio(key, tmp_path):
    name = key.partition(":")[0]  # (`bench:case`: a case of a benchmark, its knobs choose it)
    if name == "legacy_import":
        from bench.legacy_import import psql_binary

        if psql_binary() is None:
            pytest.skip("psql (the legacy_import bench's yardstick) is neither installed nor bundled by pgserver")
    knobs, headline = SMOKE[key]
    database = f"fynlo_bench_smoke_{uuid.uuid4().hex[:8]}"
    env = command_env(BENCH_DATABASE=database, BENCH_LEGACY_DIR=str(tmp_path), **knobs)
    try:
        result = subprocess.run([sys.executable, "-m", "bench", name], cwd=settings.BASE_DIR, env=env,
                                capture_output=True, text=True, timeout=300)
    finally:
        drop_databases(database)

    # 0 or 1 (the target, meaningless at this size); never a crash
    assert result.returncode in (0, 1), result.stdout[-2000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    headlines = headline if isinstance(headline, tuple) else (headline,)
    assert all(h in result.stdout for h in headlines) and "ratio" in result.stdout, result.stdout[-2000:]
