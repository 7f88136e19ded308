"""Communities in Spark: components, Leiden and detachment per component, attachment as joins.

* Connected components of the link graph: :func:`._components.connected_components`.
* Each component is handed to an executor (``applyInPandas`` grouped by component). A
  component larger than ``split_min_size`` gets exactly the calls the local
  ``find_communities`` makes for it: :func:`accountgraph.communities.leiden_one` with
  seed ``component_seed(seed, rank)`` (``rank``: the component's place among the large
  components by first account in ``node_key`` order, computed in Spark), vertices in
  ``node_key`` order, then ``merge_dense``; then
  :func:`accountgraph.communities.detach_weak_members`. So the partition equals the
  local engine's. Communities labels keep the local order (plain components by smallest
  account, then Leiden communities by (rank, community)), which attachment's ties use.
* Not yet: the local engine re-splits communities larger than
  ``max(oversize_min, oversize_share * n)`` (``split_oversized``); the Spark engine logs
  a warning when one occurs (none at the tested sizes).
* Attachment (:func:`accountgraph.communities.attach_by_shared_signals`) depends on
  every community's signals, so each round is a few joins over the usable incidences.
* Canonical cluster ids: communities of at least ``min_cluster_size`` accounts,
  numbered by their first member in ``node_key`` order (the community table is
  community-sized and collected).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from ...communities import CommunityParams, component_seed, detach_weak_members, leiden_one, merge_dense
from ...graph import AccountGraph
from ._components import connected_components
from ._session import dense_index

__all__ = ["spark_communities"]

logger = logging.getLogger(__name__)

_OUT = "acc long, label long, detached long"


def _component(pdf: pd.DataFrame, p: CommunityParams, seed: int, n_acc: int) -> pd.DataFrame:
    """Leiden (large components, as ``find_communities`` runs each) and detachment on one component's edges."""
    pdf = pdf.sort_values(["src", "dst"], kind="stable")
    src, dst = pdf["src"].to_numpy(np.int64), pdf["dst"].to_numpy(np.int64)
    link = pdf["link"].to_numpy(np.float64)
    nodes, inv = np.unique(np.r_[src, dst], return_inverse=True)
    nk = np.zeros(len(nodes), np.int64)
    nk[inv] = np.r_[pdf["nk_src"].to_numpy(np.int64), pdf["nk_dst"].to_numpy(np.int64)]
    n = len(nodes)
    ls, ld = inv[: len(src)], inv[len(src):]
    e = np.zeros(0, np.int64)
    g = AccountGraph(n, e, np.zeros(0), np.zeros(0, np.int8), ls, ld, link, 0.0, len(src))
    rank = int(pdf["rank"].iloc[0])
    if rank >= 0:
        pos = np.empty(n, np.int64)
        pos[np.lexsort((nodes, nk))] = np.arange(n)  # igraph's vertex order: node_key, then account
        es, ed = pos[ls], pos[ld]
        lab = leiden_one(n, es, ed, link, resolution=p.resolution, seed=component_seed(seed, rank),
                         n_iterations=p.n_iterations)
        merged, _ = merge_dense(np.unique(lab, return_inverse=True)[1], es, ed, link, p.merge_density)
        mem = merged[pos]
        label = n_acc + rank * (n_acc + 1) + mem  # after every plain component, in (rank, community) order
    else:
        mem = np.zeros(n, np.int64)
        label = np.full(n, int(nodes[0]), np.int64)
    out, n_det = detach_weak_members(mem, g, min_strength=p.detach_min_strength, min_size=p.detach_min_size)
    label = np.where(out >= 0, label, -1)
    det = np.zeros(n, np.int64)
    det[0] = n_det
    return pd.DataFrame({"acc": nodes, "label": label, "detached": det})


