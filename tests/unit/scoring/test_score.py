"""Scoring: the ring model, contributions that sum to the score, gates, pivot evidence."""

from __future__ import annotations

import numpy as np
import pytest

import json

from accountgraph.scoring import RingModel, default_model
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
    assert df.loc[0, "ring_score"] > 10 * df.loc[1, "ring_score"]
    assert df.loc[0, "contrib_timing"] > 0 > df.loc[1, "contrib_timing"]
    contrib = df[[f"contrib_{c}" for c in COMPONENTS] + ["contrib_baseline"]].sum(axis=1)
    np.testing.assert_allclose(contrib, df["ring_score"], rtol=0, atol=1e-12)
    assert df.loc[0, "missing"] == "templates,pivot,infrastructure"


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
    assert df.loc[0, "contrib_pivot"] > 0 and df.loc[0, "contrib_pivot"] > df.loc[1, "contrib_pivot"]
    assert df.loc[0, "new_model_lag_hours"] < 1


def _one_feature_model(tmp_path, feature="circadian_quiet_share", component="timing", coef=3.0):
    base = default_model().to_dict()
    d = {**base, "features": [feature], "center": [0.1], "scale": [0.1], "coef": [coef], "intercept": -2.0,
         "transforms": ["identity"], "components": [component]}
    path = tmp_path / "one.json"
    path.write_text(json.dumps(d))
    return path


def test_model_is_a_parameter(tmp_path):
    """A model file passed as ScoringParams(model=...) is the one applied: one feature, one component."""
    rng = np.random.default_rng(3)
    acc, ts = _cluster_events(rng, 10, 100, scripted=True)
    params = ScoringParams(model=str(_one_feature_model(tmp_path)))
    df = score_clusters(n_clusters=1, acc_cluster=np.zeros(10, np.int64), ev_account=acc, ev_ts_us=ts,
                        ev_output=None, ev_family=None, created_us=None, params=params)
    other = [c for c in COMPONENTS if c != "timing"]
    assert (df.loc[0, [f"contrib_{c}" for c in other]] == 0).all()
    z = (df.loc[0, "circadian_quiet_share"] - 0.1) / 0.1
    p = 1 / (1 + np.exp(-(-2.0 + 3.0 * min(z, 4.0))))
    assert df.loc[0, "ring_score"] == pytest.approx(p * df.loc[0, "size_gate"] * df.loc[0, "spread_gate"])
    assert df.loc[0, "contrib_timing"] + df.loc[0, "contrib_baseline"] == pytest.approx(df.loc[0, "ring_score"])


def test_contributions_sum_for_any_model(tmp_path):
    """The secant-slope split adds up exactly, for positive, negative and zero log-odds gaps."""
    rng = np.random.default_rng(4)
    a1, t1 = _cluster_events(rng, 12, 200, scripted=True)
    a2, t2 = _cluster_events(rng, 12, 50, scripted=False, start_acc=12)
    acc, ts = np.concatenate([a1, a2]), np.concatenate([t1, t2])
    for coef in (-2.0, 0.0, 2.0):
        params = ScoringParams(model=str(_one_feature_model(tmp_path, coef=coef)))
        df = score_clusters(n_clusters=2, acc_cluster=np.repeat([0, 1], 12), ev_account=acc, ev_ts_us=ts,
                            ev_output=None, ev_family=None, created_us=None, params=params)
        total = df[[f"contrib_{c}" for c in COMPONENTS] + ["contrib_baseline"]].sum(axis=1)
        np.testing.assert_allclose(total, df["ring_score"], rtol=0, atol=1e-12)
        if coef == 0.0:
            assert (df["contrib_timing"] == 0).all()


def test_share_gate_never_flags_a_population_scale_cluster():
    rng = np.random.default_rng(5)
    acc, ts = _cluster_events(rng, 30, 200, scripted=True)
    small = ScoringParams(share_gate_min=20)
    # 30 clustered accounts among 100: 30 % of the population
    df = score_clusters(n_clusters=1, acc_cluster=np.r_[np.zeros(30, np.int64), -np.ones(70, np.int64)],
                        ev_account=acc, ev_ts_us=ts, ev_output=None, ev_family=None, created_us=None, params=small)
    assert df.loc[0, "share_gate"] == 0 and df.loc[0, "ring_score"] == 0
    df = score_clusters(n_clusters=1, acc_cluster=np.r_[np.zeros(30, np.int64), -np.ones(370, np.int64)],
                        ev_account=acc, ev_ts_us=ts, ev_output=None, ev_family=None, created_us=None, params=small)
    assert df.loc[0, "share_gate"] == 1 and df.loc[0, "ring_score"] > 0
    # below share_gate_min (default 1000) a small input may be mostly one ring
    df = score_clusters(n_clusters=1, acc_cluster=np.r_[np.zeros(30, np.int64), -np.ones(70, np.int64)],
                        ev_account=acc, ev_ts_us=ts, ev_output=None, ev_family=None, created_us=None)
    assert df.loc[0, "share_gate"] == 1


