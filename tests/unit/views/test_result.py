"""DetectionResult (views/_result.py): table contract, contributions, explanations, to_networkx."""

from __future__ import annotations

import numpy as np
import pytest

import accountgraph
from accountgraph import InvalidParameterError


def test_result_contract(planted_data):
    ev, acc, ring = planted_data
    res = accountgraph.detect(ev, acc, seed=0)
    a = res.assignments
    assert a.columns.tolist() == ["account_id", "cluster_id", "ring_score", "member_score", "flagged"]
    assert str(a["cluster_id"].dtype) == "int64" and str(a["ring_score"].dtype) == "float64"
    c = res.clusters
    assert c.columns[:5].tolist() == ["cluster_id", "n_accounts", "n_events", "ring_score", "flagged"]
    assert c["ring_score"].is_monotonic_decreasing
    assert c["cluster_id"].tolist() == list(range(len(c)))
    # account counts agree between the tables
    sizes = a[a.cluster_id >= 0].groupby("cluster_id").size()
    assert sizes.sort_index().tolist() == c.sort_values("cluster_id")["n_accounts"].tolist()
    assert set(res.flagged_accounts) == ring


def test_contributions_sum_to_score(planted_data):
    ev, acc, _ = planted_data
    res = accountgraph.detect(ev, acc)
    contrib = res.clusters.filter(like="contrib_").sum(axis=1)
    np.testing.assert_allclose(contrib, res.clusters["ring_score"], atol=1e-12)
    ex = res.explain(0)
    assert ex.contributions["contribution"].sum() == pytest.approx(ex.ring_score)


def test_explain_signals_are_really_shared(planted_data):
    ev, acc, ring = planted_data
    res = accountgraph.detect(ev, acc)
    ex = res.explain(0)
    members = set(ex.accounts["account_id"])
    assert members == ring
    col = {"payment": "payment_id", "ip": "ip", "device": "device_id"}
    for r in ex.signals.itertuples():
        if r.signal_type in col:
            users = set(ev.loc[ev[col[r.signal_type]] == r.value, "account_id"])
            assert len(users & members) == r.accounts_in_cluster
            assert len(users) == r.accounts_total
    text = str(ex)
    assert "ring_score" in text and "ip " in text
    assert "<table" in ex._repr_html_()
    with pytest.raises(InvalidParameterError, match="no cluster 999"):
        res.explain(999)


def test_to_networkx_roundtrip(planted_data):
    ev, acc, ring = planted_data
    res = accountgraph.detect(ev, acc)
    g = res.to_networkx(0)
    accounts = {n[1] for n, d in g.nodes(data=True) if d["bipartite"] == 0}
    assert accounts == ring
    sig = res.cluster_signals[res.cluster_signals.cluster_id == 0]
    assert sum(1 for _, d in g.nodes(data=True) if d["bipartite"] == 1) == len(sig)
    assert g.number_of_edges() == int(sig["accounts_in_cluster"].sum())
