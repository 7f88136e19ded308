"""One attachment round against its direct NumPy formulation (the oracle).

:func:`accountgraph.communities._communities._attach_round` counts (signal, community) keys
through a hash factorisation, derives a signal's member incidences from its keys' counts and
finds loners' candidate communities by gathers; the oracle below is the formulation it replaced
(``np.unique(..., return_inverse=True)``, ``np.bincount`` per signal, binary searches).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from accountgraph._grouping import group_quantile
from accountgraph._unique import lexsort
from accountgraph.communities._communities import _attach_round
from accountgraph.graph._projection import AccountGraph


def _oracle_round(
    membership: np.ndarray, a: np.ndarray, s: np.ndarray, graph: AccountGraph, *, min_signals: int,
    min_share: float, min_size: int, min_concentration: float, min_presence: float, min_strength: float,
) -> tuple[np.ndarray, int]:
    """One round of :func:`attach_by_shared_signals` on the usable incidences ``(a, s)``."""
    out = membership.copy()
    k = int(membership.max()) + 1
    size = np.bincount(np.maximum(membership, 0), weights=(membership >= 0), minlength=k)
    in_big = (membership >= 0) & (size[np.maximum(membership, 0)] >= min_size)
    if not in_big.any():
        return out, 0
    mb = in_big[a]
    n_clustered = np.bincount(s[mb], minlength=len(graph.degree))
    key, inv, cnt = np.unique(s[mb] * k + membership[a[mb]], return_inverse=True, return_counts=True)
    sig_k = key // k
    conc = (cnt >= 2) & (cnt >= min_concentration * n_clustered[sig_k]) & (cnt >= min_presence * graph.degree[sig_k])
    # How tied a typical member is: its signals concentrated in its own community.
    n_own = np.bincount(a[mb][conc[inv]], minlength=graph.n_accounts)
    mem = np.flatnonzero(in_big)
    labels, _, med = group_quantile(n_own[mem], membership[mem], 0.5)
    median_own = np.zeros(k)
    median_own[labels] = med
    key = key[conc]
    sig_c, com_c = key // k, key % k  # sorted by signal
    la, ls = a[~mb], s[~mb]
    if not la.size or not key.size:
        return out, 0
    n_usable = np.bincount(la, minlength=graph.n_accounts)
    lo = np.searchsorted(sig_c, ls, side="left")
    hits = np.searchsorted(sig_c, ls, side="right") - lo
    rep = np.repeat(np.arange(la.size), hits)
    if not rep.size:
        return out, 0
    idx = lo[rep] + np.arange(rep.size) - np.repeat(np.cumsum(hits) - hits, hits)
    pair, n_shared = np.unique(la[rep] * k + com_c[idx], return_counts=True)
    acc, com = pair // k, pair % k
    order = lexsort((com, -n_shared, acc))
    acc, com, n_shared = acc[order], com[order], n_shared[order]
    best = np.r_[True, acc[1:] != acc[:-1]]
    acc, com, n_shared = acc[best], com[best], n_shared[best]
    ok = (
        (n_shared >= min_signals)
        & (n_shared >= min_share * n_usable[acc])
        & (n_shared >= min_strength * median_own[com])
    )
    out[acc[ok]] = com[ok]
    return out, int(ok.sum())


ATTACHED: list[int] = []


@settings(max_examples=120, deadline=None)
@given(st.integers(0, 10_000), st.integers(5, 40), st.integers(3, 30), st.integers(1, 4),
       st.sampled_from([(1, 0.3, 2), (3, 0.5, 3), (5, 0.5, 6)]))
def test_attach_round_is_the_oracle(seed, n_acc, n_sig, n_com, bars):
    rng = np.random.default_rng(seed)
    min_signals, min_share, min_size = bars
    n_inc = int(rng.integers(0, n_acc * n_sig // 2 + 1))
    key = np.unique(rng.integers(0, n_acc, n_inc) * n_sig + rng.integers(0, n_sig, n_inc))
    a, s = key // n_sig, key % n_sig
    order = rng.permutation(len(a)) if seed % 2 else np.arange(len(a))
    a, s = a[order], s[order]
    membership = np.where(rng.random(n_acc) < 0.6, rng.integers(0, n_com, n_acc), -1)
    degree = np.bincount(s, minlength=n_sig)
    g = AccountGraph(n_acc, degree, np.ones(n_sig), np.zeros(n_sig, np.int8), np.zeros(0, np.int64),
                     np.zeros(0, np.int64), np.zeros(0), 500.0, 0)
    if not (membership >= 0).any():
        return
    kw = dict(min_signals=min_signals, min_share=min_share, min_size=min_size, min_concentration=0.5,
              min_presence=0.2, min_strength=0.5)
    from accountgraph import _unique

    before = _unique.PACK_MIN
    _unique.PACK_MIN = 0  # the hash factorisation, not np.unique, on these small arrays
    try:
        got, n_got = _attach_round(membership, a, s, g, **kw)
    finally:
        _unique.PACK_MIN = before
    want, n_want = _oracle_round(membership, a, s, g, **kw)
    ATTACHED.append(n_want)
    assert n_got == n_want
    np.testing.assert_array_equal(got, want)


def test_the_oracle_rounds_attach_someone():
    """The drawn worlds are not all trivial: some round attaches an account (run after the above)."""
    test_attach_round_is_the_oracle()
    assert sum(ATTACHED) > 0
