"""Signal extraction: which accounts share which identifiers.

Stage 2 of the pipeline. From validated events and accounts it produces the
account–signal incidence: one row per distinct (account, signal) pair with the
number of events behind it. Signal types:

========== ==================================================================
``ip``           exact IP address (canonical text)
``ip_net``       its network: /24 for IPv4, /48 for IPv6
``device``       device / client fingerprint (``device_id``)
``payment``      payment instrument, from events and the accounts table
``email_domain`` e-mail domain (accounts table, lower-cased)
``phone_prefix`` phone prefix (accounts table)
``template``     prompt-template family (MinHash LSH, see ``_minhash``)
``x:<name>``     a declared extra signal column
========== ==================================================================

All codes come from sorted unique values, so the output does not depend on
the input row order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..ingest import ip_networks
from ..ingest import ValidAccounts, ValidEvents, combine_chunks, factorize_union

__all__ = ["SignalTable", "extract_signals", "unique_counts"]

logger = logging.getLogger(__name__)


@dataclass
class SignalTable:
    """Distinct (account, signal) incidences.

    Attributes
    ----------
    account : ndarray of int64, shape (m,)
        Account code of each incidence (sorted by ``(signal, account)``).
    signal : ndarray of int64, shape (m,)
        Global signal id of each incidence.
    n_events : ndarray of int64, shape (m,)
        Events behind the incidence (1 for account-table attributes).
    signal_type : ndarray of int16, shape (s,)
        Index into ``type_names`` for each signal id.
    signal_value : pyarrow.Array of str, shape (s,)
        The signal's value as text (an IP, a card id, ``"family 12"``...).
    type_names : list of str
    """

    account: np.ndarray
    signal: np.ndarray
    n_events: np.ndarray
    signal_type: np.ndarray
    signal_value: pa.Array
    type_names: list[str]

    @property
    def n_signals(self) -> int:
        return len(self.signal_type)


def unique_counts(key: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values of an int64 key and their (weighted) counts.

    Hash-based (``pandas.factorize``) then sorts only the distinct values: much
    cheaper than ``np.unique``'s full sort when keys repeat, as (account, IP)
    pairs do across an account's events.
    """
    codes, uniq = pd.factorize(key, sort=True)
    counts = np.bincount(codes, weights=weights, minlength=len(uniq))
    return np.asarray(uniq, dtype=np.int64), counts.astype(np.int64)


