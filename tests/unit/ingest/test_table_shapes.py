"""Table shapes users hand in: duplicated column names, a named pandas index."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

import accountgraph
from accountgraph.ingest import to_arrow

BASE = pd.DataFrame({
    "account_id": ["a", "b", "c", "a"],
    "timestamp": pd.to_datetime(["2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04"], utc=True),
    "ip": ["1.2.3.4", "1.2.3.4", "5.6.7.8", "5.6.7.8"],
})


@pytest.mark.parametrize("table", [
    pd.concat([BASE, BASE[["ip"]]], axis=1),
    pa.table([pa.array(["a"]), pa.array([1]), pa.array(["x"])], names=["account_id", "timestamp", "account_id"]),
], ids=["pandas", "pyarrow"])
def test_duplicated_column_names_are_a_schema_error_naming_them(table):
    with pytest.raises(accountgraph.SchemaError, match=r"duplicated column name\(s\) \['(ip|account_id)'\]"):
        accountgraph.detect(table)


@pytest.mark.parametrize("index", [["account_id"], ["account_id", "timestamp"]])
def test_named_index_levels_are_read_as_columns(index):
    want = accountgraph.detect(BASE, seed=0).assignments
    got = accountgraph.detect(BASE.set_index(index), seed=0).assignments
    pd.testing.assert_frame_equal(got, want)


def test_an_unnamed_index_is_dropped():
    assert to_arrow(BASE.set_axis([10, 11, 12, 13]), name="events").column_names == ["account_id", "timestamp", "ip"]
