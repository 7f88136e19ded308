"""Rows left out of the analysis: counted by reason, and kept for :meth:`Quarantine.rows`.

Nothing disappears silently: every validator records each row it leaves out
through a :class:`_LeftOut` (one reason per row, the first that applies).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._columns import combine_chunks, take_rows
from ._lazy import LazyColumn
from ._utf8 import latin1_to_utf8

__all__ = ["Quarantine"]

logger = logging.getLogger(__name__)


@dataclass
class Quarantine:
    """Counts of rows left out of the analysis, by table and reason.

    Attributes
    ----------
    counts : dict of (str, str) -> int
        ``(table, reason) -> number of rows``.
    """

    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    _captured: list[tuple] = field(default_factory=list, repr=False, compare=False)
    _rows_cache: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def add(self, table: str, reason: str, n: int) -> None:
        """Count ``n`` rows of ``table`` left out for ``reason`` (no-op for 0)."""
        if n:
            key = (table, reason)
            self.counts[key] = self.counts.get(key, 0) + int(n)
            logger.warning("quarantined %d %s row(s): %s", n, table, reason)

    def capture(self, table: str, rows: pa.Table, index: np.ndarray, reasons: np.ndarray,
                lazy: tuple[str, LazyColumn] | None = None) -> None:
        """Keep the rows of ``table`` left out: ``rows`` (taken from the input, in its own
        column names), their input row numbers ``index`` and a ``reason`` each.

        ``lazy`` is ``(column, LazyColumn)`` for a column left on disk (prompts of a
        Parquet file); it is read only when :meth:`rows` is called.
        """
        self._captured.append((table, rows, np.asarray(index, np.int64), np.asarray(reasons, object), lazy))
        self._rows_cache = None

    def rows(self) -> pd.DataFrame:
        """The rows left out, one per quarantined input row.

        Returns
        -------
        pandas.DataFrame
            ``table`` (``"events"`` or ``"accounts"``), ``row`` (0-based row
            number in that input), ``reason``, then the input's own columns as
            strings (null where a table lacks the column; a name clashing with
            the first three gets an ``_input`` suffix). Sorted by table (events
            first) and row. Undecodable text is shown decoded as Latin-1, so the
            original bytes are ``value.encode("latin-1")``.

        Notes
        -----
        Built on demand from the rows taken at validation (memory proportional
        to the quarantined rows); prompts kept on disk are read in one scan.
        """
        if self._rows_cache is not None:
            return self._rows_cache.copy()
        frames = []
        for table, rows, index, reasons, lazy in self._captured:
            cols: dict[str, object] = {}
            for c in rows.column_names:
                cols[f"{c}_input" if c in ("table", "row", "reason") else c] = _text_column(rows[c])
            if lazy is not None and len(index):
                col, lc = lazy
                cols[f"{col}_input" if col in ("table", "row", "reason") else col] = lc.take(index)
            frames.append(pd.DataFrame({"table": table, "row": index, "reason": reasons,
                                        **{k: pd.Series(v, dtype=object) for k, v in cols.items()}}))
        if frames:
            out = pd.concat(frames, ignore_index=True)
        else:
            out = pd.DataFrame({"table": pd.Series(dtype=object), "row": pd.Series(dtype=np.int64),
                                "reason": pd.Series(dtype=object)})
        out["row"] = out["row"].astype(np.int64)
        out = out.astype({c: object for c in out.columns if c != "row"})
        out = out.where(out.notna(), None)
        self._rows_cache = out
        return out.copy()

    @property
    def total(self) -> int:
        """Total number of quarantined rows."""
        return sum(self.counts.values())

    def to_pandas(self) -> pd.DataFrame:
        """One row per (table, reason) with its count, sorted."""
        rows = sorted((t, r, n) for (t, r), n in self.counts.items())
        return pd.DataFrame(rows, columns=["table", "reason", "rows"]).astype(
            {"table": object, "reason": object, "rows": "int64"}
        )

    def __repr__(self) -> str:
        if not self.counts:
            return "Quarantine(no rows left out)"
        parts = ", ".join(f"{t}.{r}={n}" for (t, r), n in sorted(self.counts.items()))
        return f"Quarantine({parts})"


def _text_column(col: pa.ChunkedArray) -> list:
    """Values of one input column as Python strings (None for null), vectorised."""
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = col.type
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        arr = combine_chunks(col).cast(pa.large_binary())
        try:
            return arr.cast(pa.large_string()).to_pylist()
        except pa.ArrowInvalid:
            valid = pc.is_valid(arr)
            text = latin1_to_utf8(arr.filter(valid))
            return pc.replace_with_mask(pa.nulls(len(arr), pa.large_string()), valid, text).to_pylist()
    if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        try:
            col = col.cast(pa.large_string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return [None if v is None else str(v) for v in col.to_pylist()]  # nested types; few rows
    return col.to_pylist()


class _LeftOut:
    """Which rows of one input table are kept, and why the others are not.

    Vectorised bookkeeping over bool masks: the first reason that applies to a
    row is its reason, so each quarantined row is counted exactly once.
    """

    def __init__(self, n: int, table: str, quarantine: Quarantine) -> None:
        self.keep = np.ones(n, dtype=bool)
        self.code = np.full(n, -1, dtype=np.int16)
        self.reasons: list[str] = []
        self.table, self.q = table, quarantine

    def drop(self, bad: np.ndarray, reason: str) -> None:
        new = np.asarray(bad, bool) & self.keep
        n = int(new.sum())
        if n:
            if reason not in self.reasons:
                self.reasons.append(reason)
            self.code[new] = self.reasons.index(reason)
            self.keep &= ~new
        self.q.add(self.table, reason, n)

    def capture(self, raw: pa.Table, lazy: tuple[str, LazyColumn] | None = None) -> None:
        idx = np.flatnonzero(~self.keep)
        names = np.asarray(self.reasons + [""], dtype=object)
        self.q.capture(self.table, take_rows(raw, idx), idx, names[self.code[idx]], lazy=lazy)