def test_model_file_round_trip_and_version_check(tmp_path):
    m = default_model()
    path = tmp_path / "m.json"
    m.to_json(path)
    again = RingModel.from_json(path)
    assert again.to_dict() == m.to_dict()
    d = m.to_dict()
    d["format_version"] = 99
    with pytest.raises(accountgraph_errors().InvalidParameterError, match="format_version"):
        RingModel.from_dict(d)
    assert 0 <= m.threshold_for(0.001) <= 1
    ts = [m.threshold_for(f) for f in (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)]
    assert ts == sorted(ts, reverse=True)  # a laxer target never raises the threshold


def accountgraph_errors():
    import accountgraph

    return accountgraph


def test_small_high_volume_automation_team_is_never_a_ring():
    """A team of a few keys sending hundreds of scripted requests a day scores 0, however ring-like."""
    rng = np.random.default_rng(6)
    # up to 20 keys are a team at 200+ a day (a ring spreads its load); 21 keys, or 20 at 150, are not
    for n_keys, per_day, gated in ((1, 400, True), (3, 300, True), (5, 60, True), (6, 60, False),
                                   (12, 250, True), (20, 210, True), (20, 150, False), (21, 250, False)):
        acc, ts = _cluster_events(rng, n_keys, per_day * 14, scripted=True)
        df = score_clusters(n_clusters=1, acc_cluster=np.zeros(n_keys, np.int64), ev_account=acc, ev_ts_us=ts,
                            ev_output=np.full(len(acc), 900), ev_family=None, created_us=None)
        assert (df.loc[0, "team_gate"] == 0) == gated, (n_keys, per_day)
        if gated:
            assert df.loc[0, "ring_score"] == 0


@pytest.mark.parametrize("n_keys", [1, 3, 5])
def test_a_small_busy_cluster_is_a_team_on_its_hosts_but_not_when_it_rotates_exits(n_keys):
    """Keys at 100 a day from two host addresses are a team; the same keys spreading their traffic
    over a pool of 200 proxy exits (a ring's hydra head) are not gated, and neither is the rule for
    clusters with no address (every event's address unknown: gated as before)."""
    rng = np.random.default_rng(60 + n_keys)
    acc, ts = _cluster_events(rng, n_keys, 100 * 14, scripted=True)

    def score(ev_ip):
        return score_clusters(n_clusters=1, acc_cluster=np.zeros(n_keys, np.int64), ev_account=acc, ev_ts_us=ts,
                              ev_output=np.full(len(acc), 900), ev_family=None, created_us=None, ev_ip=ev_ip).loc[0]

    hosts = score(rng.integers(0, 2, len(acc)))
    exits = score(rng.integers(0, 200, len(acc)))
    unknown = score(np.full(len(acc), -1))
    assert hosts["ip_top_share"] >= 0.5 and hosts["team_gate"] == 0 and hosts["ring_score"] == 0
    assert exits["ip_top_share"] < 0.5 and exits["team_gate"] == 1
    assert unknown["team_gate"] == 0
    # the anchor is a parameter: at 0 every small busy cluster is a team again
    at0 = score_clusters(n_clusters=1, acc_cluster=np.zeros(n_keys, np.int64), ev_account=acc, ev_ts_us=ts,
                         ev_output=np.full(len(acc), 900), ev_family=None, created_us=None,
                         ev_ip=rng.integers(0, 200, len(acc)), params=ScoringParams(team_anchor=0.0)).loc[0]
    assert at0["team_gate"] == 0


def _one_cluster(acc, ts, n_keys, ev_ip, params=None):
    return score_clusters(n_clusters=1, acc_cluster=np.zeros(n_keys, np.int64), ev_account=acc, ev_ts_us=ts,
                          ev_output=np.full(len(acc), 900), ev_family=None, created_us=None, ev_ip=ev_ip,
                          **({"params": params} if params else {})).loc[0]


@pytest.mark.parametrize(("n_keys", "per_day", "gated"), [
    (4, 40, True),    # a quiet pipeline: an owner's keys on one host under the busy-team rate
    (12, 25, True),   # up to 4x team_gate[0] keys on one host
    (4, 5, False),    # a ring's head behind a few exits at a human rate is not a team
    (21, 40, False),  # more keys than a team
])
def test_a_cluster_on_one_host_is_a_team_from_the_host_rate(n_keys, per_day, gated):
    """90 % of the traffic from 3 addresses at ``team_host_rate`` (20) a day or more is a team of
    at most 20 keys, even under the busy-team rate of ``team_gate`` (50)."""
    rng = np.random.default_rng(n_keys * 100 + per_day)
    acc, ts = _cluster_events(rng, n_keys, per_day * 14, scripted=True)
    row = _one_cluster(acc, ts, n_keys, rng.integers(0, 2, len(acc)))
    assert row["ip_top_share"] >= 0.9 and (row["team_gate"] == 0) == gated, (n_keys, per_day)
    # the rate is a parameter: above the cluster's rate the host alone no longer makes a team
    hi = _one_cluster(acc, ts, n_keys, rng.integers(0, 2, len(acc)), ScoringParams(team_host_rate=per_day * 2.0))
    assert hi["team_gate"] == 1 or n_keys <= 5 and per_day >= 50


