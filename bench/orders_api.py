"""Order creation through the API under gunicorn, against the floor of what the database alone
does with the same writes, and the cost of row-level security.

`POST /api/v1/orders/` with five items (two of them tracked in stock, so each order also
locks, decrements and logs stock) and an Idempotency-Key, from BENCH_CLIENTS (20) concurrent
keep-alive clients, against gunicorn with BENCH_WORKERS (2) workers (BENCH_THREADS threads each) on
127.0.0.1. Each client is a till of its own restaurant (BENCH_RESTAURANTS, default one per
client).

Three sides, measured in the same run:

- `with RLS`: the API as it runs in production;
- `RLS dropped`: the same server and load against a copy of the database whose RLS policies
  are dropped (tables DISABLE ROW LEVEL SECURITY): the application's own restaurant filters
  still apply, only the database's second wall is gone;
- `floor`: the same transaction done by raw psycopg, the statements the API sends (token,
  tenant, key, modifier groups, products with their stock locked, rates, number with order and
  items, stock with movements, the key's response) in the API's round trips (BEGIN + token;
  tenant + key + groups + products + rates; the order; stock + response + COMMIT), from
  the same number of clients, each with its own connection as the runtime role: what the
  database alone can do with these writes, without HTTP, Django or Python's pricing.

With PgBouncer (/usr/sbin/pgbouncer, Debian's package, installed with apt-get when missing and
root, as the tests install it; else left out saying why), the API with RLS and the floor run once more through a PgBouncer in transaction mode
started as the tests start theirs (tests/pgbouncer.py; BENCH_PGBOUNCER_POOL server
connections, default 10); BENCH_PGBOUNCER=0 leaves it out. BENCH_RLS_CONTROL=1: an A/A run, the copy
keeps its policies, so the `RLS overhead` printed is what the bench itself makes of two equal
databases (its bias and noise), not the policies' cost. Each side writes into its own copy of the
seeded database, so no side's orders slow another's; each round starts with the tables an order
rewrites vacuumed and those it grows analyzed in every copy (REWRITTEN_TABLES, GROWN_TABLES:
autovacuum is off on the CI cluster).

Each side gets BENCH_SECONDS (default 30) of load in total, in BENCH_ROUNDS (default 10)
short rounds whose order rotates, so that drift on a shared machine hits every side alike; the
two RLS sides run back to back, in alternating order (`rotation`).
Printed: orders/s, p50 and p99 latency of each side, the load generator's own CPU per order (the
API's clients are raw sockets with pre-encoded requests, so they take little of the shared cores),
the gunicorn workers' and PgBouncer's CPU per order (from /proc), the round trips one order takes
(the API's read from libpq's protocol trace of a worker-like request: it sends its 11 statements in
fewer, those whose results it does not wait for in front of the next, fynlo.core.postgresql), the
API's orders/s as a ratio of the floor's (target at least 0.5x, and through PgBouncer), and
the RLS overhead as the median over rounds of (time per order with RLS) / (time per order
without): the median, because a burst of other load on the machine skews one round, not the
pair's comparison (target at most 1.05x).
"""

from __future__ import annotations

import hashlib
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

