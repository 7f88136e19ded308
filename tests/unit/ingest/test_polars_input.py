"""polars input (ingest/_io.py:to_arrow): DataFrames give the same result as pyarrow; LazyFrames."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

import accountgraph
from tests.conftest import planted

pl = pytest.importorskip("polars")


@pytest.fixture(scope="module")
def small():
    return planted(n_legit=60, ring_size=10, n_days=5)


def test_polars_dataframes_give_the_pyarrow_assignments(small):
    ev, acc, ring = small
    want = accountgraph.detect(pa.Table.from_pandas(ev), pa.Table.from_pandas(acc)).assignments
    got = accountgraph.detect(pl.from_pandas(ev), pl.from_pandas(acc)).assignments
    pd.testing.assert_frame_equal(got, want)
    assert set(got.loc[got.flagged, "account_id"]) == ring


def test_polars_lazyframes_are_collected(small):
    ev, acc, _ = small
    want = accountgraph.detect(pa.Table.from_pandas(ev), pa.Table.from_pandas(acc)).assignments
    got = accountgraph.detect(pl.from_pandas(ev).lazy(), pl.from_pandas(acc).lazy()).assignments
    pd.testing.assert_frame_equal(got, want)
