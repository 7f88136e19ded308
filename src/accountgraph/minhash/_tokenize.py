"""Prompt text in, word tokens out: the tokeniser behind prompt signatures.

Every column of prompts the library hashes goes through :func:`iter_text_batches`
(one conversion point for pyarrow, polars, pandas, numpy and Python lists, with
invalid UTF-8 decoded with replacement and counted) and :func:`tokenize_batch`
(pyarrow string kernels; no per-prompt Python loop). :func:`prompt_tokens` runs
the very same kernel on a one-element array, so the single-prompt view used by
oracle tests and by users can never disagree with the batch path. The default
(fast) signature path tokenises pure-ASCII rows in a compiled pass over their
bytes instead (:func:`accountgraph._kernels.oph_ascii`, property-tested against
this module); the other rows still go through the pyarrow Unicode kernels.

Token definition
----------------
A token is a maximal run of non-whitespace characters of the lower-cased text
(Unicode lower-casing and Unicode whitespace, as in ``str.lower`` and
``str.split()`` up to a few exotic code points), with leading and trailing
punctuation (ASCII punctuation, the General Punctuation and CJK punctuation
blocks, fullwidth punctuation, U+FFFD) trimmed; tokens that are empty after
trimming are dropped. Punctuation *inside* a token is kept (``don't``,
``e.g``, URLs). Splitting on whitespace instead of a Unicode ``\\w+`` regex is a
measured choice: on ~1 kB prompts on one core, pyarrow's regex splitter ran
at ~50k prompts/s, the whitespace splitter at ~300k/s (ASCII kernel) and
~120-175k/s (Unicode kernel) during development on a shared machine.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._exceptions import InvalidParameterError
from ._input import _BINARY_TYPES, _STRING_TYPES, as_text_array

__all__ = [
    "TextBatch",
    "TokenBatch",
    "PUNCTUATION",
    "as_text_array",
    "iter_text_batches",
    "tokenize_batch",
    "prompt_tokens",
]

logger = logging.getLogger(__name__)

# Characters trimmed from both ends of every whitespace-separated token.
PUNCTUATION: str = (
    "".join(chr(c) for c in range(0x21, 0x7F) if not chr(c).isalnum())
    + "\u00a1\u00a7\u00ab\u00b6\u00b7\u00bb\u00bf"
    + "".join(chr(c) for c in range(0x2010, 0x2028))
    + "".join(chr(c) for c in range(0x2030, 0x205F))
    + "\u200b\u200c\u200d\u2060\ufeff"  # zero-width characters
    + "".join(chr(c) for c in range(0x3001, 0x3004))
    + "".join(chr(c) for c in range(0x3008, 0x3012))
    + "".join(chr(c) for c in range(0x3014, 0x3020))
    + "".join(chr(c) for c in range(0xFF01, 0xFF10))
    + "".join(chr(c) for c in range(0xFF1A, 0xFF21))
    + "".join(chr(c) for c in range(0xFF3B, 0xFF41))
    + "".join(chr(c) for c in range(0xFF5B, 0xFF66))
    + "\ufffd"
)

ASCII_PUNCT = "".join(c for c in PUNCTUATION if ord(c) < 0x80)
_NONE = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class TextBatch:
    """A slice of the input column as a valid UTF-8 pyarrow string array.

    Attributes
    ----------
    start : int
        Row index of the first element in the whole input.
    texts : pyarrow.Array
        ``string`` or ``large_string`` array, valid UTF-8, nulls kept.
    invalid : numpy.ndarray
        ``int64`` rows (within the batch) whose bytes were not valid UTF-8 and
        were decoded with replacement characters.
    """

    start: int
    texts: pa.Array
    invalid: np.ndarray

    @property
    def n_invalid_utf8(self) -> int:
        """Number of rows of the batch that were not valid UTF-8."""
        return int(self.invalid.size)


@dataclass(frozen=True)
class TokenBatch:
    """Tokens of a batch of prompts, as parallel flat arrays.

    Attributes
    ----------
    n_rows : int
        Number of prompts in the batch.
    row : numpy.ndarray
        ``int64`` row (within the batch) of every token occurrence.
    code : numpy.ndarray
        ``int32`` index of the occurrence's token in ``vocab``.
    vocab : pyarrow.Array
        The distinct tokens of the batch (``string``), each hashed once.
    """

    n_rows: int
    row: np.ndarray
    code: np.ndarray
    vocab: pa.Array


def _invalid_rows(arr: pa.Array) -> list[int]:
    """Rows of a binary-cast-to-string array that are not valid UTF-8 (bisection)."""
    try:
        arr.validate(full=True)
        return []
    except pa.ArrowInvalid:
        pass
    if len(arr) == 1:
        return [0]
    mid = len(arr) // 2
    left = _invalid_rows(arr.slice(0, mid))
    return left + [mid + i for i in _invalid_rows(arr.slice(mid))]


def _to_valid_utf8(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Cast one binary/string/null chunk to valid UTF-8 strings; count repairs."""
    typ = arr.type
    if pa.types.is_null(typ):
        return pa.nulls(len(arr), pa.string()), _NONE
    if typ in _STRING_TYPES:
        return arr, _NONE
    target = pa.large_string() if typ == pa.large_binary() else pa.string()
    unsafe = arr.cast(target, safe=False)
    bad = _invalid_rows(unsafe)
    if not bad:
        return unsafe, _NONE
    idx = np.asarray(bad, dtype=np.int64)
    fixed = [b.decode("utf-8", "replace") for b in arr.take(pa.array(idx)).to_pylist()]
    mask = np.zeros(len(arr), dtype=bool)
    mask[idx] = True
    # replace_with_mask validates nothing, so blank the bad rows first.
    blank = pc.if_else(pa.array(mask), pa.scalar("", target), unsafe)
    out = pc.replace_with_mask(blank, pa.array(mask), pa.array(fixed, type=target))
    return out, idx


