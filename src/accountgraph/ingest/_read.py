"""The first steps both validators share: read, split off the UTF-8 mark, rename, check columns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._exceptions import SchemaError
from ._columns import _as_string, _pop_undecodable, _rename, _require
from ._io import TableLike, to_arrow
from ._quarantine import _LeftOut

__all__: list[str] = []


def read_input(data: TableLike, name: str, *, columns: Mapping[str, str] | None, required: Sequence[str],
               extra_signals: Sequence[str], encoding: str | None) -> tuple[pa.Table, pa.Table, np.ndarray | None]:
    """``(raw, table, undecodable)``: the input as read, renamed to canonical names, and the
    mask of CSV rows that are not UTF-8 (None if there are none).

    Raises
    ------
    SchemaError
        A required column or a declared extra signal column is missing.
    """
    raw, undecodable = _pop_undecodable(to_arrow(data, name=name, encoding=encoding))
    table = _rename(raw, columns, name)
    _require(table, required, name)
    for c in extra_signals:
        if c not in table.column_names:
            raise SchemaError(f"{name} has no column {c!r} declared in extra_signals; columns: {table.column_names}.")
    return raw, table, undecodable


def account_ids(table: pa.Table, name: str, out: _LeftOut) -> pa.ChunkedArray:
    """The ``account_id`` column as trimmed text; empty or null ids quarantined."""
    acc = _as_string(table["account_id"], "account_id", name)
    out.drop(np.asarray(pc.is_null(acc).to_numpy(zero_copy_only=False), bool), "empty_account_id")
    return acc
