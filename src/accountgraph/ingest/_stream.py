"""Validating a Parquet events input row group by row group, in memory bounded by the codes.

:func:`validate_events` hands Parquet paths here. The result equals validating
the whole table in memory (same kept rows, quarantine counts, reasons and
captured rows, same values), but no text column is ever held per event:

1. each row group is read with the identifier columns as dictionaries
   (Parquet's own dictionary pages); every distinct raw value gets a code in a
   :class:`~._strtable.StringTable`, so an event costs 4 bytes per identifier
   column; timestamps and token counts are converted batch by batch;
2. the cleaning that validation applies per value (trimming, empty -> null,
   IP canonicalisation) runs once on each column's distinct values, which are
   then sorted, and the event codes are remapped to the sorted codes;
3. the rows that must be seen whole (quarantined rows, candidate duplicates:
   rows sharing their timestamp with another) are read back from the file.

The validated identifier columns are dictionary arrays over their *sorted*
distinct values, so later stages take the codes as they are
(:func:`~accountgraph.ingest.factorize_sorted`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from .._parallel import n_workers
from .._progress import task
from ._columns import _as_string, factorize_sorted
from ._duplicates import _same_timestamp_rows
from ._event_columns import _check_prompt_type, _drop_duplicates, _log_kept, _output_tokens, _prompt_column
from ._ip import check_ips
from ._lazy import LazyColumn
from ._parquet import ParquetRows, iter_batches, parquet_files
from ._quarantine import Quarantine, _LeftOut
from ._read import read_input
from ._schema import REQUIRED_EVENTS, ValidEvents
from ._strtable import StringTable
from ._timestamps import MAX_TS_US, MIN_TS_US, to_us

__all__ = ["stream_events"]

_TEXT = ("account_id", "ip", "device_id", "payment_id", "model")


def _is_text(t: pa.DataType) -> bool:
    return (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)
            or pa.types.is_large_binary(t))


class _TokenMarks:
    """Stands in for the quarantine bookkeeping of one batch's token counts."""

    def __init__(self, n: int) -> None:
        self.bad = np.zeros(n, bool)

    def drop(self, bad: np.ndarray, reason: str) -> None:
        self.bad |= np.asarray(bad, bool)


@dataclass
class _Columns:
    """Per-event arrays filled batch by batch."""

    n: int
    text: dict[str, str]  # canonical name -> file column
    codes: dict[str, np.ndarray] = field(default_factory=dict)
    tables: dict[str, StringTable] = field(default_factory=dict)
    ts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ts_null: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    ts_bad: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    tok: np.ndarray | None = None
    tok_bad: np.ndarray | None = None


def _text_codes(table: StringTable, arr: pa.Array, cache: dict) -> np.ndarray:
    """Raw-value codes of one batch's identifier column (null -> -1)."""
    if pa.types.is_null(arr.type):
        return np.full(len(arr), -1, np.int32)
    if not pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_encode()
    d = arr.dictionary
    if not _is_text(d.type):  # integer identifiers: their text, as validation casts them
        d = d.cast(pa.string())
    key = (d.buffers()[-1].address if d.buffers()[-1] is not None else 0, d.offset, len(d))
    if cache.get("key") != key:  # batches of one row group share its dictionary
        # Holding ``d`` keeps its buffer alive, so no later dictionary can reuse the address.
        cache["key"], cache["dict"], cache["codes"] = key, d, np.append(table.codes(d), np.int32(-1))
    idx = arr.indices
    raw = np.frombuffer(idx.buffers()[1], np.int32 if idx.type == pa.int32() else idx.type.to_pandas_dtype(),
                        len(idx), idx.offset).astype(np.int64)
    if idx.null_count:
        raw = np.where(np.asarray(idx.is_valid().to_numpy(zero_copy_only=False)), raw, -1)
    return cache["codes"][raw]


