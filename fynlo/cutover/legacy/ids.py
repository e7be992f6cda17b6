"""Compact in-memory indexes over legacy ids, so that a million orders cost megabytes, not
hundreds of them: which ids exist, and each id's tenant (restaurant or platform).

Ids are paged (64k ids a page, allocated when first touched), so dense legacy ids cost
4 bytes (IdMap) or 1 bit (IdSet) each and sparse ones cost only the pages they touch.
"""

from __future__ import annotations

import re
import sys
from array import array
from bisect import bisect_left

PAGE_BITS = 16
PAGE_SIZE = 1 << PAGE_BITS
PAGE_MASK = PAGE_SIZE - 1
_EMPTY_SET_PAGE = bytes(PAGE_SIZE // 8)


class IdMap:
    """id -> a non-zero int32 value; 0 means absent."""

    __slots__ = ("pages", "count")
    TYPECODE, EMPTY_PAGE = "i", bytes(PAGE_SIZE * 4)

    def __init__(self):
        self.pages: dict[int, array] = {}
        self.count = 0

    def get(self, key: int) -> int:
        page = self.pages.get(key >> PAGE_BITS)
        return 0 if page is None else page[key & PAGE_MASK]

    def set(self, key: int, value: int) -> None:
        number = key >> PAGE_BITS
        page = self.pages.get(number)
        if page is None:
            page = self.pages[number] = array(self.TYPECODE, self.EMPTY_PAGE)
        if page[key & PAGE_MASK] == 0:
            self.count += 1
        page[key & PAGE_MASK] = value

    def __contains__(self, key: int) -> bool:
        return self.get(key) != 0

    def __len__(self) -> int:
        return self.count

    def set_many(self, keys: list[int], values: list[int]) -> None:
        """Set each key (ascending, non-negative) to its value, 0 leaving it absent: a run of
        consecutive keys whose slots are empty in one slice (a table's dense ids, read in order)."""
        pages, empty, typecode = self.pages, self.EMPTY_PAGE, self.TYPECODE
        for number, page_low, page_high in _page_runs(keys):
            page = pages.get(number)
            if page is None:
                page = pages[number] = array(typecode, empty)
            for low, high in _dense_runs(keys, page_low, page_high):
                first, size = keys[low] & PAGE_MASK, high - low
                if page[first:first + size].count(0) == size:
                    part = values[low:high]
                    page[first:first + size] = array(typecode, part)
                    self.count += size - part.count(0)
                    continue
                for index in range(low, high):
                    if values[index]:
                        self.set(keys[index], values[index])


    def holds_run(self, first: int, count: int, value: int) -> bool:
        """Whether ids first .. first + count - 1 all hold `value` (non-zero): one slice compared
        when they are on one page."""
        low = first & PAGE_MASK
        if low + count <= PAGE_SIZE:
            page = self.pages.get(first >> PAGE_BITS)
            return page is not None and page[low:low + count].count(value) == count
        return all(self.get(key) == value for key in range(first, first + count))


class IdMap64(IdMap):
    """id -> a non-zero 64-bit value (a hash: 0 is stored as 1); 8 bytes per dense id."""

    __slots__ = ()
    TYPECODE, EMPTY_PAGE = "q", bytes(PAGE_SIZE * 8)

    def set(self, key: int, value: int) -> None:
        super().set(key, value or 1)


class IdSet:
    """A set of non-negative ids, as paged bitmaps."""

    __slots__ = ("pages", "count")

    def __init__(self):
        self.pages: dict[int, bytearray] = {}
        self.count = 0

    def __contains__(self, key: int) -> bool:
        page = self.pages.get(key >> PAGE_BITS)
        if page is None:
            return False
        low = key & PAGE_MASK
        return bool(page[low >> 3] & (1 << (low & 7)))

    def add(self, key: int) -> bool:
        """Add an id; False when it was already there."""
        number = key >> PAGE_BITS
        page = self.pages.get(number)
        if page is None:
            page = self.pages[number] = bytearray(_EMPTY_SET_PAGE)
        low = key & PAGE_MASK
        bit = 1 << (low & 7)
        if page[low >> 3] & bit:
            return False
        page[low >> 3] |= bit
        self.count += 1
        return True

    def __len__(self) -> int:
        return self.count

    def none_in(self, first: int, count: int) -> bool:
        """Whether none of ids first .. first + count - 1 is in the set: their bits read at once
        when they are on one page."""
        low = first & PAGE_MASK
        if low + count <= PAGE_SIZE:
            page = self.pages.get(first >> PAGE_BITS)
            if page is None:
                return True
            bits = int.from_bytes(page[low >> 3:((low + count - 1) >> 3) + 1], "little") >> (low & 7)
            return not bits & ((1 << count) - 1)
        return not any(key in self for key in range(first, first + count))

    def add_run(self, first: int, count: int) -> None:
        """Add ids first .. first + count - 1: their bits set at once when they are on one page."""
        low = first & PAGE_MASK
        if low + count > PAGE_SIZE or count <= 0:
            for key in range(first, first + count):
                self.add(key)
            return
        number = first >> PAGE_BITS
        page = self.pages.get(number)
        if page is None:
            page = self.pages[number] = bytearray(_EMPTY_SET_PAGE)
        start, end = low >> 3, ((low + count - 1) >> 3) + 1
        bits, run = int.from_bytes(page[start:end], "little"), ((1 << count) - 1) << (low & 7)
        page[start:end] = (bits | run).to_bytes(end - start, "little")
        self.count += count - (bits & run).bit_count()

    def add_many(self, keys: list[int]) -> None:
        """Add ids (ascending): a run of consecutive ids not there yet as whole bytes where it can."""
        pages = self.pages
        for number, page_low, page_high in _page_runs(keys):
            page = pages.get(number)
            if page is None:
                page = pages[number] = bytearray(_EMPTY_SET_PAGE)
            for low, high in _dense_runs(keys, page_low, page_high):
                first, size = keys[low] & PAGE_MASK, high - low
                start, end = (first + 7) >> 3, (first + size) >> 3  # whole bytes inside the run
                if end > start and not any(page[first >> 3:end + 1]):
                    page[start:end] = b"\xff" * (end - start)
                    self.count += (end - start) * 8
                    for key in (*range(first, start << 3), *range(end << 3, first + size)):
                        page[key >> 3] |= 1 << (key & 7)
                        self.count += 1
                    continue
                for index in range(low, high):
                    self.add(keys[index])


def _dense_runs(keys: list[int], low: int, high: int):
    """(first index, end index) of runs of consecutive keys covering keys[low:high] (ascending,
    distinct), found by halving: a table's ids with a few gaps (rows deleted) come in a few long
    runs, each set as one slice, not key by key."""
    if keys[high - 1] - keys[low] == high - 1 - low:
        yield low, high
    elif high - low <= 16:
        start = low
        for index in range(low + 1, high):
            if keys[index] != keys[index - 1] + 1:
                yield start, index
                start = index
        yield start, high
    else:
        middle = (low + high) // 2
        yield from _dense_runs(keys, low, middle)
        yield from _dense_runs(keys, middle, high)


def _page_runs(keys: list[int]):
    """(page number, first index, end index) of each page's part of ascending keys."""
    low, total = 0, len(keys)
    while low < total:
        number = keys[low] >> PAGE_BITS
        high = bisect_left(keys, (number + 1) << PAGE_BITS, low, total)
        yield number, low, high
        low = high


class KeySet:
    """Unique-key values seen so far, kept as 64-bit hashes (8-16 bytes a key).

    A hit may be a hash collision: the caller confirms a duplicate against the rows it
    can see (the current batch, the database) before rejecting a row.
    """

    __slots__ = ("slots", "mask", "count")

    def __init__(self, capacity: int = 1024):
        size = 1024
        while size < capacity * 2:
            size <<= 1
        self.slots = array("q", bytes(size * 8))
        self.mask = size - 1
        self.count = 0

    def add(self, key) -> bool:
        """Add a key; False when an equal hash was already there (a probable duplicate)."""
        code = hash(key) or 1
        slots, mask = self.slots, self.mask
        index = code & mask
        held = slots[index]
        while held:
            if held == code:
                return False
            index = (index + 1) & mask
            held = slots[index]
        slots[index] = code
        self.count += 1
        if self.count * 2 > mask:
            self._grow()
        return True

    def __contains__(self, key) -> bool:
        code = hash(key) or 1
        slots, mask = self.slots, self.mask
        index = code & mask
        while True:
            held = slots[index]
            if held == 0:
                return False
            if held == code:
                return True
            index = (index + 1) & mask

    def _grow(self) -> None:
        old = self.slots
        size = len(old) * 2
        self.slots = slots = array("q", bytes(size * 8))
        self.mask = mask = size - 1
        for code in old:
            if code:
                index = code & mask
                while slots[index]:
                    index = (index + 1) & mask
                slots[index] = code

    def __len__(self) -> int:
        return self.count


def _probe(slots: array, mask: int, highs: array, lows: array, high: int, low: int) -> int:
    """The slot of KeyMap's table that holds the key (high, low), else the free one it would take."""
    slot = hash((high, low)) & mask
    while True:
        position = slots[slot] - 1
        if position < 0 or (lows[position] == low and highs[position] == high):
            return slot
        slot = (slot + 1) & mask


_LOW_HALF = (1 << 64) - 1
_UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_UUID_TEXTS = re.compile(r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})*\Z")


