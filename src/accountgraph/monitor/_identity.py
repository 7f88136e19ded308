"""Ring identity across updates: which earlier ring is each new cluster, and the lineage.

After an update re-partitions the touched components, each new cluster is
matched to the rings its accounts were in before, by account overlap:

* a previous ring's *heir* is the new cluster holding most of its accounts,
  provided that overlap is at least half of the new cluster (it is mostly that
  ring: the ring shrank or kept its shape) or at least half of the ring (the
  ring is mostly inside it: it grew). Ties go to the cluster with the smaller
  first account code;
* a new cluster that is the heir of one or more rings takes the id of the
  largest of them (ties: the smaller id) — *a merge keeps the id of the
  larger* — and the others are recorded as ``merged`` into it;
* a new cluster that is no ring's heir gets a fresh id; if at least half of
  it came from one ring it is recorded as ``split`` from that ring;
* a previous ring without an heir and no account left outside the revisited
  part is recorded as ``dissolved``.

Fresh ids are handed out in order of each cluster's smallest account code,
so they do not depend on row order. Statuses of this update: ``new``,
``grown``, ``shrunk``, ``merged``, ``split``, ``unchanged`` (same accounts,
new activity) and ``dormant`` (no activity in the batch).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._state import State
from .._unique import lexsort, unique

__all__ = ["STATUSES", "assign_rings"]

STATUSES = ("new", "grown", "shrunk", "merged", "split", "unchanged", "dormant")


def _clusters(accounts: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense cluster index per revisited account (-1: none), ordered by smallest account code."""
    out = np.full(len(labels), -1, np.int64)
    m = labels >= 0
    if not m.any():
        return out, 0
    uniq, inv = np.unique(labels[m], return_inverse=True)
    first = np.full(len(uniq), np.iinfo(np.int64).max)
    np.minimum.at(first, inv.reshape(-1), accounts[m])
    rank = np.empty(len(uniq), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(uniq))
    out[m] = rank[inv.reshape(-1)]
    return out, len(uniq)


def _heirs(prev: np.ndarray, cl: np.ndarray, k: int, prev_size: dict[int, int]) -> tuple[np.ndarray, ...]:
    """Overlap table ``(cluster, ring, count)`` and, per ring in it, whether that cluster is its heir."""
    m = (prev >= 0) & (cl >= 0)
    if not m.any():
        e = np.zeros(0, np.int64)
        return e, e, e, np.zeros(0, bool)
    pair, cnt = np.unique(np.stack([prev[m], cl[m]]), axis=1, return_counts=True)
    ring, c = pair[0], pair[1]
    size_c = np.bincount(cl[cl >= 0], minlength=k)
    size_r = np.array([prev_size.get(int(r), 0) for r in ring], np.int64)
    order = lexsort((c, -cnt, ring))  # per ring: largest overlap first, then smaller cluster index
    ring, c, cnt, size_r = ring[order], c[order], cnt[order], size_r[order]
    best = np.r_[True, ring[1:] != ring[:-1]]
    heir = best & ((2 * cnt >= size_c[c]) | (2 * cnt >= size_r))
    return c, ring, cnt, heir


def assign_rings(state: State, accounts: np.ndarray, labels: np.ndarray) -> tuple[pd.DataFrame, dict[int, str]]:
    """Give the revisited accounts their ring ids (``state.ring``), recording lineage.

    Parameters
    ----------
    state : State
        ``state.ring`` holds the previous ring of every account; updated in place.
    accounts : ndarray of int64
        Revisited accounts (every account of a touched ring is among them).
    labels : ndarray of int64
        Their new community label (-1: in none).

    Returns
    -------
    lineage : pandas.DataFrame
        ``seq``, ``ring_id``, ``parent_id``, ``relation`` (``merged``, ``split``,
        ``dissolved``), ``n_shared`` — this update's rows.
    status : dict
        Status of every ring whose accounts changed (``new``, ``merged``, ``split``, or
        ``changed`` for a continued ring, refined to grown/shrunk/unchanged later).
    """
    prev = state.ring[accounts].copy()
    prev_ids, prev_counts = np.unique(state.ring[state.ring >= 0], return_counts=True)
    prev_size = dict(zip(prev_ids.tolist(), prev_counts.tolist()))
    cl, k = _clusters(accounts, labels)
    c, ring, cnt, heir = _heirs(prev, cl, k, prev_size)
    new_id = np.full(k, -1, np.int64)
    rows: list[tuple[int, int, str, int]] = []
    status: dict[int, str] = {}
    heirs_of: dict[int, list[tuple[int, int, int]]] = {}
    merged_away: set[int] = set()
    for ci, r, n in zip(c[heir].tolist(), ring[heir].tolist(), cnt[heir].tolist()):
        heirs_of.setdefault(ci, []).append((prev_size.get(r, 0), r, n))
    for ci, cands in heirs_of.items():
        cands.sort(key=lambda t: (-t[0], t[1]))
        keep = cands[0][1]
        new_id[ci] = keep
        status[keep] = "changed"
        for _, r, n in cands[1:]:
            rows.append((keep, r, "merged", n))
            status[keep] = "merged"
            merged_away.add(r)
    fresh = np.flatnonzero(new_id < 0)
    new_id[fresh] = state.next_ring_id + np.arange(len(fresh))
    state.next_ring_id += len(fresh)
    # A fresh cluster mostly made of one earlier ring split off from it.
    size_c = np.bincount(cl[cl >= 0], minlength=k)
    is_fresh = np.zeros(k, bool)
    is_fresh[fresh] = True
    for ci, r, n in zip(c.tolist(), ring.tolist(), cnt.tolist()):
        if is_fresh[ci] and 2 * n >= size_c[ci]:
            rows.append((int(new_id[ci]), r, "split", n))
            status[int(new_id[ci])] = "split"
            if status.get(r) == "changed":
                status[r] = "split"
    for ci in fresh.tolist():
        status.setdefault(int(new_id[ci]), "new")
    state.ring[accounts] = np.append(new_id, -1)[np.where(cl >= 0, cl, k)]
    alive = set(unique(state.ring[state.ring >= 0]).tolist())
    for r in unique(prev[prev >= 0]).tolist():
        if r not in alive and r not in merged_away:
            rows.append((-1, r, "dissolved", 0))
    lineage = pd.DataFrame(rows, columns=["ring_id", "parent_id", "relation", "n_shared"])
    lineage.insert(0, "seq", np.full(len(lineage), state.seq, np.int64))
    for col in ("ring_id", "parent_id", "n_shared"):
        lineage[col] = lineage[col].astype(np.int64)
    return lineage, status
