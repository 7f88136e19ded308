"""The account–signal incidence in Spark, numbered exactly as :func:`accountgraph.signals.extract_signals`.

Signal types are sorted by name and empty types dropped; inside a type, values
are ranked in sorted order (Spark's string order is UTF-8 byte order, as
Arrow's), and a value seen in events and in the accounts table is one signal.
Sorting all ``(type, value)`` pairs at once and numbering them with
:func:`._session.dense_index` gives the same global ids as the local offsets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._session import dense_index

__all__ = ["SparkSignals", "spark_signals"]


@dataclass
class SparkSignals:
    """``incidence``: ``acc``, ``sig``, ``n_events``; ``signals``: ``sig``, ``type_idx``, ``value``."""

    incidence: Any
    signals: Any
    type_names: list[str]
    n_signals: int
    n_incidences: int


def _sources(events: Any, accounts: Any | None, ev_cols: tuple[str, ...], ac_cols: tuple[str, ...],
             ev_extras: tuple[str, ...], ac_extras: tuple[str, ...], ev_family: Any | None) -> list[Any]:
    """One ``(tname, key, value, acc, from_ev)`` frame per signal source."""
    from pyspark.sql import functions as F

    out = []

    def add(df: Any, tname: str, col: str, from_ev: int) -> None:
        out.append(df.where(F.col(col).isNotNull()).select(
            F.lit(tname).alias("tname"), F.col(col).alias("key"), F.col(col).alias("value"), "acc",
            F.lit(from_ev).alias("from_ev")))

    ev_map = {"ip": "ip", "ip_net": "ip_net", "device": "device_id", "payment": "payment_id"}
    for tname, col in ev_map.items():
        if col in ev_cols or (col == "ip_net" and "ip" in ev_cols):
            add(events, tname, col, 1)
    for c in ev_extras:
        add(events, f"x:{c}", f"x_{c}", 1)
    if ev_family is not None:
        fam = events.select("eid", "acc").join(ev_family.where(F.col("family") >= 0), "eid")
        out.append(fam.select(F.lit("template").alias("tname"), F.lpad(F.col("family").cast("string"), 20, "0")
                              .alias("key"), F.concat(F.lit("family "), F.col("family").cast("string")).alias("value"),
                              "acc", F.lit(1).alias("from_ev")))
    if accounts is not None:
        for tname, col in {"payment": "payment_id", "email_domain": "email_domain",
                           "phone_prefix": "phone_prefix"}.items():
            if col in ac_cols:
                add(accounts, tname, col, 0)
        for c in ac_extras:
            add(accounts, f"x:{c}", f"x_{c}", 0)
    return out


def spark_signals(events: Any, accounts: Any | None, ev_cols: tuple[str, ...], ac_cols: tuple[str, ...],
                  ev_extras: tuple[str, ...], ac_extras: tuple[str, ...], ev_family: Any | None) -> SparkSignals:
    """Distinct (account, signal) incidences with their event counts, and the signal table."""
    from pyspark.sql import functions as F

    parts = _sources(events, accounts, ev_cols, ac_cols, ev_extras, ac_extras, ev_family)
    if not parts:
        spark = events.sparkSession
        e = spark.createDataFrame([], "acc long, sig long, n_events long")
        return SparkSignals(e, spark.createDataFrame([], "sig long, type_idx int, value string"), [], 0, 0)
    src = parts[0]
    for p in parts[1:]:
        src = src.unionByName(p)
    src = src.persist()
    type_names = sorted(r["tname"] for r in src.select("tname").distinct().collect())
    tidx = events.sparkSession.createDataFrame(list(enumerate(type_names)), "type_idx int, tname string")
    values = src.select("tname", "key", "value").distinct()
    sigs = dense_index(values, [F.col("tname"), F.col("key")], "sig").join(F.broadcast(tidx), "tname").localCheckpoint()
    inc = (src.join(sigs.select("tname", "key", "sig"), ["tname", "key"])
           .groupBy("acc", "sig").agg(F.greatest(F.sum("from_ev"), F.lit(1)).cast("long").alias("n_events"))
           .localCheckpoint())
    n_sig, n_inc = sigs.count(), inc.count()
    src.unpersist()
    return SparkSignals(inc, sigs.select("sig", "type_idx", "value"), type_names, n_sig, n_inc)
