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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._parallel import n_workers
from .._progress import task
from ._group import AccountOrder, account_order, pair_counts
from ..ingest import ip_networks
from ..ingest import ValidAccounts, ValidEvents, combine_chunks, factorize_sorted, factorize_union

__all__ = ["SignalTable", "extract_signals", "unique_counts"]

logger = logging.getLogger(__name__)


@dataclass
class SignalTable:
    """Distinct (account, signal) incidences.

    Attributes
    ----------
    account : ndarray of int32 (int64 past 2**31 - 1 accounts), shape (m,)
        Account code of each incidence (sorted by ``(signal, account)``).
    signal : ndarray of int32 (int64 past 2**31 - 1 signals), shape (m,)
        Global signal id of each incidence.
    n_events : ndarray of int32 (int64 past 2**31 - 1 events), shape (m,)
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
    codes, uniq = pd.factorize(key, sort=False)  # sorting the few distinct keys beats remapping every code
    counts = np.bincount(codes, weights=weights, minlength=len(uniq))
    order = np.argsort(uniq, kind="stable")
    return np.asarray(uniq, dtype=np.int64)[order], counts.astype(np.int64)[order]


def _pairs(acc: np.ndarray, val: np.ndarray, n_acc: int,
           weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (account, value) pairs with (weighted) counts, sorted by value then account.

    Rows with ``val < 0`` are skipped. Sorted by value first, so the types'
    incidences concatenated in signal-id order are sorted by (signal, account)
    with no sort of the whole table.
    """
    ok = val >= 0
    if not ok.all():
        acc, val = acc[ok], val[ok]
        weights = None if weights is None else weights[ok]
    base = max(n_acc, 1)
    uniq, counts = unique_counts(val.astype(np.int64) * base + acc.astype(np.int64), weights)
    return uniq % base, uniq // base, counts


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
    Cost: one hash pass over ``n_events`` 64-bit keys per event signal type;
    IP networks are aggregated from the IP incidences, not from the events.
    """
    sources = _sources(ev, ev_account, accts, acct_account, template_family, use_ip_network)
    n_acc = 1 + max([int(p[0].max()) for parts in sources.values() if parts is not None for p in parts
                     if len(p[0])] + [int(ev_account.max()) if len(ev_account) else 0])
    done: dict[str, tuple] = {}
    from_events = any(p[2] for parts in sources.values() if parts is not None for p in parts)
    by = account_order(ev_account, n_acc) if len(ev_account) and from_events else None
    # The types are independent (ip_net reads the IP incidences): on a thread pool, largest
    # first; the hashing passes (pandas, numba, Arrow) release the GIL. Each type's result
    # does not depend on the others, and they are assembled in name order.
    names = sorted(sources)
    order = sorted((t for t in names if sources[t] is not None), key=lambda t: (t not in _BIG, t))
    with task("signal types extracted", total=len(sources), unit="types") as bar, \
            ThreadPoolExecutor(max_workers=n_workers(-1), thread_name_prefix="accountgraph") as pool:
        futures = {t: pool.submit(_incidences, t, sources[t], n_acc, by) for t in order}
        for tname in names:
            if sources[tname] is None:  # ip_net: the networks of the IP incidences (done: "ip" sorts first)
                done[tname] = _networks(done.get("ip"), n_acc)
            else:
                done[tname] = futures.pop(tname).result()
            bar.update(1)
    del by
    return _assemble(done, names)


_BIG = ("ip", "template")  # the types with most distinct (account, value) pairs: started first


def _assemble(done: dict[str, tuple], names: list[str]) -> SignalTable:
    """One table from the types' incidences, in signal-id order, each type's parts freed once copied.

    The incidence columns are filled in place rather than concatenated, so the
    process never holds every type's parts and the whole table at once.
    """
    sizes = {t: len(done[t][0]) for t in names}
    m = sum(sizes.values())
    top = max([int(done[t][2].max()) for t in names if sizes[t]], default=0)
    top_acc = max([int(done[t][0].max()) for t in names if sizes[t]], default=0)
    n_sig = sum(len(done[t][3]) for t in names if sizes[t])
    # int32 codes while they fit (76M incidences at seed scale: 0.58 GiB less, live from
    # the signals stage to the views); consumers widen where they multiply codes
    account = np.empty(m, np.int32 if top_acc < 2**31 - 1 else np.int64)
    signal = np.empty(m, np.int32 if n_sig < 2**31 - 1 else np.int64)
    n_events = np.empty(m, np.int32 if top < 2**31 else np.int64)
    types, values = [], []
    type_names: list[str] = []
    lo = offset = 0
    for tname in names:
        a, v, c, value_text = done.pop(tname)
        if sizes[tname] == 0:
            continue
        hi = lo + sizes[tname]
        account[lo:hi], signal[lo:hi] = a, v + offset
        np.maximum(c, 1, out=n_events[lo:hi])
        del a, v, c
        t = len(type_names)
        type_names.append(tname)
        n_vals = len(value_text)
        types.append(np.full(n_vals, t, np.int16))
        values.append(value_text.cast(pa.large_string()))
        logger.debug("signal type %s: %d values, %d incidences", tname, n_vals, hi - lo)
        offset += n_vals
        lo = hi
    if not type_names:
        e = np.zeros(0, np.int64)
        return SignalTable(e, e, e, np.zeros(0, np.int16), pa.array([], pa.large_string()), [])
    return SignalTable(  # each type sorted by (value, account), types in signal-id order
        account=account, signal=signal, n_events=n_events, signal_type=np.concatenate(types),
        signal_value=pa.concat_arrays(values), type_names=type_names,
    )


_Source = tuple[np.ndarray, "pa.ChunkedArray | np.ndarray", bool]


def _sources(
    ev: ValidEvents, ev_account: np.ndarray, accts: ValidAccounts | None, acct_account: np.ndarray | None,
    template_family: np.ndarray | None, use_ip_network: bool,
) -> dict[str, list[_Source] | None]:
    """Per signal type, its (account codes, value column or codes, counts events?) sources (None: derived)."""
    sources: dict[str, list[_Source] | None] = {}

    def add(tname: str, acc: np.ndarray, col, from_events: bool) -> None:
        if col is not None:
            sources.setdefault(tname, []).append((acc, col, from_events))  # type: ignore[union-attr]

    if ev.ip is not None:
        add("ip", ev_account, ev.ip, True)
        if use_ip_network:
            sources["ip_net"] = None  # derived from the "ip" incidences
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


def _networks(ip: tuple | None, n_acc: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, pa.Array]:
    """(account, network) incidences from the (account, IP) ones: each IP's /24 (/48), events summed."""
    if ip is None or not len(ip[0]):
        e = np.zeros(0, np.int64)
        return e, e, e, pa.array([], pa.large_string())
    a, v, c, ips = ip
    net_code, nets = factorize_sorted(ip_networks(combine_chunks(ips)))
    a2, v2, c2 = _pairs(a, net_code[v].astype(np.int64), n_acc, weights=c)
    return a2, v2, c2, nets


