"""Behavioural evidence that mimicry and scale do not erase (issue 11).

Features computed per *account* first and only then pooled per cluster, so that a
cluster of thousands of strangers spread over every time zone does not look
"round the clock" in aggregate, and so that a ring is compared with the population
of the same input rather than with fixed constants:

``circadian_quiet_share``
    Each account's hour-of-day histogram is aligned on the account's own activity phase
    (the circular mean hour), the aligned histograms of a cluster are summed, and the
    feature is the share of events in the 8 quietest aligned hours. People sleep
    (about 0.05 wherever they live); scripts running 24/7 give about 1/3; a ring that
    mimics one diurnal curve looks human here, and is caught by other evidence.
``weekly_quiet_share``
    The same on the day-of-week histogram, 2 quietest aligned days (uniform 2/7).
``exits_per_account_day``
    Distinct IPs per active account-day (median account of the cluster), over the same
    for the median account of the whole input: proxy rotation.
``ip_top_share``
    Share of the cluster's events sent from its 3 busiest IPs: an office NAT or an
    automation host is an organisational anchor; a proxy pool is not.
``sync_share``
    Share of the cluster's IP-using events whose (IP, minute) is shared by two or more
    of its accounts: scripted accounts acting through the same exit at the same time.

All are vectorised (``bincount``) or compiled (:mod:`._kernels`: one hashing pass over the
events for the exits, one over the clustered events for the IPs); no Python loop over
clusters, accounts or events.
"""

from __future__ import annotations

import numpy as np

from .._grouping import group_quantile_dense
from ._features import account_days

__all__ = ["exits_median", "exits_per_day", "infrastructure_features", "rhythm_features"]

_DAY = 86_400


def _aligned_quiet(hist: np.ndarray, acc_cluster: np.ndarray, k: int, quiet: int) -> np.ndarray:
    """Share of events in the ``quiet`` quietest bins of the phase-aligned cluster histogram.

    ``hist`` is (n_accounts, b) event counts per account and cyclic bin. Each row is rotated so
    that its circular-mean bin lands on bin ``b // 2`` before the rows of a cluster are summed.
    """
    n, b = hist.shape
    ang = 2 * np.pi * np.arange(b) / b
    phase = np.arctan2(hist @ np.sin(ang), hist @ np.cos(ang))
    shift = np.round(phase / (2 * np.pi) * b).astype(np.int64) - b // 2
    idx = (np.arange(b)[None, :] + shift[:, None]) % b
    aligned = np.take_along_axis(hist, idx, axis=1)
    m = acc_cluster >= 0
    agg = np.zeros((k, b))
    np.add.at(agg, acc_cluster[m], aligned[m])
    tot = agg.sum(axis=1)
    q = np.sort(agg, axis=1)[:, :quiet].sum(axis=1)
    return np.where(tot > 0, q / np.maximum(tot, 1), np.nan)