def _leiden_and_detach(edges: Any, node_key: Any, p: CommunityParams, seed: int, n_acc: int) -> tuple[Any, int]:
    """``(acc, label)`` of every linked account (-1: detached) and the number detached.

    Large components are ranked by their first account in ``node_key`` order (the
    local engine's ``component_seed`` rank); the others get rank -1.
    """
    from pyspark.sql import functions as F

    cc = connected_components(edges).localCheckpoint()
    comp = cc.join(node_key.withColumnRenamed("acc", "node"), "node").groupBy("comp").agg(
        F.count(F.lit(1)).alias("size"), F.min("nk").alias("first"))
    big = comp.where(F.col("size") > p.split_min_size) if p.method == "leiden" else comp.where(F.lit(False))
    ranked = dense_index(big.select("comp", "first"), [F.col("first")], "rank").select("comp", "rank")
    comp = comp.join(ranked, "comp", "left").select("comp", F.coalesce("rank", F.lit(-1).cast("long")).alias("rank"))
    e = (edges.join(cc.select(F.col("node").alias("src"), "comp"), "src")
         .join(node_key.select(F.col("acc").alias("src"), F.col("nk").alias("nk_src")), "src")
         .join(node_key.select(F.col("acc").alias("dst"), F.col("nk").alias("nk_dst")), "dst")
         .join(comp, "comp"))

    def run(pdf: pd.DataFrame) -> pd.DataFrame:
        return _component(pdf, p, seed, n_acc)

    cols = ["comp", "rank", "src", "dst", "link", "nk_src", "nk_dst"]
    mem = e.select(*cols).groupBy("comp").applyInPandas(run, _OUT).localCheckpoint()
    n_det = int(mem.agg(F.sum("detached")).collect()[0][0] or 0)
    _warn_oversized(mem, p, n_acc)
    return mem.select("acc", "label"), n_det


def _warn_oversized(mem: Any, p: CommunityParams, n_acc: int) -> None:
    """Communities over ``max(oversize_min, oversize_share * n)`` are re-split locally; not yet here."""
    from pyspark.sql import functions as F

    max_size = max(int(p.oversize_min), int(p.oversize_share * n_acc))
    if p.oversize_share >= 1.0 or p.method != "leiden":
        return
    big = mem.where(F.col("label") >= n_acc).groupBy("label").count().where(F.col("count") > max_size).count()
    if big:
        logger.warning("spark: %d communities exceed %d accounts; the local engine re-splits them (split_oversized), "
                       "the Spark engine does not yet, so these clusters can differ", big, max_size)


def _lower_median(df: Any, group: str, value: str, name: str) -> Any:
    """Per group, the value at 0-based rank ``floor((n - 1) / 2)`` (``accountgraph._grouping`` semantics)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy(group).orderBy(value)
    n = F.count(F.lit(1)).over(Window.partitionBy(group))
    return (df.withColumn("__rk", F.row_number().over(w) - 1).withColumn("__n", n)
            .where(F.col("__rk") == F.floor((F.col("__n") - 1) / 2)).select(group, F.col(value).alias(name)))


def _attach_round(mem: Any, usable: Any, p: CommunityParams) -> tuple[Any, int]:
    """One round of :func:`accountgraph.communities.attach_by_shared_signals` as joins."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    members = mem.where(F.col("label") >= 0)
    size = members.groupBy("label").agg(F.count(F.lit(1)).alias("size"))
    big = members.join(size.where(F.col("size") >= p.attach_min_size), "label").select("acc", "label").localCheckpoint()
    mb = usable.join(big, "acc")
    n_cl = mb.groupBy("sig").agg(F.count(F.lit(1)).alias("n_clustered"))
    cnt = mb.groupBy("sig", "label").agg(F.count(F.lit(1)).alias("cnt")).join(n_cl, "sig") \
        .join(usable.select("sig", "degree").distinct(), "sig")
    conc = cnt.where((F.col("cnt") >= 2) & (F.col("cnt") >= F.lit(float(p.attach_min_concentration)) * F.col("n_clustered"))
                     & (F.col("cnt") >= F.lit(float(p.attach_min_presence)) * F.col("degree"))) \
        .select("sig", "label").localCheckpoint()
    own = mb.join(conc, ["sig", "label"]).groupBy("acc").agg(F.count(F.lit(1)).alias("n_own"))
    own = big.join(own, "acc", "left").select("acc", "label", F.coalesce("n_own", F.lit(0)).alias("n_own"))
    med = _lower_median(own, "label", "n_own", "median_own")
    loners = usable.join(big.select("acc"), "acc", "left_anti")
    n_usable = loners.groupBy("acc").agg(F.count(F.lit(1)).alias("n_usable"))
    shared = loners.join(conc, "sig").groupBy("acc", "label").agg(F.count(F.lit(1)).alias("n_shared"))
    w = Window.partitionBy("acc").orderBy(F.col("n_shared").desc(), F.col("label"))
    best = shared.withColumn("__rk", F.row_number().over(w)).where(F.col("__rk") == 1).drop("__rk")
    best = best.join(n_usable, "acc").join(med, "label")
    ok = best.where((F.col("n_shared") >= p.attach_min_signals)
                    & (F.col("n_shared") >= F.lit(float(p.attach_min_share)) * F.col("n_usable"))
                    & (F.col("n_shared") >= F.lit(float(p.attach_min_strength)) * F.col("median_own").cast("double")))
    ok = ok.select("acc", F.col("label").alias("new")).localCheckpoint()
    n_att = ok.count()
    if not n_att:
        return mem, 0
    out = mem.join(ok, "acc", "full").select("acc", F.coalesce("new", "label").alias("label")).localCheckpoint()
    return out, n_att


