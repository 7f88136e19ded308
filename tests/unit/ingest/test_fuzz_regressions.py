"""Regressions for the crashes and wrong coercions the input fuzzer found (issue 12)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import accountgraph
from accountgraph.ingest import Quarantine, validate_accounts, validate_events

T0 = 1_700_000_000  # 2023-11-14, epoch seconds


def _events(ts: pa.Array, **cols) -> pa.Table:
    n = len(ts)
    return pa.table({"account_id": pa.array([f"a{i}" for i in range(n)]), "timestamp": ts, **cols})


def _validate(table: pa.Table):
    q = Quarantine()
    return validate_events(table, quarantine=q), q


def test_integer_epochs_past_2_53_are_exact_or_out_of_range():
    ts = pa.array([T0, 2**53 + 1, 2**63 - 1, -(2**63)], pa.int64())
    v, q = _validate(_events(ts))
    assert v.timestamp.tolist() == [T0 * 10**6]  # exact, no float rounding
    assert q.counts == {("events", "timestamp_out_of_range"): 3}


def test_uint64_epochs_above_int64_do_not_wrap():
    v, q = _validate(_events(pa.array([2**64 - 1, T0], pa.uint64())))
    assert v.timestamp.tolist() == [T0 * 10**6]
    assert q.counts == {("events", "timestamp_out_of_range"): 1}


def test_sub_microsecond_nanoseconds_are_floored_not_refused():
    ns = T0 * 10**9 + 123_456_789
    v, q = _validate(_events(pa.array([ns, ns + 1], pa.int64()).cast(pa.timestamp("ns", "UTC"))))
    assert v.timestamp.tolist() == [T0 * 10**6 + 123_456, T0 * 10**6 + 123_456]
    assert q.total == 0


@pytest.mark.parametrize("unit", ["s", "ms"])
def test_second_and_millisecond_timestamps_that_overflow_microseconds_are_quarantined(unit):
    scale = 1 if unit == "s" else 1000
    ts = pa.array([T0 * scale, 2**62, -(2**62)], pa.int64()).cast(pa.timestamp(unit))
    v, q = _validate(_events(ts))
    assert v.timestamp.tolist() == [T0 * 10**6]
    assert q.counts == {("events", "timestamp_out_of_range"): 2}


@pytest.mark.parametrize("typ,far", [(pa.date32(), 2**31 - 1), (pa.date64(), 2**62)])
def test_dates_that_overflow_microseconds_are_quarantined(typ, far):
    day = 19_675  # 2023-11-14
    near = day if typ == pa.date32() else day * 86_400_000
    raw = pa.array([near, far], pa.int32() if typ == pa.date32() else pa.int64()).cast(typ)
    v, q = _validate(_events(raw))
    assert v.timestamp.tolist() == [day * 86_400 * 10**6]
    assert q.counts == {("events", "timestamp_out_of_range"): 1}


def test_text_timestamps_may_mix_iso_and_epoch_numbers():
    ts = pa.array(["2023-11-14T22:13:20Z", str(T0), f"{T0}.5", "99999999999999999999", "1e400", "soon"])
    v, q = _validate(_events(ts))
    assert v.timestamp.tolist() == [T0 * 10**6, T0 * 10**6, T0 * 10**6 + 500_000]
    assert q.counts == {("events", "timestamp_out_of_range"): 1, ("events", "unparseable_timestamp"): 2}


@pytest.mark.parametrize("tokens", [
    pa.array([5, 2**53, -1, 2**63 - 1], pa.int64()),
    pa.array([5, 2**64 - 1, 2**53, 2**53 + 7], pa.uint64()),
    pa.array([5.0, 2.0**53, -3.0, 2.5], pa.float64()),
    pa.array(["5", "9007199254740993", "-3", "2.5"]),
])
def test_output_tokens_negative_fractional_or_past_2_53_are_quarantined(tokens):
    ts = pa.array([T0 + i for i in range(4)], pa.int64())
    v, q = _validate(_events(ts, output_tokens=tokens))
    assert v.output_tokens.tolist() == [5]
    assert q.counts == {("events", "bad_output_tokens"): 3}


def test_all_null_prompt_column_runs():
    n = 6
    ev = _events(pa.array([T0 + i for i in range(n)], pa.int64()), prompt=pa.nulls(n, pa.string()))
    res = accountgraph.detect(ev, seed=0, progress=False)
    assert res.stats["n_events"] == n and len(res.assignments) == n


def test_quarantined_rows_of_a_binary_column_are_readable():
    ev = _events(pa.array([None, T0], pa.int64()), device_id=pa.array([b"\xff\xfe", b"ok"], pa.binary()))
    res = accountgraph.detect(ev, seed=0, progress=False)
    rows = res.quarantined_rows()
    assert rows["reason"].tolist() == ["null_timestamp"]
    assert rows["device_id"].tolist() == ["\xff\xfe"]  # Latin-1 view; bytes = value.encode("latin-1")


def test_accounts_created_at_overflow_is_quarantined():
    acc = pa.table({"account_id": ["a", "b"],
                    "created_at": pa.array([T0, 2**62], pa.int64()).cast(pa.timestamp("s"))})
    q = Quarantine()
    v = validate_accounts(acc, quarantine=q)
    assert v.account_id.to_pylist() == ["a"] and np.asarray(v.created_at).tolist() == [T0 * 10**6]
    assert q.counts == {("accounts", "unparseable_created_at"): 1}
