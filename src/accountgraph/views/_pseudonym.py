"""Keyed pseudonyms for every identifier a result shows: accounts, IPs, networks, cards, devices, domains.

Part of stage 7 (views). Pseudonymisation is applied to the *output* tables of
a finished detection, never to its input, so detection results are identical
with and without it. A pseudonym is ``<prefix><HMAC-SHA256(key, tag 0x00
canonical value)[:16 hex]>``; the canonical value is what ingest would make of
the raw value (trimmed, IPs in canonical form, e-mail domains lower-cased), so
a partner who holds the same key and hashes a raw value with
:func:`hash_indicator` gets the same token.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._exceptions import InvalidParameterError
from ..ingest import canonical_ips, ip_networks

__all__ = ["ENV_KEY", "KIND_PREFIX", "MIN_KEY_BYTES", "Pseudonymizer", "hash_indicator", "resolve_key",
           "WITHHELD"]

#: Environment variable holding the key when none is passed.
ENV_KEY = "ACCOUNTGRAPH_PSEUDONYM_KEY"
#: Shortest accepted key: 128 bits, the HMAC security level we claim.
MIN_KEY_BYTES = 16
#: Pseudonym prefix per kind (signal type names, plus ``account``).
KIND_PREFIX = {"account": "acct_", "ip": "ip_", "ip_net": "net_", "payment": "pay_", "device": "dev_",
               "email_domain": "dom_", "phone_prefix": "tel_"}
#: What replaces a prompt left out of a pseudonymised output.
WITHHELD = "[prompt withheld]"
_HEX = 16


def _key_bytes(key: bytes | str, owner: str) -> bytes:
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, (bytes, bytearray)):
        raise InvalidParameterError(f"The pseudonymisation key of {owner} must be bytes or str. "
                                    f"Got {type(key).__name__} instead.")
    if len(key) < MIN_KEY_BYTES:
        raise InvalidParameterError(
            f"The pseudonymisation key of {owner} is {len(key)} bytes; it must be at least {MIN_KEY_BYTES} bytes "
            f"(e.g. python -c 'import secrets; print(secrets.token_hex(32))').")
    return bytes(key)


def resolve_key(key: bytes | str | bool | None, owner: str, *, required: bool = False) -> bytes | None:
    """The key to use: ``key`` itself, or ``$ACCOUNTGRAPH_PSEUDONYM_KEY`` when ``key`` is None.

    ``False`` means no pseudonymisation even if the variable is set. With
    ``required``, a missing key raises :class:`InvalidParameterError`.
    """
    if key is False:
        key = None
    elif key is None:
        key = os.environ.get(ENV_KEY) or None
    if key is None:
        if required:
            raise InvalidParameterError(f"{owner} needs a key: pass key=... or set the environment variable {ENV_KEY}.")
        return None
    if key is True:
        raise InvalidParameterError(f"The pseudonymisation key of {owner} must be bytes or str. Got True instead.")
    return _key_bytes(key, owner)


def _prefix(kind: str) -> str:
    if kind in KIND_PREFIX:
        return KIND_PREFIX[kind]
    if kind.startswith("x:"):
        return "x_"
    raise InvalidParameterError(
        f"Unknown indicator kind {kind!r}; use one of {sorted(KIND_PREFIX)} or 'x:<column>' for an extra signal.")


def _network(text: str) -> str:
    """Canonical text of a network given as ``address/prefix``; other text is returned as it is."""
    import ipaddress

    if "/" not in text:
        return text
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        return text


def canonical_values(values: Iterable[Any], kind: str) -> list[str | None]:
    """Values as ingest would hold them: trimmed text, canonical IPs / networks, lower-case domains."""
    text = [None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v) for v in values]
    arr = pc.utf8_trim_whitespace(pa.array(text, pa.large_string()))
    if kind in ("ip", "ip_net"):
        valid = [v is not None for v in arr.to_pylist()]
        ips = arr.filter(pa.array(valid)) if not all(valid) else arr
        canon, ok = canonical_ips(ips)
        if kind == "ip_net":
            nets = ip_networks(canon).to_pylist()
            # A value that already is a network ("10.1.2.0/24", "2001:DB8:1::/48") is put in canonical form.
            canon = pa.array([n if o else _network(c) for n, o, c in zip(nets, ok, canon.to_pylist())],
                             pa.large_string())
        it = iter(canon.to_pylist())
        return [next(it) if v else None for v in valid]
    if kind == "email_domain":
        arr = pc.utf8_lower(arr)
    return arr.to_pylist()


class Pseudonymizer:
    """Maps identifiers to keyed pseudonyms, one HMAC per distinct (kind, value).

    Parameters
    ----------
    key : bytes or str
        At least 16 bytes (str keys are UTF-8 encoded).

    Notes
    -----
    One HMAC-SHA256 per distinct value (about 1 µs each); distinct values are
    cached, so memory grows with the distinct identifiers of the outputs.
    """

    def __init__(self, key: bytes | str) -> None:
        self._key = _key_bytes(key, "Pseudonymizer")
        self._cache: dict[tuple[str, str], str] = {}

    @property
    def key(self) -> bytes:
        return self._key

    def token(self, canonical: str, kind: str) -> str:
        ck = (kind, canonical)
        tok = self._cache.get(ck)
        if tok is None:
            mac = hmac.new(self._key, kind.encode("utf-8") + b"\x00" + canonical.encode("utf-8", "surrogatepass"),
                           hashlib.sha256)
            tok = self._cache[ck] = _prefix(kind) + mac.hexdigest()[:_HEX]
        return tok

    def values(self, values: Iterable[Any], kind: str, *, canonical: bool = True) -> list[str | None]:
        """Pseudonyms of ``values`` (None stays None); ``canonical=True``: the values are already canonical."""
        vals = list(values)
        if not canonical:
            vals = canonical_values(vals, kind)
        return [None if v is None or (not isinstance(v, str) and pd.isna(v)) else self.token(str(v), kind)
                for v in vals]

    def column(self, s: pd.Series, kind: str) -> pd.Series:
        """A Series of pseudonyms (object dtype), mapped once per distinct value."""
        uniq = pd.unique(s.dropna())
        mapping = dict(zip(uniq, self.values(uniq, kind)))
        return s.map(mapping).astype(object)

    def signal_values(self, types: pd.Series, values: pd.Series) -> pd.Series:
        """Pseudonyms of signal ``values`` by their ``signal_type``; template families are kept (see Notes)."""
        out = values.astype(object).copy()
        for t in pd.unique(types):
            if t == "template":  # "family 12": an internal number of this run, no personal data
                continue
            m = (types == t).to_numpy()
            out[m] = self.column(values[m], str(t)).to_numpy()
        return out


def hash_indicator(value: Any, kind: str, key: bytes | str) -> str:
    """Keyed pseudonym of one raw identifier, as in pseudonymised results and shared indicators.

    Parameters
    ----------
    value : str or int
        A raw value as it appears in the input (an IP, a card id, an e-mail
        domain, an account id...). It is canonicalised as ingest does: trimmed,
        IPs in canonical form (``2001:DB8::0:1`` -> ``2001:db8::1``), e-mail
        domains lower-cased; for ``ip_net`` an IP gives its /24 (IPv4) or /48
        (IPv6) network.
    kind : str
        ``"account"``, ``"ip"``, ``"ip_net"``, ``"payment"``, ``"device"``,
        ``"email_domain"``, ``"phone_prefix"`` or ``"x:<column>"``.
    key : bytes or str
        At least 16 bytes.

    Returns
    -------
    str
        ``<prefix><16 hex>``, e.g. ``ip_3f2a...``; prefixes ``acct_``, ``ip_``,
        ``net_``, ``pay_``, ``dev_``, ``dom_``, ``tel_``, ``x_``.

    Raises
    ------
    InvalidParameterError
        Key shorter than 16 bytes, unknown kind, or an empty value.

    Notes
    -----
    ``HMAC-SHA256(key, kind + b"\\x00" + canonical value)``, hex digest cut to
    16 characters (64 bits). Without the key nobody can test a guess (the
    values are low-entropy: IPs, card ids), so the length only has to avoid
    collisions: among a million distinct values the chance that any two share
    a token is about n^2 / 2^65 = 3e-8, and 64 bits keep tokens short enough
    for tables and STIX patterns. The kind in the message keeps an IP and a
    device id with the same text apart.

    Examples
    --------
    >>> key = "0123456789abcdef-example-key"
    >>> hash_indicator(" 2001:DB8::0:1", "ip", key) == hash_indicator("2001:db8::1", "ip", key)
    True
    >>> hash_indicator("Example.ORG", "email_domain", key)[:4]
    'dom_'
    """
    p = Pseudonymizer(key)
    _prefix(kind)
    canon = canonical_values([value], kind)[0]
    if canon is None or canon == "":
        raise InvalidParameterError(f"hash_indicator needs a non-empty value. Got {value!r} instead.")
    return p.token(canon, kind)
