"""The fynlo-v1 id map's compact key index (fynlo/cutover/legacy/ids.py KeyMap)."""

import uuid

import pytest

from fynlo.cutover.legacy.ids import KeyMap


class CompactOnly(KeyMap):
    """A map too big for the dict: every answer comes from the table of the halves."""

    SMALL = 0


MAPS = pytest.mark.parametrize("kind", [KeyMap, CompactOnly], ids=["dict", "compact"])


@MAPS
def test_keys_in_order_are_found_and_absent_ones_are_not(kind):
    keys = sorted(str(uuid.UUID(int=n * 7919 + (n << 70))) for n in range(1, 2000))
    found = kind(spans=True)
    for new_id, key in enumerate(keys, start=1):
        found.add(key, new_id, new_id % 5)
    found.seal()
    assert len(found) == len(keys)
    assert found.get(keys[0]) == 1 and found[keys[-1]] == len(keys)
    assert found.get_span(keys[10]) == (11, 11 % 5)
    assert str(uuid.UUID(int=3)) not in found
    assert found.get(str(uuid.UUID(int=3)), 0) == 0
    assert list(found) == keys


@MAPS
def test_keys_out_of_order_same_high_half_and_other_keys(kind):
    found = kind()
    same_high = [str(uuid.UUID(int=(5 << 64) | low)) for low in (9, 2, 7)]
    for new_id, key in enumerate(same_high, start=1):
        found.add(key, new_id)
    found.add("ABCDEF00-0000-0000-0000-000000000001", 40)  # not the lower-case form: kept as text
    found.add("a1b2:currency", 41)
    found.seal()
    assert [found[key] for key in same_high] == [1, 2, 3]
    assert found.get("abcdef00-0000-0000-0000-000000000001") is None
    assert found["ABCDEF00-0000-0000-0000-000000000001"] == 40 and found.get_span("a1b2:currency") == (41, 1)
    assert str(uuid.UUID(int=(5 << 64) | 8)) not in found
    assert len(found) == 5


@MAPS
def test_a_key_added_after_sealing_is_found(kind):
    found = kind()
    found.add(str(uuid.UUID(int=1)), 1)
    found.seal()
    found.add("late:key", 2)
    assert found.get("late:key") == 2 and found.get(str(uuid.UUID(int=1))) == 1
    assert (found.exact is None) == (kind is CompactOnly)


@MAPS
def test_a_key_added_again_after_sealing_answers_with_its_last_id(kind):
    found = kind(spans=True)
    keys = [str(uuid.UUID(int=(n << 64) | 3)) for n in range(1, 40)]  # the same low half: one slot chain
    for new_id, key in enumerate(keys, start=1):
        found.add(key, new_id, 2)
    found.seal()
    found.add(keys[5], 100, 4)
    for n in range(40, 80):  # past half full: the table grows, every key still found
        found.add(str(uuid.UUID(int=(n << 64) | 3)), n)
    assert found.get_span(keys[5]) == (100, 4) and found[keys[6]] == 7
    assert found[str(uuid.UUID(int=(79 << 64) | 3))] == 79
    assert str(uuid.UUID(int=(80 << 64) | 3)) not in found


@MAPS
def test_keys_added_in_blocks_are_found_as_keys_added_one_by_one(kind):
    keys = [str(uuid.UUID(int=(n * 0x9E3779B97F4A7C15 % (1 << 128)) | (1 << 127))) for n in range(1, 300)]
    one_by_one, in_blocks = kind(spans=True), kind(spans=True)
    for new_id, key in enumerate(keys, start=1):
        one_by_one.add(key, new_id, new_id % 3)
    for block in (range(0, 100), range(100, 250), range(250, len(keys))):  # as _read_map's query gives them
        assert in_blocks.extend("".join(keys[n] for n in block),
                                b"".join((n + 1).to_bytes(8, "big") + ((n + 1) % 3).to_bytes(8, "big") for n in block))
    # a block with a key in another form is refused whole (read again key by key)
    assert not in_blocks.extend(keys[0].upper() + keys[1], (7).to_bytes(16, "big") * 2)
    assert not in_blocks.extend(keys[0] + "x", (7).to_bytes(16, "big"))
    in_blocks.add("a1b2:currency", 999)
    one_by_one.seal()
    in_blocks.seal()
    assert list(in_blocks) == keys + ["a1b2:currency"] and len(in_blocks) == len(keys) + 1
    assert all(in_blocks.get_span(key) == one_by_one.get_span(key) for key in keys)
    assert in_blocks["a1b2:currency"] == 999 and str(uuid.UUID(int=5)) not in in_blocks


