"""Evaluation metrics for ring detection against ground-truth labels.

The functions here score the output of :func:`accountgraph.detect` (or any
method producing the same ``assignments`` table) against a ``labels`` table:

* account-level precision, recall and F1 of the ``flagged`` column, where the
  positive class is ``kind == "ring"``;
* the false-positive rate separately among ``legit``, ``enterprise`` and
  ``automation`` accounts, because a flag on a paying enterprise is a very
  different cost from a flag on a hobbyist;
* ring recall: the share of rings with at least 80 % of their accounts flagged;
* the adjusted Rand index between cluster ids and ring ids over ring accounts;
* for a replay, :func:`exchanges_before_first_flag`: how much of each ring's
  traffic was served before the ring was first flagged.

All joins are vectorised (pandas merges, numpy ``bincount``/``unique``); the
cost is dominated by one hash join on ``account_id`` and is comfortable for
millions of accounts.

Conventions
-----------
* Accounts present in ``labels`` but absent from ``assignments`` count as not
  flagged and unclustered; their number is reported as ``n_missing``.
  Accounts in ``assignments`` but not in ``labels`` are ignored and counted as
  ``n_unlabelled``.
* ``cluster_id == -1`` means "no cluster": for the ARI every such account is
  its own singleton cluster.
* Ratios with an empty denominator: precision, recall and F1 are ``0.0``
  (scikit-learn's ``zero_division=0`` convention); the false-positive rate of
  a kind with no accounts, ring recall with no rings and the ARI with no ring
  accounts are ``nan`` ("not applicable").

Layout: :mod:`._input` reads and joins the tables, :mod:`._scores` holds the
account- and ring-level scores and :func:`evaluate`, :mod:`._replay` the replay
metric :func:`exchanges_before_first_flag`.
"""

from __future__ import annotations

from ._input import KINDS
from ._replay import exchanges_before_first_flag
from ._scores import (
    RingMetrics,
    adjusted_rand_index,
    evaluate,
    false_positive_rates,
    precision_recall_f1,
    ring_ari,
    ring_recall,
)

__all__ = [
    "KINDS",
    "RingMetrics",
    "adjusted_rand_index",
    "evaluate",
    "exchanges_before_first_flag",
    "false_positive_rates",
    "precision_recall_f1",
    "ring_ari",
    "ring_recall",
]
