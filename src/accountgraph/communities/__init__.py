"""Stage 5, communities: connected components, Leiden on igraph's C core, detach and attach.

Interface: :func:`find_communities` partitions an
:class:`~accountgraph.graph.AccountGraph`; :func:`detach_weak_members` and
:func:`attach_by_shared_signals` refine the partition at the account level.
"""

from ._params import CommunityParams
from ._communities import attach_by_shared_signals, detach_weak_members, find_communities, isolated_igraph_rng
# For engines that run the components in parallel (Spark): the per-component calls find_communities makes.
from ._leiden import component_labels, component_seed, edge_pairs, leiden_one, merge_dense, split_oversized

__all__ = ["CommunityParams", "attach_by_shared_signals", "component_labels", "component_seed", "detach_weak_members", "edge_pairs",
           "find_communities", "isolated_igraph_rng", "leiden_one", "merge_dense", "split_oversized"]
