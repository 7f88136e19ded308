"""Link weights from pair evidence, template corroboration, and the graph view the later stages read.

:func:`link_weights` is the batch projection's formula (:mod:`accountgraph.graph`)
applied to summed evidence: each type's evidence ``E_t`` scaled by the pair
balance (``GraphParams.promiscuity``, from :func:`type_counts`), per evidence
group the strongest type's ``alpha_t * (1 - exp(-E_t))``, summed, plus
``corroboration * focus`` of a
template family substantial to both accounts. :func:`refresh_substantial`
keeps each account's substantial families (as
:func:`accountgraph.graph.substantial_families` defines them) from its template
incidences' counts.
"""

from __future__ import annotations

import functools

import numpy as np

from ..engines import PipelineConfig
from ..graph import EVIDENCE_GROUPS, rarity_weight
from ._state import State, unpack
from .._unique import lexsort, unique

__all__ = ["link_weights", "refresh_substantial", "type_counts", "weights_graph"]

#: Incidences unpacked per chunk by :func:`type_counts` (bounds its working memory).
_COUNT_CHUNK = 1 << 22


def type_counts(state: State) -> np.ndarray:
    """Signals of each type held by each account, shape ``(n_accounts, n_types)``.

    The counts the batch projection's pair balance reads (``GraphParams.promiscuity``:
    ``np.bincount`` of an account's incidences of one type, hubs and unshared signals
    included), here from the state's distinct incidences, in chunks.
    """
    nt = max(len(state.type_names), 1)
    out = np.zeros(state.n_accounts * nt, np.int64)
    for lo in range(0, len(state.inc_key), _COUNT_CHUNK):
        acc, sig = unpack(state.inc_key[lo: lo + _COUNT_CHUNK])
        out += np.bincount(acc * nt + state.sig_type[sig], minlength=len(out))
    return out.reshape(state.n_accounts, nt)


def link_weights(state: State, cfg: PipelineConfig, rows: np.ndarray, alpha: np.ndarray,
                 counts: np.ndarray | None = None) -> np.ndarray:
    """Link weight of the given pair rows: strongest type per evidence group, summed, plus corroboration.

    As in the batch projection, each type's summed evidence of a pair is first scaled by
    :func:`accountgraph.graph.pair_balance` of the two accounts' signals of that type
    (:func:`type_counts`; pass them when weighing the table a slice at a time). One compiled
    pass over the rows, corroboration included (a daily update at seed scale re-weighs tens
    of millions of them).
    """
    p = float(cfg.graph.promiscuity)
    t = state.pairs
    nt = t.evidence.shape[1]
    if p <= 0 or not len(rows):
        counts = np.zeros((0, 0), np.int64)
    elif counts is None:
        counts = type_counts(state)
    names = [EVIDENCE_GROUPS.get(name, name) for name in state.type_names[:nt]]
    order = list(dict.fromkeys(names))  # groups numbered in the order of their first type
    group = np.array([order.index(g) for g in names], np.int64)
    rows = np.ascontiguousarray(rows, np.int64)
    # Corroboration adds at most c: below min_link - c a pair stays no link whatever it adds, so
    # only the others look for a template family substantial to both (their weight is the batch's).
    c = float(cfg.graph.corroboration)
    corr = c > 0 and state.subst.shape[1] > 0 and bool((state.subst >= 0).any())
    subst = state.subst if corr else np.full((0, 1), -1, np.int64)
    return _weights_kernel()(t.evidence, t.key, rows, counts, p, np.asarray(alpha[:nt], np.float32), group,
                             max(len(order), 1), corr, c, float(cfg.graph.min_link) - c, subst, state.fam_count,
                             state.degree)


