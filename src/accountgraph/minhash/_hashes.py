"""Token hashing for the signatures: SHA-1 (datasketch's ``sha1_hash32``) vectorised in numpy, and a 64-bit token hash.

``sha1_hash32_array`` equals ``datasketch.hashfunc.sha1_hash32`` for every
token: tokens up to 247 bytes (at most four 64-byte SHA-1 blocks) are hashed
by a numpy implementation of the compression function, longer ones through
:mod:`hashlib`. ``token_hash64`` is the cheaper salted 64-bit hash of the fast
(one-permutation) mode, and ``affine32_permutations`` draws datasketch's
permutation parameters for a seed.
"""

from __future__ import annotations

import hashlib
import struct

import numpy as np
import pyarrow as pa

from .._hashing import fmix64
from ._tokenize import _offsets

__all__ = ["affine32_permutations", "row_bytes", "seed_salt", "sha1_hash32_array", "token_hash64"]

_M32 = np.uint32(0xFFFFFFFF)
_SHA1_K = (np.uint32(0x5A827999), np.uint32(0x6ED9EBA1), np.uint32(0x8F1BBCDC), np.uint32(0xCA62C1D6))
_SHA1_H = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0)
_MAX_VECTOR_BLOCKS = 4  # tokens up to 247 bytes are hashed in numpy; longer ones by hashlib
_SHA1_CHUNK = 1 << 15


def _rotl(x: np.ndarray, n: int) -> np.ndarray:
    return (x << np.uint32(n)) | (x >> np.uint32(32 - n))


def _sha1_blocks(words: np.ndarray, n_blocks: int) -> np.ndarray:
    """First 32-bit word (big-endian) of SHA-1 over ``n_blocks`` padded 64-byte blocks per row."""
    m = words.shape[0]
    h = [np.full(m, v, dtype=np.uint32) for v in _SHA1_H]
    for blk in range(n_blocks):
        w = [np.ascontiguousarray(words[:, 16 * blk + i]) for i in range(16)]
        for t in range(16, 80):
            w.append(_rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1))
        a, b, c, d, e = h
        for t in range(80):
            if t < 20:
                f = (b & c) | (~b & d)
            elif t < 40 or t >= 60:
                f = b ^ c ^ d
            else:
                f = (b & c) | (b & d) | (c & d)
            tmp = _rotl(a, 5) + f + e + _SHA1_K[t // 20] + w[t]
            a, b, c, d, e = tmp, a, _rotl(b, 30), c, d
        h = [h[0] + a, h[1] + b, h[2] + c, h[3] + d, h[4] + e]
    return h[0]


def _string_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(int64 offsets of length n+1 starting anywhere, uint8 data) of a string/binary array."""
    data = arr.buffers()[2]
    return _offsets(arr), np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)


def row_bytes(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_string_buffers` plus a ``bool`` validity mask: what the compiled row kernels read."""
    off, data = _string_buffers(arr)
    valid = np.ones(len(arr), dtype=bool) if arr.null_count == 0 else arr.is_valid().to_numpy(zero_copy_only=False)
    return off, data, valid


def sha1_hash32_array(values: pa.Array) -> np.ndarray:
    """``datasketch.hashfunc.sha1_hash32`` of every element of a string array, vectorised.

    Parameters
    ----------
    values : pyarrow.Array
        Non-null ``string``/``binary`` array; each element's UTF-8 bytes are hashed.

    Returns
    -------
    numpy.ndarray
        ``uint32``: the first 4 bytes of each SHA-1 digest read little-endian.

    Notes
    -----
    SHA-1 compression runs on whole columns of uint32 (about 1,500 numpy
    operations per 64-byte block, amortised over up to 32k tokens at once);
    tokens longer than 247 bytes, rare in prompts, go through :mod:`hashlib`.
    """
    off, data = _string_buffers(values)
    n = len(values)
    out = np.empty(n, dtype=np.uint32)
    if n == 0:
        return out
    lens = np.diff(off)
    nblocks = (lens + 8) // 64 + 1
    for long_i in np.flatnonzero(nblocks > _MAX_VECTOR_BLOCKS):
        digest = hashlib.sha1(data[off[long_i] : off[long_i + 1]].tobytes()).digest()
        out[long_i] = struct.unpack_from("<I", digest)[0]
    for k in range(1, _MAX_VECTOR_BLOCKS + 1):
        idx_all = np.flatnonzero(nblocks == k)
        for c0 in range(0, idx_all.size, _SHA1_CHUNK):
            idx = idx_all[c0 : c0 + _SHA1_CHUNK]
            m = idx.size
            ln = lens[idx]
            width = 64 * k
            col = np.arange(width, dtype=np.int64)
            inside = col[None, :] < ln[:, None]
            blocks = np.zeros((m, width), dtype=np.uint8)
            blocks[inside] = data[(off[idx][:, None] + col[None, :])[inside]]
            blocks[np.arange(m), ln] = 0x80
            blocks[:, width - 8 :] = (ln * 8).astype(">u8").view(np.uint8).reshape(m, 8)
            words = blocks.view(">u4").astype(np.uint32)
            out[idx] = _sha1_blocks(words, k).byteswap()
    return out


def _fmix32(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))




def affine32_permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Permutation parameters ``(a, b)`` of ``datasketch.MinHash(num_perm, seed)`` (affine32).

    Replicates datasketch 2.x: ``RandomState(seed)``, ``a = 2 * randint(0, 2**31) + 1``
    then ``b = randint(0, 2**32)``, both ``uint32``.
    """
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def token_hash64(vocab: pa.Array, seed: int) -> np.ndarray:
    """Seeded 64-bit hash of each distinct token, vectorised over 8-byte words.

    Each little-endian 8-byte word (zero-padded) is mixed with its position by
    the MurmurHash3 64-bit finaliser; a token's hash is the finalised wrapping
    sum of its words plus its length. Not cryptographic: it only has to spread
    tokens uniformly, and collisions can only raise similarities.
    """
    off, data = _string_buffers(vocab)
    u = len(vocab)
    if u == 0:
        return np.zeros(0, np.uint64)
    lens = np.diff(off)
    nw = np.maximum((lens + 7) // 8, 1)
    first = np.cumsum(nw) - nw
    tok = np.repeat(np.arange(u), nw)
    widx = np.arange(tok.size, dtype=np.int64) - first[tok]
    start = off[tok] + 8 * widx
    padded = np.zeros(data.size + 8, np.uint8)
    padded[: data.size] = data
    # Unaligned little-endian uint64 view starting at every byte.
    view = np.ndarray(shape=(data.size + 1,), dtype="<u8", buffer=padded, strides=(1,))
    words = view[start].astype(np.uint64)
    remain = (lens[tok] - 8 * widx).clip(0, 8).astype(np.uint64)
    mask = np.where(remain >= 8, np.uint64(0xFFFFFFFFFFFFFFFF), (np.uint64(1) << (remain * np.uint64(8))) - np.uint64(1))
    salt = seed_salt(seed)
    mixed = fmix64((words & mask) ^ (widx.astype(np.uint64) * np.uint64(0xD6E8FEB86659FD93) + salt))
    total = np.add.reduceat(mixed, first)
    return fmix64(total ^ (lens.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) ^ salt)


def seed_salt(seed: int) -> np.uint64:
    return np.uint64((seed * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)
