"""ingest take_rows: the same rows as Arrow's Table.take, without concatenating chunks."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from accountgraph.ingest._columns import take_rows, take_sorted

text = st.one_of(st.none(), st.text(max_size=8))


@st.composite
def chunked_tables(draw):
    sizes = draw(st.lists(st.integers(0, 6), min_size=1, max_size=5))
    s_chunks = [pa.array(draw(st.lists(text, min_size=k, max_size=k)), pa.string()) for k in sizes]
    i_chunks = [pa.array(draw(st.lists(st.one_of(st.none(), st.integers(-9, 9)), min_size=k, max_size=k)), pa.int64())
                for k in sizes]
    table = pa.table({"s": pa.chunked_array(s_chunks, pa.string()), "i": pa.chunked_array(i_chunks, pa.int64())})
    n = table.num_rows
    rows = np.array(sorted(draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=12))) if n else [], np.int64)
    return table, rows


@settings(max_examples=200, deadline=None)
@given(chunked_tables())
def test_take_rows_equals_arrow_take(case):
    table, rows = case
    got = take_rows(table, rows)
    assert got.schema == table.schema
    assert got.to_pydict() == table.take(pa.array(rows, pa.int64())).to_pydict()
    # never more chunks than the source column had: nothing was concatenated or split further
    assert all(got[c].num_chunks <= table[c].num_chunks for c in table.column_names)


@settings(max_examples=100, deadline=None)
@given(chunked_tables())
def test_take_sorted_on_one_column_and_on_a_plain_array(case):
    table, rows = case
    want = table["s"].take(pa.array(rows, pa.int64())).to_pylist()
    assert take_sorted(table["s"], rows).to_pylist() == want
    assert take_sorted(table["s"].combine_chunks(), rows).to_pylist() == want
