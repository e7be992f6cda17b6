"""The move: SCAN the source, read each page in one pipeline, write it to the target in another.

Reads are `PTTL`+`DUMP` (written back with RESTORE), or `PTTL`+`GET` when copying type-wise
(written back with `SET ... NX PX`): sessions are strings, so the type-wise copy stays
pipelined too; a key of another type (GET answers WRONGTYPE) goes through `structs`.

Two threads keep both servers busy. The reader (the caller's thread) keeps one page of reads
always queued on the source: the SCAN for the next page travels in front of the current
page's reads, so the source works on page N+1 while Python parses page N. The writer thread
sends each page's writes to the target and reads their replies one page behind. Each page is
one write on each connection; `wire.Wire` parses the replies.

In auto mode a RESTORE the target refuses (another server's DUMP format) is copied type-wise;
once the target refuses a whole page, the reader switches to GET for the rest of the run.

TTLs are relative: the PTTL read minus the time elapsed since it was asked, so a copy never
outlives its original; a key whose time ran out meanwhile counts as expired, as does one
that vanished between SCAN and the read. -1 (no TTL) is written persistent.
"""

from __future__ import annotations

import queue
import sys
import threading
import time

import redis

from fynlo.cutover.common import CutoverError, Progress
from fynlo.cutover.sessions import structs
from fynlo.cutover.sessions.report import SessionMoveReport, Tally
from fynlo.cutover.sessions.wire import ReplyError, Wire, WireError, command

MODES = ("auto", "dump", "struct")
# the reader and the writer hand the GIL to each other several times per page; at the
# default 5 ms a server can sit idle waiting for the thread that feeds it
SWITCH_INTERVAL = 0.0005

# The first byte of a DUMP payload is the RDB object type (rdb.h); 0-21 are the same in
# Redis 7 and Valkey. Others (module types, newer hash encodings) are asked with TYPE.
_RDB_TYPES = (
    "string", "list", "set", "zset", "hash", "zset", None, None, None, "hash", "list", "set", "zset",
    "hash", "list", "stream", "hash", "zset", "list", "stream", "set", "stream",
)
# what a server says when it cannot read another server's DUMP payload
_REFUSED = (b"payload version or checksum are wrong", b"bad data format")

_READS = {
    b"DUMP": b"*2\r\n$4\r\nPTTL\r\n$%d\r\n%s\r\n*2\r\n$4\r\nDUMP\r\n$%d\r\n%s\r\n",
    b"GET": b"*2\r\n$4\r\nPTTL\r\n$%d\r\n%s\r\n*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n",
}
_EXISTS = b"*2\r\n$6\r\nEXISTS\r\n$%d\r\n%s\r\n"
_RESTORE = b"*4\r\n$7\r\nRESTORE\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
_RESTORE_REPLACE = b"*5\r\n$7\r\nRESTORE\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$7\r\nREPLACE\r\n"
_SET = b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
_SET_PX = b"*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$2\r\nPX\r\n$%d\r\n%s\r\n"
_SET_NX = b"*4\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$2\r\nNX\r\n"
_SET_NX_PX = b"*6\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$2\r\nNX\r\n$2\r\nPX\r\n$%d\r\n%s\r\n"


def _page(reply) -> tuple[bytes, list[bytes]]:
    """A SCAN reply: (next cursor, keys)."""
    if isinstance(reply, ReplyError):
        raise CutoverError(f"the source refused SCAN: {reply}")
    return reply[0], reply[1]


class _Batch:
    """One page's writes, and what the writer needs to count their replies.

    action: "restore", "restore_replace" (EXISTS + RESTORE REPLACE), "set" (SET NX),
    "set_replace" (EXISTS + SET) or "exists" (a dry run)."""

    __slots__ = ("action", "data", "keys", "kinds", "sizes")

    def __init__(self, action: str, data: bytes, keys: list[bytes], kinds: list[str], sizes: list[int]):
        self.action, self.data, self.keys, self.kinds, self.sizes = action, data, keys, kinds, sizes


