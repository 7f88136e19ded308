"""Unit tests of the benchmark baselines in benchmarks/baselines.py."""

from __future__ import annotations

import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))

import baselines  # noqa: E402
from baselines import (  # noqa: E402
    _peel,
    account_signal_pairs,
    fraudar,
    louvain_ip_projection,
    shared_identifier_components,
)


def _events(rows: list[tuple[str, str, str, str | None]]) -> pd.DataFrame:
    ev = pd.DataFrame(rows, columns=["account_id", "ip", "device_id", "payment_id"])
    ev["timestamp"] = pd.Timestamp("2026-01-01", tz="UTC")
    ev["prompt"] = "p"
    ev["output_tokens"] = np.int32(1)
    ev["model"] = "m"
    return ev


def _planted(seed: int = 0, n_legit: int = 120) -> pd.DataFrame:
    """Legit accounts with private signals, a 30-account NAT enterprise, two rings on small pools."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_legit):
        for e in range(3):
            rows.append((f"L{i:03d}", f"10.0.{i}.1", f"d{i}", f"p{i}" if e == 0 else None))
    for i in range(30):
        rows.append((f"E{i:02d}", "20.0.0.1", f"ed{i}", "corp"))
    for k, (size, pool) in enumerate([(8, 4), (6, 3)]):
        for j in range(size):
            for _ in range(12):
                rows.append((f"R{k}{j}", f"30.{k}.0.{rng.integers(pool)}", f"rd{k}{rng.integers(pool)}", None))
    return _events(rows)


def _check_schema(out: pd.DataFrame, n: int) -> None:
    assert list(out.columns) == ["account_id", "cluster_id", "flagged"]
    assert len(out) == n
    assert out["account_id"].is_unique and out["account_id"].is_monotonic_increasing
    assert out["cluster_id"].dtype == np.int64 and out["flagged"].dtype == bool
    ids = out.loc[out["cluster_id"] >= 0, "cluster_id"]
    assert set(ids) == set(range(ids.nunique()))  # dense ids


def test_account_signal_pairs_namespaces_and_accounts_table() -> None:
    # "x" as an IP and "x" as a device are different signals; nulls are no signal.
    ev = _events([("a", "x", "d1", None), ("b", "y", "x", None), ("a", "x", "d1", None)])
    acc = pd.DataFrame({"account_id": ["c", "b"], "payment_id": ["card", "card"]})
    ids, r, c, kind = account_signal_pairs(ev, acc)
    assert ids.tolist() == ["a", "b", "c"]
    pairs = sorted(zip(r.tolist(), c.tolist()))
    assert len(pairs) == len(set(pairs)) == 6  # a-ip x, a-dev d1, b-ip y, b-dev x, b-card, c-card
    card = [cc for rr, cc in pairs if rr == 2]
    assert len(card) == 1 and (1, card[0]) in pairs
    assert sorted(kind.tolist()) == [0, 0, 1, 1, 2]


def test_shared_identifier_components_hand_case() -> None:
    ev = _events([
        ("a", "ip1", "da", None), ("b", "ip1", "db", None), ("c", "ip9", "db", None),  # a-b-c chain
        ("d", "ip4", "dd", "card"), ("e", "ip5", "de", "card"),  # pair d-e
        ("f", "ip6", "df", None),  # alone
    ])
    out = shared_identifier_components(ev).set_index("account_id")
    assert out.loc[["a", "b", "c"], "flagged"].all()
    assert not out.loc[["d", "e", "f"], "flagged"].any()
    assert out.loc["a", "cluster_id"] == out.loc["c", "cluster_id"] == 0
    assert out.loc["d", "cluster_id"] == out.loc["e", "cluster_id"] == 1
    assert out.loc["f", "cluster_id"] == -1
    assert shared_identifier_components(ev, min_size=2).set_index("account_id").loc["d", "flagged"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shared_identifier_components_networkx_oracle(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = [(f"a{rng.integers(60)}", f"ip{rng.integers(50)}", f"d{rng.integers(80)}",
             f"p{rng.integers(30)}" if rng.random() < 0.3 else None) for _ in range(90)]
    ev = _events(rows)
    out = shared_identifier_components(ev, min_size=3)
    g = nx.Graph()
    for a, ip, d, p in rows:
        g.add_node(("acc", a))
        for kind, v in (("ip", ip), ("dev", d), ("pay", p)):
            if v is not None:
                g.add_edge(("acc", a), (kind, v))
    size = {}
    for comp in nx.connected_components(g):
        accs = [n[1] for n in comp if n[0] == "acc"]
        for a in accs:
            size[a] = len(accs)
    expected = out["account_id"].map(lambda a: size[a] >= 3)
    assert (out["flagged"] == expected).all()
    _check_schema(out, len(size))


def test_louvain_separates_cliques_and_is_deterministic() -> None:
    ev = _planted()
    out = louvain_ip_projection(ev, seed=3)
    _check_schema(out, ev["account_id"].nunique())
    idx = out.set_index("account_id")
    r0 = idx.loc[[f"R0{j}" for j in range(8)], "cluster_id"]
    r1 = idx.loc[[f"R1{j}" for j in range(6)], "cluster_id"]
    assert r0.nunique() == 1 and r1.nunique() == 1 and r0.iloc[0] != r1.iloc[0]
    assert idx.loc[r0.index, "flagged"].all()
    assert not idx.loc[[f"L{i:03d}" for i in range(120)], "flagged"].any()
    assert (idx.loc[[f"L{i:03d}" for i in range(120)], "cluster_id"] == -1).all()
    assert out.attrs["dropped_ips"] == 0
    pd.testing.assert_frame_equal(out, louvain_ip_projection(ev, seed=3))


def test_louvain_caps_high_degree_ips() -> None:
    ev = _planted()
    # The NAT IP alone projects to C(30, 2) = 435 pairs; the rings to far fewer.
    out = louvain_ip_projection(ev, max_pairs=100)
    assert out.attrs["dropped_ips"] >= 1
    idx = out.set_index("account_id")
    assert (idx.loc[[f"E{i:02d}" for i in range(30)], "cluster_id"] == -1).all()


def test_fraudar_recovers_planted_rings() -> None:
    ev = _planted()
    out = fraudar(ev)
    _check_schema(out, ev["account_id"].nunique())
    flagged = set(out.loc[out["flagged"], "account_id"])
    assert flagged == {f"R0{j}" for j in range(8)} | {f"R1{j}" for j in range(6)}
    # The first (densest) block is the bigger ring.
    assert set(out.loc[out["cluster_id"] == 0, "account_id"]) == {f"R0{j}" for j in range(8)}


def test_fraudar_min_density_zero_keeps_peeling() -> None:
    ev = _planted()
    out = fraudar(ev, n_blocks=3, min_density=0.0)
    assert out["cluster_id"].max() == 2


def _peel_bruteforce(n: int, edges: list[tuple[int, int, float]]) -> float:
    """Best f(S)/|S| along the greedy min-degree peeling, recomputing degrees each step."""
    alive = {v for e in edges for v in e[:2]}
    best = 0.0
    while alive:
        live = [(u, v, w) for u, v, w in edges if u in alive and v in alive]
        best = max(best, sum(w for *_, w in live) / len(alive))
        deg = {v: 0.0 for v in alive}
        for u, v, w in live:
            deg[u] += w
            deg[v] += w
        alive.remove(min(alive, key=lambda v: (deg[v], v)))
    return best


@pytest.mark.parametrize("seed", range(5))
def test_peel_matches_bruteforce(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 25
    pairs = {(int(a), int(b)) for a, b in rng.integers(0, n, size=(70, 2)) if a != b}
    edges = [(u, v, float(rng.random() + 0.1)) for u, v in sorted(pairs)]
    import scipy.sparse as sp

    u, v, w = map(np.asarray, zip(*edges))
    adj = sp.coo_matrix((np.r_[w, w], (np.r_[u, v], np.r_[v, u])), shape=(n, n)).tocsr()
    prio = np.asarray(adj.sum(axis=1)).ravel()
    in_block, best = _peel(adj.indptr.tolist(), adj.indices.tolist(), adj.data.tolist(), prio)
    assert best == pytest.approx(_peel_bruteforce(n, edges))
    # The returned node set attains the reported density.
    s = set(np.flatnonzero(in_block).tolist())
    f = sum(w for a, b, w in edges if a in s and b in s)
    assert f / len(s) == pytest.approx(best)


def test_accounts_without_events_are_reported() -> None:
    ev = _planted()
    acc = pd.DataFrame({"account_id": ["ZZZ"], "payment_id": [None]})
    for fn in baselines.BASELINES.values():
        out = fn(ev, acc).set_index("account_id")
        assert out.loc["ZZZ", "cluster_id"] == -1 and not out.loc["ZZZ", "flagged"]


def test_fraudar_splits_a_block_into_components() -> None:
    # Two structurally identical rings have the same density, so peeling keeps
    # them in one block; they must still get separate cluster ids.
    rows = [(f"R{k}{j}", f"ip{k}{p}", f"dev{k}{p}", None) for k in range(2) for j in range(5) for p in range(4)]
    rows += [(f"L{i}", f"lip{i}", f"ld{i}", None) for i in range(20)]
    out = fraudar(_events(rows)).set_index("account_id")
    c0 = out.loc[[f"R0{j}" for j in range(5)], "cluster_id"]
    c1 = out.loc[[f"R1{j}" for j in range(5)], "cluster_id"]
    assert c0.nunique() == 1 and c1.nunique() == 1 and c0.iloc[0] != c1.iloc[0] and (c0 >= 0).all()
    assert out["flagged"].sum() == 10


def test_quality_table_marks_best_and_reports_baseline_wins() -> None:
    import run_benchmarks

    base = {"scenario": "s", "scale": 1.0, "n_events": 10, "n_accounts": 5, "n_rings": 1, "status": "ok",
            "precision": 0.5, "recall": 0.5, "f1": 0.5, "fpr_legit": 0.0, "fpr_enterprise": float("nan"),
            "fpr_automation": 0.0, "ring_recall": 1.0, "ari": 1.0, "n_flagged": 2, "median_s": 0.1,
            "median_cpu_s": 0.1, "loadavg_1m": [1.0, 1.5], "peak_rss_mib": 100.0, "peak_delta_mib": 5.0}
    rows = [{**base, "method": "detect"}, {**base, "method": "fraudar", "f1": 0.9, "recall": 0.9},
            {"scenario": "s", "scale": 1.0, "method": "louvain-ip", "status": "timeout"}]
    table = run_benchmarks.render_table(rows)
    assert "**0.900**" in table and "**0.500**" not in table
    assert "| timeout |" in table and "| – |" in table
    wins = run_benchmarks._beaten(rows)
    assert wins == ["- s: **fraudar** beats detect on F1, R."]