TARGET = 1.05  # RLS overhead, at most
FLOOR_TARGET = 0.5  # the API's orders/s as a ratio of the floor's, at least
SLUG = "ordb"
STOCK = Decimal("9000000")
# Tables the benchmark's orders write to, children first (foreign keys have no ON DELETE CASCADE).
ORDER_TABLES = [
    "stock_movements", "order_items", "refunds", "payments", "commission_records", "idempotency_keys",
    "order_number_counters", "orders",
]
# The few rows every order rewrites (the stock, the day's number, a token's last use): autovacuum is off
# on the CI cluster (/etc/postgresql/15/main/conf.d/90-ci.conf), so their dead versions and index
# entries pile up for as long as the database lives (40 stock rows: 11k dead versions, 287 pages after
# ~12k orders); each order reads them again. Every
# bench database has them vacuumed before each round (as autovacuum would in production), so each
# round's sides start from the same state, whatever ran before. (idempotency_keys' dead versions, one
# per order, are never read again: vacuuming them would only add I/O between rounds.)
REWRITTEN_TABLES = ["inventory_items", "order_number_counters", "api_tokens"]
# The tables every order grows. Their statistics are refreshed before each round too, as autovacuum's
# ANALYZE would: a connection keeps the plans of the foreign-key checks it made while the orders table
# was nearly empty (a sequential scan of `orders` for each order line's `(restaurant_id, order_id)`),
# until an ANALYZE invalidates them; without it, a connection that lives through the run (a gunicorn
# worker's, PgBouncer's) got slower with every order (the floor's statements on one connection: 4.4 ->
# 8.2 ms an order over 6,000 orders, a new connection 4.4 ms all along), one that is made anew does not.
GROWN_TABLES = ["orders", "order_items", "stock_movements", "idempotency_keys"]


@dataclass
class Till:
    restaurant_id: int
    user_id: int
    token: str
    body: bytes
    product_ids: list[int]
    quantities: list[int]
    # one order's response as the API gives it: what the floor prices and stores with its key
    sample: dict = field(default_factory=dict)


@dataclass
class Round:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    client_cpu: float = 0.0  # the load generator's own CPU seconds (this process, all its threads)
    server_cpu: float = 0.0  # the gunicorn workers' CPU seconds (API sides)
    bouncer_cpu: float = 0.0  # PgBouncer's CPU seconds (sides through it)


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
            tills.append(Till(
                restaurant.pk, user.pk, key, json.dumps(body).encode(), [p.pk for p in products],
                [line["quantity"] for line in body["items"]],
            ))
    # the same start whatever earlier runs left (see REWRITTEN_TABLES), with fresh statistics
    with connect("owner") as owner:
        vacuum(owner, [*ORDER_TABLES, *REWRITTEN_TABLES], analyze=True)
    return tills


def vacuum(conn, tables: list[str], *, analyze: bool = False) -> None:
    """VACUUM (ANALYZE) these tables, on an autocommit connection as their owner."""
    conn.execute(f"VACUUM {'(ANALYZE) ' if analyze else ''}{', '.join(dict.fromkeys(tables))}")


def _owner_connection(database: str):
    """The owner role, connected to another database (a template must have no sessions)."""
    import psycopg
    from django.db import connections

    return psycopg.connect(**{**connections["owner"].get_connection_params(), "dbname": database}, autocommit=True)


def copy_database(source: str, suffix: str, *, drop_policies: bool = False) -> str:
    """A copy of the bench database (`<source>_<suffix>`), its name; `drop_policies`: with every RLS
    policy dropped (the `RLS dropped` side)."""
    from django.db import connections

    target = f"{source}_{suffix}"
    connections.close_all()
    with _owner_connection("postgres") as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
    if not drop_policies:
        return target
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


def start_server(database: str, *, threads: int, via: tuple[str, int] | None = None,
                 worker_class: str = "gthread", workers: int = 2) -> tuple[subprocess.Popen, int]:
    """gunicorn (`workers` processes) on a free local port, with both database URLs pointing at `database`;
    `via`: the runtime role's connections go through this (host, port), a PgBouncer."""
    port = _free_port()
    if worker_class == "sync":
        threads = 1  # gunicorn makes a sync worker with more threads a gthread one
    url = _with_database(os.environ["DATABASE_URL"], database)
    extra = {}
    if via is not None:
        parts = urlsplit(url)
        credentials = parts.netloc.rpartition("@")[0]
        url = urlunsplit(parts._replace(netloc=f"{credentials}@{via[0]}:{via[1]}" if credentials else f"{via[0]}:{via[1]}"))
        extra["DATABASE_POOLER"] = "pgbouncer"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DATABASE_OWNER_URL": _with_database(os.environ.get("DATABASE_OWNER_URL") or os.environ["DATABASE_URL"], database),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        **extra,
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "fynlo.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--worker-class", worker_class, "--threads", str(threads), "--keep-alive", "30", "--log-level", "warning"],
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


