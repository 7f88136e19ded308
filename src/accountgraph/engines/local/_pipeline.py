"""The local engine: every stage in this process, in order, each timed.

::

    validate    validate & quarantine, account codes      (accountgraph.ingest)
    templates   prompt-template families                  (accountgraph.templates)
    signals     account–signal incidence                  (accountgraph.signals)
    graph       rarity weights, bounded projection        (accountgraph.graph)
    communities components + Leiden, detach / attach      (accountgraph.communities)
    score       evidence features and ring_score          (accountgraph.scoring)
    views       result tables and evidence                (accountgraph.views)

:func:`run_pipeline` keeps each stage's time in ``result.stats["seconds"]`` and its
peak resident memory in ``result.stats["peak_rss_mib"]``, logs them and drives the
optional progress bars (one over the stages, one inside long stages).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ...communities import attach_by_shared_signals, detach_weak_members, find_communities
from ...graph import HUB, AccountGraph, project, substantial_families
from ...ingest import (
    Quarantine,
    TableLike,
    ValidAccounts,
    ValidEvents,
    factorize_sorted,
    factorize_union,
    validate_accounts,
    validate_events,
)
from ...scoring import (add_team_blocks, apply_model, cluster_features, infrastructure_masks, load_model,
                       member_scores, signal_concentration)
from ...signals import ClusterPairs, SignalTable, cluster_pairs, extract_signals
from ...templates import TemplateFamilies, sample_per_account_window, template_families
from ...views import (
    Deferred,
    DetectionResult,
    assignments_table,
    cluster_signals,
    cluster_template_counts,
    cluster_templates,
    evidence_tables,
    rank_clusters,
    with_representatives,
)
from ..._parallel import Lane, beside
from ..._progress import enabled, reporting
from ..._resources import Meter, release_free_memory
from ..._seeds import apply_known_bad, seed_mask
from .._base import PipelineConfig
from ..._unique import lexsort

__all__ = ["LocalEngine", "run_pipeline"]

logger = logging.getLogger(__name__)


class _Stage:
    """Log a stage's duration and peak memory and keep them in ``stats``."""

    def __init__(self, stats: dict[str, Any], name: str, progress: Any) -> None:
        self.stats, self.name, self.progress = stats, name, progress

    def __enter__(self) -> _Stage:
        release_free_memory()  # what the stages before freed, out of the allocators' pools
        self.meter = Meter().__enter__()
        if self.progress is not None:
            self.progress.set_description(self.name)
        return self

    def __exit__(self, *exc: object) -> None:
        m = self.meter
        m.__exit__(*exc)
        self.stats.setdefault("seconds", {})[self.name] = round(m.seconds, 4)
        self.stats.setdefault("peak_rss_mib", {})[self.name] = round(m.peak_mib, 1)
        logger.info("stage %s: %.2fs, peak RSS %.0f MiB", self.name, m.seconds, m.peak_mib)
        if self.progress is not None:
            self.progress.update(1)


def _progress_bar(progress: bool | None, total: int) -> Any:
    if not enabled(progress):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="accountgraph", unit="stage", leave=False, position=0)


@dataclass
class _Inputs:
    """Validated tables and the account code of each row.

    The event columns no later stage reads are released as the stages finish
    (:meth:`release`): ``ev.account_id`` once every event has its code, the device,
    payment and extra columns after the signals stage, the IP and model columns after
    scoring. From a Parquet path each is 4 bytes per event that the process no longer
    holds through the graph, scoring and views stages (the peak of a run).
    """

    ev: ValidEvents
    ac: ValidAccounts | None
    ev_account: np.ndarray
    ac_account: np.ndarray | None
    account_ids: pa.Array

    @property
    def n_accounts(self) -> int:
        return len(self.account_ids)

    def release(self, *columns: str) -> None:
        """Drop this run's references to event ``columns`` (set to ``None``; ``extra`` to ``{}``)."""
        self.ev = replace(self.ev, **{c: ({} if c == "extra" else None) for c in columns})


def _ingest(cfg: PipelineConfig, events: TableLike, accounts: TableLike | None, q: Quarantine) -> _Inputs:
    """Validate both tables and give every account a row-order-free code."""
    p = cfg.ingest
    ev = validate_events(events, columns=p.columns, extra_signals=p.extra_signals, quarantine=q,
                         encoding=p.encoding, drop_duplicates=p.drop_duplicates)
    ac = None
    if accounts is not None:
        ac = validate_accounts(accounts, columns=p.account_columns, extra_signals=p.account_extra_signals,
                               quarantine=q, encoding=p.encoding)
    ids = [ev.account_id] + ([ac.account_id] if ac is not None else [])
    codes, account_ids = factorize_union(ids)  # int32 while there are fewer than 2**31 accounts
    inp = _Inputs(ev, ac, codes[0], codes[1] if ac is not None else None, account_ids)
    inp.release("account_id")  # every event has its code
    return inp


