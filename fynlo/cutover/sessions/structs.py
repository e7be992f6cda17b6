"""Type-wise copy and comparison of keys of every type: hashes, lists, sets, sorted sets, streams.

A DUMP payload carries the source's RDB version, and an older or different server refuses it
("DUMP payload version or checksum are wrong", e.g. Redis 8 to Valkey). Then strings are
copied with GET/SET in the mover's pipeline, and every other type here: read by type (HGETALL,
LRANGE, SMEMBERS, ZRANGE WITHSCORES, XRANGE) and written back with the matching commands.
Reads of a batch share one MULTI/EXEC, so a key's type, TTL and value belong together. Writes
build each key under a temporary name in one MULTI/EXEC and RENAMENX it into place: a key
already on the target is never merged into, even by a racing writer. Verification reads
both servers the same way.

Not carried by the type-wise copy: a stream's pending entries and consumers (its entries,
last id and consumer groups are), hash-field TTLs, and module types (these fail, counted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

TYPES = ("string", "hash", "list", "set", "zset", "stream")
TEMPORARY_PREFIX = b"fynlo:move_sessions:tmp:"
_MAX_ROUNDS = 3  # re-reads of a key whose type changed between TYPE and the read


@dataclass
class Snapshot:
    """One key as read: its type ("none" when gone), PTTL (-1 persistent, -2 gone), value."""

    type: str
    pttl: int
    value: Any = None
    size: int = 0
    error: str | None = None

    @property
    def gone(self) -> bool:
        return self.type == "none" or self.pttl == -2


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def raw_client(client: redis.Redis) -> redis.Redis:
    """The same server through a client whose XRANGE replies stay raw (field lists keep
    their order and duplicates; redis-py would fold them into a dict)."""
    copy = redis.Redis(connection_pool=client.connection_pool)
    copy.set_response_callback("XRANGE", lambda response, **options: response)
    return copy


def _queue_reads(pipe, key: bytes, kind: str) -> int:
    if kind == "string":
        pipe.get(key)
    elif kind == "hash":
        pipe.hgetall(key)
    elif kind == "list":
        pipe.lrange(key, 0, -1)
    elif kind == "set":
        pipe.smembers(key)
    elif kind == "zset":
        pipe.zrange(key, 0, -1, withscores=True)
    elif kind == "stream":
        pipe.execute_command("XRANGE", key, "-", "+")
        pipe.xinfo_stream(key)
        pipe.xinfo_groups(key)
        return 3
    else:
        return 0
    return 1


def _value(kind: str, results: list) -> tuple[Any, int]:
    if kind == "string":
        value = results[0]
        return value, len(value)
    if kind == "hash":
        value = results[0]
        return value, sum(len(f) + len(v) for f, v in value.items())
    if kind in ("list", "set"):
        value = results[0]
        return value, sum(len(item) for item in value)
    if kind == "zset":
        value = list(results[0])
        return value, sum(len(member) + 8 for member, _ in value)
    entries, info, groups = results
    meta = {
        "last-generated-id": _text(info.get("last-generated-id")),
        "entries-added": info.get("entries-added"),
        "max-deleted-entry-id": info.get("max-deleted-entry-id"),
    }
    if meta["max-deleted-entry-id"] is not None:
        meta["max-deleted-entry-id"] = _text(meta["max-deleted-entry-id"])
    groups = sorted(
        (_text(group["name"]), _text(group["last-delivered-id"]), group.get("entries-read")) for group in groups
    )
    entries = [(bytes(entry_id), list(fields)) for entry_id, fields in entries]
    size = sum(len(entry_id) + sum(len(part) for part in fields) for entry_id, fields in entries)
    return {"entries": entries, "meta": meta, "groups": groups}, size


def snapshots_read(client: redis.Redis, keys: list[bytes], *, types: list[str] | None = None,
                   retry_changed: bool = True) -> list[Snapshot]:
    """Each key's type, PTTL and value; `types` are the expected types (read first when None)."""
    if not keys:
        return []
    if types is None:
        with client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.type(key)
            types = [_text(kind) for kind in pipe.execute()]
    snapshots: list[Snapshot | None] = [None] * len(keys)
    pending = list(range(len(keys)))
    expected = list(types)
    for _ in range(_MAX_ROUNDS):
        with client.pipeline(transaction=True) as pipe:
            counts = []
            for index in pending:
                pipe.type(keys[index])
                pipe.pttl(keys[index])
                counts.append(_queue_reads(pipe, keys[index], expected[index]))
            results = pipe.execute(raise_on_error=False)
        changed = []
        at = 0
        for index, count in zip(pending, counts):
            kind, pttl = _text(results[at]), results[at + 1]
            reads = results[at + 2:at + 2 + count]
            at += 2 + count
            if kind != expected[index]:
                snapshots[index] = Snapshot(type=kind, pttl=pttl, error=f"its type changed to {kind}")
                expected[index] = kind
                changed.append(index)
                continue
            failed = next((r for r in reads if isinstance(r, Exception)), None)
            if kind == "none" or pttl == -2:
                snapshots[index] = Snapshot(type="none", pttl=-2)
            elif isinstance(pttl, Exception) or failed is not None:
                snapshots[index] = Snapshot(type=kind, pttl=-2, error=str(failed or pttl))
            elif kind not in TYPES:
                snapshots[index] = Snapshot(type=kind, pttl=pttl, error=f"a {kind} cannot be copied by type")
            else:
                value, size = _value(kind, reads)
                snapshots[index] = Snapshot(type=kind, pttl=pttl, value=value, size=size)
        if not changed or not retry_changed:
            break
        pending = changed
    return snapshots  # type: ignore[return-value]


