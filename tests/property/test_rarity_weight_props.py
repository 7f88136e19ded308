"""``rarity_weight``, computed in place, against its formula written out (the oracle)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from accountgraph.graph import rarity_weight


def _formula(degree, cap):
    d = np.asarray(degree, dtype=np.float64)
    cap = np.maximum(np.asarray(cap, dtype=np.float64), 2.0 + 1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.log(cap / np.maximum(d, 1.0)) / np.log(cap / 2.0)
    return np.where((d >= 2) & (d <= cap), np.clip(w, 0.0, 1.0), 0.0)


caps = st.one_of(st.floats(0, 1e6), st.just(np.inf), st.integers(0, 5000))


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.int64, st.integers(0, 30), elements=st.integers(0, 10_000)), caps, st.booleans())
def test_rarity_weight_is_its_formula(degree, cap, per_signal):
    """Bit for bit (NaN where the formula gives NaN), scalar or per-signal caps."""
    if per_signal:
        cap = np.resize(np.array([cap, 2.5, 1000.0]), len(degree))
    got, want = rarity_weight(degree, cap), _formula(degree, cap)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_rarity_weight_of_a_scalar_degree_against_caps():
    np.testing.assert_array_equal(rarity_weight(np.int64(20), np.array([10.0, 200.0])), _formula(20, [10.0, 200.0]))
