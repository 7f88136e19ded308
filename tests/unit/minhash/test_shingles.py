"""One-permutation shingle sketches and band keys (minhash/_shingles.py, minhash/_lsh.py)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from accountgraph.minhash import EMPTY_BIN as _EMPTY
from accountgraph.minhash import band_keys, shingle_signatures


WORDS = [f"w{i}" for i in range(5000)]


def test_shingle_signature_similarity_tracks_jaccard():
    a = " ".join(WORDS[:200])
    b = " ".join(WORDS[:180] + WORDS[1000:1020])  # ~ 177/223 shared trigrams
    c = " ".join(WORDS[2000:2200])
    sig, bad = shingle_signatures(pa.array([a, b, c, "one two", None]), num_perm=128)
    assert bad == 0
    agree_ab = (sig[0] == sig[1]).mean()
    assert 0.6 < agree_ab < 0.95
    assert (sig[0] == sig[2]).mean() < 0.05
    assert (sig[3] == _EMPTY).all() and (sig[4] == _EMPTY).all()  # < 3 tokens, null


def test_band_keys_skip_empty_and_differ_by_band():
    sig = np.full((2, 8), _EMPTY, np.uint64)
    sig[0] = np.arange(8)
    keys, _ = band_keys(sig, 4, 2)
    assert (keys[1] == 0).all() and (keys[0] != 0).all()
    same = np.tile(np.arange(2, dtype=np.uint64), (1, 4))  # identical values in every band
    k, _ = band_keys(same.reshape(1, 8), 4, 2)
    assert len(set(k[0].tolist())) == 4


def test_band_keys_layout():
    sig = np.array([[1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 0, 0]], dtype=np.uint64)
    keys, row_hash = band_keys(sig, 3, 2)
    assert keys.dtype == np.uint64 and keys.shape == (2, 3) and row_hash.shape == (2,)
    # strided bands: band b takes bins b, b + 3
    assert keys[0, 0] != keys[1, 0] or keys[0, 1] != keys[1, 1]
    assert len(set(keys[0].tolist())) == 3
