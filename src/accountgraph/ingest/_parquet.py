"""Parquet inputs read piece by piece: which files, whether they can be streamed, rows on demand."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
from .._unique import unique

__all__ = ["ParquetRows", "parquet_files", "streamable_schema"]


def parquet_files(path: str | os.PathLike) -> list[Path]:
    """The Parquet files of a path, in the order ``pyarrow.parquet.read_table`` reads them."""
    p = Path(path)
    if not p.is_dir():
        return [p]
    import pyarrow.dataset as ds

    return [Path(f) for f in ds.dataset(p, format="parquet").files]


def streamable_schema(path: str | os.PathLike) -> pa.Schema | None:
    """The one Arrow schema of every file under ``path``, or None if it cannot be streamed.

    A directory streams when all its files have the same schema and no
    ``key=value`` partition directories add columns (``read_table`` would add
    them; the streamed reader would not).
    """
    import pyarrow.parquet as pq

    files = parquet_files(path)
    if not files:
        return None
    schema = pq.read_schema(files[0])
    if any(not pq.read_schema(f).equals(schema) for f in files[1:]):
        return None
    if Path(path).is_dir() and any("=" in part for f in files for part in f.relative_to(path).parts[:-1]):
        return None
    return schema.remove_metadata()


def iter_batches(files: list[Path], columns: list[str], batch_rows: int,
                 read_dictionary: list[str]) -> Iterator[pa.RecordBatch]:
    """Record batches of ``columns``, file by file; ``read_dictionary`` columns come as dictionaries."""
    import pyarrow.parquet as pq

    for f in files:
        # pre_buffer=False: with it, Arrow keeps the column chunks read so far alive (apache/arrow#39808).
        pf = pq.ParquetFile(f, pre_buffer=False, read_dictionary=read_dictionary)
        yield from pf.iter_batches(columns=columns, batch_size=batch_rows)


class ParquetRows:
    """Whole input rows (every column but the ones excluded) of a Parquet input, fetched by row number.

    Validation streams the columns it needs; the few rows it must keep whole
    (quarantined rows, candidate duplicates) are read back here, one row
    group at a time, as ``pyarrow.parquet.read_table`` would have read them.
    """

    def __init__(self, path: str | os.PathLike, exclude: tuple[str, ...] = ()) -> None:
        import pyarrow.parquet as pq

        self.files = parquet_files(path)
        schema = pq.read_schema(self.files[0])
        self.columns = [c for c in schema.names if c not in exclude]
        self._groups: list[tuple[Path, int, int]] = []  # (file, row group, first row)
        start = 0
        for f in self.files:
            meta = pq.ParquetFile(f).metadata
            for g in range(meta.num_row_groups):
                self._groups.append((f, g, start))
                start += meta.row_group(g).num_rows
        self.n_rows = start

    def take_rows(self, rows: np.ndarray) -> pa.Table:
        """The input rows at the given increasing row numbers, as one table."""
        import pyarrow.parquet as pq

        rows = np.asarray(rows, np.int64)
        firsts = np.array([g[2] for g in self._groups] + [self.n_rows], np.int64)
        which = np.searchsorted(firsts, rows, side="right") - 1
        parts = []
        for k in unique(which).tolist():
            f, g, first = self._groups[k]
            part = pq.ParquetFile(f).read_row_group(g, columns=self.columns)
            parts.append(part.take(pa.array(rows[which == k] - first)))
        if not parts:
            import pyarrow.parquet as pq

            return pq.read_schema(self.files[0]).empty_table().select(self.columns)
        return pa.concat_tables(parts)
