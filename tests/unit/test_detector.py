"""RingDetector and detect() (accountgraph._detector): estimator contract, parameters, options."""

from __future__ import annotations

import pandas as pd
import pytest

import accountgraph
from accountgraph import InvalidParameterError, NotFittedError, RingDetector


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
        ({"threshold": 2}, r"The 'threshold' parameter of RingDetector must be None or a float in \[0, 1\]. Got 2 instead."),
        ({"target_fpr": 0}, r"The 'target_fpr' parameter of RingDetector must be a float in \(0, 1\). Got 0 instead."),
        ({"communities": {"method": "louvain"}}, "one of 'leiden', 'components'"),
        ({"communities": {"min_cluster_size": 1}}, r"an int in \[2, inf\)"),
        ({"graph": {"max_pairs": 0}}, r"The 'max_pairs' parameter of GraphParams must be an int in \[1, inf\)"),
        ({"ingest": {"columns": 5}}, "The 'columns' parameter of IngestParams must be None or a mapping"),
        ({"ingest": {"extra_signals": "ip"}}, "must be a list of column names"),
        ({"random_state": True}, "The 'random_state' parameter of RingDetector must be an int"),
        ({"templates": {"enabled": "no"}}, "The 'enabled' parameter of TemplateParams must be a bool. Got 'no'"),
        ({"progress": "yes"}, "The 'progress' parameter of RingDetector must be None or a bool"),
        ({"scoring": "x"}, "The 'scoring' parameter of RingDetector must be None, a ScoringParams or a dict"),
        ({"scoring": {"max_account_share": 0}}, "The 'max_account_share' parameter of ScoringParams must be"),
        ({"scoring": {"model": 3}}, "The 'model' parameter of ScoringParams must be None or the path"),
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
        "threshold", "target_fpr", "ingest", "templates", "graph", "communities", "scoring", "evidence_clusters",
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


def test_stats_keep_each_stage_time_and_peak_memory(planted_data):
    ev, acc, _ = planted_data
    res = accountgraph.detect(ev, acc, seed=0)
    stages = ["validate", "templates", "signals", "graph", "communities", "score", "views"]
    assert list(res.stats["seconds"]) == stages
    assert list(res.stats["peak_rss_mib"]) == stages
    assert all(v > 0 for v in res.stats["peak_rss_mib"].values())
