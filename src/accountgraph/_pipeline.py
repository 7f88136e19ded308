"""The pipeline behind :class:`~accountgraph.RingDetector`, one private module per stage::

    _schema     validate & quarantine  ->  _signals  account–signal incidence
    _templates  prompt template families (feeds _signals)
    _graph      rarity weights, bounded projection (cliques; sparse circulants past the budget)
    _detect     components + Leiden, detach / attach ->  _scoring  evidence & ring_score
    _result     tables, explanations, exports

:func:`run_pipeline` times each stage (``result.stats["seconds"]``), logs it and
drives the optional progress bar.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ._detect import attach_by_shared_signals, detach_weak_members, find_communities
from ._graph import STATUS_NAMES, build_graph, substantial_families
from ._io import TableLike
from ._result import DetectionResult
from ._schema import Quarantine, _combine, factorize_sorted, validate_accounts, validate_events
from ._scoring import ScoringParams, score_clusters
from ._signals import extract_signals

if TYPE_CHECKING:
    from ._api import RingDetector

__all__ = ["run_pipeline"]

logger = logging.getLogger(__name__)


class _Stage:
    """Log a stage's duration and keep it in ``stats``."""

    def __init__(self, stats: dict[str, Any], name: str, progress: Any) -> None:
        self.stats, self.name, self.progress = stats, name, progress

    def __enter__(self) -> _Stage:
        self.t0 = time.perf_counter()
        if self.progress is not None:
            self.progress.set_description(self.name)
        return self

    def __exit__(self, *exc: object) -> None:
        dt = time.perf_counter() - self.t0
        self.stats.setdefault("seconds", {})[self.name] = round(dt, 4)
        logger.info("stage %s: %.2fs", self.name, dt)
        if self.progress is not None:
            self.progress.update(1)


def _progress_bar(progress: bool | None, total: int):
    import sys

    show = progress if progress is not None else (sys.stderr.isatty())
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="accountgraph", unit="stage", leave=False)


