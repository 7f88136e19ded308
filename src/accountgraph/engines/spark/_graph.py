"""The rarity-weighted, budget-bounded projection in Spark, with the local engine's numbers.

Everything per signal in :func:`accountgraph.graph.build_graph` depends only on the
signal's degree (its status under the hub cap and pair budget, its rarity weight, its
evidence), except at the one degree level where a ``k = 1`` budget cuts a level in
two (by signal id). So the driver computes those numbers once per degree level with
the local numpy functions (a table of at most a few thousand rows), and Spark joins
them to the incidences. Pairs are then formed by a self-join per linked signal and by
:func:`accountgraph.graph.circulant_pairs` per sampled signal (a grouped ``applyInArrow``).

Per-type hub caps and coordinated hubs are computed in :mod:`._hubs` (Spark aggregations;
the driver gets a few rows per type and the hubs' sampled accounts).

What the graph stage collects: the holder count per type and <= 2 rows per (type, grid
level) for the caps; the (type, degree) histogram; the candidate hubs (one row per hub) and
the sampled accounts' hub incidences; the distinct (weight, degree, k) of the projected
signals; the projected types. Pairs, links and incidences stay in Spark.

Sums are taken in the local engine's order, so link weights are the same doubles:
a pair's evidence of one type adds its signals' ``sqrt(l) * sqrt(l)`` in signal order
(the order of scipy's sparse product), the noisy-or ``alpha * -expm1(-x)`` is numpy's,
and the groups add in the local order. Sampled co-occurrences of a pair are added in
signal order; scipy adds three or more such duplicates in an unspecified order, so
there the last bit can differ.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ...graph import (EVIDENCE_GROUPS, HUB, LINKED, OVER_BUDGET, SAMPLED, UNSHARED, DEFAULT_TYPE_WEIGHTS,
                      GraphParams, circulant_pairs, rarity_weight, signal_evidence, type_weight)
import accountgraph.engines.spark._hubs as _hubs  # module attribute calls: tests spy on its functions
from ._session import grouped_by_bucket

__all__ = ["SparkGraph", "spark_graph"]

logger = logging.getLogger(__name__)


@dataclass
class SparkGraph:
    """``edges``: ``src < dst``, ``link``; ``signals``: ``sig``, ``degree``, ``weight``, ``status``."""

    edges: Any
    signals: Any
    cap: float
    n_pairs: int
    n_edges: int
    n_hub: int
    type_caps: dict[str, float]


class _Lookup:
    """``lookup[ids]`` for sparse integer keys (the per-signal ``k`` of :func:`circulant_pairs`)."""

    def __init__(self, keys: np.ndarray, values: np.ndarray) -> None:
        o = np.argsort(keys)
        self.keys, self.values = keys[o], values[o]

    def __getitem__(self, ids: np.ndarray) -> np.ndarray:
        return self.values[np.searchsorted(self.keys, ids)]


def _level_plan(hist: dict[tuple[int, int], int], caps: np.ndarray, p: GraphParams
                ) -> tuple[dict[tuple[int, int], tuple[int, int]], tuple[int, int] | None]:
    """Per (type, degree) level ``(status, k)``, and ``(degree, r)`` when only the ``r`` smallest signal ids
    among that degree's candidates are sampled (the ``k = 1`` cut of :func:`accountgraph.graph.build_graph`).

    Candidates are shared signals within their type's cap; the pair budget cuts whole degree levels
    across types, as the local ``_signal_status`` does with per-signal caps.
    """
    plan = {(t, d): (UNSHARED if d < 2 else HUB, 0) for (t, d) in hist}
    cand = {(t, d): c for (t, d), c in hist.items() if 2 <= d <= caps[t]}
    levels = np.array(sorted({d for _, d in cand}), np.int64)
    cnt = np.array([sum(c for (_, d2), c in cand.items() if d2 == d) for d in levels], np.int64)
    cum = np.cumsum(cnt * (levels * (levels - 1) // 2))
    n_fit = int((cum <= p.max_pairs).sum()) if cum.size and cum[-1] > p.max_pairs else len(levels)
    fit = set(levels[:n_fit].tolist())
    over, ocnt = levels[n_fit:], cnt[n_fit:]
    k, n_lv, partial = 0, 0, None
    if over.size:
        total = int((over * ocnt).sum())
        k = min(int(p.sample_neighbours), p.max_pairs // max(total, 1))
        n_lv = len(over)
        if k < 1 and p.sample_neighbours >= 1:
            k = 1
            lv_cum = np.cumsum(over * ocnt)
            n_lv = int((lv_cum <= p.max_pairs).sum())
            if n_lv < len(over):
                before = int(lv_cum[n_lv - 1]) if n_lv else 0
                partial = (int(over[n_lv]), int((p.max_pairs - before) // int(over[n_lv])))
        elif k < 1:
            n_lv = 0
        logger.warning("pair budget max_pairs=%d binds: signals shared by %d-%d accounts are projected onto sparse "
                       "random graphs (k=%d) instead of cliques; raise max_pairs for the exact projection",
                       p.max_pairs, int(over.min()), int(over.max()), k)
    sampled = set(over[:n_lv].tolist()) | ({partial[0]} if partial else set())
    for (t, d) in cand:
        if d in fit:
            plan[(t, d)] = (LINKED, 0)
        else:
            kd = min(k, (d - 1) // 2) if d in sampled else 0
            plan[(t, d)] = (SAMPLED if kd >= 1 else OVER_BUDGET, kd)
    return plan, partial


def _evidence_table(st: Any, p: GraphParams) -> Any:
    """``xl`` (a linked signal's ``sqrt(l) * sqrt(l)``) and ``xs`` (a sampled co-occurrence's clipped evidence),
    computed with numpy per distinct (weight, degree, k) and joined back."""
    from pyspark.sql import functions as F

    key = st.where(F.col("status").isin(LINKED, SAMPLED)).select("weight", "degree", "k").distinct().toArrow()
    w, d, k = key["weight"].to_numpy(), key["degree"].to_numpy(), key["k"].to_numpy()
    lam = signal_evidence(w)
    xl = np.sqrt(lam) * np.sqrt(lam)
    lam_clip = float(signal_evidence(np.clip(float(p.sample_clip), 0.0, 1.0)))
    with np.errstate(divide="ignore", invalid="ignore"):
        xs = np.where(k >= 1, np.minimum(signal_evidence(w) * (d.astype(np.float64) - 1) / (2 * k), lam_clip), 0.0)
    rows = [(float(a), int(b), int(c), float(x), float(y)) for a, b, c, x, y in zip(w, d, k, xl, xs)]
    ev = st.sparkSession.createDataFrame(rows or [(0.0, -1, -1, 0.0, 0.0)],
                                         "weight double, degree long, k long, xl double, xs double")
    return st.join(F.broadcast(ev), ["weight", "degree", "k"], "left").fillna({"xl": 0.0, "xs": 0.0})


def _signal_table(inc: Any, sigs: Any, type_names: list[str], n_accounts: int, p: GraphParams,
                  node_key: Any) -> tuple[Any, float, dict[str, float]]:
    """Per signal: degree, type, status, k, weight, evidence, coordinated flag; the cap and per-type caps."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    spark = inc.sparkSession
    deg = inc.groupBy("sig").agg(F.count(F.lit(1)).alias("degree")).join(sigs.select("sig", "type_idx"), "sig")
    deg = deg.localCheckpoint()
    cap = float(min(p.max_signal_degree, max(10.0, p.hub_share * n_accounts)))
    caps = _hubs._type_caps(inc, deg, len(type_names), cap, p)
    hist = {(int(r["type_idx"]), int(r["degree"])): int(r["count"])
            for r in deg.groupBy("type_idx", "degree").count().collect()}
    plan, partial = _level_plan(hist, caps, p)
    rows = []
    for (t, d), (status, k) in plan.items():
        used = status in (LINKED, SAMPLED)
        w = float(rarity_weight(np.array([d]), np.array([caps[t]]))[0]) if used else 0.0
        rows.append((t, d, status, k, w))
    lv = spark.createDataFrame(rows or [(-1, -1, 0, 0, 0.0)], "type_idx int, degree long, status byte, k long, weight double")
    st = deg.join(F.broadcast(lv), ["type_idx", "degree"])
    if partial is not None:
        d, r = partial
        at = (F.col("degree") == d) & F.col("status").isin(SAMPLED, OVER_BUDGET)
        rk = F.row_number().over(Window.partitionBy("degree", "__at").orderBy("sig")) - 1
        st = st.withColumn("__at", at).withColumn("rk", rk)
        cut = F.col("__at") & (F.col("rk") >= r)
        st = (st.withColumn("status", F.when(cut, F.lit(OVER_BUDGET).cast("byte")).otherwise(F.col("status")))
              .withColumn("k", F.when(cut, F.lit(0)).otherwise(F.col("k")))
              .withColumn("weight", F.when(cut, F.lit(0.0)).otherwise(F.col("weight"))).drop("rk", "__at"))
    st = _hubs._coordinated(inc, st.localCheckpoint(), type_names, n_accounts, p, node_key)
    st = _evidence_table(st, p).localCheckpoint()
    return st, cap, {t: float(c) for t, c in zip(type_names, caps)}


