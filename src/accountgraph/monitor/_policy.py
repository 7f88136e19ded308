"""What each signal's projection should be now: hub caps per type, the pair budget, coordinated hubs.

The rules are the batch graph stage's (:mod:`accountgraph.graph`), evaluated on the
state's degrees:

* **hub caps per type** (:func:`accountgraph.graph.type_caps`): a type's cap is
  lowered until the median account holding it meets at most ``max_cosharers``
  strangers through it; recomputed when the incidences have changed by 10 % since
  the last time (it is one pass over all of them), and whenever the plain cap moves;
* **the pair budget**: signals are cliques from the rarest up while their pairs fit
  ``max_pairs`` (the cut degree ``dc``), sampled past it with ``k`` neighbours; both
  move only when they change by more than 10 %;
* **coordinated hubs** (:func:`accountgraph.graph.coordinated_hubs`): hubs held by
  the same accounts as a hub of another kind are sampled with weight
  ``coordinated_weight`` and one common member order; found again with the caps.

:func:`targets` gives each signal its mode (0 none, 1 clique, 2 sampled, 3
coordinated), bucket bits and per-pair evidence.
"""

from __future__ import annotations

import numpy as np

from ..engines import PipelineConfig
from ..graph import DEFAULT_TYPE_WEIGHTS, EVIDENCE_GROUPS, coordinated_hubs, rarity_weight, type_caps
from ._state import State, unpack

__all__ = ["policy", "targets", "type_weights"]

CLIQUE, SAMPLED, COORDINATED = 1, 2, 3

def _evidence(w: np.ndarray) -> np.ndarray:
    return -np.log1p(-np.minimum(w, 0.999))


def type_weights(state: State, cfg: PipelineConfig) -> np.ndarray:
    """Link weight ``alpha`` of each signal type of the state."""
    tw = {**DEFAULT_TYPE_WEIGHTS, **(cfg.graph.type_weights or {})}
    return np.array([tw.get(t, tw.get("x:*", 0.5) if t.startswith("x:") else 0.0) for t in state.type_names])


def _coordinated(state: State, cfg: PipelineConfig, acc: np.ndarray, sig: np.ndarray) -> np.ndarray:
    """Coordinated hubs under the current caps (bool per signal)."""
    p = cfg.graph
    out = np.zeros(state.n_signals, bool)
    if p.coordinated_weight <= 0:
        return out
    cap_s = state.type_caps[state.sig_type]
    hub = (state.degree > cap_s) & (state.degree <= max(p.max_signal_degree, p.coordinated_max_share * state.n_accounts))
    weak = np.zeros(len(hub), bool)
    if p.coordinate_weak:  # projected signals weighing less than a coordinated one (as the batch's _coordinate)
        d = state.degree
        weak = (d >= 2) & (d <= cap_s) & (rarity_weight(d, cap_s) < p.coordinated_weight)
    hub |= weak
    if not hub.any():
        return out
    groups = sorted({EVIDENCE_GROUPS.get(t, t) for t in state.type_names})
    tg = np.array([groups.index(EVIDENCE_GROUPS.get(t, t)) for t in state.type_names], np.int64)
    return coordinated_hubs(acc, sig, tg[state.sig_type], hub, state.degree, state.n_accounts,
                            np.arange(state.n_accounts, dtype=np.int64),
                            min_lift=np.where(weak, p.coordinated_weak_lift, p.coordinated_min_lift))