def _templates(cfg: PipelineConfig, inp: _Inputs, stats: dict[str, Any]) -> tuple[np.ndarray | None, TemplateFamilies | None]:
    """Template family of each event (``None`` without prompts) and the families."""
    p, ev = cfg.templates, inp.ev
    if not (p.enabled and ev.prompt is not None and len(ev)):
        return None, None
    sample = None
    if p.sample_cap is not None:
        sample = sample_per_account_window(inp.ev_account, ev.timestamp, cap=p.sample_cap,
                                           window=p.sample_window_s * 1_000_000)
    fams = template_families(
        ev.prompt, similarity=p.similarity, num_perm=p.num_perm, shingle_width=p.shingle_width,
        seed=cfg.seed + 1, sample=sample, batch_rows=p.batch_rows, n_rows=len(ev),
    )
    stats["templates"] = fams.stats
    family = fams.family
    if len(family) and int(family.max()) < 2**31 - 1:
        family = family.astype(np.int32)  # 4 bytes per event for the rest of the run
    return family, (fams.texts_only() if hasattr(fams, "texts_only") else fams)


def _node_key(inp: _Inputs) -> np.ndarray:
    """Name-independent account order: first activity, then volume."""
    first_ts = np.full(inp.n_accounts, np.iinfo(np.int64).max)
    np.minimum.at(first_ts, inp.ev_account, inp.ev.timestamp)
    n_ev_acc = np.bincount(inp.ev_account, minlength=inp.n_accounts)
    return lexsort((-n_ev_acc, first_ts)).argsort()


def _graph(cfg: PipelineConfig, inp: _Inputs, sig: SignalTable, ev_family: np.ndarray | None,
           node_key: np.ndarray) -> AccountGraph:
    """Weight the signals and project them (with template corroboration)."""
    families: Callable[[], tuple[np.ndarray | None, np.ndarray | None]] = lambda: (None, None)
    if ev_family is not None:  # needed last, by the corroboration: computed on another core meanwhile
        families = beside(functools.partial(substantial_families, top=cfg.templates.substantial_top,
                                            min_share=cfg.templates.substantial_share),
                          inp.ev_account, ev_family, inp.n_accounts)
    return project(sig, inp.n_accounts, cfg.graph, families, node_key=node_key, seed=cfg.seed)


def _communities(cfg: PipelineConfig, graph: AccountGraph, sig: SignalTable, node_key: np.ndarray,
                 stats: dict[str, Any]) -> tuple[np.ndarray, int]:
    """Canonical cluster index per account (-1: none) and the number of clusters."""
    p = cfg.communities
    membership = find_communities(
        graph, method=p.method, resolution=p.resolution, split_min_size=p.split_min_size,
        merge_density=p.merge_density, seed=cfg.seed, node_key=node_key, n_iterations=p.n_iterations,
        oversize_share=p.oversize_share, oversize_min=p.oversize_min, top_links=p.leiden_links,
    )
    membership, stats["n_detached"] = detach_weak_members(
        membership, graph, min_strength=p.detach_min_strength, min_size=p.detach_min_size,
        quantile=p.detach_quantile, max_links=p.detach_max_links,
    )
    membership, stats["n_attached"] = attach_by_shared_signals(
        membership, sig.account, sig.signal, graph, min_signals=p.attach_min_signals,
        min_share=p.attach_min_share, min_size=p.attach_min_size, min_concentration=p.attach_min_concentration,
        min_presence=p.attach_min_presence, min_strength=p.attach_min_strength, rounds=p.attach_rounds,
    )
    return _canonical_clusters(membership, node_key, p.min_cluster_size)


