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
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import pandas as pd

from ._exceptions import InvalidParameterError, SchemaError
from .ingest import TableLike, to_arrow

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

logger = logging.getLogger(__name__)

#: The account kinds a ``labels`` table may contain; ``"ring"`` is the positive class.
KINDS: Final[tuple[str, ...]] = ("legit", "enterprise", "automation", "ring")
_NEGATIVE_KINDS: Final[tuple[str, ...]] = ("legit", "enterprise", "automation")


# --------------------------------------------------------------------------- input


def _frame(data: TableLike, columns: list[str], *, name: str) -> pd.DataFrame:
    """Read ``columns`` of a table-like object into a new pandas DataFrame."""
    table = to_arrow(data, name=name)
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise SchemaError(
            f"{name}: missing required column(s) {missing}; got columns "
            f"{table.column_names}. Pass a table with columns {columns}."
        )
    return table.select(columns).to_pandas()


def _check_unique(ids: pd.Series, *, name: str) -> None:
    dup = ids.duplicated()
    if dup.any():
        examples = ids[dup].head(3).tolist()
        raise SchemaError(
            f"{name}: {int(dup.sum())} duplicated account_id value(s), e.g. {examples}; "
            "each account must appear once. Deduplicate the table first."
        )


def _read_labels(labels: TableLike) -> pd.DataFrame:
    lab = _frame(labels, ["account_id", "ring_id", "kind"], name="labels")
    if lab["account_id"].isna().any():
        raise SchemaError(
            f"labels: {int(lab['account_id'].isna().sum())} row(s) with a null account_id; "
            "drop them first."
        )
    lab["account_id"] = lab["account_id"].astype(str)
    _check_unique(lab["account_id"], name="labels")
    kind = lab["kind"].astype(object)
    bad = ~kind.isin(KINDS)
    if bad.any():
        raise SchemaError(
            f"labels: column 'kind' has {int(bad.sum())} value(s) outside {list(KINDS)}, "
            f"e.g. {sorted(map(str, kind[bad].unique()))[:5]}. Map them to one of these kinds."
        )
    is_ring = (kind == "ring").to_numpy()
    no_ring_id = is_ring & lab["ring_id"].isna().to_numpy()
    if no_ring_id.any():
        raise SchemaError(
            f"labels: {int(no_ring_id.sum())} account(s) of kind 'ring' have a null ring_id, "
            f"e.g. {lab.loc[no_ring_id, 'account_id'].head(3).tolist()}. "
            "Give every ring account the id of its ring."
        )
    lab["kind"] = kind.astype(str)
    return lab


def _read_assignments(assignments: TableLike, columns: list[str]) -> pd.DataFrame:
    asg = _frame(assignments, ["account_id", *columns], name="assignments")
    asg["account_id"] = asg["account_id"].astype(str)
    _check_unique(asg["account_id"], name="assignments")
    if "flagged" in asg:
        n_null = int(asg["flagged"].isna().sum())
        if n_null:
            raise SchemaError(
                f"assignments: column 'flagged' has {n_null} null value(s); "
                "fill them with True or False."
            )
        asg["flagged"] = asg["flagged"].astype(bool)
    if "cluster_id" in asg:
        n_null = int(asg["cluster_id"].isna().sum())
        if n_null:
            raise SchemaError(
                f"assignments: column 'cluster_id' has {n_null} null value(s); "
                "use -1 for accounts in no cluster."
            )
        asg["cluster_id"] = asg["cluster_id"].astype(np.int64)
    return asg


def _joined(
    assignments: TableLike, labels: TableLike, columns: list[str]
) -> tuple[pd.DataFrame, int, int]:
    """Left-join ``assignments`` onto ``labels``.

    Returns the joined frame (one row per labelled account), the number of
    labelled accounts missing from ``assignments`` and the number of assigned
    accounts missing from ``labels``.
    """
    lab = _read_labels(labels)
    asg = _read_assignments(assignments, columns)
    merged = lab.merge(asg, on="account_id", how="left", indicator=True, sort=False)
    present = (merged.pop("_merge") == "both").to_numpy()
    n_missing = int((~present).sum())
    n_unlabelled = int(len(asg) - present.sum())
    if "flagged" in merged:
        merged["flagged"] = merged["flagged"].fillna(False).astype(bool)
    if "cluster_id" in merged:
        merged["cluster_id"] = merged["cluster_id"].fillna(-1).astype(np.int64)
    if n_missing:
        logger.info("%d labelled account(s) missing from assignments: counted as not flagged", n_missing)
    if n_unlabelled:
        logger.info("%d assigned account(s) missing from labels: ignored", n_unlabelled)
    return merged, n_missing, n_unlabelled


