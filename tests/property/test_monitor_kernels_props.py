"""Monitor helpers that avoid whole-horizon work, against the whole-array computation they replace.

* :func:`accountgraph.monitor._scoring.reference_events` works segment by segment; the
  oracle concatenates every kept event first (what it did before) and picks the same rows:
  the hash-chosen sample of unclustered accounts' events, the earliest event of the window
  and of each model (first in row order on ties).
* :func:`accountgraph.monitor._graph._keys_of` searches only the key range of its signals;
  the oracle is ``np.isin`` over all keys.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from accountgraph._hashing import splitmix64
from accountgraph.monitor import _scoring
from accountgraph.monitor._graph import _keys_of
from accountgraph.monitor._state import EventSegment, State


def _segments(seed: int, sizes: list[int], n_acc: int, n_models: int) -> list[EventSegment]:
    rng = np.random.default_rng(seed)
    out = []
    for j, n in enumerate(sizes):
        ts = rng.integers(0, 20, n).astype(np.int64)  # few distinct times: ties across segments
        model = rng.integers(-1, n_models, n).astype(np.int64)
        cols = [rng.integers(0, n_acc, n).astype(np.int64), ts, np.full(n, -1, np.int64), np.full(n, -1, np.int64),
                model, np.full(n, -1, np.int64)]
        out.append(EventSegment(j, *cols))
    return out


def _oracle(segs: list[EventSegment], in_ring: np.ndarray, cap: int) -> np.ndarray:
    acc = np.concatenate([s.account for s in segs])
    ts = np.concatenate([s.ts for s in segs])
    model = np.concatenate([s.model for s in segs])
    free = ~in_ring[acc]
    n_free = int(free.sum())
    if n_free > cap:
        with np.errstate(over="ignore"):
            h = splitmix64(ts.view(np.uint64) ^ splitmix64(acc.astype(np.uint64)))
        free &= h < np.uint64(int(cap / n_free * 2.0**64))
    if len(ts):
        free[int(np.argmin(ts))] = True
        idx = np.flatnonzero(model >= 0)
        if len(idx):
            order = idx[np.lexsort((ts[idx], model[idx]))]
            free[order[np.r_[True, model[order][1:] != model[order][:-1]]]] = True
    return free


@settings(max_examples=120, deadline=None)
@given(st.integers(0, 10_000), st.lists(st.integers(0, 40), min_size=0, max_size=5), st.integers(1, 12),
       st.integers(1, 4), st.sampled_from([5, 30, 10_000]))
def test_reference_events_per_segment_is_the_concatenated_choice(seed, sizes, n_acc, n_models, cap):
    state = State()
    state.segments = _segments(seed, sizes, n_acc, n_models)
    in_ring = np.random.default_rng(seed + 1).random(n_acc) < 0.3
    before = _scoring.REFERENCE_EVENTS
    _scoring.REFERENCE_EVENTS = cap
    try:
        got = _scoring.reference_events(state, in_ring)
    finally:
        _scoring.REFERENCE_EVENTS = before
    assert [len(g) for g in got] == sizes
    want = _oracle(state.segments, in_ring, cap) if sizes else np.zeros(0, bool)
    np.testing.assert_array_equal(np.concatenate(got) if got else np.zeros(0, bool), want)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 5)), max_size=60, unique=True),
       st.lists(st.integers(0, 30), max_size=10))
def test_keys_of_is_isin(pairs, sig):
    keys = np.sort(np.array([(s << 32) | a for s, a in pairs], np.int64))
    sig = np.array(sig, np.int64)
    want = keys[np.isin(keys >> 32, sig)]
    np.testing.assert_array_equal(_keys_of(keys, sig), want)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([np.int64, np.float32, np.bool_]), st.integers(0, 30), st.lists(st.integers(0, 40), max_size=20),
       st.booleans())
def test_insert_at_is_nps_insert(dtype, n, at, in_order):
    """Sorted positions (repeats included, the order of their values kept) and unsorted ones (NumPy's path)."""
    from accountgraph.monitor._sorted_kernels import insert_at

    a = (np.arange(n) * 3 % 7).astype(dtype)
    at = np.array([min(p, n) for p in at], np.int64)
    if in_order:
        at = np.sort(at)
    values = (np.arange(len(at)) + 100).astype(dtype)
    np.testing.assert_array_equal(insert_at(a, at, values), np.insert(a, at, values))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(-20, 20), max_size=40), st.lists(st.integers(-20, 20), max_size=20))
def test_isin_sorted_is_isin(x, ref):
    from accountgraph.monitor._sorted_kernels import isin_sorted

    x, ref = np.sort(np.array(x, np.int64)), np.sort(np.array(ref, np.int64))
    np.testing.assert_array_equal(isin_sorted(x, ref), np.isin(x, ref))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 9)), max_size=60, unique=True),
       st.lists(st.integers(0, 12), max_size=8, unique=True), st.integers(0, 2))
def test_rows_of_type_is_a_mask_over_rows_of(pairs, heads, t):
    from accountgraph.monitor._keys import rows_of
    from accountgraph.monitor._sorted_kernels import rows_of_type

    keys = np.sort(np.array([(a << 32) | s for a, s in pairs], np.int64))
    sig_type = np.arange(10) % 3
    heads = np.sort(np.array(heads, np.int64))
    rows = rows_of(keys, heads)
    want = rows[sig_type[keys[rows] & 0xFFFFFFFF] == t]
    np.testing.assert_array_equal(rows_of_type(keys, heads, sig_type, t), want)
    np.testing.assert_array_equal(rows, np.flatnonzero(np.isin(keys >> 32, heads)))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10_000), st.lists(st.integers(0, 30), max_size=5), st.data())
def test_events_where_is_filter_then_concatenate(seed, sizes, data):
    state = State()
    state.segments = _segments(seed, sizes, 9, 3)
    rng = np.random.default_rng(seed)
    masks = [None if data.draw(st.booleans()) else rng.random(n) < 0.5 for n in sizes]
    got = state.events_where(masks)
    parts = [s if m is None else s.filter(m) for s, m in zip(state.segments, masks)]
    for c in ("account", "ts", "output", "family", "model", "ip"):
        want = np.concatenate([getattr(p, c) for p in parts]) if parts else np.zeros(0, np.int64)
        np.testing.assert_array_equal(getattr(got, c), want)
        assert getattr(got, c).dtype == np.int64  # handed out wide, whatever the segments hold
