"""Reading and joining the assignments, labels and replay tables; the vectorised counting helpers."""

from __future__ import annotations

import logging
import math
import os
from typing import Final

import numpy as np
import pandas as pd

from .._exceptions import InvalidParameterError, SchemaError
from ..ingest import TableLike, to_arrow

__all__ = ["KINDS"]

logger = logging.getLogger(__name__)

#: The account kinds a ``labels`` table may contain; ``"ring"`` is the positive class.
KINDS: Final[tuple[str, ...]] = ("legit", "enterprise", "automation", "ring")
_NEGATIVE_KINDS: Final[tuple[str, ...]] = ("legit", "enterprise", "automation")


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
    if not isinstance(assignments, (str, os.PathLike, pd.DataFrame)):
        inner = getattr(assignments, "assignments", None)  # a DetectionResult or a MonitorUpdate
        if isinstance(inner, pd.DataFrame):
            assignments = inner
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
