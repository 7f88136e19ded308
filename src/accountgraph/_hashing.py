"""The 64-bit mixers every stage uses: one definition each, for numpy arrays and compiled kernels.

The functions are written with plain operators on ``numpy.uint64`` values, so
the same source runs vectorised on numpy arrays (wrapping arithmetic) and is
compiled as a scalar function inside the numba kernels of
:mod:`accountgraph.minhash._kernels` (``njit(fmix64)``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["fmix64", "mix_golden", "splitmix64", "GOLDEN"]

#: 2**64 / golden ratio, the Weyl increment of splitmix64.
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S33 = np.uint64(33)
_C1 = np.uint64(0xFF51AFD7ED558CCD)
_C2 = np.uint64(0xC4CEB9FE1A85EC53)
_SM_S1, _SM_S2, _SM_S3 = np.uint64(30), np.uint64(27), np.uint64(31)
_SM_M1 = np.uint64(0xBF58476D1CE4E5B9)
_SM_M2 = np.uint64(0x94D049BB133111EB)


def fmix64(h):  # type: ignore[no-untyped-def]
    """MurmurHash3's 64-bit finaliser of ``uint64`` values (array or scalar)."""
    h = h ^ (h >> _S33)
    h = h * _C1
    h = h ^ (h >> _S33)
    h = h * _C2
    return h ^ (h >> _S33)


def splitmix64(x):  # type: ignore[no-untyped-def]
    """splitmix64's finaliser (Stafford's mix 13) of ``uint64`` values (array or scalar)."""
    x = x ^ (x >> _SM_S1)
    x = x * _SM_M1
    x = x ^ (x >> _SM_S2)
    x = x * _SM_M2
    return x ^ (x >> _SM_S3)


def mix_golden(x):  # type: ignore[no-untyped-def]
    """:func:`splitmix64` of ``x + GOLDEN`` (one step of the splitmix64 generator), array or scalar.

    Compiled kernels call ``njit(splitmix64)`` on ``x + GOLDEN`` themselves (numba does not
    call a plain Python function), as :mod:`accountgraph.graph._circulant_kernels` does.
    """
    return splitmix64(x + GOLDEN)
