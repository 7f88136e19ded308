"""Invariants of prompt signatures, LSH keys and template families on seeded data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accountgraph.minhash import band_keys, shingle_signatures
from accountgraph.templates import sample_per_account_window, template_families
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


def _corpus(seed: int, n_templates: int = 6, per_template: int = 40, n_random: int = 120, n_slots: int = 5,
            max_slot_words: int = 3) -> tuple[list[str], np.ndarray]:
    """Slot-filled templates (~60 words, 5 one-to-three-word slots) plus unrelated prompts."""
    rng = np.random.default_rng(seed)
    vocab = np.array(["".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), rng.integers(3, 9))) for _ in range(3000)])
    zipf = 1.0 / np.arange(1, vocab.size + 1)
    zipf /= zipf.sum()
    texts: list[str] = []
    labels: list[int] = []
    for t in range(n_templates):
        words = list(rng.choice(vocab, 60, p=zipf))
        slots = rng.choice(60, n_slots, replace=False)
        for _ in range(per_template):
            filled = list(words)
            for s in slots:
                filled[s] = " ".join(rng.choice(vocab, rng.integers(1, max_slot_words + 1)))
            texts.append(" ".join(filled).capitalize() + ".")
            labels.append(t)
    for _ in range(n_random):
        texts.append(" ".join(rng.choice(vocab, rng.integers(40, 80), p=zipf)) + "?")
        labels.append(-1)
    order = rng.permutation(len(texts))
    return [texts[i] for i in order], np.asarray(labels)[order]


def test_families_invariant_to_row_order() -> None:
    texts, _ = _corpus(1)
    texts = texts + texts[:30] + [None, "", "!!"]  # duplicates and empties too
    base = template_families(texts, similarity=0.5)
    rng = np.random.default_rng(2)
    for _ in range(2):
        perm = rng.permutation(len(texts))
        other = template_families([texts[i] for i in perm], similarity=0.5)
        np.testing.assert_array_equal(other.family, base.family[perm])
        pd.testing.assert_frame_equal(other.families, base.families)


def test_families_deterministic_and_typed() -> None:
    texts, _ = _corpus(3)
    a = template_families(texts)
    b = template_families(pa.array(texts))
    np.testing.assert_array_equal(a.family, b.family)
    pd.testing.assert_frame_equal(a.families, b.families)
    assert a.family.dtype == np.int64
    assert a.families["family"].tolist() == list(range(a.n_families))
    assert int(a.families["prompts"].sum()) == int((a.family >= 0).sum())
    np.testing.assert_array_equal(np.bincount(a.family[a.family >= 0], minlength=a.n_families),
                                  a.families["prompts"].to_numpy())


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_slot_filled_prompts_share_a_family_and_unrelated_do_not(seed: int) -> None:
    # Three one-word slots in a 60-word template change ~15 % of its word
    # triples (Jaccard ~0.7 between variants); unrelated prompts share almost none.
    texts, labels = _corpus(seed, n_slots=3, max_slot_words=1)
    fam = template_families(texts, similarity=0.5, seed=seed).family
    same_label = labels[:, None] == labels[None, :]
    same_fam = fam[:, None] == fam[None, :]
    tpl = (labels[:, None] >= 0) & same_label & ~np.eye(len(labels), dtype=bool)
    recall = same_fam[tpl].mean()
    different = ~same_label | (labels[:, None] < 0)
    np.fill_diagonal(different, False)
    false_merge = same_fam[different].mean()
    assert recall > 0.99
    assert false_merge < 0.001
    # every template maps to one family of its own
    for t in range(labels.max() + 1):
        assert np.unique(fam[labels == t]).size == 1


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


@settings(max_examples=40, deadline=None)
@given(
    acc=st.lists(st.integers(0, 4), min_size=0, max_size=60),
    cap=st.integers(1, 5),
    seed=st.integers(0, 10**6),
)
def test_sample_per_account_window_caps_each_group(acc: list[int], cap: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = len(acc)
    ts = rng.permutation(10_000)[:n].astype(np.int64)  # distinct timestamps
    accounts = np.asarray(acc, dtype=np.int64)
    keep = sample_per_account_window(accounts, ts, cap=cap, window=1000)
    win = ts // 1000
    for a in set(acc):
        for w in set(win[accounts == a].tolist()):
            grp = (accounts == a) & (win == w)
            assert keep[grp].sum() == min(cap, grp.sum())
            # the earliest rows of the group are the ones kept
            kept_ts, dropped_ts = ts[grp & keep], ts[grp & ~keep]
            if dropped_ts.size:
                assert kept_ts.max() < dropped_ts.min()
    perm = rng.permutation(n)
    np.testing.assert_array_equal(sample_per_account_window(accounts[perm], ts[perm], cap=cap, window=1000), keep[perm])


# --------------------------------------------------------------------------- numpy span tokeniser


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
