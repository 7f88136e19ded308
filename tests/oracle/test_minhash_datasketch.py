"""Oracle tests: exact-mode prompt signatures against datasketch itself."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

datasketch = pytest.importorskip("datasketch")
from datasketch import LeanMinHash, MinHash  # noqa: E402
from datasketch.lsh import _optimal_param  # noqa: E402

from accountgraph.minhash import lsh_params  # noqa: E402
from accountgraph.minhash._signatures import affine32_permutations, prompt_signatures, sha1_hash32_array, to_lean_minhash  # noqa: E402
from accountgraph.minhash._tokenize import prompt_tokens  # noqa: E402

ODD_TEXTS = [
    "Write a POEM about the sea, please!",
    "«Bonjour» — le   monde… ¿Qué tal?",
    "日本語のテキスト、句読点。全角！",
    "Straße ÜBER İstanbul ΣΊΣΥΦΟΣ",
    "tabs\tand\nnewlines\r\nand\x1cfile\x1fseparators\u2028line sep\u3000ideographic space",
    "zero\u200bwidth \ufeffbom\u200d joiners",
    "emoji 👩‍💻🚀 and flags 🇫🇷",
    "\x00\x01\x02 control chars \x7f",
    "a" * 55 + " " + "b" * 56 + " " + "c" * 120 + " " + "d" * 300,
    "!!! ... ???",
    "",
    "   ",
    "repeated repeated REPEATED repeated.",
    "http://example.com/a?b=c&d=e user@example.com $100.00 C++ e.g. don't",
]


def _datasketch_row(text: str | None, num_perm: int, seed: int) -> np.ndarray:
    m = MinHash(num_perm=num_perm, seed=seed)
    m.update_batch([t.encode("utf-8") for t in prompt_tokens(text)])
    return m.hashvalues


@pytest.mark.parametrize(("num_perm", "seed"), [(128, 1), (16, 7), (256, 42), (1, 0)])
def test_exact_matches_datasketch_on_odd_text(num_perm: int, seed: int) -> None:
    texts = [*ODD_TEXTS, None]
    sig = prompt_signatures(texts, num_perm=num_perm, seed=seed, exact=True, batch_size=4)
    assert sig.shape == (len(texts), num_perm)
    for i, text in enumerate(texts):
        ref = _datasketch_row(text, num_perm, seed)
        assert sig.dtype == ref.dtype
        np.testing.assert_array_equal(sig[i], ref, err_msg=repr(text))


@settings(max_examples=40, deadline=None)
@given(texts=st.lists(st.text(), min_size=1, max_size=12), seed=st.integers(0, 2**32 - 1))
def test_exact_matches_datasketch_on_arbitrary_unicode(texts: list[str], seed: int) -> None:
    sig = prompt_signatures(texts, num_perm=32, seed=seed, exact=True)
    for i, text in enumerate(texts):
        np.testing.assert_array_equal(sig[i], _datasketch_row(text, 32, seed))


@settings(max_examples=30, deadline=None)
@given(tokens=st.lists(st.binary(max_size=300), max_size=30))
def test_vectorised_sha1_matches_datasketch_hashfunc(tokens: list[bytes]) -> None:
    import pyarrow as pa
    from datasketch.hashfunc import sha1_hash32

    got = sha1_hash32_array(pa.array(tokens, type=pa.binary()))
    assert got.tolist() == [sha1_hash32(t) for t in tokens]


def test_permutations_match_datasketch() -> None:
    for num_perm, seed in [(128, 1), (7, 123456)]:
        a, b = affine32_permutations(num_perm, seed)
        ref = MinHash(num_perm=num_perm, seed=seed).permutations
        np.testing.assert_array_equal(a, ref[0])
        np.testing.assert_array_equal(b, ref[1])


def test_lean_minhash_round_trip() -> None:
    texts = ["write a poem about the sea in the style of keats", "write a poem about the moon in the style of keats"]
    sig = prompt_signatures(texts, num_perm=128, seed=3, exact=True)
    lean = to_lean_minhash(sig[0], seed=3)
    assert isinstance(lean, LeanMinHash)
    np.testing.assert_array_equal(lean.hashvalues, sig[0])
    m0 = MinHash(num_perm=128, seed=3)
    m0.update_batch([t.encode() for t in prompt_tokens(texts[0])])
    m1 = MinHash(num_perm=128, seed=3)
    m1.update_batch([t.encode() for t in prompt_tokens(texts[1])])
    assert lean.jaccard(m1) == m0.jaccard(m1)
    buf = bytearray(lean.bytesize())
    lean.serialize(buf)
    back = LeanMinHash.deserialize(buf)
    np.testing.assert_array_equal(back.hashvalues, sig[0])
    assert back.seed == 3


@pytest.mark.parametrize(("threshold", "num_perm"), [(0.5, 128), (0.8, 128), (0.3, 64), (0.9, 256)])
def test_lsh_params_match_datasketch(threshold: float, num_perm: int) -> None:
    assert lsh_params(threshold, num_perm) == _optimal_param(threshold, num_perm, 0.5, 0.5)
