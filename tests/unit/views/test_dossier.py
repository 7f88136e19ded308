"""Dossiers (``result.explain``): consistent with the raw events, the scores and the link graph."""

from __future__ import annotations

import types

import networkx as nx
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import accountgraph
from accountgraph.views._dossier import link_centrality
from tests.conftest import planted

RAW_COLUMN = {"payment": "payment_id", "ip": "ip", "device": "device_id"}


# --------------------------------------------------------------- fixtures
def stub_template_families(prompts, **_options):
    """Stand-in for ``accountgraph.templates.template_families``: a family is a prompt's first word.

    Deterministic and obvious, so tests can recount families from the raw prompts.
    """
    texts = [None if p is None else str(p) for p in pa.chunked_array(prompts).to_pylist()]
    keys = [t.split(" ", 1)[0] if t else None for t in texts]
    names = sorted({k for k in keys if k is not None})
    code = {k: i for i, k in enumerate(names)}
    family = np.array([code[k] if k is not None else -1 for k in keys], np.int64)
    rep = {}
    for t, k in zip(texts, keys):
        if k is not None and k not in rep:
            rep[k] = t
    table = pd.DataFrame({"family": np.arange(len(names), dtype=np.int64), "representative": [rep[k] for k in names],
                          "size": np.bincount(family[family >= 0], minlength=len(names))})
    return types.SimpleNamespace(family=family, families=table, stats={})


@pytest.fixture
def stub_minhash(monkeypatch):
    """Swap the template stage for the obvious stand-in (the real one is tested in test_templates)."""
    import accountgraph.engines.local._pipeline as pipeline_mod

    monkeypatch.setattr(pipeline_mod, "template_families", stub_template_families)
    return pipeline_mod


def with_prompts(ev: pd.DataFrame, ring: set[str], ring_prompt: str = "Translate into French: item") -> pd.DataFrame:
    """The ring reuses two templates; everybody else writes free text."""
    ev = ev.copy()
    rng = np.random.default_rng(1)
    is_ring = ev["account_id"].isin(ring).to_numpy()
    words = np.array(["why", "how", "please", "explain", "write", "summarise", "what", "list"])
    free = [f"{w} {i}" for w, i in zip(rng.choice(words, len(ev)), rng.integers(0, 10**6, len(ev)))]
    templ = np.where(rng.random(len(ev)) < 0.8, ring_prompt, "Grade this answer: item")
    ev["prompt"] = np.where(is_ring, [f"{t} {i}" for i, t in enumerate(templ)], free)
    return ev


@pytest.fixture(scope="module")
def planted_result():
    ev, acc, ring = planted()
    return ev, acc, ring, accountgraph.detect(ev, acc, seed=0)


@pytest.fixture(scope="module")
def small_result():
    from accountgraph.synth import generate

    ds = generate("small", seed=0)
    return accountgraph.detect(ds.events, ds.accounts, seed=0, templates={"enabled": False})


# --------------------------------------------------------------- signals
def test_signals_really_shared_with_outside_counts(planted_result):
    ev, _, ring, res = planted_result
    ex = res.explain(0)
    members = set(ex.accounts["account_id"])
    assert members == ring
    assert len(ex.signals) > 0
    checked = 0
    for r in ex.signals.itertuples():
        assert r.accounts_outside == r.accounts_total - r.accounts_in_cluster
        if r.signal_type in RAW_COLUMN:
            users = set(ev.loc[ev[RAW_COLUMN[r.signal_type]] == r.value, "account_id"])
            assert len(users & members) == r.accounts_in_cluster >= 2
            assert len(users - members) == r.accounts_outside
            checked += 1
    assert checked >= 3
    # the incidence behind the graph exports lists exactly the sharing accounts
    for (t, v), grp in ex.incidence.groupby(["signal_type", "value"]):
        if t in RAW_COLUMN:
            assert set(grp["account_id"]) == set(ev.loc[ev[RAW_COLUMN[t]] == v, "account_id"]) & members