class Session:
    """One client's connection: `place(till)` places one order (True when it was placed)."""

    def place(self, till: Till) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        pass


class ApiSession(Session):
    """A keep-alive HTTP/1.1 client of the API on a raw socket: the request is encoded once per
    till (only the Idempotency-Key changes), the response is read by its Content-Length. The
    load generator shares the machine's cores with the server, so it does as little as it can
    (http.client parses every response's headers with the email package)."""

    def __init__(self, port: int):
        self.port = port
        self.sock: socket.socket | None = None
        self.requests: dict[int, tuple[bytes, bytes]] = {}

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def _request(self, till: Till) -> tuple[bytes, bytes]:
        """The request's bytes before and after its key."""
        parts = self.requests.get(id(till))
        if parts is None:
            head = (f"POST /api/v1/orders/ HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                    f"Content-Type: application/json\r\nAuthorization: Token {till.token}\r\n"
                    f"Content-Length: {len(till.body)}\r\nIdempotency-Key: ").encode()
            parts = self.requests[id(till)] = (head, b"\r\n\r\n" + till.body)
        return parts

    def _exchange(self, request: bytes) -> tuple[int, bytes]:
        if self.sock is None:
            self.sock = self._connect()
        self.sock.sendall(request)
        data = b""
        while (end := data.find(b"\r\n\r\n")) < 0:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            data += chunk
        head, body = data[:end], data[end + 4:]
        status = int(head[9:12])
        start = head.lower().find(b"\r\ncontent-length:")
        if start < 0:
            raise ConnectionError("a response without Content-Length")
        line_end = head.find(b"\r\n", start + 2)
        length = int(head[start + 17:line_end if line_end > 0 else len(head)])
        while len(body) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            body += chunk
        if b"\r\nconnection: close" in head.lower():  # a sync worker: one request per connection
            self.close()
        return status, body

    def place(self, till: Till) -> bool:
        head, tail = self._request(till)
        try:
            status, body = self._exchange(head + uuid.uuid4().hex.encode() + tail)
        except (OSError, ValueError):
            self.close()
            return False
        if status == 201 and not till.sample:
            till.sample = json.loads(body)
        return status == 201

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


