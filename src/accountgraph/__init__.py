"""accountgraph: find coordinated rings of accounts in API and usage logs.

Build a bipartite graph linking accounts to the signals they share (IPs and
their networks, payment instruments, device fingerprints, prompt-template
families), weight each link by how telling it is, find communities with
Leiden on igraph's C core, and rank them by how much they look like a ring.

>>> import accountgraph
>>> result = accountgraph.detect(events, accounts, seed=0)   # doctest: +SKIP
>>> result.clusters.head()                                   # doctest: +SKIP
>>> result.explain(0)                                        # doctest: +SKIP

The top level holds the detector, its result types, its parameters and its
errors. The stages are sub-packages (``ingest``, ``templates``, ``signals``,
``graph``, ``communities``, ``scoring``, ``views``, ``engines``); the MinHash
toolkit is :mod:`accountgraph.minhash`, template families
:mod:`accountgraph.templates`, synthetic worlds :mod:`accountgraph.synth` and
evaluation :mod:`accountgraph.metrics`. Names load on first use, so
``import accountgraph`` is cheap.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from ._exceptions import (
    AccountGraphError,
    EngineUnavailableError,
    GraphTooLargeError,
    InvalidParameterError,
    NotFittedError,
    OutputExistsError,
    SchemaError,
    StateError,
)
from ._version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from ._calibration import Calibration
    from ._detector import DEFAULT_TARGET_FPR, DEFAULT_THRESHOLD, RingDetector, detect
    from .communities import CommunityParams
    from .graph import GraphParams
    from .ingest import IngestParams, Quarantine
    from .scoring import ScoringParams
    from .templates import TemplateParams
    from .monitor import Monitor, MonitorUpdate
    from .views import DetectionResult, RingExplanation, RingIndicators, hash_indicator

#: Public name -> module it lives in (imported on first access, PEP 562).
_LAZY = {
    "detect": "._detector", "RingDetector": "._detector", "DEFAULT_THRESHOLD": "._detector", "DEFAULT_TARGET_FPR": "._detector",
    "DetectionResult": ".views", "RingExplanation": ".views", "RingIndicators": ".views",
    "hash_indicator": ".views", "Quarantine": ".ingest",
    "IngestParams": ".ingest", "TemplateParams": ".templates", "GraphParams": ".graph",
    "CommunityParams": ".communities", "ScoringParams": ".scoring", "Calibration": "._calibration",
    "Monitor": ".monitor", "MonitorUpdate": ".monitor",
}
_SUBMODULES = ("communities", "engines", "graph", "ingest", "metrics", "minhash", "monitor", "scoring", "signals",
               "synth", "templates", "views")

__all__ = [
    "detect",
    "RingDetector",
    "Monitor",
    "MonitorUpdate",
    "DetectionResult",
    "RingExplanation",
    "Calibration",
    "RingIndicators",
    "hash_indicator",
    "Quarantine",
    "IngestParams",
    "TemplateParams",
    "GraphParams",
    "CommunityParams",
    "ScoringParams",
    "DEFAULT_TARGET_FPR",
    "DEFAULT_THRESHOLD",
    "AccountGraphError",
    "SchemaError",
    "InvalidParameterError",
    "EngineUnavailableError",
    "GraphTooLargeError",
    "NotFittedError",
    "OutputExistsError",
    "StateError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'accountgraph' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_SUBMODULES))


logging.getLogger(__name__).addHandler(logging.NullHandler())
