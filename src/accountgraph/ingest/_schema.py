"""Reading and validating events and accounts: the input contract.

Stage 1 of the pipeline. Input tables are converted once to Arrow
(:func:`accountgraph._io.to_arrow`), renamed through the user's column map,
checked for required columns and usable types, and every bad row is left out
and counted by reason in a :class:`Quarantine` — nothing disappears silently.

Identifiers are factorised to dense integer codes over their *sorted* unique
values, so every later stage sees the same integers whatever the input row
order.
"""

from __future__ import annotations

import logging
from pathlib import Path
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._exceptions import SchemaError
from ._io import UNDECODABLE_COLUMN, LazyColumn, TableLike, is_parquet_path, latin1_to_utf8, to_arrow
from ._ip import canonical_ips

__all__ = [
    "EVENT_COLUMNS",
    "ACCOUNT_COLUMNS",
    "Quarantine",
    "ValidEvents",
    "ValidAccounts",
    "validate_events",
    "validate_accounts",
    "factorize_sorted",
    "combine_chunks",
]

logger = logging.getLogger(__name__)

EVENT_COLUMNS = ("account_id", "timestamp", "ip", "device_id", "payment_id", "prompt", "output_tokens", "model")
ACCOUNT_COLUMNS = ("account_id", "created_at", "payment_id", "email_domain", "phone_prefix")
_REQUIRED_EVENTS = ("account_id", "timestamp")
_REQUIRED_ACCOUNTS = ("account_id",)