def _queue_writes(pipe, key: bytes, snap: Snapshot) -> int:
    kind, value = snap.type, snap.value
    if kind == "string":
        pipe.set(key, value)
        return 1
    if kind == "hash":
        pipe.hset(key, mapping=value)
        return 1
    if kind == "list":
        pipe.rpush(key, *value)
        return 1
    if kind == "set":
        pipe.sadd(key, *value)
        return 1
    if kind == "zset":
        pipe.zadd(key, dict(value))
        return 1
    count = 0
    for entry_id, fields in value["entries"]:
        pipe.execute_command("XADD", key, entry_id, *fields)
        count += 1
    if not value["entries"]:
        # an empty stream (every entry deleted) still exists, with its last id and groups
        pipe.execute_command("XGROUP", "CREATE", key, "fynlo-move-sessions", "0", "MKSTREAM")
        pipe.execute_command("XGROUP", "DESTROY", key, "fynlo-move-sessions")
        count += 2
    meta = value["meta"]
    setid = ["XSETID", key, meta["last-generated-id"]]
    if meta["entries-added"] is not None:
        setid += ["ENTRIESADDED", meta["entries-added"]]
    if meta["max-deleted-entry-id"] is not None:
        setid += ["MAXDELETEDID", meta["max-deleted-entry-id"]]
    pipe.execute_command(*setid)
    count += 1
    for name, last_delivered, entries_read in value["groups"]:
        create = ["XGROUP", "CREATE", key, name, last_delivered]
        if entries_read is not None:
            create += ["ENTRIESREAD", entries_read]
        pipe.execute_command(*create)
        count += 1
    return count


def snapshots_write(client: redis.Redis, keys: list[bytes], snapshots: list[Snapshot], *, ttls: list[int],
                    replace: bool) -> list[tuple[str, str | None]]:
    """Write each snapshot with its TTL (ms, 0: persistent): per key ("moved" | "replaced" |
    "already_present" | "failed", error)."""
    if not keys:
        return []
    with client.pipeline(transaction=True) as pipe:
        counts = []
        for key, snap, ttl in zip(keys, snapshots, ttls):
            temporary = TEMPORARY_PREFIX + key
            pipe.delete(temporary)
            written = _queue_writes(pipe, temporary, snap)
            if ttl > 0:
                pipe.pexpire(temporary, ttl)
                written += 1
            pipe.exists(key)
            if replace:
                pipe.rename(temporary, key)
            else:
                pipe.renamenx(temporary, key)
            pipe.delete(temporary)  # left over only when RENAMENX found the key there
            counts.append(written)
        results = pipe.execute(raise_on_error=False)
    outcomes: list[tuple[str, str | None]] = []
    at = 0
    for count in counts:
        writes = results[at + 1:at + 1 + count]
        existed, renamed = results[at + 1 + count], results[at + 2 + count]
        at += count + 4
        failed = next((r for r in writes + [renamed] if isinstance(r, Exception)), None)
        if failed is not None:
            outcomes.append(("failed", str(failed)))
        elif replace:
            outcomes.append(("replaced" if existed else "moved", None))
        else:
            outcomes.append(("moved" if renamed else "already_present", None))
    return outcomes


def ttl_difference(source_pttl: int, target_pttl: int, *, tolerance_ms: int) -> str | None:
    """How two PTTLs (-1: persistent) disagree, or None when within the tolerance."""
    if (source_pttl == -1) != (target_pttl == -1):
        persistent = "source" if source_pttl == -1 else "target"
        return f"TTL differs (only the {persistent} key is persistent)"
    if source_pttl >= 0 and abs(source_pttl - target_pttl) > tolerance_ms:
        return f"TTL differs (source {source_pttl} ms, target {target_pttl} ms)"
    return None


def snapshots_compare(source: Snapshot, target: Snapshot, *, ttl_tolerance_ms: int) -> str | None:
    """What differs between a source key and its copy, or None."""
    if target.gone:
        return "missing on the target"
    if source.type != target.type:
        return f"type differs (source {source.type}, target {target.type})"
    if source.error or target.error:
        return f"cannot be compared: {source.error or target.error}"
    same = (set(source.value) == set(target.value)) if source.type == "set" else source.value == target.value
    if not same:
        return "value differs"
    return ttl_difference(source.pttl, target.pttl, tolerance_ms=ttl_tolerance_ms)
