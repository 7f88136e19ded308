"""Template corroboration: a shared *dominant* template family strengthens an existing link.

A prompt template used by thousands of accounts is a hub like any other: its
rarity weight is 0 and it is never projected. Yet a template that *dominates*
the traffic of almost everyone who uses it (a campaign's slot-filled template)
is telling, while public boilerplate that most of its users send now and then
is not. Each account's substantial families (at most its top 3, each at least
15 % of its prompts) are compared on the candidate pairs the projection
already produced; a pair sharing one gets ``+ corroboration * focus``, where
``focus`` is the share of the family's users for whom it is substantial. This
never creates a pair (memory stays bounded) and never links strangers who
share nothing else.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..signals import account_order, pair_counts
from .._unique import lexsort

__all__ = ["shared_family_focus", "substantial_families"]


@functools.cache
def _compiled() -> Any:
    from numba import njit

    @njit(nogil=True, cache=True)
    def best_shared(rows, cols, substantial, focus, out):  # type: ignore[no-untyped-def]
        k = substantial.shape[1]
        for i in range(len(rows)):
            r, c = rows[i], cols[i]
            best = 0.0
            for x in range(k):
                fa = substantial[r, x]
                if fa < 0:
                    continue
                for y in range(k):
                    if substantial[c, y] == fa and focus[fa] > best:
                        best = focus[fa]
            out[i] = best

    return best_shared


def shared_family_focus(rows: np.ndarray, cols: np.ndarray, substantial: np.ndarray, focus: np.ndarray) -> np.ndarray:
    """For each pair, the largest ``focus`` of a family substantial to both (0 if none).

    ``substantial`` has a handful of columns, so this is ``k * k`` comparisons
    per pair, in one compiled pass (no temporaries the size of the pairs).
    """
    out = np.zeros(len(rows), np.float64)
    if not len(focus) or not len(rows):  # no prompt in any template family (e.g. every prompt distinct)
        return out
    _compiled()(rows, cols, substantial, np.asarray(focus, np.float64), out)
    return out


def substantial_families(
    ev_account: np.ndarray, ev_family: np.ndarray, n_accounts: int, *, top: int = 3, min_share: float = 0.15
) -> tuple[np.ndarray, np.ndarray]:
    """Each account's substantial template families and each family's focus.

    Returns
    -------
    substantial : ndarray of int64, shape (n_accounts, top)
        Families making up at least ``min_share`` of the account's prompts
        (at most ``top``, largest first, ties by family id), -1 padded.
    focus : ndarray of float64, shape (n_families,)
        Share of a family's users for whom it is substantial.

    Notes
    -----
    Linear: (account, family) pairs counted through one counting sort of the
    events by account (:func:`accountgraph.signals.pair_counts`).
    """
    sub = np.full((n_accounts, top), -1, np.int64)
    ok = ev_family >= 0
    if not ok.any():
        return sub, np.zeros(0)
    n_fam = int(ev_family.max()) + 1
    acc, fam, c = pair_counts(ev_family, account_order(ev_account, n_accounts), n_fam)
    total = np.bincount(acc, weights=c, minlength=n_accounts)
    share = c / np.maximum(total[acc], 1)
    users = np.bincount(fam, minlength=n_fam).astype(np.float64)
    # Only families of at least ``min_share`` can be substantial; they hold the most
    # prompts of their account, so dropping the rest leaves their ranks unchanged.
    k = share >= min_share
    acc, fam, c, share = acc[k], fam[k], c[k], share[k]
    order = lexsort((fam, -c, acc))
    acc, fam, share = acc[order], fam[order], share[order]
    rank = np.arange(len(acc)) - np.searchsorted(acc, acc, side="left")
    good = (rank < top) & (share >= min_share)
    sub[acc[good], rank[good]] = fam[good]
    focused = np.bincount(fam[good], minlength=n_fam).astype(np.float64)
    return sub, focused / np.maximum(users, 1)
