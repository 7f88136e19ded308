"""Three independent baselines for ring detection, to benchmark ``accountgraph.detect`` against.

Each baseline is a function ``fn(events, accounts=None, **params) -> pandas.DataFrame``
with columns ``account_id`` (str), ``cluster_id`` (int64, ``-1`` = no cluster) and
``flagged`` (bool), one row per account seen in ``events`` or ``accounts``, sorted
by ``account_id``. They share nothing with the detector except the input schema.

* :func:`shared_identifier_components` - the graph-database tutorial recipe:
  accounts sharing any IP, device or payment instrument are unioned; components
  of at least ``min_size`` accounts are flagged.
* :func:`louvain_ip_projection` - Louvain (igraph ``community_multilevel``) on
  the account-account graph weighted by the number of shared IPs; communities of
  at least ``min_size`` accounts whose internal edge density reaches
  ``min_density`` are flagged.
* :func:`fraudar` - FRAUDAR greedy peeling (Hooi et al., KDD 2016) of the
  account x signal bipartite matrix with column weights ``1 / log(d + 5)``;
  up to ``n_blocks`` dense blocks are found by peeling and removing each block's
  edges; accounts in blocks with at least ``min_size`` accounts are flagged.

Signals are taken verbatim (no /24 aggregation, no prompt features): ``ip``,
``device_id`` and ``payment_id`` from the events, plus ``payment_id`` from the
accounts table when given.
"""

from __future__ import annotations

import heapq
import logging
import random
from collections.abc import Sequence
from typing import Any

import igraph as ig
import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

__all__ = [
    "BASELINES",
    "account_signal_pairs",
    "fraudar",
    "louvain_ip_projection",
    "shared_identifier_components",
]

logger = logging.getLogger(__name__)

DEFAULT_SIGNALS: tuple[str, ...] = ("ip", "device_id", "payment_id")


# ------------------------------------------------------------------ shared input


def _as_arrow(data: Any) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pd.DataFrame):
        return pa.Table.from_pandas(data, preserve_index=False)
    import pyarrow.parquet as pq

    return pq.read_table(data)


