"""Stage 4, graph: how telling each shared signal is, and the bounded account–account projection.

Interface: :func:`build_graph` weights the signals of a
:class:`~accountgraph.signals.SignalTable` by rarity and projects them to an
:class:`AccountGraph` (links, per-signal degree, weight and status);
:func:`substantial_families` feeds template corroboration.
"""

from ._params import GraphParams
from ._budget import circulant_pairs
from ._corroboration import substantial_families
from ._hubs import coordinated_hubs
from ._projection import AccountGraph, build_graph
from ._weights import (
    DEFAULT_TYPE_WEIGHTS,
    EVIDENCE_GROUPS,
    HUB,
    LINKED,
    OVER_BUDGET,
    SAMPLED,
    STATUS_NAMES,
    UNSHARED,
    rarity_weight,
    type_caps,
)

__all__ = [
    "GraphParams",
    "DEFAULT_TYPE_WEIGHTS", "EVIDENCE_GROUPS", "HUB", "LINKED", "OVER_BUDGET", "SAMPLED", "STATUS_NAMES", "UNSHARED", "AccountGraph",
    "build_graph", "circulant_pairs", "coordinated_hubs", "rarity_weight", "substantial_families", "type_caps",
]
