"""Known-bad seeds: accounts confirmed by analysts raise the evidence of the clusters they are in.

An analyst's ban or a chargeback is evidence the graph cannot see. Given such
accounts (``known_bad=``), every cluster holding some gets an extra
contribution to its ring score, ``contrib_known_bad``, so it is ranked higher,
flagged sooner and reported with its seeds (``n_known_bad``): *seeded
expansion*. Nothing else changes: the clusters themselves come from the shared
signals alone, so a stranger who merely shares a hub signal (a carrier NAT, a
popular fingerprint) with a seed is in no cluster with it and is never flagged
through it, and a seed in no cluster flags nobody.

The contribution of a cluster with ``n`` accounts of which ``k`` are seeds is

.. math:: c = w \\cdot \\min(1, k / \\max(1, s \\cdot n)) \\cdot (1 - r),

with ``r`` its ring score, ``w`` = :data:`KNOWN_BAD_WEIGHT` and ``s`` =
:data:`KNOWN_BAD_SHARE`: one seed among up to 10 accounts (10 %) gives the full
weight, which lifts any cluster past the default threshold (0.45); one banned
employee in an enterprise of 3,000 lifts its cluster by less than 0.01. Used by
:func:`accountgraph.detect` and :class:`accountgraph.Monitor`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._exceptions import InvalidParameterError

__all__ = ["KNOWN_BAD_SHARE", "KNOWN_BAD_WEIGHT", "apply_known_bad", "known_bad_ids", "seed_mask"]

#: Largest contribution seeds can add to a cluster's ring score (times ``1 - ring_score``).
KNOWN_BAD_WEIGHT = 0.5
#: Share of a cluster's accounts that must be seeds for the full contribution.
KNOWN_BAD_SHARE = 0.1


def known_bad_ids(known_bad: Any, owner: str = "detect") -> np.ndarray:
    """The distinct seed account ids, sorted, as an object array of str.

    Parameters
    ----------
    known_bad : iterable of str, pandas Series/Index, pyarrow array, a table with an ``account_id`` column, or a mapping ``account_id -> bool`` (true ones are seeds)
    owner : str
        Name used in error messages.

    Raises
    ------
    InvalidParameterError
        For any other type, or ids that are not strings.

    Examples
    --------
    >>> known_bad_ids(["b", "a", "b"]).tolist()
    ['a', 'b']
    """
    if known_bad is None:
        return np.zeros(0, dtype=object)
    if isinstance(known_bad, pa.Table):
        known_bad = known_bad.to_pandas()
    if isinstance(known_bad, pd.DataFrame):
        if "account_id" not in known_bad.columns:
            raise InvalidParameterError(
                f"The 'known_bad' parameter of {owner} is a table without an 'account_id' column "
                f"(columns: {list(known_bad.columns)}); pass a table with 'account_id' or a list of ids.")
        known_bad = known_bad["account_id"]
    if isinstance(known_bad, Mapping):
        known_bad = [k for k, v in known_bad.items() if v]
    if isinstance(known_bad, (pa.Array, pa.ChunkedArray)):
        known_bad = known_bad.to_pylist()
    if isinstance(known_bad, (str, bytes)) or not isinstance(known_bad, Iterable):
        raise InvalidParameterError(
            f"The 'known_bad' parameter of {owner} must be a collection of account ids (list, set, Series, "
            f"array, or a table with an 'account_id' column). Got {type(known_bad).__name__} {known_bad!r:.80} instead.")
    ids = [v for v in known_bad if v is not None and not (isinstance(v, float) and np.isnan(v))]
    bad = [v for v in ids if not isinstance(v, str)]
    if bad:
        raise InvalidParameterError(
            f"The 'known_bad' parameter of {owner} must hold account ids as str. Got {bad[:3]!r}; convert them "
            "with str() as in the events table.")
    return np.array(sorted({v.strip() for v in ids} - {""}), dtype=object)


def seed_mask(account_ids: pa.Array | pa.ChunkedArray, seeds: np.ndarray) -> np.ndarray:
    """Boolean per account: is its id among ``seeds``."""
    if not len(seeds):
        return np.zeros(len(account_ids), bool)
    hit = pc.is_in(account_ids, value_set=pa.array(seeds, pa.large_string()).cast(account_ids.type))
    return np.asarray(hit.to_numpy(zero_copy_only=False), bool)


def apply_known_bad(feats: pd.DataFrame, acc_cluster: np.ndarray, is_seed: np.ndarray, *,
                    weight: float = KNOWN_BAD_WEIGHT, share: float = KNOWN_BAD_SHARE) -> pd.DataFrame:
    """``feats`` with ``n_known_bad`` and ``contrib_known_bad`` columns and the raised ``ring_score``.

    Parameters
    ----------
    feats : pandas.DataFrame
        One row per cluster index (as :func:`accountgraph.scoring.score_clusters` returns),
        with ``n_accounts`` and ``ring_score``.
    acc_cluster : ndarray of int64, shape (n_accounts,)
        Cluster index per account (-1: none).
    is_seed : ndarray of bool, shape (n_accounts,)
    weight, share : float
        See the module docstring.

    Returns
    -------
    pandas.DataFrame
        A copy; the contributions still sum to ``ring_score``.

    Examples
    --------
    >>> f = pd.DataFrame({"n_accounts": [10, 4000], "ring_score": [0.1, 0.1]})
    >>> out = apply_known_bad(f, np.array([0, 0, 1, 1]), np.array([True, False, True, False]))
    >>> out["ring_score"].round(3).tolist(), out["n_known_bad"].tolist()
    ([0.55, 0.101], [1, 1])
    """
    k = len(feats)
    m = is_seed & (acc_cluster >= 0)
    n_seed = np.bincount(acc_cluster[m], minlength=k).astype(np.int64)[:k]
    n_acc = feats["n_accounts"].to_numpy(dtype=np.float64)
    strength = np.clip(n_seed / np.maximum(1.0, share * n_acc), 0.0, 1.0)
    base = feats["ring_score"].to_numpy(dtype=np.float64)
    contrib = weight * strength * (1.0 - base)
    out = feats.copy()
    out["n_known_bad"] = n_seed
    pos = out.columns.get_loc("ring_score")
    out.insert(pos, "contrib_known_bad", contrib)
    out["ring_score"] = np.clip(base + contrib, 0.0, 1.0)
    return out
