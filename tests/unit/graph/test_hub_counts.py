"""Coordinated-hub co-holding counts (graph._hubs._cross_counts, _union_counts) against the plain expansion."""

from __future__ import annotations

import numpy as np
import pytest

from accountgraph.graph._hubs import _by_account, _cross_counts, _union_counts


def _expanded(acc, sig, s_acc, s_sig, group, n_sig):
    """Every sampled account expanded into all its hubs, cross-group pairs counted (memory ~ the expansion)."""
    by_acc = np.argsort(acc, kind="stable")
    a_sorted, h_sorted = acc[by_acc], sig[by_acc]
    lo = np.searchsorted(a_sorted, s_acc, side="left")
    hi = np.searchsorted(a_sorted, s_acc, side="right")
    cnt = hi - lo
    rep = np.repeat(np.arange(len(s_acc)), cnt)
    pos = lo[rep] + (np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    src, other = s_sig[rep], h_sorted[pos]
    cross = group[src] != group[other]
    key, c = np.unique(src[cross] * n_sig + other[cross], return_counts=True)
    return key // n_sig, key % n_sig, c


def _world(seed):
    rng = np.random.default_rng(seed)
    n_acc, n_sig = int(rng.integers(2, 300)), int(rng.integers(2, 50))
    pairs = {(int(a), int(s)) for a, s in zip(rng.integers(0, n_acc, 2000), rng.integers(0, n_sig, 2000))}
    inc = np.array(sorted(pairs, key=lambda x: (x[1], x[0])), np.int64)
    acc, sig = inc[:, 0], inc[:, 1]
    keep = rng.random(len(acc)) < 0.3  # the sampled incidences, sorted by hub
    s_acc, s_sig = acc[keep], sig[keep]
    group = rng.integers(0, 3, n_sig)
    return rng, acc, sig, s_acc, s_sig, group, n_sig, _by_account(acc, sig, group, int(acc.max()) + 1)


@pytest.mark.parametrize("seed", range(25))
def test_cross_counts_equal_the_expansion(seed):
    rng, acc, sig, s_acc, s_sig, group, n_sig, csr = _world(seed)
    got = _cross_counts(csr, s_acc, s_sig, group, n_sig)
    ref = _expanded(acc, sig, s_acc, s_sig, group, n_sig)
    for g, r in zip(got, ref):
        np.testing.assert_array_equal(g, r)
    if len(s_acc) > 50:
        assert len(got[0]) > 0  # not vacuous


@pytest.mark.parametrize("seed", range(25))
def test_union_counts_equal_the_expansion(seed):
    """Per hub and other group: the sampled accounts holding at least one of the hub's associated hubs."""
    rng, acc, sig, s_acc, s_sig, group, n_sig, csr = _world(seed)
    a, b, _ = _cross_counts(csr, s_acc, s_sig, group, n_sig)
    keep = rng.random(len(a)) < 0.5  # some (hub, companion) pairs are associated
    a, b = a[keep], b[keep]
    got = _union_counts(csr, s_acc, s_sig, group, n_sig, a, b)
    assoc = set(zip(a.tolist(), b.tolist()))
    holds: dict[int, set[int]] = {}
    for x, h in zip(acc.tolist(), sig.tolist()):
        holds.setdefault(x, set()).add(h)
    ref: dict[tuple[int, int], int] = {}
    for x, h in zip(s_acc.tolist(), s_sig.tolist()):
        for g in {int(group[o]) for o in holds[x] if (h, o) in assoc and group[o] != group[h]}:
            ref[(h, g)] = ref.get((h, g), 0) + 1
    keys = sorted(ref)
    np.testing.assert_array_equal(got[0], [k[0] for k in keys])
    np.testing.assert_array_equal(got[1], [k[1] for k in keys])
    np.testing.assert_array_equal(got[2], [ref[k] for k in keys])
    if len(a) > 20:
        assert len(keys) > 0  # not vacuous


@pytest.mark.parametrize("seed", range(10))
def test_by_account_is_the_lexsort_layout(seed):
    """The counting sort's layout equals the one ``np.lexsort((group[sig], acc))`` gives."""
    _, acc, sig, _, _, group, _, csr = _world(seed)
    o = np.lexsort((group[sig], acc))
    np.testing.assert_array_equal(csr.hub, sig[o])
    np.testing.assert_array_equal(csr.grp, group[sig[o]])
    np.testing.assert_array_equal(csr.start, np.r_[0, np.cumsum(np.bincount(acc, minlength=int(acc.max()) + 1))])
    key = acc[o] * (int(group.max()) + 1) + group[sig[o]]
    np.testing.assert_array_equal(csr.block_end, np.searchsorted(key, key, side="right"))


@pytest.mark.parametrize("seed", range(10))
def test_counts_in_two_halves_equal_one_pass(seed, monkeypatch):
    """Hubs counted in two halves on two threads (from ``_HALVES_MIN_ROWS`` sampled rows) = one pass."""
    from accountgraph.graph import _hubs

    rng, acc, sig, s_acc, s_sig, group, n_sig, csr = _world(seed)
    one = _cross_counts(csr, s_acc, s_sig, group, n_sig)
    keep = rng.random(len(one[0])) < 0.5
    one_u = _union_counts(csr, s_acc, s_sig, group, n_sig, one[0][keep], one[1][keep])
    monkeypatch.setattr(_hubs, "_HALVES_MIN_ROWS", 2)
    assert 0 < np.searchsorted(s_sig, s_sig[len(s_sig) // 2]) < len(s_sig) or len(np.unique(s_sig)) < 2
    two = _cross_counts(csr, s_acc, s_sig, group, n_sig)
    two_u = _union_counts(csr, s_acc, s_sig, group, n_sig, one[0][keep], one[1][keep])
    for g, r in zip(two + two_u, one + one_u):
        assert g.dtype == r.dtype
        np.testing.assert_array_equal(g, r)
