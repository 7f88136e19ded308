"""Coordinated hubs: a ring behind hub-sized exits is linked; strangers behind popular hubs are not."""

from __future__ import annotations

import numpy as np

from accountgraph.graph import LINKED, SAMPLED, GraphParams, build_graph
from accountgraph.graph._hubs import coordinated_hubs
from accountgraph.signals import SignalTable
import pyarrow as pa


def _table(pairs: list[tuple[int, int]], types: list[int], names: list[str]) -> SignalTable:
    acc = np.array([a for a, _ in pairs], np.int64)
    sig = np.array([s for _, s in pairs], np.int64)
    o = np.lexsort((acc, sig))
    return SignalTable(acc[o], sig[o], np.ones(len(o), np.int64), np.array(types, np.int16),
                       pa.array([str(i) for i in range(len(types))], pa.large_string()), names)


def _world(rng, n=20_000, stack=3):
    """``n`` accounts: a 600-account ring using 40 exits (each held by ~180 > cap) and a
    ``stack``-fingerprint stack (ids 40..42); everybody else behind 6 NAT exits and 20 popular
    fingerprints at random."""
    ring = np.arange(600)
    pairs = []
    for a in ring:
        for e in rng.choice(40, 12, replace=False):
            pairs.append((int(a), int(e)))            # ring exits 0..39 (type ip)
        pairs.append((int(a), 40 + int(rng.integers(0, stack))))  # ring stack 40..42 (type device)
    for a in range(600, n):
        pairs.append((a, 43 + int(rng.integers(0, 6))))   # NAT exits 43..48 (ip)
        pairs.append((a, 49 + int(rng.integers(0, 20))))  # popular fingerprints 49..68 (device)
    types = [0] * 40 + [1] * 3 + [0] * 6 + [1] * 20
    return n, ring, _table(sorted(set(pairs)), types, ["ip", "device"])


def test_ring_hubs_are_coordinated_and_public_hubs_are_not():
    n, ring, sig = _world(np.random.default_rng(0))
    degree = np.bincount(sig.signal)
    hub = degree > 100
    got = coordinated_hubs(sig.account, sig.signal, sig.signal_type.astype(np.int64), hub, degree, n, np.arange(n))
    assert got[:43].all()          # the ring's exits and its stack
    assert not got[43:].any()      # NAT exits and popular fingerprints: strangers


def test_coordinated_hubs_link_the_ring_and_nothing_else():
    n, ring, sig = _world(np.random.default_rng(1))
    p = GraphParams(max_signal_degree=100, type_weights={"ip": 0.45, "device": 0.45})
    with_ = build_graph(sig, n, p)
    without = build_graph(sig, n, p.replace(coordinated_weight=0.0))
    assert without.n_edges == 0
    linked = np.unique(np.r_[with_.src, with_.dst])
    assert set(linked.tolist()) <= set(ring.tolist())
    assert len(linked) > 0.9 * len(ring)


def test_a_ring_holding_a_large_share_of_all_accounts_is_still_coordinated():
    """600 of 7,500 accounts (8 %) behind one fingerprint: a companion held by 8 % of all accounts
    can show a lift of 12.5 at most, so the old ``min_lift = 20`` could never see it (seed 6030 of
    evaluation-5: 896 accounts of a 3,330-account ring left in no cluster)."""
    n, ring, sig = _world(np.random.default_rng(2), n=7_500, stack=1)
    degree = np.bincount(sig.signal)
    hub = degree > 100
    p = GraphParams()
    got = coordinated_hubs(sig.account, sig.signal, sig.signal_type.astype(np.int64), hub, degree, n, np.arange(n),
                           min_lift=p.coordinated_min_lift)
    assert got[:41].all() and not got[41:43].any()   # the ring's exits and its one fingerprint (ids 41, 42 unused)
    assert not got[43:].any()                          # NAT exits and popular fingerprints: strangers
    old = coordinated_hubs(sig.account, sig.signal, sig.signal_type.astype(np.int64), hub, degree, n, np.arange(n),
                           min_lift=20.0)
    assert not old[:40].any()


def test_a_ring_under_the_hub_cap_is_coordinated_like_one_over_it():
    """The same ring with the cap above its exits' degree: each exit is projected, but weighs next to
    nothing (held by ~180 accounts under a cap of 200), and the companions the hub test looks for are
    not hubs. ``coordinate_weak`` (off by default) tests the weak signals too (evaluation-6 seed
    7029 capped: 317 of a 478-account ring in no cluster)."""
    n, ring, sig = _world(np.random.default_rng(3))
    p = GraphParams(max_signal_degree=250, max_cosharers=float("inf"), type_weights={"ip": 0.45, "device": 0.45},
                    coordinate_weak=True)
    off = build_graph(sig, n, p.replace(coordinate_weak=False))
    assert (off.status[:43] == LINKED).all() and (off.weight[:43] < 0.1).all()
    assert off.n_edges == 0
    on = build_graph(sig, n, p)
    assert (on.status[:43] == SAMPLED).all() and not (on.status[43:] == SAMPLED).any()
    linked = np.unique(np.r_[on.src, on.dst])
    assert set(linked.tolist()) <= set(ring.tolist())
    assert len(linked) > 0.9 * len(ring)
