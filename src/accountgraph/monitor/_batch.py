"""One batch in: validation (as ``detect`` does), a content hash, stable account and model codes.

The content hash is what makes replaying a batch a no-op: it is computed on
the *validated* rows (so quarantined rows and the file format do not matter)
and combines per-row hashes by a sum and an xor, so it does not depend on the
row order either.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from .._hashing import GOLDEN, splitmix64
from ..engines import PipelineConfig
from ..ingest import (
    LazyColumn,
    Quarantine,
    TableLike,
    ValidAccounts,
    ValidEvents,
    combine_chunks,
    factorize_sorted,
    validate_accounts,
    validate_events,
)
from ._codes import hash_text
from ._state import NO_TS, State
from .._unique import unique

__all__ = ["Batch", "encode_batch", "read_batch"]


@dataclass
class Batch:
    """A validated batch with global codes."""

    ev: ValidEvents
    ac: ValidAccounts | None
    quarantine: Quarantine
    digest: str
    ev_acc: np.ndarray | None = None
    ac_acc: np.ndarray | None = None
    model: np.ndarray | None = None
    active: np.ndarray | None = None  # distinct accounts with events in the batch


def _mix(h: np.ndarray, x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return splitmix64(h * GOLDEN ^ x)


def _text_hash(col: Any, n: int, batch_rows: int = 262_144) -> np.ndarray:
    """Per-row hash of a text column (Arrow, or a Parquet column on disk streamed in batches)."""
    if col is None:
        return np.zeros(n, np.uint64)
    if isinstance(col, LazyColumn):
        out = np.zeros(n, np.uint64)
        for idx, arr in col.iter_arrays(None, batch_rows):
            out[idx] = hash_text(arr)
        return out
    return hash_text(col)  # chunk by chunk: no combined copy


def _digest(ev: ValidEvents, ac: ValidAccounts | None) -> str:
    """Order-free SHA-256 digest of the validated content of both tables."""
    n = len(ev)
    h = np.zeros(n, np.uint64)
    for col in (ev.account_id, ev.ip, ev.device_id, ev.payment_id, ev.model, *ev.extra.values(), ev.prompt):
        h = _mix(h, _text_hash(col, n))
    h = _mix(h, ev.timestamp.view(np.uint64))
    if ev.output_tokens is not None:
        h = _mix(h, ev.output_tokens.astype(np.int64).view(np.uint64))  # int32 from streamed Parquet
    parts = [n, int(np.bitwise_xor.reduce(h)) if n else 0, int(h.sum(dtype=np.uint64)) if n else 0]
    if ac is not None:
        m = len(ac.account_id)
        g = np.zeros(m, np.uint64)
        for col in (ac.account_id, ac.payment_id, ac.email_domain, ac.phone_prefix, *ac.extra.values()):
            g = _mix(g, _text_hash(col, m))
        if ac.created_at is not None:
            g = _mix(g, ac.created_at.view(np.uint64))
        parts += [m, int(np.bitwise_xor.reduce(g)) if m else 0, int(g.sum(dtype=np.uint64)) if m else 0]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def read_batch(cfg: PipelineConfig, events: TableLike, accounts: TableLike | None) -> Batch:
    """Validate a batch exactly as :func:`accountgraph.detect` validates its input, and hash it."""
    p = cfg.ingest
    q = Quarantine()
    ev = validate_events(events, columns=p.columns, extra_signals=p.extra_signals, quarantine=q,
                         encoding=p.encoding, drop_duplicates=p.drop_duplicates)
    ac = None
    if accounts is not None:
        ac = validate_accounts(accounts, columns=p.account_columns, extra_signals=p.account_extra_signals,
                               quarantine=q, encoding=p.encoding)
    return Batch(ev, ac, q, _digest(ev, ac))


def encode_batch(state: State, b: Batch) -> int:
    """Give the batch's accounts and models their stable codes (new ones appended); returns new accounts."""
    ids = [combine_chunks(b.ev.account_id).cast(pa.large_string())]
    if b.ac is not None:
        ids.append(combine_chunks(b.ac.account_id).cast(pa.large_string()))
    local, uniq = factorize_sorted(pa.chunked_array(ids))
    codes, new_rows = state.acc_codes.encode(hash_text(uniq), order_key=np.arange(len(uniq)))
    if len(new_rows):
        state.acc_ids.append(uniq.take(pa.array(new_rows)).cast(pa.large_string()))
        state.grow_accounts(len(new_rows))
    glob = codes[np.asarray(local, np.int64)]
    n_ev = len(b.ev)
    b.ev_acc = glob[:n_ev]
    b.ac_acc = glob[n_ev:] if b.ac is not None else None
    b.active = unique(b.ev_acc)
    if b.ev.model is not None and n_ev:
        mloc, muniq = factorize_sorted(b.ev.model)
        names = muniq.to_pylist()
        for name in names:
            if name not in state.models:
                state.models.append(name)
        lut = np.array([state.models.index(x) for x in names] + [-1], np.int64)
        b.model = lut[np.asarray(mloc, np.int64)]  # -1 (null) indexes the trailing -1
    _account_stats(state, b)
    return len(new_rows)


def _account_stats(state: State, b: Batch) -> None:
    """Activity times, volume and creation time per account."""
    acc, ts = b.ev_acc, b.ev.timestamp
    if len(ts):
        first = np.full(state.n_accounts, np.iinfo(np.int64).max)
        np.minimum.at(first, acc, ts)
        last = np.full(state.n_accounts, NO_TS)
        np.maximum.at(last, acc, ts)
        seen = first < np.iinfo(np.int64).max
        state.first_ts = np.where(seen & ((state.first_ts == NO_TS) | (first < state.first_ts)), first, state.first_ts)
        state.last_ts = np.maximum(state.last_ts, last)
        state.n_events += np.bincount(acc, minlength=state.n_accounts)
        state.now_us = max(state.now_us, int(ts.max()))
        state.start_us = int(ts.min()) if state.start_us == NO_TS else min(state.start_us, int(ts.min()))
    if b.ac is not None and b.ac.created_at is not None:
        known = b.ac.created_at >= 0
        a, c = b.ac_acc[known], b.ac.created_at[known]
        cur = state.created[a]
        state.created[a] = np.where(cur >= 0, np.minimum(cur, c), c)
