"""Evidence features of the ring score, one function per evidence group.

Each ``_<group>`` function computes its features for every cluster at once
(``bincount`` and sorting over cluster codes; no loop over clusters or rows)
and returns them as named columns. The ring model (:mod:`._model`) turns them
into log-odds contributions; NaN means "not measurable here" and contributes
nothing. The behavioural features computed per account first are in
:mod:`._behaviour`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._grouping import group_quantile_dense, group_quantiles_int
from .._unique import counts_in_place, lexsort

__all__ = ["account_activity", "account_days", "distinct_keys", "output_median", "pivot_facts", "ramp", "seconds",
           "rate_median"]

_US_PER_S = 1_000_000
_DAY = 86_400

Features = dict[str, np.ndarray]


def ramp(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """0 at/below ``lo``, 1 at/above ``hi``, linear between (``lo > hi`` reverses)."""
    x = np.asarray(x, dtype=np.float64)
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)


def _timing(acc_cluster: np.ndarray, hists: tuple[np.ndarray, np.ndarray], n_ev: np.ndarray, k: int) -> Features:
    """Scripted round-the-clock use: hour-of-day entropy, quiet-hours share, weekend share.

    ``hists``: :func:`~._activity_kernels.account_histograms` of the clustered events (per
    account and UTC hour, per account and weekday), summed here per cluster.
    """
    hours, days = hists
    m = acc_cluster >= 0
    hist = np.zeros((k, 24))
    np.add.at(hist, acc_cluster[m], hours[m])
    prob = hist / np.maximum(hist.sum(1, keepdims=True), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.nansum(np.where(prob > 0, prob * np.log(prob), 0.0), axis=1) / np.log(24)
    quiet = np.sort(prob, axis=1)[:, :8].sum(axis=1)
    weekend = np.bincount(acc_cluster[m], weights=days[m, 5] + days[m, 6], minlength=k) / np.maximum(n_ev, 1)
    return {"hour_entropy": ent, "quiet_hours_share": quiet, "weekend_share": weekend}


def distinct_keys(key: np.ndarray) -> np.ndarray:
    """Distinct values of an int64 key, in no particular order (hash-based: O(n), not a sort)."""
    import pandas as pd

    return np.asarray(pd.unique(np.asarray(key, dtype=np.int64)))


def account_days(acc: np.ndarray, day: np.ndarray, n_accounts: int, n_days: int) -> np.ndarray:
    """Distinct (account, day) pairs as ``account * n_days + day`` (day already relative, >= 0).

    A dense bincount over the account-day grid when it is small enough (O(n)), else a hash set.
    """
    key = np.multiply(acc, n_days, dtype=np.int64)
    key += day
    if n_accounts * n_days <= 60_000_000:
        return np.flatnonzero(np.bincount(key, minlength=n_accounts * n_days))
    return distinct_keys(key)


def seconds(ts_us: np.ndarray) -> np.ndarray:
    """UTC seconds (floor) of UTC microseconds: int32 when every value fits, else int64.

    Seconds since 1970 fit in int32 from December 1901 to January 2038: half the bytes of the
    event-sized array the scoring passes read (0.2 GiB at seed scale). The values equal
    ``ts_us // 1_000_000`` either way; consumers that multiply them must widen first.
    """
    ts_us = np.asarray(ts_us)
    if len(ts_us) and -(2**31) * _US_PER_S <= int(ts_us.min()) and int(ts_us.max()) < 2**31 * _US_PER_S:
        out = np.empty(len(ts_us), np.int32)
        np.floor_divide(ts_us, _US_PER_S, out=out, casting="unsafe")  # cast chunk by chunk, no int64 copy
        return out
    return ts_us // _US_PER_S


def account_activity(ev_account: np.ndarray, ts_s: np.ndarray, n_accounts: int) -> dict[str, np.ndarray]:
    """Per account: events, distinct active days, first and last active day (UTC days).

    Events in day order (as logs usually are) take one compiled pass with no event-sized
    temporary; others a hash set of the distinct (account, day) pairs. Same numbers.
    """
    if not len(ts_s):
        z = np.zeros(n_accounts)
        return {"events": np.bincount(ev_account, minlength=n_accounts).astype(np.float64), "active_days": z,
                "first_day": z, "last_day": z, "day0": 0, "n_days": 1, "span_days": 1.0}
    t_min, t_max = int(ts_s.min()), int(ts_s.max())
    d0 = t_min // _DAY
    n_days = t_max // _DAY - d0 + 1
    from ._activity_kernels import activity_in_day_order  # numba: imported when first needed

    got = activity_in_day_order(ev_account, ts_s, n_accounts, d0)
    if got is None:
        got = _activity_by_hashing(ev_account, ts_s, n_accounts, d0, n_days)
    events, active, first, last = got
    none = events == 0
    first = np.where(none, np.iinfo(np.int64).max, first)
    last = np.where(none, np.iinfo(np.int64).min, last)
    return {"events": events.astype(np.float64), "active_days": active.astype(np.float64),
            "first_day": first.astype(np.float64), "last_day": last.astype(np.float64), "day0": d0,
            "n_days": n_days, "span_days": float(t_max - t_min + 1) / _DAY}


def _activity_by_hashing(ev_account: np.ndarray, ts_s: np.ndarray, n_accounts: int, d0: int,
                         n_days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`account_activity`'s counts for events in any order (event-sized int64 temporaries)."""
    acc = ev_account.astype(np.int64)
    day = ts_s // _DAY
    events = np.bincount(acc, minlength=n_accounts)
    day -= d0  # in place: a fresh array
    ad = account_days(acc, day, n_accounts, n_days)
    del acc, day
    a, d = ad // n_days, ad % n_days
    active = np.bincount(a, minlength=n_accounts)
    first = np.full(n_accounts, np.iinfo(np.int64).max)
    last = np.full(n_accounts, -1, np.int64)
    np.minimum.at(first, a, d)
    np.maximum.at(last, a, d)
    return events, active, first, last


