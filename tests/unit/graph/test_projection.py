"""Graph building (graph/_projection.py): rarity weights, hubs, the pair budget, circulants, family focus."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from accountgraph.graph._projection import HUB, LINKED, OVER_BUDGET, SAMPLED, build_graph, circulant_pairs, rarity_weight
from accountgraph.signals._extract import SignalTable


def _table(pairs, types=None, type_names=("payment",)):
    pairs = sorted(pairs, key=lambda p: (p[1], p[0]))
    acc = np.array([p[0] for p in pairs], np.int64)
    sig = np.array([p[1] for p in pairs], np.int64)
    n_sig = int(sig.max()) + 1
    st = np.zeros(n_sig, np.int16) if types is None else np.asarray(types, np.int16)
    return SignalTable(acc, sig, np.ones(len(acc), np.int64), st,
                       pa.array([f"s{i}" for i in range(n_sig)], pa.large_string()), list(type_names))


def test_rarity_weight_monotone_and_bounded():
    d = np.arange(0, 600)
    w = rarity_weight(d, 500)
    assert w[2] == 1.0 and w[0] == w[1] == 0.0 and w[501:].max() == 0.0
    assert np.all(np.diff(w[2:501]) <= 0) and w.min() >= 0


def test_shared_card_links_and_hub_does_not():
    # accounts 0,1 share card 0; everyone (0..99) shares signal 1 (a hub)
    pairs = [(0, 0), (1, 0)] + [(a, 1) for a in range(100)]
    g = build_graph(_table(pairs), 100, max_signal_degree=50)
    assert g.status[0] == LINKED and g.status[1] == HUB
    assert list(zip(g.src.tolist(), g.dst.tolist())) == [(0, 1)]


def test_weak_single_ip_does_not_link():
    # one shared IP among 30 accounts: weight well below min_link
    pairs = [(a, 0) for a in range(30)]
    g = build_graph(_table(pairs, type_names=("ip",)), 1000, max_signal_degree=500)
    assert g.n_edges == 0 and g.n_pairs == 30 * 29 // 2


def _ip_device_table(n_shared_ips):
    """Accounts 0 and 1 share ``n_shared_ips`` IPs and one device, each signal shared by 40 accounts."""
    pairs = [(a, s) for s in range(n_shared_ips) for a in ([0, 1] + list(range(2 + 38 * s, 2 + 38 * (s + 1))))]
    pairs += [(a, n_shared_ips) for a in [0, 1] + list(range(3900, 3938))]
    return _table(pairs, types=[0] * n_shared_ips + [1], type_names=("ip", "device"))


def test_ips_alone_never_link():
    pairs = [(a, s) for s in range(10) for a in ([0, 1] + list(range(2 + 38 * s, 2 + 38 * (s + 1))))]
    g = build_graph(_table(pairs, types=[0] * 10, type_names=("ip",)), 4000)
    assert g.n_pairs > 0 and g.n_edges == 0


def test_noisy_or_accumulates_and_types_corroborate():
    linked = build_graph(_ip_device_table(10), 4000)
    assert (0, 1) in set(zip(linked.src.tolist(), linked.dst.tolist()))
    weak = build_graph(_ip_device_table(1), 4000)  # one IP + one device, both mid-rarity: not enough
    assert (0, 1) not in set(zip(weak.src.tolist(), weak.dst.tolist()))


def test_ip_and_its_network_are_not_double_counted():
    # 0 and 1 share one IP and its /24 (same degree) and a weak device: the
    # network group counts once, so no link.
    pairs = [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (1, 2)] + [(a, 2) for a in range(10, 40)]
    t = _table(pairs, types=[0, 1, 2], type_names=("ip", "ip_net", "device"))
    g = build_graph(t, 4000, type_weights={"ip": 0.3, "ip_net": 0.3, "device": 0.1})
    assert g.n_edges == 0
    g2 = build_graph(t, 4000, type_weights={"ip": 0.3, "ip_net": 0.3, "device": 0.1, "x:*": 0.5}, min_link=0.3)
    assert g2.n_edges == 1


def test_pair_budget_bounds_projection():
    # signal degrees 3 (3 pairs), 10 (45 pairs), 20 (190 pairs)
    pairs = [(a, 0) for a in range(3)] + [(a, 1) for a in range(10, 20)] + [(a, 2) for a in range(30, 50)]
    g = build_graph(_table(pairs), 1000, max_pairs=50)
    # the degree-20 signal does not fit as a clique: it is sampled, k = 50 // 20 = 2 neighbours a side
    assert g.status.tolist() == [LINKED, LINKED, SAMPLED]
    assert g.n_pairs == 3 + 45 + 20 * 2 and g.cap == 500
    # the rarity weight is that of the hub cap, not lowered by the budget
    assert g.weight[2] == pytest.approx(rarity_weight(np.array([20]), 500)[0])
    off = build_graph(_table(pairs), 1000, max_pairs=50, sample_neighbours=0)
    assert off.status.tolist() == [LINKED, LINKED, OVER_BUDGET] and off.n_pairs == 48
    # when one neighbour a side does not fit for all, the commonest signals are left out
    tight = build_graph(_table(pairs), 1000, max_pairs=19)
    assert tight.status.tolist() == [LINKED, SAMPLED, OVER_BUDGET]


def test_sampled_projection_keeps_a_ring_tied_by_many_exits():
    # 40 ring accounts behind 60 proxy exits, each exit used by 25 of them; plus one
    # shared template family each (type 1) so links have two kinds of evidence.
    rng = np.random.default_rng(0)
    pairs = []
    for s in range(60):
        for a in rng.choice(40, 25, replace=False):
            pairs.append((int(a), s))
    pairs += [(a, 60) for a in range(40)]
    t = _table(pairs, types=[0] * 60 + [1], type_names=("ip", "device"))
    full = build_graph(t, 1000)
    sampled = build_graph(t, 1000, max_pairs=10_000)
    assert (sampled.status[:60] == SAMPLED).all() and (full.status[:60] == LINKED).all()
    assert sampled.n_pairs < full.n_pairs
    # every sampled edge is an edge of the full projection
    full_e = set(zip(full.src.tolist(), full.dst.tolist()))
    assert set(zip(sampled.src.tolist(), sampled.dst.tolist())) <= full_e
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    adj = coo_matrix((sampled.link, (sampled.src, sampled.dst)), shape=(1000, 1000))
    _, lab = connected_components(adj, directed=False)
    assert len(set(lab[:40].tolist())) == 1


def test_circulant_pairs_layout():
    acc = np.arange(7, dtype=np.int64)
    u, v, s = circulant_pairs(acc, np.zeros(7, np.int64), np.array([2]), acc, seed=3)
    assert len(u) == 14 and (u != v).all()
    assert len({(min(a, b), max(a, b)) for a, b in zip(u.tolist(), v.tolist())}) == 14  # no duplicates
    assert np.bincount(np.r_[u, v], minlength=7).tolist() == [4] * 7  # 2k neighbours each
    # independent of the incidence order
    perm = np.random.default_rng(1).permutation(7)
    u2, v2, _ = circulant_pairs(acc[perm], np.zeros(7, np.int64), np.array([2]), acc, seed=3)
    norm = lambda a, b: sorted((min(x, y), max(x, y)) for x, y in zip(a.tolist(), b.tolist()))  # noqa: E731
    assert norm(u, v) == norm(u2, v2)


def test_edges_sorted_and_upper():
    pairs = [(a, 0) for a in (5, 2, 9)]
    g = build_graph(_table(pairs), 10)
    assert np.all(g.src < g.dst)
    assert list(zip(g.src, g.dst)) == sorted(zip(g.src, g.dst))


def test_substantial_families_and_focus():
    from accountgraph.graph._projection import substantial_families

    # account 0: 8 prompts of family 0, 2 of family 1; account 1: 10 of family 0;
    # account 2: 1 of family 0, 9 of family 2
    acc = np.array([0] * 10 + [1] * 10 + [2] * 10)
    fam = np.array([0] * 8 + [1] * 2 + [0] * 10 + [0] + [2] * 9)
    sub, focus = substantial_families(acc, fam, 3, top=2, min_share=0.15)
    assert sub.tolist() == [[0, 1], [0, -1], [2, -1]]
    assert focus.tolist() == pytest.approx([2 / 3, 1.0, 1.0])


def test_template_corroboration_only_on_existing_pairs():
    # 0 and 1 share one proxy exit with two others (not enough alone); 2 shares nothing
    pairs = [(0, 0), (1, 0), (10, 0), (11, 0)]
    t = _table(pairs, type_names=("ip",))
    sub = np.full((4000, 1), -1, np.int64)
    sub[[0, 1, 2], 0] = 7
    focus = np.zeros(8)
    focus[7] = 1.0
    plain = build_graph(t, 4000)
    corr = build_graph(t, 4000, substantial=sub, focus=focus, corroboration=0.25)
    assert (0, 1) not in set(zip(plain.src.tolist(), plain.dst.tolist()))
    got = set(zip(corr.src.tolist(), corr.dst.tolist()))
    assert (0, 1) in got and all(2 not in p for p in got)


def test_circulant_pairs_are_the_rounds_in_order():
    """Round j lists, in member order, each member of a signal with k >= j and its j-th successor.

    The oracle walks the rounds one by one (as the first version concatenated them); several
    signals of different sizes and budgets, one with k = 0, members not sorted by signal.
    """
    rng = np.random.default_rng(5)
    sizes, ks = [6, 9, 3, 5], np.array([2, 3, 0, 1])
    sig = np.repeat(np.arange(4), sizes)
    acc = rng.permutation(40)[: len(sig)].astype(np.int64)
    node_key = rng.permutation(40).astype(np.int64)
    perm = rng.permutation(len(sig))
    u, v, s = circulant_pairs(acc[perm], sig[perm], ks, node_key, seed=11)
    # the member order circulant_pairs draws: recover it from round 1 of each signal
    expect_u, expect_v, expect_s = [], [], []
    order = {}
    for j in range(1, int(ks.max()) + 1):
        for t in range(4):
            if ks[t] < j:
                continue
            if t not in order:  # round 1 gives each member's successor: follow it from the first member
                pairs = dict(zip(u[(s == t)][: sizes[t]].tolist(), v[(s == t)][: sizes[t]].tolist()))
                first = u[s == t][0]
                ring = [first]
                while len(ring) < sizes[t]:
                    ring.append(pairs[ring[-1]])
                order[t] = ring
            ring = order[t]
            expect_u.append(ring)
            expect_v.append([ring[(i + j) % sizes[t]] for i in range(sizes[t])])
            expect_s.append([t] * sizes[t])
    # rounds come one after the other, each over every signal in signal order
    assert u.tolist() == [x for r in expect_u for x in r]
    assert v.tolist() == [x for r in expect_v for x in r]
    assert s.tolist() == [x for r in expect_s for x in r]
    assert len(u) == int(np.sum(np.array(sizes) * ks)) and u.dtype == v.dtype == np.int64


def test_types_projected_on_threads_equal_one_thread(monkeypatch):
    """The per-type projections run on a pool of two threads; one thread gives the same graph, bit for bit."""
    import accountgraph.graph._projection as proj

    rng = np.random.default_rng(8)
    n_sig = 300
    types = rng.integers(0, 3, n_sig)
    pairs = {(int(a), int(s)) for a, s in zip(rng.integers(0, 400, 3_000), rng.integers(0, n_sig, 3_000) ** 2 // n_sig)}
    sig = _table(pairs, types, ("device", "ip", "payment"))
    assert len(set(types[sig.signal].tolist())) == 3
    two = build_graph(sig, 400, max_pairs=2_000)
    assert (two.status == SAMPLED).any() and (two.status == LINKED).any() and two.n_edges > 0  # not vacuous
    monkeypatch.setattr(proj, "n_workers", lambda n_jobs: 1)
    one = build_graph(sig, 400, max_pairs=2_000)
    for a, b in ((one.src, two.src), (one.dst, two.dst), (one.link, two.link), (one.status, two.status)):
        np.testing.assert_array_equal(a, b)
    assert one.n_pairs == two.n_pairs


@pytest.mark.parametrize("chunk", [1, 3, 17, 1 << 22])
def test_pair_balance_by_runs_of_rows_equals_the_whole_matrix_at_once(monkeypatch, chunk):
    """_balance scales the pairs run by run of rows (bounded temporaries); the result is the
    formula applied to every pair at once, bit for bit, empty rows and rows longer than a run included."""
    import scipy.sparse as sp

    from accountgraph.graph import _projection

    rng = np.random.default_rng(chunk)
    monkeypatch.setattr(_projection, "_BALANCE_CHUNK", chunk)
    for _ in range(20):
        n, nnz = int(rng.integers(1, 40)), int(rng.integers(0, 300))
        m = sp.coo_matrix((rng.random(nnz), (rng.integers(0, n // 2 + 1, nnz), rng.integers(0, n, nnz))),
                          shape=(n, n)).tocsr()
        counts = rng.integers(0, 12, n)
        got = m.copy()
        _projection._balance(got, counts, 2.0)
        rows = np.repeat(np.arange(n), np.diff(m.indptr))
        want = m.data * _projection.pair_balance(counts[rows], counts[m.indices], 2.0)
        assert np.array_equal(got.data, want)