def big_endian(code: str, data: bytes) -> array:
    """An array of `code` (8-byte "q" or "Q") of the big-endian integers in `data`."""
    numbers = array(code)
    numbers.frombytes(data)
    if sys.byteorder == "little":
        numbers.byteswap()
    return numbers


class KeyMap:
    """Legacy key text -> its id (and, with spans, how many ids from it it holds), compact.

    A key in the lower-case UUID form is kept as its two 64-bit halves in arrays, in the order
    added, with their ids as 32-bit integers (64-bit once one does not fit), found through an
    open-addressing table of their positions (int32 slots, 2-4 per key: 28-36 bytes a key with the
    halves and ids, 32-40 with spans; a probe or two, where the bisection of
    sorted halves it replaces took three binary searches, most of a catch-up's lookups); any
    other key (rare: composite keys such as "uuid:currency") in a dict. A key added again keeps
    its place and takes the new id. A sealed map of at most SMALL keys (platforms, restaurants,
    users, products: looked up for every row and order line) is also kept as a dict, which
    answers faster still.
    """

    SMALL = 20_000

    __slots__ = ("high", "low", "ids", "spans", "other", "with_spans", "exact", "slots", "mask", "shared")

    def __init__(self, *, spans: bool = False):
        self.high, self.low, self.ids = array("Q"), array("Q"), array("i")
        self.spans = array("i")
        self.other: dict[str, tuple[int, int]] = {}
        self.with_spans = spans
        self.exact: dict[str, tuple[int, int]] | None = None
        self.slots = array("i", bytes(4 * 8))  # position + 1 of each UUID key, by hash((high, low)); 0 free
        self.mask = 7
        self.shared = False  # the halves and the table are another map's too (keys_of)

    def add(self, key: str, new_id: int, span: int = 1) -> None:
        if self.exact is not None:
            self.exact[key] = (new_id, span)
        if _UUID_TEXT.match(key) is None:
            self.other[key] = (new_id, span)
            return
        value = int(key.replace("-", ""), 16)
        high, low = value >> 64, value & _LOW_HALF
        self._wide_enough(new_id)
        slot = _probe(self.slots, self.mask, self.high, self.low, high, low)
        position = self.slots[slot] - 1
        if position >= 0:
            self.ids[position] = new_id
            if self.with_spans:
                self.spans[position] = span
            return
        if self.shared:
            self._own_keys()  # (the same layout: the slot found stays free)
        self.high.append(high)
        self.low.append(low)
        self.ids.append(new_id)
        if self.with_spans:
            self.spans.append(span)
        if not self._grown():
            self.slots[slot] = len(self.high)

    def extend(self, keys: str, numbers: bytes) -> bool:
        """Add keys in bulk, before seal(): `keys` the texts of keys not in the map yet, each in the
        lower-case UUID form, one after the other; `numbers` each one's id and span as big-endian
        8-byte integers. False, and nothing added, when a key is not in that form (the id map read
        in blocks: a million keys in a fraction of a second, rather than seconds of add())."""
        count = len(numbers) // 16
        if len(keys) != 36 * count or _UUID_TEXTS.match(keys) is None:
            return False
        halves, pairs = big_endian("Q", bytes.fromhex(keys.replace("-", ""))), big_endian("q", numbers)
        if self.shared:
            self._own_keys()
        first, new_ids = len(self.high), pairs[0::2]
        if self.ids.typecode == "i":
            try:
                new_ids = array("i", new_ids)
            except OverflowError:
                self.ids = array("q", self.ids)
        self.high.extend(halves[0::2])
        self.low.extend(halves[1::2])
        self.ids.extend(new_ids)
        if self.with_spans:
            self.spans.extend(array("i", pairs[1::2]))
        if not self._grown():
            self._place(range(first, len(self.high)))
        return True

    def keys_of(self, other: "KeyMap") -> "KeyMap":
        """`other` answering from this map's halves and table when it holds the same UUID keys in the
        same order (the orders' ids and their lines' spans: a million keys kept once, not twice,
        ~25 MB), else `other` as it is. A key added to either later is added to its own copy."""
        if other.shared or other.high != self.high or other.low != self.low:
            return other
        other.high, other.low, other.slots, other.mask = self.high, self.low, self.slots, self.mask
        other.shared = self.shared = True
        return other

    def _own_keys(self) -> None:
        """Copies of the shared halves and table, before a key is added."""
        self.high, self.low, self.slots = array("Q", self.high), array("Q", self.low), array("i", self.slots)
        self.shared = False

    def _wide_enough(self, new_id: int) -> None:
        """The ids kept as 64-bit integers from the first one a 32-bit integer cannot hold."""
        if self.ids.typecode == "i" and not -(1 << 31) <= new_id < (1 << 31):
            self.ids = array("q", self.ids)

    def seal(self) -> None:
        """Done adding: a small map is also kept as a dict."""
        if len(self) <= self.SMALL:
            spans = self.spans if self.with_spans else None
            exact = {key: (self.ids[n], spans[n] if spans else 1) for n, key in enumerate(self._uuid_keys())}
            exact.update(self.other)
            self.exact = exact

    def _grown(self) -> bool:
        """Keep the table at most half full: when the keys outgrew it, a table twice as big (or
        more) with every key placed anew. True when it was rebuilt."""
        if 2 * len(self.high) <= self.mask + 1:
            return False
        size = self.mask + 1
        while size < 2 * len(self.high):
            size <<= 1
        self.slots, self.mask = array("i", bytes(4 * size)), size - 1
        self._place(range(len(self.high)))
        return True

    def _place(self, positions: range) -> None:
        slots, mask, highs, lows = self.slots, self.mask, self.high, self.low
        for position in positions:
            slots[_probe(slots, mask, highs, lows, highs[position], lows[position])] = position + 1

    def _index(self, key: str) -> int:
        """The key's position, else -1 (`_probe` inlined, the same walk: a catch-up looks up millions
        of keys, and the call is a tenth of a lookup)."""
        if len(key) != 36 or _UUID_TEXT.match(key) is None:
            return -1
        value = int(key.replace("-", ""), 16)
        high, low = value >> 64, value & _LOW_HALF
        slots, mask, highs, lows = self.slots, self.mask, self.high, self.low
        slot = hash((high, low)) & mask
        while True:
            position = slots[slot] - 1
            if position < 0 or (lows[position] == low and highs[position] == high):
                return position
            slot = (slot + 1) & mask

    def get(self, key: str, default=None):
        """The key's id, else default."""
        if self.exact is not None:
            found = self.exact.get(key)
            return default if found is None else found[0]
        index = self._index(key)
        if index >= 0:
            return self.ids[index]
        found = self.other.get(key)
        return default if found is None else found[0]

    def get_span(self, key: str, default=(0, 0)) -> tuple[int, int]:
        """(first id, span) of the key, else default."""
        if self.exact is not None:
            return self.exact.get(key, default)
        index = self._index(key)
        if index >= 0:
            return self.ids[index], (self.spans[index] if self.with_spans else 1)
        return self.other.get(key, default)

    def __getitem__(self, key: str) -> int:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __len__(self) -> int:
        return len(self.high) + len(self.other)

    def __iter__(self):
        yield from self._uuid_keys()
        yield from self.other

    def _uuid_keys(self):
        for high, low in zip(self.high, self.low):
            text = f"{(high << 64) | low:032x}"
            yield f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"

    def span_total(self) -> int:
        """The ids its keys hold together (with spans: an order's lines)."""
        if not self.with_spans:
            return len(self)
        return sum(self.spans) + sum(span for _, span in self.other.values())

    def take(self, keys) -> None:
        """(StoredKeyMap's look-ahead: a map held whole needs none.)"""


