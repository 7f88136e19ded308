"""Invariants of prompt signatures, tokenisation, compiled kernels and LSH keys (minhash/) on seeded data."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accountgraph.minhash import band_keys, shingle_signatures
from accountgraph.minhash._signatures import (
    EMPTY_FAST,
    _probe_order,
    token_hash64,
    prompt_signatures,
)
from accountgraph.minhash._tokenize import (
    iter_text_batches,
    prompt_tokens,
    tokenize_batch,
)


@pytest.mark.parametrize("exact", [False, True])
def test_signature_agreement_tracks_jaccard(exact: bool) -> None:
    rng = np.random.default_rng(11)
    pool = [f"w{i}" for i in range(400)]
    a_list, b_list, true_j = [], [], []
    for _ in range(150):
        shared = rng.integers(10, 90)
        base = rng.choice(pool, 100, replace=False)
        a = base[:100]
        b = np.r_[base[:shared], [f"x{rng.integers(1e9)}" for _ in range(100 - shared)]]
        a_list.append(" ".join(a))
        b_list.append(" ".join(b))
        true_j.append(shared / (200 - shared))
    sa = prompt_signatures(a_list, num_perm=256, exact=exact)
    sb = prompt_signatures(b_list, num_perm=256, exact=exact)
    est = (sa == sb).mean(axis=1)
    err = est - np.asarray(true_j)
    assert abs(err.mean()) < 0.02  # unbiased on average
    assert np.sqrt((err**2).mean()) < 0.06  # ~ sqrt(J(1-J)/256) <= 0.031, with margin


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(st.one_of(st.none(), st.text(max_size=80)), max_size=20), exact=st.booleans())
def test_batching_does_not_change_signatures(texts: list[str | None], exact: bool) -> None:
    whole = prompt_signatures(texts, num_perm=16, exact=exact, n_jobs=1)
    split = prompt_signatures(texts, num_perm=16, exact=exact, batch_size=3, n_jobs=2)
    assert whole.shape == (len(texts), 16)
    np.testing.assert_array_equal(whole, split)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=80))
def test_ascii_fast_path_equals_unicode_path(text: str) -> None:
    # A leading non-ASCII token forces the Unicode kernels for the same text.
    assert prompt_tokens("\u00e9 " + text) == ["\u00e9"] + prompt_tokens(text)


def test_tokenize_batch_rows_cover_only_token_bearing_rows() -> None:
    tb = tokenize_batch(pa.array(["a b", None, "", "!!", "c"]))
    assert sorted(set(tb.row.tolist())) == [0, 4]

_ASCII_TRICKY = st.text(
    alphabet=st.one_of(
        st.characters(max_codepoint=127),
        st.sampled_from(list(" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x00!.,;:'\"-()[]{}<>?/\\_~`@#$%^&*+=|")),
    ),
    max_size=120,
)


def _reference_fast(texts: list[str | bytes | None], seed: int, num_perm: int) -> np.ndarray:
    """Default-mode signatures the slow, obvious way: pyarrow tokens, one row at a time, dicts for bins."""
    (batch,) = list(iter_text_batches(texts, batch_size=max(len(texts), 1)))
    tb = tokenize_batch(batch.texts)
    h = token_hash64(tb.vocab, seed)[tb.code]
    probe_t = _probe_order(num_perm, seed)
    out = np.full((len(texts), num_perm), EMPTY_FAST, dtype=np.uint64)
    for r in range(len(texts)):
        bins: dict[int, int] = {}
        for x in h[tb.row == r].tolist():
            b = ((x >> 32) * num_perm) >> 32
            bins[b] = min(bins.get(b, 2**32), x & 0xFFFFFFFF)
        if not bins:
            continue
        for j in range(num_perm):
            src = j if j in bins else next(int(probe_t[t, j]) for t in range(num_perm) if int(probe_t[t, j]) in bins)
            out[r, j] = bins[src]
    return out


def _assert_fast_equals_reference(texts: list[str | bytes | None], seed: int, num_perm: int) -> None:
    got = prompt_signatures(texts, num_perm=num_perm, seed=seed, n_jobs=1)
    np.testing.assert_array_equal(got, _reference_fast(texts, seed, num_perm))


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(st.one_of(st.none(), _ASCII_TRICKY), min_size=1, max_size=12),
    seed=st.integers(0, 2**32 - 1),
    num_perm=st.sampled_from([1, 3, 16, 128]),
)
def test_compiled_ascii_path_equals_reference_on_ascii(texts: list[str | None], seed: int, num_perm: int) -> None:
    _assert_fast_equals_reference(texts, seed, num_perm)


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(st.one_of(st.none(), st.text(max_size=60), _ASCII_TRICKY), min_size=1, max_size=12),
    seed=st.integers(0, 2**32 - 1),
    num_perm=st.sampled_from([1, 7, 64]),
)
def test_compiled_path_equals_reference_on_unicode(texts: list[str | None], seed: int, num_perm: int) -> None:
    _assert_fast_equals_reference(texts, seed, num_perm)


@pytest.mark.parametrize("run", [1, 7, 8, 9, 40, 5000])
def test_compiled_path_long_punctuation_runs(run: int) -> None:
    texts = [
        "-" * run,
        "-" * run + "ab" + "." * run,
        "x" + "!" * run + " " + "'" * run + "y",
        "(" * run + "a" + ")" * (run + 3) + " b" + "?" * run,
        "." * run + " " + "." * run,
        None,
        "\u00e9 " + "-" * run + "z",
    ]
    _assert_fast_equals_reference(texts, 5, 32)


def test_compiled_hash_equals_token_hash_on_long_tokens() -> None:
    rng = np.random.default_rng(3)
    words = ["".join(chr(c) for c in rng.integers(33, 127, k)) for k in [1, 7, 8, 9, 15, 16, 17, 24, 25, 63, 64, 65, 300]]
    # One token per row, so every bin of a row holds the hash of that token.
    texts = words + ["a\x00", "a\x00\x00b", "MiXeD" * 13]
    for seed in (0, 1, 2**32 - 1):
        _assert_fast_equals_reference(texts, seed, 1)
        _assert_fast_equals_reference(texts, seed, 128)

_MASK64 = (1 << 64) - 1


def _splitmix(x: int) -> int:
    """splitmix64's finaliser on Python ints (reference for the compiled one)."""
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _MASK64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def _reference_shingles(texts: list[str | bytes | None], seed: int, num_perm: int, width: int = 3) -> np.ndarray:
    """Detect's shingle sketch the slow, obvious way: pyarrow tokens, per row, rotation densification by search."""

    (batch,) = list(iter_text_batches(texts, batch_size=max(len(texts), 1)))
    tb = tokenize_batch(batch.texts)
    h = token_hash64(tb.vocab, seed)[tb.code]
    out = np.full((len(texts), num_perm), EMPTY_FAST, dtype=np.uint64)
    for r in range(len(texts)):
        toks = h[np.flatnonzero(tb.row == r)].tolist()  # tokenize_batch keeps text order within a row
        bins: dict[int, int] = {}
        for i in range(len(toks) - width + 1):
            acc = toks[i]
            for j in range(1, width):
                acc = _splitmix(((acc * 0x9E3779B97F4A7C15) & _MASK64) ^ toks[i + j])
            b = ((acc >> 32) * num_perm) >> 32
            bins[b] = min(bins.get(b, 2**32), acc & 0xFFFFFFFF)
        if not bins:
            continue
        for j in range(num_perm):
            d = next(d for d in range(num_perm) if (j + d) % num_perm in bins)
            out[r, j] = bins[j] if d == 0 else _splitmix(bins[(j + d) % num_perm] ^ ((d * 0x9E3779B97F4A7C15) & _MASK64)) & 0xFFFFFFFF
    return out


