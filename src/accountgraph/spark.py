"""Run accountgraph on Spark: :func:`detect` on Spark DataFrames, with the local engine's answer.

>>> from accountgraph import spark                                  # doctest: +SKIP
>>> res = spark.detect(events_df, accounts_df, seed=0)              # doctest: +SKIP
>>> res.assignments.where("flagged").show()                         # doctest: +SKIP
>>> res.clusters.head(); res.explain(0); res.report("rings.html")   # doctest: +SKIP

Needs pyspark (``pip install 'accountgraph[spark]'``); pyspark is imported only
when :func:`detect` runs, and its absence raises
:class:`~accountgraph.EngineUnavailableError` with that hint. See
``docs/spark.md`` for how each stage runs and for the plan at 1B events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._exceptions import InvalidParameterError

if TYPE_CHECKING:  # pragma: no cover
    from .engines.spark import SparkDetectionResult

__all__ = ["detect"]


def detect(events: Any, accounts: Any | None = None, *, seed: int = 0, master: str | None = None,
           **params: Any) -> SparkDetectionResult:
    """Find and rank coordinated rings of accounts with the Spark engine.

    Parameters
    ----------
    events : pyspark.sql.DataFrame or Parquet/CSV path (or a small local table)
        One row per API exchange, with the columns of :func:`accountgraph.detect`.
    accounts : pyspark.sql.DataFrame or path, optional
    seed : int, default 0
        As in :func:`accountgraph.detect`.
    master : str, optional
        Spark master URL (``"local[4]"``, ``"spark://host:7077"``); default: the
        active SparkSession, else ``local[2]``.
    **params
        The parameters of :func:`accountgraph.detect` (``threshold``, ``ingest``,
        ``templates``, ``graph``, ``communities``, ``scoring``, ``evidence_clusters``).

    Returns
    -------
    SparkDetectionResult
        ``assignments`` and ``cluster_signals`` as Spark DataFrames, ``clusters``
        as pandas, ``quarantine`` counts, ``explain``/``report`` on the top
        ``evidence_clusters`` clusters, ``to_pandas(table)``.

    Raises
    ------
    EngineUnavailableError
        pyspark is not installed.
    SchemaError, InvalidParameterError
        As :func:`accountgraph.detect`.
    """
    from ._detector import RingDetector

    bad = sorted(set(params) & {"engine", "pseudonymize", "random_state", "progress"})
    if bad:
        raise InvalidParameterError(f"accountgraph.spark.detect does not take {bad}; pass seed= for the random state, "
                                    "and pseudonymise a collected result (result.top_result.pseudonymized(key)).")
    cfg = RingDetector(random_state=seed, **params)._config()
    from .engines.spark import run_spark

    return run_spark(cfg, events, accounts, master=master)
