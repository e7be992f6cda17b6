"""Order creation through the API under gunicorn, and the cost of row-level security.

`POST /api/v1/orders/` with five items (two of them tracked in stock, so each order also
locks, decrements and logs stock) and an Idempotency-Key, from BENCH_CLIENTS (20) concurrent
keep-alive clients, against gunicorn with 2 workers (BENCH_THREADS threads each) on
127.0.0.1. Each client is a till of its own restaurant (BENCH_RESTAURANTS, default one per
client).

The yardstick is the same server and load against a copy of the database whose RLS
policies are dropped (tables DISABLE ROW LEVEL SECURITY): the application's own
restaurant filters still apply, only the database's second wall is gone. Each side gets
BENCH_SECONDS (default 30) of load in total, in BENCH_ROUNDS (default 10) short rounds that
alternate A-B, B-A so that drift on a shared machine hits both alike. Printed: requests/s,
p50 and p99 latency of each side, and the RLS overhead as the median over round pairs of
(time per order with RLS) / (time per order without): the median, because a burst of other
load on the machine skews one round, not the pair's comparison. Target: at most 1.05x.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.common import bench_database, connect, report, setup_django

TARGET = 1.05
SLUG = "ordb"
STOCK = Decimal("9000000")
# Tables the benchmark's orders write to, children first (foreign keys have no ON DELETE CASCADE).
ORDER_TABLES = [
    "stock_movements", "order_items", "refunds", "payments", "commission_records", "idempotency_keys",
    "order_number_counters", "orders",
]


@dataclass
class Till:
    restaurant_id: int
    token: str
    body: bytes


@dataclass
class Round:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0


def seed(restaurants: int) -> list[Till]:
    """Restaurants with a cashier, a token and five products (two tracked); old bench orders removed."""
    from django.db import transaction

    from inventory.models import InventoryItem, Product
    from tenants.context import tenant_context
    from tenants.models import Platform, Restaurant, User, UserRole
    from tenants.services import api_token_create, user_logout

    owner = connect("owner")
    ids = [row[0] for row in owner.execute("SELECT id FROM restaurants WHERE slug LIKE %s", [f"{SLUG}-%"])]
    if ids:
        for table in ORDER_TABLES:
            owner.execute(f"DELETE FROM {table} WHERE restaurant_id = ANY(%s)", [ids])
    owner.close()

    tills = []
    with transaction.atomic(), tenant_context(all_tenants=True):
        platform, _ = Platform.objects.get_or_create(slug=SLUG, defaults={"name": "Orders bench", "owner_email": "b@b.test"})
        for number in range(restaurants):
            restaurant, _ = Restaurant.objects.get_or_create(
                platform=platform, slug=f"{SLUG}-{number}", defaults={"name": f"Bench {number}"}
            )
            user = User.objects.filter(email=f"till{number}@{SLUG}.test").first()
            if user is None:
                user = User.objects.create_user(
                    f"till{number}@{SLUG}.test", "bench-password", restaurant=restaurant, platform=platform,
                    role=UserRole.CASHIER, first_name="Till", last_name=str(number),
                )
            user_logout(user=user, token_id=None, everywhere=True)
            key = api_token_create(user=user, device="bench")
            products = []
            for index in range(5):
                product, _ = Product.objects.get_or_create(
                    restaurant=restaurant, sku=f"{SLUG}-{index}",
                    defaults={"name": f"Dish {index}", "price": Decimal("3.45") + index, "track_inventory": index < 2},
                )
                if product.track_inventory:
                    InventoryItem.objects.update_or_create(
                        restaurant=restaurant, product=product, defaults={"current_stock": STOCK}
                    )
                products.append(product)
            body = {
                "order_type": "dine_in", "table_number": "12",
                "items": [{"product_id": p.pk, "quantity": 1 + i % 2} for i, p in enumerate(products)],
            }
            tills.append(Till(restaurant.pk, key, json.dumps(body).encode()))
    return tills


def _owner_connection(database: str):
    """The owner role, connected to another database (a template must have no sessions)."""
    import psycopg
    from django.db import connections

    return psycopg.connect(**{**connections["owner"].get_connection_params(), "dbname": database}, autocommit=True)


def copy_without_rls(source: str) -> str:
    """A copy of the bench database with every RLS policy dropped; its name."""
    from django.db import connections

    target = f"{source}_norls"
    connections.close_all()
    with _owner_connection("postgres") as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
    with _owner_connection(target) as conn:
        for table, policy in conn.execute(
            "SELECT tablename, policyname FROM pg_policies WHERE schemaname = current_schema()"
        ).fetchall():
            conn.execute(f'DROP POLICY "{policy}" ON "{table}"')
        for (table,) in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relrowsecurity"
        ).fetchall():
            conn.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')
        left = conn.execute("SELECT count(*) FROM pg_class WHERE relrowsecurity").fetchone()[0]
        assert left == 0, "some tables still have row-level security"
    return target


def drop_database(name: str) -> None:
    with _owner_connection("postgres") as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(database: str, *, threads: int) -> tuple[subprocess.Popen, int]:
    """gunicorn, 2 workers, on a free local port, with both database URLs pointing at `database`."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _with_database(os.environ["DATABASE_URL"], database),
        "DATABASE_OWNER_URL": _with_database(os.environ.get("DATABASE_OWNER_URL") or os.environ["DATABASE_URL"], database),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "fynlo.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--worker-class", "gthread", "--threads", str(threads), "--keep-alive", "30", "--log-level", "warning"],
        env=env, cwd=Path(__file__).resolve().parent.parent, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return server, port
        except OSError:
            pass
        time.sleep(0.3)
    stop_server(server)
    raise RuntimeError("gunicorn did not answer /health within 60 s")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def load(port: int, tills: list[Till], *, clients: int, seconds: float) -> Round:
    """`clients` keep-alive clients posting orders for `seconds`."""
    result = Round()
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(till: Till):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies, errors = [], 0
        start.wait()
        while time.perf_counter() < stop_at[0]:
            headers = {
                "Content-Type": "application/json", "Authorization": f"Token {till.token}",
                "Idempotency-Key": uuid.uuid4().hex,
            }
            began = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/orders/", body=till.body, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 201
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                ok = False
            if ok:
                latencies.append(time.perf_counter() - began)
            else:
                errors += 1
        conn.close()
        with lock:
            result.latencies.extend(latencies)
            result.errors += errors

    threads = [threading.Thread(target=client, args=(tills[i % len(tills)],)) for i in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - began
    return result


def summary(rounds: list[Round]) -> tuple[float, float, float, int, int]:
    latencies = sorted(latency for r in rounds for latency in r.latencies)
    seconds = sum(r.seconds for r in rounds)
    count = len(latencies)
    rps = count / seconds if seconds else 0.0
    p50 = statistics.median(latencies) if latencies else float("nan")
    p99 = latencies[min(count - 1, int(count * 0.99))] if latencies else float("nan")
    return rps, p50, p99, count, sum(r.errors for r in rounds)


def run() -> bool:
    setup_django()
    database = bench_database()
    clients = int(os.environ.get("BENCH_CLIENTS", 20))
    restaurants = int(os.environ.get("BENCH_RESTAURANTS", clients))
    seconds = float(os.environ.get("BENCH_SECONDS", 30))
    rounds = int(os.environ.get("BENCH_ROUNDS", 10))
    threads = int(os.environ.get("BENCH_THREADS", 2))
    warmup = min(5.0, seconds / rounds)
    tills = seed(restaurants)
    plain = copy_without_rls(database)
    servers = []
    try:
        with_rls, rls_port = start_server(database, threads=threads)
        servers.append(with_rls)
        without_rls, plain_port = start_server(plain, threads=threads)
        servers.append(without_rls)
        print(f"orders_api: POST /api/v1/orders/ (5 items, 2 tracked), {clients} clients, gunicorn 2 workers x "
              f"{threads} threads, {seconds:.0f} s per side in {rounds} alternating rounds", flush=True)
        for port in (rls_port, plain_port):
            load(port, tills, clients=clients, seconds=warmup)
        measured: dict[str, list[Round]] = {"rls": [], "plain": []}
        sides = [("rls", rls_port), ("plain", plain_port)]
        for number in range(rounds):
            for key, port in sides if number % 2 == 0 else sides[::-1]:
                measured[key].append(load(port, tills, clients=clients, seconds=seconds / rounds))
    finally:
        for server in servers:
            stop_server(server)
        drop_database(plain)
    figures = {}
    for key, label in (("rls", "with RLS   "), ("plain", "RLS dropped")):
        rps, p50, p99, count, errors = summary(measured[key])
        figures[key] = rps
        print(f"  {label}: {rps:8.1f} orders/s  p50 {p50 * 1000:6.1f} ms  p99 {p99 * 1000:6.1f} ms  "
              f"({count} orders, {errors} errors)")
    if not figures["rls"] or not figures["plain"]:
        print("orders_api: no successful orders; is the server healthy?")
        return False
    errors = sum(r.errors for side in measured.values() for r in side)
    ratios = sorted(
        (rls.seconds / len(rls.latencies)) / (plain.seconds / len(plain.latencies))
        for rls, plain in zip(measured["rls"], measured["plain"])
        if rls.latencies and plain.latencies
    )
    print(f"  per-round ratios: {', '.join(f'{ratio:.3f}' for ratio in ratios)}")
    median_ratio = statistics.median(ratios)
    ok = report("RLS overhead (time per order at full load, median of rounds)",
                median_ratio / figures["plain"], 1 / figures["plain"], TARGET)
    return ok and errors == 0


if __name__ == "__main__":
    raise SystemExit(0 if run() else 1)
