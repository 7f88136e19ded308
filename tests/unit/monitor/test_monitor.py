"""The Monitor's API: outputs of an update, seeds, evidence views, the horizon, agreement with detect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import accountgraph
from accountgraph import InvalidParameterError, Monitor, MonitorUpdate, StateError
from accountgraph.synth import generate
from tests.unit.monitor.worlds import growing_ring, legit_day, names, ring_day, ring_ids_of


def test_an_update_returns_the_documented_tables(tmp_path):
    mon = Monitor(tmp_path / "s", horizon_days=None)
    up = mon.update(growing_ring(days=1)[0])
    assert isinstance(up, MonitorUpdate) and up.seq == 1 and not up.replayed
    assert list(up.rings.columns[:8]) == ["ring_id", "status", "first_seen", "first_flagged_at", "n_accounts",
                                          "n_events", "ring_score", "flagged"]
    assert list(up.assignments.columns) == ["account_id", "cluster_id", "ring_id", "ring_score", "member_score",
                                            "flagged"]
    assert up.assignments["account_id"].is_monotonic_increasing
    assert list(up.new_flags.columns) == ["account_id", "ring_id", "flagged_at"]
    assert {"seq", "ring_id", "parent_id", "relation", "n_shared"} <= set(up.lineage.columns)
    # cluster ids are this update's ranks of the rings, as detect's are
    top = up.rings.iloc[0]
    ranked = up.assignments.loc[up.assignments["ring_id"] == top["ring_id"], "cluster_id"]
    assert (ranked == 0).all()
    assert up.rings["flagged"].sum() == 1 and up.rings.iloc[0]["first_flagged_at"] == up.new_flags["flagged_at"].iloc[0]
    assert "update 1:" in up.summary()


def test_parameters_are_checked_at_construction(tmp_path):
    with pytest.raises(InvalidParameterError, match="'horizon_days' parameter of Monitor must be a positive"):
        Monitor(tmp_path, horizon_days=0)
    with pytest.raises(InvalidParameterError, match="threshold"):
        Monitor(tmp_path, threshold=2.0)
    with pytest.raises(InvalidParameterError):
        Monitor(tmp_path, graph={"no_such": 1})


def test_explain_and_report_read_the_current_state(tmp_path):
    mon = Monitor(tmp_path / "s", horizon_days=None)
    batches = growing_ring(days=2)
    first = mon.update(batches[0])
    (rid,) = ring_ids_of(first.assignments, names("ring", 0, 12))
    ex = first.explain(rid)
    assert ex.summary["ring_id"] == rid and ex.summary["flagged"]
    assert set(ex.accounts["account_id"]) == set(names("ring", 0, 12))
    assert (ex.signals["signal_type"] == "payment").any()
    path = first.report(tmp_path / "r.html")
    assert "<html" in path.read_text()[:200].lower()
    mon.update(batches[1])
    with pytest.raises(StateError, match="moved on to update 2"):
        first.explain(rid)  # a stale update does not pretend to show its own state
    with pytest.raises(InvalidParameterError, match="no live ring 999"):
        mon.explain(999)


def test_known_bad_seeds_lift_their_cluster_but_not_strangers(tmp_path):
    # A small group (3 accounts sharing a card: scored far below the threshold) and a stranger
    # who shares only a carrier-NAT hub with the seed.
    rng = np.random.default_rng(0)
    small = ring_day(names("grp", 0, 3), 0, cards=["shared-card"], ips=["192.0.2.9"], device="phone-1", seed=3,
                     per_account=3)
    small["timestamp"] = small["timestamp"].dt.floor("D") + pd.to_timedelta(rng.integers(9, 17, len(small)), "h")
    users = legit_day(200, 0, seed=1)
    hub = pd.DataFrame({"account_id": ["grp000", "user0001"] + [f"user{i:04d}" for i in range(2, 200)],
                        "timestamp": pd.Timestamp("2026-05-01 12:00", tz="UTC"), "ip": "100.64.0.1",
                        "device_id": None, "payment_id": None, "output_tokens": 10})
    batch = pd.concat([small, users, hub], ignore_index=True)
    plain = Monitor(tmp_path / "a", horizon_days=None).update(batch)
    seeded = Monitor(tmp_path / "b", horizon_days=None).update(batch, known_bad=["grp000", "nobody-yet"])
    grp = names("grp", 0, 3)
    assert not plain.assignments.set_index("account_id").loc[grp, "flagged"].any()  # negative control
    a = seeded.assignments.set_index("account_id")
    assert a.loc[grp, "flagged"].all() and a.loc["grp000", "known_bad"]
    assert not a.loc["user0001", "flagged"]  # shares only the hub with the seed
    assert int(a["flagged"].sum()) == 3
    row = seeded.rings.set_index("ring_id").loc[a.loc["grp000", "ring_id"]]
    assert row["n_known_bad"] == 1 and row["contrib_known_bad"] > 0


def test_known_bad_ids_seen_later_are_remembered(tmp_path):
    mon = Monitor(tmp_path / "s", horizon_days=None)
    mon.update(legit_day(50, 0, seed=1), known_bad=["ring005"])
    up = mon.update(growing_ring(days=1)[0])
    assert up.assignments.set_index("account_id").loc["ring005", "known_bad"]


def test_the_horizon_ages_evidence_out(tmp_path):
    mon = Monitor(tmp_path / "s", horizon_days=1)
    mon.update(growing_ring(days=1)[0])
    n0 = len(mon._state.inc_key)
    for d in (1, 2, 3):
        up = mon.update(legit_day(150, d, seed=0))
    st = mon._state
    acc_of_ring = set(np.flatnonzero(np.isin(st.account_ids().to_numpy(zero_copy_only=False), names("ring", 0, 12))))
    assert n0 > 0 and not np.isin(st.inc_key >> 32, list(acc_of_ring)).any()
    assert not (st.all_events().ts < st.now_us - 86_400 * 10**6).any()
    assert ring_ids_of(up.assignments, names("ring", 0, 12)) == {-1}


def test_without_a_horizon_nothing_ages_out(tmp_path):
    mon = Monitor(tmp_path / "s", horizon_days=None)
    mon.update(growing_ring(days=1)[0])
    n0 = len(mon._state.inc_key)
    for d in (1, 2, 3):
        mon.update(legit_day(150, d, seed=0))
    assert len(mon._state.all_events()) > 0 and len(mon._state.inc_key) > n0


def _f1(a: set, b: set) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a or b else 1.0


@pytest.mark.parametrize("scenario,scale", [("tiny", 1.0), ("small", 0.3)])
def test_daily_batches_agree_with_detect_on_the_whole(tmp_path, scenario, scale):
    ds = generate(scenario, seed=0, scale=scale)
    ev, ac = ds.events.to_pandas(), ds.accounts.to_pandas()
    batch = accountgraph.detect(ds.events, ds.accounts, seed=0).assignments
    day = ev["timestamp"].dt.floor("D")
    made = ac["created_at"].dt.floor("D").clip(lower=day.min())
    mon = Monitor(tmp_path / "s", horizon_days=None, random_state=0)
    for d in sorted(day.unique()):
        up = mon.update(ev[day == d], ac[made == d])
    fb = set(batch.loc[batch["flagged"], "account_id"])
    fm = set(up.assignments.loc[up.assignments["flagged"], "account_id"])
    assert len(fb) >= 30  # not vacuous: detect flags rings here
    assert _f1(fb, fm) >= 0.98
    assert _f1(fb, set(batch["account_id"].head(len(fb)))) < 0.5  # the F1 check can fail


@pytest.mark.parametrize("scenario,scale", [("residential-proxy", 0.1), ("random", 0.01)])
def test_one_batch_gives_detects_links(tmp_path, scenario, scale):
    """Fed everything at once, the monitor's links are the batch projection's, weight for weight.

    Holds where no signal is sampled (the monitor's hashed buckets differ from the batch's
    circulants by design), so weak signals are not coordinated here (a coordinated signal is
    sampled). Caught the monitor ignoring ``GraphParams.promiscuity``.
    """
    from accountgraph import RingDetector
    from accountgraph.engines.local import _pipeline as lp
    from accountgraph.ingest import Quarantine
    from accountgraph.signals import extract_signals

    ds = generate(scenario, seed=1001 if scenario == "random" else 0, scale=scale)
    graph = {"coordinate_weak": False}
    cfg = RingDetector(random_state=0, graph=graph)._config()
    inp = lp._ingest(cfg, ds.events, ds.accounts, Quarantine())
    fam, _ = lp._templates(cfg, inp, {})
    sig = extract_signals(inp.ev, inp.ev_account, inp.ac, inp.ac_account, template_family=fam)
    g = lp._graph(cfg, inp, sig, fam, lp._node_key(inp))
    mon = Monitor(tmp_path / "s", horizon_days=None, random_state=0, graph=graph)
    mon.update(ds.events.to_pandas(), ds.accounts.to_pandas())
    s = mon._state
    assert (s.sig_mode < 2).all()  # nothing sampled: the comparison is exact
    ids = np.array(inp.account_ids.to_pylist(), dtype=object)
    mids = np.concatenate([np.array(a.to_pylist(), dtype=object) for a in s.acc_ids])

    def links(src, dst, w, names):
        a, b = names[src], names[dst]
        return dict(zip(zip(np.where(a < b, a, b), np.where(a < b, b, a)), w))

    want, got = links(g.src, g.dst, g.link, ids), links(s.e_src, s.e_dst, s.e_w, mids)
    assert len(want) > 100 and set(got) == set(want)
    assert max(abs(got[k] - want[k]) for k in want) < 1e-5


@pytest.mark.parametrize("horizon", [None, 3.0])
def test_links_kept_by_deltas_equal_links_rebuilt_from_the_incidences(tmp_path, horizon):
    """After daily updates (and a horizon that removes evidence), the pair table kept by deltas
    gives the links a rebuild from the state's incidences gives, weight for weight.

    Covers the pair table's index across growth and compaction, drift refreshes, the
    horizon's removals and the rows re-weighted when an account's pair balance moves.
    """
    from accountgraph.monitor._graph import rebuild_links

    ds = generate("random", seed=1001, scale=0.01)
    ev, ac = ds.events.to_pandas(), ds.accounts.to_pandas()
    day = ev["timestamp"].dt.floor("D")
    made = ac["created_at"].dt.floor("D").clip(lower=day.min())
    mon = Monitor(tmp_path / "s", horizon_days=horizon, random_state=0)
    for d in sorted(day.unique())[:8]:
        mon.update(ev[day == d], ac[made == d])
    s = mon._state
    kept = dict(zip(zip(s.e_src.tolist(), s.e_dst.tolist()), s.e_w.tolist()))
    rebuild_links(s, mon._config)
    fresh = dict(zip(zip(s.e_src.tolist(), s.e_dst.tolist()), s.e_w.tolist()))
    assert len(fresh) > 100
    near = {k for k in set(kept) ^ set(fresh) if abs(kept.get(k, 0.0) - fresh.get(k, 0.0)) > 1e-4}
    assert not near, f"{len(near)} links differ"
    assert max(abs(kept[k] - fresh[k]) for k in set(kept) & set(fresh)) < 1e-4


def test_reweighing_selects_rows_and_splits_across_threads_without_changing_a_weight(tmp_path, monkeypatch):
    """The compiled re-weighing pass: a row is re-weighed when touched or when one of its accounts is
    marked, the moved accounts are the ends of re-weighed rows whose link crossed or changed, and the
    table cut in two halves on two threads gives the single-threaded weights bit for bit."""
    from accountgraph.monitor import _links
    from accountgraph.monitor._policy import type_weights

    ds = generate("random", seed=1001, scale=0.01)
    mon = Monitor(tmp_path / "s", horizon_days=None, random_state=0)
    mon.update(ds.events.to_pandas(), ds.accounts.to_pandas())
    s, cfg = mon._state, mon._config
    t, alpha, cut = s.pairs, type_weights(s, mon._config), mon._config.graph.min_link
    assert len(t) > 1000

    def run(mark, touched, parallel_rows):
        monkeypatch.setattr(_links, "_PARALLEL_ROWS", parallel_rows)
        t.link = np.full(len(t), -1.0, np.float32)
        t.touched[:] = touched
        moved, n_rows, _ = _links.reweigh(s, cfg, alpha, mark)
        assert not t.touched.any()
        return t.link.copy(), moved, n_rows

    none = np.zeros(s.n_accounts, bool)
    full, moved, n_rows = run(none, True, 1 << 40)
    assert n_rows == len(t) and (full >= 0).all()
    u, v = t.key >> 32, t.key & 0xFFFFFFFF
    want = np.zeros(s.n_accounts, bool)
    want[u[full >= cut]] = want[v[full >= cut]] = True  # from -1 every link at the cut crosses it
    np.testing.assert_array_equal(moved, want)
    split, moved2, _ = run(none, True, 1)
    np.testing.assert_array_equal(split.view(np.int32), full.view(np.int32))
    np.testing.assert_array_equal(moved2, moved)
    mark = np.zeros(s.n_accounts, bool)
    mark[np.unique(u)[::7]] = True
    part, _, n_rows = run(mark, False, 1)
    hit = mark[u] | mark[v]
    assert 0 < n_rows == hit.sum() < len(t)
    np.testing.assert_array_equal(part[hit], full[hit])
    assert (part[~hit] == -1).all()


def test_links_listed_by_packed_sort_equal_the_lexsort_listing(tmp_path, monkeypatch):
    """``_edges`` packs (u, v, rank) into one sorted int64; past 63 bits it lexsorts: both list the same links."""
    from accountgraph.monitor import _graph

    ds = generate("random", seed=1001, scale=0.01)
    mon = Monitor(tmp_path / "s", horizon_days=None, random_state=0)
    mon.update(ds.events.to_pandas(), ds.accounts.to_pandas())
    s, cut = mon._state, mon._config.graph.min_link
    _graph._edges(s, cut)
    packed = s.e_src.copy(), s.e_dst.copy(), s.e_w.copy()
    monkeypatch.setattr(_graph, "_PACK_BITS", 0)
    _graph._edges(s, cut)
    assert len(packed[0]) > 100 and (s.e_w >= np.float32(cut)).all()
    assert (np.diff(s.e_src) >= 0).all() and (s.e_src < s.e_dst).all()
    for got, want in zip((s.e_src, s.e_dst, s.e_w), packed):
        np.testing.assert_array_equal(got, want)
