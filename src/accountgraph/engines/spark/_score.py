"""The scoring seam: the ONE place the Spark engine calls the scorer.

:func:`score_spark` calls :func:`accountgraph.scoring.score_clusters` (cluster features,
then the ring model) once, on the driver, with the scoring columns of the events
(account code, time, output length, family, model and IP codes) collected in input
order. :func:`member_spark` calls :func:`accountgraph.scoring.member_scores` in the
executors, per batch of clusters, on the clustered incidences.

Why the events are collected: ``cluster_features`` reads *population* facts from the
events outside the clusters (the unclustered output median, each family's unclustered
users, the population's exits per account-day, the activity calendar, each model's
release and the new-model share of the release windows, the number of accounts), so a
batch of clusters alone cannot be scored. With the earlier scorer the engine scored
batches in the executors and fed these facts as reference rows of a dummy account
(commit 308eb72, exact); the current feature set makes that unworkable. **For the lead**:
split ``cluster_features`` into ``population_facts(all events) -> small object`` and
``cluster_features(clustered events, facts)``; the facts are Spark aggregates, the
per-cluster part runs per batch in ``applyInPandas`` as ``member_spark`` does, and
nothing event-sized reaches the driver. Until then this is the one place that collects
event-sized data (48 bytes per event).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from ...scoring import ScoringParams, apply_model, cluster_features, load_model, member_scores

__all__ = ["member_spark", "score_spark"]

logger = logging.getLogger(__name__)


def _concentration(inc: Any, acc_cl: Any, signals: Any, n_clusters: int) -> np.ndarray:
    """:func:`accountgraph.scoring.signal_concentration` as a Spark aggregation (same summation order)."""
    from pyspark.sql import functions as F

    from ._graph import _ordered_sum

    pc = (inc.select("acc", "sig").join(acc_cl, "acc").groupBy("cl", "sig")
          .agg(F.count(F.lit(1)).cast("double").alias("k")).where(F.col("k") >= 2)
          .join(signals.select("sig", "degree"), "sig")
          .withColumn("x", F.col("k") * (F.col("k") / F.greatest(F.col("degree").cast("double"), F.lit(1.0)))))
    t = pc.groupBy("cl").agg(_ordered_sum("sig", "x").alias("num"), _ordered_sum("sig", "k").alias("den")).toArrow()
    out = np.full(n_clusters, np.nan)
    cl, num, den = t["cl"].to_numpy(), t["num"].to_numpy(), t["den"].to_numpy()
    out[cl] = np.where(den > 0, num / np.maximum(den, 1e-12), np.nan)
    return out


def score_spark(ev: Any, acc_cl: Any, created: Any | None, n_accounts: int, params: ScoringParams,
                cols: tuple[bool, bool, bool, bool], n_clusters: int, inc: Any = None,
                signals: Any = None) -> pd.DataFrame:
    """Features and ring score per canonical cluster (as ``score_clusters`` returns them).

    ``ev``: ``eid``, ``acc``, ``ts``, ``output``, ``family``, ``model``, ``ip`` (codes, -1 unknown);
    ``acc_cl``: ``acc``, ``cl``; ``created``: ``acc``, ``created_at`` or None; ``cols``: whether the
    input has output lengths, template families, models and IPs.
    """
    has_out, has_fam, has_model, has_ip = cols
    t = ev.select("eid", "acc", "ts", "output", "family", "model", "ip").toArrow()
    order = np.argsort(t["eid"].to_numpy(), kind="stable")  # the local engine's (input) order
    col = {c: t[c].to_numpy()[order].astype(np.int64) for c in ("acc", "ts", "output", "family", "model", "ip")}
    acc_cluster = np.full(n_accounts, -1, np.int64)
    a = acc_cl.toArrow()
    acc_cluster[a["acc"].to_numpy()] = a["cl"].to_numpy()
    created_us = None
    if created is not None:
        c = created.select("acc", "created_at").toArrow()
        if len(c):
            created_us = np.full(n_accounts, -1, np.int64)
            created_us[c["acc"].to_numpy()] = c["created_at"].to_numpy()
    f = cluster_features(
        n_clusters=n_clusters, acc_cluster=acc_cluster, ev_account=col["acc"], ev_ts_us=col["ts"],
        ev_output=col["output"] if has_out else None, ev_family=col["family"] if has_fam else None,
        created_us=created_us, ev_model=col["model"] if has_model else None, ev_ip=col["ip"] if has_ip else None,
        burst_window_s=params.burst_window_s)
    if inc is not None and signals is not None and n_clusters:
        f["signal_concentration"] = _concentration(inc, acc_cl, signals, n_clusters)
    return apply_model(f, n_accounts, params, load_model(params.model))


def _member_batch(pdf: pd.DataFrame) -> pd.DataFrame:
    """``member_scores`` on the clustered incidences of one batch of clusters (local indices, same order)."""
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
    tpl = np.zeros(len(sigs), bool)
    tpl[s] = pdf["template"].to_numpy(bool)
    m = member_scores(a.astype(np.int64), s.astype(np.int64), cl_local.astype(np.int64), deg, wt,
                      n_events=pdf["n_events"].to_numpy(np.int64), template=tpl)
    return pd.DataFrame({"acc": accs, "member_score": m})


def member_spark(inc: Any, acc_cl: Any, signals: Any, sig_types: Any, template_idx: int, n_batches: int) -> Any:
    """``(acc, member_score)`` of every clustered account (:func:`accountgraph.scoring.member_scores`)."""
    from pyspark.sql import functions as F

    x = (inc.select("acc", "sig", "n_events").join(acc_cl, "acc")
         .join(signals.select("sig", "degree", "weight"), "sig")
         .join(sig_types.select("sig", (F.col("type_idx") == template_idx).alias("template")), "sig"))
    return x.withColumn("batch", F.col("cl") % n_batches).groupBy("batch").applyInPandas(
        lambda pdf: _member_batch(pdf.drop(columns="batch")), "acc long, member_score double")
