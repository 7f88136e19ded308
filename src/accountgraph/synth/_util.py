"""Small vectorised helpers shared by the synthetic-data generator.

Random streams, integer hashing, Zipf sampling and the text formatting of ids and
IP addresses. Everything here works on whole numpy arrays: formatting goes
through lookup tables of pre-rendered strings and pyarrow ``take`` /
``binary_join_element_wise`` so that no per-row Python runs.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._exceptions import InvalidParameterError
from .._hashing import mix_golden

__all__ = [
    "rng_for",
    "mix64",
    "ZipfSampler",
    "hex_text",
    "ipv4_text",
    "ipv6_text",
    "unique_u64",
    "check_seed",
    "check_scale",
    "check_positive_int",
]

_U64 = np.uint64


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    """Return an independent generator for one named stage of generation.

    Each stage (population kind, time slice) draws from its own stream so that
    adding draws in one stage never shifts the numbers of another.
    """
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=tuple(keys)))


def mix64(*parts: np.ndarray | int) -> np.ndarray:
    """Hash integer arrays (broadcast together) to uniform ``uint64`` (splitmix64)."""
    x = np.zeros((), dtype=_U64)
    with np.errstate(over="ignore"):
        for p in parts:
            x = mix_golden(x ^ np.asarray(p).astype(_U64))
    return np.asarray(x, dtype=_U64)


class ZipfSampler:
    """Draw ranks ``0..n-1`` with probability proportional to ``1 / (rank + q) ** a``.

    Sampling is a gather from a 2**18-entry inverse-CDF table, so a draw costs one
    random integer and one memory read; ranks rarer than ~1e-6 are slightly
    under-represented, which is immaterial for vocabularies and pools.
    """

    _BITS = 18

    def __init__(self, n: int, a: float = 1.1, q: float = 2.7) -> None:
        self.n = int(n)
        w = 1.0 / (np.arange(self.n, dtype=np.float64) + q) ** a
        cdf = np.cumsum(w)
        cdf /= cdf[-1]
        grid = (np.arange(1 << self._BITS, dtype=np.float64) + 0.5) / (1 << self._BITS)
        self._table = np.minimum(np.searchsorted(cdf, grid), self.n - 1).astype(np.int32)

    def __call__(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return self._table[rng.integers(0, 1 << self._BITS, size=size)]


@lru_cache(maxsize=None)
def _hex4(pad: bool) -> pa.Array:
    fmt = "{:04x}" if pad else "{:x}"
    return pa.array([fmt.format(i) for i in range(1 << 16)], type=pa.string())


@lru_cache(maxsize=None)
def _octets() -> pa.Array:
    return pa.array([str(i) for i in range(256)], type=pa.string())


def hex_text(prefix: str, values: np.ndarray, groups: int = 3) -> pa.Array:
    """Render ``prefix`` + the low ``16 * groups`` bits of ``values`` as hex text."""
    v = np.asarray(values).astype(_U64)
    table = _hex4(True)
    parts = [
        table.take(pa.array(((v >> _U64(16 * g)) & _U64(0xFFFF)).astype(np.int32)))
        for g in range(groups - 1, -1, -1)
    ]
    return pc.binary_join_element_wise(prefix, *parts, "")


def ipv4_text(ips: np.ndarray) -> pa.Array:
    """Render ``uint32`` addresses as dotted-quad text."""
    v = np.asarray(ips).astype(np.uint32)
    table = _octets()
    parts = [table.take(pa.array(((v >> np.uint32(s)) & np.uint32(255)).astype(np.int32)))
             for s in (24, 16, 8, 0)]
    return pc.binary_join_element_wise(*parts, ".")


def ipv6_text(carrier: str, prefix: np.ndarray, iid: np.ndarray) -> pa.Array:
    """Render IPv6 text ``carrier:p1:p2:i1:i2:i3:i4`` (32-bit prefix, 64-bit interface id)."""
    table = _hex4(False)
    p = np.asarray(prefix).astype(_U64)
    i = np.asarray(iid).astype(_U64)
    groups = [((p >> _U64(s)) & _U64(0xFFFF)) for s in (16, 0)]
    groups += [((i >> _U64(s)) & _U64(0xFFFF)) for s in (48, 32, 16, 0)]
    parts = [table.take(pa.array(g.astype(np.int32))) for g in groups]
    return pc.binary_join_element_wise(carrier, *parts, ":")


def unique_u64(rng: np.random.Generator, n: int, bits: int = 48) -> np.ndarray:
    """Draw ``n`` distinct random integers below ``2**bits`` (order is random)."""
    out = rng.integers(0, 1 << bits, size=n, dtype=np.int64)
    while True:
        _, first = np.unique(out, return_index=True)
        if first.size == n:
            return out.astype(_U64)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        out[dup] = rng.integers(0, 1 << bits, size=int(dup.sum()), dtype=np.int64)


def check_seed(seed: object, func: str) -> int:
    """Validate a seed: a non-negative int."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidParameterError(
            f"The 'seed' parameter of {func} must be an int in [0, inf). Got {seed!r} instead."
        )
    return int(seed)


def check_scale(scale: object, func: str) -> float:
    """Validate a scale factor: a finite float in (0, 1000]."""
    ok = isinstance(scale, (int, float, np.integer, np.floating)) and not isinstance(scale, bool)
    if not ok or not np.isfinite(scale) or not 0 < float(scale) <= 1000:  # type: ignore[arg-type]
        raise InvalidParameterError(
            f"The 'scale' parameter of {func} must be a float in (0, 1000]. Got {scale!r} "
            "instead. Use scale=1.0 for the documented sizes, smaller values for quick runs."
        )
    return float(scale)  # type: ignore[arg-type]


def check_positive_int(value: object, name: str, func: str) -> int:
    """Validate a strictly positive int parameter."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidParameterError(
            f"The {name!r} parameter of {func} must be an int in [1, inf). Got {value!r} instead."
        )
    return int(value)