# --------------------------------------------------------------- scores
def test_contributions_sum_to_score_for_every_cluster(small_result):
    res = small_result
    for cid in res.clusters["cluster_id"].head(30):
        ex = res.explain(int(cid))
        c = ex.contributions
        assert c["contribution"].sum() == pytest.approx(ex.ring_score, abs=1e-12)
        assert c["component"].iloc[-1] == "baseline" and c["contribution"].iloc[-1] >= 0
        assert ex.ring_score <= ex.summary["size_gate"] * ex.summary["spread_gate"] * ex.summary["share_gate"] * ex.summary["team_gate"] + 1e-12
        assert c["evidence"].str.len().gt(0).all()


def test_recomputed_evidence_equals_scored_features(small_result):
    """Timelines and histograms are the evidence the scorer saw, not an approximation of it."""
    res = small_result
    for cid in range(6):
        ex = res.explain(cid)
        row = res.clusters.set_index("cluster_id").loc[cid]
        n_ev = int(row["n_events"])
        assert ex.evidence_kept
        assert ex.hourly["events"].sum() == n_ev == ex.daily["events"].sum() == ex.accounts["n_events"].sum()
        assert ex.output["events"].sum() == n_ev  # every synthetic event has an output length
        assert ex.daily["accounts_created"].sum() == ex.accounts["created_at"].notna().sum()
        assert ex.facts["quiet_hours_share"] == pytest.approx(row["quiet_hours_share"], abs=1e-12)
        assert ex.facts["burst_share"] == pytest.approx(row["creation_burst_share"], abs=1e-12)
        assert ex.facts["output_median"] == row["output_median"]
        np.testing.assert_allclose(ex.hourly["population_share"].sum(), 1.0)
        np.testing.assert_allclose(ex.output["population"], res.evidence["population"]["output_hist_unclustered"])


def test_volume_and_timelines_match_raw_events(planted_result):
    ev, acc, ring, res = planted_result
    ex = res.explain(0)
    raw = ev[ev["account_id"].isin(ring)]
    per = raw.groupby("account_id").size()
    got = ex.accounts.set_index("account_id")["n_events"]
    assert got.sort_index().tolist() == per.sort_index().tolist()
    hours = raw["timestamp"].dt.hour.value_counts().reindex(range(24), fill_value=0)
    assert ex.hourly["events"].tolist() == hours.tolist()
    created = acc.set_index("account_id").loc[sorted(ring), "created_at"]
    assert ex.accounts.set_index("account_id").loc[sorted(ring), "created_at"].tolist() == created.tolist()
    assert ex.facts["burst_accounts"] == len(ring)  # the planted ring was created within one hour


# --------------------------------------------------------------- bridges
def _nx_oracle(edges: pd.DataFrame, accounts) -> tuple[set[str], dict[str, float]]:
    g = nx.Graph()
    g.add_nodes_from(accounts)
    g.add_weighted_edges_from(edges[["source", "target", "weight"]].itertuples(index=False))
    for _, _, d in g.edges(data=True):
        d["dist"] = max(round(1e6 / d["weight"]), 1)  # link_centrality's lengths, in millionths
    return set(nx.articulation_points(g)), nx.betweenness_centrality(g, weight="dist", normalized=True)


def test_link_centrality_oracle_on_barbell():
    g = nx.barbell_graph(5, 2)  # two cliques joined by a path: the path's vertices are cut vertices
    e = pd.DataFrame([(f"a{u:02d}", f"a{v:02d}", 1.0 + (u + v) % 3) for u, v in g.edges()],
                     columns=["source", "target", "weight"])
    names = [f"a{i:02d}" for i in g.nodes()] + ["lonely"]
    c = link_centrality(e, names).set_index("account_id")
    cuts, btw = _nx_oracle(e, names)
    assert set(c.index[c["cut_vertex"]]) == cuts == {"a04", "a05", "a06", "a07"}
    np.testing.assert_allclose(c.loc[sorted(btw), "betweenness"], [btw[k] for k in sorted(btw)], atol=1e-12)
    assert c.loc["a05", "splits_into"] == 2 and c.loc["a00", "splits_into"] == 1
    assert c.loc["lonely", "degree"] == 0


