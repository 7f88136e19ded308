"""Graph and table exports: networkx, igraph and GraphML agree and round-trip."""

from __future__ import annotations

import networkx as nx
import pandas as pd
import pyarrow as pa
import pytest

import accountgraph
from accountgraph import AccountGraphError, InvalidParameterError
from accountgraph.views._export import OutputExistsError, node_name
from tests.conftest import planted


@pytest.fixture(scope="module")
def res():
    ev, acc, _ = planted()
    return accountgraph.detect(ev, acc, seed=0)


def _edge_weights(g: nx.Graph, key=lambda n: n) -> dict[frozenset, float]:
    return {frozenset((key(u), key(v))): d["weight"] for u, v, d in g.edges(data=True)}


def test_explanation_graph_equals_result_graph(res):
    for cid in res.clusters["cluster_id"].head(3):
        a, b = res.explain(int(cid)).to_networkx(), res.to_networkx(int(cid))
        assert list(a.nodes(data=True)) == list(b.nodes(data=True))
        assert _edge_weights(a) == _edge_weights(b)
        sig = res.cluster_signals[res.cluster_signals.cluster_id == cid]
        assert a.number_of_edges() == int(sig["accounts_in_cluster"].sum())
        assert nx.is_bipartite(a)


def test_edge_weights_are_signal_rarity(res):
    g = res.to_networkx(0)
    sig = res.cluster_signals[res.cluster_signals.cluster_id == 0].set_index(["signal_type", "value"])
    for u, v, w in g.edges(data="weight"):
        s = u if u[0] == "signal" else v
        assert w == pytest.approx(float(sig.loc[(s[1], s[2]), "weight"]))
        assert g.nodes[s]["accounts_total"] == sig.loc[(s[1], s[2]), "accounts_total"]


def test_igraph_matches_networkx(res):
    g = res.to_networkx(0)
    ig_res, ig_ex = res.to_igraph(0), res.explain(0).to_igraph()
    for h in (ig_res, ig_ex):
        assert h.vcount() == g.number_of_nodes() and h.ecount() == g.number_of_edges()
        assert h.vs["name"] == [node_name(k) for k in g.nodes]
        assert h.vs["type"] == [k[0] == "signal" for k in g.nodes]
        got = {frozenset((h.vs[e.source]["name"], h.vs[e.target]["name"])): e["weight"] for e in h.es}
        assert got == _edge_weights(g, node_name)
    assert h.is_bipartite()


@pytest.mark.parametrize("cluster_id", [0, None])
def test_graphml_roundtrip(res, tmp_path, cluster_id):
    path = res.to_graphml(tmp_path / "ring.graphml", cluster_id)
    g = res.to_networkx(cluster_id)
    back = nx.read_graphml(path)
    assert back.number_of_nodes() == g.number_of_nodes()
    assert back.number_of_edges() == g.number_of_edges()
    assert _edge_weights(back) == pytest.approx(_edge_weights(g, node_name))
    for k, d in g.nodes(data=True):
        b = back.nodes[node_name(k)]
        assert b["kind"] == d["kind"] and b["label"] == d["label"] and b["bipartite"] == d["bipartite"]
        if d["kind"] == "account":
            assert b["cluster_id"] == d["cluster_id"] and b["flagged"] == d["flagged"]
        else:
            assert b["value"] == d["value"] and b["accounts_total"] == d["accounts_total"]


def test_graphml_overwrite_guard(res, tmp_path):
    p = tmp_path / "g.graphml"
    res.to_graphml(p, 0)
    before = p.read_bytes()
    with pytest.raises(OutputExistsError, match="overwrite=True") as info:
        res.to_graphml(p, 1)
    assert isinstance(info.value, FileExistsError) and isinstance(info.value, AccountGraphError)
    assert p.read_bytes() == before
    res.to_graphml(p, 0, overwrite=True)
    assert p.read_bytes() == before  # deterministic
    with pytest.raises(InvalidParameterError, match="no cluster 999"):
        res.to_graphml(tmp_path / "x.graphml", 999)
    with pytest.raises(InvalidParameterError, match="is a directory"):
        res.to_graphml(tmp_path, 0)


def test_result_tables(res):
    pd.testing.assert_frame_equal(res.to_pandas(), res.assignments)
    assert res.to_pandas() is not res.assignments
    for t in ("clusters", "cluster_signals"):
        pd.testing.assert_frame_equal(res.to_pandas(t), getattr(res, t))
        assert isinstance(res.to_arrow(t), pa.Table) and res.to_arrow(t).num_rows == len(getattr(res, t))
    with pytest.raises(InvalidParameterError, match="'table' parameter"):
        res.to_pandas("events")
