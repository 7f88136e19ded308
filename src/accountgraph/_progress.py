"""Progress of long work inside a stage: a tqdm bar, or nothing; never a print.

A stage reports its units of work (rows read, signals projected, components
split, dossiers rendered) through :func:`task`. Whether anything is shown is
decided once, by whoever runs the work (the pipeline, :meth:`DetectionResult.report`),
with :func:`reporting`; library functions called on their own show nothing.
Each finished task is also logged at DEBUG level with its count and duration.

Examples
--------
>>> with reporting(False), task("rows read", total=3, unit="rows") as t:
...     for _ in range(3):
...         t.update(1)
>>> t.n
3
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

__all__ = ["Task", "reporting", "task", "enabled"]

logger = logging.getLogger(__name__)

#: Whether progress bars are shown in this context (None: not decided, nothing shown).
_SHOW: ContextVar[bool] = ContextVar("accountgraph_progress", default=False)


def enabled(progress: bool | None) -> bool:
    """Resolve a ``progress`` parameter: None shows bars only on an interactive terminal."""
    return bool(sys.stderr.isatty()) if progress is None else bool(progress)


@contextlib.contextmanager
def reporting(progress: bool | None) -> Iterator[None]:
    """Show (or hide) the progress of every :func:`task` opened inside this block."""
    token = _SHOW.set(enabled(progress))
    try:
        yield
    finally:
        _SHOW.reset(token)


class Task:
    """Counter of one unit of work; drives a tqdm bar when progress is shown."""

    def __init__(self, desc: str, total: int | None, unit: str, bar: Any) -> None:
        self.desc, self.total, self.unit, self.n = desc, total, unit, 0
        self._bar = bar
        self._t0 = time.perf_counter()

    def update(self, n: int = 1) -> None:
        """Count ``n`` more units done."""
        self.n += int(n)
        if self._bar is not None:
            self._bar.update(int(n))

    def close(self) -> None:
        """Close the bar and log the count."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        logger.debug("%s: %d %s in %.2fs", self.desc, self.n, self.unit, time.perf_counter() - self._t0)


@contextlib.contextmanager
def task(desc: str, total: int | None = None, unit: str = "rows") -> Iterator[Task]:
    """A unit of work whose progress is shown if the enclosing :func:`reporting` says so.

    Parameters
    ----------
    desc : str
        What is counted, e.g. ``"events read"``.
    total : int, optional
        Units expected (the bar shows a percentage and an estimate of the time left).
    unit : str
        Name of one unit.
    """
    bar = None
    if _SHOW.get():
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=desc, unit=unit, unit_scale=True, leave=False, position=1,
                   dynamic_ncols=True, mininterval=0.5)
    t = Task(desc, total, unit, bar)
    try:
        yield t
    finally:
        t.close()
