"""LSH layout: how many bands of how many rows a signature is cut into.

With ``b`` bands of ``r`` rows, two prompts whose shingle sets have Jaccard
similarity ``s`` share at least one band key with probability
``1 - (1 - s**r)**b``, a steep S-curve around the chosen similarity.
:func:`lsh_params` picks ``(b, r)`` the way datasketch's ``MinHashLSH`` does;
:func:`accountgraph.minhash.band_keys` computes the keys.
"""

from __future__ import annotations

import functools

from scipy.integrate import quad

from .._exceptions import InvalidParameterError

__all__ = ["lsh_params"]


@functools.lru_cache(maxsize=256)
def lsh_params(similarity: float, num_perm: int, *, weights: tuple[float, float] = (0.5, 0.5)) -> tuple[int, int]:
    """Bands and rows minimising weighted false-positive and false-negative probability.

    Same objective, search order and integrator as datasketch's
    ``MinHashLSH`` (``datasketch.lsh._optimal_param``), so the result is identical.

    Parameters
    ----------
    similarity : float
        Jaccard similarity in (0, 1) around which the S-curve of "shares a band" is centred
        (datasketch's ``threshold``).
    num_perm : int
        Signature length; ``bands * rows <= num_perm``.
    weights : tuple of float, default (0.5, 0.5)
        Weights of the false-positive and false-negative areas.

    Returns
    -------
    (int, int)
        ``(bands, rows)``.

    Raises
    ------
    InvalidParameterError
        If ``similarity`` is not in (0, 1) or ``num_perm < 1``.

    Notes
    -----
    O(num_perm log num_perm) numerical integrations (~0.1 s at 128); cached.

    Examples
    --------
    >>> lsh_params(0.5, 128)
    (25, 5)
    """
    if isinstance(similarity, bool) or not isinstance(similarity, (int, float)) or not 0.0 < float(similarity) < 1.0:
        raise InvalidParameterError(
            f"The 'similarity' parameter of lsh_params must be a float in (0, 1). Got {similarity!r} instead.")
    if int(num_perm) < 1:
        raise InvalidParameterError(f"The 'num_perm' parameter of lsh_params must be an int >= 1. Got {num_perm!r} instead.")
    fp_w, fn_w = weights
    best, opt = float("inf"), (0, 0)
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp = quad(lambda s: 1 - (1 - s ** float(r)) ** float(b), 0.0, similarity)[0]
            fn = quad(lambda s: 1 - (1 - (1 - s ** float(r)) ** float(b)), similarity, 1.0)[0]
            err = fp * fp_w + fn * fn_w
            if err < best:
                best, opt = err, (b, r)
    return opt
