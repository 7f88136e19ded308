"""The compiled infrastructure kernels against a plain per-key reference, in any event order."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from accountgraph.scoring._kernels import exit_counts, first_of_pair, ip_concentration_counts


@st.composite
def _events(draw):
    """Few accounts, clusters, IPs and minutes, so that keys repeat and buckets are shared."""
    n = draw(st.integers(0, 300))
    ints = lambda lo, hi: np.array(draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n)), np.int64)  # noqa: E731
    acc, ip, minute = ints(0, 11), ints(0, 6), ints(0, 40)
    acc_cluster = np.array(draw(st.lists(st.integers(0, 2), min_size=12, max_size=12)), np.int64)
    if draw(st.booleans()):  # logs in time order: the one-pass path
        order = np.argsort(minute, kind="stable")
        acc, ip, minute = acc[order], ip[order], minute[order]
    return acc, ip, minute, acc_cluster


@settings(max_examples=200, deadline=None)
@given(_events())
def test_exit_counts_are_distinct_day_ip_pairs_per_account(ev):
    acc, ip, minute, _ = ev
    day = minute // 7  # several events per day
    want = np.zeros(12, np.int64)
    for a, d, i in set(zip(acc.tolist(), day.tolist(), ip.tolist())):
        want[a] += 1
    assert exit_counts(acc, day, ip, 12).tolist() == want.tolist()


@settings(max_examples=200, deadline=None)
@given(_events())
def test_ip_concentration_counts_match_the_per_bucket_reference(ev):
    acc, ip, minute, acc_cluster = ev
    cl = acc_cluster[acc]
    total, top3, synced = ip_concentration_counts(cl, acc, ip, minute, 3)
    per_ip: dict[int, Counter] = defaultdict(Counter)
    users: dict[tuple[int, int, int], set] = defaultdict(set)
    for c, a, i, m in zip(cl.tolist(), acc.tolist(), ip.tolist(), minute.tolist()):
        per_ip[c][i] += 1
        users[(c, i, m)].add(a)
    want_sync = Counter()
    for c, i, m in zip(cl.tolist(), ip.tolist(), minute.tolist()):
        want_sync[c] += len(users[(c, i, m)]) >= 2
    assert total.tolist() == [sum(per_ip[c].values()) for c in range(3)]
    assert top3.tolist() == [sum(sorted(per_ip[c].values(), reverse=True)[:3]) for c in range(3)]
    assert synced.tolist() == [want_sync[c] for c in range(3)]


@settings(max_examples=100, deadline=None)
@given(_events(), st.sampled_from([0, 29_000_000, -7_000, 2**40]), st.sampled_from([1, 60, 2**33]))
def test_ip_concentration_counts_do_not_depend_on_where_the_minutes_lie(ev, offset, spread):
    """Minutes far from zero, negative, or spanning more than 2**31 (packed relative, or ranked) count alike."""
    acc, ip, minute, acc_cluster = ev
    cl = acc_cluster[acc]
    want = ip_concentration_counts(cl, acc, ip, minute, 3)
    got = ip_concentration_counts(cl, acc.astype(np.int32), ip.astype(np.int32), minute * spread + offset, 3)
    assert all(np.array_equal(x, y) for x, y in zip(want, got))


def test_kernels_grow_their_tables_past_the_initial_capacity():
    """More distinct pairs than the first table holds (4,096 slots): growth keeps every key."""
    rng = np.random.default_rng(0)
    n = 50_000
    acc = rng.integers(0, 3_000, n)
    ip = rng.integers(0, 2_000, n)
    minute = np.sort(rng.integers(0, 5_000, n))
    day = minute // 1_440
    keys = np.unique((acc * 10 + day) * 2_000 + ip)
    assert exit_counts(acc, day, ip, 3_000).sum() == len(keys)
    cl = acc % 7
    total, top3, synced = ip_concentration_counts(cl, acc, ip, minute, 7)
    assert total.sum() == n and (top3 <= total).all() and (synced <= total).all()
    shuffled = rng.permutation(n)
    again = ip_concentration_counts(cl[shuffled], acc[shuffled], ip[shuffled], minute[shuffled], 7)
    assert all(np.array_equal(x, y) for x, y in zip((total, top3, synced), again))


@settings(max_examples=200, deadline=None)
@given(_events())
def test_first_of_pair_marks_exactly_one_event_per_distinct_pair(ev):
    acc, ip, _, _ = ev
    first = first_of_pair(acc, ip)
    seen = set()
    want = []
    for a, i in zip(acc.tolist(), ip.tolist()):
        want.append((a, i) not in seen)
        seen.add((a, i))
    assert first.tolist() == want


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 15), st.integers(0, 9)), unique=True, max_size=80),
       st.lists(st.integers(-1, 3), min_size=16, max_size=16))
def test_cluster_pairs_sorted_fast_path_equals_the_unique_path(inc, acc_cluster):
    """Incidences sorted by signal (the counting-sort path) and shuffled (np.unique) group alike."""
    from accountgraph.signals import cluster_pairs

    inc = sorted(inc, key=lambda t: (t[1], t[0]))
    acc = np.array([a for a, _ in inc], np.int64)
    sig = np.array([s for _, s in inc], np.int64)
    accl = np.array(acc_cluster, np.int64)
    fast = cluster_pairs(acc, sig, accl, 10)
    perm = np.random.default_rng(len(inc)).permutation(len(inc))
    slow = cluster_pairs(acc[perm], sig[perm], accl, 10)
    for f in ("cluster", "signal", "count"):
        assert getattr(fast, f).tolist() == getattr(slow, f).tolist()
    # each clustered incidence maps to the pair of its own (cluster, signal), in either order
    for p, (rows, pair) in ((fast, (fast.rows, fast.pair)), (slow, (slow.rows, slow.pair))):
        a_, s_ = (acc, sig) if p is fast else (acc[perm], sig[perm])
        assert (p.cluster[pair] == accl[a_[rows]]).all() and (p.signal[pair] == s_[rows]).all()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 15), st.integers(0, 9)), unique=True, max_size=80),
       st.lists(st.integers(-1, 3), min_size=16, max_size=16), st.booleans())
def test_cluster_pairs_are_nps_unique_of_the_combined_key(inc, acc_cluster, by_signal):
    """Pairs, counts and each incidence's pair as ``np.unique(cluster * n + signal)`` gives them."""
    from accountgraph.signals import cluster_pairs

    inc = sorted(inc, key=(lambda t: (t[1], t[0])) if by_signal else (lambda t: t))
    acc = np.array([a for a, _ in inc], np.int64)
    sig = np.array([s for _, s in inc], np.int64)
    accl = np.array(acc_cluster, np.int64)
    got = cluster_pairs(acc, sig, accl, 10)
    rows = np.flatnonzero(accl[acc] >= 0) if len(acc) else np.zeros(0, np.int64)
    u, inv, cnt = np.unique(accl[acc[rows]] * 10 + sig[rows], return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(got.rows, rows)
    np.testing.assert_array_equal(got.pair, inv.reshape(-1))
    np.testing.assert_array_equal(got.cluster, u // 10)
    np.testing.assert_array_equal(got.signal, u % 10)
    np.testing.assert_array_equal(got.count, cnt)
