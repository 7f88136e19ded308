"""The evidence tables' memory-lean paths (chunked population histograms, counting-sort event order, in-place template counts) equal the formulas they replace."""

from __future__ import annotations

import numpy as np
import pytest

from accountgraph.views import _tables


def _whole(ts_us, output, acc_cid, ev_account):
    """The formula of the evidence tables before chunking (every event at once)."""
    hour = (ts_us // 3_600_000_000) % 24
    uncl = acc_cid[ev_account] == -1
    pop = {"hour_of_day": np.bincount(hour, minlength=24).astype(np.int64),
           "hour_of_day_unclustered": np.bincount(hour[uncl], minlength=24).astype(np.int64)}
    if output is not None and (output >= 0).any():
        bins = np.unique(np.concatenate([[0], np.geomspace(1, max(int(output.max()), 2) + 1, 40).astype(np.int64)]))
        pop["output_bins"] = bins
        pop["output_hist"] = np.histogram(output[output >= 0], bins=bins)[0]
        pop["output_hist_unclustered"] = np.histogram(output[(output >= 0) & uncl], bins=bins)[0]
    return pop


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("chunk", [1, 7, 1 << 22])
def test_chunked_population_equals_the_whole(seed, chunk, monkeypatch):
    rng = np.random.default_rng(seed)
    n, n_acc = int(rng.integers(0, 3000)), 50
    ts = rng.integers(-10**15, 10**16, n)  # before 1970 too: hours from the floor division
    ev_account = rng.integers(0, n_acc, n).astype(np.int32)
    acc_cid = np.where(rng.random(n_acc) < 0.4, -1, rng.integers(0, 5, n_acc))
    output = None if seed == 0 else np.where(rng.random(n) < 0.1, -1, rng.integers(0, 10**int(rng.integers(1, 6)), n))
    monkeypatch.setattr(_tables, "_POPULATION_CHUNK", chunk)
    got = _tables._population(ts, output, acc_cid == -1, ev_account)
    want = _whole(ts, output, acc_cid, ev_account)
    assert list(got) == list(want)
    for k in want:
        assert got[k].dtype == want[k].dtype
        np.testing.assert_array_equal(got[k], want[k])
    if n > 100:
        assert got["hour_of_day_unclustered"].sum() > 0  # not vacuous


@pytest.mark.parametrize("seed", range(8))
def test_kept_event_order_equals_the_two_sorts(seed):
    """The counting sort by (cluster, account) rank gives the order of the two stable key sorts, in or out of time order."""
    rng = np.random.default_rng(seed)
    n, n_acc = int(rng.integers(0, 2000)), int(rng.integers(1, 60))
    ts = rng.integers(0, 50, n) * 1_000_000
    if seed % 2:
        ts = np.sort(ts)  # logs in time order: no time sort
    ev_account = rng.integers(0, n_acc, n).astype(np.int32)
    acc_cid = np.where(rng.random(n_acc) < 0.3, -1, rng.integers(0, 6, n_acc))
    acc_keep = (acc_cid >= 0) & (acc_cid != 2)
    rows = np.flatnonzero(acc_keep[ev_account])
    rows = rows[np.argsort(ts[rows], kind="stable")]
    ev_acc = ev_account[rows].astype(np.int64)
    want = rows[np.argsort(acc_cid[ev_acc] * n_acc + ev_acc, kind="stable")]
    got = _tables._kept_event_order(acc_keep, acc_cid, ev_account, ts)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("seed", range(6))
def test_sorted_counts_equal_numpy_unique(seed):
    """The in-place key sort gives ``np.unique(..., return_counts=True)``: values, counts and dtypes."""
    rng = np.random.default_rng(seed)
    n_acc, n = 40, int(rng.integers(1, 3000))
    acc_cid = rng.integers(0, 7, n_acc).astype(np.int32 if seed % 2 else np.int64)
    acc = rng.integers(0, n_acc, n).astype(np.int32)
    family = rng.integers(0, 1 + seed * 50, n).astype(np.int32)
    n_fam = int(family.max()) + 1
    want = np.unique(acc_cid[acc].astype(np.int64) * n_fam + family, return_counts=True)
    got = _tables._sorted_counts(acc_cid, acc, family, n_fam)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)
