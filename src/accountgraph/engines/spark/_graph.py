"""The rarity-weighted, budget-bounded projection in Spark, with the local engine's numbers.

Everything per signal in :func:`accountgraph.graph.build_graph` depends only on the
signal's degree (its status under the hub cap and pair budget, its rarity weight, its
evidence), except at the one degree level where a ``k = 1`` budget cuts a level in
two (by signal id). So the driver computes those numbers once per degree level with
the local numpy functions (a table of at most a few thousand rows), and Spark joins
them to the incidences. Pairs are then formed by a self-join per linked signal and by
:func:`accountgraph.graph.circulant_pairs` per sampled signal (in ``mapInArrow``).

Per-type hub caps (:func:`accountgraph.graph.type_caps`) are Spark aggregations: each
holder's co-sharers per grid level are long sums, and the median per (type, level) is
located by running counts in a histogram of them (:func:`_cosharer_medians`); the driver
gets at most two values per (type, level) and one holder count per type, and picks each
cap as ``type_caps`` does. Coordinated hubs (:func:`accountgraph.graph.coordinated_hubs`)
run on the driver over the hub incidences of the accounts in some hub's 64-account sample
(picked in Spark by a window rank of the same hash): at most 64 accounts per hub with their
hubs, whatever the hubs' degrees, and the same result as over every hub incidence.

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

import inspect
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ...graph import (EVIDENCE_GROUPS, HUB, LINKED, OVER_BUDGET, SAMPLED, UNSHARED, DEFAULT_TYPE_WEIGHTS,
                      GraphParams, circulant_pairs, coordinated_hubs, hub_sample_hash, rarity_weight, signal_evidence,
                      type_cap_choice, type_cap_grid, type_weight)

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


def _type_caps(inc: Any, deg: Any, n_types: int, cap: float, p: GraphParams) -> np.ndarray:
    """Per-type hub caps, :func:`accountgraph.graph.type_caps` from Spark aggregations (the same doubles).

    The median co-sharers per (type, grid level) come from :func:`_cosharer_medians`; the cap
    of each type is then picked on the driver as ``type_caps`` picks it. Types held by fewer
    than ``cosharers_min_accounts`` accounts, or with no shared signal, keep ``cap``.
    """
    caps = np.full(max(n_types, 1), float(cap))
    if not np.isfinite(p.max_cosharers):
        return caps
    grid = type_cap_grid(cap)
    for t, med in _cosharer_medians(inc, deg, grid, p.cosharers_min_accounts).items():
        caps[t] = type_cap_choice(med, grid, p.max_cosharers)
    return caps


def _cosharer_medians(inc: Any, deg: Any, grid: np.ndarray, min_accounts: int) -> dict[int, np.ndarray]:
    """Per type held by at least ``min_accounts`` accounts and with a shared signal: the median
    over its holders of their co-sharers at each grid level (``np.median``, float64), as
    :func:`accountgraph.graph.type_caps` computes it.

    A holder's co-sharers at level ``L`` are the sum of ``d - 1`` over its signals of the type
    with ``2 <= d`` and ``d``'s level (first grid cap ``>= d``) at most ``L``: long sums, one row
    per (holder, level) for the holders with such a signal, grouped into a histogram per (type,
    level, co-sharers). The middle ranks of each (type, level) over all the type's holders (those
    without a row have none: zeros, below every row) are located by running counts in that
    histogram, and only the values at those ranks reach the driver: at most two rows per (type,
    level), plus one row per type (its holder count). An even count's two middle values are
    averaged as numpy does, ``(a + b) / 2`` in float64 (exact: integers).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    x = inc.select("acc", "sig").join(deg.select("sig", "type_idx", "degree"), "sig")
    per = (x.groupBy("type_idx").agg(F.countDistinct("acc").alias("h"), F.max("degree").alias("dmax"))
           .where((F.col("h") >= min_accounts) & (F.col("dmax") >= 2)).collect())  # one row per type
    holders = {int(r["type_idx"]): int(r["h"]) for r in per}
    if not holders:
        return {}
    n_lv = len(grid)
    level = F.lit(n_lv)  # first grid cap >= d (np.searchsorted side="left"); n_lv: above the grid
    for i in range(n_lv - 1, -1, -1):
        level = F.when(F.col("degree").cast("double") <= F.lit(float(grid[i])), F.lit(i)).otherwise(level)
    d1 = F.col("degree") - F.lit(1)
    y = x.where(F.col("type_idx").isin(list(holders)) & (F.col("degree") >= 2)).withColumn("lv", level) \
        .where(F.col("lv") < n_lv)
    s = y.groupBy("type_idx", "acc").agg(
        *[F.sum(F.when(F.col("lv") == i, d1).otherwise(F.lit(0)).cast("long")).alias(f"s{i}") for i in range(n_lv)])
    run, cum = [], F.lit(0).cast("long")
    for i in range(n_lv):
        cum = cum + F.col(f"s{i}")
        run.append(F.struct(F.lit(i).alias("L"), cum.alias("co")))
    hist = (s.select("type_idx", F.explode(F.array(*run)).alias("e"))
            .groupBy("type_idx", F.col("e.L").alias("L"), F.col("e.co").alias("co")).agg(F.count(F.lit(1)).alias("c")))
    ranks = inc.sparkSession.createDataFrame(
        [(t, h, (h - 1) // 2, h // 2) for t, h in holders.items()], "type_idx int, h long, k1 long, k2 long")
    w = Window.partitionBy("type_idx", "L")
    hi = (F.col("h") - F.sum("c").over(w)
          + F.sum("c").over(w.orderBy("co").rowsBetween(Window.unboundedPreceding, Window.currentRow)))

    def at(k: str) -> Any:
        return (F.col("lo") <= F.col(k)) & (F.col(k) < F.col("hi"))

    rows = (hist.join(F.broadcast(ranks), "type_idx").withColumn("hi", hi).withColumn("lo", F.col("hi") - F.col("c"))
            .where(at("k1") | at("k2")).select("type_idx", "L", "co", "lo", "hi").collect())  # <= 2 per (type, level)
    got: dict[tuple[int, int], list[Any]] = {}
    for r in rows:
        got.setdefault((int(r["type_idx"]), int(r["L"])), []).append(r)
    out = {}
    for t, h in holders.items():
        med = np.empty(n_lv)
        for lv in range(n_lv):
            # a rank no row covers is a holder with no co-sharers at this level
            a, b = (next((int(r["co"]) for r in got.get((t, lv), []) if r["lo"] <= k < r["hi"]), 0)
                    for k in ((h - 1) // 2, h // 2))
            med[lv] = float(a) if h % 2 else (float(a) + float(b)) / 2.0
        out[t] = med
    return out


_SAMPLE = inspect.signature(coordinated_hubs).parameters["sample"].default


def _sample_key(batches: Any) -> Any:
    """Per hub incidence, :func:`accountgraph.graph.hub_sample_hash` (uint64) as a long in the same order."""
    for b in batches:
        h = hub_sample_hash(b.column("nk").to_numpy(), b.column("sig").to_numpy())
        yield pa.RecordBatch.from_arrays([b.column("acc"), b.column("sig"), b.column("nk"),
                                          pa.array((h ^ np.uint64(1 << 63)).view(np.int64))],
                                         ["acc", "sig", "nk", "hk"])


def _sampled_hub_incidences(inc: Any, hubs: Any, node_key: Any) -> pa.Table:
    """``acc, sig, nk``: every hub incidence of the accounts in some hub's sample (collected).

    A hub's sample (:func:`accountgraph.graph.coordinated_hubs`) is its ``sample`` members of
    lowest :func:`~accountgraph.graph.hub_sample_hash`, picked here by a window rank. Given only
    these accounts' incidences, ``coordinated_hubs`` picks the same samples (each hub's sample
    is among them, and any other holder kept ranked after it) and counts the same companion
    hubs (each sampled account's every hub is kept); hub degrees come from the hub table. So
    the result is unchanged, and what is collected is at most ``sample`` accounts per hub
    with their hubs, whatever the hubs' degrees.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    hi = inc.select("acc", "sig").join(hubs.select("sig"), "sig").join(node_key, "acc").select("acc", "sig", "nk")
    hi = hi.mapInArrow(_sample_key, "acc long, sig long, nk long, hk long").localCheckpoint()
    rk = F.row_number().over(Window.partitionBy("sig").orderBy("hk"))
    chosen = hi.withColumn("rk", rk).where(F.col("rk") <= _SAMPLE).select("acc").distinct()
    return hi.join(chosen, "acc", "left_semi").select("acc", "sig", "nk").toArrow()


def _coordinated(inc: Any, st: Any, type_names: list[str], n_accounts: int, p: GraphParams, node_key: Any) -> Any:
    """Mark coordinated hubs SAMPLED (:func:`accountgraph.graph.coordinated_hubs` on the collected hub
    incidences of the hubs' sampled accounts, :func:`_sampled_hub_incidences`)."""
    from pyspark.sql import functions as F

    st = st.withColumn("common", F.lit(False))
    lim = max(p.max_signal_degree, p.coordinated_max_share * n_accounts)
    hubs = st.where((F.col("status") == HUB) & (F.col("degree") <= lim)).select("sig", "type_idx", "degree")
    if p.coordinated_weight <= 0 or hubs.isEmpty():
        return st
    hi = _sampled_hub_incidences(inc, hubs, node_key)
    hs = hubs.toArrow()
    groups = sorted({EVIDENCE_GROUPS.get(t, t) for t in type_names})
    tg = np.array([groups.index(EVIDENCE_GROUPS.get(t, t)) for t in type_names], np.int64)
    sig_ids = hs["sig"].to_numpy()
    o = np.argsort(sig_ids)
    sig_ids, h_type, h_deg = sig_ids[o], hs["type_idx"].to_numpy()[o], hs["degree"].to_numpy()[o]
    accs, a_local = np.unique(hi["acc"].to_numpy(), return_inverse=True)
    nk = np.zeros(len(accs), np.int64)
    nk[a_local] = hi["nk"].to_numpy()
    # the hubs under compact ids (increasing with the global ids, which pick the samples)
    common = coordinated_hubs(a_local.astype(np.int64), np.searchsorted(sig_ids, hi["sig"].to_numpy()).astype(np.int64),
                              tg[h_type], np.ones(len(sig_ids), bool), h_deg.astype(np.int64), n_accounts, nk,
                              signal_key=sig_ids.astype(np.int64))
    if not common.any():
        return st
    d = h_deg[common]
    k = np.minimum(np.minimum(int(p.sample_neighbours), (d - 1) // 2),
                   max(int(p.max_pairs) // max(int(d.sum()), 1), 1))
    upd = st.sparkSession.createDataFrame([(int(a), int(b)) for a, b in zip(sig_ids[common], k)], "sig long, kc long")
    st = st.join(F.broadcast(upd), "sig", "left")
    c = F.col("kc").isNotNull()
    return (st.withColumn("status", F.when(c, F.lit(SAMPLED).cast("byte")).otherwise(F.col("status")))
            .withColumn("k", F.when(c, F.col("kc")).otherwise(F.col("k")))
            .withColumn("weight", F.when(c, F.lit(float(p.coordinated_weight))).otherwise(F.col("weight")))
            .withColumn("common", c).drop("kc"))


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
    caps = _type_caps(inc, deg, len(type_names), cap, p)
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
    st = _coordinated(inc, st.localCheckpoint(), type_names, n_accounts, p, node_key)
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

    def run(batches: Any) -> Any:
        tables = [pa.Table.from_batches([bt]) for bt in batches if bt.num_rows]
        if tables:
            yield from _circulant_batch(pa.concat_tables(tables), seed).to_batches()

    sp = (sm.repartition("sig").mapInArrow(run, "u long, v long, sig long")
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
