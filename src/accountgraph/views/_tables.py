"""Result tables built from the stages' arrays: ranked clusters, assignments, shared signals, evidence.

Every view (dossiers, report, plots, exports) reads these tables, so they all
agree. Engines call :func:`rank_clusters` and :func:`assignments_table` on the
scored clusters, then the evidence builders.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..graph import STATUS_NAMES, AccountGraph
from ..signals import ClusterPairs, SignalTable, account_order, cluster_pairs
from .._unique import counts_in_place, lexsort
from ._deferred import Deferred
from ._incidence import INCIDENCE_COLUMNS, IncidenceRows
from ._strings import string_column

__all__ = ["assignments_table", "cluster_signals", "cluster_template_counts", "cluster_templates", "evidence_tables",
           "rank_clusters", "string_column", "with_representatives"]


def rank_clusters(feats: pd.DataFrame, threshold: float) -> tuple[pd.DataFrame, np.ndarray]:
    """Final cluster ids and the ``clusters`` table.

    Clusters are ranked by ring score, then size, then their canonical index;
    ``flagged`` is ``ring_score > threshold``. Returns ``(clusters, new_id)``
    where ``new_id[k]`` is the final id of canonical cluster ``k``.
    """
    n_cl = len(feats)
    order = lexsort((np.arange(n_cl), -feats["n_accounts"].to_numpy(), -feats["ring_score"].to_numpy()))
    new_id = np.empty(n_cl, np.int64)
    new_id[order] = np.arange(n_cl)
    feats = feats.copy()
    feats.insert(0, "cluster_id", new_id)
    feats["flagged"] = feats["ring_score"] > threshold
    clusters = feats.iloc[order].reset_index(drop=True)
    lead = ["cluster_id", "n_accounts", "n_events", "ring_score", "flagged"]
    return clusters[lead + [c for c in clusters.columns if c not in lead]], new_id


def assignments_table(account_ids: pa.Array, acc_cluster: np.ndarray, new_id: np.ndarray, scores: np.ndarray,
                      threshold: float, member: np.ndarray | None = None,
                      min_member: float = 0.0) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per account: ``account_id``, ``cluster_id`` (-1: none), ``ring_score``, ``member_score``, ``flagged``.

    ``acc_cluster`` holds canonical cluster indices and ``scores`` the ring
    score per canonical cluster; ``member`` the member score per account
    (default 1 inside a cluster). An account is flagged when its cluster's
    score is above ``threshold`` and its member score is at least
    ``min_member``. Returns the table and the final cluster id per account.
    """
    # A sentinel slot at the end serves accounts in no cluster (index -1).
    acc_cid = np.append(new_id, -1)[acc_cluster]
    acc_score = np.append(scores, 0.0)[acc_cluster]
    if member is None:
        member = (acc_cluster >= 0).astype(np.float64)
    table = pd.DataFrame({
        "account_id": pd.Series(np.asarray(account_ids.to_numpy(zero_copy_only=False), dtype=object), dtype=object),
        "cluster_id": acc_cid.astype(np.int64),
        "ring_score": acc_score.astype(np.float64),
        "member_score": member.astype(np.float64),
        "flagged": (acc_score > threshold) & (member >= min_member),
    })
    return table, acc_cid


def cluster_signals(sig: SignalTable, graph: AccountGraph, acc_cid: np.ndarray, account_ids: pa.Array,
                    pairs: ClusterPairs | None = None,
                    new_id: np.ndarray | None = None) -> tuple[pd.DataFrame, pd.DataFrame | Deferred]:
    """Signals shared by >= 2 accounts of a cluster, with their rarity; and their incidences.

    ``pairs`` (:func:`~accountgraph.signals.cluster_pairs`, over the canonical
    clusters that ``new_id`` maps to the final ids ``acc_cid``) saves
    recomputing the grouping the member scores already did. The incidences (one
    row per account holding a shared signal of its cluster) come as a
    :class:`~._deferred.Deferred` over :class:`~._incidence.IncidenceRows`: the
    result builds the table when it is first read.
    """
    if pairs is None:
        pairs, new_id = cluster_pairs(sig.account, sig.signal, acc_cid, sig.n_signals), None
    if not len(pairs.rows):
        empty = pd.DataFrame(columns=["cluster_id", "signal_id", "signal_type", "value", "accounts_in_cluster",
                                      "accounts_total", "weight", "status"])
        return empty, pd.DataFrame(columns=INCIDENCE_COLUMNS)
    keep_pair = pairs.count >= 2
    ucl = pairs.cluster[keep_pair] if new_id is None else new_id[pairs.cluster[keep_pair]]
    usig, cnt = pairs.signal[keep_pair], pairs.count[keep_pair]
    status_names = pa.array([STATUS_NAMES.get(k) for k in range(max(STATUS_NAMES) + 1)], pa.string())
    df = pd.DataFrame({
        "cluster_id": ucl.astype(np.int64),
        "signal_id": usig.astype(np.int64),
        "signal_type": string_column(pa.array(list(sig.type_names), pa.string()), sig.signal_type[usig]),
        "value": string_column(sig.signal_value, usig),
        "accounts_in_cluster": cnt.astype(np.int64),
        "accounts_total": graph.degree[usig],
        "weight": graph.weight[usig],
        "status": string_column(status_names, graph.status[usig]),
    })
    # Most telling first: in-cluster reach times rarity, then exclusivity.
    df["_rank"] = df["accounts_in_cluster"] * np.maximum(df["weight"], 0.01)
    df = df.sort_values(["cluster_id", "_rank", "accounts_in_cluster", "signal_id"],
                        ascending=[True, False, False, True]).drop(columns="_rank").reset_index(drop=True)
    inc_m = pairs.rows[keep_pair[pairs.pair]]
    acc = sig.account[inc_m]
    # n_events: events behind the pair (1 for an account attribute). Built as a table when first read.
    rows = IncidenceRows(acc_cid[acc], sig.signal[inc_m], acc, sig.n_events[inc_m], account_ids)
    return df, Deferred(rows)


