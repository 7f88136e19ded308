"""Stage meter (accountgraph._resources): wall time and peak memory of a block."""

from __future__ import annotations

import time

import numpy as np

from accountgraph._resources import Meter, peak_mib, rss_mib


def test_meter_sees_a_transient_allocation():
    with Meter() as idle:
        pass
    with Meter() as busy:
        a = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
        time.sleep(0.2)  # held across several samples (20 ms apart)
        del a
    assert busy.seconds >= 0 and idle.seconds >= 0
    # The allocation was freed before the block ended, yet its peak is seen; an idle block
    # (negative control) does not rise above where it started by anything like it.
    assert busy.peak_mib >= idle.rss_end_mib + 48
    assert idle.peak_mib < idle.rss_end_mib + 48


def test_meter_never_resets_the_process_high_water_mark():
    before = peak_mib()
    with Meter():
        pass
    assert peak_mib() >= before
    assert 0 < rss_mib() <= peak_mib() + 1
