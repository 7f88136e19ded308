"""Exact duplicate event rows: identical on every input column to an earlier row."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._columns import take_rows
from ._lazy import LazyColumn
from .._unique import lexsort

__all__ = ["duplicate_rows"]


def _group_ids(table: pa.Table) -> np.ndarray:
    """Per row, the id of its group of rows equal on every column (nulls equal nulls)."""
    n = table.num_rows
    cols = {}
    for c, col in zip(table.column_names, table.columns):
        t = col.type
        if pa.types.is_dictionary(t):
            col = col.cast(t.value_type)
            t = col.type
        if pa.types.is_nested(t):  # not hashable by Arrow; rare in event logs
            col = pa.chunked_array([pa.array([None if v is None else str(v) for v in col.to_pylist()],
                                             pa.large_string())])
        cols[f"k{len(cols)}"] = col
    cols["__i"] = pa.chunked_array([pa.array(np.arange(n, dtype=np.int64))])
    t = pa.table(cols)
    g = t.group_by([c for c in t.column_names if c != "__i"], use_threads=False).aggregate([("__i", "list")])
    lists = g["__i_list"].combine_chunks()
    rows = np.asarray(pc.list_flatten(lists).to_numpy(), np.int64)
    gid = np.empty(n, np.int64)
    gid[rows] = np.asarray(pc.list_parent_indices(lists).to_numpy(), np.int64)
    return gid


def _later_copies(gid: np.ndarray) -> np.ndarray:
    """True for every row whose group already appeared at a smaller row index."""
    order = lexsort((np.arange(len(gid)), gid))
    g = gid[order]
    later = np.zeros(len(gid), bool)
    later[order[1:]] = g[1:] == g[:-1]
    return later


def _same_timestamp_rows(keep: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Sorted indices of kept rows sharing their timestamp with another kept row."""
    idx = np.flatnonzero(keep)
    kts = ts[idx]
    order = np.argsort(kts, kind="stable")
    same = kts[order][1:] == kts[order][:-1]
    cand = np.zeros(len(idx), bool)
    cand[1:] |= same
    cand[:-1] |= same
    return np.sort(idx[order[cand]])


def _refine_by_lazy_column(gid: np.ndarray, rows: np.ndarray, lc: LazyColumn) -> np.ndarray:
    """Split the groups ``gid`` of input rows ``rows`` further by the text of a column on disk.

    Only rows whose group has another member are read from the file (one scan).
    """
    size = np.bincount(gid)
    shared = size[gid] >= 2
    if not shared.any():
        return gid
    file_rows = rows[shared]
    want = np.zeros(len(lc), bool)
    want[file_rows] = True
    got_idx, got = [], []
    for i, arr in lc.iter_arrays(want, 65_536):
        got_idx.append(i)
        got.append(arr)
    pos = np.searchsorted(file_rows, np.concatenate(got_idx))
    texts = pa.chunked_array(got)  # not combined: prompts read from disk may exceed 2 GiB
    sub = _group_ids(pa.table({"g": gid[shared][pos], "p": texts}))
    g2 = np.empty(int(shared.sum()), np.int64)
    g2[pos] = sub
    gid = gid.copy()
    gid[shared] = int(gid.max()) + 1 + g2
    return gid


def duplicate_rows(raw: pa.Table, keep: np.ndarray, ts: np.ndarray,
                   lazy: tuple[str, LazyColumn] | None = None, candidates: np.ndarray | None = None) -> np.ndarray:
    """Kept rows identical on every input column to an earlier kept row.

    Only rows sharing their timestamp with another kept row can be copies, so
    those few are compared in full (Arrow hash group-by); a prompt column left
    on disk is read for the rows still equal on everything else. O(n log n)
    for the timestamp sort; the full comparison costs O(candidates).
    ``candidates`` (sorted kept rows) replaces the timestamp test when the
    caller has already narrowed the rows that can be copies.
    """
    dup = np.zeros(len(keep), bool)
    if int(keep.sum()) < 2:
        return dup
    rows = _same_timestamp_rows(keep, ts) if candidates is None else candidates
    if not len(rows):
        return dup
    gid = _group_ids(take_rows(raw, rows))
    if lazy is not None:
        gid = _refine_by_lazy_column(gid, rows, lazy[1])
    dup[rows[_later_copies(gid)]] = True
    return dup