def cluster_template_counts(acc_cid: np.ndarray, ev_account: np.ndarray, ev_family: np.ndarray | None) -> pd.DataFrame:
    """Per cluster, its template families by share of prompts (top 5), without their texts.

    Columns ``cluster_id``, ``family``, ``prompts``, ``share``; sorted by
    cluster, then prompts (descending), then family. One ``unique`` over the
    clustered prompts (no per-event frame).
    """
    empty = pd.DataFrame()
    if ev_family is None:
        return empty
    m = (acc_cid >= 0)[ev_account]  # no event-sized cluster array
    m &= ev_family >= 0
    if not m.any():
        return empty
    n_fam = int(ev_family.max()) + 1
    key, prompts = _sorted_counts(acc_cid, ev_account[m], ev_family[m], n_fam)
    cid, fam = key // n_fam, key % n_fam
    _, inv = np.unique(cid, return_inverse=True)
    share = prompts / np.bincount(inv, weights=prompts)[inv]
    order = lexsort((fam, -prompts, cid))
    cid, fam, prompts, share = cid[order], fam[order], prompts[order], share[order]
    rank = np.arange(len(cid)) - np.searchsorted(cid, cid, side="left")
    top = rank < 5
    return pd.DataFrame({"cluster_id": cid[top].astype(np.int64), "family": fam[top].astype(np.int64),
                         "prompts": prompts[top].astype(np.int64), "share": share[top]})