@MAPS
def test_ids_past_32_bits_are_kept_whole(kind):
    keys = [str(uuid.UUID(int=(n << 64) | n)) for n in range(1, 7)]
    one_by_one, in_blocks = kind(), kind()
    one_by_one.add(keys[0], 5)
    one_by_one.add(keys[1], 1 << 31)  # the first id a 32-bit integer cannot hold
    one_by_one.add(keys[0], (1 << 40) + 3)  # a key added again takes a wide id too
    assert in_blocks.extend(keys[2] + keys[3], (7).to_bytes(8, "big") * 2 + (1 << 33).to_bytes(8, "big") * 2)
    assert in_blocks.extend(keys[4], (9).to_bytes(8, "big") * 2)  # a narrow block after a wide one
    in_blocks.add(keys[5], 1 << 50)
    one_by_one.seal()
    in_blocks.seal()
    assert [one_by_one[key] for key in keys[:2]] == [(1 << 40) + 3, 1 << 31]
    assert [in_blocks[key] for key in keys[2:]] == [7, 1 << 33, 9, 1 << 50]


@MAPS
def test_a_map_of_the_same_keys_shares_them_and_a_key_added_later_stays_its_own(kind):
    keys = [str(uuid.UUID(int=(n * 0x9E3779B97F4A7C15 % (1 << 128)))) for n in range(1, 50)]
    lines, orders, others = kind(spans=True), kind(), kind()
    for n, key in enumerate(keys):
        lines.add(key, 10 * n + 1, 3)
        orders.add(key, n + 1)
    for key in reversed(keys):  # the same keys in another order: not shared
        others.add(key, 7)
    lines.seal(), orders.seal(), others.seal()
    assert lines.keys_of(others) is others and others.high is not lines.high
    shared = lines.keys_of(orders)
    assert shared is orders and orders.high is lines.high and orders.slots is lines.slots
    assert [orders[key] for key in keys] == list(range(1, 50)) and orders.get(str(uuid.UUID(int=1))) is None
    assert [lines.get_span(key) for key in keys[:2]] == [(1, 3), (11, 3)]
    # a new key added to one is not a key of the other; an existing key's new id changes only its map
    late = str(uuid.UUID(int=12345))
    orders.add(late, 99)
    lines.add(keys[0], 500, 4)
    assert orders[late] == 99 and late not in lines and len(lines) == 49 and len(orders) == 50
    assert lines.get_span(keys[0]) == (500, 4) and orders[keys[0]] == 1
    lines.add(late, 700, 1)
    assert lines.get_span(late) == (700, 1) and orders[late] == 99 and all(orders[key] == n + 1 for n, key in enumerate(keys))


def test_a_stored_map_answers_what_it_was_given_ahead_and_reads_any_other_key_alone():
    from fynlo.cutover.legacy.ids import StoredKeyMap

    # given a stored map over entries (as legacy_id_map holds them) and a record of every read
    entries = {str(uuid.UUID(int=n)): (n * 10, n % 3) for n in range(1, 50)}
    reads = []

    def fetch(keys, conn):
        reads.append(sorted(keys))
        return [(key, *entries[key]) for key in keys if key in entries]

    stored = StoredKeyMap(fetch, len(entries), sum(span for _, span in entries.values()), spans=True)
    present, absent = str(uuid.UUID(int=4)), str(uuid.UUID(int=400))
    # when the next records' keys are taken, one of them not in the map
    stored.take([present, absent, "", present])
    # then one read answered both, the absent key included, and nothing is read again for them
    assert reads == [sorted([present, absent])]
    assert stored.get(present) == 40 and stored.get_span(present) == (40, 1)
    assert absent not in stored and stored.get(absent, 0) == 0
    assert (stored.batch_lookups, stored.single_lookups) == (1, 0)
    # when a key not taken is asked for, it is read alone (counted), once
    other = str(uuid.UUID(int=7))
    assert stored[other] == 70 and stored.get_span(other) == (70, 1)
    assert reads[1:] == [[other]] and stored.single_lookups == 1
    # and the next take forgets the previous one's keys
    stored.take([other])
    assert stored.get(present) == 40 and stored.single_lookups == 2
    assert len(stored) == 49 and stored.span_total() == sum(n % 3 for n in range(1, 50))
    with pytest.raises(KeyError):
        stored[absent]
    with pytest.raises(TypeError):
        stored.add(present, 1)
