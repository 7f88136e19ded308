"""The monitor's state as a :class:`~accountgraph.DetectionResult`, for dossiers and the HTML report.

The views of :mod:`accountgraph.views` are built on a small world made of the
accounts in a ring: their incidences (with the state's degrees and rarity),
the links among them, their kept events plus the population reference sample
the scorer saw. Cluster ids are this update's ranks of the rings, so the
dossiers and the report read exactly like those of :func:`accountgraph.detect`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..engines import PipelineConfig
from ..graph import HUB, LINKED, UNSHARED, AccountGraph, rarity_weight
from ..ingest import Quarantine
from ..signals import SignalTable
from ..views import DetectionResult, cluster_signals, cluster_templates, evidence_tables
from ._scoring import reference_events
from ._state import State, unpack
from ._tables import assignments_frame, ring_ranks, rings_frame

__all__ = ["monitor_result"]


def _clusters(state: State) -> tuple[pd.DataFrame, np.ndarray]:
    """The rings as a ``clusters`` table ranked like detect's, and the rank of each ring id."""
    t = rings_frame(state)
    rank = ring_ranks(state)
    t.insert(0, "cluster_id", np.arange(len(t), dtype=np.int64))
    lead = ["cluster_id", "n_accounts", "n_events", "ring_score", "flagged", "ring_id", "status"]
    return t[lead + [c for c in t.columns if c not in lead]], rank


def _local_world(state: State, cfg: PipelineConfig, keep: np.ndarray) -> tuple[SignalTable, AccountGraph, np.ndarray]:
    """Incidences and links of the ``keep`` accounts, re-indexed; returns also the local -> global account map."""
    accounts = np.flatnonzero(keep)
    local = np.full(state.n_accounts, -1, np.int64)
    local[accounts] = np.arange(len(accounts))
    acc, sig = unpack(state.inc_key)
    m = keep[acc]
    usig, s_local = np.unique(sig[m], return_inverse=True)
    types = state.sig_type[usig].astype(np.int64)
    used_types, t_local = np.unique(types, return_inverse=True)
    table = SignalTable(account=local[acc[m]], signal=s_local.reshape(-1), n_events=state.inc_n[m],
                        signal_type=t_local.reshape(-1).astype(np.int16),
                        signal_value=state.signal_values().take(pa.array(usig)),
                        type_names=[state.type_names[i] for i in used_types])
    p = cfg.graph
    cap = float(min(p.max_signal_degree, max(10.0, p.hub_share * state.n_accounts)))
    degree = state.degree[usig]
    status = np.where(degree > cap, HUB, np.where(degree >= 2, LINKED, UNSHARED)).astype(np.int8)
    e = keep[state.e_src] & keep[state.e_dst]
    graph = AccountGraph(len(accounts), degree, rarity_weight(degree, cap), status, local[state.e_src[e]],
                         local[state.e_dst[e]], state.e_w[e], cap, 0)
    return table, graph, accounts


def _templates(state: State) -> pd.DataFrame:
    f = state.families
    f = f.loc[f["representative"].notna(), ["family", "prompts", "distinct", "representative"]]
    return f.reset_index(drop=True)


def monitor_result(state: State, cfg: PipelineConfig, quarantine: Quarantine | None) -> DetectionResult:
    """Build the detection result of the current state (cost: the rings' incidences and kept events)."""
    clusters, rank = _clusters(state)
    in_ring = state.ring >= 0
    ref = reference_events(state, in_ring)
    ev = state.events_where([in_ring[s.account] | r for s, r in zip(state.segments, ref)])
    keep = in_ring.copy()
    keep[ev.account] = True
    sig, graph, accounts = _local_world(state, cfg, keep)
    ids = state.account_ids().take(pa.array(accounts))
    ring = state.ring[accounts]
    acc_cid = np.where(ring >= 0, rank[np.maximum(ring, 0)], -1)
    local = np.full(state.n_accounts, -1, np.int64)
    local[accounts] = np.arange(len(accounts))
    ev_acc, ts = local[ev.account], ev.ts
    fam = ev.family if any((s.family >= 0).any() for s in state.segments) else None
    out = ev.output if any((s.output >= 0).any() for s in state.segments) else None
    shared, incidence = cluster_signals(sig, graph, acc_cid, ids)
    templates = _templates(state)
    per_cluster = cluster_templates(acc_cid, ev_acc, fam, templates)
    top = clusters["cluster_id"].to_numpy()[: cfg.evidence_clusters].astype(np.int64)
    created = state.created[accounts]
    evidence = evidence_tables(acc_cid, top, ids, ev_acc, ts, out, fam, created, graph)
    assignments = assignments_frame(state, rank)
    stats: dict[str, Any] = {"seq": state.seq, "n_accounts": state.n_accounts, "n_clusters": len(clusters),
                             "n_flagged_accounts": int(state.flagged.sum()),
                             "n_flagged_clusters": int(clusters["flagged"].sum()) if len(clusters) else 0}
    return DetectionResult(assignments=assignments, clusters=clusters, cluster_signals=shared, templates=templates,
                           quarantine=quarantine or Quarantine(), stats=stats, params=cfg.to_params(),
                           _cluster_templates=per_cluster, evidence=evidence, _incidence=incidence)
