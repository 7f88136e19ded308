"""Infrastructure blocks and the team gate: separate automation teams glued by a template are not a ring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import accountgraph
from accountgraph.scoring import ScoringParams, apply_model, load_model, team_blocks
from accountgraph.signals import cluster_pairs
from tests.unit.monitor.worlds import T0, legit_day, names, ring_day


def _teams(n_teams: int, size: int, rotating: bool = False):
    """Incidences of ``n_teams`` teams of ``size`` accounts in one cluster, all sharing template 0.

    Each team has its own host IP and card (signals 1 + 2t, 2 + 2t). With ``rotating``, every
    account also uses exits from one pool shared across teams (as a ring's proxy pool is).
    """
    acc, sig, nev = [], [], []
    n_sig = 1 + 2 * n_teams
    for t in range(n_teams):
        for j in range(size):
            a = t * size + j
            acc += [a, a, a]
            sig += [0, 1 + 2 * t, 2 + 2 * t]
            nev += [100, 100, 100]
            if rotating:
                for e in range(4):
                    acc.append(a)
                    sig.append(n_sig + (a + e) % 6)
                    nev.append(25)
    n_signals = n_sig + (6 if rotating else 0)
    ip = np.zeros(n_signals, bool)
    ip[1:n_sig:2] = True
    ip[n_sig:] = True
    infra = np.ones(n_signals, bool)
    infra[0] = False  # the template family
    acc, sig, nev = np.array(acc), np.array(sig), np.array(nev)
    cl = np.zeros(n_teams * size, np.int64)
    return acc, sig, nev, cl, cluster_pairs(acc, sig, cl, n_signals), infra, ip


def test_teams_glued_by_a_template_are_small_blocks_on_their_hosts():
    acc, sig, nev, cl, pairs, infra, ip = _teams(5, 3)
    out = team_blocks(acc, sig, nev, cl, pairs, infra, ip, 1)
    assert out["team_block_max"][0] == 3
    assert out["team_block_ip_top_share"][0] == 1.0


def test_shared_exits_join_the_teams_into_one_block():
    """Exits that cut across the teams (a proxy pool) make one block: one operator, not teams."""
    acc, sig, nev, cl, pairs, infra, ip = _teams(5, 3, rotating=True)
    out = team_blocks(acc, sig, nev, cl, pairs, infra, ip, 1)
    assert out["team_block_max"][0] == 15
    assert out["team_block_ip_top_share"][0] < 0.9


def test_address_shares_only_where_asked_and_blocks_do_not_cross_clusters():
    acc, sig, nev, cl, pairs, infra, ip = _teams(4, 2)
    cl = np.array([0, 0, 0, 0, 1, 1, 1, 1])  # teams 0-1 in cluster 0, teams 2-3 in cluster 1
    pairs = cluster_pairs(acc, sig, cl, len(infra))
    one = team_blocks(acc, sig, nev, cl, pairs, infra, ip, 2, ip_clusters=np.array([1]))
    assert one["team_block_max"].tolist() == [2.0, 2.0]  # the shared template joins no block
    assert np.isnan(one["team_block_ip_top_share"][0]) and one["team_block_ip_top_share"][1] == 1.0


def test_infra_block_share_separates_template_only_strangers_from_a_ring():
    """Strangers sharing only a niche template: every account its own block (1/n). A ring on a
    shared proxy pool: one block (1.0)."""
    from accountgraph.scoring import add_team_blocks

    acc, sig, nev, cl, pairs, infra, ip = _teams(6, 1)  # six "teams" of one: template-only strangers
    feats = pd.DataFrame({"n_accounts": [6], "events_per_account_day": [3.0]})
    lone = add_team_blocks(feats, acc, sig, nev, cl, pairs, infra, ip, ScoringParams().team_gate, infra | ip)
    assert lone.loc[0, "infra_block_share"] == pytest.approx(1 / 6)
    assert np.isnan(lone.loc[0, "team_block_ip_top_share"])  # 3 a day: the team gate cannot apply
    acc, sig, nev, cl, pairs, infra, ip = _teams(6, 1, rotating=True)
    ring = add_team_blocks(feats, acc, sig, nev, cl, pairs, infra, ip, ScoringParams().team_gate, infra | ip)
    assert ring.loc[0, "infra_block_share"] == 1.0


def _features(n_acc: float, rate: float, blk: float, blk_ip: float) -> pd.DataFrame:
    m = load_model(None)
    row = {c: 0.5 for c in m.logistic.features}
    row.update(n_accounts=n_acc, n_events=int(n_acc * rate * 14), events_per_account_day=rate, ip_top_share=0.3,
               team_block_max=blk, team_block_ip_top_share=blk_ip)
    return pd.DataFrame([row])


@pytest.mark.parametrize(("blk", "blk_ip", "rate", "gated"), [
    (3, 1.0, 80.0, True),     # teams of 3, each on its host, at automation rates
    (5, 0.95, 60.0, True),
    (6, 1.0, 80.0, False),    # a block larger than a team
    (3, 0.5, 80.0, False),    # blocks rotating over many exits: not on one host
    (3, 1.0, 25.0, True),     # a quiet pipeline on its host (``team_host_rate`` 20)
    (3, 1.0, 5.0, False),     # at a human rate the team gate does not apply
    (np.nan, np.nan, 80.0, False),  # not examined: no gate
])
def test_team_gate_reads_the_blocks(blk, blk_ip, rate, gated):
    df = apply_model(_features(40, rate, blk, blk_ip), 100_000, ScoringParams(), load_model(None))
    assert (df.loc[0, "team_gate"] == 0) == gated
    if gated:
        assert df.loc[0, "ring_score"] == 0


def _automation_teams(n_teams: int, keys: int, days: int, per_day: int, seed: int) -> pd.DataFrame:
    """Teams of ``keys`` API keys, each team on its own datacenter host with its own card and
    device, all running one agent framework's prompt template round the clock."""
    rng = np.random.default_rng(seed)
    frames = []
    for t in range(n_teams):
        for k in range(keys):
            n = days * per_day
            frames.append(pd.DataFrame({
                "account_id": f"job{t}-{k}",
                "timestamp": T0 + pd.to_timedelta(rng.integers(0, days * 86_400, n), unit="s"),
                "ip": f"203.0.113.{10 + t}",
                "device_id": f"runner-{t}",
                "payment_id": f"corp-card-{t}",
                "output_tokens": rng.normal(600, 40, n).astype(np.int64),
                "prompt": [f"[agent-framework v2] run pipeline step {s} for workspace team{t}; return JSON status"
                           for s in rng.integers(0, 30, n)],
            }))
    return pd.concat(frames, ignore_index=True)


def test_automation_teams_sharing_a_framework_template_are_not_flagged_but_the_ring_is():
    days = 10
    ring = names("ring", 0, 24)
    parts = [ring_day(ring, d, cards=["cell-0", "cell-1"], ips=[f"198.51.100.{p}" for p in range(12)],
                      device="headless-1", seed=d) for d in range(days)]
    parts += [legit_day(200, d, seed=3) for d in range(days)]
    parts.append(_automation_teams(6, 3, days, 150, seed=5))
    ev = pd.concat(parts, ignore_index=True)
    res = accountgraph.detect(ev, seed=0)
    a = res.assignments.set_index("account_id")
    jobs = [f"job{t}-{k}" for t in range(6) for k in range(3)]
    cl = a.loc[jobs, "cluster_id"]
    assert cl.nunique() == 1 and cl.iloc[0] >= 0  # the template glues the teams into one cluster
    row = res.clusters.set_index("cluster_id").loc[cl.iloc[0]]
    assert row["team_block_max"] == 3 and row["team_block_ip_top_share"] == 1.0
    assert row["team_gate"] == 0 and row["ring_score"] == 0
    assert not a.loc[jobs, "flagged"].any()
    assert a.loc[ring, "flagged"].all()


@pytest.mark.parametrize(("share", "gate"), [(1 / 6, 0.0), (0.25, 0.0), (0.375, 0.5), (0.5, 1.0), (0.9, 1.0),
                                             (np.nan, 1.0)])
def test_infra_gate_ramps_on_the_largest_block_share(share, gate):
    df = _features(12, 5.0, np.nan, np.nan)
    df["infra_block_share"] = share
    out = apply_model(df, 100_000, ScoringParams(), load_model(None))
    assert out.loc[0, "infra_gate"] == pytest.approx(gate)
    assert out.loc[0, "ring_score"] <= gate + 1e-12


def test_strangers_sharing_only_a_niche_template_are_gated_but_an_input_without_infrastructure_is_not():
    """Six people who each work alone (own home IP, own card) but use one niche template: one
    cluster, every account its own block, gated. The ring's accounts share exits and cards: one block."""
    days = 10
    ring = names("ring", 0, 24)
    parts = [ring_day(ring, d, cards=["cell-0", "cell-1"], ips=[f"198.51.100.{p}" for p in range(12)],
                      device="headless-1", seed=d) for d in range(days)]
    parts += [legit_day(200, d, seed=3) for d in range(days)]
    rng = np.random.default_rng(9)
    for i in range(6):  # the niche template's users: round the clock, long outputs, like a script
        n = 20 * days
        parts.append(pd.DataFrame({
            "account_id": f"writer{i}", "timestamp": T0 + pd.to_timedelta(rng.integers(0, days * 86_400, n), unit="s"),
            "ip": f"192.0.2.{10 + i}", "device_id": f"laptop-{i}", "payment_id": f"own-card-{i}",
            "output_tokens": rng.normal(1500, 60, n).astype(np.int64),
            "prompt": [f"Rewrite chapter {c} of my novel in the style of the niche-prompt-pack v3, keep names {i}"
                       for c in rng.integers(0, 40, n)],
        }))
    ev = pd.concat(parts, ignore_index=True)
    res = accountgraph.detect(ev, seed=0)
    a = res.assignments.set_index("account_id")
    writers = [f"writer{i}" for i in range(6)]
    cl = a.loc[writers, "cluster_id"]
    assert cl.nunique() == 1 and cl.iloc[0] >= 0
    row = res.clusters.set_index("cluster_id").loc[cl.iloc[0]]
    assert row["infra_block_share"] == pytest.approx(1 / 6) and row["infra_gate"] == 0
    assert not a.loc[writers, "flagged"].any()
    ring_row = res.clusters.set_index("cluster_id").loc[a.loc[ring[0], "cluster_id"]]
    assert ring_row["infra_block_share"] == 1.0 and a.loc[ring, "flagged"].all()
    # the same events without addresses, devices or cards: no infrastructure to judge, no gate
    bare = accountgraph.detect(ev[["account_id", "timestamp", "output_tokens", "prompt"]], seed=0)
    assert bare.clusters["infra_block_share"].isna().all() and (bare.clusters["infra_gate"] == 1).all()
