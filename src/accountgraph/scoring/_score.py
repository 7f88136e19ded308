"""Scoring: how much does each cluster look like a ring, and why.

Stage 5 of the pipeline. Every cluster gets evidence features computed from its
events and accounts (vectorised with ``bincount``/sorting over cluster codes; no
loop over clusters or rows), a **fitted ring model** turns them into log-odds, and
``ring_score`` is the model's probability times a few hard gates. The model is a
logistic regression over transformed features, fitted on the *tuning* worlds of
``benchmarks/PROTOCOL.md`` and shipped as a versioned data file
(``scoring/ring_model.json``; rebuilt by ``benchmarks/train_scorer.py``); users can
pass their own (``ScoringParams(model=path)``).

Evidence (features in :mod:`._features` and :mod:`._behaviour`), grouped into the
components that ``explain()`` and the report show:

================== ===================================================================
component          features
================== ===================================================================
``timing``         per-account phase-aligned quiet share of the day and of the week
                   (24/7 scripts vs people who sleep, wherever they live)
``cadence``        share of lifetime days active, per-account daily volume against the
                   input's median account, its spread
``templates``      share of prompts in families used across the cluster, in its top 3
                   families, and in families that are the cluster's own (at least half
                   of their users are in it: a public template is not)
``output``         median output length against the input's, relative spread
``creation``       share of accounts created within the densest 72 hours
``pivot``          excess share of traffic on a newly released model right after release
``infrastructure`` distinct IPs per account-day against the input's median account
                   (proxy rotation), share of events from the 3 busiest IPs (an office or
                   a host anchors an organisation), same-minute use of one IP by several
                   accounts
================== ===================================================================

**Contributions.** With ``b`` the model's intercept and ``l_i`` the log-odds of
feature ``i`` (``L = b + sum l_i``), the probability is ``p = sigmoid(L)``. Each
feature gets ``l_i * (p - sigmoid(b)) / (L - b)`` (the secant slope of the logistic
between the baseline and the cluster, so every share has the sign of its log-odds),
``contrib_baseline`` is ``sigmoid(b)``, and a component's ``contrib_<name>`` is the sum
over its features. Gates multiply everything, so the ``contrib_*`` columns always
add up to ``ring_score`` exactly. A missing feature (NaN: no prompts, no creation
times, no model release, no IPs) contributes 0 and is listed in ``missing``.

**Gates** (not learned; reasons a cluster cannot be a ring whatever its evidence):

* size: ``ramp(log n, log 2, log 6)``: a pair is not a ring (0), three accounts 0.39;
* spread: ``ramp(events per account-day, 1000, 400)``: accounts each sending a
  thousand requests a day are automation, however scripted;
* automation team: a cluster of at most 5 accounts sending at least 50 requests per
  account-day, at least half of it from its 3 busiest addresses (or from no known address),
  is an owner's few API keys (a ring head rotating proxy exits is not); so is one of at most
  20 accounts at 20 or more a day (``team_host_rate``) that sends 90 % of its traffic from
  its 3 busiest addresses (a host or an office, not a proxy pool), or, with no address known
  at all, averages 200 a day; so is a cluster of any size at 20 or more a day whose
  accounts, split into blocks by the infrastructure they share, form blocks of at most 5
  accounts that each send 90 % of their traffic from their 3 busiest addresses: separate
  teams glued only by a common prompt template (columns ``team_block_max`` and
  ``team_block_ip_top_share``, :func:`team_blocks`) (``team_gate``);
* infrastructure: ``ramp(infra_block_share, 0.25, 0.5)``: a cluster in which no group of
  accounts sharing exact infrastructure (addresses, cards, devices) holds half its accounts
  is strangers linked by content alone, not one operator (``infra_gate``; not applied to
  clusters whose accounts have no infrastructure signal at all);
* events: a cluster with no event at all (linked by attributes only) scores 0;
* population share: a cluster of at least ``share_gate_min`` accounts holding more
  than ``max_account_share`` of all accounts is a community of the user base glued
  by common signals, not a ring (``share_gate`` 0; the communities stage has already
  tried to split it).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from .._parallel import Lane, beside
from ._behaviour import infrastructure_features, rhythm_features
from ._facts import PopulationFacts, _population, population_facts
from ._features import _cadence, _creation, _output, _pivot, _templates, _timing, account_activity, seconds
from ._features import ramp as ramp  # re-exported: tests import it from here
from ._teams import team_blocks  # noqa: F401  (named in the docstring)
from ..signals import ClusterPairs
from ._model import RingModel, load_model
from ._params import COMPONENTS, ScoringParams

__all__ = ["ScoringParams", "COMPONENTS", "PopulationFacts", "score_clusters", "apply_model", "cluster_features",
           "population_facts", "signal_concentration"]

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
    ev_ip: np.ndarray | None = None,
    pairs: ClusterPairs | None = None,
    degree: np.ndarray | None = None,
    params: ScoringParams = ScoringParams(),
    facts: PopulationFacts | None = None,
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
    ev_model : ndarray of int (32 or 64 bit) or None
        Model code per event (-1 unknown).
    ev_ip : ndarray of int (32 or 64 bit) or None
        IP code per event (-1 none).
    pairs : ClusterPairs, optional
        :func:`~accountgraph.signals.cluster_pairs` of the incidences and ``acc_cluster``;
        with ``degree`` (distinct accounts per signal) gives ``signal_concentration``.
    params : ScoringParams
    facts : PopulationFacts, optional
        :func:`population_facts` of the whole input, when the arrays hold only some
        clusters' accounts and events (see :func:`cluster_features`).

    Returns
    -------
    pandas.DataFrame
        One row per cluster index (0..n_clusters-1) with feature columns, the gates,
        ``logit``, ``contrib_<component>`` columns and ``contrib_baseline`` (summing to
        ``ring_score``) and ``missing``.

    Notes
    -----
    O(n_events log n_events) for the sorts and factorisations; O(n_events) memory.
    """
    f = cluster_features(n_clusters=n_clusters, acc_cluster=acc_cluster, ev_account=ev_account, ev_ts_us=ev_ts_us,
                         ev_output=ev_output, ev_family=ev_family, created_us=created_us, ev_model=ev_model,
                         ev_ip=ev_ip, burst_window_s=params.burst_window_s, pairs=pairs, degree=degree, facts=facts)
    n_total = len(acc_cluster) if facts is None else facts.n_accounts
    return apply_model(f, n_total, params, load_model(params.model))


