"""The result tables in Spark: assignments and cluster signals stay DataFrames; the top clusters'
evidence (what dossiers and the report read) is collected and built by the local views."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ...graph import STATUS_NAMES, AccountGraph
from ...views import cluster_templates, evidence_tables
from ..._unique import unique

__all__ = ["assignments_df", "cluster_signals_df", "sort_signals", "top_evidence"]


def _cl_map(spark: Any, new_id: np.ndarray, scores: np.ndarray) -> Any:
    pdf = pd.DataFrame({"cl": np.arange(len(new_id), dtype=np.int64), "cluster_id": new_id.astype(np.int64),
                        "ring_score": scores.astype(np.float64)})
    if not len(pdf):
        return spark.createDataFrame([], "cl long, cluster_id long, ring_score double")
    return spark.createDataFrame(pdf)


def assignments_df(ids: Any, acc_cl: Any, member: Any, cl_map: Any, threshold: float, min_member: float) -> Any:
    """One row per account, sorted by ``account_id`` (as :func:`accountgraph.views.assignments_table`)."""
    from pyspark.sql import functions as F

    a = (ids.join(acc_cl, "acc", "left").join(F.broadcast(cl_map), "cl", "left").join(member, "acc", "left")
         .select("acc", "account_id", F.coalesce("cluster_id", F.lit(-1).cast("long")).alias("cluster_id"),
                 F.coalesce("ring_score", F.lit(0.0)).alias("ring_score"),
                 F.coalesce("member_score", F.lit(0.0)).alias("member_score")))
    a = a.withColumn("flagged", (F.col("ring_score") > F.lit(float(threshold)))
                     & (F.col("member_score") >= F.lit(float(min_member))))
    return a.orderBy("acc").drop("acc")


def cluster_signals_df(inc: Any, acc_cl: Any, cl_map: Any, sigs: Any, gsig: Any, type_names: list[str]) -> tuple[Any, Any]:
    """Signals shared by >= 2 accounts of a cluster (``cluster_signals``), and the incidence rows behind them."""
    from pyspark.sql import functions as F

    spark = inc.sparkSession
    tn = spark.createDataFrame([(i, t) for i, t in enumerate(type_names)] or [(-1, "")], "type_idx int, signal_type string")
    st = spark.createDataFrame([(int(k), v) for k, v in STATUS_NAMES.items()], "status byte, status_name string")
    ci = inc.join(acc_cl, "acc").join(F.broadcast(cl_map.select("cl", "cluster_id")), "cl")
    cnt = ci.groupBy("cluster_id", "sig").agg(F.count(F.lit(1)).alias("accounts_in_cluster")) \
        .where(F.col("accounts_in_cluster") >= 2)
    df = (cnt.join(sigs, "sig").join(F.broadcast(tn), "type_idx").join(gsig, "sig").join(F.broadcast(st), "status")
          .select("cluster_id", F.col("sig").alias("signal_id"), "signal_type", "value", "accounts_in_cluster",
                  F.col("degree").alias("accounts_total"), "weight", F.col("status_name").alias("status")))
    rank = F.col("accounts_in_cluster") * F.greatest(F.col("weight"), F.lit(0.01))
    df = df.orderBy(F.col("cluster_id"), rank.desc(), F.col("accounts_in_cluster").desc(), F.col("signal_id"))
    incidence = ci.join(cnt.select("cluster_id", "sig"), ["cluster_id", "sig"]).select(
        "cluster_id", F.col("sig").alias("signal_id"), "acc", "n_events")
    return df, incidence


def _population(ev: Any, acc_cl: Any, has_output: bool) -> dict[str, np.ndarray]:
    """The evidence's population references (hour of day, output histogram) as Spark aggregates."""
    from pyspark.sql import functions as F

    x = ev.join(acc_cl, "acc", "left").withColumn("unc", F.col("cl").isNull())
    h = x.groupBy(F.expr("(ts div 3600000000) % 24").alias("h"), "unc").agg(F.count(F.lit(1)).alias("c")).toPandas()
    hour = np.zeros(24, np.int64)
    hour_u = np.zeros(24, np.int64)
    np.add.at(hour, h["h"].to_numpy(np.int64), h["c"].to_numpy(np.int64))
    u = h[h["unc"]]
    np.add.at(hour_u, u["h"].to_numpy(np.int64), u["c"].to_numpy(np.int64))
    pop: dict[str, np.ndarray] = {"hour_of_day": hour, "hour_of_day_unclustered": hour_u}
    if has_output:
        o = x.where(F.col("output") >= 0).groupBy("output", "unc").agg(F.count(F.lit(1)).alias("c")).toPandas()
        if len(o):
            v, c = o["output"].to_numpy(np.int64), o["c"].to_numpy(np.int64)
            bins = np.unique(np.concatenate([[0], np.geomspace(1, max(int(v.max()), 2) + 1, 40).astype(np.int64)]))
            pop["output_bins"] = bins
            pop["output_hist"] = np.histogram(v, bins=bins, weights=c)[0].astype(np.int64)
            un = o["unc"].to_numpy(bool)
            pop["output_hist_unclustered"] = np.histogram(v[un], bins=bins, weights=c[un])[0].astype(np.int64)
    return pop


