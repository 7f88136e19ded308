"""One update, stage by stage: the batch pipeline's stages run on what the batch changed.

::

    validate     the batch, as detect validates its input; content hash (replay check)
    codes        stable account / model codes; per-account activity
    templates    sampled prompts join the families they resemble (band keys)
    signals      the batch's incidences merged into the state; the horizon drops old ones
    graph        links among the accounts of changed signals recomputed and spliced in
    communities  the touched components re-partitioned, Leiden warm-started from the rings
    identity     new clusters matched to earlier rings (ids, lineage, status)
    score        rings whose evidence moved are rescored; flags

Each stage's time goes to ``stats["seconds"]``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from ..engines import PipelineConfig
from ._batch import Batch, encode_batch
from ._codes import hash_text, hash_typed
from ..ingest import combine_chunks
from ._communities import region_communities
from ._graph import relink
from ._links import weights_graph
from ._identity import assign_rings
from ._incidence import batch_incidences, expire_incidences, merge_incidences
from ._rings import refresh_rings, ring_sizes, update_flags
from ._scoring import rings_to_rescore, score_rings
from ._state import Delta, EventSegment, State, unpack
from ._templates import batch_families, expire_families
from .._unique import union, unique

__all__ = ["Outcome", "apply_update"]

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What an update did, for :class:`~accountgraph.monitor.MonitorUpdate`."""

    delta: Delta
    new_flags: np.ndarray
    lineage: pd.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)


class _Clock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.t = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self.t, 4)
        self.t = now


def _ip_codes(state: State, b: Batch) -> np.ndarray:
    """The signal code of each event's IP (-1: none); the IP signals exist once the batch is merged."""
    n = len(b.ev)
    if b.ev.ip is None or not n or "ip" not in state.type_names:
        return np.full(n, -1, np.int64)
    enc = pc.dictionary_encode(combine_chunks(b.ev.ip))
    t = np.full(len(enc.dictionary), state.type_names.index("ip"))
    codes = state.sig_codes.lookup(hash_typed(t, enc.dictionary))
    idx = np.asarray(enc.indices.fill_null(-1).to_numpy(zero_copy_only=False), np.int64)
    return np.where(idx >= 0, np.append(codes, -1)[idx], -1)


def _segment(state: State, b: Batch, family: np.ndarray | None) -> EventSegment:
    n = len(b.ev)
    minus = np.full(n, -1, np.int64)
    out = b.ev.output_tokens if b.ev.output_tokens is not None else minus
    return EventSegment(state.seq, b.ev_acc.astype(np.int64), b.ev.timestamp.astype(np.int64),
                        np.asarray(out, np.int64), family if family is not None else minus,
                        b.model if b.model is not None else minus, _ip_codes(state, b))


def expire_events(state: State, cutoff_us: int | None) -> None:
    """Drop kept events older than the cutoff (whole segments when they are all older)."""
    if cutoff_us is None:
        return
    kept = []
    for s in state.segments:
        if not len(s) or s.ts.max() < cutoff_us:
            continue
        kept.append(s.filter(s.ts >= cutoff_us) if s.ts.min() < cutoff_us else s)
    state.segments = kept


def _ring_events(state: State) -> np.ndarray:
    counts = np.zeros(state.next_ring_id, np.int64)
    for s in state.segments:
        r = state.ring[s.account]
        counts += np.bincount(r[r >= 0], minlength=state.next_ring_id)
    return counts


def _moved(prev: np.ndarray, new: np.ndarray) -> dict[int, int]:
    """Accounts that joined or left each ring."""
    ch = prev != new
    ids = np.concatenate([prev[ch & (prev >= 0)], new[ch & (new >= 0)]])
    u, c = np.unique(ids, return_counts=True)
    return dict(zip(u.tolist(), c.tolist()))


def _dead_template_accounts(state: State, delta: Delta) -> np.ndarray:
    """Accounts that lost a template incidence to the horizon (their substantial families may move)."""
    if "template" not in state.type_names or not len(delta.dead_sig_key):
        return np.zeros(0, np.int64)
    sig, acc = unpack(delta.dead_sig_key)
    return unique(acc[state.sig_type[sig] == state.type_names.index("template")])


