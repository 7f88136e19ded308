"""Properties of the monitor's rejoining of ring pieces (:func:`accountgraph.monitor._communities.rejoin_pieces`)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st


from accountgraph.monitor._communities import _dominant, rejoin_pieces


@st.composite
def worlds(draw):
    n = draw(st.integers(2, 40))
    k = draw(st.integers(1, 6))
    labels = np.array(draw(st.lists(st.integers(-1, k - 1), min_size=n, max_size=n)), np.int64)
    prev = np.array(draw(st.lists(st.integers(-1, 3), min_size=n, max_size=n)), np.int64)
    m = draw(st.integers(0, 120))
    src = np.array(draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)), np.int64)
    dst = np.array(draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)), np.int64)
    keep = src != dst
    w = np.array(draw(st.lists(st.floats(0.01, 2.0), min_size=m, max_size=m)), np.float64)
    density = draw(st.floats(0.0, 0.9))
    max_size = draw(st.sampled_from([np.inf, 5, 10, 20]))
    return labels, prev, src[keep], dst[keep], w[keep], density, max_size


def _partition(labels: np.ndarray) -> set[frozenset[int]]:
    return {frozenset(np.flatnonzero(labels == c).tolist()) for c in np.unique(labels[labels >= 0])}


@settings(max_examples=200, deadline=None)
@given(worlds(), st.randoms(use_true_random=False))
def test_rejoining_only_coarsens_pieces_of_one_ring_and_ignores_label_values(world, rnd):
    labels, prev, src, dst, w, density, max_size = world
    out, n = rejoin_pieces(labels, prev, src, dst, w, density, max_size)
    assert np.array_equal(out < 0, labels < 0)
    before, after = _partition(labels), _partition(out)
    # every community before lies inside one community after (a coarsening) ...
    assert all(any(c <= d for d in after) for c in before)
    assert len(before) - len(after) == n
    k = int(labels.max()) + 1 if (labels >= 0).any() else 0
    dom = _dominant(labels, prev, k)
    for d in after:
        parts = [c for c in before if c <= d]
        if len(parts) > 1:
            # ... joined only from pieces that are mostly the same earlier ring, within the size bound
            rings = {int(dom[labels[min(c)]]) for c in parts}
            assert len(rings) == 1 and rings.pop() >= 0
            assert len(d) <= max_size
    # the label values themselves do not matter (only which accounts share one)
    perm = np.array(rnd.sample(range(k), k), np.int64) if k else np.zeros(0, np.int64)
    relabelled = np.where(labels >= 0, perm[np.maximum(labels, 0)] if k else -1, -1)
    assert _partition(rejoin_pieces(relabelled, prev, src, dst, w, density, max_size)[0]) == after