# Timestamps outside this window are almost always a unit mistake (epoch
# milliseconds read as seconds lands in the year 50,000); quarantine them.
_MIN_TS_US = int(pd.Timestamp("1990-01-01", tz="UTC").value // 1000)
_MAX_TS_US = int(pd.Timestamp("2100-01-01", tz="UTC").value // 1000)


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


@dataclass
class ValidEvents:
    """Validated events as Arrow columns (one row per kept event).

    ``timestamp`` is int64 microseconds since the epoch, UTC. Optional columns
    absent from the input are ``None``. ``extra`` maps declared extra signal
    names to string columns.
    """

    account_id: pa.ChunkedArray
    timestamp: np.ndarray
    ip: pa.ChunkedArray | None
    device_id: pa.ChunkedArray | None
    payment_id: pa.ChunkedArray | None
    prompt: pa.ChunkedArray | LazyColumn | None
    output_tokens: np.ndarray | None
    extra: dict[str, pa.ChunkedArray]
    n_input_rows: int
    model: pa.ChunkedArray | None = None
    n_duplicates: int = 0  # rows identical to an earlier row (left out unless drop_duplicates=False)

    def __len__(self) -> int:
        return len(self.timestamp)


@dataclass
class ValidAccounts:
    """Validated account attributes (one row per distinct account id)."""

    account_id: pa.ChunkedArray
    created_at: np.ndarray | None  # int64 microseconds, -1 where unknown
    payment_id: pa.ChunkedArray | None
    email_domain: pa.ChunkedArray | None
    phone_prefix: pa.ChunkedArray | None
    extra: dict[str, pa.ChunkedArray]
    n_input_rows: int


def _text_column(col: pa.ChunkedArray) -> list:
    """Values of one input column as Python strings (None for null), vectorised."""
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = col.type
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        arr = _combine(col).cast(pa.large_binary())
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
        self.q.capture(self.table, raw.take(pa.array(idx, pa.int64())), idx, names[self.code[idx]], lazy=lazy)


def _pop_undecodable(raw: pa.Table) -> tuple[pa.Table, np.ndarray | None]:
    """Split off the mark :func:`to_arrow` puts on CSV rows that are not UTF-8."""
    if UNDECODABLE_COLUMN not in raw.column_names:
        return raw, None
    mark = np.asarray(raw[UNDECODABLE_COLUMN].to_numpy(zero_copy_only=False), bool)
    return raw.drop_columns([UNDECODABLE_COLUMN]), mark


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
    order = np.lexsort((np.arange(len(gid)), gid))
    g = gid[order]
    later = np.zeros(len(gid), bool)
    later[order[1:]] = g[1:] == g[:-1]
    return later


def _duplicate_rows(raw: pa.Table, keep: np.ndarray, ts: np.ndarray,
                    lazy: tuple[str, LazyColumn] | None = None) -> np.ndarray:
    """Kept rows identical on every input column to an earlier kept row.

    Only rows sharing their timestamp with another kept row can be copies, so
    those few are compared in full (Arrow hash group-by); a prompt column left
    on disk is read for the rows still equal on everything else. O(n log n)
    for the timestamp sort; the full comparison costs O(candidates).
    """
    n = len(keep)
    dup = np.zeros(n, bool)
    idx = np.flatnonzero(keep)
    if len(idx) < 2:
        return dup
    kts = ts[idx]
    order = np.argsort(kts, kind="stable")
    same = kts[order][1:] == kts[order][:-1]
    cand = np.zeros(len(idx), bool)
    cand[1:] |= same
    cand[:-1] |= same
    rows = np.sort(idx[order[cand]])
    if not len(rows):
        return dup
    gid = _group_ids(raw.take(pa.array(rows)))
    if lazy is not None:
        size = np.bincount(gid)
        shared = size[gid] >= 2
        if shared.any():
            col, lc = lazy
            file_rows = rows[shared]
            want = np.zeros(len(lc), bool)
            want[file_rows] = True
            got_idx, got = [], []
            for i, arr in lc.iter_arrays(want, 65_536):
                got_idx.append(i)
                got.append(arr)
            pos = np.searchsorted(file_rows, np.concatenate(got_idx))
            texts = pa.chunked_array(got).combine_chunks() if len(got) > 1 else got[0]
            sub = _group_ids(pa.table({"g": gid[shared][pos], "p": texts}))
            g2 = np.empty(int(shared.sum()), np.int64)
            g2[pos] = sub
            gid = gid.copy()
            gid[shared] = int(gid.max()) + 1 + g2
    dup[rows[_later_copies(gid)]] = True
    return dup


def _rename(table: pa.Table, columns: Mapping[str, str] | None, name: str) -> pa.Table:
    """Apply a ``{canonical_name: user_column}`` map."""
    if not columns:
        return table
    names = list(table.column_names)
    for canonical, user in columns.items():
        if user not in names:
            raise SchemaError(
                f"{name}: column map says {canonical!r} is in column {user!r}, "
                f"but {name} has no such column. Columns found: {names}."
            )
        if canonical != user and canonical in names:
            # The user's mapping wins; the unmapped canonical column is ignored.
            names[names.index(canonical)] = f"__ignored__{canonical}"
        names[names.index(user)] = canonical
    return table.rename_columns(names)


def _require(table: pa.Table, required: Sequence[str], name: str) -> None:
    missing = [c for c in required if c not in table.column_names]
    if missing:
        raise SchemaError(
            f"{name} is missing required column(s) {missing}. Columns found: "
            f"{table.column_names}. Map your own names with columns={{'{missing[0]}': '<your column>'}} "
            f"(CLI: --column {missing[0]}=<your column>)."
        )


def _as_string(col: pa.ChunkedArray, column: str, name: str) -> pa.ChunkedArray:
    """Cast an identifier column to string; empty/blank strings become null."""
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = col.type
    if pa.types.is_null(t):
        return pa.chunked_array([pa.nulls(len(col), pa.large_string())])
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        out = col
    elif pa.types.is_integer(t):
        out = col.cast(pa.string())
    elif pa.types.is_binary(t) or pa.types.is_large_binary(t):
        try:
            out = col.cast(pa.string())
        except pa.ArrowInvalid:
            # Undecodable identifiers are still identifiers: keep their bytes as hex.
            out = pa.chunked_array([pa.array([None if v is None else v.hex() for v in col.to_pylist()], pa.string())])
    else:
        raise SchemaError(
            f"{name}.{column} must hold strings (or integers used as identifiers); "
            f"found Arrow type {t}. Cast the column to string first."
        )
    trimmed = pc.utf8_trim_whitespace(out)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, trimmed.type), trimmed)