def _score(cfg: PipelineConfig, inp: _Inputs, acc_cluster: np.ndarray, n_cl: int,
           ev_family: np.ndarray | None, pairs_later: Callable[[], ClusterPairs],
           graph: AccountGraph, sig: SignalTable,
           lane: Lane | None = None) -> tuple[pd.DataFrame, np.ndarray | None, ClusterPairs]:
    """Evidence features and ring score per canonical cluster; creation time per account; the pairs.

    ``pairs_later`` gives the :func:`cluster_pairs` (computed beside the other features),
    needed for ``signal_concentration`` and the team blocks (:func:`add_team_blocks`).
    """
    ev, ac = inp.ev, inp.ac
    created = None
    if ac is not None and ac.created_at is not None:
        created = np.full(inp.n_accounts, -1, np.int64)
        created[inp.ac_account] = ac.created_at
    model = factorize_sorted(ev.model)[0] if ev.model is not None and len(ev) else None  # int32 codes
    feats = cluster_features(
        n_clusters=n_cl, acc_cluster=acc_cluster, ev_account=inp.ev_account, ev_ts_us=ev.timestamp,
        ev_output=ev.output_tokens, ev_family=ev_family, created_us=created, ev_model=model,
        ev_ip=_ip_codes(ev), burst_window_s=cfg.scoring.burst_window_s, lane=lane,
    )
    pairs = pairs_later()
    feats["signal_concentration"] = signal_concentration(pairs, graph.degree, n_cl)
    infra, ip, present = infrastructure_masks(sig.type_names, sig.signal_type, graph.weight)
    feats = add_team_blocks(feats, sig.account, sig.signal, sig.n_events, acc_cluster, pairs, infra, ip,
                            cfg.scoring.team_block_candidates, present)
    feats = apply_model(feats, len(acc_cluster), cfg.scoring, load_model(cfg.scoring.model))
    return feats, created, pairs


def _ip_codes(ev: ValidEvents) -> np.ndarray | None:
    """A code per event's IP (-1: none; int32 below 2**31 IPs); codes are arbitrary, only equality matters."""
    if ev.ip is None or not len(ev):
        return None
    return factorize_sorted(ev.ip)[0]  # streamed input: its codes as they are


def run_pipeline(cfg: PipelineConfig, events: TableLike, accounts: TableLike | None,
                 known_bad: np.ndarray | None = None) -> DetectionResult:
    """Run every stage with the (validated) parameters ``cfg``; ``known_bad``: seed account ids (see ``_seeds``)."""
    stats: dict[str, Any] = {}
    q = Quarantine()
    bar = _progress_bar(cfg.progress, 7)
    try:
        with reporting(cfg.progress):
            return _run_stages(cfg, events, accounts, q, stats, bar, known_bad)
    finally:
        if bar is not None:
            bar.close()


def _run_stages(cfg: PipelineConfig, events: TableLike, accounts: TableLike | None, q: Quarantine,
                stats: dict[str, Any], bar: Any, known_bad: np.ndarray | None = None) -> DetectionResult:
    """The stages in order, each timed and metered."""
    with _Stage(stats, "validate", bar):
        inp = _ingest(cfg, events, accounts, q)
        ac = inp.ac
        stats.update(n_events_in=inp.ev.n_input_rows, n_events=len(inp.ev), n_accounts=inp.n_accounts,
                     n_account_rows_in=ac.n_input_rows if ac is not None else 0,
                     n_account_rows=len(ac.account_id) if ac is not None else 0,
                     duplicate_events=inp.ev.n_duplicates)
    with _Stage(stats, "templates", bar):
        ev_family, templates = _templates(cfg, inp, stats)
    with _Stage(stats, "signals", bar):
        sig = extract_signals(inp.ev, inp.ev_account, inp.ac, inp.ac_account, template_family=ev_family)
        stats.update(n_signals=sig.n_signals, n_incidences=len(sig.account))
        inp.release("device_id", "payment_id", "extra", "prompt")  # scoring reads IPs and models, views neither
    with _Stage(stats, "graph", bar):
        node_key = _node_key(inp)
        graph = _graph(cfg, inp, sig, ev_family, node_key)
        stats.update(n_edges=graph.n_edges, n_pairs=graph.n_pairs, hub_cap=graph.cap, type_caps=graph.type_caps,
                     n_hub_signals=int((graph.status == HUB).sum()))
    with _Stage(stats, "communities", bar):
        acc_cluster, n_cl = _communities(cfg, graph, sig, node_key, stats)
        stats["n_clusters"] = n_cl
    with _Stage(stats, "score", bar), Lane() as lane:
        # (cluster, signal) pairs, for scoring and views, beside the other features; the
        # infrastructure features queue after them on the same helper thread (not a third)
        pairs_later = beside(cluster_pairs, sig.account, sig.signal, acc_cluster, sig.n_signals, lane=lane)
        feats, created, pairs = _score(cfg, inp, acc_cluster, n_cl, ev_family, pairs_later, graph, sig, lane)
        seeds = None
        if known_bad is not None:
            seeds = seed_mask(inp.account_ids, known_bad)
            feats = apply_known_bad(feats, acc_cluster, seeds)
            stats["n_known_bad"] = int(seeds.sum())
        inp.release("ip", "model")
    with _Stage(stats, "views", bar):
        return _result(cfg, inp, feats, acc_cluster, sig, graph, ev_family, templates, created, q, stats, pairs,
                       seeds)


