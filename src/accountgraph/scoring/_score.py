"""Scoring: how much does each cluster look like a ring, and why.

Stage 5 of the pipeline. Every cluster gets evidence features computed from its
events and accounts (vectorised with ``bincount``/sorting over cluster codes;
no loop over clusters or rows) and a ``ring_score`` in [0, 1] that is an
additive sum of per-evidence contributions, so an analyst can see exactly what
drove it and the contributions always add up to the score.

Evidence and its ring-likeness ramp (``ramp(x, lo, hi)`` is 0 below ``lo``,
1 above ``hi``, linear between; each ramp's end points are a parameter of
:class:`ScoringParams`, named in brackets, with the defaults shown):

=============== ============================================================= ======
component       feature(s)                                                    weight
=============== ============================================================= ======
``timing``      scripted round-the-clock use: share of the cluster's events    0.25
                in its 8 quietest hours of the day (uniform use gives 1/3,
                people who sleep ~0.05; ramp 0.12 -> 0.28 [quiet_hours_ramp])
                times weekend activity (share 0.04 -> 0.15, so an office
                scores low [weekend_ramp])
``cadence``     load-balanced accounts: low spread of per-account daily         0.20
                volume (CV 1.0 -> 0.3 [volume_cv_ramp]) and accounts active
                on most days of their lifetime (0.4 -> 0.9 [active_day_ramp])
``templates``   shared templates: share of the cluster's prompts in template    0.20
                families used by at least max(3, 30 %) of its accounts
                (0.2 -> 0.6 [template_shared_ramp]). Camouflage prompts are
                diverse and fall outside;
                the campaign's templates, used by every member, do not
                (``template_top3_share`` is reported as well)
``output``      long, tight outputs: median output length vs the population     0.15
                (x1 -> x3 in log2 [output_ratio_ramp]) and low relative
                spread (IQR/median 1.0 -> 0.3 [output_iqr_ramp])
``creation``    creation burst: share of accounts created within the densest    0.20
                72-hour window (0.3 -> 0.7 [creation_burst_ramp]), only where
                >= 3 accounts' creation time is known
``pivot``       pivot to a newly released model: in the 48 hours after a        0.10
                model first appears (at least 2 days into the data), the share
                of the cluster's traffic on it minus the population's share
                (0.1 -> 0.5 [pivot_excess_ramp]); needs the optional
                ``model`` column and >= 20 of
                the cluster's events in those windows
=============== ============================================================= ======

The weighted sum is multiplied by two gates. The **size gate**,
``ramp(log n, log 2, log 6)`` [size_gate], is 0 for a pair, 0.39 for three accounts and 1
from six on; the **spread gate**, ``ramp(events per account-day, 200, 80)``
[spread_gate], is
1 up to 80 requests per account-day and 0 from 200 on. Rings spread their load
over many accounts so that each looks harmless (~26 a day in the 2026
campaigns); a pair, a family, or a few automation accounts each sending
hundreds of requests a day, however scripted, is not a ring. The ``contrib_*``
columns already include the gates, so they still sum to ``ring_score``.

When an input lacks what a component needs (no prompts, no output lengths, no
account creation times), its weight is spread over the available components and
the cluster's ``missing`` column says so. The weights, ramps and gates are all
parameters (:class:`ScoringParams`, ``scoring__<name>`` on :class:`RingDetector`)
and were chosen on the synthetic scenarios; the benchmarks report how they fare
there, including the traps. The features are computed in :mod:`._features`,
one function per component.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ._features import _US_PER_S, _cadence, _creation, _output, _pivot, _templates, _timing
from ._features import ramp as ramp  # re-exported: tests import it from here
from ._params import COMPONENTS, ScoringParams

__all__ = ["ScoringParams", "COMPONENTS", "score_clusters"]

logger = logging.getLogger(__name__)


def score_clusters(
    *,
    n_clusters: int,
    acc_cluster: np.ndarray,
    ev_account: np.ndarray,
    ev_ts_us: np.ndarray,
    ev_output: np.ndarray | None,
    ev_family: np.ndarray | None,
    created_us: np.ndarray | None,
    ev_model: np.ndarray | None = None,
    params: ScoringParams = ScoringParams(),
) -> pd.DataFrame:
    """Evidence features, contributions and ``ring_score`` for each cluster.

    Parameters
    ----------
    n_clusters : int
    acc_cluster : ndarray of int64, shape (n_accounts,)
        Cluster index of each account, -1 for none.
    ev_account, ev_ts_us : ndarray, shape (n_events,)
        Account code and timestamp (UTC microseconds) of each event.
    ev_output : ndarray of int64 or None
        Output tokens per event (-1 unknown).
    ev_family : ndarray of int64 or None
        Template family per event (-1 none).
    created_us : ndarray of int64 or None, shape (n_accounts,)
        Account creation time (-1 unknown).
    ev_model : ndarray of int64 or None
        Model code per event (-1 unknown).
    params : ScoringParams

    Returns
    -------
    pandas.DataFrame
        One row per cluster index (0..n_clusters-1) with feature columns,
        ``contrib_<component>`` columns, ``ring_score`` and ``missing``.

    Notes
    -----
    O(n_events log n_events) for the per-cluster sorts; O(n_events) memory.
    """
    k = n_clusters
    ev_cl = acc_cluster[ev_account]
    m = ev_cl >= 0
    cl, acc, ts = ev_cl[m], ev_account[m], ev_ts_us[m] // _US_PER_S
    n_acc = np.bincount(acc_cluster[acc_cluster >= 0], minlength=k).astype(np.int64)
    n_ev = np.bincount(cl, minlength=k).astype(np.int64)
    f: dict[str, np.ndarray] = {"n_accounts": n_acc, "n_events": n_ev}
    s: dict[str, np.ndarray] = {}
    missing: list[str] = []

    def add(name: str, result: tuple[dict[str, np.ndarray], np.ndarray] | None) -> None:
        if result is None:
            missing.append(name)
        else:
            f.update(result[0])
            s[name] = result[1]

    add("timing", _timing(cl, ts, n_ev, k, params))
    add("cadence", _cadence(acc_cluster, acc, ts, k, params))
    if ev_family is not None and (ev_family >= 0).any():
        add("templates", _templates(ev_family[m], cl, acc, n_acc, k, params))
    else:
        f["template_top3_share"] = np.full(k, np.nan)
        add("templates", None)
    has_output = ev_output is not None and (ev_output >= 0).any()
    add("output", _output(ev_output, ev_cl, m, cl, k, params) if has_output else None)
    has_created = created_us is not None and (created_us >= 0).any()
    add("creation", _creation(acc_cluster, created_us, k, params) if has_created else None)
    add("pivot", _pivot(ev_model, ev_ts_us, ev_cl, k, params) if ev_model is not None else None)

    gate = _gates(f, n_acc, n_ev, params)
    return _combine(f, s, missing, gate, params, k)


def _gates(f: dict[str, np.ndarray], n_acc: np.ndarray, n_ev: np.ndarray, params: ScoringParams) -> np.ndarray:
    """Size gate times spread gate per cluster (both also stored in ``f``)."""
    lo, hi = params.size_gate
    size_gate = ramp(np.log(np.maximum(n_acc, 1)), np.log(lo), np.log(hi))
    # Rings spread load so each account looks harmless; a few accounts each
    # sending hundreds of requests a day are automation, not a ring.
    hi_rate, lo_rate = params.spread_gate
    # A cluster without a single event (accounts linked by their attributes
    # only) shows no coordinated usage: nothing to score, never flagged.
    spread_gate = np.where(n_ev > 0, ramp(f["events_per_account_day"], hi_rate, lo_rate), 0.0)
    f["size_gate"], f["spread_gate"] = size_gate, spread_gate
    return size_gate * spread_gate


def _combine(f: dict[str, np.ndarray], s: dict[str, np.ndarray], missing: list[str], gate: np.ndarray,
             params: ScoringParams, k: int) -> pd.DataFrame:
    """Features, gated weighted contributions (renormalised over available components) and ``ring_score``."""
    w = {c: float(params.weights.get(c, 0.0)) for c in COMPONENTS if c in s}
    total = sum(w.values())
    df = pd.DataFrame(f)
    score = np.zeros(k)
    for comp in COMPONENTS:
        if comp in s:
            contrib = gate * (w[comp] / total) * s[comp] if total > 0 else np.zeros(k)
        else:
            contrib = np.zeros(k)
        df[f"contrib_{comp}"] = contrib
        score += contrib
    df["ring_score"] = np.clip(score, 0.0, 1.0)
    df["missing"] = ",".join(missing)
    return df
