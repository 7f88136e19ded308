"""One conversion point for tabular input: pandas, pyarrow, polars or a file path.

Everything the library accepts as a table goes through :func:`to_arrow`, which
returns a :class:`pyarrow.Table` without mutating or copying the caller's data
more than the conversion requires.
"""

from __future__ import annotations

import codecs
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._exceptions import EngineUnavailableError, InvalidParameterError, SchemaError

__all__ = ["to_arrow", "TableLike", "UNDECODABLE_COLUMN", "check_encoding"]

logger = logging.getLogger(__name__)

TableLike = Any  # pandas.DataFrame | pyarrow.Table | polars.DataFrame | str | os.PathLike


#: Name of the bool column :func:`to_arrow` appends to a CSV table when some of
#: its rows hold bytes that are not UTF-8; validation quarantines those rows as
#: ``invalid_utf8`` and drops the column.
UNDECODABLE_COLUMN = "__accountgraph_invalid_utf8__"


def _binary_parts(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """64-bit offsets (rebased to 0) and data bytes of a large_binary/large_string array."""
    bufs = arr.buffers()
    off = np.frombuffer(bufs[1], np.int64)[arr.offset: arr.offset + len(arr) + 1]
    data = np.frombuffer(bufs[2], np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    lo = int(off[0]) if len(off) else 0
    return off - lo, data[lo: int(off[-1]) if len(off) else 0]


def _invalid_utf8(arr: pa.Array) -> np.ndarray:
    """Bool per value of a large_binary array: not well-formed UTF-8 (RFC 3629).

    Vectorised over the data buffer: every lead byte must be followed, inside
    its own value, by as many continuation bytes as it announces (with the
    second-byte ranges that exclude overlong forms, surrogates and code points
    past U+10FFFF), and a value must hold no other continuation bytes.
    O(bytes) time, about 10 bytes of scratch memory per data byte.
    """
    n = len(arr)
    off, b = _binary_parts(arr)
    row = np.repeat(np.arange(n, dtype=np.int64), np.diff(off))
    end = off[1:]
    need = np.zeros(len(b), np.int8)
    need[(b >= 0xC2) & (b <= 0xDF)] = 1
    need[(b >= 0xE0) & (b <= 0xEF)] = 2
    need[(b >= 0xF0) & (b <= 0xF4)] = 3
    cont = (b & 0xC0) == 0x80
    bad = (b == 0xC0) | (b == 0xC1) | (b >= 0xF5)
    lead = np.flatnonzero(need)
    k_need = need[lead]
    for k in (1, 2, 3):
        sel = lead[k_need >= k]
        j = sel + k
        ok = j < end[row[sel]]
        ok[ok] = cont[j[ok]]
        bad[sel[~ok]] = True
    l2 = lead[k_need >= 2]
    second = b[np.minimum(l2 + 1, max(len(b) - 1, 0))] if len(l2) else np.zeros(0, np.uint8)
    first = b[l2]
    out_of_range = (((first == 0xE0) & (second < 0xA0)) | ((first == 0xED) & (second > 0x9F))
                    | ((first == 0xF0) & (second < 0x90)) | ((first == 0xF4) & (second > 0x8F)))
    bad[l2[out_of_range]] = True
    row_bad = np.zeros(n, bool)
    row_bad[row[bad]] = True
    # Continuation bytes no lead byte claimed.
    row_bad |= np.bincount(row, weights=cont, minlength=n) != np.bincount(row, weights=need, minlength=n)
    if arr.null_count:
        row_bad &= np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), bool)
    return row_bad


def latin1_to_utf8(arr: pa.Array) -> pa.Array:
    """Decode a large_binary array (without nulls) as Latin-1, vectorised.

    Every byte maps to one code point, so the text is never lossy: the
    original bytes are ``value.encode('latin-1')``.
    """
    off, b = _binary_parts(arr)
    high = b >= 0x80
    extra = np.concatenate([[0], np.cumsum(high)]).astype(np.int64)
    out = np.empty(len(b) + int(high.sum()), np.uint8)
    pos = np.arange(len(b), dtype=np.int64) + extra[:-1]
    out[pos] = np.where(high, 0xC0 | (b >> 6), b)
    out[pos[high] + 1] = 0x80 | (b[high] & 0x3F)
    return pa.LargeStringArray.from_buffers(len(arr), pa.py_buffer((off + extra[off]).astype(np.int64)),
                                            pa.py_buffer(out))


