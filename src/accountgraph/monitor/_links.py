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

import numpy as np

from ..engines import PipelineConfig
from ..graph import EVIDENCE_GROUPS, pair_balance, rarity_weight
from ._state import State, unpack

__all__ = ["link_weights", "refresh_substantial", "type_counts", "weights_graph"]

#: Incidences unpacked per chunk by :func:`type_counts` (bounds its working memory).
_COUNT_CHUNK = 1 << 22
#: Pair rows weighed per chunk by :func:`link_weights` (bounds its working memory).
_ROW_CHUNK = 1 << 22


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


def link_weights(state: State, cfg: PipelineConfig, rows: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Link weight of the given pair rows: strongest type per evidence group, summed, plus corroboration.

    As in the batch projection, each type's summed evidence of a pair is first scaled by
    :func:`accountgraph.graph.pair_balance` of the two accounts' signals of that type
    (:func:`type_counts`).
    """
    p = float(cfg.graph.promiscuity)
    counts = type_counts(state) if p > 0 and len(rows) else None
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(state.type_names[: state.pairs.evidence.shape[1]]):
        groups.setdefault(EVIDENCE_GROUPS.get(name, name), []).append(i)
    w = np.zeros(len(rows), np.float32)
    for lo in range(0, len(rows), _ROW_CHUNK):  # bounded working memory: a chunk of rows at a time
        w[lo: lo + _ROW_CHUNK] = _weights(state, cfg, rows[lo: lo + _ROW_CHUNK], alpha, counts, groups)
    return w


def _weights(state: State, cfg: PipelineConfig, rows: np.ndarray, alpha: np.ndarray, counts: np.ndarray | None,
             groups: dict[str, list[int]]) -> np.ndarray:
    t = state.pairs
    ev = t.evidence[rows]
    # A pair has evidence in one or two types, mostly: each type is computed on its rows only.
    nz = [np.flatnonzero(ev[:, c]) for c in range(ev.shape[1])]
    p = float(cfg.graph.promiscuity)
    if counts is not None and ev.shape[1]:
        u, v = unpack(t.key[rows])
        for c in range(min(ev.shape[1], counts.shape[1])):
            x = nz[c]
            ev[x, c] = (ev[x, c] * pair_balance(counts[u[x], c], counts[v[x], c], p)).astype(np.float32)
    w = np.zeros(len(rows), np.float32)
    for cols in groups.values():
        g = np.zeros(len(rows), np.float32)  # evidence is >= 0, so each type's term is too
        for c in cols:
            if alpha[c] > 0:
                x = nz[c]
                g[x] = np.maximum(g[x], np.float32(alpha[c]) * -np.expm1(-ev[x, c]))
        w += g
    c = cfg.graph.corroboration
    if c > 0 and state.subst.shape[1] and (state.subst >= 0).any():
        # Corroboration adds at most c: below min_link - c a pair stays no link whatever it adds,
        # so only the others are looked at (their stored weight is then the batch's exactly).
        near = np.flatnonzero(w >= cfg.graph.min_link - c)
        u, v = unpack(t.key[rows[near]])
        has = state.subst[:, 0] >= 0
        m = near[has[u] & has[v]]
        if len(m):
            uu, vv = unpack(t.key[rows[m]])
            w[m] += np.float32(c) * _shared_focus(state, uu, vv).astype(np.float32)
    return w


def _shared_focus(state: State, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Largest focus of a template family substantial to both accounts of each pair (0 if none)."""
    a, b = state.subst[u], state.subst[v]
    users = np.maximum(state.degree, 1).astype(np.float64)
    best = np.zeros(len(u))
    for x in range(a.shape[1]):
        fa = a[:, x]
        ok = fa >= 0
        for y in range(b.shape[1]):
            hit = ok & (fa == b[:, y])
            if hit.any():
                f = np.where(hit, fa, 0)
                best = np.where(hit, np.maximum(best, state.fam_count[f] / users[f]), best)
    return best


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
    accounts = np.unique(accounts)
    lo = np.searchsorted(state.inc_key, accounts << 32)
    hi = np.searchsorted(state.inc_key, (accounts + 1) << 32)
    n = hi - lo
    idx = np.repeat(lo - np.r_[0, np.cumsum(n)[:-1]], n) + np.arange(int(n.sum()))
    acc, sig = unpack(state.inc_key[idx])
    m = state.sig_type[sig] == t
    acc, sig, cnt = acc[m], sig[m], state.inc_n[idx[m]]
    total = np.bincount(acc, weights=cnt, minlength=state.n_accounts)
    order = np.lexsort((sig, -cnt, acc))
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

