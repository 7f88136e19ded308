"""Wall time and peak resident memory of a block of work (a pipeline stage).

The peak of a stage is read without side effects on the process: the kernel's
high-water mark (``VmHWM``) is never reset, since a caller may be measuring the
whole run with it. Instead a daemon thread samples the resident set every
``interval`` seconds while the block runs, and if the process's high-water mark
rose during the block, that mark is the block's exact peak (it was reached
inside it). Without ``/proc`` (not Linux) the process-lifetime peak from
:func:`resource.getrusage` is reported.

Examples
--------
>>> with Meter() as m:
...     _ = bytearray(10_000_000)
>>> m.seconds >= 0 and m.peak_mib > 0
True
"""

from __future__ import annotations

import os
import threading
import time

__all__ = ["Meter", "peak_mib", "release_free_memory", "rss_mib"]

_PAGE_MIB = os.sysconf("SC_PAGE_SIZE") / 2**20 if hasattr(os, "sysconf") else 4096 / 2**20


def rss_mib() -> float:
    """Resident set size of this process now, MiB (0 if unknown)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE_MIB
    except (OSError, IndexError, ValueError):
        return 0.0


def peak_mib() -> float:
    """High-water mark of this process's resident set, MiB."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    except (ImportError, OSError):  # pragma: no cover - no resource module
        return 0.0


def release_free_memory() -> None:
    """Hand memory that earlier work freed back to the operating system, where the allocators allow it.

    Freed blocks stay in the allocators' pools and keep counting in the resident set: Arrow's
    pool (``release_unused``) and glibc's heaps and per-thread arenas, where numpy's and
    numba's arrays smaller than glibc's mmap threshold (which grows up to 32 MiB as large
    blocks are freed) live, and which a stage's worker threads leave fragmented. The local
    pipeline calls this between stages: at seed scale (``benchmarks/results``) the graph
    stage started 0.74 GiB lower with it. ``malloc_trim`` is glibc's (Linux); elsewhere only
    Arrow's pool is asked. Takes milliseconds; changes no result.
    """
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except (ImportError, AttributeError):  # pragma: no cover - pyarrow is a dependency
        pass
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


_TRIM: list = []


def _malloc_trim():  # type: ignore[no-untyped-def]
    """glibc's ``malloc_trim``, or None (another C library, or no ctypes)."""
    if not _TRIM:
        fn = None
        try:
            import ctypes

            fn = ctypes.CDLL(None).malloc_trim
            fn.argtypes, fn.restype = [ctypes.c_size_t], ctypes.c_int
        except (ImportError, OSError, AttributeError):
            fn = None
        _TRIM.append(fn)
    return _TRIM[0]


class Meter:
    """Context manager measuring wall time and peak RSS of its block.

    Attributes (after the block)
    ----------------------------
    seconds : float
    peak_mib : float
        Peak resident set during the block (includes what earlier work still holds).
    rss_end_mib : float
        Resident set when the block ended.
    """

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.seconds = self.peak_mib = self.rss_end_mib = 0.0
        self._stop = threading.Event()
        self._max = 0.0

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self._max = max(self._max, rss_mib())

    def __enter__(self) -> Meter:
        self._hwm0 = peak_mib()
        self._max = rss_mib()
        self._thread = threading.Thread(target=self._sample, name="accountgraph-meter", daemon=True)
        self._thread.start()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._t0
        self._stop.set()
        self._thread.join()
        self.rss_end_mib = rss_mib()
        hwm = peak_mib()
        self._max = max(self._max, self.rss_end_mib)
        self.peak_mib = hwm if (hwm > self._hwm0 or self._max == 0) else self._max
