"""Input contract: required columns, types, and every quarantine reason."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

import accountgraph
from accountgraph import Quarantine, SchemaError
from accountgraph.ingest._schema import factorize_sorted, validate_accounts, validate_events


def _ev(**cols):
    base = {"account_id": ["a", "b"], "timestamp": pd.to_datetime(["2026-05-01", "2026-05-02"], utc=True)}
    base.update(cols)
    return pd.DataFrame(base)


def test_missing_required_column_names_it():
    with pytest.raises(SchemaError, match=r"missing required column\(s\) \['timestamp'\].*Columns found: \['account_id'\]"):
        validate_events(pd.DataFrame({"account_id": ["a"]}), quarantine=Quarantine())


def test_column_map_is_applied_and_checked():
    ev = pd.DataFrame({"user": ["a"], "ts": pd.to_datetime(["2026-05-01"], utc=True)})
    v = validate_events(ev, columns={"account_id": "user", "timestamp": "ts"}, quarantine=Quarantine())
    assert v.account_id.to_pylist() == ["a"]
    with pytest.raises(SchemaError, match="no such column"):
        validate_events(ev, columns={"account_id": "nope"}, quarantine=Quarantine())


@pytest.mark.parametrize("bad", [[1.5, 2.5], [True, False]])
def test_unusable_account_type_raises(bad):
    with pytest.raises(SchemaError, match="account_id must hold strings"):
        validate_events(_ev(account_id=bad), quarantine=Quarantine())


def test_unusable_timestamp_type_raises():
    with pytest.raises(SchemaError, match="timestamp must be a timestamp"):
        validate_events(_ev(timestamp=[True, False]), quarantine=Quarantine())


def test_unusable_output_tokens_type_raises():
    t = pa.table({"account_id": ["a"], "timestamp": [1_777_000_000], "output_tokens": pa.array([[1]])})
    with pytest.raises(SchemaError, match="output_tokens must be an integer"):
        validate_events(t, quarantine=Quarantine())


@pytest.mark.parametrize(
    ("cols", "reason"),
    [
        ({"account_id": ["a", "  "]}, "empty_account_id"),
        ({"account_id": ["a", None]}, "empty_account_id"),
        ({"timestamp": ["2026-05-01T00:00:00Z", None]}, "null_timestamp"),
        ({"timestamp": ["2026-05-01T00:00:00Z", "yesterday-ish"]}, "unparseable_timestamp"),
        ({"timestamp": [1_777_000_000, 1_777_000_000_000]}, "timestamp_out_of_range"),
        ({"ip": ["10.0.0.1", "10.0.0.256"]}, "malformed_ip"),
        ({"ip": ["10.0.0.1", "010.0.0.1"]}, "malformed_ip"),
        ({"ip": ["10.0.0.1", "fe80::zz"]}, "malformed_ip"),
        ({"output_tokens": [10, -3]}, "bad_output_tokens"),
        ({"output_tokens": ["10", "many"]}, "bad_output_tokens"),
    ],
)
def test_each_bad_row_reason_is_counted(cols, reason):
    q = Quarantine()
    v = validate_events(_ev(**cols), quarantine=q)
    assert len(v) == 1
    assert q.counts == {("events", reason): 1}
    assert q.to_pandas().to_dict("records") == [{"table": "events", "reason": reason, "rows": 1}]


def test_nothing_is_lost_end_to_end():
    ev = _ev(account_id=["a", ""], ip=["10.0.0.1", "10.0.0.2"])
    res = accountgraph.detect(ev)
    assert res.quarantine.total == 1
    assert res.stats["n_events"] + res.quarantine.total == res.stats["n_events_in"]
    assert res.assignments["account_id"].tolist() == ["a"]


def test_timestamps_forms_agree():
    iso = _ev(timestamp=["2026-05-01T12:00:00Z", "2026-05-01T14:00:00+02:00"])
    epoch = _ev(timestamp=[1777636800, 1777636800.0])
    naive = _ev(timestamp=pd.to_datetime(["2026-05-01 12:00", "2026-05-01 12:00"]))
    got = [validate_events(t, quarantine=Quarantine()).timestamp.tolist() for t in (iso, epoch, naive)]
    assert got[0] == got[1] == got[2] == [1777636800_000_000] * 2


def test_ipv6_is_canonicalised():
    v = validate_events(_ev(ip=["2001:DB8:0:0::1", "10.1.2.3"]), quarantine=Quarantine())
    assert v.ip.to_pylist() == ["2001:db8::1", "10.1.2.3"]


def test_accounts_dedup_is_order_independent():
    a = pd.DataFrame({"account_id": ["x", "x", "y"],
                      "created_at": pd.to_datetime(["2026-01-02", "2026-01-01", "2026-01-03"], utc=True),
                      "payment_id": ["p2", "p1", None]})
    for frame in (a, a.iloc[::-1]):
        q = Quarantine()
        v = validate_accounts(frame, quarantine=q)
        got = dict(zip(v.account_id.to_pylist(), v.payment_id.to_pylist()))
        assert got == {"x": "p1", "y": None}
        assert q.counts == {("accounts", "duplicate_account_id"): 1}


def test_factorize_sorted_is_order_free():
    c1, u1 = factorize_sorted(pa.array(["b", "a", None, "b"]))
    c2, u2 = factorize_sorted(pa.array(["a", "b", "b", None]))
    assert u1.to_pylist() == u2.to_pylist() == ["a", "b"]
    assert c1.tolist() == [1, 0, -1, 1] and c2.tolist() == [0, 1, 1, -1]


def test_csv_and_parquet_paths(tmp_path):
    ev = _ev(ip=["10.0.0.1", "10.0.0.2"])
    ev.to_csv(tmp_path / "e.csv", index=False)
    ev.to_parquet(tmp_path / "e.parquet")
    a = accountgraph.detect(tmp_path / "e.csv").assignments
    b = accountgraph.detect(str(tmp_path / "e.parquet")).assignments
    pd.testing.assert_frame_equal(a, b)


def test_unsupported_object_raises():
    with pytest.raises(SchemaError, match="expected a pandas, pyarrow or polars table"):
        accountgraph.detect([1, 2, 3])


def test_caller_data_not_mutated(planted_data):
    ev, acc, _ = planted_data
    before = ev.copy(deep=True)
    accountgraph.detect(ev, acc)
    pd.testing.assert_frame_equal(ev, before)