def _attach(mem: Any, inc: Any, signals: Any, p: CommunityParams) -> tuple[Any, int]:
    from pyspark.sql import functions as F

    if p.attach_min_signals < 1 or mem.where(F.col("label") >= 0).isEmpty():
        return mem, 0
    usable = inc.select("acc", "sig").join(signals.where(F.col("weight") > 0).select("sig", "degree"), "sig").localCheckpoint()
    total = 0
    for _ in range(max(int(p.attach_rounds), 1)):
        mem, n = _attach_round(mem, usable, p)
        total += n
        if not n:
            break
    usable.unpersist()
    return mem, total


def _canonical(mem: Any, node_key: Any, min_size: int) -> tuple[Any, int]:
    """``(acc, cl)``: canonical cluster index of each clustered account, and the number of clusters."""
    from pyspark.sql import functions as F

    m = mem.where(F.col("label") >= 0).join(node_key, "acc")
    com = m.groupBy("label").agg(F.count(F.lit(1)).alias("size"), F.min("nk").alias("first"))
    rows = com.where(F.col("size") >= min_size).select("label", "first").toPandas()  # community-sized
    rows = rows.sort_values("first", kind="stable").reset_index(drop=True)
    rows["cl"] = np.arange(len(rows), dtype=np.int64)
    spark = mem.sparkSession
    table = spark.createDataFrame(rows[["label", "cl"]] if len(rows) else pd.DataFrame({"label": [-9], "cl": [-9]}),
                                  "label long, cl long")
    return m.join(F.broadcast(table) if len(rows) < 1_000_000 else table, "label").select("acc", "cl").localCheckpoint(), len(rows)


def spark_communities(edges: Any, inc: Any, signals: Any, node_key: Any, p: CommunityParams, seed: int,
                      n_acc: int, stats: dict[str, Any]) -> tuple[Any, int]:
    """Canonical cluster per clustered account (``acc``, ``cl``) and the number of clusters."""
    spark = edges.sparkSession
    if edges.isEmpty():
        mem = spark.createDataFrame([], "acc long, label long")
        n_det = 0
    else:
        mem, n_det = _leiden_and_detach(edges, node_key, p, seed, n_acc)
    stats["n_detached"] = n_det
    mem, stats["n_attached"] = _attach(mem, inc, signals, p)
    return _canonical(mem, node_key, p.min_cluster_size)