# The floor's statements: those the API sends for one order (tests/pos/test_queries.py lists
# them), as plain SQL with the values the API's own response for the till holds.
FLOOR_TENANT = (
    "SELECT set_config('app.current_restaurant_id', %s, true), set_config('app.current_platform_id', '', true),"
    " set_config('app.all_tenants', '', true)"
)
FLOOR_KEY = (
    "INSERT INTO idempotency_keys (restaurant_id, key, request_hash) VALUES (%s, %s, %s)"
    " ON CONFLICT (restaurant_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, response_status = NULL,"
    " response_body = NULL, created_at = now() WHERE idempotency_keys.created_at < now() - interval '24 hours'"
    " RETURNING id"
)
FLOOR_GROUPS = (
    "SELECT l.*, g.* FROM product_modifier_groups l JOIN modifier_groups g ON g.id = l.group_id"
    " WHERE l.product_id = ANY(%s) AND l.restaurant_id = %s ORDER BY g.display_order, g.name, l.group_id"
)
FLOOR_PRODUCTS = (
    "SELECT p.*, s.id, s.current_stock, s.unit_cost FROM"
    " (SELECT * FROM products WHERE restaurant_id = %(r)s AND id = ANY(%(products)s)) p"
    " FULL JOIN (SELECT * FROM inventory_items WHERE restaurant_id = %(r)s AND product_id IN"
    " (SELECT id FROM products WHERE restaurant_id = %(r)s AND id = ANY(%(products)s) AND track_inventory)"
    " ORDER BY id FOR UPDATE) s ON s.product_id = p.id"
)
FLOOR_SETTINGS = (
    "SELECT restaurant_id, setting_key, setting_value FROM restaurant_settings"
    " WHERE restaurant_id = %s AND setting_key = ANY(%s)"
)
FLOOR_ORDER = """
WITH next_number AS (
    INSERT INTO order_number_counters (restaurant_id, day, last_number) VALUES (%(r)s, %(day)s, 1)
    ON CONFLICT (restaurant_id, day) DO UPDATE SET last_number = order_number_counters.last_number + 1
    RETURNING last_number
), new_order AS (
    INSERT INTO orders (restaurant_id, order_number, table_number, customer_name, order_type, status, subtotal,
                        tax_amount, service_charge, discount_amount, total_amount, items_count, vat_rate,
                        service_charge_rate, prices_include_vat, version, served_by, created_by, client_reference,
                        oversold_offline)
    SELECT %(r)s, %(prefix)s || lpad(last_number::text, greatest(4, length(last_number::text)), '0'), %(table)s,
           NULL, %(type)s, 'confirmed', %(subtotal)s, %(tax)s, %(service)s, %(discount)s, %(total)s, %(count)s,
           %(vat_rate)s, %(service_rate)s, false, 1,
           (SELECT id FROM employees WHERE restaurant_id = %(r)s AND user_id = %(user)s AND is_active ORDER BY id LIMIT 1),
           %(user)s, NULL, false
    FROM next_number
    RETURNING id, order_number, served_by, created_at, received_at, updated_at
), new_items AS (
    INSERT INTO order_items (restaurant_id, order_id, product_id, quantity, unit_price, total_price, modifiers)
    SELECT %(r)s, (SELECT id FROM new_order), i.product_id, i.quantity, i.unit_price, i.total_price, '[]'
    FROM unnest(%(products)s::int[], %(quantities)s::int[], %(units)s::numeric[], %(totals)s::numeric[])
         WITH ORDINALITY AS i(product_id, quantity, unit_price, total_price, n)
    ORDER BY i.n
    RETURNING id, order_id, created_at
)
SELECT new_order.*, ARRAY(SELECT id FROM new_items ORDER BY id), ARRAY(SELECT created_at FROM new_items ORDER BY id)
FROM new_order
"""
FLOOR_STOCK = """
WITH stock AS (
    UPDATE inventory_items SET current_stock = v.stock, updated_at = now()
    FROM unnest(%(items)s::int[], %(stock)s::numeric[]) AS v(id, stock)
    WHERE inventory_items.id = v.id AND inventory_items.restaurant_id = %(r)s
)
INSERT INTO stock_movements (restaurant_id, inventory_item_id, movement_type, quantity, unit_cost, total_cost,
                             reference_id, reference_type, created_by, oversold_offline)
SELECT %(r)s, m.id, 'sale', -m.units, m.cost, round(m.units * m.cost, 2), %(order)s, 'order', %(user)s, false
FROM unnest(%(items)s::int[], %(units)s::numeric[], %(costs)s::numeric[]) AS m(id, units, cost)
RETURNING id, created_at
"""
FLOOR_RESPONSE = "UPDATE idempotency_keys SET response_status = 201, response_body = %s WHERE id = %s"


