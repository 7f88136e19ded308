"""Re-projecting only the part of the account graph a batch changed.

A link between two accounts depends on the signals they share and on each
signal's degree (its rarity weight). A batch changes the degree of the signals
it brings new accounts to (and the horizon those it takes accounts from). The
*region* of an update is every account holding such a signal, if the signal
was projectable (shared, at most the hub cap) before or after. Links between
two region accounts are recomputed by the batch detector's own projection
(:func:`accountgraph.graph.build_graph`) on the region's incidences, with the
degrees of the whole state; every other link is kept as it was, since none of
its signals changed. A hub that stays a hub changes nothing: a batch of a
million ordinary users behind one carrier NAT re-projects nobody.

Approximations against a batch run on the same data: a link between a region
account and an outside one keeps its template corroboration from the update
that last computed it; a sampled signal (past the pair budget) whose members
are partly outside the region gets its circulant over the region's members
only; member order in circulants and Leiden follows the stable account codes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..engines import PipelineConfig
from ..graph import AccountGraph, build_graph, substantial_families
from ..signals import SignalTable
from ._incidence import Changes
from ._state import Delta, State, pack, unpack

__all__ = ["Region", "reproject"]

logger = logging.getLogger(__name__)


@dataclass
class Region:
    """The accounts an update re-linked, and the state's per-signal weights after it."""

    accounts: np.ndarray
    graph: AccountGraph  # the region's projection (global account codes; signal arrays of the whole state)


def _cap(cfg: PipelineConfig, n_accounts: int) -> float:
    p = cfg.graph
    return float(min(p.max_signal_degree, max(10.0, p.hub_share * n_accounts)))


def region_accounts(state: State, cfg: PipelineConfig, changes: list[Changes]) -> np.ndarray:
    """Accounts holding a signal whose projectable degree changed, plus accounts that lost signals."""
    cap = _cap(cfg, state.n_accounts)
    sigs = np.concatenate([c.signals for c in changes])
    old = np.concatenate([c.old_degree for c in changes])
    new = state.degree[sigs]
    projectable = ((old >= 2) & (old <= cap)) | ((new >= 2) & (new <= cap))
    hot = np.zeros(state.n_signals, bool)
    hot[sigs[projectable]] = True
    acc, sig = unpack(state.inc_key)
    members = acc[hot[sig]]
    left = np.concatenate([c.accounts for c in changes[1:]]) if len(changes) > 1 else np.zeros(0, np.int64)
    return np.union1d(members, left)


def _sub_table(state: State, in_region: np.ndarray) -> SignalTable:
    acc, sig = unpack(state.inc_key)
    m = in_region[acc]
    return SignalTable(account=acc[m], signal=sig[m], n_events=state.inc_n[m], signal_type=state.sig_type,
                       signal_value=pa.array([], pa.large_string()), type_names=list(state.type_names))


def _substantial(state: State, cfg: PipelineConfig, sub: SignalTable) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Substantial template families of the region's accounts (from their template incidences' counts)."""
    if "template" not in state.type_names:
        return None, None
    t = state.type_names.index("template")
    m = state.sig_type[sub.signal] == t
    if not m.any():
        return None, None
    fam_codes, fam_local = np.unique(sub.signal[m], return_inverse=True)
    counts = sub.n_events[m]
    ev_acc = np.repeat(sub.account[m], counts)
    ev_fam = np.repeat(fam_local.reshape(-1), counts)
    return substantial_families(ev_acc, ev_fam, state.n_accounts, top=cfg.templates.substantial_top,
                                min_share=cfg.templates.substantial_share)


def reproject(state: State, cfg: PipelineConfig, region: np.ndarray, delta: Delta) -> Region:
    """Recompute the links among ``region`` accounts and splice them into the state's edges."""
    in_region = np.zeros(state.n_accounts, bool)
    in_region[region] = True
    sub = _sub_table(state, in_region)
    substantial, focus = _substantial(state, cfg, sub)
    graph = build_graph(sub, state.n_accounts, cfg.graph, substantial=substantial, focus=focus,
                        node_key=np.arange(state.n_accounts, dtype=np.int64), seed=cfg.seed, degree=state.degree)
    keep = ~(in_region[state.e_src] & in_region[state.e_dst])
    old_key = pack(state.e_src[keep], state.e_dst[keep])
    new_key = pack(graph.src, graph.dst)
    at = np.searchsorted(old_key, new_key)
    key = np.insert(old_key, at, new_key)
    state.e_w = np.insert(state.e_w[keep], at, graph.link)
    state.e_src, state.e_dst = unpack(key)
    delta.region = region
    delta.edge_rows = (graph.src, graph.dst, graph.link)
    logger.info("monitor graph: %d accounts re-linked (%d incidences), %d links among them, %d links in all",
                len(region), len(sub.account), graph.n_edges, len(state.e_src))
    return Region(region, graph)
