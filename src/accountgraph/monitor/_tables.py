"""User-facing tables of the state: the rings, ranked, and one row per account."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from ._rings import LEAD
from ._state import NO_TS, State
from .._unique import lexsort

__all__ = ["assignments_frame", "ring_ranks", "rings_frame", "timestamps"]

_BOOK = ("scored_seq", "scored_accounts", "scored_events", "moved_since_scored")


def timestamps(us: np.ndarray) -> np.ndarray:
    """UTC timestamps of microsecond values (NaT where unknown)."""
    v = np.asarray(us, np.int64)
    return pd.to_datetime(np.where(v == NO_TS, np.iinfo(np.int64).min, v), unit="us", utc=True).to_numpy()


def rings_frame(state: State) -> pd.DataFrame:
    """The live rings, ranked by ring score (descending), size (descending), ring id."""
    t = state.rings
    if t.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in LEAD})
    out = t.drop(columns=[c for c in _BOOK if c in t.columns])
    out["first_seen"] = timestamps(t["first_seen"].to_numpy())
    out["first_flagged_at"] = timestamps(t["first_flagged_at"].to_numpy())
    order = lexsort((t["ring_id"].to_numpy(), -t["n_accounts"].to_numpy(), -t["ring_score"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def ring_ranks(state: State) -> np.ndarray:
    """Rank (the ``cluster_id`` of this update) of every ring id; -1 for ids not in use, and at the end."""
    rank = np.full(state.next_ring_id + 1, -1, np.int64)
    if len(state.rings):
        r = rings_frame(state)
        rank[r["ring_id"].to_numpy(np.int64)] = np.arange(len(r))
    return rank


def assignments_frame(state: State, rank: np.ndarray) -> pd.DataFrame:
    """One row per account, sorted by id: ``account_id``, ``cluster_id``, ``ring_id``, scores, ``flagged``."""
    ids = state.account_ids()
    order = np.asarray(pc.array_sort_indices(ids).to_numpy(), np.int64)
    ring = state.ring[order]
    score = np.zeros(state.next_ring_id + 1)
    if len(state.rings):
        score[state.rings["ring_id"].to_numpy()] = state.rings["ring_score"].to_numpy()
    idx = np.where(ring >= 0, ring, state.next_ring_id)
    out = pd.DataFrame({
        "account_id": pd.Series(np.asarray(ids.take(order).to_numpy(zero_copy_only=False), dtype=object), dtype=object),
        "cluster_id": rank[idx], "ring_id": ring, "ring_score": score[idx],
        "member_score": state.member[order], "flagged": state.flagged[order]})
    if state.known_bad.any():
        out["known_bad"] = state.known_bad[order]
    return out