class _Writer(threading.Thread):
    """Sends each page to the target and counts its replies, one page behind."""

    def __init__(self, *, wire: Wire, replace: bool, copier):
        super().__init__(name="move-sessions-writer", daemon=True)
        self.wire = wire
        self.replace = replace
        self.copier = copier  # copies refused keys by type (auto mode), or None
        self.tally = Tally()
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        self.refused_everything = threading.Event()
        self.error: BaseException | None = None

    def put(self, batch: _Batch | None) -> None:
        while True:
            if self.error is not None:
                raise self.error
            try:
                self.queue.put(batch, timeout=0.2)
                return
            except queue.Full:
                continue

    def run(self) -> None:
        try:
            pending = None
            while True:
                batch = self.queue.get()
                if batch is not None:
                    self.wire.send(batch.data)
                if pending is not None:
                    self._settle(pending)
                if batch is None:
                    return
                pending = batch
        except BaseException as error:  # handed to the reader, which raises it
            self.error = error
            while True:  # unblock a reader waiting on a full queue
                try:
                    self.queue.get_nowait()
                except queue.Empty:
                    break

    def _settle(self, batch: _Batch) -> None:
        action, keys, kinds, sizes = batch.action, batch.keys, batch.kinds, batch.sizes
        paired = action in ("restore_replace", "set_replace")
        lines = self.wire.lines((2 if paired else 1) * len(keys))
        if action.startswith("set"):
            self.tally.copied_by_type += len(keys)
        if (action in ("restore", "set") and lines.count(b"+OK") == len(keys)
                and kinds.count(kinds[0]) == len(kinds)):
            # the usual page: every key written, all of one type
            self.tally.count("moved", kinds[0], sum(sizes), keys=len(keys))
            return
        count = self.tally.count
        refused: list[bytes] = []
        ok = 0
        for index, key in enumerate(keys):
            kind, size = kinds[index], sizes[index]
            if action == "exists":
                if lines[index] != b":1":
                    count("moved", kind, size)
                elif self.replace:
                    count("replaced", kind, size)
                else:
                    count("already_present", kind)
                continue
            if paired:
                existed, line = lines[2 * index] == b":1", lines[2 * index + 1]
            else:
                existed, line = False, lines[index]
            if line == b"+OK":
                ok += 1
                count("replaced" if existed else "moved", kind, size)
            elif line.startswith(b"-BUSYKEY") or (action == "set" and line == b"$-1"):
                count("already_present", kind)
            elif self.copier is not None and any(text in line.lower() for text in _REFUSED):
                refused.append(key)
            else:
                self.tally.fail(key, kind, line[1:].decode("utf-8", "replace"))
        if refused:
            if not ok:
                self.refused_everything.set()
            self.copier(refused, self.tally)