def cluster_features(*, n_clusters: int, acc_cluster: np.ndarray, ev_account: np.ndarray, ev_ts_us: np.ndarray,
                     ev_output: np.ndarray | None, ev_family: np.ndarray | None, created_us: np.ndarray | None,
                     ev_model: np.ndarray | None, ev_ip: np.ndarray | None, burst_window_s: int,
                     pairs: ClusterPairs | None = None, degree: np.ndarray | None = None,
                     facts: PopulationFacts | None = None, lane: Lane | None = None) -> pd.DataFrame:
    """Every evidence feature per cluster (see the module docstring), NaN where not measurable.

    Without ``facts`` the event arrays hold every event of the input and the population
    facts are computed from them. With ``facts`` (:func:`population_facts` of the whole
    input) they need hold only the events of the accounts of ``acc_cluster`` that are in a
    cluster, and ``acc_cluster`` may cover only those accounts (codes in their input order):
    a cluster's features depend on its own events and accounts and on the facts alone, so
    batches of clusters scored this way give the whole-input numbers.

    The infrastructure features run beside the rest, on ``lane`` when given (after the work
    queued on it before), else on a thread of their own.
    """
    k = n_clusters
    n = len(acc_cluster)
    ts_all = seconds(ev_ts_us)  # int32 while the times fit (through 2038)
    act = account_activity(ev_account, ts_all, n)
    own = facts is None
    use_ip = own or facts.exits_median is not None
    # The infrastructure features (compiled passes that release the GIL) run beside the rest.
    infra = beside(infrastructure_features, acc_cluster, ev_account, ts_all, ev_ip if use_ip else None, k, act,
                   None if own else facts.exits_median, lane=lane)
    if facts is None:  # exits_median: computed below from the same events
        facts = _population(acc_cluster, ev_account, ev_ts_us, act, ev_output, ev_family, created_us, ev_model)
    m = (acc_cluster >= 0)[ev_account]  # the clustered events, with no event-sized cluster array
    acc = ev_account[m]
    cl = acc_cluster.astype(np.int32 if k < 2**31 else np.int64)[acc]  # int32: half the event-sized bytes
    n_acc = np.bincount(acc_cluster[acc_cluster >= 0], minlength=k).astype(np.int64)
    n_ev = np.bincount(cl, minlength=k).astype(np.int64)
    f: dict[str, np.ndarray] = {"n_accounts": n_acc, "n_events": n_ev}
    from ._activity_kernels import account_histograms  # numba: imported when first needed

    # per account and hour, per account and weekday: one pass over every event (the rows of
    # accounts in no cluster are not read), no event-sized copy of the clustered times
    hists = account_histograms(ev_account, ts_all, n)
    f.update(_timing(acc_cluster, hists, n_ev, k))
    f.update(rhythm_features(acc_cluster, ev_account, ts_all, k, hists=hists))
    del hists
    f.update(_cadence(acc_cluster, act, k, facts.rate_median, facts.span_days, created_us))
    if facts.family_unclustered is not None and ev_family is not None:
        f.update(_templates(ev_family[m], cl, acc, n_acc, k, facts.family_unclustered))
    else:
        f.update({c: np.full(k, np.nan) for c in ("template_top3_share", "template_shared_share",
                                                  "template_exclusive_share")})
    if facts.output_median is not None and ev_output is not None:
        f.update(_output(ev_output[m], cl, k, facts.output_median))
    else:
        f.update({c: np.full(k, np.nan) for c in ("output_median", "output_rel_iqr", "output_vs_population")})
    burst = None
    if facts.has_created and created_us is not None:
        burst = _creation(acc_cluster, created_us, k, burst_window_s)["creation_burst_share"]
    f["creation_burst_share"] = burst if burst is not None else np.full(k, np.nan)
    piv = _pivot(ev_model[m], ev_ts_us[m], cl, k, facts.pivot) if facts.pivot is not None and ev_model is not None \
        else None
    f.update(piv or {c: np.full(k, np.nan) for c in ("new_model_share", "new_model_excess", "new_model_lag_hours")})
    f.update(infra())
    f["signal_concentration"] = signal_concentration(pairs, degree, k) if pairs is not None and degree is not None \
        else np.full(k, np.nan)
    f["account_share"] = n_acc / max(facts.n_accounts, 1)
    return pd.DataFrame(f)


