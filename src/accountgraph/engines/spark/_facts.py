"""The scorer's population facts as Spark aggregations (:class:`accountgraph.scoring.PopulationFacts`).

Each fact is what :func:`accountgraph.scoring.population_facts` computes from every event,
reproduced bit for bit: the medians are exact (:func:`exact_median`: the values at the
middle ranks, averaged as numpy does), ratios are the same IEEE divisions, counts are
counts. What reaches the driver is small: a few numbers, the per-partition counts of a
sort, one row per model. The per-family share of users in no cluster stays a DataFrame
(``family``, ``fshare``) that the scoring batches join to their events.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ...scoring import PopulationFacts

__all__ = ["exact_median", "spark_facts"]

logger = logging.getLogger(__name__)

_DAY_US = 86_400_000_000
_WINDOW_US = 48 * 3600 * 1_000_000  # a model's release window (scoring._features.pivot_facts)


def _day(col: str = "ts") -> Any:
    """UTC day number of a µs timestamp, floored as numpy's ``//`` floors (negative times too)."""
    from pyspark.sql import functions as F

    return F.expr(f"({col} - pmod({col}, {_DAY_US})) div {_DAY_US}")


def exact_median(df: Any, col: str) -> float | None:
    """``float(numpy.median(values))`` of a numeric column, computed in Spark (``None`` if empty).

    The distinct values with their counts are sorted (a range-partitioned shuffle); the
    per-partition totals (a handful of numbers) locate the middle ranks, and only the
    partitions holding them compute running counts; only the (at most two) rows at the middle
    ranks are collected. For an even count the two middle values are averaged as numpy does
    (``(a + b) / 2`` in float64).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    h = df.where(F.col(col).isNotNull()).groupBy(col).agg(F.count(F.lit(1)).alias("c"))
    s = h.orderBy(col).withColumn("pid", F.spark_partition_id()).localCheckpoint()
    per = sorted((int(r["pid"]), int(r["n"])) for r in s.groupBy("pid").agg(F.sum("c").alias("n")).collect())
    n = sum(c for _, c in per)
    if n == 0:
        return None
    ranks = sorted({(n - 1) // 2, n // 2})
    off, where = 0, {}
    for pid, c in per:
        for r in ranks:
            if off <= r < off + c:
                where.setdefault(pid, off)
        off += c
    offs = F.create_map(*[x for p, o in where.items() for x in (F.lit(p), F.lit(o))])
    w = Window.partitionBy("pid").orderBy(col).rowsBetween(Window.unboundedPreceding, Window.currentRow)
    at = F.lit(False)
    for k in ranks:
        at = at | ((F.col("lo") <= F.lit(k)) & (F.lit(k) < F.col("hi")))
    rows = (s.where(F.col("pid").isin(list(where))).withColumn("hi", offs[F.col("pid")] + F.sum("c").over(w))
            .withColumn("lo", F.col("hi") - F.col("c")).where(at).select(col, "lo", "hi").collect())  # <= 2 rows
    vals = [next(r[col] for r in rows if r["lo"] <= k < r["hi"]) for k in ranks]
    if n % 2:
        return float(vals[0])
    return (float(vals[0]) + float(vals[-1])) / 2.0


def _output_median(ev: Any, acc_cl: Any) -> float | None:
    """Median output length of the unclustered accounts' events (all events' if fewer than 100)."""
    from pyspark.sql import functions as F

    out = ev.where(F.col("output") >= 0).select("acc", "output")
    ref = out.join(acc_cl.select("acc"), "acc", "left_anti")
    if ref.count() < 100:
        ref = out
    return exact_median(ref, "output")


def _rate_median(ev: Any) -> float:
    """Events per active day of the median account with events (1.0 without events)."""
    from pyspark.sql import functions as F

    per = ev.groupBy("acc").agg(F.count(F.lit(1)).cast("double").alias("e"),
                                F.countDistinct(_day()).cast("double").alias("d"))
    med = exact_median(per.select((F.col("e") / F.greatest("d", F.lit(1.0))).alias("r")), "r")
    return 1.0 if med is None else med


def _exits_median(ev: Any) -> float:
    """Distinct IPs per active account-day (over IP events) of the median account with IP events."""
    from pyspark.sql import functions as F

    x = ev.where(F.col("ip") >= 0).select("acc", "ip", _day().alias("day"))
    per = x.groupBy("acc").agg(F.countDistinct("day").cast("double").alias("d"),
                               F.countDistinct("day", "ip").cast("double").alias("x"))
    med = exact_median(per.select((F.col("x") / F.greatest("d", F.lit(1.0))).alias("r")), "r")
    return 1.0 if med is None else med


def _pivot(ev: Any, start: int) -> tuple[np.ndarray, np.ndarray, float] | None:
    """``scoring._features.pivot_facts``: new models, their release times, the population's new-model share.

    ``start``: the first event's time (µs). One row per model reaches the driver.
    """
    from pyspark.sql import functions as F

    rel = ev.where(F.col("model") >= 0).groupBy("model").agg(F.min("ts").alias("r")).collect()
    if not rel:
        return None
    new = sorted((int(r["model"]), int(r["r"])) for r in rel if int(r["r"]) >= start + 2 * _DAY_US)
    if not new:
        return None
    in_w = on_new = F.lit(False)
    for m, r in new:
        w = (F.col("ts") >= F.lit(r)) & (F.col("ts") < F.lit(r + _WINDOW_US))
        in_w, on_new = in_w | w, on_new | (w & (F.col("model") == F.lit(m)))
    c = ev.agg(F.count(F.when(in_w, 1)).alias("w"), F.count(F.when(on_new, 1)).alias("n")).collect()[0]
    n_w, n_new = np.int64(c["w"]), np.int64(c["n"])
    return (np.array([m for m, _ in new], np.int64), np.array([r for _, r in new], np.int64),
            n_new / max(n_w, 1))


def family_share(ev: Any, acc_cl: Any) -> Any:
    """``family``, ``fshare``: the share of each template family's users that are in no cluster."""
    from pyspark.sql import functions as F

    users = ev.where(F.col("family") >= 0).select("family", "acc").distinct().join(acc_cl, "acc", "left")
    return users.groupBy("family").agg(
        (F.count(F.when(F.col("cl").isNull(), 1)).cast("double")
         / F.greatest(F.count(F.lit(1)), F.lit(1)).cast("double")).alias("fshare"))


