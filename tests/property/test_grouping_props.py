"""The shared per-group quantile helper against a plain numpy reference, group by group."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from accountgraph._grouping import group_quantile, group_quantile_dense

# Few distinct values so that ties within a group are common.
_values = st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.25, 7.0, 1e6, -4.0]), max_size=60)


def _reference(values: np.ndarray, groups: np.ndarray, q: float) -> dict[int, tuple[int, float]]:
    """Per group: its size and the value at rank floor(q * (n - 1)) of its sorted values."""
    out = {}
    for lab in np.unique(groups):
        v = np.sort(values[groups == lab])
        out[int(lab)] = (len(v), float(v[math.floor(q * (len(v) - 1))]))
    return out


@st.composite
def _grouped(draw):
    vals = draw(_values)
    groups = draw(st.lists(st.integers(-3, 9), min_size=len(vals), max_size=len(vals)))
    q = draw(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]) | st.floats(0, 1))
    return np.array(vals, np.float64), np.array(groups, np.int64), q


@settings(max_examples=200, deadline=None)
@given(data=_grouped())
def test_group_quantile_matches_reference(data):
    values, groups, q = data
    labels, size, quant = group_quantile(values, groups, q)
    want = _reference(values, groups, q)
    assert labels.tolist() == sorted(want)
    assert [(int(n), float(x)) for n, x in zip(size, quant)] == [want[lab] for lab in sorted(want)]


@settings(max_examples=200, deadline=None)
@given(data=_grouped())
def test_lower_median_is_numpy_lower_median(data):
    values, groups, _ = data
    labels, _, med = group_quantile(values, groups, 0.5)
    for lab, m in zip(labels, med):
        # numpy's "lower" method: the lower of the two middle values for an even count.
        assert m == np.quantile(values[groups == lab], 0.5, method="lower")


@settings(max_examples=200, deadline=None)
@given(data=_grouped(), n_extra=st.integers(0, 3))
def test_dense_fills_empty_groups_with_nan(data, n_extra):
    values, groups, q = data
    groups = np.abs(groups)
    n_groups = int(groups.max(initial=-1)) + 1 + n_extra
    dense = group_quantile_dense(values, groups, n_groups, q)
    want = _reference(values, groups, q)
    assert dense.shape == (n_groups,)
    for lab in range(n_groups):
        if lab in want:
            assert dense[lab] == want[lab][1]
        else:
            assert np.isnan(dense[lab])


@settings(max_examples=100, deadline=None)
@given(data=_grouped(), seed=st.integers(0, 2**32 - 1))
def test_invariant_to_row_order(data, seed):
    values, groups, q = data
    perm = np.random.default_rng(seed).permutation(len(values))
    a = group_quantile(values, groups, q)
    b = group_quantile(values[perm], groups[perm], q)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@settings(max_examples=200, deadline=None)
@given(vals=st.lists(st.integers(0, 2**31 - 1) | st.sampled_from([0, 1, 2, 3]), max_size=60),
       data=st.data(), qs=st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]) | st.floats(0, 1), min_size=1, max_size=3))
def test_group_quantiles_int_equals_the_dense_helper(vals, data, qs):
    """The packed one-sort version gives, per quantile, exactly what group_quantile_dense gives."""
    from accountgraph._grouping import group_quantiles_int

    dtype = data.draw(st.sampled_from([np.int32, np.int64]))  # the pipeline passes int32 codes and lengths
    groups = np.array(data.draw(st.lists(st.integers(0, 7), min_size=len(vals), max_size=len(vals))), dtype)
    values = np.array(vals, dtype)
    got = group_quantiles_int(values, groups, 8, tuple(qs))
    for q, g in zip(qs, got):
        np.testing.assert_array_equal(g, group_quantile_dense(values.astype(np.float64), groups, 8, q))


@settings(max_examples=200, deadline=None)
@given(data=st.data(), qs=st.lists(st.sampled_from([0.0, 0.5, 1.0]) | st.floats(0, 1), min_size=1, max_size=3),
       dtype=st.sampled_from([np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]))
def test_group_quantiles_int_clips_every_integer_dtype(data, qs, dtype):
    """Negative and >= 2**31 values read as 0 and 2**31 - 1, whatever the dtype (the unclipped fast path included)."""
    from accountgraph._grouping import group_quantiles_int

    info = np.iinfo(dtype)
    vals = data.draw(st.lists(st.integers(int(info.min), int(info.max)), max_size=40))
    groups = np.array(data.draw(st.lists(st.integers(0, 4), min_size=len(vals), max_size=len(vals))), np.int64)
    values = np.array(vals, dtype)
    got = group_quantiles_int(values, groups, 5, tuple(qs))
    ref = np.clip(np.array(vals, dtype=object), 0, 2**31 - 1).astype(np.float64)
    for q, g in zip(qs, got):
        np.testing.assert_array_equal(g, group_quantile_dense(ref, groups, 5, q))
