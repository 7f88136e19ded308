"""Stage 7, views: the result tables and everything that reads them.

:class:`DetectionResult` and :class:`RingExplanation` hold the tables; the
renderers turn them into dossiers (:mod:`._dossier`), exports to networkx,
igraph and GraphML (:mod:`._export`), plots (:mod:`._plots`) and the offline
HTML report (:mod:`._report`). Engines build the tables with :mod:`._tables`
(and may defer the costly, rarely read ones with :class:`Deferred`).
Renderers are typed against the protocols in :mod:`._types`, so nothing here
imports the result classes back.
"""

from ._deferred import Deferred
from ._indicators import RingIndicators
from ._pseudonym import hash_indicator
from ._result import DetectionResult, RingExplanation
from ._tables import (
    assignments_table,
    cluster_signals,
    cluster_template_counts,
    cluster_templates,
    evidence_tables,
    rank_clusters,
    with_representatives,
)

__all__ = [
    "Deferred", "DetectionResult", "RingExplanation", "RingIndicators", "hash_indicator", "assignments_table",
    "cluster_signals", "cluster_template_counts", "cluster_templates", "evidence_tables", "rank_clusters",
    "with_representatives",
]