def _check_share(min_share: float) -> None:
    if not (isinstance(min_share, (int, float)) and 0.0 < float(min_share) <= 1.0):
        raise InvalidParameterError(
            f"The 'min_share' parameter must be a float in (0, 1]. Got {min_share!r} instead."
        )


# ------------------------------------------------------------------- core metrics


def _prf(flagged: np.ndarray, positive: np.ndarray) -> tuple[float, float, float, int, int, int]:
    tp = int(np.count_nonzero(flagged & positive))
    n_flag = int(np.count_nonzero(flagged))
    n_pos = int(np.count_nonzero(positive))
    precision = tp / n_flag if n_flag else 0.0
    recall = tp / n_pos if n_pos else 0.0
    f1 = 2 * tp / (n_flag + n_pos) if (n_flag + n_pos) else 0.0
    return precision, recall, f1, tp, n_flag, n_pos


def _fprs(flagged: np.ndarray, kind: np.ndarray) -> dict[str, float]:
    out: dict[str, float] = {}
    for k in _NEGATIVE_KINDS:
        mask = kind == k
        n = int(np.count_nonzero(mask))
        out[k] = int(np.count_nonzero(flagged & mask)) / n if n else math.nan
    return out


def _ring_recall(df: pd.DataFrame, min_share: float) -> tuple[float, int, int]:
    rings = df.loc[df["kind"] == "ring", ["ring_id", "flagged"]]
    if rings.empty:
        return math.nan, 0, 0
    grouped = rings.groupby("ring_id", sort=False, observed=True)["flagged"]
    size = grouped.size().to_numpy()
    hit = grouped.sum().to_numpy()
    # Compare integer counts against ceil(share * size) so 0.8 * 5 == 4 is exact.
    need = np.ceil(min_share * size - 1e-9)
    recalled = int(np.count_nonzero(hit >= need))
    return recalled / len(size), recalled, len(size)


def _cluster_codes(cluster_id: np.ndarray) -> np.ndarray:
    """Dense codes for cluster ids, giving each ``-1`` its own singleton code."""
    cluster_id = np.asarray(cluster_id, dtype=np.int64)
    codes = np.empty(len(cluster_id), dtype=np.int64)
    none = cluster_id == -1
    _, inv = np.unique(cluster_id[~none], return_inverse=True)
    codes[~none] = inv
    start = int(inv.max()) + 1 if inv.size else 0
    codes[none] = np.arange(start, start + int(none.sum()))
    return codes


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
    assignments : pandas.DataFrame, pyarrow.Table or path
        Columns ``account_id`` (str), ``cluster_id`` (int, ``-1`` = none) and
        ``flagged`` (bool), one row per account; e.g. ``detect(...).assignments``.
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


# ------------------------------------------------------------------------ replay


def _utc(values: pd.Series) -> pd.Series:
    out = pd.to_datetime(values)
    if out.dt.tz is None:
        return out.dt.tz_localize("UTC")
    return out.dt.tz_convert("UTC")


def _read_first_flagged(first_flagged: TableLike | Mapping[str, Any] | pd.Series) -> pd.DataFrame:
    if isinstance(first_flagged, pd.Series):
        ff = pd.DataFrame({"account_id": first_flagged.index, "first_flagged": first_flagged.to_numpy()})
    elif isinstance(first_flagged, Mapping):
        ff = pd.DataFrame(
            {"account_id": list(first_flagged.keys()), "first_flagged": list(first_flagged.values())}
        )
    else:
        ff = _frame(first_flagged, ["account_id", "first_flagged"], name="first_flagged")
    ff["account_id"] = ff["account_id"].astype(str)
    _check_unique(ff["account_id"], name="first_flagged")
    ff["first_flagged"] = _utc(ff["first_flagged"])
    return ff


