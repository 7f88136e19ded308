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
* Oversized communities (more than ``max(oversize_min, oversize_share * n)`` accounts)
  are re-split as :func:`accountgraph.communities.split_oversized` does, before any
  detachment: they leave the component stage undetached (``pending``); each round ranks
  them in Spark by first account in ``node_key`` order and runs ``leiden_one`` (resolution
  ``resolution * 4 ** (round + 1)``, seed ``component_seed(seed + round + 1, rank)``) per
  community in the executors (``cogroup`` of its accounts and inside edges); the parts
  still oversized wait for the next round (at most three), the others are detached there.
  New labels follow every older one, in (rank, part) order, as the local offsets do.
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
from ..._unique import lexsort, unique

__all__ = ["spark_communities"]

logger = logging.getLogger(__name__)

#: Per account: its label (-1: detached), the number detached and the parts made (first row of a
#: group only), and whether its community waits for a re-split (oversized, not yet detached).
_OUT = "acc long, label long, detached long, parts long, pending boolean"

#: Rounds of :func:`accountgraph.communities.split_oversized` (its default, which ``find_communities`` uses).
_SPLIT_ROUNDS = 3


def _oversize_limit(p: CommunityParams, n_acc: int) -> int | None:
    """The size above which ``find_communities`` re-splits a community, or None when it does not."""
    if p.method != "leiden" or p.oversize_share >= 1.0:
        return None
    return max(int(p.oversize_min), int(p.oversize_share * n_acc))


def _local_graph(n: int, es: np.ndarray, ed: np.ndarray, link: np.ndarray) -> AccountGraph:
    """The links of one group of ``n`` accounts (local positions) as an :class:`AccountGraph`."""
    return AccountGraph(n, np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int8), es, ed, link, 0.0, len(es))


def _pending(mem: np.ndarray, max_size: int | None) -> np.ndarray:
    """Per account, whether its community (labels ``mem >= 0``) is over ``max_size`` (None: never)."""
    if max_size is None or not len(mem):
        return np.zeros(len(mem), bool)
    return np.bincount(mem)[mem] > max_size


def _detach_final(mem: np.ndarray, pending: np.ndarray, g: AccountGraph, p: CommunityParams) -> tuple[np.ndarray, int]:
    """``detach_weak_members`` on the communities that are final; pending ones are kept whole for now.

    Detachment is per community (members' links inside it, its median), so detaching the
    final communities now and the pending ones' parts after their re-split is the local
    engine's single pass after ``split_oversized``.
    """
    out, n_det = detach_weak_members(np.where(pending, -1, mem), g, min_strength=p.detach_min_strength,
                                     min_size=p.detach_min_size, quantile=p.detach_quantile,
                                     max_links=p.detach_max_links)
    return np.where(pending, mem, out), n_det


def _rows(nodes: np.ndarray, label: np.ndarray, kept: np.ndarray, pending: np.ndarray, n_det: int,
          n_parts: int) -> pd.DataFrame:
    """The ``_OUT`` rows of one group (counts on its first row)."""
    det, parts = np.zeros(len(nodes), np.int64), np.zeros(len(nodes), np.int64)
    if len(nodes):
        det[0], parts[0] = n_det, n_parts
    return pd.DataFrame({"acc": nodes, "label": np.where(kept >= 0, label, -1), "detached": det, "parts": parts,
                         "pending": pending})