def _decode_chunk(chunk: pa.Array) -> tuple[pa.Array, np.ndarray | None]:
    """UTF-8 text of a binary chunk and the mask of its undecodable values (None if all decode)."""
    try:
        return chunk.cast(pa.large_string()), None
    except pa.ArrowInvalid:
        pass
    bad = _invalid_utf8(chunk)
    mask = pa.array(bad)
    try:
        text = pc.if_else(mask, pa.scalar(None, pa.large_binary()), chunk).cast(pa.large_string())
    except pa.ArrowInvalid:  # pragma: no cover - the validator and Arrow disagree; ask Python per value
        bad = np.array([v is not None and not _decodes(v) for v in chunk.to_pylist()], bool)
        mask = pa.array(bad)
        text = pc.if_else(mask, pa.scalar(None, pa.large_binary()), chunk).cast(pa.large_string())
    # Keep the undecodable values readable (and their bytes recoverable) for quarantined_rows().
    return pc.replace_with_mask(text, mask, latin1_to_utf8(chunk.filter(mask))), bad


def _decodes(v: bytes) -> bool:  # pragma: no cover - fallback of _decode_chunk
    try:
        v.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode_text(table: pa.Table, name: str) -> pa.Table:
    """Binary CSV columns to UTF-8 text; rows with undecodable bytes are marked, not fatal."""
    n = table.num_rows
    bad_rows = np.zeros(n, bool)
    bad_cols: list[str] = []
    cols = []
    for cname, col in zip(table.column_names, table.columns):
        chunks, lo = [], 0
        for ch in col.chunks:
            text, bad = _decode_chunk(ch)
            if bad is not None and bad.any():
                bad_rows[lo: lo + len(ch)] |= bad
                if cname not in bad_cols:
                    bad_cols.append(cname)
            chunks.append(text)
            lo += len(ch)
        cols.append(pa.chunked_array(chunks, pa.large_string()))
    out = pa.Table.from_arrays(cols, names=table.column_names)
    if bad_cols:
        logger.warning(
            "%s: %d row(s) hold bytes that are not UTF-8 (column(s) %s); they are quarantined as "
            "'invalid_utf8'. If the file is in another encoding, pass it: encoding='latin-1' "
            "(CLI: --encoding latin-1).", name, int(bad_rows.sum()), bad_cols)
        out = out.append_column(UNDECODABLE_COLUMN, pa.array(bad_rows))
    return out


def check_encoding(encoding: str | None) -> str | None:
    """The codec's canonical name, or None for UTF-8 (the default, with quarantine)."""
    if encoding is None:
        return None
    try:
        canonical = codecs.lookup(encoding).name
    except (LookupError, TypeError):
        raise InvalidParameterError(
            f"The 'encoding' parameter must name a Python codec such as 'utf-8', 'latin-1' or 'cp1252'. "
            f"Got {encoding!r} instead.") from None
    return None if canonical == "utf-8" else canonical


def _read_csv(path: Path, name: str, tsv: bool, encoding: str | None) -> pa.Table:
    import pyarrow.csv as pacsv

    if path.stat().st_size == 0:
        raise SchemaError(
            f"{name}: the CSV file {str(path)!r} is empty (0 bytes); it needs at least a header line naming "
            "the columns, e.g. 'account_id,timestamp'. Check the export that wrote it.")
    codec = check_encoding(encoding)
    parse = pacsv.ParseOptions(delimiter="\t" if tsv else ",")
    # Read every column as text: typing happens in schema validation, where a
    # bad value becomes a counted, reported quarantine instead of a crash. As
    # UTF-8 (the default), columns are read as bytes and decoded here, so a
    # stray Latin-1 byte quarantines its row instead of failing the file.
    read = pacsv.ReadOptions(block_size=1 << 24, encoding=codec or "utf8")
    try:
        header = pacsv.open_csv(path, read_options=read, parse_options=parse).schema.names
        conv = pacsv.ConvertOptions(
            column_types={c: pa.large_string() if codec else pa.large_binary() for c in header},
            strings_can_be_null=True,
        )
        table = pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=conv)
    except UnicodeDecodeError as exc:
        raise SchemaError(
            f"{name}: {str(path)!r} is not valid {codec!r} text ({exc.reason} at byte {exc.start}, "
            f"value {exc.object[exc.start:exc.end]!r}). Pass the file's real encoding (encoding=..., CLI "
            "--encoding), or leave it unset to read UTF-8 and quarantine undecodable rows as 'invalid_utf8'."
        ) from None
    except pa.ArrowInvalid as exc:
        msg = str(exc)
        if "Empty CSV file" in msg:
            raise SchemaError(
                f"{name}: the CSV file {str(path)!r} holds no header line naming the columns "
                "(e.g. 'account_id,timestamp'). Check the export that wrote it.") from None
        if "UTF8" in msg or "UTF-8" in msg:
            raise SchemaError(
                f"{name}: the header line of {str(path)!r} is not UTF-8 ({msg}). Pass the file's encoding "
                "(encoding='latin-1', CLI --encoding latin-1).") from None
        raise SchemaError(f"{name}: cannot parse the CSV file {str(path)!r}: {msg}. Fix the file (every line "
                          "needs as many fields as the header) or convert it to Parquet.") from None
    return table if codec else _decode_text(table, name)