@functools.cache
def _weights_kernel():  # type: ignore[no-untyped-def]
    """The compiled per-row link weight (numba, loaded on first use)."""
    from numba import njit

    @njit(nogil=True, cache=True)
    def weights(ev, key, rows, counts, p, alpha, group, n_groups,  # type: ignore[no-untyped-def]
                corr, c, near, subst, fam_count, degree):
        out = np.zeros(len(rows), np.float32)
        best = np.zeros(n_groups, np.float32)
        balance = counts.shape[0] > 0
        for q in range(len(rows)):
            r = rows[q]
            u, v = key[r] >> 32, key[r] & 0xFFFFFFFF
            best[:] = 0.0
            for t in range(ev.shape[1]):
                e = ev[r, t]
                if e == 0.0 or alpha[t] <= 0.0:
                    continue
                if balance and t < counts.shape[1]:  # pair_balance, as the batch projection scales it
                    a, b = np.float64(counts[u, t]), np.float64(counts[v, t])
                    e = np.float32(e * min(1.0, np.sqrt(p * min(a, b) / max(max(a, b), 1.0))))
                x = alpha[t] * np.float32(-np.expm1(-np.float64(e)))
                if x > best[group[t]]:
                    best[group[t]] = x
            total = np.float32(0.0)
            for g in range(n_groups):
                total += best[g]
            if corr and total >= near and subst[u, 0] >= 0 and subst[v, 0] >= 0:
                focus = 0.0  # the largest focus of a family substantial to both (shared_family_focus)
                for x in range(subst.shape[1]):
                    f = subst[u, x]
                    if f < 0:
                        continue
                    for y in range(subst.shape[1]):
                        if subst[v, y] == f:
                            focus = max(focus, fam_count[f] / max(np.float64(degree[f]), 1.0))
                total += np.float32(c) * np.float32(focus)
            out[q] = total
        return out

    return weights


def refresh_substantial(state: State, cfg: PipelineConfig, accounts: np.ndarray) -> np.ndarray:
    """Recompute the substantial template families of ``accounts``; return those whose set changed.

    As :func:`accountgraph.graph.substantial_families`, from the template incidences'
    event counts: an account's at most ``substantial_top`` largest families (ties by
    family) that hold at least ``substantial_share`` of its prompts.
    """
    top, share = cfg.templates.substantial_top, cfg.templates.substantial_share
    if state.subst.shape[1] != top:
        state.subst = np.full((state.n_accounts, top), -1, np.int64)
    if "template" not in state.type_names or not len(accounts):
        return np.zeros(0, np.int64)
    t = state.type_names.index("template")
    accounts = unique(accounts)
    lo = np.searchsorted(state.inc_key, accounts << 32)
    hi = np.searchsorted(state.inc_key, (accounts + 1) << 32)
    n = hi - lo
    idx = np.repeat(lo - np.r_[0, np.cumsum(n)[:-1]], n) + np.arange(int(n.sum()))
    acc, sig = unpack(state.inc_key[idx])
    m = state.sig_type[sig] == t
    acc, sig, cnt = acc[m], sig[m], state.inc_n[idx[m]]
    total = np.bincount(acc, weights=cnt, minlength=state.n_accounts)
    order = lexsort((sig, -cnt, acc))
    acc, sig, cnt = acc[order], sig[order], cnt[order]
    rank = np.arange(len(acc)) - np.searchsorted(acc, acc, side="left")
    good = (rank < top) & (cnt >= share * total[acc])
    new = np.full((state.n_accounts, top), -1, np.int64)
    new[acc[good], rank[good]] = sig[good]
    new = new[accounts]
    old = state.subst[accounts]
    changed = (np.sort(new, axis=1) != np.sort(old, axis=1)).any(axis=1)  # the set, not the rank order
    np.subtract.at(state.fam_count, old[old >= 0], 1)
    np.add.at(state.fam_count, new[new >= 0], 1)
    state.subst[accounts] = new
    return accounts[changed]


def weights_graph(state: State, cfg: PipelineConfig):
    """An AccountGraph with the state's links and per-signal degree, rarity weight and status."""
    from ..graph import HUB, LINKED, SAMPLED, UNSHARED, AccountGraph

    d = state.degree
    cap = state.type_caps[state.sig_type] if len(state.type_caps) else np.full(len(d), float(cfg.graph.max_signal_degree))
    mode = state.sig_mode
    status = np.where(mode == 1, LINKED, np.where(mode >= 2, SAMPLED, np.where(d > cap, HUB, UNSHARED)))
    weight = np.where(mode == 3, cfg.graph.coordinated_weight, np.where(mode > 0, rarity_weight(d, cap), 0.0))
    return AccountGraph(state.n_accounts, d, weight, status.astype(np.int8), state.e_src, state.e_dst, state.e_w,
                        float(state.policy[0]), len(state.pairs),
                        {t: float(c) for t, c in zip(state.type_names, state.type_caps)})

