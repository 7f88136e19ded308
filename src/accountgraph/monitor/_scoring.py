"""Scoring rings: the one place the monitor calls the batch scorer.

:func:`score_rings` calls :func:`accountgraph.scoring.cluster_features`,
:func:`accountgraph.scoring.add_team_blocks`, :func:`accountgraph.scoring.apply_model` and
:func:`accountgraph.scoring.member_scores` exactly as the batch pipeline does,
on the events the monitor keeps for the horizon (one slim row per event:
account, time, output tokens, template family, model). It passes

* every kept event of the accounts of the rings being (re)scored, and
* a fixed-size, hash-chosen sample of the events of accounts in no ring, plus
  the earliest event of each model and of the whole window, standing for the
  population: the output-length reference (the median over accounts in no
  cluster) and the model-release windows of the pivot evidence.

So the scorer sees each scored ring exactly as a batch run on the horizon's
events would, and the population through a sample of :data:`REFERENCE_EVENTS`
events. Why events and not mergeable aggregates: the scorer is being replaced
(a calibrated model, issue 11); keeping what *it* reads lets the new scorer
drop in here unchanged. The cost is proportional to the scored rings' events
in the horizon, which is why :func:`rings_to_rescore` leaves alone a large
ring that barely changed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._hashing import splitmix64
from .._seeds import apply_known_bad
from ..engines import PipelineConfig
from ..graph import AccountGraph
from ..scoring import (add_team_blocks, apply_model, cluster_features, infrastructure_masks, load_model,
                       member_scores)
from ..signals import cluster_pairs
from ._keys import rows_of
from ._state import EventSegment, State, unpack
from .._unique import lexsort, union, unique

__all__ = ["REFERENCE_EVENTS", "reference_events", "rings_to_rescore", "score_rings"]

#: Events of accounts in no ring handed to the scorer as the population reference.
REFERENCE_EVENTS = 200_000
#: A ring already scored is rescored when accounts joining or leaving it, summed over the updates
#: since it was last scored, amount to this share of the accounts it had then ...
RESCORE_CHANGE = 0.02
#: ... or its kept events grew by this share, or it is not flagged and had new events.
RESCORE_GROWTH = 0.1


def reference_events(state: State, in_ring: np.ndarray) -> list[np.ndarray]:
    """Per kept segment, a mask: a hash-chosen sample of unclustered accounts' events plus anchors.

    The anchors are the earliest event of the window and of each model (the first in segment
    order on a tie). One segment at a time: the horizon's events are never concatenated.
    """
    segs = state.segments
    keep = [~in_ring[s.account] for s in segs]
    n_free = sum(int(k.sum()) for k in keep)
    if n_free > REFERENCE_EVENTS:
        below = np.uint64(int(REFERENCE_EVENTS / n_free * 2.0**64))
        for s, k in zip(segs, keep):
            with np.errstate(over="ignore"):
                k &= splitmix64(s.ts.view(np.uint64) ^ splitmix64(s.account.astype(np.uint64))) < below
    first: dict[int, tuple[int, int, int]] = {}  # model (-1: any) -> (ts, segment, row)
    for j, s in enumerate(segs):
        for model, ts, row in _earliest(s):
            if model not in first or ts < first[model][0]:
                first[model] = (ts, j, row)
    for _, j, row in first.values():
        keep[j][row] = True
    return keep


def _earliest(s: EventSegment) -> list[tuple[int, int, int]]:
    """``(model, ts, row)`` of the segment's earliest event (model -1) and of each model's (first row on ties)."""
    if not len(s.ts):
        return []
    i = int(np.argmin(s.ts))
    out = [(-1, int(s.ts[i]), i)]
    idx = np.flatnonzero(s.model >= 0)
    if len(idx):
        order = idx[lexsort((s.ts[idx], s.model[idx]))]
        head = np.r_[True, s.model[order][1:] != s.model[order][:-1]]
        out += [(int(s.model[r]), int(s.ts[r]), int(r)) for r in order[head]]
    return out


def score_rings(state: State, cfg: PipelineConfig, ring_ids: np.ndarray,
                graph: AccountGraph) -> tuple[pd.DataFrame, np.ndarray]:
    """Score features of ``ring_ids`` (one row each, in that order) and the member score of their accounts.

    Parameters
    ----------
    state : State
    cfg : PipelineConfig
    ring_ids : ndarray of int64
        Rings to score; their accounts are those with ``state.ring`` equal to the id.
    graph : AccountGraph
        Supplies the state's per-signal degree and rarity weight.

    Returns
    -------
    features : pandas.DataFrame
        As :func:`accountgraph.scoring.score_clusters` (plus ``n_known_bad``,
        ``contrib_known_bad`` when the state has seeds), row ``i`` for ``ring_ids[i]``.
    member : ndarray of float64, shape (n_accounts,)
        Member score of the accounts of these rings (0 elsewhere).
    """
    n = state.n_accounts
    if not len(ring_ids):
        return pd.DataFrame(), np.zeros(n)
    pos = np.full(int(max(state.next_ring_id, 1)), -1, np.int64)
    pos[ring_ids] = np.arange(len(ring_ids))
    acc_cluster = np.where(state.ring >= 0, pos[np.maximum(state.ring, 0)], -1)
    in_ring = state.ring >= 0
    ref = reference_events(state, in_ring)
    ev = state.events_where([(acc_cluster[s.account] >= 0) | r for s, r in zip(state.segments, ref)])
    a, ts, out, fam, model, ip = ev.account, ev.ts, ev.output, ev.family, ev.model, ev.ip
    rows = rows_of(state.inc_key, np.flatnonzero(acc_cluster >= 0))
    acc, sig = unpack(state.inc_key[rows])
    n_ev = state.inc_n[rows]
    pairs = cluster_pairs(acc, sig, acc_cluster, state.n_signals)
    feats = cluster_features(
        n_clusters=len(ring_ids), acc_cluster=acc_cluster, ev_account=a, ev_ts_us=ts,
        ev_output=out if (out >= 0).any() else None, ev_family=fam if (fam >= 0).any() else None,
        created_us=state.created, ev_model=model if (model >= 0).any() else None,
        ev_ip=ip if (ip >= 0).any() else None, burst_window_s=cfg.scoring.burst_window_s, pairs=pairs,
        degree=graph.degree,
    )
    infra, ip_sig, present = infrastructure_masks(state.type_names, state.sig_type, graph.weight)
    feats = add_team_blocks(feats, acc, sig, n_ev, acc_cluster, pairs, infra, ip_sig, cfg.scoring.team_block_candidates, present)
    feats = apply_model(feats, len(acc_cluster), cfg.scoring, load_model(cfg.scoring.model))
    if state.known_bad.any():
        feats = apply_known_bad(feats, acc_cluster, state.known_bad)
    template = np.zeros(state.n_signals, bool)
    if "template" in state.type_names:
        template = state.sig_type == state.type_names.index("template")
    member = member_scores(acc, sig, acc_cluster, graph.degree, graph.weight, pairs, n_events=n_ev,
                           template=template)
    return feats, member[:n]


def rings_to_rescore(state: State, moved: dict[int, int], active: np.ndarray, ev_count: np.ndarray) -> np.ndarray:
    """Rings whose score may have moved.

    A ring is rescored when it was never scored, had accounts join or leave (a merge
    included) amounting to :data:`RESCORE_CHANGE` of those it had when last scored
    (summed over the updates since: a ring recruiting 0.5 % a day is rescored every
    few days, and its recruits get member scores and flags),
    had new events while not flagged (it may be about to be), or holds
    :data:`RESCORE_GROWTH` more kept events than when last scored. A large flagged
    ring that barely changed keeps its score until then.

    Parameters
    ----------
    moved : dict
        Ring id -> accounts that joined or left it in this update.
    active : ndarray of int64
        Accounts with events in the batch.
    ev_count : ndarray of int64
        Kept events per ring id.
    """
    live = unique(state.ring[state.ring >= 0])
    if state.rings.empty:
        return live
    t = state.rings.set_index("ring_id")
    act = np.zeros(int(max(state.next_ring_id, 1)), bool)
    r_act = state.ring[active]
    act[r_act[r_act >= 0]] = True
    known = live[np.isin(live, t.index.to_numpy())]
    row = t.loc[known]
    sc_acc = row["scored_accounts"].to_numpy()
    sc_ev = row["scored_events"].to_numpy()
    mv = np.array([moved.get(r, 0) for r in known.tolist()], np.int64)
    if "moved_since_scored" in row:  # absent from states written before it was kept
        mv = mv + row["moved_since_scored"].fillna(0).to_numpy(np.int64)
    again = ((mv >= np.maximum(1, RESCORE_CHANGE * sc_acc))
             | (ev_count[known] >= (1 + RESCORE_GROWTH) * np.maximum(sc_ev, 1))
             | (~row["flagged"].to_numpy(bool) & (act[known] | (mv > 0))))
    return union(live[~np.isin(live, known)], known[again])
