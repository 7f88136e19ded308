"""Edge cases of prompt tokens, signatures, LSH layout and band keys (accountgraph.minhash)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from accountgraph._exceptions import InvalidParameterError, SchemaError
from accountgraph.minhash import band_keys, lsh_params
from accountgraph.minhash._signatures import EMPTY_EXACT, EMPTY_FAST, prompt_signatures, signatures_with_stats, to_lean_minhash
from accountgraph.minhash._tokenize import prompt_tokens

TEXTS = ["Write a poem about the sea.", "write a POEM about the moon!", None, "", "tax law in ohio"]


def test_prompt_tokens_basic() -> None:
    assert prompt_tokens("Write a POEM, about the sea!") == ["write", "a", "poem", "about", "the", "sea"]
    assert prompt_tokens("«Bonjour» — le   monde…") == ["bonjour", "le", "monde"]
    assert prompt_tokens("don't e.g. C++ x--y") == ["don't", "e.g", "c", "x--y"]
    assert prompt_tokens(None) == []
    assert prompt_tokens("") == []
    assert prompt_tokens(" \t\n ") == []
    assert prompt_tokens("!!! ... ???") == []
    assert prompt_tokens(b"caf\xc3\xa9 ok") == ["café", "ok"]


@pytest.mark.parametrize("exact", [False, True])
def test_zero_rows(exact: bool) -> None:
    for empty in ([], pa.array([], pa.string()), pd.Series([], dtype=object), np.array([], dtype=str)):
        sig = prompt_signatures(empty, num_perm=32, exact=exact)
        assert sig.shape == (0, 32)


@pytest.mark.parametrize("exact", [False, True])
def test_single_row_and_empty_signature(exact: bool) -> None:
    sig = prompt_signatures(["hello world"], num_perm=8, exact=exact)
    assert sig.shape == (1, 8)
    empty_value = EMPTY_EXACT if exact else EMPTY_FAST
    assert sig.dtype == (np.uint32 if exact else np.uint64)
    assert not (sig == empty_value).any()
    sig = prompt_signatures([None, "", "   ", "?!"], num_perm=8, exact=exact)
    assert (sig == empty_value).all()


@pytest.mark.parametrize("exact", [False, True])
def test_input_types_agree(exact: bool) -> None:
    ref = prompt_signatures(TEXTS, num_perm=16, exact=exact)
    variants = [
        pa.array(TEXTS),
        pa.array(TEXTS, pa.large_string()),
        pa.array(TEXTS, pa.string_view()),
        pa.array(TEXTS).dictionary_encode(),
        pa.chunked_array([pa.array(TEXTS[:2]), pa.array(TEXTS[2:])]),
        pd.Series(TEXTS),
        pd.Series(TEXTS, dtype="string"),
        np.array(TEXTS, dtype=object),
        tuple(TEXTS),
        [t.encode() if t is not None else None for t in TEXTS],
    ]
    for v in variants:
        np.testing.assert_array_equal(prompt_signatures(v, num_perm=16, exact=exact), ref, err_msg=type(v).__name__)
    np.testing.assert_array_equal(
        prompt_signatures(np.array(["a b", "c"]), num_perm=16, exact=exact),
        prompt_signatures(["a b", "c"], num_perm=16, exact=exact),
    )


def test_polars_input() -> None:
    pl = pytest.importorskip("polars")
    np.testing.assert_array_equal(prompt_signatures(pl.Series(TEXTS), num_perm=16), prompt_signatures(TEXTS, num_perm=16))


def test_non_utf8_bytes_are_replaced_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    raw = [b"write a poem \xff\xfe about the sea", b"write a poem about the sea", b"\xc3", None, "str row"]
    with caplog.at_level(logging.WARNING):
        sig, stats = signatures_with_stats(raw, num_perm=16, exact=True)
    assert stats.n_invalid_utf8 == 2 and stats.invalid_utf8.tolist() == [True, False, True, False, False]
    assert "not valid UTF-8" in caplog.text
    # replacement characters are trimmed as punctuation; the rest hashes normally
    np.testing.assert_array_equal(sig[0], sig[1])
    arrow_binary = pa.array([r if not isinstance(r, str) else r.encode() for r in raw], pa.binary())
    np.testing.assert_array_equal(prompt_signatures(arrow_binary, num_perm=16, exact=True), sig)


def test_lone_surrogates_are_counted() -> None:
    sig, stats = signatures_with_stats(["ok \ud800 text", "ok text"], num_perm=16)
    assert stats.n_invalid_utf8 == 1
    np.testing.assert_array_equal(sig[0], sig[1])


@pytest.mark.parametrize("exact", [False, True])
def test_huge_and_binary_looking_text(exact: bool) -> None:
    rng = np.random.default_rng(0)
    words = np.array([f"w{i}" for i in range(5000)])
    huge = " ".join(rng.choice(words, 400_000))  # ~2.5 MB
    one_token = "x" * 1_000_000  # a single 1 MB token (hashlib path for SHA-1)
    binary_looking = bytes(rng.integers(0, 256, 4096, dtype=np.uint8)).decode("latin-1")
    texts = [huge, one_token, binary_looking, "small prompt"]
    sig = prompt_signatures(texts, num_perm=32, exact=exact, batch_size=2)
    assert sig.shape == (4, 32)
    empty_value = EMPTY_EXACT if exact else EMPTY_FAST
    assert not (sig == empty_value).all(axis=1).any()
    if exact:
        datasketch = pytest.importorskip("datasketch")
        for text, row in zip(texts[1:], sig[1:]):
            m = datasketch.MinHash(num_perm=32)
            m.update_batch([t.encode() for t in prompt_tokens(text)])
            np.testing.assert_array_equal(row, m.hashvalues)


def test_parameter_and_schema_errors() -> None:
    with pytest.raises(InvalidParameterError, match="num_perm"):
        prompt_signatures(["a"], num_perm=0)
    with pytest.raises(InvalidParameterError, match="seed"):
        prompt_signatures(["a"], seed=-1)
    with pytest.raises(SchemaError, match="single str"):
        prompt_signatures("just one prompt")
    with pytest.raises(SchemaError, match="int64"):
        prompt_signatures([1, 2, 3])
    with pytest.raises(SchemaError, match="expected str, bytes or None"):
        prompt_signatures(["a", b"b", 3])
    with pytest.raises(InvalidParameterError, match="'similarity' parameter of lsh_params"):
        lsh_params(1.5, 128)
    with pytest.raises(InvalidParameterError, match="bands \\* rows = 9 exceeds"):
        band_keys(np.zeros((2, 8), np.uint64), 3, 3)
    with pytest.raises(InvalidParameterError, match="exact-mode"):
        to_lean_minhash(prompt_signatures(["a b"], num_perm=8)[0])


@pytest.mark.parametrize("text", ["ab ", "\u00e9 ", "a\u3000", " ", "a\t"])
def test_split_ignores_bytes_past_the_buffer_end(text: str) -> None:
    # pyarrow's utf8_split_whitespace reads one byte past the data buffer; a
    # byte >= 0x80 there used to keep the trailing whitespace in the token
    # (the cause of rare nondeterministic signatures). Plant such a byte.
    from accountgraph.minhash._tokenize import _utf8_split_whitespace

    data = text.encode()
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int32).tobytes())
    buf = pa.py_buffer(data + b"\xc3" * 64)[: len(data)]
    arr = pa.Array.from_buffers(pa.string(), 1, [None, offsets, buf])
    tokens = [t for t in _utf8_split_whitespace(arr).to_pylist()[0] if t]
    assert tokens == text.split()
