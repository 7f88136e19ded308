"""Stage 4, graph: how telling each shared signal is, and the bounded account–account projection.

Interface: :func:`build_graph` weights the signals of a
:class:`~accountgraph.signals.SignalTable` by rarity and projects them to an
:class:`AccountGraph` (links, per-signal degree, weight and status);
:func:`substantial_families` feeds template corroboration. :func:`project` is
:func:`build_graph` for engines that compute the families meanwhile (given late, as a callable).
"""

from ._params import GraphParams
from ._budget import circulant_pairs
from ._corroboration import substantial_families
from ._projection import AccountGraph, build_graph, pair_balance, project
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
)
# For other engines (Spark), which rebuild the projection from the same per-signal numbers.
from ._weights import _evidence as signal_evidence
from ._weights import _type_weight as type_weight
from ._weights import type_caps
from ._weights import _cap_grid as type_cap_grid
from ._weights import _pick_cap as type_cap_choice
from ._hubs import coordinated_hubs
from ._hubs import _sample_hash as hub_sample_hash

__all__ = [
    "GraphParams",
    "DEFAULT_TYPE_WEIGHTS", "EVIDENCE_GROUPS", "signal_evidence", "type_weight", "type_caps", "type_cap_grid", "type_cap_choice", "coordinated_hubs", "hub_sample_hash", "HUB", "LINKED", "OVER_BUDGET", "SAMPLED", "STATUS_NAMES", "UNSHARED", "AccountGraph",
    "build_graph", "circulant_pairs", "pair_balance", "project", "rarity_weight", "substantial_families",
]
