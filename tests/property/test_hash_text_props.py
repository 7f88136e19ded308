"""The compiled string hash of the monitor's codes is pandas' ``hash_array`` (the oracle), row for row.

Every state the monitor has written keys its accounts and signal values by these hashes, so
any difference would silently split an account or a signal in two across versions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from accountgraph.monitor._codes import hash_text

rows = st.lists(st.one_of(st.none(), st.text(max_size=40), st.sampled_from(["", "None", "a" * 8, "a" * 16])),
                max_size=60)


def _pandas(values: list) -> np.ndarray:
    return pd.util.hash_array(np.array(values, dtype=object), categorize=False) if values else np.zeros(0, np.uint64)


@settings(max_examples=200, deadline=None)
@given(rows, st.sampled_from([pa.string(), pa.large_string(), pa.string_view()]), st.integers(0, 5), st.integers(1, 4))
def test_arrow_strings_hash_as_pandas_hashes_them(values, typ, cut, n_chunks):
    want = _pandas(values)
    arr = pa.array(values, typ)
    np.testing.assert_array_equal(hash_text(arr), want)
    np.testing.assert_array_equal(hash_text(arr[cut:]), want[cut:])  # a slice: offsets start past 0
    step = max(1, len(values) // n_chunks)
    chunked = pa.chunked_array([arr[i: i + step] for i in range(0, len(values), step)], typ)
    np.testing.assert_array_equal(hash_text(chunked), want)
    if typ != pa.string_view():  # pyarrow cannot decode a dictionary of views (nor could the pandas path)
        np.testing.assert_array_equal(hash_text(arr.dictionary_encode()), want)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.none(), st.binary(max_size=30)), max_size=40))
def test_arrow_binary_hashes_as_pandas_hashes_bytes(values):
    want = _pandas(values)
    np.testing.assert_array_equal(hash_text(pa.array(values, pa.binary())), want)
    np.testing.assert_array_equal(hash_text(pa.array(values, pa.large_binary())), want)


def test_a_null_hashes_as_the_text_none_and_not_as_the_empty_string():
    h = hash_text(pa.array([None, "None", ""]))
    assert h[0] == h[1] != h[2]
