"""Validating the events table: one row per event, bad rows quarantined by reason."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from ._columns import _as_string
from ._event_columns import _check_prompt_type, _drop_duplicates, _log_kept, _output_tokens, _prompt_column
from ._io import TableLike, is_parquet_path
from ._ip import check_ips
from ._lazy import LazyColumn
from ._quarantine import Quarantine, _LeftOut
from ._read import account_ids, read_input
from ._schema import REQUIRED_EVENTS, ValidEvents
from ._timestamps import MAX_TS_US, MIN_TS_US, to_us

__all__ = ["validate_events"]

logger = logging.getLogger(__name__)


def _split_lazy_prompt(events: TableLike, columns: Mapping[str, str] | None
                       ) -> tuple[TableLike, Mapping[str, str] | None, LazyColumn | None]:
    """For a Parquet file, leave the prompt text on disk (the template stage streams it).

    Returns the events to read (the other columns, as a table), the column map
    without ``prompt``, and the prompt column on disk (None if not applicable).
    """
    if not (is_parquet_path(events) and Path(events).exists()):
        return events, columns, None
    import pyarrow.parquet as pq

    schema = pq.read_schema(events) if not Path(events).is_dir() else None
    prompt_col = (columns or {}).get("prompt", "prompt")
    if schema is None or prompt_col not in schema.names:
        return events, columns, None
    _check_prompt_type(schema.field(prompt_col).type)
    lazy_prompt = LazyColumn(events, prompt_col)
    table = pq.read_table(events, columns=[c for c in schema.names if c != prompt_col])
    return table, {k: v for k, v in (columns or {}).items() if k != "prompt"}, lazy_prompt


def _timestamps(table: pa.Table, out: _LeftOut) -> np.ndarray:
    """Event times in UTC microseconds; null, unparseable and out-of-range rows quarantined."""
    ts, ts_null, ts_bad = to_us(table["timestamp"], "timestamp", "events")
    out.drop(ts_null, "null_timestamp")
    out.drop(ts_bad, "unparseable_timestamp")
    out.drop((ts < MIN_TS_US) | (ts > MAX_TS_US), "timestamp_out_of_range")
    return ts


def _ips(table: pa.Table, out: _LeftOut) -> pa.ChunkedArray | None:
    """Canonical IP text; malformed addresses quarantined."""
    if "ip" not in table.column_names:
        return None
    ip, ip_bad = check_ips(_as_string(table["ip"], "ip", "events"))
    out.drop(ip_bad, "malformed_ip")
    return ip


def _optional_string(table: pa.Table, column: str) -> pa.ChunkedArray | None:
    return _as_string(table[column], column, "events") if column in table.column_names else None


def _filtered(a: pa.ChunkedArray | None, mask: pa.Array, dropped: int) -> pa.ChunkedArray | None:
    return None if a is None else (a.filter(mask) if dropped else a)


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
        Text encoding of a CSV path (see :func:`accountgraph.ingest.to_arrow`).
    drop_duplicates : bool, default True
        Leave out (as ``duplicate_event``) every row identical on every input
        column to an earlier row: ingestion artefacts (a log exported twice)
        that would double volume and cadence evidence. With False they are
        kept and only counted (``ValidEvents.n_duplicates``).

    Returns
    -------
    ValidEvents

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
    IPv6 addresses are parsed once per distinct value. A Parquet path (a file,
    or a directory of files with one schema) is streamed row group by row
    group (:mod:`accountgraph.ingest._stream`): its identifier columns come
    back as dictionary arrays over sorted values and memory holds per event
    only their codes, the timestamp and the token count; prompts stay on disk.
    The result is the same as validating the table in memory.
    """
    if is_parquet_path(events) and Path(events).exists():
        from ._parquet import streamable_schema
        from ._stream import stream_events

        schema = streamable_schema(events)
        if schema is not None:
            return stream_events(events, schema, columns=columns, extra_signals=extra_signals,
                                 quarantine=quarantine, drop_duplicates=drop_duplicates)
    return _validate_table(events, columns=columns, extra_signals=extra_signals, quarantine=quarantine,
                           encoding=encoding, drop_duplicates=drop_duplicates)


def _validate_table(events: TableLike, *, columns: Mapping[str, str] | None, extra_signals: Sequence[str],
                    quarantine: Quarantine, encoding: str | None, drop_duplicates: bool) -> ValidEvents:
    """:func:`validate_events` on the whole table in memory (a Parquet file's prompts stay on disk).

    The reference the streamed reader of Parquet inputs (:mod:`._stream`) is tested against.
    """
    events, columns, lazy_prompt = _split_lazy_prompt(events, columns)
    raw, table, undecodable = read_input(events, "events", columns=columns, required=REQUIRED_EVENTS,
                                         extra_signals=extra_signals, encoding=encoding)
    n = table.num_rows
    out = _LeftOut(n, "events", quarantine)
    if undecodable is not None:
        out.drop(undecodable, "invalid_utf8")

    acc = account_ids(table, "events", out)
    ts = _timestamps(table, out)
    ip = _ips(table, out)
    out_tok = _output_tokens(table["output_tokens"], out) if "output_tokens" in table.column_names else None
    device, payment, model = (_optional_string(table, c) for c in ("device_id", "payment_id", "model"))
    prompt = _prompt_column(table)
    extra = {c: _as_string(table[c], c, "events") for c in extra_signals}

    lazy = (lazy_prompt.column, lazy_prompt) if lazy_prompt is not None else None
    n_dup = _drop_duplicates(raw, ts, out, lazy, drop_duplicates)
    out.capture(raw, lazy)

    keep, dropped = out.keep, _log_kept(out.keep)
    mask = pa.array(keep)
    text = {"account_id": acc, "ip": ip, "device_id": device, "payment_id": payment, "model": model}
    return ValidEvents(
        **{k: _filtered(v, mask, dropped) for k, v in text.items()},
        timestamp=ts[keep] if dropped else ts,
        prompt=(lazy_prompt.with_keep(keep if dropped else None) if lazy_prompt is not None
                else _filtered(prompt, mask, dropped)),
        output_tokens=None if out_tok is None else (out_tok[keep] if dropped else out_tok),
        extra={k: _filtered(v, mask, dropped) for k, v in extra.items()},
        n_input_rows=n,
        n_duplicates=n_dup,
    )
