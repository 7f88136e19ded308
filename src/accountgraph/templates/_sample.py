"""Per-account sampling of prompts before hashing (bounds the template stage's cost)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._exceptions import InvalidParameterError, SchemaError

__all__ = ["sample_per_account_window"]


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
        group are kept; exact timestamp ties are broken by row position.

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
    acc_codes, _ = pd.factorize(np.asarray(accounts, dtype=object) if not isinstance(accounts, (pd.Series, np.ndarray)) else accounts, use_na_sentinel=True)
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
    order = np.lexsort((np.arange(n), ts, win, acc_codes))
    a_s, w_s = acc_codes[order], win[order]
    start = np.r_[True, (a_s[1:] != a_s[:-1]) | (w_s[1:] != w_s[:-1])]
    group_start = np.maximum.accumulate(np.where(start, np.arange(n), 0))
    keep = np.empty(n, dtype=bool)
    keep[order] = (np.arange(n) - group_start) < int(cap)
    return keep