def run_pipeline(p: RingDetector, events: TableLike, accounts: TableLike | None) -> DetectionResult:
    """Run every stage with the parameters of ``p`` (already validated)."""
    stats: dict[str, Any] = {}
    q = Quarantine()
    bar = _progress_bar(p.progress, 6)
    try:
        with _Stage(stats, "validate", bar):
            # ``encoding`` and ``drop_duplicates`` are read-layer options; RingDetector
            # may not define them (yet), hence the defaults here.
            encoding = getattr(p, "encoding", None)
            ev = validate_events(events, columns=p.columns, extra_signals=p.extra_signals, quarantine=q,
                                 encoding=encoding, drop_duplicates=getattr(p, "drop_duplicates", True))
            ac = None
            if accounts is not None:
                ac = validate_accounts(accounts, columns=p.account_columns,
                                       extra_signals=p.account_extra_signals, quarantine=q, encoding=encoding)
            ids = [_combine(ev.account_id).cast(pa.large_string())]
            if ac is not None:
                ids.append(_combine(ac.account_id).cast(pa.large_string()))
            codes, account_ids = factorize_sorted(pa.chunked_array(ids))
            codes = codes.astype(np.int64)
            ev_account = codes[: len(ev)]
            ac_account = codes[len(ev):] if ac is not None else None
            n_acc = len(account_ids)
            stats.update(n_events_in=ev.n_input_rows, n_events=len(ev), n_accounts=n_acc,
                         n_account_rows_in=ac.n_input_rows if ac is not None else 0,
                         n_account_rows=len(ac.account_id) if ac is not None else 0,
                         duplicate_events=ev.n_duplicates)

        with _Stage(stats, "templates", bar):
            ev_family = None
            templates = pd.DataFrame()
            if p.use_templates and ev.prompt is not None and len(ev):
                from ._lsh import sample_per_account_window
                from ._templates import template_families

                sample = None
                if p.prompt_sample_cap is not None:
                    sample = sample_per_account_window(ev_account, ev.timestamp, cap=p.prompt_sample_cap,
                                                       window=p.prompt_sample_window_s * 1_000_000)
                fams = template_families(
                    ev.prompt, threshold=p.template_threshold, num_perm=p.num_perm, seed=p.random_state + 1,
                    sample=sample, n_rows=len(ev),
                )
                ev_family = fams.family
                templates = fams.families
                stats["templates"] = fams.stats

        with _Stage(stats, "signals", bar):
            sig = extract_signals(ev, ev_account, ac, ac_account, template_family=ev_family)
            stats["n_signals"] = sig.n_signals
            stats["n_incidences"] = len(sig.account)

        with _Stage(stats, "graph", bar):
            first_ts = np.full(n_acc, np.iinfo(np.int64).max)
            np.minimum.at(first_ts, ev_account, ev.timestamp)
            n_ev_acc = np.bincount(ev_account, minlength=n_acc)
            # Name-independent account order: first activity, then volume.
            node_key = np.lexsort((-n_ev_acc, first_ts)).argsort()
            substantial = focus = None
            if ev_family is not None:
                substantial, focus = substantial_families(ev_account, ev_family, n_acc)
            graph = build_graph(
                sig, n_acc, max_signal_degree=p.max_signal_degree, hub_share=p.hub_share,
                max_pairs=p.max_pairs, min_link=p.min_link, type_weights=p.type_weights,
                substantial=substantial, focus=focus, corroboration=p.template_corroboration,
                node_key=node_key, seed=p.random_state,
            )
            stats.update(n_edges=graph.n_edges, n_pairs=graph.n_pairs, hub_cap=graph.cap,
                         n_hub_signals=int((graph.status == 2).sum()))

        with _Stage(stats, "communities", bar):
            membership = find_communities(
                graph, method=p.method, resolution=p.resolution, merge_density=p.merge_density,
                seed=p.random_state, node_key=node_key,
            )
            membership, stats["n_detached"] = detach_weak_members(
                membership, graph, min_rel_strength=p.min_member_strength
            )
            membership, stats["n_attached"] = attach_by_shared_signals(
                membership, sig.account, sig.signal, graph, min_signals=p.attach_min_signals,
                min_share=p.attach_min_share,
            )
            acc_cluster, n_cl = _canonical_clusters(membership, node_key, p.min_cluster_size)
            stats["n_clusters"] = n_cl

        with _Stage(stats, "score", bar):
            created = None
            if ac is not None and ac.created_at is not None:
                created = np.full(n_acc, -1, np.int64)
                created[ac_account] = ac.created_at
            feats = score_clusters(
                n_clusters=n_cl, acc_cluster=acc_cluster, ev_account=ev_account, ev_ts_us=ev.timestamp,
                ev_output=ev.output_tokens, ev_family=ev_family, created_us=created,
                ev_model=factorize_sorted(ev.model)[0].astype(np.int64) if ev.model is not None and len(ev) else None,
                params=p.scoring or ScoringParams(),
            )
            # Final ids: rank by score, then size, then the canonical index.
            order = np.lexsort((np.arange(n_cl), -feats["n_accounts"].to_numpy(), -feats["ring_score"].to_numpy()))
            new_id = np.empty(n_cl, np.int64)
            new_id[order] = np.arange(n_cl)
            feats.insert(0, "cluster_id", new_id)
            feats["flagged"] = feats["ring_score"] > p.threshold
            clusters = feats.iloc[order].reset_index(drop=True)
            lead = ["cluster_id", "n_accounts", "n_events", "ring_score", "flagged"]
            clusters = clusters[lead + [c for c in clusters.columns if c not in lead]]
            # A sentinel slot at the end serves accounts in no cluster (index -1).
            acc_cid = np.append(new_id, -1)[acc_cluster]
            acc_score = np.append(feats["ring_score"].to_numpy(), 0.0)[acc_cluster]
            assignments = pd.DataFrame({
                "account_id": pd.Series(np.asarray(account_ids.to_numpy(zero_copy_only=False), dtype=object), dtype=object),
                "cluster_id": acc_cid.astype(np.int64),
                "ring_score": acc_score.astype(np.float64),
                "flagged": acc_score > p.threshold,
            })
            cluster_signals, incidence = _cluster_signals(sig, graph, acc_cid, account_ids)
            cluster_templates = _cluster_templates(acc_cid, ev_account, ev_family, templates)
            evidence = _evidence_tables(
                acc_cid, new_id[order[: p.evidence_clusters]] if n_cl else np.zeros(0, np.int64),
                account_ids, ev_account, ev.timestamp, ev.output_tokens, ev_family, created, graph,
            )
    finally:
        if bar is not None:
            bar.close()

    stats["quarantined_rows"] = q.total
    # rows kept + rows quarantined = rows read, per table
    stats["quarantined_events"] = sum(v for (t, _), v in q.counts.items() if t == "events")
    stats["quarantined_accounts"] = sum(v for (t, _), v in q.counts.items() if t == "accounts")
    stats["n_flagged_accounts"] = int(assignments["flagged"].sum())
    stats["n_flagged_clusters"] = int(clusters["flagged"].sum()) if len(clusters) else 0
    logger.info("detect: %d accounts, %d clusters, %d flagged accounts in %d rings",
                n_acc, n_cl, stats["n_flagged_accounts"], stats["n_flagged_clusters"])
    return DetectionResult(
        assignments=assignments, clusters=clusters, cluster_signals=cluster_signals, templates=templates,
        quarantine=q, stats=stats, params=p.get_params(), _cluster_templates=cluster_templates,
        evidence=evidence,
        _incidence=incidence,
    )


