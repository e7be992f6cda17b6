"""Pipelined RESP2 on one connection: thousands of commands out in one write, replies parsed here.

redis-py's pipeline costs several microseconds of Python per command and per reply; at
hundreds of thousands of keys a second that, not the servers, would be the limit. A `Wire`
borrows one connection from a redis-py client (so URL parsing, TLS, AUTH and SELECT are
redis-py's), then writes pre-encoded commands to its socket and parses the replies with a
small loop over one buffer.
"""

from __future__ import annotations

import socket

import redis


class ReplyError(str):
    """An error reply (`-BUSYKEY ...`), kept in its place among the replies."""


class WireError(Exception):
    """The connection broke or timed out in the middle of the move."""


def bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def command(*args: bytes) -> bytes:
    """One command in RESP (`*N` then N bulk strings)."""
    return b"*%d\r\n" % len(args) + b"".join(bulk(arg) for arg in args)


class _Incomplete(Exception):
    pass


_SPLIT_AT_LEAST = 16


def _bulk_strings(buf: bytes, at: int, size: int):
    """An array of `size` bulk strings starting at `at` (a SCAN page's keys), split in one C
    call: (items, position after them), or None when the split does not prove it (a key with
    CR LF inside, a nil, another type, an incomplete buffer), and the caller parses item by item.
    Where every head is `$<n>` and the part after it is exactly n bytes long, the split found
    the very CR LFs that reading by the lengths would: the two parses agree."""
    parts = buf[at:].split(b"\r\n", 2 * size)
    if len(parts) != 2 * size + 1:
        return None
    heads, items = parts[0:2 * size:2], parts[1:2 * size:2]
    if not all(head[:1] == b"$" for head in heads):
        return None
    try:
        lengths = [int(head[1:]) for head in heads]
    except ValueError:
        return None
    if lengths != list(map(len, items)):
        return None
    return items, len(buf) - len(parts[-1])


def _parse(buf: bytes, pos: int):
    """One reply starting at `pos`: (value, position after it). Raises _Incomplete."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise _Incomplete
    kind = buf[pos]
    if kind == 36:  # $ bulk string
        size = int(buf[pos + 1:end])
        if size < 0:
            return None, end + 2
        stop = end + 2 + size
        if stop + 2 > len(buf):
            raise _Incomplete
        return buf[end + 2:stop], stop + 2
    if kind == 58:  # : integer
        return int(buf[pos + 1:end]), end + 2
    if kind == 43:  # + simple string
        return buf[pos + 1:end], end + 2
    if kind == 45:  # - error
        return ReplyError(buf[pos + 1:end].decode("utf-8", "replace")), end + 2
    if kind == 42:  # * array
        size = int(buf[pos + 1:end])
        if size < 0:
            return None, end + 2
        at = end + 2
        total = len(buf)
        if size >= _SPLIT_AT_LEAST:
            parsed = _bulk_strings(buf, at, size)
            if parsed is not None:
                return parsed
        items = []
        for _ in range(size):
            # SCAN's thousand keys: bulk strings, parsed here without a call each
            end = buf.find(b"\r\n", at)
            if end > at and buf[at] == 36:
                length = int(buf[at + 1:end])
                if length >= 0:
                    if end + 4 + length > total:
                        raise _Incomplete
                    items.append(buf[end + 2:end + 2 + length])
                    at = end + 4 + length
                    continue
            item, at = _parse(buf, at)
            items.append(item)
        return items, at
    raise WireError(f"unexpected reply from the server: {buf[pos:pos + 40]!r}")


class Wire:
    """Raw pipelining on one connection of `client`, which must speak RESP2 (`protocol=2`)."""

    RECV_SIZE = 1 << 20
    BUFFER_SIZE = 4 << 20

    def __init__(self, client: redis.Redis, *, label: str):
        self.label = label
        self._pool = client.connection_pool
        self._connection = self._pool.get_connection()
        # redis-py keeps the connected socket (TCP or TLS) here; the connection was just
        # set up and verified by get_connection().
        self._sock = getattr(self._connection, "_sock", None)
        if self._sock is None or str(getattr(self._connection, "protocol", 2)) != "2":
            raise WireError(f"no RESP2 connection to the {label}")
        for option in (socket.SO_SNDBUF, socket.SO_RCVBUF):
            try:  # a whole batch fits in the kernel's buffers: sendall returns at once
                self._sock.setsockopt(socket.SOL_SOCKET, option, self.BUFFER_SIZE)
            except OSError:
                pass
        self._buf = b""
        self._pos = 0

    def send(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except (OSError, socket.timeout) as error:
            raise WireError(f"lost the connection to the {self.label}: {error}") from error

    def _fill(self) -> None:
        try:
            chunk = self._sock.recv(self.RECV_SIZE)
        except socket.timeout as error:
            raise WireError(f"the {self.label} did not answer in time") from error
        except OSError as error:
            raise WireError(f"lost the connection to the {self.label}: {error}") from error
        if not chunk:
            raise WireError(f"the {self.label} closed the connection")
        self._buf = self._buf[self._pos:] + chunk
        self._pos = 0

    def replies(self, count: int) -> list:
        """The next `count` replies, in order."""
        out: list = []
        append = out.append
        buf, pos = self._buf, self._pos
        while len(out) < count:
            try:
                value, pos = _parse(buf, pos)
            except _Incomplete:
                self._pos = pos
                self._fill()
                buf, pos = self._buf, 0
                continue
            append(value)
        self._buf, self._pos = buf, pos
        return out

    def pairs(self, count: int) -> list:
        """The next `count` pairs of replies, flattened: the hot path of (PTTL, DUMP)."""
        out: list = []
        append = out.append
        want = 2 * count
        buf, pos = self._buf, self._pos
        size = len(buf)
        find = buf.find
        while len(out) < want:
            # the usual reply is an integer or a bulk string; anything else goes to _parse
            end = find(b"\r\n", pos)
            kind = buf[pos] if end >= 0 else -1
            if kind == 58:
                append(int(buf[pos + 1:end]))
                pos = end + 2
                continue
            if kind == 36:
                length = int(buf[pos + 1:end])
                if length < 0:
                    append(None)
                    pos = end + 2
                    continue
                stop = end + 2 + length
                if stop + 2 <= size:
                    append(buf[end + 2:stop])
                    pos = stop + 2
                    continue
            elif kind >= 0:
                try:
                    value, pos = _parse(buf, pos)
                    append(value)
                    continue
                except _Incomplete:
                    pass
            self._pos = pos
            self._fill()
            buf, pos = self._buf, 0
            size = len(buf)
            find = buf.find
        self._buf, self._pos = buf, pos
        return out

    def lines(self, count: int) -> list[bytes]:
        """The next `count` replies when each is one line (+OK, -ERR ..., :1): raw lines."""
        while self._buf.count(b"\r\n", self._pos) < count:
            self._fill()
        parts = self._buf[self._pos:].split(b"\r\n", count)
        self._buf, self._pos = parts[count], 0
        return parts[:count]

    def close(self) -> None:
        # the socket may hold unread replies after an error: never return it to the pool
        self._connection.disconnect()
        self._pool.release(self._connection)

    def __enter__(self) -> Wire:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
