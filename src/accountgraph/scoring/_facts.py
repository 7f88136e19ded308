"""Population facts: what the per-cluster features compare a cluster with.

A few evidence features measure a cluster against the whole input: its accounts'
daily volume against the median account's, its output lengths against those of the
accounts in no cluster, its templates against the share of each family's users that
are in no cluster, its exits per day against the median account's, its traffic on a
newly released model against the population's. Everything else about a cluster
depends only on its own events and accounts.

:func:`population_facts` computes these references once, from every event; they are
small (a few numbers, one per template family, one per released model). Given them,
:func:`~accountgraph.scoring.cluster_features` needs only the events and accounts of
the clusters it scores, so an engine can score batches of clusters where their data
lives (the Spark engine computes the facts as aggregations and scores each batch in an
executor) and get the numbers the whole-input call gives.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ._behaviour import exits_median, exits_per_day
from ._features import _US_PER_S, account_activity, output_median, pivot_facts, rate_median

__all__ = ["PopulationFacts", "population_facts"]


@dataclass(frozen=True)
class PopulationFacts:
    """The whole input's references for the per-cluster features (see the module docstring).

    Attributes
    ----------
    n_accounts : int
        Accounts in the input (the denominator of ``account_share``).
    rate_median : float
        Events per active day of the median account with events (1.0 without events).
    output_median : float or None
        Median output length of the events of accounts in no cluster (of all events if
        fewer than 100); ``None`` when the input has no output lengths.
    family_unclustered : ndarray of float64 or None
        Per template family code, the share of its users in no cluster; ``None`` when no
        event has a family.
    exits_median : float or None
        Distinct IPs per active account-day of the median account with IP events; ``None``
        when the input has no IPs.
    pivot : (ndarray, ndarray, float) or None
        Codes of the models released inside the data, their release times (µs) and the
        population's new-model share of the release windows
        (:func:`~accountgraph.scoring._features.pivot_facts`); ``None`` when the input has no
        model or none is released inside it.
    has_created : bool
        Whether any account has a known creation time.
    span_days : float
        Time from the first to the last event of the input, in days (1.0 without events;
        at least one second): under a day the per-day rates are extrapolated (see
        :func:`~._features._cadence`).
    """

    n_accounts: int
    rate_median: float
    output_median: float | None = None
    family_unclustered: np.ndarray | None = None
    exits_median: float | None = None
    pivot: tuple[np.ndarray, np.ndarray, float] | None = None
    has_created: bool = False
    span_days: float = 1.0


def population_facts(*, acc_cluster: np.ndarray, ev_account: np.ndarray, ev_ts_us: np.ndarray,
                     ev_output: np.ndarray | None, ev_family: np.ndarray | None, created_us: np.ndarray | None,
                     ev_model: np.ndarray | None, ev_ip: np.ndarray | None) -> PopulationFacts:
    """The population facts of an input: every event, the cluster of every account.

    Parameters are those of :func:`~accountgraph.scoring.cluster_features`, over every event
    of the input.

    Returns
    -------
    PopulationFacts

    Notes
    -----
    O(n_events) time and memory (bincounts and hash sets), plus a median over the accounts.

    Examples
    --------
    >>> f = population_facts(acc_cluster=np.array([0, 0, -1]), ev_account=np.array([0, 1, 2, 2]),
    ...                      ev_ts_us=np.array([0, 1, 2, 86_400_000_000]), ev_output=np.array([5, 7, 9, 11]),
    ...                      ev_family=None, created_us=None, ev_model=None, ev_ip=None)
    >>> f.n_accounts, f.rate_median, f.output_median
    (3, 1.0, 8.0)
    """
    ts_all = ev_ts_us // _US_PER_S
    act = account_activity(ev_account, ts_all, len(acc_cluster))
    facts = _population(acc_cluster, ev_account, ev_ts_us, act, ev_output, ev_family, created_us, ev_model)
    ex = None
    if ev_ip is not None and (ev_ip >= 0).any():
        ex = exits_median(exits_per_day(acc_cluster, ev_account, ts_all, ev_ip, act)[0])
    return replace(facts, exits_median=ex)


def _population(acc_cluster: np.ndarray, ev_account: np.ndarray, ev_ts_us: np.ndarray, act: dict[str, np.ndarray],
                ev_output: np.ndarray | None, ev_family: np.ndarray | None, created_us: np.ndarray | None,
                ev_model: np.ndarray | None) -> PopulationFacts:
    """Every fact but ``exits_median`` (left ``None``), with the accounts' activity ``act`` given."""
    ev_cl = np.where(acc_cluster >= 0, 0, -1).astype(np.int8)[ev_account]  # only 'in no cluster' is read
    out_med = None
    if ev_output is not None and (ev_output >= 0).any():
        out_med = output_median(ev_output, ev_cl)
    fam = None
    if ev_family is not None and (ev_family >= 0).any():
        users_all, users_out = family_users(ev_family, ev_account, ev_cl < 0)
        fam = users_out / np.maximum(users_all, 1)
    piv = pivot_facts(ev_model, ev_ts_us) if ev_model is not None else None
    has_created = created_us is not None and bool((created_us >= 0).any())
    return PopulationFacts(len(acc_cluster), rate_median(act), out_med, fam, None, piv, has_created,
                           float(act["span_days"]))


def family_users(ev_family: np.ndarray, ev_account: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct accounts per template family among all events, and among the events ``rows``.

    ``rows`` (a boolean mask) must be constant per account (e.g. "in no cluster"), so an
    account's first event with a family is one of ``rows`` or none of its events are.
    """
    from ._kernels import first_of_pair  # numba: imported when first needed

    n_fam = int(ev_family.max()) + 1
    ok = ev_family >= 0
    fam = ev_family[ok]
    first = first_of_pair(ev_account[ok], fam)  # codes as they are (int32 in the pipeline)
    return (np.bincount(fam[first], minlength=n_fam),
            np.bincount(fam[first & rows[ok]], minlength=n_fam))
