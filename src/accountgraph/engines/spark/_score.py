"""The scoring seam: the ONE place the Spark engine calls the scorer.

:func:`score_spark` gathers, per batch of clusters, the clustered events and
accounts (``applyInPandas`` grouped by ``cluster % n_batches``) and calls
:func:`accountgraph.scoring.score_clusters` on them in the executors;
:func:`member_spark` does the same for :func:`accountgraph.scoring.member_scores`
on the clustered incidences. Nothing event-sized reaches the driver: each batch
returns its clusters' feature rows.

``score_clusters`` reads a few *population* facts from events outside the
clusters: the median output length of unclustered events (of all events when
fewer than 100), whether any event has a template family / output length / any
account a creation time, and for the model pivot each model's release time, the
first timestamp and the population's share of new-model traffic in the release
windows. A batch holds only its clusters' events, so these facts are computed in
Spark and handed to the scorer as *reference rows* of a dummy account in no
cluster (:func:`_reference_rows`): 100 output values whose median is the
population's, one row per model at its release time, and filler rows in the
release window that make the window's new-model share equal the population's as
an exact fraction. When ``score_clusters`` accepts these facts as an argument,
``_reference_rows`` goes away and nothing else changes. The filler count grows
with a batch's own new-model traffic divided by the population share; past
``max_fillers`` the share is approximated (a warning says by how much).
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from ...scoring import ScoringParams, member_scores, score_clusters

__all__ = ["Population", "member_spark", "population", "score_spark"]

logger = logging.getLogger(__name__)

_DAY_US = 86_400 * 1_000_000
_WINDOW_US = 48 * 3600 * 1_000_000


@dataclass(frozen=True)
class Population:
    """What ``score_clusters`` reads from outside the clusters (see the module docstring)."""

    start: int
    has_output: bool
    out_mid: tuple[int, int]  # the population's two middle output values (equal for an odd count)
    has_family: bool
    has_created: bool
    has_model: bool
    release: tuple[int, ...]  # per model code
    new_fraction: tuple[int, int]  # (on-new, in-window) event counts over all events


def _in_windows(ts: np.ndarray, model: np.ndarray, pop: Population) -> tuple[np.ndarray, np.ndarray]:
    """The pivot's release windows (as in ``scoring``): in some new model's window / on that model."""
    in_w = np.zeros(len(ts), bool)
    on_new = np.zeros(len(ts), bool)
    for m, rel in enumerate(pop.release):
        if rel >= pop.start + 2 * _DAY_US:
            w = (ts >= rel) & (ts < rel + _WINDOW_US)
            in_w |= w
            on_new |= w & (model == m)
    return in_w, on_new


def _reference_rows(pop: Population, ts: np.ndarray, model: np.ndarray, max_fillers: int) -> dict[str, np.ndarray]:
    """Rows of the dummy account that make the batch's population facts the whole input's."""
    out_v = [pop.out_mid[0]] * 50 + [pop.out_mid[1]] * 50 if pop.has_output else []
    r_ts = [pop.start] * (1 + len(out_v))
    r_out = [-1] + out_v
    r_model = [-1] * len(r_ts)
    if pop.has_model:
        r_ts += list(pop.release)
        r_out += [-1] * len(pop.release)
        r_model += list(range(len(pop.release)))
    r_ts, r_out, r_model = np.array(r_ts, np.int64), np.array(r_out, np.int64), np.array(r_model, np.int64)
    new = [m for m, rel in enumerate(pop.release) if rel >= pop.start + 2 * _DAY_US]
    if new and pop.new_fraction[1]:
        a_w, a_n = _in_windows(np.r_[ts, r_ts], np.r_[model, r_model], pop)
        have_n, have_w = int(a_n.sum()), int(a_w.sum())
        n_on, n_off = _fillers(Fraction(*pop.new_fraction), have_n, have_w, max_fillers)
        m0 = new[0]
        r_ts = np.r_[r_ts, np.full(n_on + n_off, pop.release[m0], np.int64)]
        r_out = np.r_[r_out, np.full(n_on + n_off, -1, np.int64)]
        r_model = np.r_[r_model, np.full(n_on, m0, np.int64), np.full(n_off, -1, np.int64)]
    return {"ts": r_ts, "output": r_out, "model": r_model}


def _fillers(share: Fraction, have_n: int, have_w: int, max_fillers: int) -> tuple[int, int]:
    """On-new and off-new window rows to add so that (have_n + on) / (have_w + on + off) == share exactly."""
    frac = share
    for _ in range(2):
        p, q = frac.numerator, frac.denominator
        t = max(-(-have_w // q), -(-have_n // p) if p else 0, -(-(have_w - have_n) // (q - p)) if q > p else 0, 1)
        on, off = p * t - have_n, (q - p) * t - (have_w - have_n)
        if on + off <= max_fillers or frac != share:
            if frac != share:
                logger.warning("scoring: pivot population share %s approximated by %s (error %.2e) to bound the "
                               "reference rows", share, frac, abs(float(share - frac)))
            return on, off
        frac = share.limit_denominator(max(2, int(max_fillers ** 0.5)))
    return on, off  # pragma: no cover


def _score_batch(pdf: pd.DataFrame, pop: Population, params: ScoringParams, cols: tuple[bool, bool, bool],
                 max_fillers: int) -> pd.DataFrame:
    """Score the clusters of one batch (account rows: kind 0, event rows: kind 1)."""
    has_out_col, has_fam, has_model_col = cols
    acc_rows = pdf[pdf["kind"] == 0]
    ev = pdf[pdf["kind"] == 1].sort_values(["acc", "ts", "eid"], kind="stable")
    cl_ids = np.unique(acc_rows["cl"].to_numpy(np.int64))
    accs = acc_rows["acc"].to_numpy(np.int64)
    order = np.argsort(accs, kind="stable")
    accs, acl, created = accs[order], acc_rows["cl"].to_numpy(np.int64)[order], acc_rows["created"].to_numpy(np.int64)[order]
    n = len(accs)
    acc_cluster = np.r_[np.searchsorted(cl_ids, acl), -1]  # the dummy account (index n) is in no cluster
    created_us = np.r_[created, 0 if pop.has_created else -1]
    ts = ev["ts"].to_numpy(np.int64)
    model = ev["model"].to_numpy(np.int64)
    ref = _reference_rows(pop, ts, model, max_fillers)
    k = len(ref["ts"])
    feats = score_clusters(
        n_clusters=len(cl_ids), acc_cluster=acc_cluster,
        ev_account=np.r_[np.searchsorted(accs, ev["acc"].to_numpy(np.int64)), np.full(k, n)],
        ev_ts_us=np.r_[ts, ref["ts"]],
        ev_output=np.r_[ev["output"].to_numpy(np.int64), ref["output"]] if has_out_col else None,
        ev_family=np.r_[ev["family"].to_numpy(np.int64), np.full(k, 0 if pop.has_family else -1)] if has_fam else None,
        created_us=created_us if pop.has_created else None,
        ev_model=np.r_[model, ref["model"]] if has_model_col else None,
        params=params,
    )
    feats.insert(0, "__cl", cl_ids)
    return pd.DataFrame({"payload": [pickle.dumps(feats)]})


def _median_pair(counts: pd.DataFrame) -> tuple[int, int]:
    """The two middle values of a population given as (value, count) rows."""
    counts = counts.sort_values("v")
    cum = np.cumsum(counts["c"].to_numpy(np.int64))
    n = int(cum[-1])
    v = counts["v"].to_numpy(np.int64)
    lo, hi = (n - 1) // 2, n // 2
    return int(v[np.searchsorted(cum, lo, side="right")]), int(v[np.searchsorted(cum, hi, side="right")])


def population(ev: Any, acc_cl: Any, accounts: Any | None, models: Any | None, has_output: bool) -> Population:
    """The population facts, as small Spark aggregates (``ev``: acc, ts, output?, family?, model?)."""
    from pyspark.sql import functions as F

    start = int(ev.agg(F.min("ts")).collect()[0][0] or 0)
    out_mid, has_out = (0, 0), False
    if has_output:
        o = ev.where(F.col("output") >= 0).join(acc_cl, "acc", "left")
        hist = o.groupBy(F.col("output").alias("v"), F.col("cl").isNull().alias("unclustered")) \
            .agg(F.count(F.lit(1)).alias("c")).toPandas()
        has_out = len(hist) > 0
        if has_out:
            un = hist[hist["unclustered"]]
            ref = un if int(un["c"].sum()) >= 100 else hist
            out_mid = _median_pair(ref.groupby("v", as_index=False)["c"].sum())
    has_family = "family" in ev.columns and not ev.where(F.col("family") >= 0).isEmpty()
    has_created = accounts is not None and not accounts.where(F.col("created_at") >= 0).isEmpty()
    release: tuple[int, ...] = ()
    frac = (0, 0)
    if models is not None:
        rel = ev.where(F.col("model") >= 0).groupBy("model").agg(F.min("ts").alias("r")).toPandas()
        r = np.full(int(rel["model"].max()) + 1 if len(rel) else 0, np.iinfo(np.int64).max)
        r[rel["model"].to_numpy(np.int64)] = rel["r"].to_numpy(np.int64)
        release = tuple(int(x) for x in r)
        win = [(m, x) for m, x in enumerate(release) if x >= start + 2 * _DAY_US]
        if win:
            in_w = F.lit(False)
            on_new = F.lit(False)
            for m, x in win:
                w = (F.col("ts") >= x) & (F.col("ts") < x + _WINDOW_US)
                in_w = in_w | w
                on_new = on_new | (w & (F.col("model") == m))
            row = ev.agg(F.sum(on_new.cast("long")), F.sum(in_w.cast("long"))).collect()[0]
            frac = (int(row[0] or 0), int(row[1] or 0))
    return Population(start, has_out, out_mid, has_family, has_created, models is not None, release, frac)


def score_spark(ev: Any, acc_cl: Any, created: Any | None, pop: Population, params: ScoringParams,
                cols: tuple[bool, bool, bool], n_clusters: int, n_batches: int, max_fillers: int = 5_000_000
                ) -> pd.DataFrame:
    """Features and ring score per canonical cluster (one row per ``cl``, as ``score_clusters`` returns them).

    ``ev``: ``eid``, ``acc``, ``ts``, ``output``, ``family``, ``model`` (codes, -1 unknown);
    ``acc_cl``: ``acc``, ``cl``; ``created``: ``acc``, ``created_at`` or None.
    """
    from pyspark.sql import functions as F

    accs = acc_cl.withColumn("created", F.lit(-1).cast("long"))
    if created is not None:
        accs = acc_cl.join(created.select("acc", F.col("created_at").alias("created")), "acc", "left") \
            .withColumn("created", F.coalesce("created", F.lit(-1).cast("long")))
    rows_a = accs.select(F.lit(0).alias("kind"), "acc", "cl", "created", *(F.lit(-1).cast("long").alias(c) for c in
                                                                             ("eid", "ts", "output", "family", "model")))
    rows_e = ev.join(acc_cl, "acc").select(F.lit(1).alias("kind"), "acc", "cl", F.lit(-1).cast("long").alias("created"),
                                           "eid", "ts", "output", "family", "model")
    both = rows_a.unionByName(rows_e).withColumn("batch", F.col("cl") % n_batches)

    def run(pdf: pd.DataFrame) -> pd.DataFrame:
        return _score_batch(pdf, pop, params, cols, max_fillers)

    got = both.groupBy("batch").applyInPandas(run, "payload binary").collect()  # cluster-sized rows
    feats = pd.concat([pickle.loads(r["payload"]) for r in got], ignore_index=True) if got else None
    if feats is None or len(feats) != n_clusters:
        raise RuntimeError(f"scoring returned {0 if feats is None else len(feats)} rows for {n_clusters} clusters")
    return feats.sort_values("__cl").drop(columns="__cl").reset_index(drop=True)


def _member_batch(pdf: pd.DataFrame) -> pd.DataFrame:
    pdf = pdf.sort_values(["sig", "acc"], kind="stable")
    accs, a = np.unique(pdf["acc"].to_numpy(np.int64), return_inverse=True)
    sigs, s = np.unique(pdf["sig"].to_numpy(np.int64), return_inverse=True)
    cl_of = np.zeros(len(accs), np.int64)
    cl_of[a] = pdf["cl"].to_numpy(np.int64)
    _, cl_local = np.unique(cl_of, return_inverse=True)
    deg = np.zeros(len(sigs), np.int64)
    deg[s] = pdf["degree"].to_numpy(np.int64)
    wt = np.zeros(len(sigs))
    wt[s] = pdf["weight"].to_numpy(np.float64)
    m = member_scores(a.astype(np.int64), s.astype(np.int64), cl_local.astype(np.int64), deg, wt)
    return pd.DataFrame({"acc": accs, "member_score": m})


def member_spark(inc: Any, acc_cl: Any, signals: Any, n_batches: int) -> Any:
    """``(acc, member_score)`` of every clustered account (:func:`accountgraph.scoring.member_scores`)."""
    from pyspark.sql import functions as F

    x = inc.select("acc", "sig").join(acc_cl, "acc").join(signals.select("sig", "degree", "weight"), "sig")
    return x.withColumn("batch", F.col("cl") % n_batches).groupBy("batch").applyInPandas(
        lambda pdf: _member_batch(pdf.drop(columns="batch")), "acc long, member_score double")
