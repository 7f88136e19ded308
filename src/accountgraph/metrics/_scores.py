"""Account-level and ring-level scores of an assignments table against labels, and :func:`evaluate`."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

from .._exceptions import InvalidParameterError
from ..ingest import TableLike
from ._input import _check_share, _cluster_codes, _fprs, _joined, _prf, _ring_recall

__all__ = [
    "RingMetrics", "adjusted_rand_index", "evaluate", "false_positive_rates", "precision_recall_f1",
    "ring_ari", "ring_recall",
]


def adjusted_rand_index(labels_true: Any, labels_pred: Any) -> float:
    """Adjusted Rand index between two partitions of the same items.

    Parameters
    ----------
    labels_true, labels_pred : array-like of hashable, length n
        Cluster label of each item under the two partitions. Labels are
        compared for equality only, so any hashable values work.

    Returns
    -------
    float
        ARI in [-0.5, 1]: 1 for identical partitions (up to renaming), about 0
        for independent ones. With fewer than two items, or when both
        partitions are trivial in the same way, the index is 1.0 (the
        scikit-learn convention); for zero items it is ``nan``.

    Raises
    ------
    InvalidParameterError
        If the two label arrays differ in length.

    Notes
    -----
    Computed from the pair-confusion counts of the contingency table
    (Hubert & Arabie 1985). The contingency table is built from ``np.unique``
    over combined integer codes, so cost is O(n log n) time and O(n) memory;
    the pair counts are combined with exact Python integers so no overflow
    happens for millions of items.

    Examples
    --------
    >>> adjusted_rand_index([0, 0, 1, 1], [5, 5, 7, 7])
    1.0
    >>> round(adjusted_rand_index([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]), 4)
    0.2424

    References
    ----------
    L. Hubert and P. Arabie, "Comparing partitions", Journal of Classification 2 (1985).
    """
    # use_na_sentinel=False: a null label is a label like any other, not "missing".
    a = pd.factorize(pd.Series(labels_true), use_na_sentinel=False)[0]
    b = pd.factorize(pd.Series(labels_pred), use_na_sentinel=False)[0]
    if len(a) != len(b):
        raise InvalidParameterError(
            f"labels_true and labels_pred must have the same length; got {len(a)} and {len(b)}."
        )
    return _ari_codes(a.astype(np.int64), b.astype(np.int64))


def _ari_codes(a: np.ndarray, b: np.ndarray) -> float:
    n = len(a)
    if n == 0:
        return math.nan
    if n == 1:
        return 1.0
    nb = int(b.max()) + 1
    _, nij = np.unique(a * nb + b, return_counts=True)
    row = np.bincount(a)
    col = np.bincount(b)
    # Sums of squares fit in int64 (<= n**2); the products below use Python ints.
    sum_sq = int(np.dot(nij, nij))
    row_sq = int(np.dot(row, row))
    col_sq = int(np.dot(col, col))
    tp = sum_sq - n  # ordered pairs together in both
    fp = row_sq - sum_sq  # together in true, apart in pred (naming follows sklearn)
    fn = col_sq - sum_sq
    tn = n * n - fp - fn - sum_sq
    if fn == 0 and fp == 0:
        return 1.0
    num = 2 * (tp * tn - fn * fp)
    den = (tp + fn) * (fn + tn) + (tp + fp) * (fp + tn)
    return float(num / den)


def precision_recall_f1(assignments: TableLike, labels: TableLike) -> tuple[float, float, float]:
    """Account-level precision, recall and F1 of ``flagged`` against ``kind == "ring"``.

    Parameters
    ----------
    assignments : table-like
        Columns ``account_id`` and ``flagged`` (bool).
    labels : table-like
        Columns ``account_id``, ``ring_id`` and ``kind``.

    Returns
    -------
    tuple of float
        ``(precision, recall, f1)``; each is 0.0 when its denominator is empty.

    Examples
    --------
    >>> import pandas as pd
    >>> lab = pd.DataFrame({"account_id": ["a", "b", "c"], "ring_id": ["r", "r", None],
    ...                     "kind": ["ring", "ring", "legit"]})
    >>> asg = pd.DataFrame({"account_id": ["a", "c"], "flagged": [True, True]})
    >>> precision_recall_f1(asg, lab)
    (0.5, 0.5, 0.5)
    """
    df, _, _ = _joined(assignments, labels, ["flagged"])
    p, r, f, *_ = _prf(df["flagged"].to_numpy(), (df["kind"] == "ring").to_numpy())
    return p, r, f


def false_positive_rates(assignments: TableLike, labels: TableLike) -> dict[str, float]:
    """Share of flagged accounts among each non-ring kind.

    Parameters
    ----------
    assignments : table-like
        Columns ``account_id`` and ``flagged``.
    labels : table-like
        Columns ``account_id``, ``ring_id`` and ``kind``.

    Returns
    -------
    dict of str to float
        Keys ``"legit"``, ``"enterprise"``, ``"automation"``; value
        ``flagged / count`` of that kind, ``nan`` if the kind is absent.
    """
    df, _, _ = _joined(assignments, labels, ["flagged"])
    return _fprs(df["flagged"].to_numpy(), df["kind"].to_numpy())


def ring_recall(assignments: TableLike, labels: TableLike, *, min_share: float = 0.8) -> float:
    """Share of rings with at least ``min_share`` of their accounts flagged.

    Parameters
    ----------
    assignments : table-like
        Columns ``account_id`` and ``flagged``.
    labels : table-like
        Columns ``account_id``, ``ring_id`` and ``kind``; rings are the groups of
        ``ring_id`` among accounts of kind ``"ring"``.
    min_share : float, default 0.8
        A ring counts as recalled when ``flagged >= ceil(min_share * size)``.

    Returns
    -------
    float
        In [0, 1], or ``nan`` when there are no rings.
    """
    _check_share(min_share)
    df, _, _ = _joined(assignments, labels, ["flagged"])
    return _ring_recall(df, min_share)[0]


def ring_ari(assignments: TableLike, labels: TableLike) -> float:
    """ARI between ``cluster_id`` and ``ring_id`` over the ring accounts.

    Parameters
    ----------
    assignments : table-like
        Columns ``account_id`` and ``cluster_id`` (int, ``-1`` = no cluster).
    labels : table-like
        Columns ``account_id``, ``ring_id`` and ``kind``.

    Returns
    -------
    float
        Adjusted Rand index, ``nan`` when there are no ring accounts.

    Notes
    -----
    Only accounts of kind ``"ring"`` enter the index, so it measures how well
    clusters separate and complete rings, not how many legit accounts they
    absorb (precision covers that). Every account with ``cluster_id == -1``,
    or missing from ``assignments``, is its own singleton.
    """
    df, _, _ = _joined(assignments, labels, ["cluster_id"])
    return _ring_ari(df)


def _ring_ari(df: pd.DataFrame) -> float:
    ring = df.loc[df["kind"] == "ring"]
    if ring.empty:
        return math.nan
    a = pd.factorize(ring["ring_id"])[0].astype(np.int64)
    b = _cluster_codes(ring["cluster_id"].to_numpy())
    return _ari_codes(a, b)


# ---------------------------------------------------------------------- evaluate


@dataclasses.dataclass(frozen=True)
class RingMetrics:
    """Detection quality of one assignments table against labels.

    Attributes
    ----------
    precision, recall, f1 : float
        Account-level, positive class ``kind == "ring"`` (0.0 on empty denominators).
    fpr_legit, fpr_enterprise, fpr_automation : float
        Flagged share of each non-ring kind (``nan`` if the kind is absent).
    ring_recall : float
        Share of rings with at least ``min_share`` of their accounts flagged.
    ari : float
        Adjusted Rand index of cluster ids vs ring ids over ring accounts.
    min_share : float
        Threshold used for ``ring_recall``.
    n_accounts, n_ring_accounts, n_flagged, n_true_positive : int
        Labelled accounts, ring accounts, flagged labelled accounts, flagged ring accounts.
    n_rings, n_rings_recalled : int
        Rings in the labels and rings counted as recalled.
    n_missing : int
        Labelled accounts absent from the assignments (counted as not flagged).
    n_unlabelled : int
        Assigned accounts absent from the labels (ignored).
    """

    precision: float
    recall: float
    f1: float
    fpr_legit: float
    fpr_enterprise: float
    fpr_automation: float
    ring_recall: float
    ari: float
    min_share: float
    n_accounts: int
    n_ring_accounts: int
    n_flagged: int
    n_true_positive: int
    n_rings: int
    n_rings_recalled: int
    n_missing: int
    n_unlabelled: int

    def to_dict(self) -> dict[str, float | int]:
        """Return the metrics as a plain ``dict`` (field order preserved)."""
        return dataclasses.asdict(self)


def evaluate(assignments: TableLike, labels: TableLike, *, min_share: float = 0.8) -> RingMetrics:
    """Score an assignments table against ground-truth labels.

    Parameters
    ----------
    assignments : pandas.DataFrame, pyarrow.Table, path, DetectionResult or MonitorUpdate
        Columns ``account_id`` (str), ``cluster_id`` (int, ``-1`` = none) and
        ``flagged`` (bool), one row per account; e.g. ``detect(...).assignments``,
        or the result itself (its ``assignments`` are read).
    labels : pandas.DataFrame, pyarrow.Table or path
        Columns ``account_id``, ``ring_id`` (null outside rings) and ``kind``
        in {legit, enterprise, automation, ring}.
    min_share : float, default 0.8
        Share of a ring's accounts that must be flagged for the ring to count
        as recalled.

    Returns
    -------
    RingMetrics

    Raises
    ------
    SchemaError
        If a column is missing, an ``account_id`` is duplicated, a ``kind`` is
        unknown or a ring account has no ``ring_id``.
    InvalidParameterError
        If ``min_share`` is not in (0, 1].

    Notes
    -----
    One hash join of the two tables on ``account_id`` plus a few linear
    passes: O(n) memory and roughly O(n log n) time in the number of accounts.

    Examples
    --------
    >>> import pandas as pd
    >>> lab = pd.DataFrame({"account_id": ["a", "b", "c", "d"],
    ...                     "ring_id": ["r1", "r1", None, None],
    ...                     "kind": ["ring", "ring", "legit", "enterprise"]})
    >>> asg = pd.DataFrame({"account_id": ["a", "b", "c", "d"], "cluster_id": [0, 0, -1, 1],
    ...                     "flagged": [True, True, False, True]})
    >>> m = evaluate(asg, lab)
    >>> m.precision, m.recall, m.fpr_enterprise, m.ring_recall, m.ari
    (0.6666666666666666, 1.0, 1.0, 1.0, 1.0)
    """
    _check_share(min_share)
    df, n_missing, n_unlabelled = _joined(assignments, labels, ["cluster_id", "flagged"])
    flagged = df["flagged"].to_numpy()
    kind = df["kind"].to_numpy()
    p, r, f, tp, n_flag, n_pos = _prf(flagged, kind == "ring")
    fpr = _fprs(flagged, kind)
    rr, n_rec, n_rings = _ring_recall(df, min_share)
    return RingMetrics(
        precision=p,
        recall=r,
        f1=f,
        fpr_legit=fpr["legit"],
        fpr_enterprise=fpr["enterprise"],
        fpr_automation=fpr["automation"],
        ring_recall=rr,
        ari=_ring_ari(df),
        min_share=float(min_share),
        n_accounts=len(df),
        n_ring_accounts=n_pos,
        n_flagged=n_flag,
        n_true_positive=tp,
        n_rings=n_rings,
        n_rings_recalled=n_rec,
        n_missing=n_missing,
        n_unlabelled=n_unlabelled,
    )
