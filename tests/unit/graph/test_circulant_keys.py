"""The compiled circulant order keys equal the vectorised formula they replace, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from accountgraph.graph._budget import circulant_pairs
from accountgraph.graph._circulant_kernels import circulant_keys


def _mix64(x: np.ndarray) -> np.ndarray:
    z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _reference(account, signal, node_key, common, seed):
    """The numpy formula of ``circulant_pairs`` before its compiled pass."""
    with np.errstate(over="ignore"):
        salt_sig = signal.astype(np.int64) if common is None else np.where(common[signal], -1, signal)
        salt = _mix64(salt_sig.astype(np.int64) * 0x632BE59BD9B4E019 + (seed & 0xFFFFFFFF))
        return _mix64((node_key[account].astype(np.uint64) ^ salt).astype(np.int64))


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**40 + 7, -3])
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_keys_equal_the_vectorised_formula(seed, dtype):
    rng = np.random.default_rng(abs(seed) % 1000)
    n_acc, n_sig, m = 500, 60, 4000
    account = rng.integers(0, n_acc, m).astype(dtype)
    signal = np.sort(rng.integers(0, n_sig, m)).astype(dtype)
    node_key = rng.integers(0, 2**62, n_acc)
    common = rng.random(n_sig) < 0.3
    for c in (None, common):
        want = _reference(account, signal, node_key, c, seed)
        c_of = np.zeros(1, bool) if c is None else c
        c_idx = np.zeros(m, np.int64) if c is None else signal
        got = circulant_keys(account, signal, node_key, c_of, c_idx, seed & 0xFFFFFFFF)
        assert got.dtype == np.uint64
        np.testing.assert_array_equal(got, want)


def test_int32_codes_give_the_int64_pairs():
    """Compact codes change the pairs' dtype, never the pairs."""
    rng = np.random.default_rng(5)
    acc = rng.integers(0, 300, 3000)
    sig = np.sort(rng.integers(0, 40, 3000))
    k = rng.integers(0, 4, 40)
    common = rng.random(40) < 0.5
    wide = circulant_pairs(acc, sig, k, np.arange(300) * 7, 3, common)
    narrow = circulant_pairs(acc.astype(np.int32), sig.astype(np.int32), k, np.arange(300) * 7, 3, common)
    assert narrow[0].dtype == np.int32 and len(wide[0]) > 1000
    for w, n in zip(wide, narrow):
        np.testing.assert_array_equal(w, n)