def _ordered_sum(key: str, value: str) -> Any:
    """Sum of ``value`` over the group in ascending ``key`` order, starting from 0.0 (as scipy accumulates)."""
    from pyspark.sql import functions as F

    return F.aggregate(F.array_sort(F.collect_list(F.struct(key, value))), F.lit(0.0),
                       lambda acc, e: acc + e[value])


def _circulant_batch(t: pa.Table, seed: int) -> pa.Table:
    """:func:`accountgraph.graph.circulant_pairs` on the incidences of whole signals."""
    acc, nk = t["acc"].to_numpy(), t["nk"].to_numpy()
    sig, k, common = t["sig"].to_numpy(), t["k"].to_numpy(), t["common"].to_numpy(zero_copy_only=False)
    ua, local = np.unique(acc, return_inverse=True)
    node_key = np.zeros(len(ua), np.int64)
    node_key[local] = nk
    us, ks = np.unique(sig, return_index=True)
    u, v, s = circulant_pairs(local.astype(np.int64), sig.astype(np.int64), _Lookup(us, k[ks]), node_key, seed,
                              _Lookup(us, np.asarray(common[ks], bool)))
    return pa.table({"u": ua[np.minimum(u, v)], "v": ua[np.maximum(u, v)], "sig": s})


def _type_pairs(inc: Any, st: Any, node_key: Any, types: Any, seed: int, promiscuity: float = 0.0) -> Any:
    """Per (u, v, type): the summed evidence of linked and sampled signals (zeros dropped, as scipy does),
    times the local engine's balance factor (``graph._projection._balance``)."""
    from pyspark.sql import functions as F

    x = inc.select("acc", "sig").join(st.where(F.col("status").isin(LINKED, SAMPLED))
                                      .select("sig", "type_idx", "status", "xl", "xs", "k", "common"), "sig") \
        .join(F.broadcast(types), "type_idx")
    lk = x.where(F.col("status") == LINKED).select("acc", "sig", "type_idx", "xl")
    a, b = lk.alias("a"), lk.alias("b")
    lp = (a.join(b, (F.col("a.sig") == F.col("b.sig")) & (F.col("a.acc") < F.col("b.acc")))
          .select(F.col("a.acc").alias("u"), F.col("b.acc").alias("v"), F.col("a.type_idx").alias("t"),
                  F.col("a.sig").alias("sig"), F.col("a.xl").alias("x"))
          .groupBy("u", "v", "t").agg(_ordered_sum("sig", "x").alias("ls")))
    sm = x.where(F.col("status") == SAMPLED).join(node_key, "acc").select("acc", "sig", "nk", "k", "common")
    # every signal's incidences meet in one call (a grouping, see `grouped_by_bucket`)
    n_b = int(inc.sparkSession.conf.get("spark.sql.shuffle.partitions"))
    sp = (grouped_by_bucket(sm, F.col("sig"), n_b, lambda t: _circulant_batch(t, seed), "u long, v long, sig long")
          .join(x.select("sig", "type_idx", "xs").distinct(), "sig")
          .groupBy("u", "v", F.col("type_idx").alias("t")).agg(_ordered_sum("sig", "xs").alias("ss")))
    tot = lp.join(sp, ["u", "v", "t"], "full")
    tot = tot.select("u", "v", "t", (F.coalesce("ls", F.lit(0.0)) + F.coalesce("ss", F.lit(0.0))).alias("total"))
    if promiscuity > 0:
        n = inc.select("acc", "sig").join(st.select("sig", F.col("type_idx").alias("t")), "sig") \
            .groupBy("acc", "t").agg(F.count(F.lit(1)).cast("double").alias("n"))
        tot = (tot.join(n.withColumnRenamed("acc", "u").withColumnRenamed("n", "nu"), ["u", "t"])
               .join(n.withColumnRenamed("acc", "v").withColumnRenamed("n", "nv"), ["v", "t"]))
        f = F.least(F.lit(1.0), F.sqrt(F.lit(float(promiscuity)) * F.least("nu", "nv")
                                       / F.greatest(F.greatest("nu", "nv"), F.lit(1.0))))
        tot = tot.select("u", "v", "t", (F.col("total") * f).alias("total"))
    return tot.where(F.col("total") != 0)


