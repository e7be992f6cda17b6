"""move_sessions' RESP parsing: a SCAN page split in one C call reads exactly what reading by
the lengths reads, whatever the keys hold; an incomplete buffer is never taken for a reply."""

from __future__ import annotations

import random

import pytest

from fynlo.cutover.sessions import wire


def array(items) -> bytes:
    return b"*%d\r\n" % len(items) + b"".join(b"$-1\r\n" if item is None else wire.bulk(item) for item in items)


def by_lengths(buf: bytes, pos: int, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(wire, "_SPLIT_AT_LEAST", 1 << 30)
        return wire._parse(buf, pos)


def keys(rng: random.Random, count: int, *, awkward: bool) -> list:
    alphabet = [b"a", b"b", b":", b"\r", b"\n", b"\r\n", b"$", b"3", b"\x00", b"\xff"] if awkward else [b"a", b"7", b":"]
    return [b"session:" + b"".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12))) for _ in range(count)]


@pytest.mark.parametrize("seed", range(40))
def test_a_split_page_reads_what_reading_by_the_lengths_reads(seed, monkeypatch):
    rng = random.Random(seed)
    items = keys(rng, rng.choice([16, 40, 1000]), awkward=seed % 2 == 1)
    if seed % 5 == 0:
        items[rng.randrange(len(items))] = None  # a nil among them
    reply = b"*2\r\n$3\r\n123\r\n" + array(items)
    buf = b"+OK\r\n" + reply + b":42\r\n$5\r\nhello\r\n"  # replies before and after, as on the wire

    fast = wire._parse(buf, 5)
    slow = by_lengths(buf, 5, monkeypatch)

    assert fast == slow == ([b"123", items], 5 + len(reply))


def test_a_page_of_plain_keys_takes_the_split():
    items = [b"session:%d" % n for n in range(100)]
    buf = array(items)

    assert wire._bulk_strings(buf, buf.index(b"\r\n") + 2, 100) == (items, len(buf))


@pytest.mark.parametrize("awkward", [False, True])
def test_an_incomplete_page_is_never_a_reply(awkward):
    items = keys(random.Random(7), 20, awkward=awkward)
    buf = b"*2\r\n$1\r\n0\r\n" + array(items)

    for cut in range(len(buf)):
        with pytest.raises(wire._Incomplete):
            wire._parse(buf[:cut], 0)
    assert wire._parse(buf, 0) == ([b"0", items], len(buf))