def _result(cfg: PipelineConfig, inp: _Inputs, feats: pd.DataFrame, acc_cluster: np.ndarray, sig: SignalTable,
            graph: AccountGraph, ev_family: np.ndarray | None, templates: TemplateFamilies | None, created: np.ndarray | None,
            q: Quarantine, stats: dict[str, Any], pairs: Any, seeds: np.ndarray | None = None) -> DetectionResult:
    """Rank the clusters and build every result table (``pairs``: :func:`cluster_pairs`, shared with scoring)."""
    clusters, new_id = rank_clusters(feats, cfg.threshold)
    template = np.zeros(sig.n_signals, bool)
    if "template" in sig.type_names:
        template = sig.signal_type == sig.type_names.index("template")
    member = member_scores(sig.account, sig.signal, acc_cluster, graph.degree, graph.weight, pairs,
                           n_events=sig.n_events, template=template)
    assignments, acc_cid = assignments_table(inp.account_ids, acc_cluster, new_id, feats["ring_score"].to_numpy(),
                                             cfg.threshold, member, cfg.scoring.min_member_score)
    if seeds is not None:
        assignments["known_bad"] = seeds
    shared, incidence = cluster_signals(sig, graph, acc_cid, inp.account_ids, pairs, new_id)
    per_cluster_templates, templates_table = _template_tables(acc_cid, inp.ev_account, ev_family, templates)
    keep = clusters["cluster_id"].to_numpy()[: cfg.evidence_clusters].astype(np.int64)
    ev = inp.ev
    evidence = evidence_tables(acc_cid, keep, inp.account_ids, inp.ev_account, ev.timestamp, ev.output_tokens,
                               ev_family, created, graph)
    stats["quarantined_rows"] = q.total
    # rows kept + rows quarantined = rows read, per table
    stats["quarantined_events"] = sum(v for (t, _), v in q.counts.items() if t == "events")
    stats["quarantined_accounts"] = sum(v for (t, _), v in q.counts.items() if t == "accounts")
    stats["n_flagged_accounts"] = int(assignments["flagged"].sum())
    stats["n_flagged_clusters"] = int(clusters["flagged"].sum()) if len(clusters) else 0
    logger.info("detect: %d accounts, %d clusters, %d flagged accounts in %d rings", inp.n_accounts,
                len(clusters), stats["n_flagged_accounts"], stats["n_flagged_clusters"])
    return DetectionResult(
        assignments=assignments, clusters=clusters, cluster_signals=shared, templates=templates_table, quarantine=q,
        stats=stats, params=cfg.to_params(), _cluster_templates=per_cluster_templates, evidence=evidence,
        _incidence=incidence,
    )


def _template_tables(acc_cid: np.ndarray, ev_account: np.ndarray, ev_family: np.ndarray | None,
                     fams: TemplateFamilies | None) -> tuple[Any, Any]:
    """Per-cluster top families and the family table; their texts deferred while they are on disk."""
    if fams is None:
        return pd.DataFrame(), pd.DataFrame()
    if not getattr(fams, "is_lazy", False):
        table = fams.families
        return cluster_templates(acc_cid, ev_account, ev_family, table), table
    counts = cluster_template_counts(acc_cid, ev_account, ev_family)
    per_cluster = Deferred(lambda: with_representatives(counts, fams.representatives)) if len(counts) \
        else pd.DataFrame()
    return per_cluster, Deferred(lambda: fams.families)


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


class LocalEngine:
    """Runs the pipeline in this process (numpy, igraph's C core, compiled kernels)."""

    name = "local"

    def run(self, config: PipelineConfig, events: TableLike, accounts: TableLike | None, *,
            known_bad: np.ndarray | None = None) -> DetectionResult:
        """See :class:`~accountgraph.engines.Engine`; ``known_bad``: seed account ids (``_seeds.known_bad_ids``)."""
        return run_pipeline(config, events, accounts, known_bad)