def _pairs(acc: np.ndarray, val: np.ndarray, n_vals: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (account, value) pairs with counts; rows with val < 0 are skipped."""
    ok = val >= 0
    if not ok.all():
        acc, val = acc[ok], val[ok]
    base = max(n_vals, 1)
    uniq, counts = unique_counts(acc.astype(np.int64) * base + val.astype(np.int64))
    return uniq // base, uniq % base, counts


def extract_signals(
    ev: ValidEvents,
    ev_account: np.ndarray,
    accts: ValidAccounts | None,
    acct_account: np.ndarray | None,
    *,
    template_family: np.ndarray | None = None,
    use_ip_network: bool = True,
) -> SignalTable:
    """Build the account–signal incidence table.

    Parameters
    ----------
    ev : ValidEvents
    ev_account : ndarray of int
        Account code of each event.
    accts : ValidAccounts or None
    acct_account : ndarray of int or None
        Account code of each accounts-table row.
    template_family : ndarray of int64, optional
        Template family of each event (-1 for none).
    use_ip_network : bool
        Also emit the /24 (/48) network of each IP as a signal.

    Returns
    -------
    SignalTable

    Notes
    -----
    Cost: one sort of ``n_events`` 64-bit keys per signal type, O(n log n).
    """
    sources = _sources(ev, ev_account, accts, acct_account, template_family, use_ip_network)
    accs, sigs, cnts, types, values = [], [], [], [], []
    type_names: list[str] = []
    offset = 0
    for tname in sorted(sources):
        a, v, c, value_text = _incidences(tname, sources[tname])
        if len(a) == 0:
            continue
        t = len(type_names)
        type_names.append(tname)
        accs.append(a)
        sigs.append(v + offset)
        cnts.append(np.maximum(c, 1))
        n_vals = len(value_text)
        types.append(np.full(n_vals, t, np.int16))
        values.append(value_text.cast(pa.large_string()))
        offset += n_vals
        logger.debug("signal type %s: %d values, %d incidences", tname, n_vals, len(a))

    if not accs:
        e = np.zeros(0, np.int64)
        return SignalTable(e, e, e, np.zeros(0, np.int16), pa.array([], pa.large_string()), [])
    account = np.concatenate(accs)
    signal = np.concatenate(sigs)
    order = np.lexsort((account, signal))
    return SignalTable(
        account=account[order],
        signal=signal[order],
        n_events=np.concatenate(cnts)[order],
        signal_type=np.concatenate(types),
        signal_value=pa.concat_arrays(values),
        type_names=type_names,
    )


_Source = tuple[np.ndarray, "pa.ChunkedArray | np.ndarray", bool]


def _sources(
    ev: ValidEvents, ev_account: np.ndarray, accts: ValidAccounts | None, acct_account: np.ndarray | None,
    template_family: np.ndarray | None, use_ip_network: bool,
) -> dict[str, list[_Source]]:
    """Per signal type, its (account codes, value column or codes, counts events?) sources."""
    sources: dict[str, list[_Source]] = {}

    def add(tname: str, acc: np.ndarray, col, from_events: bool) -> None:
        if col is not None:
            sources.setdefault(tname, []).append((acc, col, from_events))

    if ev.ip is not None:
        add("ip", ev_account, ev.ip, True)
        if use_ip_network:
            add("ip_net", ev_account, pa.chunked_array([ip_networks(combine_chunks(ev.ip))]), True)
    add("device", ev_account, ev.device_id, True)
    add("payment", ev_account, ev.payment_id, True)
    if template_family is not None:
        add("template", ev_account, template_family, True)
    for name, col in ev.extra.items():
        add(f"x:{name}", ev_account, col, True)
    if accts is not None and acct_account is not None:
        add("payment", acct_account, accts.payment_id, False)
        add("email_domain", acct_account, accts.email_domain, False)
        add("phone_prefix", acct_account, accts.phone_prefix, False)
        for name, col in accts.extra.items():
            add(f"x:{name}", acct_account, col, False)
    return sources


def _incidences(tname: str, parts: list[_Source]) -> tuple[np.ndarray, np.ndarray, np.ndarray, pa.Array]:
    """Distinct (account, value code) pairs of one signal type, their event counts and the value texts."""
    if tname == "template":
        acc, fam, _ = parts[0]
        uniq_vals = np.unique(fam[fam >= 0])
        codes = np.searchsorted(uniq_vals, fam)
        codes[fam < 0] = -1
        a, v, c = _pairs(acc, codes, len(uniq_vals))
        return a, v, c, pc.binary_join_element_wise("family ", pa.array(uniq_vals).cast(pa.string()), "")
    # Factorise the union of all columns of this type together so a card
    # seen in events and in accounts is one signal.
    codes_parts, uniq = factorize_union([p[1] for p in parts])
    codes_all = np.concatenate(codes_parts)
    acc_all = np.concatenate([p[0] for p in parts])
    counts_w = np.concatenate([np.ones(len(p[0]), np.int64) if p[2] else np.zeros(len(p[0]), np.int64) for p in parts])
    ok = codes_all >= 0
    key = acc_all[ok].astype(np.int64) * max(len(uniq), 1) + codes_all[ok]
    u, c = unique_counts(key, weights=counts_w[ok])
    a, v = u // max(len(uniq), 1), u % max(len(uniq), 1)
    return a, v, c, uniq