def _read_path(path: Path, name: str, encoding: str | None = None) -> pa.Table:
    if not path.exists():
        raise FileNotFoundError(f"{name}: no such file or directory: {str(path)!r}")
    suffixes = "".join(path.suffixes).lower()
    if path.is_dir() or suffixes.endswith(".parquet") or suffixes.endswith(".pq"):
        import pyarrow.parquet as pq

        return pq.read_table(path)
    if suffixes.endswith((".csv", ".csv.gz", ".tsv")):
        return _read_csv(path, name, ".tsv" in suffixes, encoding)
    raise SchemaError(
        f"{name}: cannot tell the format of {str(path)!r} from its suffix {suffixes!r}; "
        "pass a .parquet or .csv path, or a pandas/pyarrow/polars table."
    )


def _from_pandas(df: Any, name: str) -> pa.Table:
    """``pa.Table.from_pandas``, with a SchemaError naming the column and value it cannot convert."""
    try:
        return pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        err = exc
    for c in df.columns:
        col = df[c]
        try:
            pa.array(col, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            pass
        else:
            continue
        # The error path only: look at the Python types of the column's values.
        vals = col.dropna()
        types = vals.map(type)
        first_t = types.iloc[0] if len(types) else None
        odd = vals[types != first_t]
        example = (f"{vals.iloc[0]!r} ({first_t.__name__}) and {odd.iloc[0]!r} ({type(odd.iloc[0]).__name__}) "
                   f"at row {odd.index[0]!r}") if len(odd) else repr(vals.iloc[0]) if len(vals) else "?"
        raise SchemaError(
            f"{name}.{c} mixes values of different types that cannot form one column: {example}. Convert the "
            f"column to one type first, e.g. df[{c!r}] = df[{c!r}].astype(str) (text is parsed per column: "
            f"ISO-8601 or epoch-second digits for times, as-is for identifiers)."
        ) from None
    raise SchemaError(f"{name}: cannot convert the pandas DataFrame to Arrow: {err}.") from None


def to_arrow(data: TableLike, *, name: str = "table", encoding: str | None = None) -> pa.Table:
    """Convert a supported table-like object to a :class:`pyarrow.Table`.

    Parameters
    ----------
    data : pandas.DataFrame, pyarrow.Table, pyarrow.RecordBatch, polars.DataFrame, str or PathLike
        The input. Paths ending in ``.parquet`` (or a Parquet directory) and ``.csv``
        are read with pyarrow.
    name : str
        Name of the argument, used in error messages.
    encoding : str, optional
        Text encoding of a CSV file (any Python codec, e.g. ``"latin-1"``).
        By default the file is read as UTF-8, and rows holding bytes that are
        not UTF-8 are marked in a bool column named :data:`UNDECODABLE_COLUMN`
        (their text decoded as Latin-1) so validation can quarantine them as
        ``invalid_utf8``. Ignored for Parquet and in-memory tables.

    Returns
    -------
    pyarrow.Table

    Raises
    ------
    SchemaError
        If the object is of an unsupported type, a CSV file is empty or
        unparseable, or a pandas column mixes types Arrow cannot combine.
    InvalidParameterError
        If ``encoding`` names no Python codec.
    FileNotFoundError
        If a path does not exist.
    """
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if isinstance(data, (str, os.PathLike)):
        return _read_path(Path(data), name, encoding)
    mod = type(data).__module__.split(".")[0]
    if mod == "pandas":
        return _from_pandas(data, name)
    if mod == "polars":
        try:
            return data.to_arrow()
        except ImportError as exc:  # pragma: no cover - polars without pyarrow bridge
            raise EngineUnavailableError(
                "Converting a polars DataFrame needs polars' pyarrow bridge: "
                "pip install 'accountgraph[polars]'"
            ) from exc
    if hasattr(data, "__arrow_c_stream__"):
        return pa.table(data)
    raise SchemaError(
        f"{name}: expected a pandas, pyarrow or polars table or a Parquet/CSV path; "
        f"got an object of type {type(data).__name__!r}."
    )


def is_parquet_path(data: Any) -> bool:
    """Whether ``data`` names a Parquet file or directory."""
    if not isinstance(data, (str, os.PathLike)):
        return False
    p = Path(data)
    return p.is_dir() or "".join(p.suffixes).lower().endswith((".parquet", ".pq"))


class LazyColumn:
    """One column of a Parquet file, read in batches only when needed.

    Lets the pipeline keep tens of millions of prompts on disk: the template
    stage streams them batch by batch, and nothing else needs their text.

    Parameters
    ----------
    path : str or PathLike
    column : str
    keep : ndarray of bool, optional
        Rows of the file that survived validation; indices seen by callers
        are positions among the kept rows.
    """

    def __init__(self, path: str | os.PathLike, column: str, keep: Any = None) -> None:
        import pyarrow.parquet as pq

        self.path = Path(path)
        self.column = column
        self._n_file = pq.ParquetFile(self.path).metadata.num_rows if not self.path.is_dir() else None
        self.keep = keep

    def with_keep(self, keep: Any) -> LazyColumn:
        """The same column restricted to the rows where ``keep`` is true."""
        return LazyColumn(self.path, self.column, keep)

    def __len__(self) -> int:
        if self.keep is not None:
            return int(self.keep.sum())
        if self._n_file is None:
            import pyarrow.parquet as pq

            self._n_file = sum(pq.read_metadata(f).num_rows for f in self._files())
        return self._n_file

    def _files(self) -> list[Path]:
        """The Parquet files, in the order ``pyarrow.dataset`` reads a directory (sorted paths)."""
        if not self.path.is_dir():
            return [self.path]
        import pyarrow.dataset as ds

        return [Path(f) for f in ds.dataset(self.path, format="parquet").files]

    def _file_batches(self, batch_rows: int):
        import pyarrow.parquet as pq

        # ParquetFile.iter_batches with pre_buffer=False: Dataset.to_batches (and
        # pre-buffering) keep the column chunks already read alive, so memory grew
        # with the file (apache/arrow#39808; +94 MiB per million prompts measured).
        for f in self._files():
            pf = pq.ParquetFile(f, pre_buffer=False)
            for batch in pf.iter_batches(columns=[self.column], batch_size=batch_rows):
                yield batch.column(0)

    def iter_arrays(self, mask: Any, batch_rows: int):
        """Yield ``(kept-row indices, text array)`` for rows selected by ``mask``.

        ``mask`` is a bool array over the kept rows, or None for all of them.
        """
        import numpy as np

        file_lo = kept_lo = 0
        for arr in self._file_batches(batch_rows):
            n = len(arr)
            k = np.ones(n, bool) if self.keep is None else np.asarray(self.keep[file_lo:file_lo + n], bool)
            kept_idx = kept_lo + np.arange(int(k.sum()))
            sel = k.copy()
            if mask is not None:
                m = np.asarray(mask[kept_idx], bool)
                sel[np.flatnonzero(k)] = m
                kept_idx = kept_idx[m]
            file_lo += n
            kept_lo += int(k.sum())
            if len(kept_idx):
                yield kept_idx, arr.filter(pa.array(sel))

    def take(self, rows: Any, batch_rows: int = 65_536) -> list:
        """Texts at the given kept-row positions, in the given order (one scan)."""
        import numpy as np

        rows = np.asarray(rows, np.int64)
        want = np.zeros(len(self), bool)
        want[rows] = True
        found: dict[int, Any] = {}
        for idx, arr in self.iter_arrays(want, batch_rows):
            for i, v in zip(idx.tolist(), arr.to_pylist()):
                found[i] = v.decode("utf-8", "replace") if isinstance(v, bytes) else v
        return [found.get(int(r)) for r in rows]
