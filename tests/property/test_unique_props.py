"""The sort-based :func:`accountgraph._unique.unique` / :func:`union` against NumPy's ``unique`` / ``union1d``."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from accountgraph._unique import factorize_sorted_values, lexsort, union, unique

dtypes = st.sampled_from([np.int64, np.int32, np.uint64, np.uint32, np.int8, np.bool_, np.float64])


@settings(max_examples=200, deadline=None)
@given(dtypes.flatmap(lambda dt: hnp.arrays(dt, st.integers(0, 60))))
def test_unique_is_numpys(x):
    got, want = unique(x), np.unique(x)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.int64, st.integers(0, 40), elements=st.integers(-50, 50)),
       hnp.arrays(np.int64, st.integers(0, 40), elements=st.integers(-50, 50)))
def test_union_is_numpys(a, b):
    np.testing.assert_array_equal(union(a, b), np.union1d(a, b))


@settings(max_examples=150, deadline=None)
@given(hnp.arrays(np.uint64, st.integers(0, 60), elements=st.integers(0, 40)),
       hnp.arrays(np.uint64, st.integers(0, 80), elements=st.integers(0, 45)),
       st.sampled_from([0, 1 << 15]))
def test_search_is_numpys_searchsorted(ref, q, threshold):
    """Sorted or as given (threshold 0 forces the sorted-query path on these small arrays), with ties."""
    from accountgraph import _unique

    ref = np.sort(ref)
    before = _unique.SORT_QUERIES
    _unique.SORT_QUERIES = threshold
    try:
        got = _unique.search(ref, q)
    finally:
        _unique.SORT_QUERIES = before
    np.testing.assert_array_equal(got, np.searchsorted(ref, q))


key_dtypes = st.sampled_from([np.int64, np.int32, np.uint64, np.uint32, np.int16, np.int8, np.bool_])


@st.composite
def key_tuples(draw):
    """1-3 integer keys of one length, narrow (packed) or as wide as the dtype (``np.lexsort``)."""
    n = draw(st.integers(0, 50))
    keys = []
    for _ in range(draw(st.integers(1, 3))):
        dt = np.dtype(draw(key_dtypes))
        if dt == np.bool_:
            keys.append(draw(hnp.arrays(dt, n)))
            continue
        info = np.iinfo(dt)
        lo, hi = draw(st.sampled_from([(0, 3), (-5, 5), (int(info.min), int(info.max))]))
        keys.append(draw(hnp.arrays(dt, n, elements=st.integers(max(lo, int(info.min)), min(hi, int(info.max))))))
    return tuple(keys)


@settings(max_examples=200, deadline=None)
@given(key_tuples())
def test_lexsort_is_numpys(keys):
    """The packed sort (forced on small arrays) gives ``np.lexsort``'s order: stable, last key first."""
    from accountgraph import _unique

    before = _unique.PACK_MIN
    _unique.PACK_MIN = 0
    try:
        got = lexsort(keys)
    finally:
        _unique.PACK_MIN = before
    np.testing.assert_array_equal(got, np.lexsort(keys))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([np.int64, np.int32, np.uint64, np.uint8, np.float64]).flatmap(
    lambda dt: hnp.arrays(dt, st.integers(0, 60), elements=st.integers(0, 30) if dt != np.float64 else None)))
def test_unique_inverse_is_numpys(x):
    """Values, inverse and counts of ``np.unique`` (the hash path forced on these small arrays), dtypes too."""
    from accountgraph import _unique

    before = _unique.PACK_MIN
    _unique.PACK_MIN = 0
    try:
        got = _unique.unique_inverse(x)
    finally:
        _unique.PACK_MIN = before
    want = np.unique(x, return_inverse=True, return_counts=True)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w.reshape(-1))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([np.uint64, np.int64, np.int32]).flatmap(
    lambda dt: hnp.arrays(dt, st.integers(0, 80), elements=st.integers(0, 30) | st.integers(0, 2**31 - 1))))
def test_factorize_sorted_values_is_numpys_unique_inverse(x):
    codes, uniq = factorize_sorted_values(x)
    want_uniq, want_codes = np.unique(x, return_inverse=True)
    np.testing.assert_array_equal(uniq, want_uniq)
    np.testing.assert_array_equal(codes, want_codes.reshape(-1))
    assert uniq.dtype == x.dtype and codes.dtype == np.intp