class FloorSession(Session):
    """One client of the floor: a psycopg connection as the runtime role sending the API's
    statements in the API's round trips (statements whose results the next ones do not need go in
    one simple-query message, parameters bound client-side, as the API's connection does), no
    server-side prepares (as the project's own connections)."""

    statements = 0  # the statements of the last order
    round_trips = 0  # ... and the round trips they took

    def __init__(self, params: dict):
        import psycopg
        from django.utils import timezone

        params = {**params, "cursor_factory": psycopg.ClientCursor}
        self.conn = psycopg.connect(**params, autocommit=True, prepare_threshold=None)
        self.day = timezone.localdate()  # the API's day (the project's time zone)

    def place(self, till: Till) -> bool:
        import psycopg
        from psycopg.types.json import Jsonb

        sample, cursor, sent = till.sample, self.conn.cursor(), []

        def round_trip(*statements):
            """Send (sql, params) statements in one message; the cursor is left on the last one's
            result, each earlier one's rows returned in order."""
            sent.append(len(statements))
            cursor.execute("; ".join(cursor.mogrify(sql, params) for sql, params in statements))
            earlier = []
            for _ in statements[:-1]:
                earlier.append(cursor.fetchall() if cursor.description else None)
                cursor.nextset()
            return earlier

        try:
            round_trip(("BEGIN", None),
                       ("SELECT * FROM fynlo_identity_by_token(%s)", [hashlib.sha256(till.token.encode()).hexdigest()]))
            cursor.fetchone()
            key = uuid.uuid4().hex
            _, claimed, _, rows = round_trip(
                (FLOOR_TENANT, [str(till.restaurant_id)]),
                (FLOOR_KEY, [till.restaurant_id, key, hashlib.sha256(till.body + key.encode()).hexdigest()]),
                (FLOOR_GROUPS, [till.product_ids, till.restaurant_id]),
                (FLOOR_PRODUCTS, {"r": till.restaurant_id, "products": till.product_ids}),
                (FLOOR_SETTINGS, [till.restaurant_id, ["vat_rate", "service_charge_rate", "prices_include_vat"]]))
            cursor.fetchall()
            key_id = claimed[0][0]
            items = sample["items"]
            round_trip((FLOOR_ORDER, {
                "r": till.restaurant_id, "user": till.user_id, "day": self.day, "prefix": f"{till.restaurant_id}-{self.day:%Y%m%d}-",
                "table": sample["table_number"], "type": sample["order_type"], "subtotal": sample["subtotal"],
                "tax": sample["tax_amount"], "service": sample["service_charge"], "discount": sample["discount_amount"],
                "total": sample["total_amount"], "count": sample["items_count"], "vat_rate": sample["vat_rate"],
                "service_rate": sample["service_charge_rate"], "products": [item["product_id"] for item in items],
                "quantities": [item["quantity"] for item in items], "units": [item["unit_price"] for item in items],
                "totals": [item["total_price"] for item in items],
            }))
            order = cursor.fetchone()
            quantity = dict(zip(till.product_ids, till.quantities))
            stock = [(row[-3], quantity[row[0]], row[-2], row[-1]) for row in rows if row[-3] is not None]
            round_trip((FLOOR_STOCK, {
                "r": till.restaurant_id, "order": order[0], "user": till.user_id,
                "items": [item for item, *_ in stock], "units": [units for _, units, _, _ in stock],
                "stock": [current - units for _, units, current, _ in stock], "costs": [cost for *_, cost in stock],
            }), (FLOOR_RESPONSE, [Jsonb({**sample, "id": order[0], "order_number": order[1]}), key_id]), ("COMMIT", None))
        except psycopg.Error:
            try:
                self.conn.execute("ROLLBACK")
            except psycopg.Error:
                pass
            return False
        self.statements, self.round_trips = sum(sent), len(sent)
        return True

    def close(self) -> None:
        self.conn.close()


def server_cpu_seconds(server: subprocess.Popen | None) -> float:
    """CPU seconds (user and system) the server's processes have used so far: its workers, read
    from /proc (0 where there is no /proc)."""
    if server is None:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    try:
        pids = [server.pid] + [int(pid) for pid in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()]
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    except (OSError, ValueError):
        return 0.0
    return total / ticks


