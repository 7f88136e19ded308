"""The rings table: one row per live ring, its status in this update, score, flags and history."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._state import NO_TS, State

__all__ = ["LEAD", "refresh_rings", "ring_sizes", "update_flags"]

#: Leading columns of the rings table; the scorer's features follow.
LEAD = ["ring_id", "status", "first_seen", "first_flagged_at", "n_accounts", "n_events", "ring_score", "flagged"]
_BOOK = ["scored_seq", "scored_accounts", "scored_events", "moved_since_scored"]


def ring_sizes(state: State) -> np.ndarray:
    """Accounts per ring id (0 for ids no longer in use)."""
    r = state.ring[state.ring >= 0]
    return np.bincount(r, minlength=state.next_ring_id).astype(np.int64)


def _statuses(state: State, ids: np.ndarray, status: dict[int, str], before: np.ndarray, size: np.ndarray,
              active_ring: np.ndarray) -> list[str]:
    out = []
    for r in ids.tolist():
        s = status.get(r)
        if s in ("new", "merged", "split"):
            out.append(s)
        elif r < len(before) and size[r] > before[r]:
            out.append("grown")
        elif r < len(before) and size[r] < before[r]:
            out.append("shrunk")
        else:
            out.append("unchanged" if active_ring[r] else "dormant")
    return out


def refresh_rings(state: State, threshold: float, feats: pd.DataFrame, scored: np.ndarray,
                  status: dict[int, str], before: np.ndarray, ev_count: np.ndarray, active: np.ndarray,
                  moved: dict[int, int] | None = None) -> None:
    """Rebuild ``state.rings`` for the live rings after an update.

    ``feats`` holds the scorer's output for the ``scored`` rings (row ``i`` is
    ``scored[i]``); the other live rings keep their last features. ``before``
    is the accounts per ring id before the update; ``moved`` the accounts that
    joined or left each ring in it (kept as a running sum until the ring is scored).
    """
    size = ring_sizes(state)
    live = np.flatnonzero(size > 0)
    old = state.rings.set_index("ring_id") if not state.rings.empty else pd.DataFrame()
    new_rows = feats.copy()
    new_rows.index = pd.Index(scored, name="ring_id")
    derived = ["status", "first_seen", "first_flagged_at", "flagged"] + _BOOK
    keep_old = (old.loc[old.index.isin(live) & ~old.index.isin(scored)].drop(columns=derived, errors="ignore")
                if len(old) else old)  # a column kept since a later version may be absent
    parts = [p for p in (keep_old, new_rows) if len(p)]
    table = pd.concat(parts) if parts else pd.DataFrame({"ring_score": pd.Series([], dtype=np.float64)})
    table = table.reindex(live)
    hist = old.reindex(live) if len(old) else pd.DataFrame(index=live)
    for col, fill in (("first_seen", state.now_us), ("first_flagged_at", NO_TS), ("scored_seq", state.seq),
                      ("scored_accounts", 0), ("scored_events", 0), ("moved_since_scored", 0)):
        vals = hist[col].to_numpy() if col in hist else np.full(len(live), fill)
        table[col] = np.where(pd.isna(vals), fill, vals).astype(np.int64)
    is_scored = np.isin(live, scored)
    table.loc[is_scored, "scored_seq"] = state.seq
    table.loc[is_scored, "scored_accounts"] = size[live[is_scored]]
    table.loc[is_scored, "scored_events"] = ev_count[live[is_scored]]
    mv = np.array([(moved or {}).get(r, 0) for r in live.tolist()], np.int64)
    table["moved_since_scored"] = np.where(is_scored, 0, table["moved_since_scored"].to_numpy() + mv)
    table["n_accounts"] = size[live]
    table["n_events"] = ev_count[live]
    table["flagged"] = table["ring_score"].to_numpy(dtype=np.float64) > threshold
    fl = table["flagged"].to_numpy(bool)
    ff = table["first_flagged_at"].to_numpy()
    table["first_flagged_at"] = np.where(fl & (ff == NO_TS), state.now_us, ff)
    act = np.zeros(state.next_ring_id, bool)
    ra = state.ring[active]
    act[ra[ra >= 0]] = True
    table["status"] = _statuses(state, live, status, before, size, act)
    table = table.reset_index().rename(columns={"index": "ring_id"})
    rest = [c for c in table.columns if c not in LEAD and c not in _BOOK]
    state.rings = table[LEAD + rest + _BOOK].reset_index(drop=True)


def update_flags(state: State, min_member: float, member: np.ndarray, scored: np.ndarray) -> np.ndarray:
    """Account flags from their ring's flag and member score; returns the accounts newly flagged."""
    in_scored = np.isin(state.ring, scored) & (state.ring >= 0)
    state.member = np.where(in_scored, member, np.where(state.ring >= 0, state.member, 0.0))
    ring_flag = np.zeros(state.next_ring_id + 1, bool)
    t = state.rings
    ring_flag[t["ring_id"].to_numpy()] = t["flagged"].to_numpy(bool)
    now = ring_flag[np.where(state.ring >= 0, state.ring, state.next_ring_id)] & (state.member >= min_member)
    fresh = np.flatnonzero(now & ~state.flagged)
    state.flagged = now
    state.first_flagged[fresh[state.first_flagged[fresh] == NO_TS]] = state.now_us
    return fresh
