"""rewrite_storage_urls vs one raw `UPDATE products SET image_url = ... WHERE image_url LIKE 'prefix%'`.

1M products with image URLs on the old domain (BENCH_PRODUCTS to change), in one restaurant
of the benchmark database. Each timed run starts from the same state: the URLs reset to the
old domain and the table compacted (VACUUM FULL, ANALYZE). Runs alternate raw, command,
command, raw (BENCH_ROUNDS times, default 1) so drift on a shared machine cancels; the ratio
of the best run of each is the result (noise only adds time), the ratio of the sums is
printed too. The command's time includes everything it does: finding the
URL columns, every batch, the settings tables, and writing the undo log (fsynced per batch).
Target: at most 1.5x. The undo (`--undo`), used to reset after each command run, is timed
for information.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from pathlib import Path

from bench.common import bench_database, connect, report, setup_django

TARGET = 1.5
OLD = "https://old-storage-domain.com/"
NEW = "https://fynlo-pos-storage.lon1.digitaloceanspaces.com/"
SLUG = "storage-urls-bench"


def load(products: int) -> int:
    """The bench restaurant's id, with exactly `products` products whose URLs are on OLD."""
    owner = connect("owner")
    row = owner.execute("SELECT id FROM restaurants WHERE slug = %s", [SLUG]).fetchone()
    if row is None:
        platform = owner.execute(
            "INSERT INTO platforms (name, slug, owner_email) VALUES ('Storage bench', %s, 'a@b.test') RETURNING id",
            [SLUG],
        ).fetchone()[0]
        row = owner.execute(
            "INSERT INTO restaurants (platform_id, name, slug) VALUES (%s, 'Storage bench', %s) RETURNING id",
            [platform, SLUG],
        ).fetchone()
    restaurant = row[0]
    have = owner.execute("SELECT count(*) FROM products WHERE restaurant_id = %s", [restaurant]).fetchone()[0]
    if have != products:
        print(f"loading {products:,} products ...", flush=True)
        owner.execute("DELETE FROM products WHERE restaurant_id = %s", [restaurant])
        owner.execute(
            "INSERT INTO products (restaurant_id, name, price, image_url)"
            " SELECT %s, 'Product ' || g, 9.99, %s || 'restaurants/' || %s || '/products/' || md5(g::text) || '.png'"
            " FROM generate_series(1, %s) g",
            [restaurant, OLD, restaurant, products],
        )
    owner.close()
    return restaurant


def reset(restaurant: int) -> None:
    """URLs back on OLD, the table compacted: every timed run starts from the same state."""
    owner = connect("owner")
    owner.execute(
        "UPDATE products SET image_url = %s || substr(image_url, %s) WHERE restaurant_id = %s AND image_url LIKE %s",
        [OLD, len(NEW) + 1, restaurant, NEW + "%"],
    )
    owner.execute("VACUUM FULL products")
    owner.execute("ANALYZE products")
    owner.close()


def raw_update() -> float:
    owner = connect("owner")
    started = time.perf_counter()
    owner.execute(
        "UPDATE products SET image_url = %s || substr(image_url, %s) WHERE image_url LIKE %s",
        [NEW, len(OLD) + 1, OLD + "%"],
    )
    elapsed = time.perf_counter() - started
    owner.close()
    return elapsed


def command_run(undo_log: Path, products: int) -> float:
    from django.db import connections

    from fynlo.cutover.storage_urls import storage_urls_rewrite

    started = time.perf_counter()
    result = storage_urls_rewrite(from_prefixes=[OLD], to=NEW, undo_log=undo_log, progress_stream=io.StringIO())
    elapsed = time.perf_counter() - started
    connections.close_all()
    assert result.rewritten >= products, (result.rewritten, products)
    return elapsed


def undo_run(undo_log: Path) -> float:
    from django.db import connections

    from fynlo.cutover.storage_urls import storage_urls_undo

    started = time.perf_counter()
    result = storage_urls_undo(undo_log=undo_log, progress_stream=io.StringIO())
    elapsed = time.perf_counter() - started
    connections.close_all()
    assert not result.conflicts
    return elapsed


def run() -> bool:
    setup_django()
    bench_database()
    products = int(os.environ.get("BENCH_PRODUCTS", 1_000_000))
    rounds = int(os.environ.get("BENCH_ROUNDS", 1))
    restaurant = load(products)
    reset(restaurant)
    raw_times, command_times, undo_times = [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-storage-urls-") as folder:
        for index in range(rounds):
            for step in ("raw", "command", "command", "raw"):
                if step == "raw":
                    seconds = raw_update()
                    raw_times.append(seconds)
                    reset(restaurant)
                else:
                    undo_log = Path(folder) / f"undo-{index}-{len(undo_times)}.csv"
                    seconds = command_run(undo_log, products)
                    command_times.append(seconds)
                    size = undo_log.stat().st_size
                    undo_times.append(undo_run(undo_log))
                    undo_log.unlink()
                    reset(restaurant)
                print(f"  {step:<8} {seconds:7.2f}s", flush=True)
    print(f"{products:,} products, {rounds} round(s); undo log {size / 1e6:,.0f} MB per run; "
          f"undo (--undo) {min(undo_times):.2f}s at best")
    print(f"summed times: command {sum(command_times):.2f}s, raw {sum(raw_times):.2f}s, "
          f"ratio {sum(command_times) / sum(raw_times):.3f}x")
    # Noise from other work on the machine only ever adds time: compare the best run of each.
    title = f"rewrite_storage_urls on {products:,} product URLs vs one raw UPDATE ... LIKE (best runs)"
    return report(title, min(command_times), min(raw_times), TARGET)


if __name__ == "__main__":
    raise SystemExit(0 if run() else 1)
