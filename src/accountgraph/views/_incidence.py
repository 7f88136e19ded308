"""The (cluster, signal, account) incidences behind ``cluster_signals``, compact until read.

Every cluster's accounts holding each signal it shares: at seed scale about 45M rows. As a
table with a text account id per row that is over 2 GiB, and building it was the highest point
of ``detect``'s views stage. It is kept as four int32 columns (0.7 GiB) and the account ids
once: the result builds the table the first time ``_incidence`` is read (a
:class:`~._deferred.Deferred` over :class:`IncidenceRows`), and the per-cluster readers
(dossiers, indicators, the bipartite exports of one cluster) take one cluster's rows with
:func:`cluster_incidence` without building the rest.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ._deferred import Deferred
from ._strings import string_column

__all__ = ["INCIDENCE_COLUMNS", "IncidenceRows", "cluster_incidence"]

INCIDENCE_COLUMNS = ["cluster_id", "signal_id", "account_id", "n_events"]


def _narrow(x: np.ndarray) -> np.ndarray:
    """``x`` as int32 when its values fit (codes and counts: they do at any size seen so far)."""
    if x.dtype == np.int32 or (len(x) and (int(x.min()) < -(2**31) or int(x.max()) >= 2**31)):
        return x
    return x.astype(np.int32)


class IncidenceRows:
    """Incidence rows as compact columns; called, the table (columns :data:`INCIDENCE_COLUMNS`).

    Parameters
    ----------
    cluster, signal, account, n_events : ndarray of int, shape (n,)
        Final cluster id, signal id, account code (into ``account_ids``) and events behind
        each row, in the table's row order.
    account_ids : pyarrow.Array
        The account ids by code.
    """

    __slots__ = ("_cluster", "_signal", "_account", "_n_events", "_ids")

    def __init__(self, cluster: np.ndarray, signal: np.ndarray, account: np.ndarray, n_events: np.ndarray,
                 account_ids: pa.Array) -> None:
        self._cluster, self._signal = _narrow(cluster), _narrow(signal)
        self._account, self._n_events = _narrow(account), _narrow(n_events)
        self._ids = account_ids

    def __len__(self) -> int:
        return len(self._cluster)

    def __call__(self) -> pd.DataFrame:
        return self.frame()

    def frame(self, cluster_id: int | None = None) -> pd.DataFrame:
        """The table, or the rows of one cluster (in table order; index from 0)."""
        rows: Any = slice(None) if cluster_id is None else np.flatnonzero(self._cluster == cluster_id)
        acc = self._account[rows]
        return pd.DataFrame({
            "cluster_id": self._cluster[rows].astype(np.int64),
            "signal_id": self._signal[rows].astype(np.int64),
            "account_id": string_column(self._ids, acc),
            "n_events": self._n_events[rows].astype(np.int64),
        }, copy=False)  # fresh columns, not copied into one block


def cluster_incidence(result: Any, cluster_id: int) -> pd.DataFrame:
    """The incidence rows of one cluster of ``result``, without building the whole table if it is not built.

    The same rows, columns and order as filtering ``result._incidence`` on ``cluster_id``
    (the index may differ).
    """
    try:
        raw = object.__getattribute__(result, "_incidence")
    except AttributeError:
        raw = result._incidence
    if isinstance(raw, Deferred) and isinstance(raw.source, IncidenceRows):
        return raw.source.frame(cluster_id)
    inc = result._incidence
    if not len(inc):
        return pd.DataFrame(columns=INCIDENCE_COLUMNS)
    return inc.loc[inc["cluster_id"] == cluster_id]
