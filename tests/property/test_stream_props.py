"""Streamed validation of Parquet inputs equals validating the table in memory (the reference).

``validate_events`` reads a Parquet path row group by row group and keeps codes
(:mod:`accountgraph.ingest._stream`); ``_validate_table`` is the in-memory
validator it replaced for paths. On arbitrary tables (every Arrow type, nulls,
odd text, bad times, duplicates), written with tiny row groups and sometimes
split over several files, both must give the same kept rows and values, the
same quarantine counts and rows, or the same error.
"""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accountgraph._exceptions import AccountGraphError
from accountgraph.ingest import LazyColumn, Quarantine, validate_events
from accountgraph.ingest._events import _validate_table

from .fuzz_strategies import table

PROFILE = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                          HealthCheck.function_scoped_fixture])


def _text(col) -> list | None:
    if col is None:
        return None
    if isinstance(col, LazyColumn):
        return [v for _, arr in col.iter_arrays(None, 7) for v in arr.to_pylist()]
    chunks = [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in col.chunks]
    return pa.chunked_array(chunks, type=chunks[0].type if chunks else col.type).to_pylist()


def _run(fn, path, **kw):
    q = Quarantine()
    try:
        return fn(path, quarantine=q, **kw), q, None
    except AccountGraphError as exc:
        return None, q, f"{type(exc).__name__}: {exc}"


def _write(t: pa.Table, root, n_files: int, group: int):
    """The table as one Parquet file, or as a directory of ``n_files`` files; None if Parquet cannot hold it."""
    try:
        if n_files == 1:
            pq.write_table(t, root / "events.parquet", row_group_size=group)
            return root / "events.parquet"
        d = root / "events"
        d.mkdir()
        cut = np.linspace(0, t.num_rows, n_files + 1).astype(int)
        for i in range(n_files):
            pq.write_table(t.slice(cut[i], cut[i + 1] - cut[i]), d / f"part-{i}.parquet", row_group_size=group)
        return d
    except (pa.ArrowException, ValueError, OverflowError):
        return None


def _with_copies(t: pa.Table, draw) -> pa.Table:
    """Append exact copies of some rows, so duplicates are found across row groups."""
    if t.num_rows == 0:
        return t
    idx = draw(st.lists(st.integers(0, t.num_rows - 1), max_size=3))
    return pa.concat_tables([t, t.take(pa.array(idx, pa.int64()))]) if idx else t


@PROFILE
@given(st.data(), st.integers(1, 3), st.integers(1, 4), st.booleans())
def test_streamed_parquet_equals_in_memory(tmp_path_factory, data, n_files, group, rename):
    t = _with_copies(data.draw(table("events")), data.draw)
    columns = None
    if rename and "account_id" in t.column_names:
        t = t.rename_columns(["user" if c == "account_id" else c for c in t.column_names])
        columns = {"account_id": "user"}
    path = _write(t, tmp_path_factory.mktemp("ev"), n_files, group)
    if path is None:
        return
    logging.disable(logging.WARNING)
    try:
        got, q1, err1 = _run(validate_events, path, columns=columns)
        ref, q2, err2 = _run(_validate_table, path, columns=columns, extra_signals=(), encoding=None,
                             drop_duplicates=True)
    finally:
        logging.disable(logging.NOTSET)
    assert err1 == err2
    if err1 is not None:
        return
    for f in ("account_id", "ip", "device_id", "payment_id", "model", "prompt"):
        assert _text(getattr(got, f)) == _text(getattr(ref, f)), f
    assert got.timestamp.tolist() == ref.timestamp.tolist()
    assert (got.output_tokens is None) == (ref.output_tokens is None)
    if got.output_tokens is not None:
        assert got.output_tokens.tolist() == ref.output_tokens.tolist()
    assert (got.n_input_rows, got.n_duplicates) == (ref.n_input_rows, ref.n_duplicates)
    assert q1.counts == q2.counts
    r1, r2 = q1.rows(), q2.rows()
    assert r1.columns.tolist() == r2.columns.tolist() and r1.values.tolist() == r2.values.tolist()


def test_streamed_columns_are_codes_over_sorted_used_values(tmp_path):
    t = pa.table({"account_id": ["b", " a", "", "c", "b"], "timestamp": pa.array([1_700_000_000 + i for i in range(5)], pa.int64())
                  .cast(pa.timestamp("s")), "ip": ["10.0.0.2", "x", "10.0.0.1", "10.0.0.2", "10.0.0.1"]})
    pq.write_table(t, tmp_path / "e.parquet", row_group_size=2)
    v = validate_events(tmp_path / "e.parquet", quarantine=Quarantine())
    acc, ip = v.account_id.chunk(0), v.ip.chunk(0)
    assert pa.types.is_dictionary(acc.type)
    # Row 2 (empty id) and row 1 (malformed IP) are left out; "10.0.0.1" of row 2 goes with them.
    assert acc.dictionary.to_pylist() == ["b", "c"] and acc.indices.to_pylist() == [0, 1, 0]
    assert ip.dictionary.to_pylist() == ["10.0.0.1", "10.0.0.2"] and ip.indices.to_pylist() == [1, 1, 0]


@pytest.mark.parametrize("partitioned", [True, False])
def test_partitioned_directories_are_read_in_memory(tmp_path, partitioned):
    from accountgraph.ingest._parquet import streamable_schema

    t = pa.table({"account_id": ["a", "b"], "timestamp": pa.array([1, 2], pa.timestamp("s"))})
    d = tmp_path / ("day=1" if partitioned else "plain")
    d.mkdir()
    pq.write_table(t, d / "p.parquet")
    assert (streamable_schema(tmp_path) is None) == partitioned


@pytest.mark.parametrize("n_files", [1, 3])
def test_streamed_equals_in_memory_on_a_world_with_dirty_rows(tmp_path, n_files):
    from accountgraph.synth import generate

    ev = generate("tiny", seed=3, scale=0.3).events
    n = ev.num_rows
    copies = ev.take(pa.array([5, 17, n - 1, 17], pa.int64()))  # 17 twice: two later copies of one row
    bad = ev.take(pa.array([1, 2, 3], pa.int64())).to_pydict()
    bad["account_id"][0] = "  "
    bad["ip"][1] = "300.1.2.3"
    bad["output_tokens"][2] = -4
    t = pa.concat_tables([ev, copies, pa.table(bad, schema=ev.schema)])
    path = _write(t, tmp_path, n_files, 500)
    got, q1, _ = _run(validate_events, path)
    ref, q2, _ = _run(_validate_table, path, columns=None, extra_signals=(), encoding=None, drop_duplicates=True)
    assert q1.counts == q2.counts == {("events", "empty_account_id"): 1, ("events", "malformed_ip"): 1,
                                      ("events", "bad_output_tokens"): 1, ("events", "duplicate_event"): 4}
    assert got.n_duplicates == ref.n_duplicates == 4
    for f in ("account_id", "ip", "device_id", "payment_id", "model", "prompt"):
        assert _text(getattr(got, f)) == _text(getattr(ref, f)), f
    assert got.timestamp.tolist() == ref.timestamp.tolist()
    assert got.output_tokens.tolist() == ref.output_tokens.tolist()
    r1, r2 = q1.rows(), q2.rows()
    assert r1.columns.tolist() == r2.columns.tolist() and r1.values.tolist() == r2.values.tolist()
    assert pa.types.is_dictionary(got.account_id.type) and not pa.types.is_dictionary(ref.account_id.type)