def _codes(values: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (nulls -> -1) and the uniques of a string column."""
    codes, uniques = pd.factorize(pd.Series(values.to_pandas(), copy=False), sort=False)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def account_signal_pairs(
    events: Any, accounts: Any = None, *, signals: Sequence[str] = DEFAULT_SIGNALS
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (account, signal) incidences of the log, as integer codes.

    Parameters
    ----------
    events : pandas.DataFrame, pyarrow.Table or Parquet path
    accounts : same, optional
        Its ``payment_id`` column adds payment signals; its accounts join the universe.
    signals : sequence of str
        Event columns used as signals; each column is its own namespace.

    Returns
    -------
    account_ids : ndarray of object, shape (n_accounts,)
        Sorted account ids; row ``i`` of the incidence is ``account_ids[i]``.
    rows, cols : ndarray of int64, shape (n_pairs,)
        Account code and signal code of each distinct incidence.
    signal_kind : ndarray of int64, shape (n_signals,)
        Index into ``signals`` of each signal code (``len(signals)`` for the
        accounts-table payment column, which shares the ``payment_id`` namespace).
    """
    ev = _as_arrow(events)
    acc_cols = [ev.column("account_id")]
    acc_tab = None
    if accounts is not None:
        acc_tab = _as_arrow(accounts)
        acc_cols.append(acc_tab.column("account_id"))
    uniq = [pd.unique(pd.Series(a.cast(pa.string()).to_pandas(), dtype=object)) for a in acc_cols]
    account_ids = np.unique(np.concatenate(uniq).astype(str)).astype(object)
    index = pd.Index(account_ids)
    ev_acc = index.get_indexer(pd.Series(ev.column("account_id").cast(pa.string()).to_pandas()))

    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    kinds: list[np.ndarray] = []
    offset = 0
    for k, name in enumerate(signals):
        col = ev.column(name).cast(pa.string())
        acc_rows = ev_acc
        if name == "payment_id" and acc_tab is not None and "payment_id" in acc_tab.column_names:
            col = pa.chunked_array(col.chunks + acc_tab.column("payment_id").cast(pa.string()).chunks)
            acc_rows = np.concatenate(
                [ev_acc, index.get_indexer(pd.Series(acc_tab.column("account_id").cast(pa.string()).to_pandas()))]
            )
        code, uniq = _codes(col)
        keep = code >= 0
        rows.append(acc_rows[keep])
        cols.append(code[keep] + offset)
        kinds.append(np.full(len(uniq), k, dtype=np.int64))
        offset += len(uniq)
    r = np.concatenate(rows) if rows else np.empty(0, np.int64)
    c = np.concatenate(cols) if cols else np.empty(0, np.int64)
    key = np.unique(r * max(offset, 1) + c)
    return (
        account_ids,
        (key // max(offset, 1)).astype(np.int64),
        (key % max(offset, 1)).astype(np.int64),
        np.concatenate(kinds) if kinds else np.empty(0, np.int64),
    )


def _result(account_ids: np.ndarray, cluster: np.ndarray, flagged: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": pd.array(account_ids, dtype="string"),
            "cluster_id": cluster.astype(np.int64),
            "flagged": flagged.astype(bool),
        }
    )


def _renumber(labels: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Cluster ids 0..k-1 in order of each kept cluster's first account; -1 elsewhere."""
    out = np.full(len(labels), -1, dtype=np.int64)
    lab = labels[keep]
    _, first, inv = np.unique(lab, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first, kind="stable"), kind="stable")
    out[keep] = order[inv]
    return out


# ------------------------------------------------- 1. shared-identifier components


def shared_identifier_components(
    events: Any, accounts: Any = None, *, min_size: int = 3, signals: Sequence[str] = DEFAULT_SIGNALS
) -> pd.DataFrame:
    """Connected components of accounts linked by any shared identifier.

    Rule: build the bipartite graph account - identifier (IP, device, payment),
    take connected components; every component with at least two accounts gets
    a ``cluster_id``; components with at least ``min_size`` accounts are flagged.

    Notes
    -----
    O(E) with ``scipy.sparse.csgraph.connected_components`` on the bipartite
    adjacency (accounts + identifiers as nodes). Known failure mode, kept on
    purpose: one shared NAT / proxy IP merges unrelated accounts into a giant
    component.
    """
    account_ids, r, c, _ = account_signal_pairs(events, accounts, signals=signals)
    n_a = len(account_ids)
    n_s = int(c.max()) + 1 if c.size else 0
    n = n_a + n_s
    adj = sp.coo_matrix((np.ones(len(r), np.int8), (r, c + n_a)), shape=(n, n)).tocsr()
    _, comp = connected_components(adj, directed=False)
    comp = comp[:n_a]
    size = np.bincount(comp)[comp]
    cluster = _renumber(comp, size >= 2)
    return _result(account_ids, cluster, size >= min_size)


# ---------------------------------------------------------- 2. Louvain projection


def louvain_ip_projection(
    events: Any,
    accounts: Any = None,
    *,
    min_size: int = 3,
    min_density: float = 0.5,
    max_pairs: int = 50_000_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Louvain communities of the account projection of shared IPs.

    Rule: the account-account graph has an edge of weight ``w`` between two
    accounts that share ``w`` distinct IPs. igraph's ``community_multilevel``
    (Louvain) partitions it; a community of at least ``min_size`` accounts
    with internal edge density ``edges / (n (n - 1) / 2) >= min_density`` is
    flagged. Accounts without any shared IP have ``cluster_id = -1``.

    Notes
    -----
    The projection of an IP used by ``d`` accounts has ``d (d - 1) / 2`` pairs,
    and the sparse product materialises the sum of these over IPs before
    merging duplicates (a pair sharing ten IPs is counted ten times). If that
    sum exceeds ``max_pairs`` (5e7 entries, a few GiB of intermediates and
    igraph edges), IPs are dropped from the projection in
    decreasing order of degree until it fits; the number dropped is logged and
    stored in ``result.attrs["dropped_ips"]`` (0 when no cap was needed).
    igraph's Louvain uses Python's ``random``; it is seeded with ``seed`` and
    the previous generator is restored afterwards.
    """
    account_ids, r, c, _ = account_signal_pairs(events, accounts, signals=("ip",))
    n_a = len(account_ids)
    n_ip = int(c.max()) + 1 if c.size else 0
    deg = np.bincount(c, minlength=n_ip).astype(np.int64)
    pairs = deg * (deg - 1) // 2
    dropped = 0
    if pairs.sum() > max_pairs:
        order = np.argsort(-deg, kind="stable")
        excess = np.cumsum(pairs[order][::-1])[::-1]  # pairs left if we drop order[:i]
        excess = np.append(excess, 0)
        n_drop = int(np.argmax(excess <= max_pairs))
        drop = np.zeros(n_ip, bool)
        drop[order[:n_drop]] = True
        dropped = n_drop
        logger.warning(
            "louvain_ip_projection: dropped %d IP(s) of degree >= %d to fit %d pairs",
            n_drop, int(deg[order[n_drop - 1]]) if n_drop else 0, max_pairs,
        )
        keep = ~drop[c]
        r, c = r[keep], c[keep]
    inc = sp.csr_matrix((np.ones(len(r), np.float64), (r, c)), shape=(n_a, n_ip))
    proj = sp.triu(inc @ inc.T, k=1).tocoo()
    # A numpy edge array avoids a Python list of pairs (~100 bytes per edge).
    g = ig.Graph(n=n_a, edges=np.column_stack([proj.row, proj.col]), directed=False)
    state = random.getstate()
    rng = random.Random(seed)
    ig.set_random_number_generator(rng)
    try:
        comm = g.community_multilevel(weights=proj.data)
    finally:
        ig.set_random_number_generator(random)
        random.setstate(state)
    memb = np.asarray(comm.membership, dtype=np.int64)
    size = np.bincount(memb)
    internal = np.bincount(memb[proj.row[memb[proj.row] == memb[proj.col]]], minlength=len(size))
    possible = size * (size - 1) / 2
    density = np.divide(internal, possible, out=np.zeros(len(size)), where=possible > 0)
    has_edge = np.zeros(n_a, bool)
    has_edge[proj.row] = True
    has_edge[proj.col] = True
    cluster = _renumber(memb, has_edge & (size[memb] >= 2))
    flagged = (size[memb] >= min_size) & (density[memb] >= min_density)
    out = _result(account_ids, cluster, flagged)
    out.attrs["dropped_ips"] = dropped
    return out


# --------------------------------------------------------------------- 3. FRAUDAR


def _peel(indptr: list[int], indices: list[int], weights: list[float], prio0: np.ndarray) -> tuple[np.ndarray, float]:
    """Greedy peeling of a weighted undirected graph; return the densest prefix-complement.

    The graph is given in CSR over all nodes (accounts and signals); an edge's
    weight appears in both endpoints' rows. Removes the node of least weighted
    degree until none is left, tracking ``f(S) / |S|``; a heap with lazy
    deletion gives O(E log V).
    """
    n = len(prio0)
    prio = prio0.tolist()
    alive = [p > 0 for p in prio]
    n_alive = sum(alive)
    f = float(prio0.sum()) / 2.0
    best = f / n_alive if n_alive else 0.0
    best_step = 0
    heap = [(prio[v], v) for v in range(n) if alive[v]]
    heapq.heapify(heap)
    removed_order: list[int] = []
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        p, v = pop(heap)
        if not alive[v] or p != prio[v]:
            continue
        alive[v] = False
        removed_order.append(v)
        f -= p
        n_alive -= 1
        for j in range(indptr[v], indptr[v + 1]):
            u = indices[j]
            if alive[u]:
                pu = prio[u] - weights[j]
                prio[u] = pu
                push(heap, (pu, u))
        if n_alive > 0:
            g = f / n_alive
            if g > best:
                best, best_step = g, len(removed_order)
    in_block = np.zeros(n, bool)
    live = prio0 > 0
    in_block[live] = True
    in_block[np.asarray(removed_order[:best_step], dtype=np.int64)] = False
    return in_block, best


def fraudar(
    events: Any,
    accounts: Any = None,
    *,
    n_blocks: int = 20,
    min_size: int = 3,
    min_density: float = 1.0,
    signals: Sequence[str] = DEFAULT_SIGNALS,
) -> pd.DataFrame:
    """FRAUDAR dense-block detection on the account x signal incidence matrix.

    Rule: edge (account, signal) weighs ``1 / log(d + 5)`` where ``d`` is the
    signal's number of accounts (the paper's column weighting, recomputed on
    the remaining matrix each round as in the reference code). Greedy peeling
    removes the node (account or signal) with the least weighted degree and
    keeps the node set maximising ``f(S) / |S|``. The block's edges are removed
    and peeling repeats, up to ``n_blocks`` times, stopping early at the first
    block whose density ``f(S) / |S|`` is below ``min_density`` (that block is
    not kept) or when no edge is left. A block can hold several disconnected
    dense groups (peeling keeps every group of equal density together), so
    each kept block is split into the connected components of its induced
    subgraph; each component with at least ``min_size`` accounts is flagged
    and gets its own ``cluster_id`` (an account keeps the first one it gets).

    Notes
    -----
    FRAUDAR itself has no stopping rule: asked for more blocks than there are
    rings, it keeps returning the densest remainder, which on a log of mostly
    independent accounts is the whole background. ``min_density = 1.0`` is an
    analytic cut, not tuned on the benchmark scenarios: one account with only
    private signals has density below ``1 / log 6 ~ 0.56``, and a group needs
    signals shared by several accounts to carry more than one unit of weighted
    edge mass per node.

    Each round is O(E log V) with a binary heap and lazy deletion, in pure
    Python; ``results/quality.md`` has measured times. Rounds repeat the full
    peel, so the cost grows with the number of blocks found.

    References
    ----------
    B. Hooi, H. A. Song, A. Beutel, N. Shah, K. Shin, C. Faloutsos,
    "FRAUDAR: Bounding Graph Fraud in the Face of Camouflage", KDD 2016.
    """
    account_ids, r, c, _ = account_signal_pairs(events, accounts, signals=signals)
    n_a = len(account_ids)
    n_s = int(c.max()) + 1 if c.size else 0
    cluster = np.full(n_a, -1, dtype=np.int64)
    flagged = np.zeros(n_a, bool)
    alive_edge = np.ones(len(r), bool)
    next_id = 0
    for block in range(n_blocks):
        rr, cc = r[alive_edge], c[alive_edge]
        if rr.size == 0:
            break
        deg = np.bincount(cc, minlength=n_s)
        w = 1.0 / np.log(deg[cc] + 5.0)
        n = n_a + n_s
        adj = sp.coo_matrix(
            (np.concatenate([w, w]), (np.concatenate([rr, cc + n_a]), np.concatenate([cc + n_a, rr]))),
            shape=(n, n),
        ).tocsr()
        prio0 = np.asarray(adj.sum(axis=1)).ravel()
        in_block, score = _peel(adj.indptr.tolist(), adj.indices.tolist(), adj.data.tolist(), prio0)
        rows_in = in_block[:n_a]
        cols_in = in_block[n_a:]
        n_rows = int(rows_in.sum())
        logger.info("fraudar block %d: %d accounts, %d signals, density %.3f", block, n_rows, int(cols_in.sum()), score)
        if score < min_density:
            break
        inside = rows_in[rr] & cols_in[cc]
        sub = sp.coo_matrix(
            (np.ones(int(inside.sum()), np.int8), (rr[inside], cc[inside] + n_a)), shape=(n, n)
        ).tocsr()
        _, comp = connected_components(sub, directed=False)
        comp_acc = np.where(rows_in, comp[:n_a], -1)
        size = np.bincount(comp_acc[rows_in], minlength=n) if n_rows else np.zeros(n, np.int64)
        big = rows_in & (size[np.maximum(comp_acc, 0)] >= min_size)
        new = big & (cluster == -1)
        cluster[new] = next_id + comp_acc[new]
        flagged |= big
        next_id += n
        alive_edge &= ~(rows_in[r] & cols_in[c])
    return _result(account_ids, _renumber(cluster, cluster >= 0), flagged)


#: Name -> function, in the order the benchmark reports them.
BASELINES = {
    "shared-id-cc": shared_identifier_components,
    "louvain-ip": louvain_ip_projection,
    "fraudar": fraudar,
}