def _component(pdf: pd.DataFrame, p: CommunityParams, seed: int, n_acc: int, max_size: int | None) -> pd.DataFrame:
    """Leiden (large components, as ``find_communities`` runs each) and detachment on one component's edges.

    Communities over ``max_size`` accounts are left undetached and marked ``pending``.
    """
    pdf = pdf.sort_values(["src", "dst"], kind="stable")
    src, dst = pdf["src"].to_numpy(np.int64), pdf["dst"].to_numpy(np.int64)
    link = pdf["link"].to_numpy(np.float64)
    nodes, inv = np.unique(np.r_[src, dst], return_inverse=True)
    nk = np.zeros(len(nodes), np.int64)
    nk[inv] = np.r_[pdf["nk_src"].to_numpy(np.int64), pdf["nk_dst"].to_numpy(np.int64)]
    n = len(nodes)
    ls, ld = inv[: len(src)], inv[len(src):]
    rank = int(pdf["rank"].iloc[0])
    if rank >= 0:
        pos = np.empty(n, np.int64)
        pos[lexsort((nodes, nk))] = np.arange(n)  # igraph's vertex order: node_key, then account
        es, ed = pos[ls], pos[ld]
        lab = leiden_one(n, es, ed, link, resolution=p.resolution, seed=component_seed(seed, rank),
                         n_iterations=p.n_iterations, top_links=p.leiden_links)
        merged, _ = merge_dense(np.unique(lab, return_inverse=True)[1], es, ed, link, p.merge_density)
        mem = merged[pos]
        label = n_acc + rank * (n_acc + 1) + mem  # after every plain component, in (rank, community) order
    else:
        mem = np.zeros(n, np.int64)
        label = np.full(n, int(nodes[0]), np.int64)
    pending = _pending(mem, max_size)
    kept, n_det = _detach_final(mem, pending, _local_graph(n, ls, ld, link), p)
    return _rows(nodes, label, kept, pending, n_det, 0)