def _read_batches(files: list, schema: pa.Schema, cols: _Columns, tok_col: str | None, ts_col: str,
                  batch_rows: int) -> None:
    """Pass 1: codes, timestamps and token counts of every event.

    The identifier columns are coded on a thread pool (one job per column and batch; the
    compiled table lookups release the GIL), while this thread reads the next batch and
    converts its times and token counts. A column's batches are coded one after another, in
    file order, so the codes do not depend on the number of threads.
    """
    names = [ts_col] + list(cols.text.values()) + ([tok_col] if tok_col else [])
    as_dict = [c for c in cols.text.values() if _is_text(schema.field(c).type)]
    caches: dict[str, dict] = {c: {} for c in cols.text}
    lo = 0
    pending: list[tuple[str, int, int, Future]] = []

    def settle() -> None:  # every job of the previous batch done, its codes in place
        for canon, a, b, fut in pending:
            cols.codes[canon][a:b] = fut.result()
        pending.clear()

    workers = max(1, min(len(cols.text), n_workers(-1)))
    with task("events read", total=cols.n, unit="rows") as progress, \
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="accountgraph") as pool:
        for batch in iter_batches(files, names, batch_rows, as_dict):
            hi = lo + batch.num_rows
            ts, null, bad = to_us(pa.chunked_array([batch.column(ts_col)]), "timestamp", "events")
            cols.ts[lo:hi], cols.ts_null[lo:hi], cols.ts_bad[lo:hi] = ts, null, bad
            if tok_col is not None and cols.tok is not None and cols.tok_bad is not None:
                marks = _TokenMarks(batch.num_rows)
                cols.tok[lo:hi] = _output_tokens(pa.chunked_array([batch.column(tok_col)]), marks)
                cols.tok_bad[lo:hi] = marks.bad
            settle()  # before this batch's jobs: one table is never used by two threads
            pending.extend((canon, lo, hi, pool.submit(_text_codes, cols.tables[canon], batch.column(col),
                                                       caches[canon])) for canon, col in cols.text.items())
            lo = hi
            progress.update(batch.num_rows)
        settle()


