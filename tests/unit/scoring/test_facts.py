"""Population facts: batches of clusters scored with the whole input's facts give the whole-input features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from accountgraph.scoring import cluster_features, population_facts

_DAY_US = 86_400_000_000


def world(seed: int, n: int = 600, n_ev: int = 20_000, k: int = 40):
    """Random accounts in ``k`` clusters (a third in none), with every optional column."""
    rng = np.random.default_rng(seed)
    acc_cluster = np.where(rng.random(n) < 0.35, -1, rng.integers(0, k, n)).astype(np.int64)
    acc_cluster[:k] = np.arange(k)  # every cluster has an account
    ev_account = rng.integers(0, n - 20, n_ev).astype(np.int64)  # the last 20 accounts have no events
    ts = (rng.integers(0, 20 * _DAY_US, n_ev) + 1_700_000_000_000_000).astype(np.int64)
    model = rng.integers(0, 3, n_ev).astype(np.int64)
    late = ts > ts.min() + 5 * _DAY_US
    model[late & (rng.random(n_ev) < 0.3)] = 3  # released five days in
    model[rng.random(n_ev) < 0.05] = -1
    arrays = dict(
        acc_cluster=acc_cluster, ev_account=ev_account, ev_ts_us=ts,
        ev_output=np.where(rng.random(n_ev) < 0.1, -1, rng.integers(10, 900, n_ev)).astype(np.int64),
        ev_family=np.where(rng.random(n_ev) < 0.4, -1, rng.integers(0, 50, n_ev)).astype(np.int64),
        created_us=np.where(rng.random(n) < 0.2, -1, rng.integers(0, 10 * _DAY_US, n)).astype(np.int64),
        ev_model=model,
        ev_ip=np.where(rng.random(n_ev) < 0.1, -1, rng.integers(0, 300, n_ev)).astype(np.int64),
    )
    return arrays, k


def batch_features(arrays: dict, k: int, batches: np.ndarray, facts) -> pd.DataFrame:
    """``cluster_features`` per batch of clusters (their accounts and events only), reassembled."""
    acc_cluster = arrays["acc_cluster"]
    rows = []
    for b in np.unique(batches):
        cls = np.flatnonzero(batches == b)
        accs = np.flatnonzero(np.isin(acc_cluster, cls))  # input order kept
        local_acc = np.full(len(acc_cluster), -1)
        local_acc[accs] = np.arange(len(accs))
        local_cl = np.searchsorted(cls, acc_cluster[accs])
        ev = np.flatnonzero(local_acc[arrays["ev_account"]] >= 0)
        f = cluster_features(
            n_clusters=len(cls), acc_cluster=local_cl, ev_account=local_acc[arrays["ev_account"][ev]],
            ev_ts_us=arrays["ev_ts_us"][ev], ev_output=arrays["ev_output"][ev], ev_family=arrays["ev_family"][ev],
            created_us=arrays["created_us"][accs], ev_model=arrays["ev_model"][ev], ev_ip=arrays["ev_ip"][ev],
            burst_window_s=72 * 3600, facts=facts)
        rows.append(f.set_index(cls))
    return pd.concat(rows).sort_index()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batches_with_the_facts_give_the_whole_input_features(seed):
    arrays, k = world(seed)
    whole = cluster_features(n_clusters=k, burst_window_s=72 * 3600, **arrays)
    facts = population_facts(**arrays)
    batches = np.random.default_rng(seed).integers(0, 4, k)
    got = batch_features(arrays, k, batches, facts)
    assert got.columns.tolist() == whole.columns.tolist()
    assert (got.dtypes == whole.dtypes).all()
    pd.testing.assert_frame_equal(got.reset_index(drop=True), whole, check_exact=True)
    for c in ("new_model_share", "output_vs_population", "template_exclusive_share", "exits_per_account_day",
              "rate_vs_population", "creation_burst_share", "circadian_quiet_share"):
        assert whole[c].notna().sum() >= k // 2, c  # the comparison is not between NaNs


def test_batches_without_the_facts_differ():
    """Negative control: a batch scored against itself (its own population) is not the whole-input answer."""
    arrays, k = world(0)
    whole = cluster_features(n_clusters=k, burst_window_s=72 * 3600, **arrays)
    batches = np.random.default_rng(0).integers(0, 4, k)
    got = batch_features(arrays, k, batches, None)  # each batch's facts from its own events
    for c in ("output_vs_population", "rate_vs_population", "exits_per_account_day"):
        assert not np.allclose(got[c], whole[c], equal_nan=True), c


def test_population_facts_of_an_input_without_optional_columns():
    f = population_facts(acc_cluster=np.array([0, 0, -1]), ev_account=np.array([0, 1, 2]),
                         ev_ts_us=np.array([0, 1, 2]), ev_output=None, ev_family=None, created_us=None,
                         ev_model=None, ev_ip=None)
    assert (f.n_accounts, f.output_median, f.family_unclustered, f.exits_median, f.pivot, f.has_created) == (
        3, None, None, None, None, False)
    assert f.rate_median == 1.0
