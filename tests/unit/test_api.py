"""Public API: detect(), RingDetector, DetectionResult, explanations, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import accountgraph
from accountgraph import InvalidParameterError, NotFittedError, RingDetector
from accountgraph.cli import main


def test_result_contract(planted_data):
    ev, acc, ring = planted_data
    res = accountgraph.detect(ev, acc, seed=0)
    a = res.assignments
    assert a.columns.tolist() == ["account_id", "cluster_id", "ring_score", "flagged"]
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


def test_estimator_contract(planted_data):
    ev, acc, ring = planted_data
    det = RingDetector(threshold=0.5, random_state=1)
    assert not hasattr(det, "result_")
    with pytest.raises(NotFittedError):
        det.explain(0)
    assert det.fit(ev, acc) is det
    assert det.get_params()["threshold"] == 0.5
    assert "threshold=0.5" in repr(det)
    pd.testing.assert_frame_equal(det.assignments_, accountgraph.detect(ev, acc, seed=1, threshold=0.5).assignments)


@pytest.mark.parametrize(
    ("param", "msg"),
    [
        ({"communities": {"resolution": -1}},
         r"The 'resolution' parameter of CommunityParams must be a float in \(0, inf\). Got -1 instead."),
        ({"threshold": 2}, r"The 'threshold' parameter of RingDetector must be a float in \[0, 1\]. Got 2 instead."),
        ({"communities": {"method": "louvain"}}, "one of 'leiden', 'components'"),
        ({"communities": {"min_cluster_size": 1}}, r"an int in \[2, inf\)"),
        ({"graph": {"max_pairs": 0}}, r"The 'max_pairs' parameter of GraphParams must be an int in \[1, inf\)"),
        ({"ingest": {"columns": 5}}, "The 'columns' parameter of IngestParams must be None or a mapping"),
        ({"ingest": {"extra_signals": "ip"}}, "must be a list of column names"),
        ({"random_state": True}, "The 'random_state' parameter of RingDetector must be an int"),
        ({"templates": {"enabled": "no"}}, "The 'enabled' parameter of TemplateParams must be a bool. Got 'no'"),
        ({"progress": "yes"}, "The 'progress' parameter of RingDetector must be None or a bool"),
        ({"scoring": "x"}, "The 'scoring' parameter of RingDetector must be None, a ScoringParams or a dict"),
        ({"scoring": {"weights": {"timing": -1}}}, "The 'weights' parameter of ScoringParams must be a mapping"),
        ({"graph": {"max_pairz": 3}}, r"unknown key\(s\) \['max_pairz'\]"),
    ],
)
def test_parameter_errors(planted_data, param, msg):
    ev, acc, _ = planted_data
    with pytest.raises(InvalidParameterError, match=msg):
        RingDetector(**param).fit(ev, acc)


def test_parameter_errors_come_before_any_work():
    # No input is read when a parameter is bad (the path does not exist).
    with pytest.raises(InvalidParameterError):
        RingDetector(graph={"min_link": 0}).fit("/no/such/events.parquet")


def test_nested_params_round_trip():
    det = RingDetector(graph={"max_pairs": 1000})
    params = det.get_params()
    assert params["graph__max_pairs"] == 1000 and params["communities__resolution"] == 1.0
    det.set_params(graph__max_pairs=10, communities__resolution=2.0, threshold=0.3)
    assert det.get_params()["graph__max_pairs"] == 10
    assert det.get_params()["communities__resolution"] == 2.0 and det.threshold == 0.3
    with pytest.raises(InvalidParameterError, match="no parameter"):
        det.set_params(graph__nope=1)
    with pytest.raises(InvalidParameterError, match="no parameter"):
        det.set_params(nope=1)
    assert set(RingDetector().get_params(deep=False)) == {
        "threshold", "ingest", "templates", "graph", "communities", "scoring", "evidence_clusters",
        "random_state", "progress", "engine", "pseudonymize"}


def test_unknown_option():
    with pytest.raises(TypeError, match="resolutoin"):
        accountgraph.detect(pd.DataFrame(), resolutoin=2)


def test_components_method_and_threshold(planted_data):
    ev, acc, ring = planted_data
    res = accountgraph.detect(ev, acc, communities={"method": "components"}, threshold=0.0)
    assert set(res.assignments.loc[res.assignments.cluster_id == 0, "account_id"]) == ring


def test_empty_events():
    ev = pd.DataFrame({"account_id": pd.Series([], dtype=str), "timestamp": pd.Series([], dtype="datetime64[us, UTC]")})
    res = accountgraph.detect(ev)
    assert len(res.assignments) == 0 and len(res.clusters) == 0


def test_cli_detect(tmp_path, planted_data, capsys):
    ev, acc, ring = planted_data
    ev.to_parquet(tmp_path / "events.parquet")
    acc.rename(columns={"account_id": "user"}).to_csv(tmp_path / "accounts.csv", index=False)
    rc = main(["detect", str(tmp_path / "events.parquet"), "--accounts", str(tmp_path / "accounts.csv"),
               "--account-column", "account_id=user", "--out", str(tmp_path / "out"), "--seed", "3"])
    assert rc == 0
    a = pq.read_table(tmp_path / "out" / "assignments.parquet").to_pandas()
    c = pq.read_table(tmp_path / "out" / "clusters.parquet").to_pandas()
    assert set(a.loc[a.flagged, "account_id"]) == ring
    assert {"cluster_id", "n_accounts", "n_events", "ring_score", "flagged"} <= set(c.columns)
    assert "FLAGGED" in capsys.readouterr().out


def test_cli_reports_schema_errors(tmp_path, capsys):
    pd.DataFrame({"user": ["a"]}).to_csv(tmp_path / "e.csv", index=False)
    assert main(["detect", str(tmp_path / "e.csv"), "--out", str(tmp_path / "o")]) == 2
    assert "missing required column" in capsys.readouterr().err
