"""64-bit keys of pairs of codes: ``a << 32 | b`` (sorts by ``a``, then ``b``)."""

from __future__ import annotations

import numpy as np

__all__ = ["pack", "unpack"]

_SHIFT = np.int64(32)
_MASK = np.int64(0xFFFFFFFF)


def pack(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a << 32 | b`` for codes below 2**31."""
    return (np.asarray(a, np.int64) << _SHIFT) | np.asarray(b, np.int64)


def unpack(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`pack`."""
    return key >> _SHIFT, key & _MASK