def combine_chunks(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One contiguous array; text goes to 64-bit offsets first so > 2 GiB cannot overflow."""
    if isinstance(col, pa.ChunkedArray):
        if pa.types.is_string(col.type):
            col = col.cast(pa.large_string())
        elif pa.types.is_binary(col.type):
            col = col.cast(pa.large_binary())
        return col.combine_chunks()
    return col


def _to_us(col: pa.ChunkedArray, column: str, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Timestamps to int64 UTC microseconds.

    Returns ``(values, is_null, is_bad)``; ``values`` is undefined where null/bad.
    Timezone-naive timestamps and strings without an offset are taken as UTC;
    numbers are epoch seconds.
    """
    t = col.type
    n = len(col)
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = col.type
    if pa.types.is_timestamp(t):
        tz = t.tz
        us = col.cast(pa.timestamp("us", tz=tz)).cast(pa.int64())
        null = np.asarray(pc.is_null(us).to_numpy(zero_copy_only=False), dtype=bool)
        vals = np.asarray(us.fill_null(0).to_numpy(), dtype=np.int64)
        return vals, null, np.zeros(n, dtype=bool)
    if pa.types.is_date(t):
        us = col.cast(pa.timestamp("us")).cast(pa.int64())
        null = np.asarray(pc.is_null(us).to_numpy(zero_copy_only=False), dtype=bool)
        return np.asarray(us.fill_null(0).to_numpy(), dtype=np.int64), null, np.zeros(n, dtype=bool)
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        f = np.asarray(col.cast(pa.float64()).to_numpy(), dtype=np.float64)  # nulls -> nan
        null = np.isnan(f)
        bad = ~null & ~np.isfinite(f)
        with np.errstate(invalid="ignore", over="ignore"):
            vals = np.where(null | bad, 0, np.round(f * 1e6)).astype(np.int64)
        return vals, null, bad
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        # Parse each distinct string once, vectorised in pandas' C parser.
        enc = combine_chunks(col).dictionary_encode()
        uniq = enc.dictionary.to_pandas()
        parsed = pd.to_datetime(uniq, errors="coerce", utc=True, format="ISO8601")
        if parsed.isna().any():
            # Digit strings (e.g. from CSV) are epoch seconds.
            num = pd.to_numeric(uniq, errors="coerce")
            fallback = pd.to_datetime(num, unit="s", errors="coerce", utc=True)
            parsed = parsed.fillna(fallback)
        uniq_us = parsed.to_numpy(dtype="datetime64[us]", na_value=np.datetime64("NaT")).astype(np.int64)
        uniq_bad = parsed.isna().to_numpy()
        idx = enc.indices
        null = np.asarray(pc.is_null(idx).to_numpy(zero_copy_only=False), dtype=bool)
        codes = np.asarray(idx.fill_null(0).to_numpy(), dtype=np.int64)
        if len(uniq_us) == 0:
            return np.zeros(n, dtype=np.int64), null, np.zeros(n, dtype=bool)
        vals = uniq_us[codes]
        bad = uniq_bad[codes] & ~null
        return np.where(bad | null, 0, vals), null, bad
    if pa.types.is_null(t):
        return np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
    raise SchemaError(
        f"{name}.{column} must be a timestamp, epoch seconds (number) or ISO-8601 text; "
        f"found Arrow type {t}."
    )


def _ip_check(col: pa.ChunkedArray) -> tuple[pa.ChunkedArray, np.ndarray]:
    """Canonicalise IP text once per distinct value; return (canonical, is_malformed)."""
    enc = combine_chunks(col).dictionary_encode()
    if len(enc.dictionary) == 0:
        return pa.chunked_array([pa.nulls(len(col), pa.large_string())]), np.zeros(len(col), bool)
    canon, ok = canonical_ips(enc.dictionary)
    idx = enc.indices
    null = np.asarray(pc.is_null(idx).to_numpy(zero_copy_only=False), bool)
    codes = np.asarray(idx.fill_null(0).to_numpy(), dtype=np.int64)
    bad = ~ok[codes] & ~null
    # Keep the dictionary form: one canonical string per distinct IP.
    out = pa.DictionaryArray.from_arrays(idx, canon).cast(pa.large_string())
    return pa.chunked_array([out]), bad


def factorize_sorted(arr: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Dense codes over sorted unique values; null -> -1.

    Returns
    -------
    codes : numpy.ndarray of int32 (or int64 if needed)
    uniques : pyarrow.Array, sorted ascending

    Notes
    -----
    Hash-based ``dictionary_encode`` numbers values in order of first
    appearance; re-ranking the (small) dictionary by sort order makes the codes
    independent of row order. Cost: O(n) hashing plus O(u log u) for u uniques.
    """
    arr = combine_chunks(arr)
    enc = arr.dictionary_encode()
    order = np.asarray(pc.array_sort_indices(enc.dictionary).to_numpy(), dtype=np.int64)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    idx = enc.indices
    null = np.asarray(pc.is_null(idx).to_numpy(zero_copy_only=False), dtype=bool)
    raw = np.asarray(idx.fill_null(0).to_numpy(), dtype=np.int64)
    codes = rank[raw] if len(rank) else np.zeros(len(raw), np.int64)
    codes[null] = -1
    dtype = np.int32 if len(order) < 2**31 - 1 else np.int64
    return codes.astype(dtype), enc.dictionary.take(pa.array(order))


def validate_events(
    events: TableLike,
    *,
    columns: Mapping[str, str] | None = None,
    extra_signals: Sequence[str] = (),
    quarantine: Quarantine,
    encoding: str | None = None,
    drop_duplicates: bool = True,
) -> ValidEvents:
    """Validate the events table and leave out bad rows, counted by reason.

    Parameters
    ----------
    events : table-like
        See :func:`accountgraph.detect` for the contract.
    columns : mapping, optional
        ``{canonical_name: your_column}``.
    extra_signals : sequence of str
        Further string columns of ``events`` to use as signals.
    quarantine : Quarantine
        Receives the counts of rows left out, and the rows themselves.
    encoding : str, optional
        Text encoding of a CSV path (see :func:`accountgraph._io.to_arrow`).
    drop_duplicates : bool, default True
        Leave out (as ``duplicate_event``) every row identical on every input
        column to an earlier row. Exact copies are ingestion artefacts (a log
        exported twice, at-least-once delivery); kept, they double volume and
        cadence evidence and move ring scores. With False they are kept and
        only counted (``ValidEvents.n_duplicates``).

    Raises
    ------
    SchemaError
        A required column is missing or a column has an unusable type.

    Notes
    -----
    Reasons, first applicable wins: ``invalid_utf8``, ``empty_account_id``,
    ``null_timestamp``, ``unparseable_timestamp``, ``timestamp_out_of_range``,
    ``malformed_ip``, ``bad_output_tokens``, ``duplicate_event``.
    Time O(n) vectorised (plus an O(n log n) timestamp sort to find copies);
    IPv6 addresses are parsed once per distinct value.
    """
    lazy_prompt = None
    if is_parquet_path(events) and Path(events).exists():
        # Leave the prompt text on disk: the template stage streams it.
        import pyarrow.parquet as pq

        schema = pq.read_schema(events) if not Path(events).is_dir() else None
        prompt_col = (columns or {}).get("prompt", "prompt")
        if schema is not None and prompt_col in schema.names:
            pt = schema.field(prompt_col).type
            if not (pa.types.is_string(pt) or pa.types.is_large_string(pt) or pa.types.is_binary(pt)
                    or pa.types.is_large_binary(pt) or pa.types.is_null(pt) or pa.types.is_dictionary(pt)):
                raise SchemaError(f"events.prompt must be text; found Arrow type {pt}.")
            lazy_prompt = LazyColumn(events, prompt_col)
            events = pq.read_table(events, columns=[c for c in schema.names if c != prompt_col])
            columns = {k: v for k, v in (columns or {}).items() if k != "prompt"}
    raw, undecodable = _pop_undecodable(to_arrow(events, name="events", encoding=encoding))
    table = _rename(raw, columns, "events")
    _require(table, _REQUIRED_EVENTS, "events")
    for c in extra_signals:
        if c not in table.column_names:
            raise SchemaError(f"events has no column {c!r} declared in extra_signals; columns: {table.column_names}.")
    n = table.num_rows
    out = _LeftOut(n, "events", quarantine)
    keep = out.keep  # updated in place by out.drop
    if undecodable is not None:
        out.drop(undecodable, "invalid_utf8")

    acc = _as_string(table["account_id"], "account_id", "events")
    out.drop(np.asarray(pc.is_null(acc).to_numpy(zero_copy_only=False), bool), "empty_account_id")

    ts, ts_null, ts_bad = _to_us(table["timestamp"], "timestamp", "events")
    out.drop(ts_null, "null_timestamp")
    out.drop(ts_bad, "unparseable_timestamp")
    out.drop((ts < _MIN_TS_US) | (ts > _MAX_TS_US), "timestamp_out_of_range")

    ip = None
    if "ip" in table.column_names:
        ip_s = _as_string(table["ip"], "ip", "events")
        ip, ip_bad = _ip_check(ip_s)
        out.drop(ip_bad, "malformed_ip")

    out_tok = None
    if "output_tokens" in table.column_names:
        col = table["output_tokens"]
        t = col.type
        if pa.types.is_integer(t) or pa.types.is_floating(t):
            f = np.asarray(col.cast(pa.float64()).to_numpy(), dtype=np.float64)
        elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
            f = pd.to_numeric(col.to_pandas(), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            raw_null = np.asarray(pc.is_null(_as_string(col, "output_tokens", "events")).to_numpy(zero_copy_only=False), bool) if not pa.types.is_null(t) else np.ones(n, bool)
            out.drop(np.isnan(f) & ~raw_null, "bad_output_tokens")
        else:
            raise SchemaError(f"events.output_tokens must be an integer column; found Arrow type {t}.")
        with np.errstate(invalid="ignore"):
            neg = (f < 0) | (np.isfinite(f) & (f != np.floor(f))) | np.isinf(f)
        out.drop(neg, "bad_output_tokens")
        out_tok = np.where(np.isnan(f), -1, f).astype(np.int64)  # -1 = unknown

    def opt(name: str) -> pa.ChunkedArray | None:
        return _as_string(table[name], name, "events") if name in table.column_names else None

    device, payment, model = opt("device_id"), opt("payment_id"), opt("model")
    prompt = None
    if "prompt" in table.column_names:
        pt = table["prompt"].type
        if not (pa.types.is_string(pt) or pa.types.is_large_string(pt) or pa.types.is_binary(pt)
                or pa.types.is_large_binary(pt) or pa.types.is_null(pt) or pa.types.is_dictionary(pt)):
            raise SchemaError(f"events.prompt must be text; found Arrow type {pt}.")
        prompt = table["prompt"]
    extra = {c: _as_string(table[c], c, "events") for c in extra_signals}

    lazy = (lazy_prompt.column, lazy_prompt) if lazy_prompt is not None else None
    dup = _duplicate_rows(raw, keep, ts, lazy)
    n_dup = int(dup.sum())
    if drop_duplicates:
        out.drop(dup, "duplicate_event")
    elif n_dup:
        logger.warning("events: %d row(s) are exact copies of an earlier row; kept (drop_duplicates=False)", n_dup)
    out.capture(raw, lazy)

    mask = pa.array(keep)
    dropped = int(n - keep.sum())
    if dropped:
        logger.info("events: kept %d of %d rows (%d quarantined)", n - dropped, n, dropped)

    def f(a):
        return None if a is None else (a.filter(mask) if dropped else a)

    return ValidEvents(
        account_id=f(acc),
        timestamp=ts[keep] if dropped else ts,
        ip=f(ip),
        device_id=f(device),
        payment_id=f(payment),
        prompt=lazy_prompt.with_keep(keep if dropped else None) if lazy_prompt is not None else f(prompt),
        output_tokens=None if out_tok is None else (out_tok[keep] if dropped else out_tok),
        extra={k: f(v) for k, v in extra.items()},
        n_input_rows=n,
        model=f(model),
        n_duplicates=n_dup,
    )


def validate_accounts(
    accounts: TableLike,
    *,
    columns: Mapping[str, str] | None = None,
    extra_signals: Sequence[str] = (),
    quarantine: Quarantine,
    encoding: str | None = None,
) -> ValidAccounts:
    """Validate the accounts table; one row per account id is kept.

    Reasons: ``empty_account_id``, ``unparseable_created_at``,
    ``duplicate_account_id`` (all but one row of a repeated id; the kept row is
    the one with the earliest ``created_at``, then the smallest payment id, so
    the choice does not depend on row order); ``invalid_utf8`` for CSV rows
    that are not UTF-8 (``encoding`` as in :func:`validate_events`). The rows
    left out are captured in ``quarantine`` too.
    """
    raw, undecodable = _pop_undecodable(to_arrow(accounts, name="accounts", encoding=encoding))
    table = _rename(raw, columns, "accounts")
    _require(table, _REQUIRED_ACCOUNTS, "accounts")
    for c in extra_signals:
        if c not in table.column_names:
            raise SchemaError(f"accounts has no column {c!r} declared in extra_signals; columns: {table.column_names}.")
    n = table.num_rows
    out = _LeftOut(n, "accounts", quarantine)
    keep = out.keep  # updated in place by out.drop
    if undecodable is not None:
        out.drop(undecodable, "invalid_utf8")
    acc = _as_string(table["account_id"], "account_id", "accounts")
    out.drop(np.asarray(pc.is_null(acc).to_numpy(zero_copy_only=False), bool), "empty_account_id")

    created = None
    if "created_at" in table.column_names:
        c_us, c_null, c_bad = _to_us(table["created_at"], "created_at", "accounts")
        out.drop(c_bad | (~c_null & ((c_us < _MIN_TS_US) | (c_us > _MAX_TS_US))), "unparseable_created_at")
        created = np.where(c_null, -1, c_us)

    def opt(name: str, lower: bool = False) -> pa.ChunkedArray | None:
        if name not in table.column_names:
            return None
        s = _as_string(table[name], name, "accounts")
        return pc.utf8_lower(s) if lower else s

    payment, email, phone = opt("payment_id"), opt("email_domain", lower=True), opt("phone_prefix")
    extra = {c: _as_string(table[c], c, "accounts") for c in extra_signals}

    # Deduplicate account ids deterministically.
    idx = np.flatnonzero(keep)
    codes, _ = factorize_sorted(acc.take(pa.array(idx)) if len(idx) < n else acc)
    sort_c = created[idx] if created is not None else np.zeros(len(idx), np.int64)
    sort_c = np.where(sort_c < 0, np.iinfo(np.int64).max, sort_c)
    pay_codes = factorize_sorted(payment.take(pa.array(idx)))[0] if payment is not None else np.zeros(len(idx), np.int32)
    order = np.lexsort((pay_codes, sort_c, codes))
    first = np.ones(len(order), bool)
    first[1:] = codes[order][1:] != codes[order][:-1]
    take = pa.array(np.sort(idx[order[first]]), pa.int64())
    dup = np.zeros(n, bool)
    dup[idx[order[~first]]] = True
    out.drop(dup, "duplicate_account_id")
    out.capture(raw)

    def f(a):
        return None if a is None else a.take(take)

    return ValidAccounts(
        account_id=f(acc),
        created_at=None if created is None else created[take.to_numpy()],
        payment_id=f(payment),
        email_domain=f(email),
        phone_prefix=f(phone),
        extra={k: f(v) for k, v in extra.items()},
        n_input_rows=n,
    )