def top_evidence(keep: np.ndarray, assignments: Any, ids: Any, ev: Any, acc_cl: Any, created: Any | None,
                 edges: Any, shared: Any, incidence: Any, templates: Any | None, has_output: bool) -> dict[str, Any]:
    """The local views' inputs for the clusters ``keep`` (collected: their accounts, events, links)."""
    from pyspark.sql import functions as F

    spark = ev.sparkSession
    kdf = spark.createDataFrame([(int(k),) for k in keep] or [(-9,)], "cluster_id long")
    mem = assignments.join(F.broadcast(kdf), "cluster_id").join(ids, "account_id")
    if created is not None:
        mem = mem.join(created.select("acc", "created_at"), "acc", "left")
    m = mem.toPandas().sort_values("acc").reset_index(drop=True)
    accs = m["acc"].to_numpy(np.int64)
    e = ev.join(F.broadcast(mem.select("acc")), "acc").select("acc", "ts", "output", "family").toPandas()
    ea = np.searchsorted(accs, e["acc"].to_numpy(np.int64))
    g = edges.join(F.broadcast(mem.select(F.col("acc").alias("src"))), "src") \
        .join(F.broadcast(mem.select(F.col("acc").alias("dst"))), "dst").toPandas().sort_values(["src", "dst"])
    gs, gd = np.searchsorted(accs, g["src"].to_numpy(np.int64)), np.searchsorted(accs, g["dst"].to_numpy(np.int64))
    empty = np.zeros(0, np.int64)
    graph = AccountGraph(len(accs), empty, np.zeros(0), np.zeros(0, np.int8), gs, gd, g["link"].to_numpy(np.float64), 0.0, 0)
    acc_cid = m["cluster_id"].to_numpy(np.int64)
    account_ids = pa.array(m["account_id"].to_numpy(object), pa.string())
    created_arr = m["created_at"].fillna(-1).to_numpy(np.int64) if "created_at" in m.columns else None
    output = e["output"].to_numpy(np.int64) if has_output else None
    family = e["family"].to_numpy(np.int64)
    has_family = templates is not None
    evidence = evidence_tables(acc_cid, np.asarray(keep, np.int64), account_ids, ea, e["ts"].to_numpy(np.int64), output,
                               family if has_family else None, created_arr, graph)
    evidence["population"] = _population(ev, acc_cl, has_output)
    tpl = pd.DataFrame()
    if has_family:
        fams = unique(family[family >= 0])
        fdf = spark.createDataFrame([(int(f),) for f in fams] or [(-9,)], "family long")
        tpl = templates.join(F.broadcast(fdf), "family").toPandas().sort_values("family").reset_index(drop=True)
    per_cluster = cluster_templates(acc_cid, ea, family if has_family else None, tpl)
    sh = sort_signals(shared.join(F.broadcast(kdf), "cluster_id").toPandas())
    inc = incidence.join(F.broadcast(kdf), "cluster_id").join(ids, "acc").toPandas()
    inc = inc.sort_values(["cluster_id", "signal_id", "account_id"])[["cluster_id", "signal_id", "account_id", "n_events"]]
    return {"members": m[["account_id", "cluster_id", "ring_score", "member_score", "flagged"]],
            "evidence": evidence, "cluster_templates": per_cluster, "templates": tpl,
            "cluster_signals": sh, "incidence": inc.reset_index(drop=True)}


def sort_signals(df: pd.DataFrame) -> pd.DataFrame:
    """The local engine's order of ``cluster_signals`` (most telling first within each cluster)."""
    cols = ["cluster_id", "signal_id", "signal_type", "value", "accounts_in_cluster", "accounts_total", "weight", "status"]
    df = df[cols].copy()
    df["_rank"] = df["accounts_in_cluster"] * np.maximum(df["weight"], 0.01)
    return df.sort_values(["cluster_id", "_rank", "accounts_in_cluster", "signal_id"],
                          ascending=[True, False, False, True]).drop(columns="_rank").reset_index(drop=True)