def _span_days(t_min: int | None, t_max: int | None) -> float:
    """``account_activity``'s ``span_days``: (last - first event second + 1) / 86400; 1.0 without events."""
    if t_min is None or t_max is None:
        return 1.0
    return float(int(t_max) // 1_000_000 - int(t_min) // 1_000_000 + 1) / 86_400


def spark_facts(ev: Any, acc_cl: Any, created: Any | None, n_accounts: int,
                cols: tuple[bool, bool, bool, bool]) -> tuple[PopulationFacts, Any | None]:
    """The population facts of the events ``ev`` and the family share table (``None`` without families).

    ``ev``: ``eid, acc, ts, output, family, model, ip`` (codes, -1 unknown); ``acc_cl``: ``acc, cl``
    of the clustered accounts; ``created``: ``acc, created_at`` (-1 unknown) or None; ``cols``:
    whether the input has output lengths, template families, models and IPs. The facts'
    ``family_unclustered`` is left ``None``: each batch builds it from the share table.
    """
    from pyspark.sql import functions as F

    has_out, has_fam, has_model, has_ip = cols
    t = ev.agg(F.min("ts").alias("lo"), F.max("ts").alias("hi")).collect()[0]
    span = _span_days(t["lo"], t["hi"])
    out_med = _output_median(ev, acc_cl) if has_out else None
    fam = None
    if has_fam and ev.where(F.col("family") >= 0).limit(1).count():
        fam = family_share(ev, acc_cl)
    ex = _exits_median(ev) if has_ip and ev.where(F.col("ip") >= 0).limit(1).count() else None
    piv = _pivot(ev, int(t["lo"])) if has_model and t["lo"] is not None else None
    has_created = created is not None and bool(created.where(F.col("created_at") >= 0).limit(1).count())
    facts = PopulationFacts(n_accounts, _rate_median(ev), out_med, None, ex, piv, has_created, span)
    logger.debug("population facts: %s", facts)
    return facts, fam