def signal_concentration(pairs: ClusterPairs, degree: np.ndarray, k: int) -> np.ndarray:
    """Per cluster: how much of what its accounts share is theirs alone.

    Over the signals held by at least two of the cluster's accounts, the mean (weighted by
    those accounts) of the share of the signal's holders that are in the cluster. A ring's
    exits, cards and stack are mostly the ring's; strangers glued together by a VPN exit, a
    carrier's NAT and a public template share signals that thousands of others hold too.
    """
    m = pairs.count >= 2
    kk = pairs.count[m].astype(np.float64)
    share = kk / np.maximum(degree[pairs.signal[m]], 1)
    num = np.bincount(pairs.cluster[m], weights=kk * share, minlength=k)
    den = np.bincount(pairs.cluster[m], weights=kk, minlength=k)
    return np.where(den > 0, num / np.maximum(den, 1e-12), np.nan)


def _sigmoid(t: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(t, dtype=np.float64)))


def apply_model(feats: pd.DataFrame, n_accounts_total: int, params: ScoringParams,
                model: RingModel) -> pd.DataFrame:
    """Gates, log-odds, per-component contributions and ``ring_score`` from a feature table.

    ``feats`` needs ``n_accounts``, ``n_events``, ``events_per_account_day`` and the model's
    features. Cluster-sized: any engine that computes the features can call this.
    """
    df = feats.copy()
    k = len(df)
    n_acc = df["n_accounts"].to_numpy(np.float64)
    lo, hi = params.size_gate
    size_gate = ramp(np.log(np.maximum(n_acc, 1)), np.log(lo), np.log(hi))
    hi_rate, lo_rate = params.spread_gate
    rate = np.nan_to_num(df["events_per_account_day"].to_numpy(np.float64))
    spread_gate = np.where(df["n_events"].to_numpy() > 0, ramp(rate, hi_rate, lo_rate), 0.0)
    share_gate = ((n_acc <= params.max_account_share * max(n_accounts_total, 1))
                  | (n_acc < params.share_gate_min)).astype(np.float64)
    team_n, team_rate = params.team_gate
    host_rate = params.team_host_rate
    top_raw = df["ip_top_share"].to_numpy(np.float64) if "ip_top_share" in df else np.full(k, np.nan)
    top_ip = np.nan_to_num(top_raw)
    no_ip = np.isnan(top_raw)
    # a few keys are a team when they run from their owner's hosts: half their traffic from 3
    # addresses, or no address known to say otherwise (a ring head rotating proxy exits is not)
    anchored = no_ip | (top_ip >= params.team_anchor)
    team = (rate >= team_rate) & (n_acc <= team_n) & anchored
    # up to 4x as many accounts on one host (90% of traffic from 3 addresses) at a machine's rate;
    # with no address known at all, at 4x the team rate
    team |= (n_acc <= 4 * team_n) & (((top_ip >= 0.9) & (rate >= host_rate)) | (no_ip & (rate >= 4 * team_rate)))
    if "team_block_max" in df and "team_block_ip_top_share" in df:
        # several teams glued by a common template: every infrastructure block is a team on its host
        blk = df["team_block_max"].to_numpy(np.float64)
        blk_ip = df["team_block_ip_top_share"].to_numpy(np.float64)
        with np.errstate(invalid="ignore"):
            team |= (rate >= host_rate) & (blk <= team_n) & (blk_ip >= 0.9)
    team_gate = 1.0 - team.astype(np.float64)
    infra_gate = np.ones(k)
    if "infra_block_share" in df:
        blk_share = df["infra_block_share"].to_numpy(np.float64)
        infra_gate = np.where(np.isnan(blk_share), 1.0, ramp(np.nan_to_num(blk_share), *params.infra_gate))
    gate = size_gate * spread_gate * share_gate * team_gate * infra_gate
    df["size_gate"], df["spread_gate"], df["share_gate"], df["team_gate"] = size_gate, spread_gate, share_gate, team_gate
    df["infra_gate"] = infra_gate

    x = model.design(df)
    lg = model.logistic
    parts = lg.contributions(x) if k else np.zeros((0, len(lg.features)))
    logit = lg.intercept + parts.sum(axis=1)
    p, p0 = _sigmoid(logit), float(_sigmoid(np.array(lg.intercept)))
    delta = logit - lg.intercept
    # secant slope of the logistic between the baseline and the cluster (its derivative at 0 gap)
    slope = np.where(np.abs(delta) > 1e-9, (p - p0) / np.where(np.abs(delta) > 1e-9, delta, 1.0), p0 * (1 - p0))
    df["logit"] = logit
    for comp in COMPONENTS:
        cols = [i for i, c in enumerate(model.components) if c == comp]
        df[f"contrib_{comp}"] = gate * slope * parts[:, cols].sum(axis=1) if cols else np.zeros(k)
    df["contrib_baseline"] = gate * p0
    df["ring_score"] = gate * p
    missing = [c for c in COMPONENTS
               if any(model.components[i] == c for i in range(len(model.features)))
               and all(np.isnan(x[:, i]).all() for i in range(len(model.features)) if model.components[i] == c)]
    df["missing"] = ",".join(missing)
    return df
