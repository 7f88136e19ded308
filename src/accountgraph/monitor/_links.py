"""Link weights from pair evidence, template corroboration, and the graph view the later stages read.

The link weight (:func:`reweigh`) is the batch projection's formula (:mod:`accountgraph.graph`)
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
from .._parallel import beside
from ..graph import EVIDENCE_GROUPS, rarity_weight
from ._state import State, unpack
from .._unique import lexsort, unique

__all__ = ["refresh_substantial", "reweigh", "type_counts", "weights_graph"]

#: Incidences unpacked per chunk by :func:`type_counts` (bounds its working memory).
_COUNT_CHUNK = 1 << 22
#: Rows per half below which :func:`reweigh` stays on one thread.
_PARALLEL_ROWS = 1 << 16


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


def reweigh(state: State, cfg: PipelineConfig, alpha: np.ndarray, mark: np.ndarray,
            counts: np.ndarray | None = None) -> tuple[np.ndarray, int, int]:
    """Re-weigh the touched rows and every row of a ``mark``-ed account; clear ``touched``.

    A row's link weight is the batch projection's formula: each type's summed evidence first
    scaled by :func:`accountgraph.graph.pair_balance` of the two accounts' signals of that type
    (:func:`type_counts`), per evidence group the strongest type's ``alpha_t * (1 - exp(-E_t))``,
    summed, plus ``corroboration * focus`` of a template family substantial to both.
    One compiled pass over the table finds the rows, weighs them and compares them with their
    last weight (a daily update at seed scale re-weighs tens of millions of them); the table's
    two halves run on two threads when there are two cores (rows are independent).

    Returns
    -------
    moved : ndarray of bool, shape (n_accounts,)
        Accounts one of whose links moved: crossed ``min_link``, or changed above it by > 1e-6.
    n_rows, n_moved : int
        Rows re-weighed, rows that moved.
    """
    p = float(cfg.graph.promiscuity)
    t = state.pairs
    nt = t.evidence.shape[1]
    if p <= 0:
        counts = np.zeros((0, 0), np.int64)
    elif counts is None:
        counts = type_counts(state)
    names = [EVIDENCE_GROUPS.get(name, name) for name in state.type_names[:nt]]
    order = list(dict.fromkeys(names))  # groups numbered in the order of their first type
    group = np.array([order.index(g) for g in names], np.int64)
    # Corroboration adds at most c: below min_link - c a pair stays no link whatever it adds, so
    # only the others look for a template family substantial to both (their weight is the batch's).
    c = float(cfg.graph.corroboration)
    corr = c > 0 and state.subst.shape[1] > 0 and bool((state.subst >= 0).any())
    subst = state.subst if corr else np.full((0, 1), -1, np.int64)
    moved = np.zeros(state.n_accounts, bool)
    cut = float(cfg.graph.min_link)
    args = (t.evidence, t.key, t.link, t.touched, np.asarray(mark, bool), bool(mark.any()), counts, p,
            np.asarray(alpha[:nt], np.float32), group, max(len(order), 1), corr, c, cut - c, subst, state.fam_count,
            state.degree, cut, np.float32(cut), moved)
    from ._link_kernels import reweigh_rows as kernel

    half = len(t) // 2
    wait = beside(kernel, 0, half, *args) if half >= _PARALLEL_ROWS else None
    second = kernel(half if wait else 0, len(t), *args)
    first = wait() if wait else (0, 0)
    return moved, first[0] + second[0], first[1] + second[1]


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
    from ._sorted_kernels import rows_of_type

    idx = rows_of_type(state.inc_key, accounts, state.sig_type, t)
    acc, sig = unpack(state.inc_key[idx])
    cnt = state.inc_n[idx]
    total = np.bincount(acc, weights=cnt, minlength=state.n_accounts)
    # rows are in key order (account, then family), so a stable sort by (account, -count) is
    # lexsort((sig, -cnt, acc)) in fewer bits (one packed sort, not np.lexsort's three passes)
    order = lexsort((-cnt, acc))
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