def _inside_links(nodes: np.ndarray, edges: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Links ``src, dst, link`` in the graph's ``(src, dst)`` order, ends as positions in ``nodes``."""
    if not len(edges):  # a cogroup side without rows may come without columns
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    edges = edges.sort_values(["src", "dst"], kind="stable")
    by_acc = np.argsort(nodes, kind="stable")
    es, ed = (by_acc[np.searchsorted(nodes[by_acc], edges[c].to_numpy(np.int64))] for c in ("src", "dst"))
    return es, ed, edges["link"].to_numpy(np.float64)


def _split_community(verts: pd.DataFrame, edges: pd.DataFrame, p: CommunityParams, seed: int, r: int, base: int,
                     n_acc: int, max_size: int) -> pd.DataFrame:
    """Round ``r`` of ``split_oversized`` on one oversized community: the call ``leiden_components`` makes.

    ``verts``: ``label, rank, acc, nk`` (``rank``: the community's place among this round's
    oversized communities by first account in ``node_key`` order); ``edges``: ``src, dst,
    link`` of its inside links. Vertices go to igraph in ``(node_key, account)`` order and
    links in the graph's ``(src, dst)`` order, as ``split_oversized`` hands them over. Parts
    get labels ``base + rank * (n_acc + 1) + part``; parts still over ``max_size`` stay
    pending (but for the last round), the others are detached.
    """
    verts = verts.sort_values(["nk", "acc"], kind="stable")
    nodes = verts["acc"].to_numpy(np.int64)
    n, rank = len(nodes), int(verts["rank"].iloc[0])
    es, ed, link = _inside_links(nodes, edges)
    if len(es):
        lab = leiden_one(n, es, ed, link, resolution=p.resolution * 4.0 ** (r + 1),
                         seed=component_seed(seed + r + 1, rank), n_iterations=p.n_iterations,
                         top_links=p.leiden_links)
    else:  # no inside link: every account on its own, as leiden_components does
        lab = np.arange(n, dtype=np.int64)
    pending = _pending(lab, max_size if r + 1 < _SPLIT_ROUNDS else None)
    kept, n_det = _detach_final(lab, pending, _local_graph(n, es, ed, link), p)
    return _rows(nodes, base + rank * (n_acc + 1) + lab, kept, pending, n_det, int(unique(lab).size))


def _split_round(mem: Any, edges: Any, node_key: Any, p: CommunityParams, seed: int, r: int, base: int,
                 n_acc: int, max_size: int) -> tuple[Any, int, int, int]:
    """One round of ``split_oversized`` over the pending communities of ``mem``.

    Returns the new ``mem``, the number of communities split, the parts made and the
    accounts detached. The ranking is a Spark job over the (few) pending communities; each
    community's accounts and inside links meet in one ``cogroup`` in the executors.
    """
    from pyspark.sql import functions as F

    pend = mem.where(F.col("pending")).select("acc", "label")
    first = pend.join(node_key, "acc").groupBy("label").agg(F.min("nk").alias("first"))
    ranked = dense_index(first, [F.col("first")], "rank").select("label", "rank").localCheckpoint()
    n_big = ranked.count()
    verts = pend.join(ranked, "label").join(node_key, "acc").select(F.col("label").alias("label"), "rank", "acc", "nk")
    inside = (edges.join(pend.select(F.col("acc").alias("src"), F.col("label").alias("ls")), "src")
              .join(pend.select(F.col("acc").alias("dst"), F.col("label").alias("ld")), "dst")
              .where(F.col("ls") == F.col("ld")).select(F.col("ls").alias("label"), "src", "dst", "link"))

    def run(v: pd.DataFrame, e: pd.DataFrame) -> pd.DataFrame:  # in the executors
        return _split_community(v, e, p, seed, r, base, n_acc, max_size)

    parts = verts.groupBy("label").cogroup(inside.groupBy("label")).applyInPandas(run, _OUT).localCheckpoint()
    counts = parts.agg(F.sum("detached"), F.sum("parts")).collect()[0]
    out = mem.where(~F.col("pending")).unionByName(parts).localCheckpoint()
    return out, int(n_big), int(counts[1] or 0), int(counts[0] or 0)


def _split_oversized(mem: Any, edges: Any, node_key: Any, p: CommunityParams, seed: int, n_acc: int, max_size: int,
                     base: int) -> tuple[Any, int]:
    """:func:`accountgraph.communities.split_oversized` on the pending communities; new ``mem`` and detached count.

    ``base`` is above every label in ``mem``; each round's labels start above the previous
    round's, as the local ``membership.max() + 1`` offsets do, so label order (which
    attachment's ties use) is the local engine's.
    """
    from pyspark.sql import functions as F

    n_det = 0
    for r in range(_SPLIT_ROUNDS):
        if mem.where(F.col("pending")).isEmpty():
            break
        mem, n_big, n_parts, det = _split_round(mem, edges, node_key, p, seed, r, base, n_acc, max_size)
        n_det += det
        base += n_big * (n_acc + 1)
        logger.info("split_oversized (spark) round %d: %d communities over %d accounts -> %d", r + 1, n_big,
                    max_size, n_parts)
    return mem, n_det


def _leiden_and_detach(edges: Any, node_key: Any, p: CommunityParams, seed: int, n_acc: int) -> tuple[Any, int]:
    """``(acc, label)`` of every linked account (-1: detached) and the number detached.

    Large components are ranked by their first account in ``node_key`` order (the
    local engine's ``component_seed`` rank); the others get rank -1. Oversized communities
    are re-split (``find_communities`` does so only when some component is large).
    """
    from pyspark.sql import functions as F

    cc = connected_components(edges).localCheckpoint()
    comp = cc.join(node_key.withColumnRenamed("acc", "node"), "node").groupBy("comp").agg(
        F.count(F.lit(1)).alias("size"), F.min("nk").alias("first"))
    big = comp.where(F.col("size") > p.split_min_size) if p.method == "leiden" else comp.where(F.lit(False))
    ranked = dense_index(big.select("comp", "first"), [F.col("first")], "rank").select("comp", "rank").localCheckpoint()
    n_big = ranked.count()
    max_size = _oversize_limit(p, n_acc) if n_big else None
    comp = comp.join(ranked, "comp", "left").select("comp", F.coalesce("rank", F.lit(-1).cast("long")).alias("rank"))
    e = (edges.join(cc.select(F.col("node").alias("src"), "comp"), "src")
         .join(node_key.select(F.col("acc").alias("src"), F.col("nk").alias("nk_src")), "src")
         .join(node_key.select(F.col("acc").alias("dst"), F.col("nk").alias("nk_dst")), "dst")
         .join(comp, "comp"))

    def run(pdf: pd.DataFrame) -> pd.DataFrame:
        return _component(pdf, p, seed, n_acc, max_size)

    cols = ["comp", "rank", "src", "dst", "link", "nk_src", "nk_dst"]
    mem = e.select(*cols).groupBy("comp").applyInPandas(run, _OUT).localCheckpoint()
    n_det = int(mem.agg(F.sum("detached")).collect()[0][0] or 0)
    if max_size is not None:
        # labels so far: plain components < n_acc <= Leiden communities < n_acc + n_big * (n_acc + 1)
        mem, n_split_det = _split_oversized(mem, edges, node_key, p, seed, n_acc, max_size,
                                            base=n_acc + n_big * (n_acc + 1))
        n_det += n_split_det
    return mem.select("acc", "label"), n_det


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
