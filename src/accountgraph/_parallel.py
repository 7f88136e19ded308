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

__all__ = ["Lane", "beside", "map_batches", "n_workers"]

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


def beside(fn: Callable[..., T], *args: Any, lane: Lane | None = None) -> Callable[[], T]:
    """Start ``fn(*args)`` on another thread when there is a second core; call the result to wait for it.

    For independent work whose heavy parts release the GIL (compiled kernels, numpy's sorts):
    the result is the same as calling ``fn(*args)`` in place, which is what happens on one core.
    An exception raised by ``fn`` is raised by the call that waits for it. With ``lane``, the
    work queues on that lane's one thread, after the work given to it before.

    Examples
    --------
    >>> wait = beside(sum, [1, 2, 3])
    >>> wait()
    6
    """
    if lane is not None:
        return lane.submit(fn, *args)
    with Lane() as one:
        return one.submit(fn, *args)


class Lane:
    """One helper thread that runs the work given to it in order (in place on one core).

    Two pieces of work queued on one lane run one after the other beside the main thread,
    not as two threads beside it: on two cores that is as fast, and their temporaries are
    not held at the same time (the score stage queues the cluster pairs and the
    infrastructure features this way).

    Examples
    --------
    >>> with Lane() as lane:
    ...     a, b = lane.submit(sum, [1, 2]), lane.submit(max, [1, 2])
    >>> a(), b()
    (3, 2)
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="accountgraph") \
            if (os.cpu_count() or 1) >= 2 else None

    def submit(self, fn: Callable[..., T], *args: Any) -> Callable[[], T]:
        """Queue ``fn(*args)``; call the result to wait for it (and raise what it raised)."""
        if self._pool is None:
            out = fn(*args)
            return lambda: out
        return self._pool.submit(fn, *args).result

    def __enter__(self) -> Lane:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)  # queued work still runs; its waiters still work
