"""Per-account sampling of prompts before hashing (bounds the template stage's cost)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._exceptions import InvalidParameterError, SchemaError

__all__ = ["sample_per_account_window"]


def _account_codes(accounts: Any) -> np.ndarray:
    """Integer group per row: integer codes as they are, anything else factorised (nulls one group)."""
    if isinstance(accounts, np.ndarray) and accounts.dtype.kind == "i":
        return accounts
    if isinstance(accounts, np.ndarray) and accounts.dtype.kind == "u" and (not len(accounts) or accounts.max() < 2**62):
        return accounts.astype(np.int64)
    arr = np.asarray(accounts, dtype=object) if not isinstance(accounts, (pd.Series, np.ndarray)) else accounts
    return pd.factorize(arr, use_na_sentinel=True)[0]


def sample_per_account_window(
    accounts: Any, timestamps: Any, *, cap: int, window: Any = "1h"
) -> np.ndarray:
    """Mask keeping at most ``cap`` rows per account per time window.

    Use it before :func:`template_families` to bound the cost of accounts that
    send millions of prompts: a ring is visible from a sample of each member's
    prompts.

    Parameters
    ----------
    accounts : array-like
        Account id or code per row (any hashable values; nulls form one group).
    timestamps : array-like
        ``datetime64`` values (or anything :func:`pandas.to_datetime` reads),
        or plain integers in the unit of ``window``.
    cap : int
        Rows kept per (account, window); >= 1.
    window : str, timedelta or int, default "1h"
        Window length: a pandas offset string (``"1h"``, ``"15min"``), a
        timedelta, or an int for integer timestamps. Windows are aligned to the
        epoch (``floor(t / window)``).

    Returns
    -------
    numpy.ndarray
        ``bool`` mask; True rows are kept. The earliest ``cap`` rows of each
        group are kept. Rows of a group with the same timestamp are kept or dropped
        together, so the mask does not depend on row order: when such a tie straddles
        the cap, all its rows are kept if the group then holds at most ``2 * cap``,
        else none of them (a burst of copies at one instant is not sampled).

    Raises
    ------
    InvalidParameterError
        If ``cap < 1``, the window is not positive, or the lengths differ.

    Notes
    -----
    One ``lexsort`` of the rows: O(n log n) time, O(n) memory.

    Examples
    --------
    >>> ts = np.array(["2024-01-01T00:10", "2024-01-01T00:20", "2024-01-01T00:30", "2024-01-01T01:05"],
    ...               dtype="datetime64[s]")
    >>> sample_per_account_window(["a", "a", "a", "a"], ts, cap=2).tolist()
    [True, True, False, True]
    """
    if int(cap) < 1:
        raise InvalidParameterError(f"The 'cap' parameter of sample_per_account_window must be an int >= 1. Got {cap!r} instead.")
    acc_codes = _account_codes(accounts)
    ts_in = np.asarray(timestamps)
    if ts_in.dtype.kind in "iu":
        ts = ts_in.astype(np.int64)
        if not isinstance(window, (int, np.integer)):
            raise InvalidParameterError(f"sample_per_account_window: integer timestamps need an integer 'window'; got {window!r}.")
        w = int(window)
    else:
        try:
            ts = pd.to_datetime(pd.Series(ts_in)).to_numpy(dtype="datetime64[ns]").view(np.int64)
            w = int(pd.Timedelta(window).value)
        except (ValueError, TypeError) as err:
            raise SchemaError(f"sample_per_account_window: cannot read timestamps/window ({err}); pass datetime64 values and e.g. window='1h'.") from err
    if w <= 0:
        raise InvalidParameterError(f"The 'window' parameter of sample_per_account_window must be positive. Got {window!r} instead.")
    if len(acc_codes) != len(ts):
        raise InvalidParameterError(f"sample_per_account_window: {len(acc_codes)} accounts but {len(ts)} timestamps.")
    n = len(ts)
    if n == 0:
        return np.zeros(0, dtype=bool)
    win = np.floor_divide(ts, w)
    return _first_per_group(acc_codes, win, ts, int(cap))


def _compiled() -> Any:
    """The compiled pass (:mod:`._sample_kernels`, numba: imported when first needed)."""
    from ._sample_kernels import visit

    return visit


def _first_per_group(acc: np.ndarray, win: np.ndarray, ts: np.ndarray, cap: int) -> np.ndarray:
    """The earliest ``cap`` rows of each (account, window), ties together: one pass in time order.

    Rows are visited in time order (no sort at all when the times already increase,
    as logs usually do), counting per group; the rows of one instant are one block
    (see :func:`sample_per_account_window` for a tie at the cap).
    """
    acc = np.asarray(acc)
    a_min = int(acc.min())
    n_acc = int(acc.max()) - a_min + 1
    w_min = int(win.min())
    n_win = int(win.max()) - w_min + 1
    in_order = bool(np.all(ts[1:] >= ts[:-1])) if len(ts) > 1 else True
    order = np.zeros(0, np.int64) if in_order else np.argsort(ts, kind="stable")
    visit = _compiled()
    if cap < 255 and n_acc * n_win <= max(4 * len(acc), 1 << 24):
        # window-major cells, computed per row: rows close in time count in one small block of counters
        none = np.zeros(0, np.int64)
        return visit(none, acc, win, a_min, w_min, n_acc, ts, order, cap,
                     np.zeros(n_acc * n_win, np.uint8))
    # Many (account, window) cells: dense codes per part first, so the combined key cannot overflow.
    a_d, _ = pd.factorize(acc)
    w_d, w_u = pd.factorize(win)
    group, uniq = pd.factorize(a_d.astype(np.int64) * len(w_u) + w_d)
    return visit(group.astype(np.int64), acc, win, 0, 0, 1, ts, order, cap, np.zeros(len(uniq), np.int64))
