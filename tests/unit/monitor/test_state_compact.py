"""Kept events are held narrow and handed out wide (monitor/_state.py)."""

import numpy as np

from accountgraph.monitor._state import EventSegment, State


def _seg(**over):
    n = 4
    cols = {"account": np.arange(n), "ts": np.arange(n) * 10**12, "output": np.full(n, 900),
            "family": np.array([-1, 0, 1, 2]), "model": np.zeros(n, np.int64), "ip": np.array([5, -1, 7, 8])}
    cols.update(over)
    return EventSegment(0, *(np.asarray(cols[c]) for c in ("account", "ts", "output", "family", "model", "ip")))


def test_codes_and_counts_are_kept_as_int32_and_time_as_int64():
    s = _seg()
    assert s.ts.dtype == np.int64 and s.ts[-1] == 3 * 10**12
    for c in ("account", "output", "family", "model", "ip"):
        assert getattr(s, c).dtype == np.int32, c
    assert s.filter(np.array([True, False, True, True])).account.dtype == np.int32


def test_a_column_that_does_not_fit_int32_stays_int64_unchanged():
    big = np.array([1, 2**31, -5, 3], np.int64)
    s = _seg(output=big)
    assert s.output.dtype == np.int64
    np.testing.assert_array_equal(s.output, big)
    assert _seg(output=np.array([0, 2**31 - 1, -(2**31), 1])).output.dtype == np.int32


def test_events_where_hands_out_int64_with_the_same_values():
    state = State()
    state.segments = [_seg(), _seg(output=np.array([1, 2**31, -5, 3]))]
    ev = state.events_where([np.array([True, False, True, False]), None])
    for c in ("account", "ts", "output", "family", "model", "ip"):
        assert getattr(ev, c).dtype == np.int64, c
    np.testing.assert_array_equal(ev.output, [900, 900, 1, 2**31, -5, 3])
    np.testing.assert_array_equal(ev.family, [-1, 1, -1, 0, 1, 2])
