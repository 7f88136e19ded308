"""Hub caps and coordinated hubs of the Spark graph stage, with the local engine's numbers.

Per-type hub caps (:func:`accountgraph.graph.type_caps`) are Spark aggregations: each
holder's co-sharers per grid level are long sums, and the median per (type, level) is
located by running counts in a histogram of them (:func:`_cosharer_medians`); the driver
gets at most two values per (type, level) and one holder count per type, and picks each
cap as ``type_caps`` does. Coordinated hubs (:func:`accountgraph.graph.coordinated_hubs`)
run on the driver over the hub incidences of the accounts in some hub's 64-account sample
(picked in Spark by a window rank of the same hash): at most 64 accounts per hub with their
hubs, whatever the hubs' degrees, and the same result as over every hub incidence.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pyarrow as pa

from ...graph import (EVIDENCE_GROUPS, HUB, LINKED, SAMPLED, GraphParams, coordinated_hubs, hub_sample_hash,
                      type_cap_choice, type_cap_grid)

__all__: list[str] = []  # helpers of ._graph (called as _hubs._type_caps, _hubs._coordinated)


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
    cand = (F.col("status") == HUB) & (F.col("degree") <= lim)
    if p.coordinate_weak:  # projected signals weighing less than a coordinated one (the local engine's _coordinate)
        cand = cand | (F.col("status").isin(LINKED, SAMPLED) & (F.col("weight") < float(p.coordinated_weight)))
    hubs = st.where(cand).select("sig", "type_idx", "degree", "status")
    if p.coordinated_weight <= 0 or hubs.isEmpty():
        return st
    hi = _sampled_hub_incidences(inc, hubs, node_key)
    hs = hubs.toArrow()
    groups = sorted({EVIDENCE_GROUPS.get(t, t) for t in type_names})
    tg = np.array([groups.index(EVIDENCE_GROUPS.get(t, t)) for t in type_names], np.int64)
    sig_ids = hs["sig"].to_numpy()
    o = np.argsort(sig_ids)
    sig_ids, h_type, h_deg = sig_ids[o], hs["type_idx"].to_numpy()[o], hs["degree"].to_numpy()[o]
    lift = np.where(hs["status"].to_numpy()[o] == HUB, p.coordinated_min_lift, p.coordinated_weak_lift)
    accs, a_local = np.unique(hi["acc"].to_numpy(), return_inverse=True)
    nk = np.zeros(len(accs), np.int64)
    nk[a_local] = hi["nk"].to_numpy()
    # the hubs under compact ids (increasing with the global ids, which pick the samples)
    common = coordinated_hubs(a_local.astype(np.int64), np.searchsorted(sig_ids, hi["sig"].to_numpy()).astype(np.int64),
                              tg[h_type], np.ones(len(sig_ids), bool), h_deg.astype(np.int64), n_accounts, nk,
                              signal_key=sig_ids.astype(np.int64), min_lift=lift)
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
