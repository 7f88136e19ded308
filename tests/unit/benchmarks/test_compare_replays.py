"""The ring-timeliness summary of benchmarks/compare_replays.py."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
from compare_replays import _hours, timeliness  # noqa: E402


def _row(ring, when, share):
    return [ring, "10", "100", "start", "flag", when, "5", share, "0", "1"]


def test_hours_reads_timedeltas_and_never():
    assert _hours("0 days 02:30:00.25") == pytest.approx(2.5)
    assert _hours("3 days 00:00:36") == pytest.approx(72.01)
    assert _hours("NaT") == float("inf")


def test_timeliness_counts_day_catches_misses_and_moves():
    old = [_row("a", "0 days 05:00:00", "0.01"), _row("b", "1 days 01:00:00", "0.05"), _row("c", "NaT", "1.0"),
           _row("d", "0 days 23:59:00", "0.02")]
    new = [_row("a", "2 days 05:00:00", "0.30"), _row("b", "0 days 03:00:00", "0.01"), _row("c", "NaT", "1.0"),
           _row("d", "0 days 23:59:00", "0.02")]
    t = timeliness(old, new)
    assert (t["rings"], t["day_old"], t["day_new"], t["never_old"], t["never_new"]) == (4, 2, 2, 1, 1)
    assert (t["earlier"], t["later"]) == (1, 1)
    assert t["share_old"] == pytest.approx((0.02 + 0.05) / 2) and t["share_new"] == pytest.approx((0.02 + 0.30) / 2)
