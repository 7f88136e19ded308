"""What the views read: the attributes of a detection result and of a cluster's dossier.

The renderers (:mod:`._dossier`, :mod:`._export`, :mod:`._plots`,
:mod:`._report`) are typed against these protocols, not against the classes in
:mod:`._result`, so the result classes can import the renderers at module top
without an import cycle.
"""

from __future__ import annotations

from typing import Any, Protocol

import pandas as pd

__all__ = ["ExplanationLike", "ResultLike"]


class ExplanationLike(Protocol):
    """A cluster's dossier (:class:`~accountgraph.RingExplanation`)."""

    cluster_id: int
    summary: dict[str, Any]
    contributions: pd.DataFrame
    signals: pd.DataFrame
    accounts: pd.DataFrame
    templates: pd.DataFrame
    bridges: pd.DataFrame
    links: pd.DataFrame
    hourly: pd.DataFrame
    daily: pd.DataFrame
    output: pd.DataFrame
    facts: dict[str, Any]
    evidence_kept: bool
    notes: list[str]

    @property
    def ring_score(self) -> float: ...


class ResultLike(Protocol):
    """A detection result (:class:`~accountgraph.DetectionResult`)."""

    assignments: pd.DataFrame
    clusters: pd.DataFrame
    cluster_signals: pd.DataFrame
    templates: pd.DataFrame
    stats: dict[str, Any]
    params: dict[str, Any]
    evidence: dict[str, Any]
    _cluster_templates: pd.DataFrame
    _incidence: pd.DataFrame

    def explain(self, cluster_id: int) -> ExplanationLike: ...