# Space-joined words (some repeated, some punctuation or non-ASCII), so most rows have shingles.
_WORDY = st.lists(
    st.one_of(st.sampled_from(["the", "A", "code", "x!", "(y)", "--", "caf\u00e9", "\u65e5\u672c", "e.g.", "QED"]), st.text(max_size=6)),
    max_size=14,
).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(
    texts=st.lists(st.one_of(st.none(), _WORDY, st.text(max_size=80), _ASCII_TRICKY), min_size=1, max_size=10),
    seed=st.integers(0, 2**32 - 1),
    num_perm=st.sampled_from([1, 5, 64]),
)
def test_shingle_signatures_equal_reference(texts: list[str | None], seed: int, num_perm: int) -> None:
    sig, _ = shingle_signatures(pa.array(texts, pa.string()), num_perm=num_perm, seed=seed)
    np.testing.assert_array_equal(sig, _reference_shingles(texts, seed, num_perm))


@settings(max_examples=100, deadline=None)
@given(
    sig=st.lists(st.lists(st.sampled_from([0, 1, 7, 2**32 - 1, 2**64 - 1]), min_size=12, max_size=12), min_size=1, max_size=6),
    shape=st.sampled_from([(1, 1), (3, 4), (4, 3), (6, 2), (12, 1), (2, 5)]),
)
def test_template_band_keys_equal_reference(sig: list[list[int]], shape: tuple[int, int]) -> None:

    bands, rows = shape
    keys, row_hash = band_keys(np.array(sig, dtype=np.uint64), bands, rows)
    for i, s in enumerate(sig):
        acc = 0
        for v in s:
            acc = _splitmix(acc ^ v)
        assert int(row_hash[i]) == acc
        for b in range(bands):
            vals = [s[b + j * bands] for j in range(rows)]
            h = ((b + 1) * 0x94D049BB133111EB) & _MASK64
            for v in vals:
                h = _splitmix(h ^ v)
            expect = 0 if all(v == _MASK64 for v in vals) else (h or 1)
            assert int(keys[i, b]) == expect
