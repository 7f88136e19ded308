"""``type_caps`` (one compiled pass per type) against the ``bincount`` formulation it replaced (the oracle)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from accountgraph.graph._weights import _cap_grid, _pick_cap, type_caps


def _reference(signal_type, account, degree_inc, n_types, cap, max_cosharers, min_accounts):
    """Per type: each holder's co-sharers per grid level by one ``bincount``, the median holder's pick."""
    grid = _cap_grid(cap)
    out = np.full(n_types, float(cap))
    held = np.zeros(int(account.max()) + 1 if len(account) else 0, bool)
    for t in range(n_types):
        of_t = signal_type == t
        m = of_t & (degree_inc >= 2)
        if not m.any():
            continue
        held[:] = False
        held[account[of_t]] = True
        n_holders = int(held.sum())
        if n_holders < min_accounts:
            continue
        d = degree_inc[m].astype(np.float64)
        level = np.searchsorted(grid, d, side="left")
        keep = level < len(grid)
        pos = (np.cumsum(held) - 1)[account[m][keep]]
        co = np.bincount(pos * len(grid) + level[keep], weights=d[keep] - 1,
                         minlength=n_holders * len(grid)).reshape(n_holders, len(grid)).cumsum(axis=1)
        out[t] = _pick_cap(np.median(co, axis=0), grid, max_cosharers)
    return out


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 3_000), st.integers(1, 4), st.sampled_from([5.0, 50.0, 500.0, 3000.0]),
       st.sampled_from([1.0, 10.0, 60.0, 300.0]), st.sampled_from([1, 20, 200]), st.booleans())
def test_type_caps_equal_the_bincount_formulation(seed, m, n_types, cap, max_cosharers, min_accounts, int16):
    rng = np.random.default_rng(seed)
    signal_type = rng.integers(0, n_types, m).astype(np.int16 if int16 else np.int64)
    account = rng.integers(0, int(rng.integers(1, 400)), m)
    degree = rng.integers(1, int(rng.choice([3, 100, 4000])), m)
    got = type_caps(signal_type, account, degree, n_types, cap, max_cosharers, min_accounts)
    ref = _reference(signal_type, account, degree, n_types, cap, max_cosharers, min_accounts)
    np.testing.assert_array_equal(got, ref)  # the same floats: sums in the same order


def test_type_caps_lower_a_crowded_type_only():
    """Not vacuous: one type whose holders meet many strangers is lowered, the other keeps the cap."""
    rng = np.random.default_rng(0)
    acc = np.r_[np.arange(1_000), np.arange(1_000)]
    typ = np.r_[np.zeros(1_000, np.int64), np.ones(1_000, np.int64)]
    deg = np.r_[np.full(1_000, 400), rng.integers(1, 4, 1_000)]
    caps = type_caps(typ, acc, deg, 2, 1_000.0, 50.0, 100)
    assert caps[0] < 400 and caps[1] == 1_000.0