def iter_text_batches(
    texts: Any, *, batch_size: int = 8192, max_batch_bytes: int = 1 << 26, name: str = "texts"
) -> Iterator[TextBatch]:
    """Yield the prompts as valid-UTF-8 string batches of bounded size.

    Parameters
    ----------
    texts : array-like of str or bytes
        See :func:`as_text_array`.
    batch_size : int
        Maximum number of rows per batch.
    max_batch_bytes : int
        Maximum bytes of text per batch; a single larger prompt forms its own
        batch. Together with ``batch_size`` this bounds working memory.
    name : str
        Argument name used in error messages.

    Yields
    ------
    TextBatch
        Consecutive slices covering every row once, in input order.

    Notes
    -----
    Slicing is zero-copy. Invalid UTF-8 (binary input only) is located by
    bisection with pyarrow's validator and decoded with replacement in Python,
    so its cost is proportional to the number of bad rows.
    """
    if batch_size < 1:
        raise InvalidParameterError(f"The 'batch_size' parameter must be an int >= 1. Got {batch_size!r} instead.")
    arr = as_text_array(texts, name=name)
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    start = 0
    for chunk in chunks:
        n = len(chunk)
        if n == 0:
            continue
        if pa.types.is_null(chunk.type):
            cuts = list(range(0, n, batch_size)) + [n]
        else:
            off = np.frombuffer(chunk.buffers()[1], dtype=np.int64 if chunk.type in (pa.large_string(), pa.large_binary()) else np.int32)
            off = off[chunk.offset : chunk.offset + n + 1].astype(np.int64)
            cuts = [0]
            while cuts[-1] < n:
                lo = cuts[-1]
                hi = min(lo + batch_size, n)
                by_bytes = int(np.searchsorted(off, off[lo] + max_batch_bytes, side="right")) - 1
                cuts.append(max(lo + 1, min(hi, by_bytes)))
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            piece, bad = _to_valid_utf8(chunk.slice(lo, hi - lo))
            if bad.size:
                logger.warning(
                    "%d prompt(s) in rows %d..%d were not valid UTF-8; decoded with replacement",
                    bad.size, start + lo, start + hi - 1,
                )
            yield TextBatch(start + lo, piece, bad)
        start += n


def _offsets(arr: pa.Array) -> np.ndarray:
    """int64 offsets (length n + 1) of a string/binary array, honouring its slice offset."""
    large = arr.type in (pa.large_string(), pa.large_binary())
    off = np.frombuffer(arr.buffers()[1], dtype=np.int64 if large else np.int32)
    return off[arr.offset : arr.offset + len(arr) + 1].astype(np.int64)


def _split_trim(texts: pa.Array, ascii_only: bool) -> pa.ListArray:
    if ascii_only:
        # ascii_split_whitespace differs from the Unicode splitter only on the
        # separators U+001C..U+001F; map them to spaces so both paths agree.
        data = texts.buffers()[2]
        if data is not None:
            buf = np.frombuffer(data, dtype=np.uint8)
            sep = (buf - np.uint8(0x1C)) < np.uint8(4)
            if sep.any():
                fixed = buf.copy()
                fixed[sep] = 0x20
                texts = pa.Array.from_buffers(texts.type, len(texts), [texts.buffers()[0], texts.buffers()[1], pa.py_buffer(fixed)], texts.null_count, texts.offset)
        return pc.ascii_split_whitespace(pc.ascii_lower(texts))
    # pyarrow's utf8_split_whitespace (checked on 26.0.1) reads the byte after the
    # end of the data buffer: when the last string ends in whitespace and that
    # stray byte is >= 0x80, the trailing whitespace is not split off. Buffers
    # fresh from utf8_lower hold garbage there, which made signatures
    # nondeterministic. An ASCII sentinel row makes the last real string's
    # successor a known byte; it is sliced off again.
    return _utf8_split_whitespace(pc.utf8_lower(texts))


