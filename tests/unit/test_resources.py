"""Stage meter (accountgraph._resources): wall time and peak memory of a block."""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest

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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim and /proc are Linux's")
def test_release_free_memory_returns_freed_heap_blocks_to_the_system():
    """Blocks freed below glibc's mmap threshold stay resident until trimmed; the release trims them."""
    from accountgraph._resources import _malloc_trim, release_free_memory, rss_mib

    if _malloc_trim() is None:
        pytest.skip("not glibc")
    blocks = [bytearray(4000) for _ in range(50_000)]  # ~200 MB of heap blocks (malloc, not mmap)
    for b in blocks:
        b[::512] = b"x" * len(b[::512])  # touched: resident
    keep = bytearray(4000)  # allocated after them: the heap's top is not free, so free() cannot trim it
    before = rss_mib()
    del blocks
    freed = rss_mib()
    release_free_memory()
    after = rss_mib()
    assert before - after > 100, (before, freed, after)
    assert len(keep) == 4000
