"""The compact id indexes' bulk setters (fynlo/cutover/legacy/ids.py IdMap, IdMap64, IdSet): ids
with gaps (rows deleted since an import) go in as slices of their consecutive runs, and end up
exactly as one id at a time would leave them."""

import random

import pytest

from fynlo.cutover.legacy.ids import PAGE_SIZE, IdMap, IdMap64, IdSet, _dense_runs


def gapped_ids(seed: int, count: int, gap_every: int) -> list[int]:
    """`count` ascending ids from near a page's end, with a gap about every `gap_every` of them."""
    rng = random.Random(seed)
    ids, ident = [], PAGE_SIZE - 500
    while len(ids) < count:
        ident += 1 + (rng.randrange(gap_every) == 0) * rng.randrange(1, 4)
        ids.append(ident)
    return ids


@pytest.mark.parametrize("gap_every", [1, 7, 1000, 10**9])
def test_dense_runs_cover_the_keys_with_consecutive_runs(gap_every):
    keys = gapped_ids(gap_every, 5000, gap_every)
    runs = list(_dense_runs(keys, 0, len(keys)))
    assert runs[0][0] == 0 and runs[-1][1] == len(keys)
    assert all(a[1] == b[0] for a, b in zip(runs, runs[1:]))
    for low, high in runs:
        assert keys[low:high] == list(range(keys[low], keys[low] + high - low))
    if gap_every == 10**9:
        assert runs == [(0, len(keys))]


@pytest.mark.parametrize("kind", [IdMap, IdMap64])
@pytest.mark.parametrize("gap_every", [3, 1000])
def test_set_many_with_gaps_matches_setting_one_at_a_time(kind, gap_every):
    keys = gapped_ids(gap_every, 200_000, gap_every)
    rng = random.Random(1)
    values = [rng.choice([0, 1, 5, 2**30]) for _ in keys]
    bulk, single = kind(), kind()
    single.set(keys[10], 99)  # an occupied slot: its run is set key by key
    bulk.set(keys[10], 99)
    bulk.set_many(keys, values)
    for key, value in zip(keys, values):
        if value:
            single.set(key, value)
    assert bulk.count == single.count == len(bulk)
    assert bulk.pages.keys() == single.pages.keys()
    assert all(bulk.pages[n] == single.pages[n] for n in bulk.pages)
    assert bulk.get(keys[10]) == (values[10] or 99)


@pytest.mark.parametrize("gap_every", [3, 1000])
def test_add_many_with_gaps_matches_adding_one_at_a_time(gap_every):
    keys = gapped_ids(gap_every, 200_000, gap_every)
    bulk, single = IdSet(), IdSet()
    for some in (bulk, single):
        some.add(keys[20])
    bulk.add_many(keys)
    for key in keys:
        single.add(key)
    assert bulk.count == single.count == len(keys)
    assert bulk.pages == single.pages
    assert keys[-1] in bulk and keys[-1] + 1 not in bulk and keys[0] - 1 not in bulk


def test_runs_are_checked_as_one_id_at_a_time_would_check_them():
    # (a catch-up asks of each unchanged order's lines at once: all of them hold the raw hash, none
    # changed in ours, none met yet; runs inside a page and across a page's end)
    rng = random.Random(7)
    values, changed = IdMap64(), IdSet()
    for key in range(PAGE_SIZE - 300, PAGE_SIZE + 300):
        values.set(key, rng.choice([5, 5, 5, 9]))
        if rng.randrange(20) == 0:
            changed.add(key)
    for first in range(PAGE_SIZE - 310, PAGE_SIZE + 290):
        for count in (1, 2, 3, 5, 8, 9, 17, 70):
            span = range(first, first + count)
            assert values.holds_run(first, count, 5) == all(values.get(key) == 5 for key in span), (first, count)
            assert changed.none_in(first, count) == (not any(key in changed for key in span)), (first, count)
    assert IdSet().none_in(10, 3) and not IdMap64().holds_run(10, 3, 5)


def test_add_run_matches_adding_one_at_a_time():
    # (a catch-up counts each unchanged order's lines as met with one call: runs inside a page,
    # across a page's end, over ids already there)
    rng = random.Random(11)
    for _ in range(2000):
        bulk, single = IdSet(), IdSet()
        for key in rng.sample(range(3 * PAGE_SIZE), rng.randrange(6)):
            bulk.add(key)
            single.add(key)
        first = rng.choice([rng.randrange(3 * PAGE_SIZE), PAGE_SIZE - rng.randrange(1, 70)])
        count = rng.choice([0, 1, 2, 3, 7, 8, 9, 63, 64, 65, 200])
        bulk.add_run(first, count)
        for key in range(first, first + count):
            single.add(key)
        assert bulk.count == single.count, (first, count)
        assert bulk.pages == single.pages, (first, count)