def rate_median(act: dict[str, np.ndarray]) -> float:
    """Events per active day of the input's median account with events (1.0 without events).

    ``act`` is :func:`account_activity` over every event of the input.
    """
    events, active = act["events"], act["active_days"]
    has = events > 0
    return float(np.median(events[has] / np.maximum(active[has], 1))) if has.any() else 1.0


#: Pseudo-days of the prior on an account's active-day share: one weekly cycle, the span over
#: which people and companies show their rest days and scripts show that they have none.
ACTIVE_PRIOR_DAYS = 7.0
#: Mean of that prior: about the median ``active_day_share`` of the tuning worlds' clusters (the
#: ring model's centre for the feature, 0.4217, where it contributes nothing).
ACTIVE_PRIOR_SHARE = 0.42


def _seen_from_creation(acc: np.ndarray, first_day: np.ndarray, created_us: np.ndarray | None) -> np.ndarray:
    """Whether each account (codes ``acc``; its first active day, in UTC days since 1970) was created at
    most a day before it."""
    if created_us is None:
        return np.zeros(len(acc), bool)
    c = created_us[acc]
    return (c >= 0) & (c // (_US_PER_S * _DAY) >= first_day - 1)


def _cadence(acc_cluster: np.ndarray, act: dict[str, np.ndarray], k: int, pop_med: float,
             span_days: float, created_us: np.ndarray | None = None) -> Features:
    """Load-balanced accounts: per-account daily volume, its spread, share of lifetime days active.

    ``act`` is :func:`account_activity` over every event of the clustered accounts (at least);
    ``pop_med`` is :func:`rate_median` of the whole input, the reference for ``rate_vs_population``;
    ``span_days`` is the time the whole input covers, in days. An input that covers less than
    a day (a monitor's first hours) has its per-day rate extrapolated from the span it covers
    (at most 24x: an hour), so that the gates, which are per-day rates, read an automation key
    seen for one hour as the automation key it is.

    ``active_day_share`` averages each account's share of its lifetime days (first to last
    active day) on which it was active. The share is read as it is for an account seen from
    its creation (created at most a day before its first event): a new account used on every
    day of its life. Any other account (created long before it is first seen, or of unknown
    creation) was seen for a window, not a life: every account seen for two days, or for a
    week that ends on its last workday, is active on all of its days, companies and people
    alike, and a monitor's first week read as 1.0 for all of them (the model's largest
    weight). Its share is estimated with :data:`ACTIVE_PRIOR_DAYS` pseudo-days at
    :data:`ACTIVE_PRIOR_SHARE` (a Beta prior, ``(active + d s) / (life + d)``): a month of
    daily use still reads about 0.9, a week 0.7 and a day 0.5, near where the model reads no
    evidence.
    """
    events, active = act["events"], act["active_days"]
    in_cl = np.flatnonzero((acc_cluster >= 0) & (events > 0))
    c_of = acc_cluster[in_cl]
    rate = events[in_cl] / np.maximum(active[in_cl], 1)
    life = act["last_day"][in_cl] - act["first_day"][in_cl] + 1
    seen = _seen_from_creation(in_cl, act["first_day"][in_cl] + act["day0"], created_us)
    d = np.where(seen, 0.0, ACTIVE_PRIOR_DAYS)
    active_frac = (active[in_cl] + d * ACTIVE_PRIOR_SHARE) / (np.maximum(life, 1) + d)
    cnt = np.bincount(c_of, minlength=k).astype(np.float64)
    per_day = 1.0 / min(1.0, max(float(span_days), 1.0 / 24))
    mean_rate = np.bincount(c_of, weights=rate, minlength=k) / np.maximum(cnt, 1)
    var_rate = np.bincount(c_of, weights=rate**2, minlength=k) / np.maximum(cnt, 1) - mean_rate**2
    cv_rate = np.sqrt(np.maximum(var_rate, 0)) / np.maximum(mean_rate, 1e-9)
    active_share = np.bincount(c_of, weights=active_frac, minlength=k) / np.maximum(cnt, 1)
    med_rate = group_quantile_dense(rate, c_of, k, 0.5) if len(c_of) else np.full(k, np.nan)
    return {"events_per_account_day": mean_rate * per_day, "daily_volume_cv": cv_rate, "active_day_share": active_share,
            "rate_vs_population": np.where(cnt > 0, med_rate / max(pop_med, 1e-9), np.nan)}


def _templates(fam: np.ndarray, cl: np.ndarray, acc: np.ndarray, n_acc: np.ndarray, k: int,
               unclustered_share: np.ndarray) -> Features:
    """Shared templates: share of prompts in families used across the cluster (and in its top 3).

    ``unclustered_share[f]`` is the share of family ``f``'s users that are in no cluster. A
    shared family is *coordinated* when at most half of its users are unclustered
    (``template_exclusive_share``): a ring's templates are used by its accounts, which are in
    its clusters (one per hydra head); a public template is used mostly by unrelated people in
    no cluster.
    """
    ok = fam >= 0
    every = bool(ok.all())  # no prompt without a family: no copies of the clustered events
    # Clusters may hold no events at all (accounts linked by their attributes only).
    n_fam = int(fam.max()) + 1 if len(fam) else 1
    fam_ok = fam if every else fam[ok]
    key = cl.astype(np.int64) if every else cl[ok].astype(np.int64)  # one event-sized int64 array, in place
    key *= n_fam
    key += fam_ok
    from ._kernels import first_of_pair  # numba: imported when first needed

    # Families shared across the cluster: distinct accounts per (cluster, family).
    first = first_of_pair(acc if every else acc[ok], fam_ok)  # an account is in one cluster; widened in the kernel
    del fam_ok
    cf_u, users = np.unique(key[first], return_counts=True)
    del first
    u, c = counts_in_place(key)  # the (cluster, family) keys in order, with their prompts
    del key
    prompts_cf = c[np.searchsorted(u, cf_u)]  # prompts of each (cluster, family) with its users
    ucl = u // n_fam
    order = lexsort((-c, ucl))
    ucl, c = ucl[order], c[order]
    starts = np.searchsorted(ucl, ucl, side="left")
    rank = np.arange(len(ucl)) - starts
    top3 = np.bincount(ucl[rank < 3], weights=c[rank < 3], minlength=k)
    n_prompted = np.bincount(cl if every else cl[ok], minlength=k).astype(np.float64)
    rep = np.where(n_prompted > 0, top3 / np.maximum(n_prompted, 1), 0.0)
    cf_cl = cf_u // n_fam
    shared_f = users >= np.maximum(3, 0.3 * n_acc[cf_cl])
    shared = np.bincount(cf_cl[shared_f], weights=prompts_cf[shared_f], minlength=k)
    shared_share = np.where(n_prompted > 0, shared / np.maximum(n_prompted, 1), 0.0)
    cf_fam = cf_u % n_fam
    own = shared_f & (unclustered_share[cf_fam] <= 0.5)
    excl = np.bincount(cf_cl[own], weights=prompts_cf[own], minlength=k)
    excl_share = np.where(n_prompted > 0, excl / np.maximum(n_prompted, 1), np.nan)
    return {"template_top3_share": rep, "template_shared_share": shared_share,
            "template_exclusive_share": excl_share, "n_template_families": np.bincount(ucl, minlength=k)}


def output_median(ev_output: np.ndarray, ev_cl: np.ndarray) -> float:
    """Median output length of the events of accounts in no cluster (of all, if fewer than 100).

    The reference of ``output_vs_population``: a big ring must not define "normal".
    ``ev_output`` and ``ev_cl`` (cluster per event, -1 none) cover every event of the input.
    """
    ref = (ev_output >= 0) & (ev_cl < 0)
    if ref.sum() < 100:
        ref = ev_output >= 0
    return float(np.median(ev_output[ref]))


def _output(out: np.ndarray, cl: np.ndarray, k: int, pop_median: float) -> Features:
    """Long, tight outputs: median output length against the population's, relative IQR.

    ``out``, ``cl``: output length (-1 unknown) and cluster of each clustered event.
    """
    ok = out >= 0
    every = bool(ok.all())  # as usual: no copies of the clustered events' lengths and clusters
    med, q1, q3 = group_quantiles_int(out if every else out[ok], cl if every else cl[ok], k, (0.5, 0.25, 0.75))
    rel_iqr = (q3 - q1) / np.maximum(med, 1)
    ratio = med / max(pop_median, 1)
    return {"output_median": med, "output_rel_iqr": rel_iqr, "output_vs_population": ratio}


def _creation(acc_cluster: np.ndarray, created_us: np.ndarray, k: int, window_s: int) -> Features:
    """Creation burst: share of accounts created within the densest window (>= 3 known)."""
    ok = (acc_cluster >= 0) & (created_us >= 0)
    c_cl = acc_cluster[ok].astype(np.int64)
    c_t = created_us[ok] // _US_PER_S
    key = np.sort(c_cl * (1 << 33) + (c_t - c_t.min() if len(c_t) else c_t))
    within = np.searchsorted(key, key + window_s, side="right") - np.arange(len(key))
    kc = key >> 33
    best = np.zeros(k)
    np.maximum.at(best, kc, within)
    known = np.bincount(c_cl, minlength=k).astype(np.float64)
    burst = np.where(known >= 3, best / np.maximum(known, 1), np.nan)
    return {"creation_burst_share": burst}


def pivot_facts(model: np.ndarray, ts_us: np.ndarray) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Models released inside the data, their release times and the population's new-model share.

    A model is *new* when its first use is at least two days after the first event; its
    release window is the 48 hours from that first use. Returns the new models' codes, their
    release times (µs) and the share of the events inside any release window that use the
    window's model, or ``None`` when no model is released inside the data. ``model`` and
    ``ts_us`` cover every event of the input.
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
    in_w, on_new = _release_windows(model, ts_us, new, release[new])
    return new, release[new], on_new.sum() / max(in_w.sum(), 1)


def _release_windows(model: np.ndarray, ts_us: np.ndarray, new: np.ndarray,
                     release: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per event: inside some new model's release window; inside it and on that model."""
    window = 48 * 3600 * _US_PER_S
    in_w = np.zeros(len(ts_us), bool)
    on_new = np.zeros(len(ts_us), bool)
    for m, r in zip(new, release):  # a handful of model releases, each a vectorised pass
        w = (ts_us >= r) & (ts_us < r + window)
        in_w |= w
        on_new |= w & (model == m)
    return in_w, on_new


def _pivot(model: np.ndarray, ts_us: np.ndarray, cl: np.ndarray, k: int,
           facts: tuple[np.ndarray, np.ndarray, float]) -> Features:
    """Share of each cluster's traffic on newly released models right after release.

    ``model``, ``ts_us``, ``cl``: model code, time and cluster of each clustered event;
    ``facts``: :func:`pivot_facts` of the whole input. Returns the share, its excess over the
    population and the first-use lag in hours per cluster.
    """
    new, release, pop = facts
    in_w, on_new = _release_windows(model, ts_us, new, release)
    lag = np.full(k, np.inf)
    for m, r in zip(new, release):
        use = model == m
        first = np.full(k, np.iinfo(np.int64).max)
        np.minimum.at(first, cl[use], ts_us[use])
        lag = np.minimum(lag, np.where(first < np.iinfo(np.int64).max, (first - r) / 3.6e9, np.inf))
    n_w = np.bincount(cl[in_w], minlength=k).astype(np.float64)
    n_new = np.bincount(cl[on_new], minlength=k).astype(np.float64)
    share = np.where(n_w >= 20, n_new / np.maximum(n_w, 1), np.nan)
    excess = share - pop
    return {"new_model_share": share, "new_model_excess": excess,
            "new_model_lag_hours": np.where(np.isfinite(lag), lag, np.nan)}
