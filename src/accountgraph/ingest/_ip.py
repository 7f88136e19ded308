"""IP address canonicalisation and networks, vectorised over distinct values.

IPv4 is validated with one strict RE2 pattern over the distinct values (no
leading zeros, octets <= 255) and its /24 derived with a regex replace. IPv6 is
rarer; each distinct IPv6 text goes once through the C functions
:func:`socket.inet_pton` / :func:`socket.inet_ntop` (about 100 times faster than
:mod:`ipaddress`), which validate it and give its canonical compressed form and
its /48.
"""

from __future__ import annotations

import socket

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._columns import combine_chunks

__all__ = ["canonical_ips", "check_ips", "ip_networks"]

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"^{_OCTET}(\.{_OCTET}){{3}}$"


def _v6(text: str) -> bytes | None:
    try:
        return socket.inet_pton(socket.AF_INET6, text)
    except (OSError, ValueError):
        return None


def canonical_ips(uniq: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Canonical text of each distinct IP and whether it is well formed.

    Parameters
    ----------
    uniq : pyarrow.Array of str, no nulls
        Distinct IP texts (a dictionary).

    Returns
    -------
    canonical : pyarrow.Array of large_string
        Same length; malformed values are left as they are.
    ok : numpy.ndarray of bool

    Examples
    --------
    >>> import pyarrow as pa
    >>> c, ok = canonical_ips(pa.array(["10.0.0.1", "2001:DB8::0:1", "10.0.0.256"]))
    >>> c.to_pylist(), ok.tolist()
    (['10.0.0.1', '2001:db8::1', '10.0.0.256'], [True, True, False])
    """
    v4 = np.asarray(pc.match_substring_regex(uniq, _IPV4).to_numpy(zero_copy_only=False), dtype=bool)
    canon = np.asarray(uniq.to_numpy(zero_copy_only=False), dtype=object)
    ok = v4.copy()
    for i in np.flatnonzero(~v4):  # distinct non-IPv4 values only
        packed = _v6(canon[i])
        if packed is not None:
            canon[i] = socket.inet_ntop(socket.AF_INET6, packed)
            ok[i] = True
    return pa.array(canon, pa.large_string()), ok


def ip_networks(canon: pa.Array) -> pa.Array:
    """Network of each canonical IP: ``a.b.c.0/24`` for IPv4, the /48 for IPv6.

    A dictionary array gives a dictionary array (same indices, the networks of
    its dictionary), anything else a ``large_string`` array.

    Examples
    --------
    >>> import pyarrow as pa
    >>> ip_networks(pa.array(["10.1.2.3", "2001:db8:1:2::1", None])).to_pylist()
    ['10.1.2.0/24', '2001:db8:1::/48', None]
    """
    enc = canon.dictionary_encode() if not pa.types.is_dictionary(canon.type) else canon
    uniq = enc.dictionary
    nets = np.asarray(
        pc.replace_substring_regex(uniq, r"^(\d+\.\d+\.\d+)\.\d+$", r"\1.0/24").to_numpy(zero_copy_only=False),
        dtype=object,
    )
    has_colon = np.asarray(pc.match_substring(uniq, ":").to_numpy(zero_copy_only=False), dtype=bool)
    for i in np.flatnonzero(has_colon):
        packed = _v6(nets[i])
        if packed is not None:
            nets[i] = socket.inet_ntop(socket.AF_INET6, packed[:6] + bytes(10)) + "/48"
    values = pa.array(nets, pa.large_string())
    if pa.types.is_dictionary(canon.type):  # keep the codes: no text per row
        return pa.DictionaryArray.from_arrays(enc.indices, values)
    return values.take(enc.indices)


def check_ips(col: pa.ChunkedArray) -> tuple[pa.ChunkedArray, np.ndarray]:
    """Canonicalise IP text once per distinct value; return (canonical, is_malformed)."""
    enc = combine_chunks(col).dictionary_encode()
    if len(enc.dictionary) == 0:
        return pa.chunked_array([pa.nulls(len(col), pa.large_string())]), np.zeros(len(col), bool)
    canon, ok = canonical_ips(enc.dictionary)
    idx = enc.indices
    null = np.asarray(pc.is_null(idx).to_numpy(zero_copy_only=False), bool)
    codes = np.asarray(idx.fill_null(0).to_numpy(), dtype=np.int64)
    bad = ~ok[codes] & ~null
    # Keep the dictionary form: one canonical string per distinct IP.
    out = pa.DictionaryArray.from_arrays(idx, canon).cast(pa.large_string())
    return pa.chunked_array([out]), bad

