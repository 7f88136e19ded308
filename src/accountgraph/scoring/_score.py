"""Scoring: how much does each cluster look like a ring, and why.

Stage 5 of the pipeline. Every cluster gets evidence features computed from its
events and accounts (vectorised with ``bincount``/sorting over cluster codes;
no loop over clusters or rows) and a ``ring_score`` in [0, 1] that is an
additive sum of per-evidence contributions, so an analyst can see exactly what
drove it and the contributions always add up to the score.

Evidence and its ring-likeness ramp (``ramp(x, lo, hi)`` is 0 below ``lo``,
1 above ``hi``, linear between):

=============== ============================================================= ======
component       feature(s)                                                    weight
=============== ============================================================= ======
``timing``      scripted round-the-clock use: share of the cluster's events    0.25
                in its 8 quietest hours of the day (uniform use gives 1/3,
                people who sleep ~0.05; ramp 0.12 -> 0.28) times weekend
                activity (share 0.04 -> 0.15, so an office scores low)
``cadence``     load-balanced accounts: low spread of per-account daily         0.20
                volume (CV 1.0 -> 0.3) and accounts active on most days of
                their lifetime (0.4 -> 0.9)
``templates``   shared templates: share of the cluster's prompts in template    0.20
                families used by at least max(3, 30 %) of its accounts
                (0.2 -> 0.6). Camouflage prompts are diverse and fall outside;
                the campaign's templates, used by every member, do not
                (``template_top3_share`` is reported as well)
``output``      long, tight outputs: median output length vs the population     0.15
                (x1 -> x3) and low relative spread (IQR/median 1.0 -> 0.3)
``creation``    creation burst: share of accounts created within the densest    0.20
                72-hour window (0.3 -> 0.7), only where >= 3 accounts' creation
                time is known
``pivot``       pivot to a newly released model: in the 48 hours after a        0.10
                model first appears (at least 2 days into the data), the share
                of the cluster's traffic on it minus the population's share
                (0.1 -> 0.5); needs the optional ``model`` column and >= 20 of
                the cluster's events in those windows
=============== ============================================================= ======

The weighted sum is multiplied by two gates. The **size gate**,
``ramp(log n, log 2, log 6)``, is 0 for a pair, 0.39 for three accounts and 1
from six on; the **spread gate**, ``ramp(events per account-day, 200, 80)``, is
1 up to 80 requests per account-day and 0 from 200 on. Rings spread their load
over many accounts so that each looks harmless (~26 a day in the 2026
campaigns); a pair, a family, or a few automation accounts each sending
hundreds of requests a day, however scripted, is not a ring. The ``contrib_*``
columns already include the gates, so they still sum to ``ring_score``.

When an input lacks what a component needs (no prompts, no output lengths, no
account creation times), its weight is spread over the available components and
the cluster's ``missing`` column says so. The weights and ramps are parameters
(:class:`ScoringParams`) and were chosen on the synthetic scenarios; the
benchmarks report how they fare there, including the traps.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from .._exceptions import InvalidParameterError
from .._validation import Constraint, Interval, Pair, ParamsBase, WeightMapping

__all__ = ["ScoringParams", "COMPONENTS", "score_clusters"]

logger = logging.getLogger(__name__)

COMPONENTS = ("timing", "cadence", "templates", "output", "creation", "pivot")
_US_PER_S = 1_000_000
_DAY = 86_400


@dataclass(frozen=True)
class ScoringParams(ParamsBase):
    """Weights of the evidence components and the gates of the ring score.

    Parameters
    ----------
    weights : mapping, optional
        Weight per component (>= 0, among :data:`COMPONENTS`; missing ones are
        0); normalised to sum 1 over the components an input supports.
    burst_window_s : int, default 259200
        Width of the densest account-creation window (72 hours).
    size_gate : (int, int), default (2, 6)
        Cluster sizes at which the size gate is 0 and 1 (log-linear between).
    spread_gate : (float, float), default (200.0, 80.0)
        Events per account-day at which the spread gate is 0 and 1.
    """

    weights: dict[str, float] = field(
        default_factory=lambda: {
            "timing": 0.25, "cadence": 0.20, "templates": 0.20,
            "output": 0.15, "creation": 0.20, "pivot": 0.10,
        }
    )
    burst_window_s: int = 72 * 3600
    size_gate: tuple[int, int] = (2, 6)
    spread_gate: tuple[float, float] = (200.0, 80.0)

    _constraints: ClassVar[dict[str, Constraint]] = {
        "weights": WeightMapping(COMPONENTS),
        "burst_window_s": Interval(int, 1, None),
        "size_gate": Pair(Interval(int, 1, None)),
        "spread_gate": Pair(Interval(float, 0, None, "neither")),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if not sum(float(v) for v in self.weights.values()) > 0:
            raise InvalidParameterError(
                f"The 'weights' parameter of ScoringParams must give some component a weight > 0. "
                f"Got {self.weights!r} instead."
            )
        if self.size_gate[0] >= self.size_gate[1]:
            raise InvalidParameterError(
                f"The 'size_gate' parameter of ScoringParams must be increasing (lo < hi). Got {self.size_gate!r} instead."
            )


def ramp(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """0 at/below ``lo``, 1 at/above ``hi``, linear between (``lo > hi`` reverses)."""
    x = np.asarray(x, dtype=np.float64)
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)


def _group_quantile(values: np.ndarray, group: np.ndarray, n_groups: int, q: float) -> np.ndarray:
    """Per-group quantile (nearest rank) by one lexsort; NaN for empty groups."""
    out = np.full(n_groups, np.nan)
    if len(values) == 0:
        return out
    order = np.lexsort((values, group))
    g, v = group[order], values[order]
    counts = np.bincount(g, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = counts > 0
    idx = starts[has] + np.floor(q * (counts[has] - 1)).astype(np.int64)
    out[has] = v[idx]
    return out


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

    # --- timing: hour-of-day entropy and weekend share
    hour = (ts // 3600) % 24
    hist = np.bincount(cl * 24 + hour, minlength=k * 24).reshape(k, 24).astype(np.float64)
    p = hist / np.maximum(hist.sum(1, keepdims=True), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.nansum(np.where(p > 0, p * np.log(p), 0.0), axis=1) / np.log(24)
    quiet = np.sort(p, axis=1)[:, :8].sum(axis=1)
    dow = ((ts // _DAY) + 3) % 7  # 1970-01-01 was a Thursday; 5, 6 = Sat, Sun
    weekend = np.bincount(cl, weights=(dow >= 5).astype(np.float64), minlength=k) / np.maximum(n_ev, 1)
    f["hour_entropy"], f["quiet_hours_share"], f["weekend_share"] = ent, quiet, weekend
    s_timing = ramp(quiet, 0.12, 0.28) * ramp(weekend, 0.04, 0.15)

    # --- cadence: per-account daily volume spread; share of lifetime days active
    day = ts // _DAY
    n_accounts_total = len(acc_cluster)
    ad = np.unique(acc.astype(np.int64) * (day.max() + 1 if len(day) else 1) + day) if len(day) else np.zeros(0, np.int64)
    ad_acc = ad // (day.max() + 1) if len(day) else ad
    active_days = np.bincount(ad_acc, minlength=n_accounts_total).astype(np.float64)
    acc_events = np.bincount(acc, minlength=n_accounts_total).astype(np.float64)
    first = np.full(n_accounts_total, np.iinfo(np.int64).max)
    last = np.full(n_accounts_total, np.iinfo(np.int64).min)
    np.minimum.at(first, acc, day)
    np.maximum.at(last, acc, day)
    in_cl = np.flatnonzero((acc_cluster >= 0) & (acc_events > 0))
    c_of = acc_cluster[in_cl]
    rate = acc_events[in_cl] / np.maximum(active_days[in_cl], 1)
    life = (last[in_cl] - first[in_cl] + 1).astype(np.float64)
    active_frac = active_days[in_cl] / np.maximum(life, 1)
    cnt = np.bincount(c_of, minlength=k).astype(np.float64)
    mean_rate = np.bincount(c_of, weights=rate, minlength=k) / np.maximum(cnt, 1)
    var_rate = np.bincount(c_of, weights=rate**2, minlength=k) / np.maximum(cnt, 1) - mean_rate**2
    cv_rate = np.sqrt(np.maximum(var_rate, 0)) / np.maximum(mean_rate, 1e-9)
    active_share = np.bincount(c_of, weights=active_frac, minlength=k) / np.maximum(cnt, 1)
    f["events_per_account_day"] = mean_rate
    f["daily_volume_cv"] = cv_rate
    f["active_day_share"] = active_share
    s_cadence = 0.5 * ramp(cv_rate, 1.0, 0.3) + 0.5 * ramp(active_share, 0.4, 0.9)

    missing: list[str] = []
    s: dict[str, np.ndarray] = {"timing": s_timing, "cadence": s_cadence}

    # --- templates: share of prompts in the cluster's top-3 families
    if ev_family is not None and (ev_family >= 0).any():
        fam = ev_family[m]
        ok = fam >= 0
        # Clusters may hold no events at all (accounts linked by their attributes only).
        n_fam = int(fam.max()) + 1 if len(fam) else 1
        key = cl[ok].astype(np.int64) * n_fam + fam[ok]
        u, c = np.unique(key, return_counts=True)
        ucl = u // n_fam
        order = np.lexsort((-c, ucl))
        ucl, c = ucl[order], c[order]
        starts = np.searchsorted(ucl, ucl, side="left")
        rank = np.arange(len(ucl)) - starts
        top3 = np.bincount(ucl[rank < 3], weights=c[rank < 3], minlength=k)
        n_prompted = np.bincount(cl[ok], minlength=k).astype(np.float64)
        rep = np.where(n_prompted > 0, top3 / np.maximum(n_prompted, 1), 0.0)
        # Families shared across the cluster: distinct accounts per (cluster, family).
        n_accs = int(acc.max()) + 1 if len(acc) else 1
        cf = cl[ok].astype(np.int64) * n_fam + fam[ok]
        trip = np.unique(cf * n_accs + acc[ok])
        cf_u, users = np.unique(trip // n_accs, return_counts=True)
        cf_cl = cf_u // n_fam
        shared_f = users >= np.maximum(3, 0.3 * n_acc[cf_cl])
        prompts_cf = np.bincount(np.searchsorted(cf_u, cf), minlength=len(cf_u))
        shared = np.bincount(cf_cl[shared_f], weights=prompts_cf[shared_f], minlength=k)
        shared_share = np.where(n_prompted > 0, shared / np.maximum(n_prompted, 1), 0.0)
        f["template_top3_share"] = rep
        f["template_shared_share"] = shared_share
        f["n_template_families"] = np.bincount(ucl, minlength=k)
        s["templates"] = ramp(shared_share, 0.2, 0.6)
    else:
        f["template_top3_share"] = np.full(k, np.nan)
        missing.append("templates")

    # --- output lengths: long and tight
    if ev_output is not None and (ev_output >= 0).any():
        out = ev_output[m].astype(np.float64)
        ok = out >= 0
        # Reference: accounts in no cluster (a big ring must not define "normal").
        ref = (ev_output >= 0) & (ev_cl < 0)
        if ref.sum() < 100:
            ref = ev_output >= 0
        pop_median = float(np.median(ev_output[ref]))
        med = _group_quantile(out[ok], cl[ok], k, 0.5)
        q1 = _group_quantile(out[ok], cl[ok], k, 0.25)
        q3 = _group_quantile(out[ok], cl[ok], k, 0.75)
        rel_iqr = (q3 - q1) / np.maximum(med, 1)
        ratio = med / max(pop_median, 1)
        f["output_median"], f["output_rel_iqr"], f["output_vs_population"] = med, rel_iqr, ratio
        s["output"] = np.nan_to_num(
            0.5 * ramp(np.log2(np.maximum(ratio, 1e-9)), 0.0, np.log2(3)) + 0.5 * ramp(rel_iqr, 1.0, 0.3)
        )
    else:
        missing.append("output")

    # --- creation bursts
    if created_us is not None and (created_us >= 0).any():
        ok = (acc_cluster >= 0) & (created_us >= 0)
        c_cl = acc_cluster[ok].astype(np.int64)
        c_t = created_us[ok] // _US_PER_S
        key = np.sort(c_cl * (1 << 33) + (c_t - c_t.min() if len(c_t) else c_t))
        within = np.searchsorted(key, key + params.burst_window_s, side="right") - np.arange(len(key))
        kc = key >> 33
        best = np.zeros(k)
        np.maximum.at(best, kc, within)
        known = np.bincount(c_cl, minlength=k).astype(np.float64)
        burst = np.where(known >= 3, best / np.maximum(known, 1), np.nan)
        f["creation_burst_share"] = burst
        s["creation"] = np.nan_to_num(ramp(burst, 0.3, 0.7))
    else:
        missing.append("creation")

    pivot = _pivot(ev_model, ev_ts_us, ev_cl, k) if ev_model is not None else None
    if pivot is not None:
        share, excess, lag_h = pivot
        f["new_model_share"], f["new_model_excess"], f["new_model_lag_hours"] = share, excess, lag_h
        s["pivot"] = np.nan_to_num(ramp(excess, 0.1, 0.5))
    else:
        missing.append("pivot")

    lo, hi = params.size_gate
    size_gate = ramp(np.log(np.maximum(n_acc, 1)), np.log(lo), np.log(hi))
    # Rings spread load so each account looks harmless; a few accounts each
    # sending hundreds of requests a day are automation, not a ring.
    hi_rate, lo_rate = params.spread_gate
    # A cluster without a single event (accounts linked by their attributes
    # only) shows no coordinated usage: nothing to score, never flagged.
    spread_gate = np.where(n_ev > 0, ramp(mean_rate, hi_rate, lo_rate), 0.0)
    gate = size_gate * spread_gate
    f["size_gate"], f["spread_gate"] = size_gate, spread_gate

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


def _pivot(model: np.ndarray, ts_us: np.ndarray, ev_cl: np.ndarray, k: int):
    """Share of each cluster's traffic on newly released models right after release.

    Returns ``(share, excess over population, first-use lag in hours)`` per
    cluster, or ``None`` when no model is released inside the data.
    """
    ok = model >= 0
    if not ok.any():
        return None
    n_models = int(model.max()) + 1
    release = np.full(n_models, np.iinfo(np.int64).max)
    np.minimum.at(release, model[ok], ts_us[ok])
    start = int(ts_us.min())
    new = np.flatnonzero(release >= start + 2 * _DAY * _US_PER_S)
    if len(new) == 0:
        return None
    window = 48 * 3600 * _US_PER_S
    in_w = np.zeros(len(ts_us), bool)
    on_new = np.zeros(len(ts_us), bool)
    lag = np.full(k, np.inf)
    for m in new:  # a handful of model releases, each a vectorised pass
        w = (ts_us >= release[m]) & (ts_us < release[m] + window)
        in_w |= w
        on_new |= w & (model == m)
        use = (model == m) & (ev_cl >= 0)
        first = np.full(k, np.iinfo(np.int64).max)
        np.minimum.at(first, ev_cl[use], ts_us[use])
        lag = np.minimum(lag, np.where(first < np.iinfo(np.int64).max, (first - release[m]) / 3.6e9, np.inf))
    pop = on_new.sum() / max(in_w.sum(), 1)
    c = ev_cl >= 0
    n_w = np.bincount(ev_cl[c & in_w], minlength=k).astype(np.float64)
    n_new = np.bincount(ev_cl[c & on_new], minlength=k).astype(np.float64)
    share = np.where(n_w >= 20, n_new / np.maximum(n_w, 1), np.nan)
    return share, share - pop, np.where(np.isfinite(lag), lag, np.nan)