def process_cpu_seconds(pid: int | None) -> float:
    """CPU seconds (user and system) one process has used so far (0 where there is no /proc)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(session_for, tills: list[Till], *, clients: int, seconds: float,
         server: subprocess.Popen | None = None, bouncer: int | None = None) -> Round:
    """`clients` clients, each with its own session (`session_for()`), placing orders for `seconds`."""
    result = Round()
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(till: Till, session: Session):
        latencies, errors = [], 0
        start.wait()
        while time.perf_counter() < stop_at[0]:
            began = time.perf_counter()
            if session.place(till):
                latencies.append(time.perf_counter() - began)
            else:
                errors += 1
        session.close()
        with lock:
            result.latencies.extend(latencies)
            result.errors += errors

    threads = [threading.Thread(target=client, args=(tills[i % len(tills)], session_for())) for i in range(clients)]
    for thread in threads:
        thread.start()
    began, cpu, served = time.perf_counter(), time.process_time(), server_cpu_seconds(server)
    bounced = process_cpu_seconds(bouncer)
    stop_at[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - began
    result.client_cpu = time.process_time() - cpu
    result.server_cpu = server_cpu_seconds(server) - served
    result.bouncer_cpu = process_cpu_seconds(bouncer) - bounced
    return result


def api_statements_per_order(till: Till) -> int:
    """The round trips one order takes through the API, end to end, as a gunicorn worker's persistent
    connection sends them: what libpq's protocol trace shows (queries Django does not log, such as
    a connection health check, count too)."""
    import tempfile

    from django.conf import settings
    from django.core.signals import request_finished, request_started
    from django.db import connection
    from django.test import Client
    from psycopg import pq

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]

    def order():
        request_started.send(sender=None)  # the test client leaves out closing old connections
        response = Client().post(
            "/api/v1/orders/", data=till.body, content_type="application/json", secure=True,
            HTTP_AUTHORIZATION=f"Token {till.token}", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
        )
        request_finished.send(sender=None)
        if response.status_code != 201:
            raise RuntimeError(f"the counted order was refused: {response.status_code} {response.content[:300]!r}")

    order()  # the connection is open and has served a request, as in a running worker
    with tempfile.TemporaryFile("w+") as trace:
        connection.connection.pgconn.trace(trace.fileno())
        connection.connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            order()
        finally:
            connection.connection.pgconn.untrace()
        trace.seek(0)
        # a simple query (one statement, or several joined), or an extended one's Sync: a round trip each
        return sum(1 for line in trace if line.startswith("F") and ("\tQuery\t" in line or "\tSync" in line))


def summary(rounds: list[Round]) -> tuple[float, float, float, int, int, float, float, float]:
    """orders/s, p50, p99, orders, errors, and the load generator's, gunicorn's and PgBouncer's CPU
    seconds per order."""
    latencies = sorted(latency for r in rounds for latency in r.latencies)
    seconds = sum(r.seconds for r in rounds)
    count = len(latencies)
    rps = count / seconds if seconds else 0.0
    p50 = statistics.median(latencies) if latencies else float("nan")
    p99 = latencies[min(count - 1, int(count * 0.99))] if latencies else float("nan")
    client_cpu = sum(r.client_cpu for r in rounds) / count if count else float("nan")
    server_cpu = sum(r.server_cpu for r in rounds) / count if count else float("nan")
    bouncer_cpu = sum(r.bouncer_cpu for r in rounds) / count if count else float("nan")
    return rps, p50, p99, count, sum(r.errors for r in rounds), client_cpu, server_cpu, bouncer_cpu


def rotation(keys: list[str], number: int) -> list[str]:
    """Round `number`'s order of the sides: the sides rotate, but the two RLS sides run one right
    after the other, which first alternating, so that what the side before leaves behind (dirty
    pages for the checkpointer, the machine's caches) falls on both alike."""
    units: list[list[str]] = [["rls", "plain"] if number % 2 == 0 else ["plain", "rls"]]
    units += [[key] for key in keys if key not in ("rls", "plain")]
    shift = number % len(units)
    return [key for unit in units[shift:] + units[:shift] for key in unit]


def _pgbouncer_wanted() -> str | None:
    """None when the bench runs through PgBouncer too; else why not."""
    if os.environ.get("BENCH_PGBOUNCER", "1") in ("0", ""):
        return "BENCH_PGBOUNCER=0"
    from tests.pgbouncer import pgbouncer_unavailable

    return pgbouncer_unavailable()  # installed with apt-get when missing (as root), as the tests do


def run() -> bool:
    setup_django()
    from contextlib import ExitStack

    from django.db import connections

    database = bench_database()
    clients = int(os.environ.get("BENCH_CLIENTS", 20))
    restaurants = int(os.environ.get("BENCH_RESTAURANTS", clients))
    seconds = float(os.environ.get("BENCH_SECONDS", 30))
    rounds = int(os.environ.get("BENCH_ROUNDS", 10))
    threads = int(os.environ.get("BENCH_THREADS", 2))
    worker_class = os.environ.get("BENCH_WORKER_CLASS", "gthread")  # or sync (one request at a time per worker)
    workers = int(os.environ.get("BENCH_WORKERS", 2))
    pool = int(os.environ.get("BENCH_PGBOUNCER_POOL", 10))
    warmup = min(5.0, seconds / rounds)
    tills = seed(restaurants)
    api_statements = api_statements_per_order(tills[0])
    no_pgbouncer = _pgbouncer_wanted()
    control = os.environ.get("BENCH_RLS_CONTROL", "") not in ("", "0")
    # Every side writes into a database of its own, copied from the seeded one: a side's orders (and
    # the dead versions they leave) slow the orders that come after them in the same database, so a
    # database shared by several sides would be handicapped against one that takes a single side's.
    # The two RLS sides' databases are both copies, made alike (the seeded database itself has a past).
    databases = {key: copy_database(database, suffix, drop_policies=key == "plain" and not control)
                 for key, suffix in [("rls", "rls"), ("plain", "norls"), ("floor", "floor"),
                                     *([("rls_pgbouncer", "pgb"), ("floor_pgbouncer", "pgbfloor")] if no_pgbouncer is None else [])]}
    floor_params = {**connections["default"].get_connection_params(), "dbname": databases["floor"]}
    floor_params.pop("prepare_threshold", None)
    sides: list[tuple[str, str, object]] = []  # (key, label, session factory)

    with ExitStack() as stack:
        for copy in databases.values():
            stack.callback(drop_database, copy)
        bouncer = None
        if no_pgbouncer is None:
            from tests.pgbouncer import running_pgbouncer

            bouncer = stack.enter_context(running_pgbouncer(pool_size=pool))
        servers = []
        stack.callback(lambda: [stop_server(server) for server in servers])
        with_rls, rls_port = start_server(databases["rls"], threads=threads, worker_class=worker_class, workers=workers)
        servers.append(with_rls)
        without_rls, plain_port = start_server(databases["plain"], threads=threads, worker_class=worker_class, workers=workers)
        servers.append(without_rls)
        sides += [
            ("rls", "with RLS   ", lambda: ApiSession(rls_port)),
            ("plain", "RLS dropped", lambda: ApiSession(plain_port)),
            ("floor", "floor      ", lambda: FloorSession(floor_params)),
        ]
        if bouncer is not None:
            bounced, bounced_port = start_server(
                databases["rls_pgbouncer"], threads=threads, via=(bouncer.host, bouncer.port), worker_class=worker_class, workers=workers
            )
            servers.append(bounced)
            bounced_params = {**floor_params, "dbname": databases["floor_pgbouncer"], "host": bouncer.host,
                              "port": bouncer.port}
            sides += [
                ("rls_pgbouncer", "PgBouncer  ", lambda: ApiSession(bounced_port)),
                ("floor_pgbouncer", "floor, PgB.", lambda: FloorSession(bounced_params)),
            ]
        print(f"orders_api: POST /api/v1/orders/ (5 items, 2 tracked, an Idempotency-Key), {clients} clients, gunicorn "
              f"{workers} {worker_class} workers x {threads if worker_class == 'gthread' else 1} threads, {seconds:.0f} s per side in {rounds} rotating rounds; "
              + ("through PgBouncer too (transaction mode, pool of " + str(pool) + ")" if no_pgbouncer is None
                 else f"not through PgBouncer: {no_pgbouncer}"), flush=True)
        # API warm-up first: each till's first response is what the floor writes
        for key, _, session_for in sides:
            load(session_for, tills, clients=clients, seconds=warmup)
            if key == "rls" and not all(tills[i % len(tills)].sample for i in range(clients)):
                print("orders_api: some tills placed no order while warming up; is the server healthy?")
                return False
        probe = FloorSession(floor_params)
        probe.place(tills[0])
        probe.close()
        floor_statements, floor_round_trips = probe.statements, probe.round_trips
        measured: dict[str, list[Round]] = {key: [] for key, _, _ in sides}
        server_of = dict(zip(["rls", "plain", "rls_pgbouncer"], servers))
        by_key = {side[0]: side for side in sides}
        for number in range(rounds):
            for name in databases.values():
                with _owner_connection(name) as conn:
                    vacuum(conn, REWRITTEN_TABLES)
                    conn.execute(f"ANALYZE {', '.join(GROWN_TABLES)}")
            for key in rotation(list(by_key), number):
                session_for = by_key[key][2]
                measured[key].append(load(
                    session_for, tills, clients=clients, seconds=seconds / rounds, server=server_of.get(key),
                    bouncer=bouncer.process.pid if bouncer is not None and key.endswith("_pgbouncer") else None,
                ))
    figures = {}
    for key, label, _ in sides:
        rps, p50, p99, count, errors, client_cpu, server_cpu, bouncer_cpu = summary(measured[key])
        figures[key] = rps
        server = f"  gunicorn CPU {server_cpu * 1000:5.2f} ms/order" if server_cpu == server_cpu and server_cpu else ""
        if bouncer_cpu == bouncer_cpu and bouncer_cpu:
            server += f"  PgBouncer CPU {bouncer_cpu * 1000:4.2f} ms/order"
        print(f"  {label}: {rps:8.1f} orders/s  p50 {p50 * 1000:6.1f} ms  p99 {p99 * 1000:6.1f} ms  "
              f"client CPU {client_cpu * 1000:5.2f} ms/order{server}  ({count} orders, {errors} errors)")
    print(f"  round trips per order: API {api_statements}, floor {floor_round_trips} ({floor_statements} statements,"
          " grouped as the API groups them)")
    if not figures["rls"] or not figures["plain"] or not figures["floor"]:
        print("orders_api: no successful orders; is the server healthy?")
        return False
    errors = sum(r.errors for side in measured.values() for r in side)
    ok = report("API vs floor (orders/s, the API's over the database alone)", figures["rls"], figures["floor"],
                FLOOR_TARGET, lower_is_better=False, unit="/s")
    if "rls_pgbouncer" in figures and figures["floor_pgbouncer"]:
        ok &= report("API vs floor through PgBouncer (orders/s)", figures["rls_pgbouncer"], figures["floor_pgbouncer"],
                     FLOOR_TARGET, lower_is_better=False, unit="/s")
        # PgBouncer lifts the floor (its 20 clients share fewer server connections, fewer backends
        # contend), so the line above holds the pooled API to more than the database alone does: for
        # the record, the API through PgBouncer against the direct floor too (no pass or fail)
        print(f"  (API through PgBouncer vs the direct floor: {figures['rls_pgbouncer']:.1f}/s vs "
              f"{figures['floor']:.1f}/s = {figures['rls_pgbouncer'] / figures['floor']:.3f}x; the floor gained "
              f"{figures['floor_pgbouncer'] / figures['floor']:.3f}x from PgBouncer, the API "
              f"{figures['rls_pgbouncer'] / figures['rls']:.3f}x)")
    ratios = [
        (rls.seconds / len(rls.latencies)) / (plain.seconds / len(plain.latencies))
        for rls, plain in zip(measured["rls"], measured["plain"])
        if rls.latencies and plain.latencies
    ]
    print(f"  per-round ratios (in round order): {', '.join(f'{ratio:.3f}' for ratio in ratios)}")
    median_ratio = statistics.median(ratios)
    if control:
        print("  BENCH_RLS_CONTROL: the `RLS dropped` side's copy kept its policies (A/A): the ratio below is the bench's own bias")
    ok &= report("RLS overhead (time per order at full load, median of rounds)",
                 median_ratio / figures["plain"], 1 / figures["plain"], TARGET)
    return ok and errors == 0


if __name__ == "__main__":
    raise SystemExit(0 if run() else 1)
