"""Compact in-memory indexes over legacy ids, so that a million orders cost megabytes, not
hundreds of them: which ids exist, and each id's tenant (restaurant or platform).

Ids are paged (64k ids a page, allocated when first touched), so dense legacy ids cost
4 bytes (IdMap) or 1 bit (IdSet) each and sparse ones cost only the pages they touch.
"""

from __future__ import annotations

from array import array

PAGE_BITS = 16
PAGE_SIZE = 1 << PAGE_BITS
PAGE_MASK = PAGE_SIZE - 1
_EMPTY_MAP_PAGE = bytes(PAGE_SIZE * 4)
_EMPTY_SET_PAGE = bytes(PAGE_SIZE // 8)


class IdMap:
    """id -> a non-zero int32 value; 0 means absent."""

    __slots__ = ("pages", "count")

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
            page = self.pages[number] = array("i", _EMPTY_MAP_PAGE)
        if page[key & PAGE_MASK] == 0:
            self.count += 1
        page[key & PAGE_MASK] = value

    def __contains__(self, key: int) -> bool:
        return self.get(key) != 0

    def __len__(self) -> int:
        return self.count


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