def _new_loners(state: State, delta: Delta) -> np.ndarray:
    """Accounts in no ring that joined a projected signal (candidates for attachment)."""
    sig, acc = unpack(delta.new_sig_key)
    acc = acc[state.sig_mode[sig] > 0]
    return unique(acc[state.ring[acc] < 0])


def _apply_seeds(state: State, seeds: np.ndarray | None) -> None:
    """Mark known-bad accounts; ids not seen yet wait in ``state.pending_seeds``."""
    ids = np.array(sorted(set(state.pending_seeds) | set(() if seeds is None else seeds.tolist())), dtype=object)
    if not len(ids):
        return
    codes = state.acc_codes.lookup(hash_text(ids))
    state.known_bad[codes[codes >= 0]] = True
    state.pending_seeds = ids[codes < 0].tolist()


def apply_update(state: State, cfg: PipelineConfig, b: Batch, horizon_us: int | None,
                 seeds: np.ndarray | None, warm_start: bool = False) -> Outcome:
    """Absorb one validated batch into ``state`` (in memory; :mod:`._persist` writes it)."""
    clock = _Clock()
    state.seq += 1
    delta = Delta(sig_start=state.n_signals)
    n_new = encode_batch(state, b)
    _apply_seeds(state, seeds)
    clock.lap("codes")
    family = batch_families(state, cfg.templates, cfg.seed + 1, b.ev.prompt, b.ev_acc, b.ev.timestamp, delta)
    clock.lap("templates")
    merge_incidences(state, batch_incidences(state, b, family), b.active, delta)
    seg = _segment(state, b, family)
    state.segments.append(seg)
    delta.segment = seg
    cutoff = state.now_us - horizon_us if horizon_us else None
    expire_incidences(state, cutoff, delta)
    expire_families(state, cutoff, delta)
    expire_events(state, cutoff)
    clock.lap("signals")
    corr = unique(np.r_[b.ev_acc[family >= 0] if family is not None else np.zeros(0, np.int64),
                           _dead_template_accounts(state, delta)])
    region, delta.sig_changed = relink(state, cfg, delta.new_sig_key, delta.dead_sig_key, corr, len(b.ev))
    graph = weights_graph(state, cfg)
    clock.lap("graph")
    before = ring_sizes(state)
    loners = _new_loners(state, delta)
    accounts, labels = region_communities(state, cfg, union(region, loners), graph, warm=warm_start)
    prev = state.ring[accounts].copy()
    clock.lap("communities")
    lineage, status = assign_rings(state, accounts, labels)
    delta.lineage_rows = lineage
    clock.lap("identity")
    ev_count = _ring_events(state)
    moved = _moved(prev, state.ring[accounts])
    rescore = rings_to_rescore(state, moved, b.active, ev_count)
    feats, member = score_rings(state, cfg, rescore, graph)
    refresh_rings(state, cfg.threshold, feats, rescore, status, before, ev_count, b.active, moved)
    fresh = update_flags(state, cfg.scoring.min_member_score, member, rescore)
    clock.lap("score")
    stats = {"seq": state.seq, "n_events": len(b.ev), "n_new_accounts": n_new, "n_accounts": state.n_accounts,
             "n_signals": state.n_signals, "n_incidences": len(state.inc_key), "n_edges": len(state.e_src),
             "n_region": len(region), "n_revisited": len(accounts), "n_rescored": len(rescore),
             "n_rings": len(state.rings), "n_flagged_rings": int(state.rings["flagged"].sum()) if len(state.rings) else 0,
             "n_flagged_accounts": int(state.flagged.sum()), "n_new_flags": len(fresh),
             "n_kept_events": sum(len(s) for s in state.segments), "seconds": clock.seconds}
    logger.info("monitor update %d: %d events, %d accounts re-linked, %d revisited, %d rings rescored, "
                "%d new flags", state.seq, len(b.ev), len(region), len(accounts), len(rescore), len(fresh))
    return Outcome(delta, fresh, lineage, stats)
