"""Stage 6, scoring: evidence features per cluster and the ring score with its contributions.

Interface: :func:`score_clusters` (per-event arrays and a cluster per account in,
one row of features and contributions per cluster out), :func:`cluster_features`
and :func:`apply_model` (the same in two steps, so another engine that computes
the cluster-sized feature table can apply the same model), :func:`population_facts`
(the whole input's references, :class:`PopulationFacts`, with which ``cluster_features``
scores any batch of clusters from their own events alone), :func:`member_scores`
(how strongly each account belongs to its cluster), :func:`team_blocks` (whether a
cluster is separate automation teams glued by a template; the team gate reads it), the fitted ring model
(:class:`RingModel`, :func:`load_model`) and their parameters :class:`ScoringParams`.
"""

from ._membership import member_scores
from ._model import LogisticModel, RingModel, default_model, fit_logistic, load_model
from ._params import COMPONENTS, ScoringParams
from ._facts import PopulationFacts, population_facts
from ._score import apply_model, cluster_features, score_clusters, signal_concentration
from ._teams import add_team_blocks, block_share, infrastructure_masks, team_blocks, with_infrastructure

__all__ = ["COMPONENTS", "LogisticModel", "PopulationFacts", "RingModel", "ScoringParams", "add_team_blocks",
           "apply_model", "block_share", "cluster_features", "default_model", "fit_logistic", "infrastructure_masks",
           "load_model", "member_scores", "population_facts", "score_clusters", "signal_concentration", "team_blocks",
           "with_infrastructure"]