def _sorted_counts(acc_cid: np.ndarray, acc: np.ndarray, family: np.ndarray,
                   n_fam: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(acc_cid[acc] * n_fam + family, return_counts=True)`` with one int64 key array,
    built and sorted in place (the clustered prompts: 38M at seed scale)."""
    key = acc_cid[acc].astype(np.int64, copy=False)  # the gather is a fresh array: modified in place
    key *= n_fam
    key += family
    return counts_in_place(key)


def with_representatives(counts: pd.DataFrame, representatives: Any) -> pd.DataFrame:
    """``counts`` with a ``representative`` text per row; ``representatives(families) -> texts``."""
    out = counts.copy()
    out["representative"] = pd.Series(representatives(counts["family"].to_numpy()) if len(counts) else [],
                                      index=out.index, dtype=object)
    return out


def cluster_templates(acc_cid: np.ndarray, ev_account: np.ndarray, ev_family: np.ndarray | None,
                      templates: pd.DataFrame) -> pd.DataFrame:
    """Per cluster, its template families by share of prompts (top 5), with the family's representative."""
    counts = cluster_template_counts(acc_cid, ev_account, ev_family)
    if counts.empty or templates.empty:
        return pd.DataFrame()
    if "representative" in templates.columns and "family" in templates.columns:
        rep = templates.set_index("family")["representative"]
        out = with_representatives(counts, lambda f: rep.reindex(f).tolist())
        return out.astype({"representative": rep.dtype})
    return with_representatives(counts, lambda f: [None] * len(f))


def _kept_event_order(acc_keep: np.ndarray, acc_cid: np.ndarray, ev_account: np.ndarray,
                      ts_us: np.ndarray) -> np.ndarray:
    """Rows of the kept accounts' events sorted by (cluster, account, time), ties in row order.

    Account codes follow the sorted ids, so this is the order of sorting the text. Events in
    time order (as logs are) need only a stable counting sort by the accounts' (cluster, account)
    rank; others are put in time order first. (The two int64 sorts of keys took ~1 GiB of
    temporaries for the ring's 20M+ events at seed scale.)
    """
    rows = np.flatnonzero(acc_keep[ev_account])
    if len(rows) > 1 and not bool((ts_us[1:] >= ts_us[:-1]).all()):
        rows = rows[np.argsort(ts_us[rows], kind="stable")]
    ka = np.flatnonzero(acc_keep)
    rank = np.zeros(len(acc_cid), np.int32 if len(ka) < 2**31 else np.int64)
    rank[ka[lexsort((ka, acc_cid[ka]))]] = np.arange(len(ka))
    by = account_order(rank[ev_account[rows]], max(len(ka), 1))  # stable: time order kept per account
    return rows[by.order]


_POPULATION_CHUNK = 1 << 22  # events per chunk of the population histograms


def _population(ts_us: np.ndarray, output: np.ndarray | None, uncl_acc: np.ndarray,
                ev_account: np.ndarray) -> dict[str, np.ndarray]:
    """Hour-of-day and output-length histograms of all events and of the unclustered accounts' events.

    By chunks of events (integer counts, so the sums equal one pass over all of them): the
    event-sized hour, mask and selection temporaries were ~1.3 GiB at seed scale.
    """
    n = len(ts_us)
    hours, hours_uncl = np.zeros(24, np.int64), np.zeros(24, np.int64)
    has_output = output is not None and bool((output >= 0).any())
    if has_output:
        bins = np.unique(np.concatenate([[0], np.geomspace(1, max(int(output.max()), 2) + 1, 40).astype(np.int64)]))
        hist, hist_uncl = np.zeros(len(bins) - 1, np.int64), np.zeros(len(bins) - 1, np.int64)
    for lo in range(0, n, _POPULATION_CHUNK):
        hi = min(lo + _POPULATION_CHUNK, n)
        hour = ts_us[lo:hi] // 3_600_000_000
        hour %= 24
        uncl = uncl_acc[ev_account[lo:hi]]
        hours += np.bincount(hour, minlength=24)
        hours_uncl += np.bincount(hour[uncl], minlength=24)
        if has_output:
            out = output[lo:hi]
            ok = out >= 0
            hist += np.histogram(out[ok], bins=bins)[0]
            hist_uncl += np.histogram(out[ok & uncl], bins=bins)[0]
    population = {"hour_of_day": hours, "hour_of_day_unclustered": hours_uncl}
    if has_output:
        population.update(output_bins=bins, output_hist=hist, output_hist_unclustered=hist_uncl)
    return population


def evidence_tables(acc_cid: np.ndarray, keep_ids: np.ndarray, account_ids: pa.Array, ev_account: np.ndarray,
                    ts_us: np.ndarray, output: np.ndarray | None, family: np.ndarray | None,
                    created: np.ndarray | None, graph: AccountGraph) -> dict[str, Any]:
    """Compact per-event and per-account evidence for the top clusters, plus population references.

    Everything a dossier, report or plot shows is derived from these tables and
    the cluster tables, so every view agrees. Memory is proportional to the
    events of the kept clusters.
    """
    keep = np.zeros(int(acc_cid.max()) + 2 if len(acc_cid) else 1, bool)
    keep[keep_ids] = True
    acc_keep = (acc_cid >= 0) & keep[np.maximum(acc_cid, 0)]
    rows = _kept_event_order(acc_keep, acc_cid, ev_account, ts_us)
    ev_acc = ev_account[rows]
    events = pd.DataFrame({
        "cluster_id": acc_cid[ev_acc].astype(np.int64),
        "account_id": string_column(account_ids, ev_acc),
        "timestamp": pd.to_datetime(ts_us[rows], unit="us", utc=True),
        "output_tokens": output[rows].astype(np.int64) if output is not None else np.full(len(rows), -1, np.int64),
        "family": family[rows].astype(np.int64) if family is not None else np.full(len(rows), -1, np.int64),
    }, copy=False)  # fresh columns: kept as they are, not copied into one block (an event-sized copy)
    n_acc = len(acc_cid)
    n_ev = np.bincount(ev_account, minlength=n_acc)
    first = np.full(n_acc, np.iinfo(np.int64).max)
    last = np.full(n_acc, np.iinfo(np.int64).min)
    np.minimum.at(first, ev_account, ts_us)
    np.maximum.at(last, ev_account, ts_us)
    ka = np.flatnonzero(acc_keep)
    has_ev = n_ev[ka] > 0
    accounts = pd.DataFrame({
        "cluster_id": acc_cid[ka],
        "account_id": string_column(account_ids, ka),
        "created_at": pd.to_datetime(np.where(created[ka] >= 0, created[ka], np.iinfo(np.int64).min), unit="us", utc=True)
        if created is not None else pd.Series(pd.NaT, index=range(len(ka)), dtype="datetime64[us, UTC]"),
        "n_events": n_ev[ka],
        "first_seen": pd.to_datetime(np.where(has_ev, first[ka], np.iinfo(np.int64).min), unit="us", utc=True),
        "last_seen": pd.to_datetime(np.where(has_ev, last[ka], np.iinfo(np.int64).min), unit="us", utc=True),
    }).iloc[lexsort((ka, acc_cid[ka]))].reset_index(drop=True)  # by (cluster, account id)
    e = np.flatnonzero(acc_keep[graph.src] & (acc_cid[graph.src] == acc_cid[graph.dst]))
    e = e[lexsort((graph.dst[e], graph.src[e], acc_cid[graph.src[e]]))]  # by (cluster, source, target)
    edges = pd.DataFrame({
        "cluster_id": acc_cid[graph.src[e]],
        "source": string_column(account_ids, graph.src[e]),
        "target": string_column(account_ids, graph.dst[e]),
        "weight": graph.link[e],
    })
    population = _population(ts_us, output, acc_cid == -1, ev_account)
    return {"events": events, "accounts": accounts, "edges": edges, "population": population}