class SessionMover:
    """One run of move_sessions; `run()` returns the keys met (see `sessions_move`)."""

    def __init__(self, *, source: redis.Redis, target: redis.Redis, report: SessionMoveReport,
                 patterns: list[str], batch_size: int, progress: Progress | None):
        self.source, self.target = source, target
        self.source_raw, self.target_raw = structs.raw_client(source), structs.raw_client(target)
        self.report = report
        self.patterns = patterns
        self.batch_size = batch_size
        self.progress = progress
        self.tally = Tally()  # the reader's own outcomes (expired, failed reads, other types)
        # a dry run always DUMPs: the types and the bytes that a real run would move
        self.read = b"GET" if report.mode == "struct" and not report.dry_run else b"DUMP"
        self.seen: set[bytes] = set()
        self.keys: list[bytes] = []  # every key met, in SCAN order: what verification checks

    def run(self) -> list[bytes]:
        """Move every key matching the patterns; returns the keys met."""
        report = self.report
        copier = self._copy_by_type if report.mode == "auto" and not report.dry_run else None
        with Wire(self.source, label="source") as source_wire, Wire(self.target, label="target") as target_wire:
            writer = _Writer(wire=target_wire, replace=report.replace, copier=copier)
            switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(SWITCH_INTERVAL)
            writer.start()
            try:
                for pattern in self.patterns:
                    self._pass(pattern.encode(), source_wire, writer)
                writer.put(None)
                writer.join()
                if writer.error is not None:
                    raise writer.error
            except WireError as error:
                raise CutoverError(str(error)) from error
            finally:
                sys.setswitchinterval(switch_interval)
                if writer.is_alive():
                    try:
                        writer.queue.put_nowait(None)
                    except queue.Full:
                        pass
                    writer.join(timeout=5)
        report.tally.merge(self.tally)
        report.tally.merge(writer.tally)
        return self.keys

    def _fresh(self, keys: list[bytes]) -> list[bytes]:
        """The keys not met before (SCAN may return a key twice; patterns may overlap)."""
        seen = self.seen
        fresh = [key for key in keys if key not in seen]
        if len(fresh) != len(set(fresh)):
            fresh = list(dict.fromkeys(fresh))
        seen.update(fresh)
        self.keys.extend(fresh)
        self.report.scanned += len(fresh)
        if self.progress is not None:
            self.progress.update(len(fresh))
        return fresh

    def _pass(self, pattern: bytes, wire: Wire, writer: _Writer) -> None:
        """Every key of one pattern, one SCAN page at a time, one page of reads in flight."""
        count = str(self.batch_size).encode()

        def scan(cursor: bytes) -> bytes:
            return command(b"SCAN", cursor, b"MATCH", pattern, b"COUNT", count)

        wire.send(scan(b"0"))
        cursor, keys = _page(wire.replies(1)[0])
        keys = self._fresh(keys)
        scanning = cursor != b"0"
        wire.send((scan(cursor) if scanning else b"") + self._reads(keys))
        inflight = (keys, self.read, time.monotonic())
        while inflight is not None:
            following = None
            if scanning:
                cursor, more = _page(wire.replies(1)[0])
                more = self._fresh(more)
                scanning = cursor != b"0"
                if self.read == b"DUMP" and writer.refused_everything.is_set():
                    # the target cannot read this source's DUMP format at all: stop trying
                    self.read = b"GET"
                    self.report.switched_to_struct = True
                wire.send((scan(cursor) if scanning else b"") + self._reads(more))
                following = (more, self.read, time.monotonic())
            self._settle_reads(wire, *inflight, writer)
            inflight = following

    def _reads(self, keys: list[bytes]) -> bytes:
        template = _READS[self.read]
        return b"".join([template % (len(key), key, len(key), key) for key in keys])

    def _settle_reads(self, wire: Wire, keys: list[bytes], read: bytes, asked: float, writer: _Writer) -> None:
        """Parse one page's PTTL/DUMP (or PTTL/GET) replies and hand its writes to the writer."""
        replies = wire.pairs(len(keys))
        elapsed = int((time.monotonic() - asked) * 1000) + 1
        dumped = read == b"DUMP"
        if self.report.dry_run:
            action = "exists"
        elif dumped:
            action = "restore_replace" if self.report.replace else "restore"
        else:
            action = "set_replace" if self.report.replace else "set"
        if action == "restore" and self._restore_page(keys, replies[0::2], replies[1::2], elapsed, writer):
            return
        parts, batch_keys, kinds, sizes = [], [], [], []
        rdb_types, known = _RDB_TYPES, len(_RDB_TYPES)
        unknown, other_types = [], []
        for key, pttl, payload in zip(keys, replies[0::2], replies[1::2]):
            if type(payload) is not bytes or type(pttl) is not int:
                if payload is None or pttl == -2:
                    self.tally.expired += 1
                elif not dumped and isinstance(payload, ReplyError) and payload.startswith("WRONGTYPE"):
                    other_types.append(key)
                else:
                    error = payload if isinstance(payload, ReplyError) else pttl
                    self.tally.fail(key, "unknown", str(error))
                continue
            if pttl == -1:
                ttl = b""
            else:
                pttl -= elapsed
                if pttl <= 0:  # -2 (gone since SCAN) or its time ran out meanwhile
                    self.tally.expired += 1
                    continue
                ttl = b"%d" % pttl
            if dumped:
                code = payload[0]
                kind = rdb_types[code] if code < known else None
                if kind is None:
                    unknown.append(len(kinds))
            else:
                kind = "string"
            if action == "restore":
                parts.append(_RESTORE % (len(key), key, len(ttl or b"0"), ttl or b"0", len(payload), payload))
            elif action == "set":
                parts.append(_SET_NX_PX % (len(key), key, len(payload), payload, len(ttl), ttl) if ttl
                             else _SET_NX % (len(key), key, len(payload), payload))
            elif action == "exists":
                parts.append(_EXISTS % (len(key), key))
            elif action == "restore_replace":
                parts.append(_EXISTS % (len(key), key) + _RESTORE_REPLACE % (
                    len(key), key, len(ttl or b"0"), ttl or b"0", len(payload), payload))
            else:
                parts.append(_EXISTS % (len(key), key) + (
                    _SET_PX % (len(key), key, len(payload), payload, len(ttl), ttl) if ttl
                    else _SET % (len(key), key, len(payload), payload)))
            batch_keys.append(key)
            kinds.append(kind)
            sizes.append(len(payload))
        for index in unknown:
            kinds[index] = self.source.type(batch_keys[index]).decode()
        if batch_keys:
            writer.put(_Batch(action, b"".join(parts), batch_keys, kinds, sizes))
        if other_types:
            self._copy_by_type(other_types, self.tally)

    def _restore_page(self, keys: list[bytes], pttls: list, payloads: list, elapsed: int, writer: _Writer) -> bool:
        """The usual page, written in one pass: every key still there with time left, all of one
        known type. Anything else (an expired key, an error, mixed types) returns False and the
        page goes through the key-by-key path, which explains each case."""
        if not keys or not all(type(payload) is bytes and payload for payload in payloads):
            return False
        if not all(type(pttl) is int and (pttl == -1 or pttl > elapsed) for pttl in pttls):
            return False
        codes = {payload[0] for payload in payloads}
        if len(codes) != 1:
            return False
        code = codes.pop()
        kind = _RDB_TYPES[code] if code < len(_RDB_TYPES) else None
        if kind is None:
            return False
        restore = _RESTORE
        ttls = [b"0" if pttl == -1 else b"%d" % (pttl - elapsed) for pttl in pttls]
        data = b"".join([restore % (len(key), key, len(ttl), ttl, len(payload), payload)
                         for key, ttl, payload in zip(keys, ttls, payloads)])
        writer.put(_Batch("restore", data, keys, [kind] * len(keys), list(map(len, payloads))))
        return True

    def _copy_by_type(self, keys: list[bytes], tally: Tally) -> None:
        """Copy `keys` with their types' own commands (see `structs`), counting into `tally`."""
        asked = time.monotonic()
        snapshots = structs.snapshots_read(self.source_raw, keys)
        elapsed = int((time.monotonic() - asked) * 1000) + 1
        write_keys, write_snaps, ttls = [], [], []
        for key, snap in zip(keys, snapshots):
            if snap.gone:
                tally.expired += 1
            elif snap.error:
                tally.fail(key, snap.type, snap.error)
            elif snap.pttl == -1:
                write_keys.append(key), write_snaps.append(snap), ttls.append(0)
            elif snap.pttl - elapsed <= 0:
                tally.expired += 1
            else:
                write_keys.append(key), write_snaps.append(snap), ttls.append(snap.pttl - elapsed)
        outcomes = structs.snapshots_write(self.target_raw, write_keys, write_snaps, ttls=ttls,
                                           replace=self.report.replace)
        for key, snap, (outcome, error) in zip(write_keys, write_snaps, outcomes):
            if outcome == "failed":
                tally.fail(key, snap.type, error or "failed")
            else:
                tally.count(outcome, snap.type, snap.size)
            tally.copied_by_type += 1