def _sorted_codes(cols: _Columns, canon: str, clean: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Event codes over the sorted distinct cleaned values (-1: null), replacing the raw codes."""
    lut, uniq = factorize_sorted(clean)
    lut = np.append(lut.astype(np.int32), np.int32(-1))
    codes = lut[cols.codes.pop(canon)]
    return codes, uniq


def _checked_empty(renamed: pa.Table, extra_signals: Sequence[str]) -> None:
    """Raise the type errors in-memory validation raises, before any row is read."""
    # The order of validate_events: ids, times, IPs, tokens, other ids, prompt, extra signals.
    _as_string(renamed["account_id"], "account_id", "events")
    to_us(renamed["timestamp"], "timestamp", "events")
    if "ip" in renamed.column_names:
        _as_string(renamed["ip"], "ip", "events")
    if "output_tokens" in renamed.column_names:
        _output_tokens(renamed["output_tokens"], _TokenMarks(0))
    for c in ("device_id", "payment_id", "model"):
        if c in renamed.column_names:
            _as_string(renamed[c], c, "events")
    _prompt_column(renamed)
    for c in extra_signals:
        _as_string(renamed[c], c, "events")


def _plan(path: str | os.PathLike, schema: pa.Schema, columns: Mapping[str, str] | None,
          extra_signals: Sequence[str]) -> tuple[dict[str, str], str | None, LazyColumn | None]:
    """``(canonical -> file column of text and time columns, token column, lazy prompt)``."""
    prompt_col = (columns or {}).get("prompt", "prompt")
    lazy = None
    if prompt_col in schema.names:
        _check_prompt_type(schema.field(prompt_col).type)
        lazy = LazyColumn(path, prompt_col)
    cols = {k: v for k, v in (columns or {}).items() if k != "prompt"} if lazy is not None else columns
    keep = [f for f in schema if not (lazy is not None and f.name == prompt_col)]
    raw, renamed, _ = read_input(pa.schema(keep).empty_table(), "events", columns=cols, required=REQUIRED_EVENTS,
                                 extra_signals=extra_signals, encoding=None)
    _checked_empty(renamed, extra_signals)
    file_of = dict(zip(renamed.column_names, raw.column_names))
    names = [c for c in (*_TEXT, *extra_signals) if c in file_of]
    mapping = {c: file_of[c] for c in names}
    mapping["timestamp"] = file_of["timestamp"]
    return mapping, file_of.get("output_tokens"), lazy


def stream_events(path: str | os.PathLike, schema: pa.Schema, *, columns: Mapping[str, str] | None,
                  extra_signals: Sequence[str], quarantine: Quarantine, drop_duplicates: bool,
                  batch_rows: int = 1 << 20) -> ValidEvents:
    """Validate a Parquet events input (file or directory with one schema) in one streamed pass.

    Parameters and result as :func:`accountgraph.ingest.validate_events`; the
    identifier columns come back as dictionary arrays over sorted values.
    Memory: per event 8 bytes of time, 8 of tokens and 4 per identifier
    column, plus the distinct values; time O(n) plus the sorts of distinct values.
    """
    mapping, tok_col, lazy = _plan(path, schema, columns, extra_signals)
    files = parquet_files(path)
    import pyarrow.parquet as pq

    n = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    ts_col = mapping.pop("timestamp")
    cols = _Columns(n, mapping, ts=np.zeros(n, np.int64), ts_null=np.zeros(n, bool), ts_bad=np.zeros(n, bool))
    for canon, col in mapping.items():
        t = schema.field(col).type
        binary = pa.types.is_binary(t) or pa.types.is_large_binary(t) or (
            pa.types.is_dictionary(t) and (pa.types.is_binary(t.value_type) or pa.types.is_large_binary(t.value_type)))
        cols.tables[canon] = StringTable(binary=binary)
        cols.codes[canon] = np.full(n, -1, np.int32)
    if tok_col is not None:
        cols.tok, cols.tok_bad = np.full(n, -1, np.int64), np.zeros(n, bool)
    _read_batches(files, schema, cols, tok_col, ts_col, batch_rows)
    return _finish(path, cols, lazy, extra_signals, quarantine, drop_duplicates)


def _finish(path: str | os.PathLike, cols: _Columns, lazy: LazyColumn | None, extra_signals: Sequence[str],
            q: Quarantine, drop_duplicates: bool) -> ValidEvents:
    """Clean the distinct values, quarantine in validation's order, and build :class:`ValidEvents`."""
    out = _LeftOut(cols.n, "events", q)
    same_ts = _same_timestamp_rows(np.ones(cols.n, bool), cols.ts)  # the only rows that can be copies
    raw_at = {c: cols.codes[c][same_ts] for c in cols.text}  # their raw-value codes, before cleaning
    clean = {c: _as_string(pa.chunked_array([cols.tables[c].values()]), c, "events") for c in cols.text}
    acc, acc_uniq = _sorted_codes(cols, "account_id", clean.pop("account_id"))
    out.drop(acc < 0, "empty_account_id")
    out.drop(cols.ts_null, "null_timestamp")
    out.drop(cols.ts_bad, "unparseable_timestamp")
    out.drop((cols.ts < MIN_TS_US) | (cols.ts > MAX_TS_US), "timestamp_out_of_range")
    coded: dict[str, tuple[np.ndarray, pa.Array]] = {"account_id": (acc, acc_uniq)}
    if "ip" in clean:
        canon, bad = check_ips(clean.pop("ip"))
        raw = cols.codes["ip"]
        out.drop(np.append(bad, False)[raw], "malformed_ip")
        coded["ip"] = _sorted_codes(cols, "ip", canon)
    if cols.tok_bad is not None:
        out.drop(cols.tok_bad, "bad_output_tokens")
    for c in list(clean):
        coded[c] = _sorted_codes(cols, c, clean.pop(c))
    # Whole rows as validation in memory holds them: a single file's prompts stay on disk
    # (read for the rows concerned only); a directory is read with its prompts.
    on_disk = lazy is not None and not os.path.isdir(path)
    rows = ParquetRows(path, exclude=(lazy.column,) if on_disk else ())
    lazy_pair = (lazy.column, lazy) if on_disk and lazy is not None else None
    cand = _copy_candidates(same_ts, raw_at, cols, out.keep)
    n_dup = _drop_duplicates(rows, cols.ts, out, lazy_pair, drop_duplicates, cand)
    out.capture(rows, lazy_pair)
    keep, dropped = out.keep, _log_kept(out.keep)

    def column(name: str) -> pa.ChunkedArray | None:
        if name not in coded:
            return None
        codes, uniq = coded.pop(name)
        return _used_only(codes[keep] if dropped else codes, uniq)

    return ValidEvents(
        account_id=column("account_id"), ip=column("ip"), device_id=column("device_id"),
        payment_id=column("payment_id"), model=column("model"),
        timestamp=cols.ts[keep] if dropped else cols.ts,
        prompt=lazy.with_keep(keep if dropped else None) if lazy is not None else None,
        output_tokens=None if cols.tok is None else _narrow(cols.tok[keep] if dropped else cols.tok),
        extra={c: column(c) for c in extra_signals}, n_input_rows=cols.n, n_duplicates=n_dup,
    )


def _copy_candidates(same_ts: np.ndarray, raw_at: dict[str, np.ndarray], cols: _Columns,
                     keep: np.ndarray) -> np.ndarray:
    """Kept rows equal to another kept row on everything read in the stream (time, raw id codes, tokens).

    Rows that are copies agree on all of these (each is a function of the raw
    values), so only these few are read back whole and compared on every column.
    """
    k = keep[same_ts]
    rows = same_ts[k]
    if len(rows) < 2:
        return rows[:0]
    parts = [cols.ts[rows]] + [raw_at[c][k].astype(np.int64) for c in cols.text]
    if cols.tok is not None and cols.tok_bad is not None:
        parts += [cols.tok[rows], cols.tok_bad[rows].astype(np.int64)]
    _, inv, cnt = np.unique(np.column_stack(parts), axis=0, return_inverse=True, return_counts=True)
    return rows[cnt[inv.reshape(-1)] >= 2]


def _narrow(tok: np.ndarray) -> np.ndarray:
    """Token counts as int32 when every count fits (4 bytes per event instead of 8)."""
    return tok.astype(np.int32) if not len(tok) or int(tok.max()) < 2**31 else tok


def _used_only(codes: np.ndarray, uniq: pa.Array) -> pa.ChunkedArray:
    """The dictionary column of ``codes``, its dictionary cut to the values some kept row holds."""
    used = np.bincount(codes[codes >= 0], minlength=len(uniq)) > 0
    if not used.all():
        remap = np.append(np.cumsum(used, dtype=np.int64).astype(np.int32) - 1, np.int32(-1))
        codes, uniq = remap[codes], uniq.filter(pa.array(used))
    return dictionary_column(codes, uniq)


def dictionary_column(codes: np.ndarray, values: pa.Array) -> pa.ChunkedArray:
    """A dictionary column over ``values`` from int32 ``codes`` (-1: null), sharing the codes' memory."""
    codes = np.ascontiguousarray(codes, np.int32)
    null = codes < 0
    validity = pa.array(~null).buffers()[1] if null.any() else None
    idx = pa.Array.from_buffers(pa.int32(), len(codes), [validity, pa.py_buffer(codes)],
                                null_count=int(null.sum()))
    return pa.chunked_array([pa.DictionaryArray.from_arrays(idx, values)])
