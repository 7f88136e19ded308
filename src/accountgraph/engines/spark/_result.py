"""The Spark engine's result: large tables stay Spark DataFrames; dossiers and the report cover the top clusters."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from ..._exceptions import InvalidParameterError
from ...ingest import Quarantine
from ...views import DetectionResult, RingExplanation

__all__ = ["SparkDetectionResult"]


class _TopView(DetectionResult):
    """A :class:`DetectionResult` holding the top clusters' accounts only (for dossiers and the report)."""

    def __repr__(self) -> str:
        st = self.stats
        n_cl = len(self.clusters)
        n_fl = int(self.clusters["flagged"].sum()) if n_cl else 0
        return (f"DetectionResult({st.get('n_accounts', 0)} accounts, {n_cl} clusters, {n_fl} flagged rings, "
                f"{st.get('n_flagged_accounts', 0)} flagged accounts, {self.quarantine.total} rows quarantined)")


@dataclass
class SparkDetectionResult:
    """Outcome of :func:`accountgraph.spark.detect`: the contract of :class:`~accountgraph.DetectionResult`.

    Attributes
    ----------
    assignments : pyspark.sql.DataFrame
        One row per account (``account_id``, ``cluster_id``, ``ring_score``,
        ``member_score``, ``flagged``), sorted by ``account_id``.
    clusters : pandas.DataFrame
        One row per cluster (cluster-sized, so collected), as in the local result.
    cluster_signals : pyspark.sql.DataFrame
        For each cluster, the signals shared by at least two of its accounts.
    templates : pyspark.sql.DataFrame or None
        The template family table.
    quarantine : Quarantine
        Counts of the rows left out, by table and reason (the rows themselves stay in Spark).
    stats, params : dict
    """

    assignments: Any
    clusters: pd.DataFrame
    cluster_signals: Any
    templates: Any | None
    quarantine: Quarantine
    stats: dict[str, Any]
    params: dict[str, Any]
    _top: DetectionResult = field(repr=False)

    def to_pandas(self, table: Literal["assignments", "clusters", "cluster_signals"] = "assignments") -> pd.DataFrame:
        """One result table collected as pandas (by default the assignments)."""
        if table == "clusters":
            return self.clusters.copy()
        if table not in ("assignments", "cluster_signals"):
            raise InvalidParameterError(
                "The 'table' parameter of SparkDetectionResult.to_pandas must be one of 'assignments', 'clusters', "
                f"'cluster_signals'. Got {table!r} instead.")
        from ._views import sort_signals

        df = getattr(self, table).toPandas()
        if table == "cluster_signals":
            return sort_signals(df)
        df["account_id"] = df["account_id"].astype(object)
        return df.reset_index(drop=True)

    @property
    def top_result(self) -> DetectionResult:
        """A local :class:`DetectionResult` with the top ``evidence_clusters`` clusters' accounts and evidence."""
        return self._top

    def explain(self, cluster_id: int) -> RingExplanation:
        """The dossier of one of the top ``evidence_clusters`` clusters (see :meth:`DetectionResult.explain`)."""
        kept = set(self._top.assignments["cluster_id"].unique().tolist())
        if cluster_id in set(self.clusters["cluster_id"].tolist()) and cluster_id not in kept:
            raise InvalidParameterError(
                f"Cluster {cluster_id} is not among the top {len(kept)} clusters whose evidence was collected; raise "
                "evidence_clusters to explain it.")
        return self._top.explain(cluster_id)

    def report(self, path: str | os.PathLike[str], top: int = 10, **kwargs: Any) -> Path:
        """Write the HTML report of the top clusters (see :meth:`DetectionResult.report`)."""
        return self._top.report(path, top=top, **kwargs)

    def top(self, n: int = 10, *, flagged_only: bool = False) -> pd.DataFrame:
        """The ``n`` highest-scoring clusters (summary columns)."""
        return self._top.top(n, flagged_only=flagged_only)

    def summary(self, n: int = 5) -> str:
        """A short text summary of the top rings (what the CLI prints)."""
        return self._top.summary(n).replace("DetectionResult(", "SparkDetectionResult(", 1)

    def __repr__(self) -> str:
        return repr(self._top).replace("DetectionResult(", "SparkDetectionResult(", 1)
