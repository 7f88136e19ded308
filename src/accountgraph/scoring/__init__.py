"""Stage 6, scoring: evidence features per cluster and the ring score with its contributions.

Interface: :func:`score_clusters` (per-event arrays and a cluster per account in,
one row of features and contributions per cluster out), :func:`member_scores`
(how strongly each account belongs to its cluster) and their parameters
:class:`ScoringParams`.
"""

from ._membership import member_scores
from ._params import COMPONENTS, ScoringParams
from ._score import score_clusters

__all__ = ["COMPONENTS", "ScoringParams", "member_scores", "score_clusters"]
