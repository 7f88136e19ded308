"""The monitor's pair table against a dictionary: same evidence per (pair, type) after any sequence of changes.

Hypothesis draws batches of (pair, type, value) changes, some negative (evidence that
leaves), over a small key space so pairs recur, empty out and come back; the table
must hold, for every pair, the clipped running sums a plain dict holds, find every
live pair by key, and keep its index valid across growth and compaction.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from accountgraph.monitor._pairs import PairTable

N_TYPES = 3
cells = st.lists(st.tuples(st.integers(0, 40), st.integers(1, 40), st.integers(0, N_TYPES - 1),
                           st.sampled_from([-2.0, -0.5, 0.25, 1.0, 3.0])), max_size=60)


def _oracle_add(d: dict, batch: list) -> None:
    sums: dict = {}
    for u, v, t, x in batch:
        key = (min(u, v) << 32) | max(u, v)
        sums[(key, t)] = sums.get((key, t), 0.0) + x
    for (key, t), x in sums.items():
        row = d.setdefault(key, np.zeros(N_TYPES, np.float32))
        row[t] = max(np.float32(row[t] + np.float32(x)), 0.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(cells, min_size=1, max_size=8), st.lists(st.booleans(), min_size=8, max_size=8))
def test_table_matches_a_dict(batches, compact):
    table, oracle = PairTable(), {}
    table.ensure_types(N_TYPES)
    for i, batch in enumerate(batches):
        b = [(u, v, t, x) for u, v, t, x in batch if u != v]
        if b:
            u, v, t, x = (np.array(c) for c in zip(*b))
            key = (np.minimum(u, v).astype(np.int64) << 32) | np.maximum(u, v)
            table.add(key, t.astype(np.int64), x.astype(np.float64))
        _oracle_add(oracle, b)
        rows = table.take_touched()
        assert not table.touched.any()
        if compact[i]:
            table._n_empty = len(table)  # force a compaction, then give back the room it freed
            table.drop_empty()
            table.fit(slack=0.0)
        held = {int(k): table.evidence[r] for r, k in enumerate(table.key)}
        assert len(held) == len(table), "a pair has two rows"
        live = {k: e for k, e in oracle.items() if (e > 1e-5).any()}
        for k, e in live.items():
            assert k in held
            np.testing.assert_array_equal(held[k], e)
        for k, e in held.items():
            if k not in live:
                assert (e <= 1e-5).all()
        keys = np.array(sorted(oracle), np.int64)
        rows_of = table.rows_of(keys)
        for k, r in zip(keys.tolist(), rows_of.tolist()):
            assert (r >= 0 and int(table.key[r]) == k) or (r < 0 and k not in live)


def test_growth_keeps_every_row_findable():
    table = PairTable()
    table.ensure_types(1)
    rng = np.random.default_rng(0)
    seen = np.zeros(0, np.int64)
    for _ in range(5):  # 5 x 30k keys: the buffers and the index regrow several times
        key = np.unique(rng.integers(0, 1 << 40, 30_000))
        table.add(key, np.zeros(len(key), np.int64), np.ones(len(key)))
        seen = np.union1d(seen, key)
    rows = table.rows_of(seen)
    assert (rows >= 0).all() and np.array_equal(table.key[rows], seen)
    np.testing.assert_array_equal(np.sort(table.key), seen)
    assert table.rows_of(np.array([-5, (1 << 41) + 3], np.int64)).tolist() == [-1, -1]


def test_fit_gives_back_room_and_keeps_rows_findable():
    table = PairTable()
    table.ensure_types(2)
    rng = np.random.default_rng(1)
    key = np.unique(rng.integers(0, 1 << 40, 100_000))
    table.add(key, np.ones(len(key), np.int64), np.full(len(key), 0.5))
    table.add(key[:300], np.zeros(300, np.int64), np.ones(300))
    table.link = np.arange(len(table), dtype=np.float32)
    table.take_touched()
    gone = table.add(key[1000:], np.ones(len(key) - 1000, np.int64), np.full(len(key) - 1000, -0.5))
    assert gone == len(key) - 1000
    table.drop_empty()
    assert len(table) == 1000
    before = (table.key.copy(), table.evidence.copy(), table.link.copy())
    table.fit()
    assert len(table._key) <= 1.25 * 1000 + 1024 and len(table._slots) <= 4 * 1024
    for got, want in zip((table.key, table.evidence, table.link), before):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(table.rows_of(key[:1000]), np.arange(1000))
    assert (table.rows_of(key[1000:2000]) == -1).all()
    table.add(key[1000:1500], np.zeros(500, np.int64), np.ones(500))  # grows again after fitting
    np.testing.assert_array_equal(table.rows_of(key[:1500]), np.arange(1500))


def test_assigned_link_weights_are_kept():
    """``table.link = w`` writes the table (a reopened monitor assigns every weight at once)."""
    table = PairTable()
    table.ensure_types(1)
    table.add(np.array([1, 2, 3], np.int64), np.zeros(3, np.int64), np.ones(3))
    table.link = np.array([0.5, 0.25, 0.125], np.float32)
    table.add(np.array([4], np.int64), np.zeros(1, np.int64), np.ones(1))  # grows nothing, appends a row
    assert table.link.tolist() == [0.5, 0.25, 0.125, 0.0]


def test_emptied_rows_are_dropped_past_five_percent():
    table = PairTable()
    table.ensure_types(2)
    key = np.arange(100, dtype=np.int64) + (7 << 32)
    table.add(key, np.zeros(100, np.int64), np.ones(100))
    table.add(key[:4], np.zeros(4, np.int64), -np.ones(4))  # 4 % empty: kept
    table.drop_empty()
    assert len(table) == 100
    table.add(key[4:8], np.zeros(4, np.int64), -np.ones(4))  # 8 %: compacted
    table.drop_empty()
    assert len(table) == 92 and np.array_equal(np.sort(table.key), key[8:])
    assert (table.rows_of(key[:8]) == -1).all() and (table.rows_of(key[8:]) >= 0).all()


def _oracle_groups(d: dict, groups: list) -> None:
    """Apply each group's pair values in the kernel's order (i < j within a group), clipping at 0 per change."""
    for members, t, la, lt in groups:
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                (ai, p2i, b1i, fi), (aj, _, b1j, fj) = members[x], members[y]
                if p2i and b1i == b1j:
                    continue
                f = fi | fj
                val = (0.0 if f & 1 else -la) if f & 2 else (lt if f & 1 else lt - la)
                if val == 0.0:
                    continue
                key = (min(ai, aj) << 32) | max(ai, aj)
                row = d.setdefault(key, np.zeros(N_TYPES, np.float32))
                row[t] = max(np.float32(row[t] + np.float32(val)), np.float32(0.0))


members = st.lists(st.tuples(st.integers(0, 30), st.booleans(), st.integers(0, 2), st.integers(0, 3)),
                   min_size=1, max_size=12, unique_by=lambda m: m[0])
group_lists = st.lists(st.tuples(members, st.integers(0, N_TYPES - 1), st.sampled_from([0.0, 0.5, 1.0]),
                                 st.sampled_from([0.0, 0.25, 1.0, 2.0])), max_size=6)


@settings(max_examples=80, deadline=None)
@given(st.lists(group_lists, min_size=1, max_size=5))
def test_group_pairs_match_their_expansion(batches):
    """``add_groups`` (compiled, pairs never materialised) against the pairs written out one by one."""
    table, oracle = PairTable(), {}
    table.ensure_types(N_TYPES)
    for groups in batches:
        g = np.array([gi for gi, (m, *_) in enumerate(groups) for _ in m], np.int64)
        cols = [np.array([x[c] for m, *_ in groups for x in m]) for c in range(4)]
        per = [np.array([v for m, *rest in groups for _ in m for v in [rest[c]]]) for c in range(3)]
        applied = table.add_groups(g, cols[0].astype(np.int64), cols[1].astype(bool), cols[2].astype(np.int64),
                                   cols[3].astype(np.int8), per[0].astype(np.int64), per[1].astype(np.float64),
                                   per[2].astype(np.float64)) if len(g) else 0
        before = len(oracle)
        _oracle_groups(oracle, groups)
        assert applied >= len(oracle) - before
        held = {int(k): table.evidence[r] for r, k in enumerate(table.key)}
        assert set(held) == set(oracle), "a pair is missing, extra or held twice"
        for k, e in oracle.items():
            np.testing.assert_array_equal(held[k], e)
        rows = table.rows_of(np.array(sorted(held), np.int64))
        assert (rows >= 0).all()


big_members = st.lists(st.tuples(st.integers(0, 79), st.just(False), st.just(0), st.integers(0, 3)),
                       min_size=20, max_size=70, unique_by=lambda m: m[0])
big_groups = st.lists(st.tuples(big_members, st.integers(0, N_TYPES - 1), st.sampled_from([0.0, 0.5]),
                                st.sampled_from([0.25, 1.0])), min_size=2, max_size=8)


@settings(max_examples=25, deadline=None)
@given(st.lists(big_groups, min_size=1, max_size=3))
def test_group_pairs_across_lookup_batches_match_their_expansion(batches):
    """Calls of thousands of pairs (the kernel looks pairs up in batches of ``BATCH``) over a few
    accounts, so one batch holds the same pair from several groups, some new when the batch began,
    and the table grows from empty mid-batch: the result is still the pairs applied one by one."""
    table, oracle = PairTable(), {}
    table.ensure_types(N_TYPES)
    for groups in batches:
        g = np.array([gi for gi, (m, *_) in enumerate(groups) for _ in m], np.int64)
        acc, p2, b1, flag = (np.array([x[c] for m, *_ in groups for x in m]) for c in range(4))
        t, la, lt = (np.array([v for m, *rest in groups for _ in m for v in [rest[c]]]) for c in range(3))
        table.add_groups(g, acc.astype(np.int64), p2.astype(bool), b1.astype(np.int64), flag.astype(np.int8),
                         t.astype(np.int64), la.astype(np.float64), lt.astype(np.float64))
        _oracle_groups(oracle, groups)
    held = {int(k): table.evidence[r] for r, k in enumerate(table.key)}
    assert set(held) == set(oracle), "a pair is missing, extra or held twice"
    for k, e in oracle.items():
        np.testing.assert_array_equal(held[k], e)


def test_group_pairs_grow_the_table_mid_call():
    """Groups whose pairs outgrow the buffers and the index are applied whole, none twice."""
    table = PairTable()
    table.ensure_types(1)
    g = np.repeat(np.arange(40), 50)
    acc = np.tile(np.arange(50), 40) + 1000 * np.repeat(np.arange(40), 50)  # 40 disjoint cliques of 50
    n = len(g)
    applied = table.add_groups(g, acc, np.zeros(n, bool), np.zeros(n, np.int64), np.zeros(n, np.int8),
                               np.zeros(n, np.int64), np.zeros(n), np.full(n, 0.5))
    assert applied == len(table) == 40 * 50 * 49 // 2
    assert (table.evidence[:, 0] == np.float32(0.5)).all() and table.touched.all()
    u, v = table.key >> 32, table.key & 0xFFFFFFFF
    assert (u // 1000 == v // 1000).all() and (u < v).all()


def test_group_pairs_resume_inside_a_group_and_grow_only_for_new_pairs():
    """A clique larger than the buffers is applied whole across growth steps; re-weighing pairs
    already held never grows the table (the kernel stops only at a new pair with no room)."""
    table = PairTable()
    table.ensure_types(1)
    n = 300
    g, acc, zeros = np.zeros(n, np.int64), np.arange(n, dtype=np.int64), np.zeros(n, np.int64)
    args = (np.zeros(n, bool), zeros, np.zeros(n, np.int8), zeros)
    assert table.add_groups(g, acc, *args, np.zeros(n), np.full(n, 0.5)) == n * (n - 1) // 2 == len(table)
    table.fit(slack=0.0)
    room, slots = len(table._key), len(table._slots)
    assert table.add_groups(g, acc, *args, np.full(n, 0.5), np.full(n, 0.75)) == n * (n - 1) // 2
    assert (len(table._key), len(table._slots)) == (room, slots)
    assert len(table) == n * (n - 1) // 2 and (table.evidence[:, 0] == np.float32(0.75)).all()


def test_rows_emptied_inside_a_call_are_compacted_before_the_table_grows():
    """When a new pair finds no room and a share of the rows ran out, the table compacts instead of
    growing; an emptied row whose link is at least ``link_cut`` and not yet re-weighed survives."""
    table = PairTable()
    table.ensure_types(1)
    a, b = np.arange(100, dtype=np.int64), np.arange(1000, 1090, dtype=np.int64)

    def clique(acc, la, lt, group=0):
        n = len(acc)
        z = np.zeros(n, np.int64)
        return (np.full(n, group, np.int64), acc, np.zeros(n, bool), z, np.zeros(n, np.int8), z,
                np.full(n, la), np.full(n, lt))

    table.add_groups(*clique(a, 0.0, 0.5))
    table.fit(slack=0.0)
    table.take_touched()
    room = len(table._key)
    strong = (table.key >> 32) == 0  # the 99 pairs of account 0 are links, the others below the cut
    table.link = np.where(strong, 1.0, 0.1).astype(np.float32)
    table.link_cut = 0.5
    both = [np.r_[x, y] for x, y in zip(clique(a, 0.5, 0.0), clique(b, 0.0, 0.5, group=1))]
    assert table.add_groups(*both) == 4950 + 4005
    assert len(table._key) == room, "grew instead of compacting"
    assert len(table) == 99 + 4005
    kept = table.key[table.evidence[:, 0] == 0]
    assert np.array_equal(np.sort(kept), np.sort(np.arange(1, 100, dtype=np.int64)))  # (0, v) pairs still to re-weigh
    assert table.touched.all() and (table.rows_of(kept) >= 0).all()
    assert (table.evidence[table.evidence[:, 0] > 0, 0] == np.float32(0.5)).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 200)), min_size=0, max_size=300, unique=True),
       st.integers(0, 3), st.booleans())
def test_group_layout_is_lexsort_by_group_then_account(members, max_bits, shuffled):
    """The monitor's group layout (a dense group key sorted alone when members arrive sorted,
    else the full lexsort) orders elements exactly as ``np.lexsort((account, group))``."""
    from accountgraph.monitor._graph import _groups

    key = np.array(sorted((s << 32) | a for s, a in members), np.int64)
    s, a = key >> 32, key & 0xFFFFFFFF
    if shuffled:
        perm = np.random.default_rng(len(key)).permutation(len(key))
        s, a = s[perm], a[perm]
    logb = (s % (max_bits + 1)).astype(np.int8)
    mode = np.where(logb > 0, np.where(s % 3 == 0, 3, 2), 1).astype(np.int8)
    gr = _groups(s, a, logb, mode, 7)
    order = np.lexsort((gr.a, gr.g))
    assert np.array_equal(order, np.arange(len(order))), "not sorted by (group, account)"
    assert np.array_equal(a[gr.o], gr.a) and np.array_equal(np.sort(gr.o[~gr.p2]), np.arange(len(a)))
