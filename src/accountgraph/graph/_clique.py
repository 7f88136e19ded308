"""The clique projection ``triu(B B^T, 1)`` of the linked signals of one type, computed directly.

``B`` is the account x signal incidence matrix weighted by ``sqrt(lambda)``, so
``(B B^T)[i, k]`` sums ``lambda_j`` over the signals ``j`` accounts ``i`` and ``k``
share. The sparse product builds both triangles and the diagonal, and ``triu``
then copies the upper one; this kernel walks each account's signals in
ascending order and each signal's members above the account, accumulating in
the order the sparse product does (so the sums are the same to the last bit,
zero sums left out as the product leaves them out), and writes the upper
triangle as a canonical CSR matrix: half the memory and no copies.

Cost: O(sum over signals of d(d-1)/2) (the pair budget) plus O(incidences).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..signals import account_order

__all__ = ["clique_projection"]

@functools.cache
def _compiled() -> Any:
    from numba import njit

    @njit(nogil=True, cache=True)
    def upper(acc_start, acc_pos, s_local, sig_start, members, value, n_acc, cap):  # type: ignore[no-untyped-def]
        sums = np.zeros(n_acc, np.float64)
        mark = np.full(n_acc, -1, np.int64)
        touched = np.empty(n_acc, np.int64)
        ptr = np.zeros(n_acc + 1, np.int64)
        idx = np.empty(cap, np.int32)
        val = np.empty(cap, np.float64)
        n_out = 0
        for i in range(n_acc):
            nt = 0
            for p in range(acc_start[i], acc_start[i + 1]):
                pi = acc_pos[p]  # account i's incidence with signal j
                j = s_local[pi]
                x = value[pi]
                lo, hi = sig_start[j], sig_start[j + 1]
                first = lo + np.searchsorted(members[lo:hi], i, side="right")  # members above i
                for q in range(first, hi):
                    k = members[q]
                    sums[k] += x * value[q]
                    if mark[k] != i:
                        mark[k] = i
                        touched[nt] = k
                        nt += 1
            row = np.sort(touched[:nt])
            if n_out + nt > len(idx):
                grow = max(2 * len(idx), n_out + nt)
                idx2 = np.empty(grow, np.int32)
                val2 = np.empty(grow, np.float64)
                idx2[:n_out] = idx[:n_out]
                val2[:n_out] = val[:n_out]
                idx, val = idx2, val2
            for k in row:
                if sums[k] != 0.0:
                    idx[n_out] = k
                    val[n_out] = sums[k]
                    n_out += 1
                sums[k] = 0.0
            ptr[i + 1] = n_out
        return ptr, idx[:n_out].copy(), val[:n_out].copy()

    return upper


def clique_projection(account: np.ndarray, signal: np.ndarray, value: np.ndarray, n_accounts: int) -> sp.csr_matrix:
    """``triu(B B^T, 1)`` as canonical CSR, for incidences sorted by (signal, account).

    Parameters
    ----------
    account, signal : ndarray of int, shape (m,)
        Distinct incidences, sorted by signal then account (a SignalTable's order).
    value : ndarray of float64, shape (m,)
        ``B``'s entry for each incidence (``sqrt(lambda)`` of its signal times the
        holder's factor).
    n_accounts : int

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_accounts, n_accounts)
        Upper triangle, sorted indices, equal to ``sp.triu(b @ b.T, k=1).tocsr()``
        for ``b`` with ``value`` at (account, signal).

    Examples
    --------
    >>> m = clique_projection(np.array([0, 1, 2, 1, 2]), np.array([7, 7, 7, 9, 9]), np.array([1., 1, 1, 2, 2]), 3)
    >>> m.toarray().tolist()
    [[0.0, 1.0, 1.0], [0.0, 0.0, 5.0], [0.0, 0.0, 0.0]]
    """
    account = np.asarray(account, np.int64)
    m = len(account)
    if m == 0:
        return sp.csr_matrix((n_accounts, n_accounts), dtype=np.float64)
    new = np.r_[True, signal[1:] != signal[:-1]]
    s_local = np.cumsum(new) - 1  # signals in order of appearance = ascending
    sig_start = np.r_[np.flatnonzero(new), m].astype(np.int64)
    by = account_order(account, n_accounts)  # stable: each account's signals stay ascending
    size = np.diff(sig_start)
    pairs = int(np.sum(size * (size - 1) // 2))  # an upper bound on the pairs (shared signals repeat them)
    ptr, idx, val = _compiled()(by.start, by.order, s_local, sig_start, account, np.asarray(value, np.float64),
                                int(n_accounts), max(min(pairs, 1 << 24), 1))
    if len(idx) < 2**31 - 1:
        ptr = ptr.astype(np.int32)
    out = sp.csr_matrix((val, idx, ptr), shape=(n_accounts, n_accounts))
    out.has_sorted_indices = True
    return out