def _canonical_clusters(membership: np.ndarray, node_key: np.ndarray, min_size: int) -> tuple[np.ndarray, int]:
    """Relabel communities 0..k-1 by their first member in ``node_key`` order; small ones -> -1."""
    n = len(membership)
    out = np.full(n, -1, np.int64)
    m = membership >= 0
    if not m.any():
        return out, 0
    labels, inv = np.unique(membership[m], return_inverse=True)
    sizes = np.bincount(inv)
    first = np.full(len(labels), np.iinfo(np.int64).max)
    np.minimum.at(first, inv, node_key[m])
    big = sizes >= min_size
    order = np.argsort(first[big], kind="stable")
    remap = np.full(len(labels), -1, np.int64)
    remap[np.flatnonzero(big)[order]] = np.arange(int(big.sum()))
    out[m] = remap[inv]
    return out, int(big.sum())


def _cluster_signals(sig, graph, acc_cid: np.ndarray, account_ids: pa.Array) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Signals shared by >= 2 accounts of a cluster, with their rarity."""
    cl = acc_cid[sig.account]
    m = cl >= 0
    if not m.any():
        empty = pd.DataFrame(columns=["cluster_id", "signal_id", "signal_type", "value", "accounts_in_cluster",
                                      "accounts_total", "weight", "status"])
        return empty, pd.DataFrame(columns=["cluster_id", "signal_id", "account_id"])
    n_sig = max(sig.n_signals, 1)
    key = cl[m] * n_sig + sig.signal[m]
    u, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
    keep_pair = cnt >= 2
    ucl, usig = u // n_sig, u % n_sig
    ucl, usig, cnt = ucl[keep_pair], usig[keep_pair], cnt[keep_pair]
    type_names = np.asarray(sig.type_names, dtype=object)
    values = sig.signal_value.take(pa.array(usig)).to_numpy(zero_copy_only=False)
    df = pd.DataFrame({
        "cluster_id": ucl.astype(np.int64),
        "signal_id": usig.astype(np.int64),
        "signal_type": type_names[sig.signal_type[usig]],
        "value": np.asarray(values, dtype=object),
        "accounts_in_cluster": cnt.astype(np.int64),
        "accounts_total": graph.degree[usig],
        "weight": graph.weight[usig],
        "status": np.vectorize(STATUS_NAMES.get, otypes=[object])(graph.status[usig]) if len(usig) else [],
    })
    # Most telling first: in-cluster reach times rarity, then exclusivity.
    df["_rank"] = df["accounts_in_cluster"] * np.maximum(df["weight"], 0.01)
    df = df.sort_values(["cluster_id", "_rank", "accounts_in_cluster", "signal_id"],
                        ascending=[True, False, False, True]).drop(columns="_rank").reset_index(drop=True)
    inc_m = np.flatnonzero(m)[keep_pair[inv]]
    ids = np.asarray(account_ids.to_numpy(zero_copy_only=False), dtype=object)
    incidence = pd.DataFrame({
        "cluster_id": cl[inc_m].astype(np.int64),
        "signal_id": sig.signal[inc_m].astype(np.int64),
        "account_id": ids[sig.account[inc_m]],
    })
    return df, incidence


def _cluster_templates(acc_cid, ev_account, ev_family, templates: pd.DataFrame) -> pd.DataFrame:
    """Per cluster, its template families by share of prompts (top 5)."""
    if ev_family is None or templates.empty:
        return pd.DataFrame()
    cl = acc_cid[ev_account]
    m = (cl >= 0) & (ev_family >= 0)
    if not m.any():
        return pd.DataFrame()
    df = pd.DataFrame({"cluster_id": cl[m], "family": ev_family[m]})
    g = df.groupby(["cluster_id", "family"], sort=True).size().rename("prompts").reset_index()
    g["share"] = g["prompts"] / g.groupby("cluster_id")["prompts"].transform("sum")
    g = g.sort_values(["cluster_id", "prompts", "family"], ascending=[True, False, True])
    g = g.groupby("cluster_id", sort=True).head(5)
    rep_col = "representative" if "representative" in templates.columns else None
    if rep_col and "family" in templates.columns:
        g = g.merge(templates[["family", rep_col]], on="family", how="left")
    else:
        g["representative"] = None
    return g.reset_index(drop=True)



def _evidence_tables(acc_cid, keep_ids, account_ids, ev_account, ts_us, output, family, created, graph) -> dict:
    """Compact per-event and per-account evidence for the top clusters, plus population references.

    Everything a dossier, report or plot shows is derived from these tables and
    the cluster tables, so every view agrees. Memory is proportional to the
    events of the kept clusters.
    """
    ids = np.asarray(account_ids.to_numpy(zero_copy_only=False), dtype=object)
    keep = np.zeros(int(acc_cid.max()) + 2 if len(acc_cid) else 1, bool)
    keep[keep_ids] = True
    acc_keep = (acc_cid >= 0) & keep[np.maximum(acc_cid, 0)]
    m = acc_keep[ev_account]
    ev_acc = ev_account[m]
    events = pd.DataFrame({
        "cluster_id": acc_cid[ev_acc],
        "account_id": ids[ev_acc],
        "timestamp": pd.to_datetime(ts_us[m], unit="us", utc=True),
        "output_tokens": output[m] if output is not None else np.full(int(m.sum()), -1, np.int64),
        "family": family[m] if family is not None else np.full(int(m.sum()), -1, np.int64),
    }).sort_values(["cluster_id", "account_id", "timestamp"], kind="stable").reset_index(drop=True)
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
        "account_id": ids[ka],
        "created_at": pd.to_datetime(np.where(created[ka] >= 0, created[ka], np.iinfo(np.int64).min), unit="us", utc=True)
        if created is not None else pd.Series(pd.NaT, index=range(len(ka)), dtype="datetime64[us, UTC]"),
        "n_events": n_ev[ka],
        "first_seen": pd.to_datetime(np.where(has_ev, first[ka], np.iinfo(np.int64).min), unit="us", utc=True),
        "last_seen": pd.to_datetime(np.where(has_ev, last[ka], np.iinfo(np.int64).min), unit="us", utc=True),
    }).sort_values(["cluster_id", "account_id"]).reset_index(drop=True)
    e = acc_keep[graph.src] & (acc_cid[graph.src] == acc_cid[graph.dst])
    edges = pd.DataFrame({
        "cluster_id": acc_cid[graph.src[e]],
        "source": ids[graph.src[e]],
        "target": ids[graph.dst[e]],
        "weight": graph.link[e],
    }).sort_values(["cluster_id", "source", "target"]).reset_index(drop=True)
    hour = (ts_us // 3_600_000_000) % 24
    uncl = acc_cid[ev_account] == -1
    population = {
        "hour_of_day": np.bincount(hour, minlength=24).astype(np.int64),
        "hour_of_day_unclustered": np.bincount(hour[uncl], minlength=24).astype(np.int64),
    }
    if output is not None and (output >= 0).any():
        bins = np.unique(np.concatenate([[0], np.geomspace(1, max(int(output.max()), 2) + 1, 40).astype(np.int64)]))
        population["output_bins"] = bins
        population["output_hist"] = np.histogram(output[output >= 0], bins=bins)[0]
        population["output_hist_unclustered"] = np.histogram(output[(output >= 0) & uncl], bins=bins)[0]
    return {"events": events, "accounts": accounts, "edges": edges, "population": population}
