"""Compiled pass of the circulant member order (numba; imported on first use by :mod:`._budget`).

One pass writes each incidence's uint64 order key, the value the vectorised formula
``mix64((node_key[account] ^ mix64(salt * C + seed)) as int64)`` gives with ``salt`` the signal id
(-1 for a signal in the common order), without its six incidence-sized temporaries (28M
incidences of the IP type at seed scale: ~1.3 GiB, on each of the two projection threads).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._hashing import GOLDEN, splitmix64

__all__ = ["circulant_keys", "mix64"]


_finalise = njit(inline="always")(splitmix64)


@njit(nogil=True, cache=True)
def mix64(z):  # type: ignore[no-untyped-def]
    """:func:`accountgraph._hashing.mix_golden` of a uint64, compiled (wrapping, as numpy's uint64 arrays)."""
    return _finalise(z + GOLDEN)


@njit(nogil=True, cache=True)
def circulant_keys(account, signal, node_key, common_of, common_idx, seed_lo):  # type: ignore[no-untyped-def]
    """Per incidence ``i``: the order key of ``account[i]`` in signal ``signal[i]``'s circulant.

    The signal's salt is ``-1`` when ``common_of[common_idx[i]]`` (one order shared by the common
    signals), else its id; ``seed_lo`` is ``seed & 0xFFFFFFFF``.
    """
    n = len(account)
    out = np.empty(n, np.uint64)
    mult = np.uint64(0x632BE59BD9B4E019)
    add = np.uint64(seed_lo)
    for i in range(n):
        s = np.int64(-1) if common_of[common_idx[i]] else np.int64(signal[i])
        salt = mix64(np.uint64(s) * mult + add)
        out[i] = mix64(np.uint64(node_key[account[i]]) ^ salt)
    return out
