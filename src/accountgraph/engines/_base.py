"""The engine seam: what an engine receives and what it must return.

An engine runs every stage on its own compute (this process, a Spark cluster)
with the same parameters and returns the same result contract
(:class:`~accountgraph.DetectionResult`). :class:`PipelineConfig` is the whole
validated parameter set; engines never see the estimator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ..communities import CommunityParams
from ..graph import GraphParams
from ..ingest import IngestParams, TableLike
from ..scoring import ScoringParams
from ..templates import TemplateParams
from ..views import DetectionResult

__all__ = ["Engine", "PipelineConfig"]


@dataclass(frozen=True)
class PipelineConfig:
    """Every parameter of a detection run, validated (see :class:`~accountgraph.RingDetector`)."""

    threshold: float
    ingest: IngestParams
    templates: TemplateParams
    graph: GraphParams
    communities: CommunityParams
    scoring: ScoringParams
    evidence_clusters: int
    seed: int
    progress: bool | None

    def to_params(self) -> dict[str, Any]:
        """The parameters as stored in ``DetectionResult.params``."""
        return {
            "threshold": self.threshold, "ingest": self.ingest, "templates": self.templates, "graph": self.graph,
            "communities": self.communities, "scoring": self.scoring, "evidence_clusters": self.evidence_clusters,
            "random_state": self.seed,
        }


class Engine(Protocol):
    """An execution engine: runs the pipeline and returns a :class:`DetectionResult`."""

    name: str

    def run(self, config: PipelineConfig, events: TableLike, accounts: TableLike | None) -> DetectionResult:
        """Run every stage on ``events`` (and optional ``accounts``)."""
        ...