def policy(state: State, cfg: PipelineConfig) -> tuple[float, int, int, int]:
    """Plain hub cap, clique cut degree, sampled neighbours, coordinated neighbours (see the module docstring)."""
    p = cfg.graph
    cap = float(min(p.max_signal_degree, max(10.0, p.hub_share * state.n_accounts)))
    m = len(state.inc_key)
    if (len(state.type_caps) != len(state.type_names) or state.policy[0] != cap
            or abs(m - state.caps_at) > 0.1 * max(state.caps_at, 1)):
        acc, sig = unpack(state.inc_key)
        state.type_caps = type_caps(state.sig_type[sig].astype(np.int64), acc, state.degree[sig],
                                    len(state.type_names), cap, p.max_cosharers, p.cosharers_min_accounts)
        state.coord = _coordinated(state, cfg, acc, sig)
        state.caps_at = m
    d = state.degree
    cap_s = state.type_caps[state.sig_type] if state.n_signals else np.zeros(0)
    proj = (d >= 2) & (d <= cap_s)
    hist = np.bincount(d[proj], minlength=int(cap) + 1).astype(np.int64)
    lv = np.arange(len(hist), dtype=np.int64)
    cum = np.cumsum(hist * lv * (lv - 1) // 2)
    if not len(cum) or cum[-1] <= p.max_pairs:
        dc = int(cap)
    else:
        ok = np.flatnonzero((cum <= p.max_pairs) & (hist > 0))
        dc = int(ok[-1]) if len(ok) else 1
    over = int((hist[dc + 1:] * lv[dc + 1:]).sum())
    nb = int(p.sample_neighbours)
    k = min(nb, max(1, p.max_pairs // max(over, 1))) if nb >= 1 else 0
    kc = min(nb, max(1, p.max_pairs // max(int(d[state.coord].sum()), 1))) if nb >= 1 else 0
    # The plain cap moves every signal's rarity: kept exact (it only moves while hub_share * n_accounts
    # is below max_signal_degree, i.e. on small inputs, where a full refresh is cheap).
    _, old_dc, old_k, old_kc = state.policy
    dc = old_dc if old_dc > 0 and abs(dc - old_dc) <= 0.1 * old_dc else dc
    k = old_k if old_k > 0 and abs(k - old_k) <= 0.1 * old_k else k
    kc = old_kc if old_kc > 0 and abs(kc - old_kc) <= 0.1 * old_kc else kc
    state.policy = (cap, dc, k, kc)
    return state.policy


def targets(state: State, cfg: PipelineConfig, sig: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, ...]:
    """Mode (0 none, 1 clique, 2 sampled, 3 coordinated), bucket bits and per-pair evidence of ``sig`` now."""
    _, dc, k, kc = state.policy
    d = state.degree[sig]
    cap_s = state.type_caps[state.sig_type[sig]]
    has_alpha = alpha[state.sig_type[sig]] > 0
    usable = (d >= 2) & (d <= cap_s) & has_alpha
    coord = state.coord[sig] & has_alpha & (kc >= 1)  # a coordinated hub, or a coordinated weak signal
    mode = np.where(coord, COORDINATED, np.where(usable, np.where(d <= dc, CLIQUE, SAMPLED if k >= 1 else 0), 0))
    mode = mode.astype(np.int8)
    kk = np.where(mode == COORDINATED, kc, k).astype(np.float64)
    ideal = np.log2(np.maximum(d, 1) / (kk + 1))
    old_b = state.sig_logb[sig].astype(np.float64)
    keep_b = (state.sig_mode[sig] == mode) & (np.abs(ideal - old_b) <= 0.75)
    logb = np.where(mode >= SAMPLED, np.where(keep_b, old_b, np.maximum(np.round(ideal), 0)), 0).astype(np.int8)
    w = np.where(mode == COORDINATED, cfg.graph.coordinated_weight, rarity_weight(d, cap_s))
    lam = _evidence(w).astype(np.float64)
    m = np.maximum(d / np.exp2(logb), 2.0)
    clip = _evidence(np.float64(cfg.graph.sample_clip))
    # A member of a sampled signal meets about 1.5 (m - 1) others (two staggered cuts into arcs of m):
    # scaled so a pair's expected evidence is the full projection's, as the batch's circulants are.
    lam = np.where(mode >= SAMPLED, np.minimum(lam * (d - 1) / (1.5 * (m - 1)), clip), lam)
    return mode, logb, np.where(mode > 0, lam, 0.0)
