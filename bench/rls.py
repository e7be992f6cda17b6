"""RLS cost: a per-restaurant aggregate as the runtime role under RLS vs the owner with WHERE.

1M orders over 100 restaurants (BENCH_ORDERS / BENCH_RESTAURANTS to change). Each round
runs, for every restaurant, count(*) and sum(total_amount) once each way, interleaved (who
goes first alternates); the ratio of the summed times is printed. Target: at most 1.05x.
"""

from __future__ import annotations

import os
import random

from bench.common import bench_database, connect, report, setup_django

TARGET = 1.05


def load(orders: int, restaurants: int) -> list[int]:
    owner = connect("owner")
    have = owner.execute("SELECT count(*) FROM orders WHERE order_number LIKE 'RLSB-%%'").fetchone()[0]
    if have != orders:
        print(f"loading {orders:,} orders over {restaurants} restaurants ...", flush=True)
        owner.execute("DELETE FROM orders WHERE order_number LIKE 'RLSB-%%'")
        owner.execute("DELETE FROM restaurants WHERE slug LIKE 'rlsb-%%'")
        owner.execute("DELETE FROM platforms WHERE slug LIKE 'rlsb-%%'")
        owner.execute(
            "INSERT INTO platforms (name, slug, owner_email) VALUES"
            " ('RLS bench 1', 'rlsb-1', 'a@b.test'), ('RLS bench 2', 'rlsb-2', 'a@b.test')"
        )
        owner.execute(
            "INSERT INTO restaurants (platform_id, name, slug)"
            " SELECT (SELECT id FROM platforms WHERE slug = 'rlsb-' || (1 + g %% 2)), 'R ' || g, 'rlsb-' || g"
            " FROM generate_series(1, %s) g",
            [restaurants],
        )
        owner.execute(
            "INSERT INTO orders (restaurant_id, order_number, subtotal, tax_amount, service_charge,"
            " total_amount, status, order_type, created_at)"
            " SELECT r.ids[1 + g %% %s], 'RLSB-' || g, 10.00, 2.00, 1.25, 13.25 + (g %% 7), 'completed',"
            " 'dine_in', now() - (g %% 10000) * interval '1 minute'"
            " FROM generate_series(1, %s) g,"
            " (SELECT array_agg(id ORDER BY id) ids FROM restaurants WHERE slug LIKE 'rlsb-%%') r",
            [restaurants, orders],
        )
        owner.execute("VACUUM ANALYZE orders")
        owner.execute("ANALYZE restaurants")
    ids = [row[0] for row in owner.execute("SELECT id FROM restaurants WHERE slug LIKE 'rlsb-%%' ORDER BY id")]
    owner.close()
    return ids


def run() -> bool:
    import time

    setup_django()
    bench_database()
    orders = int(os.environ.get("BENCH_ORDERS", 1_000_000))
    restaurants = int(os.environ.get("BENCH_RESTAURANTS", 100))
    rounds = int(os.environ.get("BENCH_ROUNDS", 5))
    ids = load(orders, restaurants)
    runtime, owner = connect("default"), connect("owner")
    query = "SELECT count(*), sum(total_amount) FROM orders"
    rls_total = owner_total = 0.0
    rng = random.Random(7)
    for _ in range(rounds + 1):  # the first round warms the cache and is not counted
        order = ids[:]
        rng.shuffle(order)
        rls_round = owner_round = 0.0
        for position, restaurant_id in enumerate(order):
            # Whichever side runs second finds the restaurant's pages warm in the CPU caches:
            # alternate who goes first so neither side gets that advantage throughout.
            sides = ("rls", "owner") if position % 2 == 0 else ("owner", "rls")
            for side in sides:
                started = time.perf_counter()
                if side == "rls":
                    with runtime.transaction():
                        runtime.execute("SELECT set_config('app.current_restaurant_id', %s, true)", [str(restaurant_id)])
                        rls = runtime.execute(query).fetchone()
                    rls_round += time.perf_counter() - started
                else:
                    with owner.transaction():
                        # the same round trips as the RLS side: a statement, then the query
                        owner.execute("SELECT 1")
                        plain = owner.execute(query + " WHERE restaurant_id = %s", [restaurant_id]).fetchone()
                    owner_round += time.perf_counter() - started
            assert rls == plain, (restaurant_id, rls, plain)
        if _:
            rls_total += rls_round
            owner_total += owner_round
    plan = runtime.execute("SELECT 1").fetchone()
    with runtime.transaction():
        runtime.execute("SELECT set_config('app.current_restaurant_id', %s, true)", [str(ids[0])])
        plan = "\n".join(row[0] for row in runtime.execute("EXPLAIN " + query))
    print(f"plan under RLS:\n{plan}")
    print(f"{orders:,} orders, {restaurants} restaurants, {rounds} rounds")
    return report("per-restaurant aggregate, runtime role under RLS vs owner with WHERE", rls_total, owner_total, TARGET)


if __name__ == "__main__":
    raise SystemExit(0 if run() else 1)
