"""Replay metric: how much of each ring's traffic was served before the ring was first flagged."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..ingest import TableLike
from ._input import _check_unique, _frame, _read_labels

__all__ = ["exchanges_before_first_flag"]

logger = logging.getLogger(__name__)


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


def _lookup(keys: pd.Series, table: pd.Series) -> pd.Series:
    """``table[key]`` for each key (NaN/NaT where missing), indexed like ``keys``."""
    # reindex, not Series.map: map with an empty datetime Series fails in pandas 3.
    return pd.Series(table.reindex(keys.to_numpy()).to_numpy(), index=keys.index)


def _ring_events(events: TableLike, ring: pd.DataFrame) -> pd.DataFrame:
    """The events of ring accounts with their ``ring_id``, timestamps in UTC (null ones dropped, with a warning)."""
    ev = _frame(events, ["account_id", "timestamp"], name="events")
    ev["account_id"] = ev["account_id"].astype(str)
    ev = ev.merge(ring, on="account_id", how="inner", sort=False)
    n_bad = int(ev["timestamp"].isna().sum())
    if n_bad:
        logger.warning("%d ring event(s) with a null timestamp ignored", n_bad)
        ev = ev.loc[ev["timestamp"].notna()]
    ev["timestamp"] = _utc(ev["timestamp"])
    return ev


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
    ev = _ring_events(events, ring)
    ff = _read_first_flagged(first_flagged).merge(ring, on="account_id", how="inner")
    ring_flag = ff.groupby("ring_id", sort=False)["first_flagged"].min()

    out = _per_ring(ring, ring_ids, ev, ring_flag)
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


def _per_ring(ring: pd.DataFrame, ring_ids: np.ndarray, ev: pd.DataFrame, ring_flag: pd.Series) -> pd.DataFrame:
    """The per-ring columns of :func:`exchanges_before_first_flag` (``ev`` gains ``flag_at`` and ``before``)."""
    out = pd.DataFrame({"ring_id": ring_ids})
    out["n_accounts"] = _lookup(out["ring_id"], ring.groupby("ring_id").size()).astype(np.int64)
    out["ring_start"] = _utc(_lookup(out["ring_id"], ev.groupby("ring_id")["timestamp"].min()))
    out["first_flagged"] = _utc(_lookup(out["ring_id"], ring_flag))
    out["time_to_first_flag"] = out["first_flagged"] - out["ring_start"]

    ev["flag_at"] = _utc(_lookup(ev["ring_id"], ring_flag))
    # Unflagged rings have flag_at = NaT, and NaT comparisons are False: use isna.
    ev["before"] = ev["flag_at"].isna() | (ev["timestamp"] <= ev["flag_at"])
    grouped = ev.groupby("ring_id")["before"]
    out["n_exchanges"] = _lookup(out["ring_id"], grouped.size()).fillna(0).astype(np.int64)
    out["exchanges_before_flag"] = _lookup(out["ring_id"], grouped.sum()).fillna(0).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = out["exchanges_before_flag"].to_numpy() / out["n_exchanges"].to_numpy()
    out["share_before_flag"] = np.where(out["n_exchanges"].to_numpy() > 0, share, np.nan)
    return out
