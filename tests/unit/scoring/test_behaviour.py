"""Behavioural evidence measured per account: phase-aligned timing, exit churn, IP anchors, synchrony."""

from __future__ import annotations

import numpy as np
import pytest

from accountgraph.scoring._behaviour import infrastructure_features, rhythm_features
from accountgraph.scoring._activity_kernels import account_histograms
from accountgraph.scoring._features import _timing, account_activity

H = 3600
DAY = 24 * H
T0 = 1_777_593_600  # 2026-05-01 UTC, seconds


def _humans(rng, n_acc, per_acc, tz_hours, start_acc=0):
    """People awake 08-24 local time, each in one of ``tz_hours`` offsets."""
    acc = np.repeat(np.arange(start_acc, start_acc + n_acc), per_acc)
    tz = np.asarray(tz_hours)[(acc - start_acc) % len(tz_hours)]
    local = rng.integers(8 * H, 24 * H, len(acc))
    ts = T0 + rng.integers(0, 20, len(acc)) * DAY + local - tz * H
    return acc, ts


def test_people_across_time_zones_are_not_round_the_clock():
    """The aggregate histogram of a world-wide user base is flat; each person still sleeps."""
    rng = np.random.default_rng(0)
    acc, ts = _humans(rng, 240, 60, tz_hours=[-8, -5, 0, 3, 5, 8, 9, 12])
    cl = np.zeros(240, np.int64)
    agg = _timing(cl, account_histograms(acc, ts, 240), np.array([len(acc)]), 1)["quiet_hours_share"][0]
    per_account = rhythm_features(cl, acc, ts, 1)["circadian_quiet_share"][0]
    assert agg > 0.25  # what fooled the old scorer (issue 11: "timing 0.25" on a 221k-account cluster)
    assert per_account < 0.05


def test_scripts_running_24_7_stay_round_the_clock():
    rng = np.random.default_rng(1)
    acc = np.repeat(np.arange(30), 400)
    ts = T0 + rng.integers(0, 21 * DAY, len(acc))  # three whole weeks
    got = rhythm_features(np.zeros(30, np.int64), acc, ts, 1)["circadian_quiet_share"][0]
    assert got == pytest.approx(1 / 3, abs=0.03)
    # weekly: uniform over the week, 2 quietest days ~ 2/7
    assert rhythm_features(np.zeros(30, np.int64), acc, ts, 1)["weekly_quiet_share"][0] == pytest.approx(2 / 7, abs=0.03)


def test_accounts_outside_clusters_do_not_count_and_empty_clusters_are_nan():
    rng = np.random.default_rng(2)
    acc, ts = _humans(rng, 20, 50, tz_hours=[0])
    cl = np.r_[np.zeros(10, np.int64), -np.ones(10, np.int64)]
    out = rhythm_features(cl, acc, ts, 2)
    assert np.isfinite(out["circadian_quiet_share"][0]) and np.isnan(out["circadian_quiet_share"][1])


def _infra(acc, ts, ip, cl, k):
    n = len(cl)
    return infrastructure_features(cl, acc, ts, ip, k, account_activity(acc, ts, n))


def test_exit_rotation_office_anchor_and_synchrony():
    rng = np.random.default_rng(3)
    # cluster 0: 20 ring accounts, each request from a random exit of a 5,000-exit pool
    ring_acc = np.repeat(np.arange(20), 200)
    ring_ts = T0 + rng.integers(0, 10 * DAY, len(ring_acc))
    ring_ip = rng.integers(0, 5000, len(ring_acc))
    # cluster 1: 20 office workers behind 2 NAT addresses, at the same minutes
    off_acc = np.repeat(np.arange(20, 40), 200)
    minute = rng.integers(0, 10 * 24 * 60, 400)
    off_ts = T0 + minute[rng.integers(0, 400, len(off_acc))] * 60
    off_ip = 10_000 + rng.integers(0, 2, len(off_acc))
    # 60 people in no cluster, one home IP each
    home_acc = np.repeat(np.arange(40, 100), 30)
    home_ts = T0 + rng.integers(0, 10 * DAY, len(home_acc))
    home_ip = 20_000 + home_acc
    acc = np.r_[ring_acc, off_acc, home_acc]
    ts = np.r_[ring_ts, off_ts, home_ts]
    ip = np.r_[ring_ip, off_ip, home_ip]
    cl = np.r_[np.zeros(20, np.int64), np.ones(20, np.int64), -np.ones(60, np.int64)]
    f = _infra(acc, ts, ip, cl, 2)
    assert f["exits_per_account_day"][0] > 10 and f["exits_per_account_day"][1] == pytest.approx(2, abs=0.5)
    assert f["ip_top_share"][1] == 1.0 and f["ip_top_share"][0] < 0.01
    assert f["sync_share"][1] > 0.9 > 0.1 > f["sync_share"][0]
    # row order does not matter
    perm = rng.permutation(len(acc))
    g = _infra(acc[perm], ts[perm], ip[perm], cl, 2)
    for key in f:
        np.testing.assert_array_equal(f[key], g[key])


def test_no_ip_column_gives_nan():
    acc = np.arange(10)
    ts = T0 + np.arange(10)
    f = infrastructure_features(np.zeros(10, np.int64), acc, ts, None, 1, account_activity(acc, ts, 10))
    assert all(np.isnan(v[0]) for v in f.values())
