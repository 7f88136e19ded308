"""The monitor's prompt sample (monitor/_templates.py ``_sample``): ties at one instant kept together."""

from __future__ import annotations

import types

import numpy as np

from accountgraph.monitor._templates import _sample
from accountgraph.templates import sample_per_account_window


def _state(n_accounts: int) -> types.SimpleNamespace:
    return types.SimpleNamespace(samp_win=np.full(n_accounts, -1, np.int64), samp_cnt=np.zeros(n_accounts, np.int64))


def test_one_batch_is_sampled_as_detect_samples_it_in_any_row_order():
    rng = np.random.default_rng(7)
    for _ in range(30):
        n = int(rng.integers(1, 60))
        acc = rng.integers(0, 4, n).astype(np.int64)
        ts = rng.integers(0, 30, n).astype(np.int64)  # few instants: many ties
        cap = int(rng.integers(1, 4))
        expect = sample_per_account_window(acc, ts, cap=cap, window=10)
        keep = _sample(_state(4), acc, ts, cap, 10)
        np.testing.assert_array_equal(keep, expect)
        perm = rng.permutation(n)
        np.testing.assert_array_equal(_sample(_state(4), acc[perm], ts[perm], cap, 10), expect[perm])


def test_a_tie_straddling_the_cap_is_kept_whole_or_dropped_whole_across_batches():
    state = _state(1)
    # batch 1: one row in window 0; batch 2: two rows at one instant (fits in 2 * cap = 4), then three
    assert _sample(state, np.array([0]), np.array([1]), 2, 100).tolist() == [True]
    keep = _sample(state, np.zeros(5, np.int64), np.array([5, 5, 9, 9, 9]), 2, 100)
    assert keep.tolist() == [True, True, False, False, False]  # 1 + 2 <= 4 kept; then the window is full
    state = _state(1)
    # a burst of five copies at one instant with room for two: 0 + 5 > 2 * 2, none kept
    assert not _sample(state, np.zeros(5, np.int64), np.full(5, 3), 2, 100).any()