def test_a_busy_hydra_head_on_a_few_exits_is_not_a_team_however_busy():
    """Ten keys at 220 a day sending 60-80 % of their traffic from 3 of 8 proxy exits are a ring's
    head, not a team: a rate alone gates a cluster only when no address is known at all."""
    rng = np.random.default_rng(11)
    n_keys = 10
    acc, ts = _cluster_events(rng, n_keys, 220 * 14, scripted=True)
    exits = rng.choice(8, len(acc), p=[0.3, 0.2, 0.2, 0.1, 0.05, 0.05, 0.05, 0.05])
    head = _one_cluster(acc, ts, n_keys, exits)
    assert 0.5 < head["ip_top_share"] < 0.9 and head["team_gate"] == 1
    assert _one_cluster(acc, ts, n_keys, np.full(len(acc), -1))["team_gate"] == 0


def test_per_day_rate_of_an_input_shorter_than_a_day_is_extrapolated():
    """Five keys seen for one hour at 30 requests each run at 720 a day: a team, not a ring of 30 a day."""
    rng = np.random.default_rng(7)
    n_keys = 5
    acc = np.repeat(np.arange(n_keys), 30)

    def score(span_s):
        ts = T0 + rng.integers(0, span_s, len(acc))
        return score_clusters(n_clusters=1, acc_cluster=np.zeros(n_keys, np.int64), ev_account=acc, ev_ts_us=ts,
                              ev_output=np.full(len(acc), 900), ev_family=None, created_us=None).loc[0]

    hour, day, week = score(H), score(DAY), score(7 * DAY)
    assert hour["events_per_account_day"] == pytest.approx(30 * DAY / H, rel=0.01)
    assert hour["team_gate"] == 0 and hour["ring_score"] == 0
    assert day["events_per_account_day"] == pytest.approx(30, rel=0.05)  # a whole day: as counted
    assert week["events_per_account_day"] < 30  # several active days: per active day, never scaled up


def test_active_day_share_of_a_short_history_reads_near_the_prior():
    """Accounts active on every day they were seen: a day says little, a month a lot (a Beta prior)."""
    from accountgraph.scoring._features import ACTIVE_PRIOR_DAYS as d, ACTIVE_PRIOR_SHARE as s

    n_acc = 6
    acc = np.repeat(np.arange(n_acc), 2)

    def share(days):  # two events a day on each of ``days`` consecutive days, every account
        a = np.tile(acc, days)
        ts = T0 + np.repeat(np.arange(days) * DAY, len(acc)) + np.tile(np.arange(len(acc)) * 60_000_000, days)
        df = score_clusters(n_clusters=1, acc_cluster=np.zeros(n_acc, np.int64), ev_account=a, ev_ts_us=ts,
                            ev_output=np.full(len(a), 900), ev_family=None, created_us=None)
        return df.loc[0, "active_day_share"]

    got = [share(n) for n in (1, 2, 7, 30)]
    assert got == pytest.approx([(n + d * s) / (n + d) for n in (1, 2, 7, 30)])
    assert got[0] < 0.5 < got[2] < 0.75 < got[3] < 1.0
    # Half the days active over a month: below the prior's pull of a month of daily use.
    a = np.tile(acc, 15)
    ts = T0 + np.repeat(np.arange(15) * 2 * DAY, len(acc)) + np.tile(np.arange(len(acc)) * 60_000_000, 15)
    df = score_clusters(n_clusters=1, acc_cluster=np.zeros(n_acc, np.int64), ev_account=a, ev_ts_us=ts,
                        ev_output=np.full(len(a), 900), ev_family=None, created_us=None)
    assert df.loc[0, "active_day_share"] == pytest.approx((15 + d * s) / (29 + d))


def test_active_day_share_is_read_raw_for_accounts_seen_from_their_creation():
    """A new account used daily since it was created reads 1.0; an old one seen for 3 days reads near the prior."""
    from accountgraph.scoring._features import ACTIVE_PRIOR_DAYS as d, ACTIVE_PRIOR_SHARE as s

    n_acc, days = 4, 3
    acc = np.tile(np.arange(n_acc), days)
    ts = T0 + np.repeat(np.arange(days) * DAY, n_acc) + H

    def share(created):
        df = score_clusters(n_clusters=1, acc_cluster=np.zeros(n_acc, np.int64), ev_account=acc, ev_ts_us=ts,
                            ev_output=np.full(len(acc), 900), ev_family=None, created_us=created)
        return df.loc[0, "active_day_share"]

    old = (days + d * s) / (days + d)
    assert share(np.full(n_acc, T0)) == pytest.approx(1.0)             # created the day of its first event
    assert share(np.full(n_acc, T0 - DAY)) == pytest.approx(1.0)       # or the day before
    assert share(np.full(n_acc, T0 - 30 * DAY)) == pytest.approx(old)  # created long before it is seen
    assert share(np.full(n_acc, -1)) == pytest.approx(old)             # creation unknown
    assert share(np.array([T0, T0, T0 - 30 * DAY, -1])) == pytest.approx((2 * 1.0 + 2 * old) / 4)
