"""Scoring: ramps, contributions, size gate, pivot evidence."""

from __future__ import annotations

import numpy as np
import pytest

from accountgraph.scoring._score import COMPONENTS, ScoringParams, ramp, score_clusters

H = 3600 * 1_000_000
DAY = 24 * H
T0 = 1_777_593_600_000_000  # 2026-05-01 UTC


def _cluster_events(rng, n_acc, per_acc, scripted, start_acc=0, cluster=0):
    acc = np.repeat(np.arange(start_acc, start_acc + n_acc), per_acc)
    if scripted:
        ts = T0 + rng.integers(0, 14 * DAY, len(acc))
    else:  # office hours, weekdays
        day = rng.integers(0, 14, len(acc))
        day = day - (((day + 4) % 7 >= 5) * 2)  # push weekend days back to Friday-ish
        ts = T0 + day * DAY + rng.integers(9 * H, 17 * H, len(acc))
    return acc, ts


def test_ramp():
    assert ramp(np.array([0, 0.5, 1, 2]), 0, 1).tolist() == [0, 0.5, 1, 1]
    assert ramp(np.array([0, 0.5, 1]), 1, 0).tolist() == [1, 0.5, 0]


def test_scripted_cluster_outscores_office_and_contributions_sum():
    rng = np.random.default_rng(0)
    a1, t1 = _cluster_events(rng, 20, 300, scripted=True)
    a2, t2 = _cluster_events(rng, 20, rng.pareto(1.2, 20).astype(int) * 40 + 5, scripted=False, start_acc=20)
    acc = np.concatenate([a1, a2])
    ts = np.concatenate([t1, t2])
    out = np.concatenate([rng.normal(2000, 50, len(a1)), rng.lognormal(5, 1, len(a2))]).astype(np.int64)
    acc_cluster = np.repeat([0, 1], 20)
    created = np.concatenate([T0 - rng.integers(0, H, 20), T0 - rng.integers(0, 300, 20) * DAY])
    df = score_clusters(n_clusters=2, acc_cluster=acc_cluster, ev_account=acc, ev_ts_us=ts, ev_output=out,
                        ev_family=None, created_us=created)
    assert df.loc[0, "ring_score"] > 0.7 > 0.2 > df.loc[1, "ring_score"]
    contrib = df[[f"contrib_{c}" for c in COMPONENTS]].sum(axis=1)
    np.testing.assert_allclose(contrib, df["ring_score"])
    assert df.loc[0, "missing"] == "templates,pivot"


def test_size_gate_zero_for_pairs():
    rng = np.random.default_rng(1)
    acc, ts = _cluster_events(rng, 2, 500, scripted=True)
    df = score_clusters(n_clusters=1, acc_cluster=np.zeros(2, np.int64), ev_account=acc, ev_ts_us=ts,
                        ev_output=None, ev_family=None, created_us=None)
    assert df.loc[0, "size_gate"] == 0 and df.loc[0, "ring_score"] == 0


def test_pivot_to_new_model():
    rng = np.random.default_rng(2)
    n = 20000
    acc = rng.integers(0, 40, n)
    ts = T0 + rng.integers(0, 10 * DAY, n)
    release = T0 + 5 * DAY
    model = np.zeros(n, np.int64)
    after = ts >= release
    ring = acc < 20
    # the ring moves everything to model 1 at release; others adopt 10 %
    model[after & ring] = 1
    model[after & ~ring & (rng.random(n) < 0.1)] = 1
    df = score_clusters(n_clusters=2, acc_cluster=(np.arange(40) >= 20).astype(np.int64), ev_account=acc,
                        ev_ts_us=ts, ev_output=None, ev_family=None, created_us=None, ev_model=model)
    assert df.loc[0, "new_model_share"] > 0.95 and df.loc[1, "new_model_share"] < 0.2
    assert df.loc[0, "contrib_pivot"] > 0 == df.loc[1, "contrib_pivot"]
    assert df.loc[0, "new_model_lag_hours"] < 1


def test_weights_are_parameters():
    rng = np.random.default_rng(3)
    acc, ts = _cluster_events(rng, 10, 100, scripted=True)
    only_timing = ScoringParams(weights={"timing": 1.0})
    df = score_clusters(n_clusters=1, acc_cluster=np.zeros(10, np.int64), ev_account=acc, ev_ts_us=ts,
                        ev_output=None, ev_family=None, created_us=None, params=only_timing)
    assert df.loc[0, "ring_score"] == pytest.approx(df.loc[0, "contrib_timing"])
