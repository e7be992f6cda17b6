"""After the move: are the keys there, with the same value and TTL?

Counts: of the keys met during the move, how many are still on the source, and how many of
those are on the target (variadic EXISTS per batch; a batch whose counts differ is checked
key by key). Values and TTLs: a sample (or all), compared between the two servers. Strings
(sessions) are read with PTTL+GET from both servers at once through `wire.Wire`; other types
type-wise (`structs`). TTLs agree within a second plus the time the reads took.
"""

from __future__ import annotations

import random
import time

import redis

from fynlo.cutover.sessions import structs
from fynlo.cutover.sessions.report import Verification
from fynlo.cutover.sessions.wire import ReplyError, Wire

VERIFY_MODES = ("sample", "full", "none")
SAMPLE_SIZE = 1000
TTL_TOLERANCE_MS = 1000

_READ = b"*2\r\n$4\r\nPTTL\r\n$%d\r\n%s\r\n*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n"


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _counts(verification: Verification, source: redis.Redis, target: redis.Redis, keys: list[bytes],
            batch_size: int) -> set[bytes]:
    """Fill in the counts; returns the keys found missing on the target."""
    missing: set[bytes] = set()
    chunks = list(_chunks(keys, batch_size))
    with source.pipeline(transaction=False) as pipe:
        for chunk in chunks:
            pipe.exists(*chunk)
        on_source = pipe.execute()
    with target.pipeline(transaction=False) as pipe:
        for chunk in chunks:
            pipe.exists(*chunk)
        on_target = pipe.execute()
    for chunk, here, there in zip(chunks, on_source, on_target):
        verification.keys_on_source += here
        if here == there:
            verification.keys_on_target += there
            continue
        # key by key: a key on the source that lives on for a while must be on the target
        with source.pipeline(transaction=False) as pipe:
            for key in chunk:
                pipe.pttl(key)
            source_ttls = pipe.execute()
        with target.pipeline(transaction=False) as pipe:
            for key in chunk:
                pipe.exists(key)
            target_has = pipe.execute()
        for key, pttl, present in zip(chunk, source_ttls, target_has):
            if pttl == -2:
                continue
            if present:
                verification.keys_on_target += 1
            elif pttl == -1 or pttl > TTL_TOLERANCE_MS:
                verification.differ(key, "missing on the target")
                missing.add(key)
            else:
                verification.keys_on_source -= 1  # expiring now on the source too
    return missing


def _judge(verification: Verification, key: bytes, problem: str | None, missing: set[bytes]) -> None:
    verification.checked += 1
    if problem is None:
        verification.matched += 1
    elif key not in missing:  # already counted by _counts
        verification.differ(key, problem)


def _compare_strings(verification: Verification, wires: tuple[Wire, Wire], chunk: list[bytes],
                     missing: set[bytes]) -> list[bytes]:
    """Compare the chunk's strings; returns the keys of other types (for `_compare_types`)."""
    source_wire, target_wire = wires
    reads = b"".join([_READ % (len(key), key, len(key), key) for key in chunk])
    asked = time.monotonic()
    source_wire.send(reads)
    target_wire.send(reads)
    here, there = source_wire.pairs(len(chunk)), target_wire.pairs(len(chunk))
    tolerance = TTL_TOLERANCE_MS + int((time.monotonic() - asked) * 1000)
    others = []
    for index, key in enumerate(chunk):
        source_ttl, source_value = here[2 * index], here[2 * index + 1]
        target_ttl, target_value = there[2 * index], there[2 * index + 1]
        if isinstance(source_value, ReplyError):
            others.append(key)  # WRONGTYPE: not a string
            continue
        if source_value is None or source_ttl == -2 or (target_value is None and 0 <= source_ttl <= tolerance):
            verification.expired += 1  # gone, or going: the copy may go a moment earlier
            continue
        if target_value is None:
            problem = "missing on the target"
        elif isinstance(target_value, ReplyError):
            problem = "type differs (source string)"
        elif target_value != source_value:
            problem = "value differs"
        else:
            problem = structs.ttl_difference(source_ttl, target_ttl, tolerance_ms=tolerance)
        _judge(verification, key, problem, missing)
    return others


def _compare_types(verification: Verification, source: redis.Redis, target: redis.Redis, chunk: list[bytes],
                   missing: set[bytes]) -> None:
    asked = time.monotonic()
    on_source = structs.snapshots_read(source, chunk)
    on_target = structs.snapshots_read(target, chunk, types=[snap.type for snap in on_source], retry_changed=False)
    tolerance = TTL_TOLERANCE_MS + int((time.monotonic() - asked) * 1000)
    for key, here, there in zip(chunk, on_source, on_target):
        if here.gone or (there.gone and 0 <= here.pttl <= tolerance):
            verification.expired += 1
            continue
        _judge(verification, key, structs.snapshots_compare(here, there, ttl_tolerance_ms=tolerance), missing)


def sessions_verify(*, source: redis.Redis, target: redis.Redis, keys: list[bytes], mode: str, batch_size: int,
                    seed: int | None = None) -> Verification:
    """Compare the moved keys on both servers: counts for all, values and TTLs for `mode`."""
    started = time.monotonic()
    verification = Verification(mode=mode)
    source, target = structs.raw_client(source), structs.raw_client(target)
    missing = _counts(verification, source, target, keys, batch_size)
    if mode == "full":
        checked = keys
    else:
        checked = random.Random(seed).sample(keys, min(SAMPLE_SIZE, len(keys)))
    with Wire(source, label="source") as source_wire, Wire(target, label="target") as target_wire:
        for chunk in _chunks(checked, batch_size):
            others = _compare_strings(verification, (source_wire, target_wire), chunk, missing)
            if others:
                _compare_types(verification, source, target, others, missing)
    verification.seconds = round(time.monotonic() - started, 3)
    return verification