def _utf8_split_whitespace(texts: pa.Array) -> pa.ListArray:
    """``pc.utf8_split_whitespace`` guarded against its read past the buffer end."""
    guarded = pa.concat_arrays([texts, pa.array(["x"], type=texts.type)])
    return pc.utf8_split_whitespace(guarded).slice(0, len(texts))


def tokenize_batch(texts: pa.Array) -> TokenBatch:
    """Tokenise a batch of prompts (see the module doc).

    Parameters
    ----------
    texts : pyarrow.Array
        Valid UTF-8 ``string``/``large_string`` array; nulls have no tokens.

    Returns
    -------
    TokenBatch
        Token occurrences (row, code) and the batch vocabulary.

    Notes
    -----
    Cost is linear in the bytes of the batch: lower-case, whitespace split,
    trim, and one hash-table pass (``dictionary_encode``) so later stages hash
    only the distinct tokens. ASCII rows take ASCII kernels (about twice as
    fast); the two paths give identical tokens on ASCII text. This is the
    reference tokeniser: the compiled ASCII tokeniser of the default signatures
    (:func:`accountgraph._kernels.oph_ascii`) and :func:`prompt_tokens` must
    agree with it.
    """
    n = len(texts)
    if n == 0 or texts.null_count == n:
        return TokenBatch(n, np.zeros(0, np.int64), np.zeros(0, np.int32), pa.array([], pa.string()))
    is_ascii = pc.fill_null(pc.string_is_ascii(texts), True)
    n_ascii = int(pc.sum(is_ascii).as_py() or 0)
    parts: list[tuple[np.ndarray | None, pa.ListArray, bool]] = []
    if n_ascii == n:
        parts.append((None, _split_trim(texts, True), True))
    elif n_ascii == 0:
        parts.append((None, _split_trim(texts, False), False))
    else:
        mask = is_ascii.to_numpy(zero_copy_only=False)
        for sel, asc in ((np.flatnonzero(mask), True), (np.flatnonzero(~mask), False)):
            parts.append((sel, _split_trim(texts.take(pa.array(sel)), asc), asc))
    rows: list[np.ndarray] = []
    toks: list[pa.Array] = []
    for sel, lists, asc in parts:
        flat = pc.list_flatten(lists)
        parent = pc.list_parent_indices(lists).to_numpy()
        # ASCII rows contain no other characters of PUNCTUATION: the ASCII trim is equivalent.
        trimmed = pc.ascii_trim(flat, ASCII_PUNCT) if asc else pc.utf8_trim(flat, PUNCTUATION)
        rows.append(parent if sel is None else sel[parent])
        toks.append(trimmed)
    tokens = toks[0] if len(toks) == 1 else pa.concat_arrays([t.cast(pa.large_string()) for t in toks])
    row = np.concatenate(rows).astype(np.int64, copy=False)
    enc = pc.dictionary_encode(tokens)
    code = enc.indices.to_numpy().astype(np.int32, copy=False)
    # Tokens that were all punctuation are now "" (at most one dictionary entry): drop them
    # here rather than filtering the string array, which would copy every token.
    empty = np.flatnonzero(np.diff(_offsets(enc.dictionary)) == 0)
    if empty.size:
        keep = code != empty[0]
        row, code = row[keep], code[keep]
    return TokenBatch(n, row, code, enc.dictionary)


def prompt_tokens(text: str | bytes | None) -> list[str]:
    """Tokens of one prompt, exactly as the batch signature path sees them.

    Parameters
    ----------
    text : str, bytes or None
        The prompt. Bytes are decoded as UTF-8 with replacement.

    Returns
    -------
    list of str
        Tokens in order of occurrence, duplicates kept; ``[]`` for ``None``,
        empty or punctuation-only text.

    Examples
    --------
    >>> prompt_tokens("Write a POEM about the sea, please!")
    ['write', 'a', 'poem', 'about', 'the', 'sea', 'please']
    >>> prompt_tokens("«Bonjour» — le   monde…")
    ['bonjour', 'le', 'monde']
    """
    (batch,) = list(iter_text_batches([text], name="text"))
    tb = tokenize_batch(batch.texts)
    if tb.code.size == 0:
        return []
    order = np.argsort(tb.row, kind="stable")  # one row, but keep occurrence order explicit
    return tb.vocab.take(pa.array(tb.code[order])).to_pylist()