def rhythm_features(acc_cluster: np.ndarray, ev_account: np.ndarray, ts_s: np.ndarray, k: int,
                    hists: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """``circadian_quiet_share`` and ``weekly_quiet_share`` per cluster (NaN without events).

    Parameters
    ----------
    acc_cluster : ndarray of int64, shape (n_accounts,)
        Cluster index per account (-1: none).
    ev_account, ts_s : ndarray, shape (n_events,)
        Account code and UTC time in seconds of each event (clustered events only is enough).
    k : int
        Number of clusters.
    hists : tuple of ndarray, optional
        :func:`~._activity_kernels.account_histograms` of these events, when already computed.
    """
    if hists is None:
        from ._activity_kernels import account_histograms  # numba: imported when first needed

        hists = account_histograms(ev_account, ts_s, len(acc_cluster))
    h, w = hists
    return {"circadian_quiet_share": _aligned_quiet(h, acc_cluster, k, 8),
            "weekly_quiet_share": _aligned_quiet(w, acc_cluster, k, 2)}


def exits_per_day(acc_cluster: np.ndarray, ev_account: np.ndarray, ts_s: np.ndarray, ev_ip: np.ndarray,
                  act: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct IPs per active account-day of each account (NaN without IP events).

    Returns the per-account values and the account code, IP code and time of the events with
    an IP (the inputs of :func:`_ip_concentration`). ``act``: :func:`~._features.account_activity`
    of the same events. Per account, only its own events count.
    """
    ok = ev_ip >= 0
    every = bool(ok.all())
    acc, ip, ts = (ev_account, ev_ip, ts_s) if every else (ev_account[ok], ev_ip[ok], ts_s[ok])
    n = len(acc_cluster)
    n_days = int(act["n_days"])
    day = ts // _DAY
    day -= int(act["day0"])  # in place: one event-sized array
    days = act["active_days"] if every else np.bincount(account_days(acc, day, n, n_days) // n_days,
                                                        minlength=n).astype(np.float64)
    from ._kernels import exit_counts  # numba: imported when first needed

    exits = exit_counts(acc, day, ip, n).astype(np.float64)
    has = days > 0
    return np.where(has, exits / np.maximum(days, 1), np.nan), acc, ip, ts


def exits_median(per_acc: np.ndarray) -> float:
    """Median of :func:`exits_per_day` over the accounts with IP events (1.0 if none)."""
    has = ~np.isnan(per_acc)
    return float(np.median(per_acc[has])) if has.any() else 1.0


def infrastructure_features(acc_cluster: np.ndarray, ev_account: np.ndarray, ts_s: np.ndarray,
                            ev_ip: np.ndarray | None, k: int, act: dict[str, np.ndarray],
                            pop: float | None = None) -> dict[str, np.ndarray]:
    """``exits_per_account_day``, ``ip_top_share`` and ``sync_share`` per cluster.

    Parameters
    ----------
    acc_cluster : ndarray of int64, shape (n_accounts,)
    ev_account, ts_s : ndarray, shape (n_events,)
        Account code and UTC seconds of every event of the input (or, with ``pop``, at least
        every event of the clustered accounts).
    ev_ip : ndarray of int (32 or 64 bit) or None, shape (n_events,)
        IP code per event (-1: none); ``None`` when the input has no IPs (all NaN).
    k : int
    act : dict
        :func:`~._features.account_activity` of the same events (active days per account).
    pop : float, optional
        :func:`exits_median` of the whole input; computed from these events when not given.
    """
    nan = np.full(k, np.nan)
    if ev_ip is None or not (ev_ip >= 0).any():
        return {"exits_per_account_day": nan, "ip_top_share": nan, "sync_share": nan}
    per_acc, acc, ip, ts = exits_per_day(acc_cluster, ev_account, ts_s, ev_ip, act)
    if pop is None:
        pop = exits_median(per_acc)
    m = ~np.isnan(per_acc) & (acc_cluster >= 0)
    med = group_quantile_dense(per_acc[m], acc_cluster[m], k, 0.5) if m.any() else nan
    out = {"exits_per_account_day": med / max(pop, 1e-9)}
    out.update(_ip_concentration(acc_cluster, acc, ip, ts, k))
    return out


def _ip_concentration(acc_cluster: np.ndarray, acc: np.ndarray, ip: np.ndarray, ts: np.ndarray,
                      k: int) -> dict[str, np.ndarray]:
    """Top-3 IP share and same-minute sharing of IPs, over the clustered events (one compiled pass)."""
    if not (acc_cluster >= 0).any():
        return {"ip_top_share": np.full(k, np.nan), "sync_share": np.full(k, np.nan)}
    from ._kernels import ip_concentration_by_account

    # the clustered events read where they lie (no copies of them), each one's cluster and minute on the way
    total, top, synced = ip_concentration_by_account(acc_cluster, acc, ip, ts, k)
    total = total.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"ip_top_share": np.where(total > 0, top / total, np.nan),
                "sync_share": np.where(total > 0, synced / total, np.nan)}
