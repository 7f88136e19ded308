"""Recalibrating the flag threshold on a user's own labelled accounts.

A threshold chosen on synthetic worlds is a starting point; a trust-and-safety
team knows some rings and some honest accounts of its own.
:func:`calibrate_threshold` picks the lowest ``ring_score`` threshold whose
false-positive rate on the labelled benign accounts stays at or below a target,
and reports the precision and recall reached on the labels.
:meth:`accountgraph.RingDetector.calibrate` wraps it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._exceptions import InvalidParameterError, SchemaError

__all__ = ["Calibration", "calibrate_threshold", "read_binary_labels"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Calibration:
    """Outcome of :meth:`RingDetector.calibrate`.

    Attributes
    ----------
    detector : RingDetector
        A copy of the detector with the calibrated ``threshold`` (not fitted).
    threshold : float
        Clusters with ``ring_score`` above it are flagged.
    target_fpr : float
        The benign false-positive rate asked for.
    fpr : float
        The benign false-positive rate reached on the labels (``<= target_fpr``).
    precision, recall, f1 : float
        Reached on the labelled accounts (``nan`` when undefined).
    n_positive, n_negative : int
        Labelled ring and benign accounts.
    n_unmatched : int
        Labelled accounts absent from the detection's assignments (counted as
        not flagged).
    previous_threshold : float
        The detector's threshold before calibration.
    """

    detector: Any  # a RingDetector (not imported here: _detector imports this module)
    threshold: float
    target_fpr: float
    fpr: float
    precision: float
    recall: float
    f1: float
    n_positive: int
    n_negative: int
    n_unmatched: int
    previous_threshold: float

    def to_dict(self) -> dict[str, Any]:
        """Every field except the detector, as plain Python values."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "detector"}


def read_binary_labels(labels: Any) -> pd.Series:
    """Labels as a boolean Series indexed by account id (True = ring member).

    Accepts a mapping or Series ``account_id -> bool``, or a table (pandas,
    pyarrow) with ``account_id`` and either a boolean ``is_ring`` column or a
    ``kind`` column (``"ring"`` positive, anything else benign, as in
    :mod:`accountgraph.synth` labels).
    """
    if isinstance(labels, Mapping):
        labels = pd.Series(dict(labels))
    if isinstance(labels, pd.Series):
        ser = labels.copy()
        ser.index = ser.index.astype(str)
    else:
        if hasattr(labels, "to_pandas") and not isinstance(labels, pd.DataFrame):
            labels = labels.to_pandas()
        if not isinstance(labels, pd.DataFrame):
            raise SchemaError(
                f"labels must be a table with 'account_id' and 'is_ring' or 'kind', or a mapping "
                f"account_id -> bool; got {type(labels).__name__}."
            )
        if "account_id" not in labels.columns:
            raise SchemaError(f"labels: no 'account_id' column (columns: {list(labels.columns)}).")
        if "is_ring" in labels.columns:
            values = labels["is_ring"]
        elif "kind" in labels.columns:
            values = labels["kind"].astype(object).eq("ring")
        else:
            raise SchemaError(
                f"labels: need an 'is_ring' (bool) or 'kind' column beside 'account_id'; "
                f"columns are {list(labels.columns)}."
            )
        ser = pd.Series(values.to_numpy(), index=labels["account_id"].astype(str).to_numpy())
    if ser.isna().any():
        raise SchemaError(f"labels: {int(ser.isna().sum())} null label(s), e.g. for {ser.index[ser.isna()][:3].tolist()}; "
                          "drop the unlabelled accounts.")
    if ser.index.duplicated().any():
        raise SchemaError(f"labels: duplicated account ids, e.g. {ser.index[ser.index.duplicated()][:3].tolist()}.")
    if ser.dtype != bool:
        if not set(pd.unique(ser)) <= {True, False, 0, 1}:
            raise SchemaError(f"labels: values must be booleans; got e.g. {pd.unique(ser)[:5].tolist()}.")
        ser = ser.astype(bool)
    return ser


def calibrate_threshold(scores: np.ndarray, positive: np.ndarray, target_fpr: float) -> float:
    """Threshold flagging as many accounts as allowed by ``target_fpr`` on the benign ones.

    Let ``b`` be the highest benign score that must stay unflagged (at most
    ``floor(target_fpr * n_benign)`` benign accounts score above it). Every
    threshold in ``[b, s)``, with ``s`` the lowest labelled score above ``b``,
    flags the same labelled accounts; the midpoint is returned, so the margin
    to both sides is as wide as the labels allow (``b`` itself if no labelled
    score is above it).
    """
    if not 0 <= target_fpr < 1:
        raise InvalidParameterError(f"target_fpr must be in [0, 1); got {target_fpr!r}.")
    benign = np.sort(np.asarray(scores, float)[~positive])[::-1]
    if not len(benign):
        raise InvalidParameterError("calibrate needs at least one benign labelled account to bound the false-positive rate.")
    allowed = int(math.floor(target_fpr * len(benign) + 1e-9))
    if allowed >= len(benign):
        return 0.0
    bound = float(max(benign[allowed], 0.0))
    above = np.asarray(scores, float)[np.asarray(scores, float) > bound]
    return (bound + float(above.min())) / 2 if len(above) else bound


def calibrate(detector: Any, labels: Any, target_fpr: float) -> Calibration:
    """Body of :meth:`RingDetector.calibrate` (the detector must be fitted)."""
    if isinstance(target_fpr, bool) or not isinstance(target_fpr, (int, float)):
        raise InvalidParameterError(f"target_fpr must be a float in [0, 1); got {target_fpr!r}.")
    lab = read_binary_labels(labels)
    asg = detector.result_.assignments
    # An account below the membership gate is not flagged whatever its cluster's score.
    gate = float(detector.result_.params["scoring"].min_member_score) if "scoring" in detector.result_.params else 0.0
    eff = np.where(asg["member_score"].to_numpy(float) >= gate, asg["ring_score"].to_numpy(float), 0.0) \
        if "member_score" in asg else asg["ring_score"].to_numpy(float)
    score = pd.Series(eff, index=asg["account_id"].astype(str).to_numpy())
    matched = lab.index.isin(score.index)
    n_unmatched = int((~matched).sum())
    if n_unmatched:
        logger.warning("calibrate: %d labelled account(s) are not in the assignments; counted as not flagged.", n_unmatched)
    s = np.where(matched, score.reindex(lab.index).to_numpy(), 0.0)
    s = np.nan_to_num(s, nan=0.0)
    pos = lab.to_numpy(bool)
    t = calibrate_threshold(s, pos, float(target_fpr))
    flagged = s > t
    tp, fp = int((flagged & pos).sum()), int((flagged & ~pos).sum())
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / n_pos if n_pos else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if tp else (0.0 if n_pos else float("nan"))
    new = type(detector)(**detector.get_params(deep=False))
    new.set_params(threshold=t)
    return Calibration(detector=new, threshold=t, target_fpr=float(target_fpr), fpr=fp / n_neg, precision=precision,
                       recall=recall, f1=f1, n_positive=n_pos, n_negative=n_neg, n_unmatched=n_unmatched,
                       previous_threshold=float(detector.result_.params.get("threshold", detector.effective_threshold())))
