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
from ._state import State, unpack
from .._unique import lexsort, union, unique

__all__ = ["REFERENCE_EVENTS", "reference_events", "rings_to_rescore", "score_rings"]

#: Events of accounts in no ring handed to the scorer as the population reference.
REFERENCE_EVENTS = 200_000
#: A ring already scored is rescored when its accounts changed by this share ...
RESCORE_CHANGE = 0.02
#: ... or its kept events grew by this share, or it is not flagged and had new events.
RESCORE_GROWTH = 0.1


def reference_events(state: State, in_ring: np.ndarray) -> np.ndarray:
    """Mask over all kept events: a hash-chosen sample of unclustered accounts' events plus anchors."""
    ev = state.all_events()
    free = ~in_ring[ev.account]
    n_free = int(free.sum())
    if n_free > REFERENCE_EVENTS:
        with np.errstate(over="ignore"):
            h = splitmix64(ev.ts.view(np.uint64) ^ splitmix64(ev.account.astype(np.uint64)))
        free &= h < np.uint64(int(REFERENCE_EVENTS / n_free * 2.0**64))
    keep = free
    if len(ev.ts):
        keep[int(np.argmin(ev.ts))] = True
        m = ev.model >= 0
        if m.any():
            idx = np.flatnonzero(m)
            order = lexsort((ev.ts[idx], ev.model[idx]))
            first = np.r_[True, ev.model[idx][order][1:] != ev.model[idx][order][:-1]]
            keep[idx[order][first]] = True
    return keep


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
    ev = state.all_events()
    take = (acc_cluster[ev.account] >= 0) | reference_events(state, in_ring)
    a, ts = ev.account[take], ev.ts[take]
    out, fam, model, ip = ev.output[take], ev.family[take], ev.model[take], ev.ip[take]
    acc, sig = unpack(state.inc_key)
    m = acc_cluster[acc] >= 0
    acc, sig, n_ev = acc[m], sig[m], state.inc_n[m]
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


def rings_to_rescore(state: State, moved: dict[int, int], status: dict[int, str], active: np.ndarray,
                     ev_count: np.ndarray) -> np.ndarray:
    """Rings whose score may have moved.

    A ring is rescored when it was never scored, was merged into, had accounts join
    or leave amounting to :data:`RESCORE_CHANGE` of those it had when last scored,
    had new events while not flagged (it may be about to be), or holds
    :data:`RESCORE_GROWTH` more kept events than when last scored. A large flagged
    ring that barely changed keeps its score until then.

    Parameters
    ----------
    moved : dict
        Ring id -> accounts that joined or left it in this update.
    status : dict
        Ring id -> status from :func:`~._identity.assign_rings`.
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
    merged = np.array([status.get(r) == "merged" for r in known.tolist()], bool)
    again = ((mv >= np.maximum(1, RESCORE_CHANGE * sc_acc)) | merged
             | (ev_count[known] >= (1 + RESCORE_GROWTH) * np.maximum(sc_ev, 1))
             | (~row["flagged"].to_numpy(bool) & (act[known] | (mv > 0))))
    return union(live[~np.isin(live, known)], known[again])