class StoredKeyMap:
    """A big legacy table's id map left in the database (legacy_id_map), not held: the keys the next
    records refer to are read in one query (`take`, a few thousand at a time), so the process holds
    one look-ahead's keys however many the table has (a KeyMap costs 28-40 bytes a key). A key
    asked for that was not taken is read alone, and counted (`single_lookups`): the answer is the
    same, only slower. `fetch(keys, conn)` gives (key, id, span) of the keys that are in the map,
    read on `conn` (None: the map's own connection; `read` may run on another thread, with its own).
    """

    ABOVE = 100_000  # a map of more keys than this is stored rather than held (a full import's)
    _HELD_MAX = 50_000  # keys read alone since the last take, kept at most

    def __init__(self, fetch, count: int, span_total: int, *, spans: bool = False):
        self.fetch = fetch
        self.count = count
        self._span_total = span_total
        self.with_spans = spans
        self.window: dict[str, tuple[int, int] | None] = {}
        self.batch_lookups = 0
        self.single_lookups = 0

    def take(self, keys) -> None:
        """Read the entries of these keys (and forget the previous look-ahead's)."""
        self.use(self.read(keys))

    def read(self, keys, conn=None) -> dict:
        """The entries of these keys (None: not in the map), for `use`."""
        wanted = list({key for key in keys if key})
        window = dict.fromkeys(wanted)
        if wanted:
            self.batch_lookups += 1
            for key, new_id, span in self.fetch(wanted, conn):
                window[key] = (new_id, span)
        return window

    def use(self, window: dict) -> None:
        """Answer from these entries (`read`'s) from now on, rather than the previous look-ahead's."""
        self.window = window

    def _entry(self, key) -> tuple[int, int] | None:
        window = self.window
        try:
            return window[key]
        except KeyError:
            pass
        except TypeError:  # (not a key: never in the map)
            return None
        if not isinstance(key, str):
            return None
        self.single_lookups += 1
        found = None
        for _, new_id, span in self.fetch([key], None):
            found = (new_id, span)
        if len(window) >= self._HELD_MAX:
            window.clear()
        window[key] = found
        return found

    def get(self, key, default=None):
        found = self._entry(key)
        return default if found is None else found[0]

    def get_span(self, key, default=(0, 0)) -> tuple[int, int]:
        found = self._entry(key)
        if found is None:
            return default
        return found if self.with_spans else (found[0], 1)

    def __getitem__(self, key: str) -> int:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key) -> bool:
        return self._entry(key) is not None

    def __len__(self) -> int:
        return self.count

    def span_total(self) -> int:
        return self._span_total if self.with_spans else self.count

    def add(self, key: str, new_id: int, span: int = 1) -> None:
        raise TypeError("a stored id map is read-only (a catch-up holds its maps)")
