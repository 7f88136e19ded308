"""accountgraph: find coordinated rings of accounts in API and usage logs.

Build a bipartite graph linking accounts to the signals they share (IPs and
their networks, payment instruments, device fingerprints, prompt-template
families), weight each link by how telling it is, find communities with
Leiden on igraph's C core, and rank them by how much they look like a ring.

>>> import accountgraph
>>> result = accountgraph.detect(events, accounts, seed=0)   # doctest: +SKIP
>>> result.clusters.head()                                   # doctest: +SKIP
>>> result.explain(0)                                        # doctest: +SKIP
"""

from __future__ import annotations

import logging

from ._api import DEFAULT_THRESHOLD, RingDetector, detect
from ._exceptions import (
    AccountGraphError,
    EngineUnavailableError,
    GraphTooLargeError,
    InvalidParameterError,
    NotFittedError,
    OutputExistsError,
    SchemaError,
)
from ._result import DetectionResult, RingExplanation
from ._schema import Quarantine
from ._scoring import ScoringParams

from ._lsh import TemplateFamilies, lsh_band_keys, lsh_params, sample_per_account_window, template_families
from ._minhash import prompt_signatures, to_lean_minhash
from ._tokenize import prompt_tokens

__version__ = "0.1.0"

__all__ = [
    "detect",
    "RingDetector",
    "DetectionResult",
    "RingExplanation",
    "Quarantine",
    "ScoringParams",
    "DEFAULT_THRESHOLD",
    "prompt_signatures",
    "prompt_tokens",
    "to_lean_minhash",
    "lsh_params",
    "lsh_band_keys",
    "template_families",
    "TemplateFamilies",
    "sample_per_account_window",
    "AccountGraphError",
    "SchemaError",
    "InvalidParameterError",
    "EngineUnavailableError",
    "GraphTooLargeError",
    "NotFittedError",
    "OutputExistsError",
    "__version__",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