def test_bridges_are_cut_vertices_or_top_betweenness(small_result):
    res = small_result
    seen_cut = False
    for cid in range(6):
        ex = res.explain(cid)
        edges = res.evidence["edges"]
        edges = edges[edges["cluster_id"] == cid]
        pd.testing.assert_frame_equal(ex.links, edges[["source", "target", "weight"]].reset_index(drop=True))
        cuts, btw = _nx_oracle(edges, ex.accounts["account_id"])
        a = ex.accounts.set_index("account_id")
        assert set(a.index[a["cut_vertex"].astype(bool)]) == cuts
        np.testing.assert_allclose(a.loc[sorted(btw), "betweenness"], [btw[k] for k in sorted(btw)], atol=1e-9)
        top5 = sorted(btw.values(), reverse=True)[:5]
        for r in ex.bridges.itertuples():
            assert r.account_id in cuts or btw[r.account_id] >= top5[-1] - 1e-12
        assert cuts <= set(ex.bridges["account_id"])
        seen_cut |= bool(cuts)
        # removing a listed cut vertex really splits its piece of the link graph
        g = nx.Graph(list(edges[["source", "target"]].itertuples(index=False)))
        for r in ex.bridges[ex.bridges["cut_vertex"]].head(3).itertuples():
            piece = nx.node_connected_component(g, r.account_id) - {r.account_id}
            assert nx.number_connected_components(g.subgraph(piece)) == r.splits_into >= 2
    assert seen_cut, "the small scenario's top rings should include a cut vertex (else this test checks little)"


# --------------------------------------------------------------- templates
def test_templates_repetition_rate_from_raw_prompts(stub_minhash):
    ev, acc, ring = planted()
    ev = with_prompts(ev, ring)
    res = accountgraph.detect(ev, acc, seed=0)
    ex = res.explain(0)
    assert set(ex.accounts["account_id"]) == ring
    raw = ev[ev["account_id"].isin(ring)]
    first = raw["prompt"].str.split(" ").str[0].value_counts()
    assert ex.templates["prompts"].tolist() == first.tolist()
    np.testing.assert_allclose(ex.templates["share"], first / first.sum())
    assert ex.templates["accounts"].tolist() == [len(ring)] * len(first)
    assert ex.templates["representative"].iloc[0].startswith("Translate into French")
    assert ex.facts["template_top3_share"] == pytest.approx(1.0)
    assert "Template families" in str(ex)


# --------------------------------------------------------------- not kept
def test_dossier_beyond_evidence_clusters(small_result):
    ev_res = small_result
    cid = int(ev_res.params["evidence_clusters"]) + 3
    ex = ev_res.explain(cid)
    assert not ex.evidence_kept
    assert ex.notes and "evidence_clusters=" in ex.notes[0] and f"#{cid + 1}" in ex.notes[0]
    assert ex.contributions["contribution"].sum() == pytest.approx(ex.ring_score, abs=1e-12)
    assert len(ex.signals) > 0 and ex.hourly.empty and ex.bridges.empty
    assert ex.accounts["account_id"].tolist() == sorted(
        ev_res.assignments.loc[ev_res.assignments["cluster_id"] == cid, "account_id"])
    assert "Note: Per-event evidence" in str(ex)


def test_explanation_tables_and_dict(planted_result):
    *_, res = planted_result
    ex = res.explain(0)
    for part in ex._PARTS:
        df = ex.to_pandas(part)
        assert isinstance(df, pd.DataFrame) and df is not getattr(ex, part)
    assert ex.to_arrow("signals").num_rows == len(ex.signals)
    with pytest.raises(accountgraph.InvalidParameterError, match="'part' parameter"):
        ex.to_pandas("nope")
    d = ex.to_dict()
    assert d["evidence_kept"] is True and d["facts"]["rank"] == 1
