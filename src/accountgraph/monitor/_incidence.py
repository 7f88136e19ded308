"""The account–signal incidence kept as counts with last-seen times, and per-signal degrees.

A batch's incidences come from the batch detector's own extractor
(:func:`accountgraph.signals.extract_signals`), once for the events and once
for the accounts table; their (type, value) pairs are mapped to stable signal
codes and merged into the state: event counts add up, first/last seen times
widen, and a new (account, signal) pair raises the signal's degree (distinct
accounts). The horizon removes pairs not seen since the cutoff, lowering
degrees. Times are per account and batch: an incidence's last-seen time is
its account's last event in the batch that carried it (one batch of
resolution). An account-table attribute (payment, e-mail domain, phone
prefix) counts as seen whenever its account is active or its row is given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..ingest import ValidEvents
from ..signals import SignalTable, extract_signals
from ._batch import Batch
from ._codes import hash_typed
from ._keys import rows_of
from ._state import Delta, State, pack, unpack
from .._unique import unique

__all__ = ["Changes", "batch_incidences", "expire_incidences", "merge_incidences"]


@dataclass
class Changes:
    """Signals whose degree moved in this update, and accounts that joined or left a signal."""

    signals: np.ndarray
    old_degree: np.ndarray
    accounts: np.ndarray


def _empty_events() -> ValidEvents:
    e = np.zeros(0, np.int64)
    return ValidEvents(account_id=pa.chunked_array([], pa.large_string()), timestamp=e, ip=None, device_id=None,
                       payment_id=None, prompt=None, output_tokens=None, extra={}, n_input_rows=0)


def _global_signals(state: State, sig: SignalTable) -> np.ndarray:
    """Stable code of each signal of a batch's table (new ones appended in the table's order)."""
    types = np.empty(len(sig.type_names), np.int64)
    for i, name in enumerate(sig.type_names):
        if name not in state.type_names:
            state.type_names.append(name)
        types[i] = state.type_names.index(name)
    t = types[sig.signal_type]
    codes, new_rows = state.sig_codes.encode(hash_typed(t, sig.signal_value), order_key=np.arange(len(t)))
    if len(new_rows):
        state.grow_signals(t[new_rows], sig.signal_value.take(pa.array(new_rows)))
    return codes


def batch_incidences(state: State, b: Batch, family: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """Distinct (key, events, first, last, attr) of the batch, sorted by key."""
    parts = []
    if len(b.ev):
        sig = extract_signals(b.ev, b.ev_acc, None, None, template_family=family)
        first = np.full(state.n_accounts, np.iinfo(np.int64).max)
        last = np.full(state.n_accounts, np.iinfo(np.int64).min)
        np.minimum.at(first, b.ev_acc, b.ev.timestamp)
        np.maximum.at(last, b.ev_acc, b.ev.timestamp)
        g = _global_signals(state, sig)
        parts.append((pack(sig.account, g[sig.signal]), sig.n_events, first[sig.account], last[sig.account],
                      np.zeros(len(sig.account), bool)))
    if b.ac is not None and len(b.ac.account_id):
        sig = extract_signals(_empty_events(), np.zeros(0, np.int64), b.ac, b.ac_acc)
        g = _global_signals(state, sig)
        now = np.full(len(sig.account), state.now_us, np.int64)
        seen = np.maximum(state.last_ts[sig.account], now)
        parts.append((pack(sig.account, g[sig.signal]), np.zeros(len(sig.account), np.int64), seen, seen,
                      np.ones(len(sig.account), bool)))
    if not parts:
        e = np.zeros(0, np.int64)
        return e, e, e, e, np.zeros(0, bool)
    key, n, first, last, attr = (np.concatenate(c) for c in zip(*parts))
    u, inv = np.unique(key, return_inverse=True)
    inv = inv.reshape(-1)
    out_n = np.bincount(inv, weights=n, minlength=len(u)).astype(np.int64)
    out_first = np.full(len(u), np.iinfo(np.int64).max)
    np.minimum.at(out_first, inv, first)
    out_last = np.full(len(u), np.iinfo(np.int64).min)
    np.maximum.at(out_last, inv, last)
    out_attr = np.zeros(len(u), bool)
    out_attr[inv[attr]] = True
    return u, out_n, out_first, out_last, out_attr


def merge_incidences(state: State, batch: tuple[np.ndarray, ...], active: np.ndarray, delta: Delta) -> Changes:
    """Merge a batch's incidences into the state; refresh the attributes of active accounts."""
    from ._sorted_kernels import insert_at

    key, n, first, last, attr = batch
    old_deg = state.degree.copy()
    touched = [key]
    if len(state.inc_key):
        pos = np.searchsorted(state.inc_key, key)
        hit = np.zeros(len(key), bool)
        inb = pos < len(state.inc_key)
        hit[inb] = state.inc_key[pos[inb]] == key[inb]
        p = pos[hit]
        state.inc_n[p] += n[hit]
        state.inc_first[p] = np.minimum(state.inc_first[p], first[hit])
        state.inc_last[p] = np.maximum(state.inc_last[p], last[hit])
        state.inc_attr[p] |= attr[hit]
        new = ~hit
    else:
        pos, new = np.zeros(len(key), np.int64), np.ones(len(key), bool)
    at = pos[new]
    state.inc_key = insert_at(state.inc_key, at, key[new])
    state.inc_n = insert_at(state.inc_n, at, n[new])
    state.inc_first = insert_at(state.inc_first, at, first[new])
    state.inc_last = insert_at(state.inc_last, at, last[new])
    state.inc_attr = insert_at(state.inc_attr, at, attr[new])
    acc_new, sig_new = unpack(key[new])
    state.degree += np.bincount(sig_new, minlength=state.n_signals)
    sk = np.sort(pack(sig_new, acc_new))
    state.sig_key = insert_at(state.sig_key, np.searchsorted(state.sig_key, sk), sk)
    delta.new_sig_key = sk
    # Attributes of accounts active in this batch count as seen now.
    is_active = np.zeros(state.n_accounts, bool)
    is_active[active] = True
    rows = rows_of(state.inc_key, np.flatnonzero(is_active))
    refresh = rows[state.inc_attr[rows]]
    if len(refresh):
        acc_r, _ = unpack(state.inc_key[refresh])
        state.inc_last[refresh] = np.maximum(state.inc_last[refresh], state.last_ts[acc_r])
        touched.append(state.inc_key[refresh])
    delta.inc_rows = unique(np.concatenate(touched))
    changed = unique(sig_new)
    return Changes(changed, old_deg[changed], unique(acc_new))


def expire_incidences(state: State, cutoff_us: int | None, delta: Delta) -> Changes:
    """Remove incidences last seen before ``cutoff_us`` (None: keep everything)."""
    from ._sorted_kernels import isin_sorted

    e = np.zeros(0, np.int64)
    if cutoff_us is None or not len(state.inc_key):
        return Changes(e, e, e)
    dead = state.inc_last < cutoff_us
    if not dead.any():
        return Changes(e, e, e)
    acc, sig = unpack(state.inc_key[dead])
    delta.inc_dead = state.inc_key[dead]
    sk = np.sort(pack(sig, acc))
    delta.dead_sig_key = sk
    state.sig_key = state.sig_key[~isin_sorted(state.sig_key, sk)]
    keep = ~dead
    for name in ("inc_key", "inc_n", "inc_first", "inc_last", "inc_attr"):
        setattr(state, name, getattr(state, name)[keep])
    changed = unique(sig)
    old = state.degree[changed].copy()
    state.degree -= np.bincount(sig, minlength=state.n_signals)
    return Changes(changed, old, unique(acc))
