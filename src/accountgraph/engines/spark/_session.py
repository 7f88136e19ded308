"""The Spark session the engine runs on, and small helpers every Spark stage shares.

:func:`spark_session` returns the caller's active session, or builds one
(``local[2]`` unless a master URL is given) with the settings the stages rely on:
UTC session time, Arrow batches for the Python stages and the Python workers
running this interpreter. :func:`dense_index` numbers rows in a sort order
without collecting them or funnelling them through one partition.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

__all__ = ["INSTALL_HINT", "dense_index", "grouped_by_bucket", "require_pyspark", "spark_session", "to_arrow_table"]

logger = logging.getLogger(__name__)

#: What to run when pyspark is missing.
INSTALL_HINT = "pip install 'accountgraph[spark]'"


def require_pyspark() -> Any:
    """Import pyspark, or raise :class:`~accountgraph.EngineUnavailableError` with the install hint."""
    from ..._exceptions import EngineUnavailableError

    try:
        import pyspark
        import pyspark.sql  # noqa: F401
    except ImportError as exc:
        raise EngineUnavailableError(
            f"The Spark engine needs pyspark, which is not installed ({exc}). Install it with: {INSTALL_HINT}"
        ) from exc
    return pyspark


def spark_session(master: str | None = None, *, shuffle_partitions: int | None = None,
                  extra: dict[str, str] | None = None) -> Any:
    """The active SparkSession, or a new one on ``master`` (default ``local[2]``).

    A new session gets: UTC session time zone, Arrow batches of 65,536 rows for
    the Python stages, the Spark UI off, and ``spark.pyspark.python`` set to this
    interpreter so executors import the same accountgraph; ``extra`` adds settings.
    An active session is used as it is (its time zone is set to UTC for the run's
    conversions). Heap sizes come from ``ACCOUNTGRAPH_SPARK_DRIVER_MEMORY`` (default
    3g; in ``local`` mode this JVM runs the executors too) and
    ``ACCOUNTGRAPH_SPARK_EXECUTOR_MEMORY`` (default 2g), shuffle partitions from
    ``ACCOUNTGRAPH_SPARK_SHUFFLE_PARTITIONS`` (default 8).
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        active.conf.set("spark.sql.session.timeZone", "UTC")
        active.conf.set("spark.sql.constraintPropagation.enabled", "false")
        return active
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    b = (SparkSession.builder.master(master or "local[2]").appName("accountgraph")
         .config("spark.sql.session.timeZone", "UTC")
         .config("spark.ui.enabled", "false")
         # Long plans of joins over one relation make constraint propagation explode in memory.
         .config("spark.sql.constraintPropagation.enabled", "false")
         .config("spark.driver.memory", os.environ.get("ACCOUNTGRAPH_SPARK_DRIVER_MEMORY", "3g"))
         .config("spark.ui.showConsoleProgress", "false")
         .config("spark.sql.execution.arrow.maxRecordsPerBatch", "65536")
         .config("spark.sql.shuffle.partitions", str(shuffle_partitions or int(os.environ.get("ACCOUNTGRAPH_SPARK_SHUFFLE_PARTITIONS", "8"))))
         .config("spark.executor.memory", os.environ.get("ACCOUNTGRAPH_SPARK_EXECUTOR_MEMORY", "2g"))
         .config("spark.pyspark.python", sys.executable))
    for k, v in (extra or {}).items():
        b = b.config(k, v)
    return b.getOrCreate()


def dense_index(df: Any, order: list[Any], name: str) -> Any:
    """``df`` with a column ``name`` = 0-based position of each row in ``order`` (distinct keys).

    Sorts (a range-partitioned shuffle), counts the rows of each sorted
    partition (a handful of numbers to the driver), then adds each partition's
    offset to its rows' position: no row goes to the driver and no step runs in
    a single partition. ``order`` must not tie.
    """
    from pyspark.sql import functions as F

    sorted_df = df.orderBy(*order).withColumn("__pid", F.spark_partition_id()) \
        .withColumn("__mid", F.monotonically_increasing_id()).localCheckpoint()
    counts = sorted_df.groupBy("__pid").count().collect()
    offsets, total = {}, 0
    for r in sorted(counts, key=lambda r: r["__pid"]):
        offsets[r["__pid"]] = total
        total += r["count"]
    spark = df.sparkSession
    off = spark.createDataFrame([(int(p), int(o)) for p, o in offsets.items()] or [(0, 0)], "__pid int, __off long")
    # monotonically_increasing_id = (partition << 33) + position in the partition
    return (sorted_df.join(F.broadcast(off), "__pid")
            .withColumn(name, F.col("__off") + (F.col("__mid") - F.shiftleft(F.col("__pid").cast("long"), 33)))
            .drop("__pid", "__mid", "__off"))


def grouped_by_bucket(df: Any, key: Any, n_buckets: int, func: Any, schema: str) -> Any:
    """``func(table)`` once per hash bucket of ``key`` (a column or expression): rows with equal keys meet in one call.

    A grouped ``applyInArrow``, not ``repartition(key)`` + ``mapInArrow``: Spark may drop such a
    repartition as redundant when the input is already partitioned by the key (SPARK-35989) and
    then read that input mapper-locally after a run-time broadcast, splitting a key across calls.
    A grouping is a requirement the optimiser must keep. ``func`` sees the rows without the bucket.
    """
    from pyspark.sql import functions as F

    b = "__accountgraph_bucket"
    return (df.withColumn(b, F.pmod(F.xxhash64(key), F.lit(max(int(n_buckets), 1)))).groupBy(b)
            .applyInArrow(lambda t: func(t.drop_columns([b])), schema))


def to_arrow_table(df: Any) -> Any:
    """Collect a (small: cluster- or aggregate-sized) DataFrame as a pyarrow Table."""
    return df.toArrow()