def _incidences(tname: str, parts: list[_Source], n_acc: int,
                by: AccountOrder | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, pa.Array]:
    """Distinct (account, value code) pairs of one signal type, their event counts and the value texts.

    Event columns go through the shared account order (:mod:`._group`); the few
    rows of the accounts table are merged in with no events.
    """
    if tname == "template":
        acc, fam, _ = parts[0]
        ok = fam >= 0
        present = np.bincount(fam[ok], minlength=int(fam.max()) + 1 if ok.any() else 0) > 0
        if present.all():  # every family id 0..k-1 holds a row (as template_families numbers them)
            uniq_vals, codes = np.flatnonzero(present), fam
        else:
            uniq_vals = np.flatnonzero(present)
            codes = np.where(ok, np.searchsorted(uniq_vals, fam), -1)
        a, v, c = _event_pairs(acc, codes, len(uniq_vals), n_acc, by)
        return a, v, c, pc.binary_join_element_wise("family ", pa.array(uniq_vals).cast(pa.string()), "")
    # Factorise the union of all columns of this type together so a card
    # seen in events and in accounts is one signal.
    codes_parts, uniq = factorize_union([p[1] for p in parts])
    found = []
    for (acc, _, from_events), codes in zip(parts, codes_parts):
        if from_events:
            found.append(_event_pairs(acc, codes, len(uniq), n_acc, by))
        else:
            a, v, c = _pairs(acc, codes, n_acc)
            found.append((a, v, np.zeros_like(c)))
    if len(found) == 1:
        return (*found[0], uniq)
    base = max(n_acc, 1)
    keys = np.concatenate([v * base + a for a, v, _ in found])
    u, inv = np.unique(keys, return_inverse=True)
    c = np.bincount(inv.reshape(-1), weights=np.concatenate([c for _, _, c in found]), minlength=len(u))
    return u % base, u // base, c.astype(np.int64), uniq


def _event_pairs(acc: np.ndarray, codes: np.ndarray, n_vals: int, n_acc: int,
                 by: AccountOrder | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(account, value) pairs of event rows: through the account order when there is one."""
    if by is not None and len(acc) == len(by.order):
        return pair_counts(codes, by, n_vals)
    return _pairs(acc, codes, n_acc)
