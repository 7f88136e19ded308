"""The compiled infrastructure kernels against a plain per-key reference, in any event order."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from accountgraph.scoring._kernels import (exit_counts, first_of_pair, ip_concentration_by_account,
                                          ip_concentration_counts)


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


@settings(max_examples=200, deadline=None)
@given(_events(), st.sampled_from([0, -86_400 * 400 - 17, 1_700_000_000, 2**40]), st.data())
def test_concentration_read_in_place_equals_the_copied_events(ev, offset, data):
    """Clustered events read in place by account (seconds, some accounts in no cluster, before 1970
    too) give the counts of their copies with minutes and clusters per event."""
    acc, ip, minute, acc_cluster = ev
    acc_cluster = np.where(np.arange(12) % 4 == 3, -1, acc_cluster)  # a quarter of the accounts in no cluster
    jitter = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))).integers(0, 60, len(minute))
    ts = minute * 60 + offset + jitter  # seconds: events of one minute at different seconds
    if len(ts) > 1 and (np.diff(minute) >= 0).all():  # logs in time order stay in time order
        o = np.argsort(ts, kind="stable")
        acc, ip, ts = acc[o], ip[o], ts[o]
    m = acc_cluster[acc] >= 0
    want = ip_concentration_counts(acc_cluster[acc[m]], acc[m], ip[m], ts[m] // 60, 3)
    got = ip_concentration_by_account(acc_cluster, acc.astype(np.int32), ip.astype(np.int32), ts, 3)
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
    in_place = ip_concentration_by_account(np.arange(3_000) % 7, acc, ip, minute * 60, 7)
    assert all(np.array_equal(x, y) for x, y in zip((total, top3, synced), in_place))


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


@st.composite
def _incidences(draw):
    """Distinct (account, signal) incidences of a few accounts, clusters and signals, with event counts."""
    n_acc, n_sig = draw(st.integers(1, 14)), draw(st.integers(1, 9))
    cells = draw(st.lists(st.tuples(st.integers(0, n_acc - 1), st.integers(0, n_sig - 1)), max_size=80, unique=True))
    acc = np.array([a for a, _ in cells], np.int64)
    sig = np.array([s for _, s in cells], np.int64)
    n_ev = np.array(draw(st.lists(st.integers(1, 50), min_size=len(cells), max_size=len(cells))), np.int64)
    acc_cluster = np.array(draw(st.lists(st.integers(-1, 2), min_size=n_acc, max_size=n_acc)), np.int64)
    infra = np.array(draw(st.lists(st.booleans(), min_size=n_sig, max_size=n_sig)))
    ip = np.array(draw(st.lists(st.booleans(), min_size=n_sig, max_size=n_sig)))
    if draw(st.booleans()):  # by signal, as the pipeline's SignalTable holds them
        order = np.argsort(sig, kind="stable")
        acc, sig, n_ev = acc[order], sig[order], n_ev[order]
    return acc, sig, n_ev, acc_cluster, infra, ip


@settings(max_examples=300, deadline=None)
@given(_incidences(), st.sampled_from([None, [0], [1, 2]]))
def test_team_blocks_compiled_address_shares_equal_the_sorted_formulation(inc, ip_clusters):
    """The one-pass (block, signal) sums give the sort-based shares exactly (incidences in signal order; in
    any other order the kernel declines and the sort path runs); float weights take the sort path."""
    from unittest import mock

    from accountgraph.scoring import _kernels, _teams
    from accountgraph.signals import cluster_pairs

    acc, sig, n_ev, acc_cluster, infra, ip = inc
    pairs = cluster_pairs(acc, sig, acc_cluster, len(infra))
    want_ip = None if ip_clusters is None else np.array(ip_clusters, np.int64)
    ran = []
    real = _kernels.block_top3_share
    with mock.patch.object(_kernels, "block_top3_share", lambda *a: ran.append(real(*a)) or ran[-1]):
        got = _teams.team_blocks(acc, sig, n_ev, acc_cluster, pairs, infra, ip, 3, want_ip)
    if ran and (np.diff(sig) >= 0).all():
        assert ran[0] is not None  # in signal order: the compiled pass ran
    ref = _teams.team_blocks(acc, sig, n_ev.astype(np.float64), acc_cluster, pairs, infra, ip, 3, want_ip)
    for k in got:
        np.testing.assert_array_equal(got[k], ref[k])


def test_block_top3_share_declines_incidences_out_of_signal_order():
    from accountgraph.scoring._kernels import block_top3_share

    z = np.zeros(3, np.int64)
    assert block_top3_share(np.ones(3, bool), np.arange(3), np.array([0, 1, 0]), z, z[:1], z[:1], np.ones(3, np.int64),
                            1) is None
    # rows 0-5 by signal [0, 0, 1, 2, 2, 3], accounts 0-5 in blocks [0, 0, 1, 1, 1, 1]; row 1 not kept
    got = block_top3_share(np.array([True, False, True, True, True, True]), np.arange(6), np.array([0, 0, 1, 2, 2, 3]),
                           np.arange(6), np.arange(6), np.array([0, 0, 1, 1, 1, 1]), np.array([5, 9, 1, 2, 3, 1]), 3)
    # block 0: one group (5); block 1: groups 1, 2 + 3 and 1: top three 5 + 1 + 1 of 7; block 2: no rows
    np.testing.assert_array_equal(got, [1.0, 1.0, np.nan])


@settings(max_examples=150, deadline=None)
@given(_events())
def test_exit_counts_table_grows_and_empties_daily(ev):
    """The day's table grown from two rows (doubling, its list of used rows rebuilt) and emptied
    at each new day gives the distinct (day, IP) pairs per account."""
    from accountgraph.scoring._kernels import _exits

    acc, ip, minute, _ = ev
    order = np.argsort(minute, kind="stable")
    acc, ip, day = acc[order], ip[order], minute[order] // 7
    want = np.zeros(12, np.int64)
    for a, _d, _i in set(zip(acc.tolist(), day.tolist(), ip.tolist())):
        want[a] += 1
    assert _exits(acc, day, ip, 12, 7, 2).tolist() == want.tolist()


@settings(max_examples=150, deadline=None)
@given(_events(), st.integers(-3, 3))
def test_account_activity_one_pass_equals_the_hashing_formulation(ev, day_shift):
    """Events in day order (one compiled pass) and shuffled (hash set) give the same activity."""
    from accountgraph.scoring._features import account_activity

    acc, _, minute, _ = ev
    ts = minute * 20_000 + day_shift * 86_400  # ~4 events a day, some days before 1970
    order = np.argsort(ts, kind="stable")
    got = account_activity(acc[order], ts[order], 12)
    perm = np.random.default_rng(len(acc)).permutation(len(acc))
    again = account_activity(acc[perm], ts[perm], 12)
    for key in ("events", "active_days", "first_day", "last_day", "day0", "n_days", "span_days"):
        np.testing.assert_array_equal(got[key], again[key])
    days = ts // 86_400
    for a in range(12):
        mine = days[acc == a]
        assert got["events"][a] == len(mine) and got["active_days"][a] == len(set(mine.tolist()))
        if len(mine):
            assert got["first_day"][a] == mine.min() - got["day0"] and got["last_day"][a] == mine.max() - got["day0"]


@settings(max_examples=100, deadline=None)
@given(_events(), st.integers(-10**6, 10**6))
def test_account_histograms_count_each_account_hour_and_weekday(ev, shift):
    from accountgraph.scoring._activity_kernels import account_histograms

    acc, _, minute, _ = ev
    ts = minute * 3_517 + shift * 60
    hours, days = account_histograms(acc, ts, 12)
    want_h = np.bincount(acc * 24 + (ts // 3600) % 24, minlength=12 * 24).reshape(12, 24)
    want_d = np.bincount(acc * 7 + (ts // 86_400 + 3) % 7, minlength=12 * 7).reshape(12, 7)
    np.testing.assert_array_equal(hours, want_h)
    np.testing.assert_array_equal(days, want_d)
