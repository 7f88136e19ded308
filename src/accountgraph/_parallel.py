"""Thread parallelism: ordered batches for the stages that hash text (minhash, templates), and
independent work run beside the main thread (scoring)."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

from ._exceptions import InvalidParameterError

__all__ = ["beside", "map_batches", "n_workers"]

T = TypeVar("T")


def n_workers(n_jobs: int | None, *, owner: str = "prompt_signatures") -> int:
    """Worker count for ``n_jobs``: ``None`` -> 1, ``-1`` -> every core, else ``n_jobs`` (>= 1)."""
    if n_jobs is None:
        return 1
    if not isinstance(n_jobs, (int, np.integer)) or isinstance(n_jobs, bool) or n_jobs == 0 or n_jobs < -1:
        raise InvalidParameterError(
            f"The 'n_jobs' parameter of {owner} must be None, -1 or an int >= 1. Got {n_jobs!r} instead."
        )
    return (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)


def map_batches(fn: Callable[[T], Any], batches: Iterable[T], n_jobs: int | None) -> Iterator[Any]:
    """Apply ``fn`` to batches, yielding results in input order.

    With more than one worker, batches run on a thread pool (pyarrow's string
    kernels, numpy's array loops and the compiled kernels release the GIL). At
    most two batches per worker are in flight, so memory stays bounded by the
    batch size. Results do not depend on the number of workers: each batch is
    computed independently and results come back in batch order.
    """
    workers = n_workers(n_jobs)
    if workers == 1:
        for batch in batches:
            yield fn(batch)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="accountgraph") as pool:
        pending: deque[Future[Any]] = deque()
        for batch in batches:
            pending.append(pool.submit(fn, batch))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def beside(fn: Callable[..., T], *args: Any) -> Callable[[], T]:
    """Start ``fn(*args)`` on another thread when there is a second core; call the result to wait for it.

    For independent work whose heavy parts release the GIL (compiled kernels, numpy's sorts):
    the result is the same as calling ``fn(*args)`` in place, which is what happens on one core.
    An exception raised by ``fn`` is raised by the call that waits for it.

    Examples
    --------
    >>> wait = beside(sum, [1, 2, 3])
    >>> wait()
    6
    """
    if (os.cpu_count() or 1) < 2:
        out = fn(*args)
        return lambda: out
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="accountgraph")
    fut = pool.submit(fn, *args)
    pool.shutdown(wait=False)
    return fut.result