def _noisy_or(t: pa.Table, alpha: np.ndarray, group: np.ndarray) -> pa.Table:
    tt = t["t"].to_numpy()
    e = alpha[tt] * -np.expm1(-t["total"].to_numpy())
    return pa.table({"u": t["u"], "v": t["v"], "g": pa.array(group[tt]), "e": pa.array(e)})


def _type_groups(type_names: list[str], used: set[int], p: GraphParams) -> tuple[np.ndarray, np.ndarray]:
    """Per type index: its weight ``alpha`` and evidence-group order (-1: not projected)."""
    weights = dict(DEFAULT_TYPE_WEIGHTS if p.type_weights is None else {**DEFAULT_TYPE_WEIGHTS, **p.type_weights})
    alpha = np.array([type_weight(t, weights) for t in type_names] or [0.0], np.float64)
    group = np.full(max(len(type_names), 1), -1, np.int64)
    order: list[str] = []
    for i, t in enumerate(type_names):
        if alpha[i] <= 0 or i not in used:
            continue
        g = EVIDENCE_GROUPS.get(t, t)
        if g not in order:
            order.append(g)
        group[i] = order.index(g)
    return alpha, group


def spark_graph(inc: Any, sigs: Any, type_names: list[str], n_accounts: int, p: GraphParams, node_key: Any,
                seed: int, substantial: Any | None = None) -> SparkGraph:
    """Weights, statuses and the linked pairs (``src < dst``, ``link >= min_link``).

    ``substantial`` (``acc``, ``family``, ``focus``): each account's substantial template
    families with the family's focus, for template corroboration.
    """
    from pyspark.sql import functions as F

    spark = inc.sparkSession
    st, cap, caps = _signal_table(inc, sigs, type_names, n_accounts, p, node_key)
    used = {int(r["type_idx"]) for r in st.where(F.col("status").isin(LINKED, SAMPLED)).select("type_idx")
            .distinct().collect()}
    alpha, group = _type_groups(type_names, used, p)
    types = spark.createDataFrame([(i, float(alpha[i])) for i in range(len(type_names)) if group[i] >= 0] or [(-1, 0.0)],
                                  "type_idx int, alpha double")
    tot = _type_pairs(inc, st, node_key, types, seed, p.promiscuity).localCheckpoint()
    n_pairs = tot.count()

    def run(batches: Any) -> Any:
        for b in batches:
            yield from _noisy_or(pa.Table.from_batches([b]), alpha, group).to_batches()

    ge = tot.mapInArrow(run, "u long, v long, g long, e double").groupBy("u", "v", "g").agg(F.max("e").alias("e"))
    w = ge.groupBy("u", "v").agg(_ordered_sum("g", "e").alias("w"))
    if substantial is not None and p.corroboration > 0:
        su, sv = substantial.alias("su"), substantial.select("acc", "family").alias("sv")
        f = (w.select("u", "v").join(su, F.col("u") == F.col("su.acc"))
             .join(sv, (F.col("v") == F.col("sv.acc")) & (F.col("su.family") == F.col("sv.family")))
             .groupBy("u", "v").agg(F.max("su.focus").alias("f")))
        w = w.join(f, ["u", "v"], "left").withColumn(
            "w", F.col("w") + F.lit(float(p.corroboration)) * F.coalesce("f", F.lit(0.0))).drop("f")
    edges = w.where(F.col("w") >= p.min_link).select(F.col("u").alias("src"), F.col("v").alias("dst"),
                                                      F.col("w").alias("link")).localCheckpoint()
    n_edges = edges.count()
    tot.unpersist()
    n_hub = st.where(F.col("status") == HUB).count()
    logger.info("graph (spark): %d accounts, %d candidate pairs, %d edges >= %.2f", n_accounts, n_pairs, n_edges,
                p.min_link)
    return SparkGraph(edges, st.select("sig", "degree", "weight", "status"), cap, n_pairs, n_edges, n_hub, caps)


def substantial_table(events: Any, ev_family: Any, top: int, min_share: float) -> Any:
    """Each account's substantial families with their focus (as :func:`accountgraph.graph.substantial_families`)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    fam = events.select("eid", "acc").join(ev_family.where(F.col("family") >= 0), "eid")
    c = fam.groupBy("acc", "family").agg(F.count(F.lit(1)).alias("c"))
    tot = fam.groupBy("acc").agg(F.count(F.lit(1)).alias("total"))
    rk = F.row_number().over(Window.partitionBy("acc").orderBy(F.col("c").desc(), F.col("family"))) - 1
    c = c.join(tot, "acc").withColumn("share", F.col("c") / F.greatest(F.col("total"), F.lit(1))) \
        .withColumn("rk", rk).withColumn("good", (F.col("rk") < top) & (F.col("share") >= min_share)).persist()
    focus = c.groupBy("family").agg(
        (F.sum(F.col("good").cast("long")).cast("double") / F.greatest(F.count(F.lit(1)), F.lit(1)).cast("double"))
        .alias("focus"))
    return c.where("good").select("acc", "family").join(focus, "family").localCheckpoint()