def exchanges_before_first_flag(
    events: TableLike,
    labels: TableLike,
    first_flagged: TableLike | Mapping[str, Any] | pd.Series,
) -> pd.DataFrame:
    """Per ring, the share of its exchanges served before the ring was first flagged.

    Parameters
    ----------
    events : table-like
        The replayed event log; only ``account_id`` and ``timestamp`` are read.
        Each row is one exchange (one prompt and its response).
    labels : table-like
        Columns ``account_id``, ``ring_id`` and ``kind``.
    first_flagged : table-like, Mapping or pandas.Series
        Per account, the time it was first flagged during the replay: a table
        with columns ``account_id`` and ``first_flagged`` (timestamp, null =
        never flagged), a ``{account_id: time}`` mapping or a Series indexed by
        ``account_id``. Accounts not listed were never flagged. Naive times are
        taken as UTC.

    Returns
    -------
    pandas.DataFrame
        One row per ring, sorted by ``ring_id``, with columns ``ring_id``,
        ``n_accounts``, ``n_exchanges``, ``ring_start`` (first exchange of any
        ring account), ``first_flagged`` (NaT if never), ``time_to_first_flag``
        (``first_flagged - ring_start``, NaT if never), ``exchanges_before_flag``
        and ``share_before_flag``.

    Notes
    -----
    Definition: a ring is *first flagged* at the earliest ``first_flagged`` time
    of any of its accounts - the moment an operator could act on the whole
    ring. An exchange counts as *before* the flag when its timestamp is at or
    before that moment (``<=``): in a replay the flag at time ``t`` is raised
    after seeing the exchanges up to ``t``, so those were already served. A
    ring never flagged has ``share_before_flag = 1.0``; a ring with no
    exchanges in ``events`` has ``nan``. ``time_to_first_flag`` is negative when
    the ring was flagged before its first exchange (e.g. from account
    metadata alone). Cost: one filter and join of the events
    on ``account_id`` and a group-by; O(events) time and memory for two columns.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"account_id": ["a", "a", "b", "b"],
    ...                    "timestamp": pd.to_datetime(["2026-01-01 00:00", "2026-01-01 01:00",
    ...                                                 "2026-01-01 02:00", "2026-01-01 03:00"], utc=True)})
    >>> lab = pd.DataFrame({"account_id": ["a", "b"], "ring_id": ["r", "r"], "kind": ["ring", "ring"]})
    >>> out = exchanges_before_first_flag(ev, lab, {"b": pd.Timestamp("2026-01-01 02:00", tz="UTC")})
    >>> row = out.iloc[0]
    >>> int(row.n_exchanges), int(row.exchanges_before_flag), float(row.share_before_flag)
    (4, 3, 0.75)
    >>> str(out.loc[0, "time_to_first_flag"])
    '0 days 02:00:00'
    """
    lab = _read_labels(labels)
    ring = lab.loc[lab["kind"] == "ring", ["account_id", "ring_id"]].copy()
    ring["ring_id"] = ring["ring_id"].astype(str)
    ring_ids = np.sort(ring["ring_id"].unique())
    ev = _frame(events, ["account_id", "timestamp"], name="events")
    ev["account_id"] = ev["account_id"].astype(str)
    ev = ev.merge(ring, on="account_id", how="inner", sort=False)
    n_bad = int(ev["timestamp"].isna().sum())
    if n_bad:
        logger.warning("%d ring event(s) with a null timestamp ignored", n_bad)
        ev = ev.loc[ev["timestamp"].notna()]
    ev["timestamp"] = _utc(ev["timestamp"])

    ff = _read_first_flagged(first_flagged).merge(ring, on="account_id", how="inner")
    ring_flag = ff.groupby("ring_id", sort=False)["first_flagged"].min()

    def lookup(keys: pd.Series, table: pd.Series) -> pd.Series:
        # reindex, not Series.map: map with an empty datetime Series fails in pandas 3.
        return pd.Series(table.reindex(keys.to_numpy()).to_numpy(), index=keys.index)

    out = pd.DataFrame({"ring_id": ring_ids})
    out["n_accounts"] = lookup(out["ring_id"], ring.groupby("ring_id").size()).astype(np.int64)
    out["ring_start"] = _utc(lookup(out["ring_id"], ev.groupby("ring_id")["timestamp"].min()))
    out["first_flagged"] = _utc(lookup(out["ring_id"], ring_flag))
    out["time_to_first_flag"] = out["first_flagged"] - out["ring_start"]

    ev["flag_at"] = _utc(lookup(ev["ring_id"], ring_flag))
    # Unflagged rings have flag_at = NaT, and NaT comparisons are False: use isna.
    ev["before"] = ev["flag_at"].isna() | (ev["timestamp"] <= ev["flag_at"])
    grouped = ev.groupby("ring_id")["before"]
    out["n_exchanges"] = lookup(out["ring_id"], grouped.size()).fillna(0).astype(np.int64)
    out["exchanges_before_flag"] = lookup(out["ring_id"], grouped.sum()).fillna(0).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = out["exchanges_before_flag"].to_numpy() / out["n_exchanges"].to_numpy()
    out["share_before_flag"] = np.where(out["n_exchanges"].to_numpy() > 0, share, np.nan)
    return out[
        [
            "ring_id",
            "n_accounts",
            "n_exchanges",
            "ring_start",
            "first_flagged",
            "time_to_first_flag",
            "exchanges_before_flag",
            "share_before_flag",
        ]
    ].reset_index(drop=True)
