"""MinHash toolkit for prompts: tokens, signatures (datasketch-exact or one-permutation), LSH layout and band keys.

>>> from accountgraph import minhash
>>> minhash.prompt_tokens("Fix this: parse_json(x)")
['fix', 'this', 'parse_json(x']
>>> sig = minhash.prompt_signatures(["a b c", "a b d"], num_perm=16, seed=1, exact=True)
>>> sig.shape
(2, 16)

``prompt_signatures(..., exact=True)`` equals ``datasketch.MinHash(num_perm, seed)``
after ``update_batch`` of :func:`prompt_tokens`, element for element, and
:func:`to_lean_minhash` hands a row to datasketch's LSH and storage. The default
mode is one-permutation hashing with densification, compiled for ASCII text.
:func:`shingle_signatures` and :func:`band_keys` are the sketches behind
:func:`accountgraph.templates.template_families`.

The compiled kernels (numba) load on first use, not at import.
"""

from ._lsh import lsh_params
from ._shingles import EMPTY_BIN, band_keys, shingle_signatures
from ._signatures import (
    EMPTY_EXACT,
    EMPTY_FAST,
    SignatureStats,
    affine32_permutations,
    prompt_signatures,
    sha1_hash32_array,
    signatures_with_stats,
    to_lean_minhash,
)
from ._tokenize import PUNCTUATION, as_text_array, iter_text_batches, prompt_tokens, tokenize_batch

__all__ = [
    "EMPTY_BIN", "EMPTY_EXACT", "EMPTY_FAST", "PUNCTUATION", "SignatureStats", "affine32_permutations",
    "as_text_array", "band_keys", "iter_text_batches", "lsh_params", "prompt_signatures", "prompt_tokens",
    "sha1_hash32_array", "shingle_signatures", "signatures_with_stats", "to_lean_minhash", "tokenize_batch",
]
