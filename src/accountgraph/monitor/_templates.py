"""Template families that persist across batches: new prompts join the families they resemble.

The batch detector groups all prompts at once: a family is a connected
component of prompts sharing an LSH band key. A monitor sees the prompts a
batch at a time, so it keeps, per live family, the band keys of up to
:data:`REPS` representative signatures (the first ones, in signature-hash
order). A batch's sampled prompts are signed exactly as the batch detector
signs them (:func:`accountgraph.minhash.shingle_signatures`,
:func:`accountgraph.minhash.band_keys`, same seed), their keys are looked up
among the representatives' keys, and the connected components of "shares a
key" over the batch's signatures *and* the families they hit give the
families: a component that hits families joins the oldest of them (the
smallest id); one that hits none is a new family, numbered after the existing
ones in the order of its smallest signature hash. Row order never matters.

Two existing families both hit by one batch are not merged (the batch's
prompts join the older one); the batch detector would have chained them into
one family. Families that have not been seen for the horizon are forgotten;
a family seen once (one distinct signature, which is what most ordinary
prompts are) is forgotten after :data:`SINGLETON_MEMORY_US`, which bounds the
memory kept for the long tail of unique prompts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..communities import component_labels
from ..ingest import LazyColumn, take_sorted
from ..minhash import EMPTY_BIN, band_keys, lsh_params, shingle_signatures
from ..templates import TemplateParams
from ._state import Delta, State
from .._unique import lexsort, search, unique

__all__ = ["REPS", "SINGLETON_MEMORY_US", "batch_families", "expire_families"]

#: Representative signatures whose band keys are kept per family.
REPS = 8
#: How long a family seen as a single distinct prompt is remembered (two days).
SINGLETON_MEMORY_US = 2 * 86_400 * 1_000_000


def _sample(state: State, acc: np.ndarray, ts: np.ndarray, cap: int | None, window_us: int) -> np.ndarray | None:
    """At most ``cap`` rows per account per window, counting rows sampled by earlier batches in that window.

    The rule of :func:`~accountgraph.templates.sample_per_account_window`: rows of an account at
    one instant are kept or dropped together (kept while the window has room, if they leave it
    with at most ``2 * cap``), so the sample does not depend on row order.
    """
    if cap is None:
        return None
    n = len(ts)
    win = ts // window_us
    order = lexsort((ts, win, acc))
    a, w, t = acc[order], win[order], ts[order]
    start = np.r_[True, (a[1:] != a[:-1]) | (w[1:] != w[:-1])] if n else np.zeros(0, bool)
    rank = np.arange(n) - np.maximum.accumulate(np.where(start, np.arange(n), 0))
    offset = np.where(state.samp_win[a] == w, state.samp_cnt[a], 0)
    instant = start | np.r_[True, t[1:] != t[:-1]] if n else np.zeros(0, bool)  # first row of each tie
    tie = np.cumsum(instant) - 1
    before = rank[instant][tie] + offset  # rows of the window before this instant
    keep_sorted = (before < cap) & (before + np.bincount(tie)[tie] <= 2 * cap)
    keep = np.empty(n, bool)
    keep[order] = keep_sorted
    last = np.r_[(a[1:] != a[:-1]), True] if n else np.zeros(0, bool)  # last row of each account: its latest window
    group_kept = np.minimum(rank + offset + 1, cap)
    state.samp_win[a[last]] = w[last]
    state.samp_cnt[a[last]] = group_kept[last]
    return keep


def _rows(prompts: Any, mask: np.ndarray | None, batch_rows: int):
    """(row indices, text array) batches of the selected rows (Arrow or a Parquet column on disk)."""
    if isinstance(prompts, LazyColumn):
        yield from prompts.iter_arrays(mask, batch_rows)
        return
    chunks = prompts.chunks if isinstance(prompts, pa.ChunkedArray) else [prompts]
    base = 0
    for chunk in chunks:
        n = len(chunk)
        idx = np.arange(n) if mask is None else np.flatnonzero(mask[base:base + n])
        for lo in range(0, len(idx), batch_rows):
            rows = idx[lo:lo + batch_rows]
            yield rows + base, chunk.take(pa.array(rows))
        base += n


def _sign(prompts: Any, mask: np.ndarray | None, p: TemplateParams, bands: int, rows: int, seed: int):
    """Distinct signatures of the selected prompts: ``(row ids, row -> signature, keys, hashes, first rows)``."""
    row_ids, row_sig, keys, hashes, firsts = [], [], [], [], []
    for idx, arr in _rows(prompts, mask, p.batch_rows):
        enc = arr.dictionary_encode()
        uniq = enc.dictionary if len(enc.dictionary) else pa.array([""], pa.string())
        sig, _ = shingle_signatures(uniq, num_perm=p.num_perm, seed=seed, width=p.shingle_width)
        ok = ~(sig == EMPTY_BIN).all(axis=1)
        k, h = band_keys(sig[ok], bands, rows)
        local = np.full(len(uniq), -1, np.int64)
        local[ok] = np.arange(int(ok.sum())) + sum(len(x) for x in hashes)
        codes = np.asarray(enc.indices.fill_null(-1).to_numpy(zero_copy_only=False), np.int64)
        rs = np.where(codes >= 0, local[np.maximum(codes, 0)], -1)
        first = np.full(len(uniq), -1, np.int64)
        valid = np.flatnonzero(codes >= 0)
        first[codes[valid][::-1]] = idx[valid][::-1]
        row_ids.append(idx)
        row_sig.append(rs)
        keys.append(k)
        hashes.append(h)
        firsts.append(first[ok])
    if not row_ids:
        e = np.zeros(0, np.int64)
        return e, e, np.zeros((0, bands), np.uint64), np.zeros(0, np.uint64), e
    return (np.concatenate(row_ids), np.concatenate(row_sig), np.concatenate(keys), np.concatenate(hashes),
            np.concatenate(firsts))


def _components(state: State, keys: np.ndarray, n_d: int) -> tuple[np.ndarray, np.ndarray]:
    """Connected components over signatures and the existing families their keys hit.

    Returns ``(component per signature, existing family id per family node)``.
    """
    flat = keys.reshape(-1)
    owner = np.repeat(np.arange(n_d), keys.shape[1])
    used = flat != 0
    flat, owner = flat[used], owner[used]
    hit_fam = np.full(len(flat), -1, np.int64)
    if len(state.fam_key):
        pos = np.minimum(search(state.fam_key, flat), len(state.fam_key) - 1)
        found = state.fam_key[pos] == flat
        hit_fam[found] = state.fam_key_fam[pos[found]]
    fams = unique(hit_fam[hit_fam >= 0])
    codes, _ = pd.factorize(flat, sort=False)
    leader = np.empty(int(codes.max()) + 1 if codes.size else 0, np.int64)
    leader[codes[::-1]] = owner[::-1]
    src = [owner, owner[hit_fam >= 0]]
    dst = [leader[codes], n_d + np.searchsorted(fams, hit_fam[hit_fam >= 0])]
    n = n_d + len(fams)
    _, comp = component_labels(n, np.concatenate(src), np.concatenate(dst))
    return comp, fams


def _family_ids(state: State, comp: np.ndarray, fams: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    """Family of each signature: the oldest existing family in its component, else a new id."""
    n_d = len(hashes)
    n_comp = int(comp.max()) + 1 if comp.size else 0
    oldest = np.full(n_comp, np.iinfo(np.int64).max)
    if len(fams):
        np.minimum.at(oldest, comp[n_d:], fams)
    comp_d = comp[:n_d]
    fam = oldest[comp_d]
    new = fam == np.iinfo(np.int64).max
    if new.any():
        # New families ranked by their smallest signature hash (order-free).
        smallest = np.full(n_comp, np.iinfo(np.uint64).max, np.uint64)
        np.minimum.at(smallest, comp_d[new], hashes[new])
        new_comps = unique(comp_d[new])
        rank = np.empty(n_comp, np.int64)
        rank[new_comps[np.argsort(smallest[new_comps], kind="stable")]] = np.arange(len(new_comps))
        fam[new] = state.next_family_id + rank[comp_d[new]]
        state.next_family_id += len(new_comps)
    return fam


def batch_families(state: State, p: TemplateParams, seed: int, prompts: Any, ev_acc: np.ndarray, ts: np.ndarray,
                   delta: Delta) -> np.ndarray | None:
    """Template family of each event of a batch (-1: not sampled, no prompt), updating the family state.

    Parameters
    ----------
    state : State
    p : TemplateParams
    seed : int
        MinHash seed (the detector's ``random_state + 1``).
    prompts : Arrow column or LazyColumn, or None
    ev_acc, ts : ndarray of int64
        Account code and time of each event.
    delta : Delta
        Receives the band keys added.

    Returns
    -------
    ndarray of int64 or None
        None when templates are off or there are no prompts.
    """
    if not (p.enabled and prompts is not None and len(ts)):
        return None
    mask = _sample(state, ev_acc, ts, p.sample_cap, p.sample_window_s * 1_000_000)
    bands, rows = lsh_params(p.similarity, p.num_perm)
    row_ids, row_sig, keys, hashes, firsts = _sign(prompts, mask, p, bands, rows, seed)
    family = np.full(len(ts), -1, np.int64)
    if not len(hashes):
        return family
    d_codes, d_uniq = pd.factorize(hashes, sort=True)  # identical prompts in different chunks: one signature
    n_d = len(d_uniq)
    first_of = np.full(n_d, -1, np.int64)
    first_of[d_codes[::-1]] = np.arange(len(d_codes))[::-1]
    comp, fams = _components(state, keys[first_of], n_d)
    fam_d = _family_ids(state, comp, fams, np.asarray(d_uniq, np.uint64))
    ok = row_sig >= 0
    family[row_ids[ok]] = fam_d[d_codes[row_sig[ok]]]
    first_row = np.full(n_d, np.iinfo(np.int64).max)
    np.minimum.at(first_row, d_codes, firsts)
    _record(state, fam_d, keys[first_of], np.asarray(d_uniq, np.uint64), family, ts, first_row, prompts, p, delta)
    return family


def _record(state: State, fam_d: np.ndarray, keys: np.ndarray, hashes: np.ndarray, family: np.ndarray,
            ts: np.ndarray, first_row: np.ndarray, prompts: Any, p: TemplateParams, delta: Delta) -> None:
    """Update the family table (counts, last seen, representatives) and store new representatives' keys."""
    fams = state.families
    ids = fams["family"].to_numpy()
    batch_f, n_prompts = np.unique(family[family >= 0], return_counts=True)
    last = np.full(len(batch_f), np.iinfo(np.int64).min)
    np.maximum.at(last, np.searchsorted(batch_f, family[family >= 0]), ts[family >= 0])
    f_of_d, distinct = np.unique(fam_d, return_counts=True)
    new_f = np.setdiff1d(unique(batch_f), unique(ids), assume_unique=True)
    table = pd.concat([fams, pd.DataFrame({
        "family": new_f, "prompts": np.zeros(len(new_f), np.int64), "distinct": np.zeros(len(new_f), np.int64),
        "reps": np.zeros(len(new_f), np.int64), "last_seen": np.full(len(new_f), np.iinfo(np.int64).min),
        "representative": pd.Series([None] * len(new_f), dtype=object)})], ignore_index=True)
    table = table.sort_values("family", kind="stable").reset_index(drop=True)
    pos = np.searchsorted(table["family"].to_numpy(), batch_f)
    table.loc[pos, "prompts"] = table["prompts"].to_numpy()[pos] + n_prompts
    table.loc[pos, "last_seen"] = np.maximum(table["last_seen"].to_numpy()[pos], last)
    pos_d = np.searchsorted(table["family"].to_numpy(), f_of_d)
    table.loc[pos_d, "distinct"] = table["distinct"].to_numpy()[pos_d] + distinct
    # Representatives: the first signatures (by hash) of each family, while it has fewer than REPS.
    order = lexsort((hashes, fam_d))
    fo = fam_d[order]
    rank = np.arange(len(fo)) - np.searchsorted(fo, fo, side="left")
    reps = table["reps"].to_numpy()
    slot = np.searchsorted(table["family"].to_numpy(), fo)
    take = order[rank < REPS - reps[slot]]
    np.add.at(reps, np.searchsorted(table["family"].to_numpy(), fam_d[take]), 1)
    table["reps"] = reps
    _add_keys(state, keys[take], fam_d[take], delta)
    _name_families(table, fam_d, first_row, prompts, p)
    state.families = table


def _add_keys(state: State, keys: np.ndarray, fam: np.ndarray, delta: Delta) -> None:
    """Store representatives' band keys (skipping empty bands and keys already held)."""
    flat = keys.reshape(-1)
    owner = np.repeat(fam, keys.shape[1])
    used = flat != 0
    flat, owner = flat[used], owner[used]
    flat, first = np.unique(flat, return_index=True)
    owner = owner[first]
    if len(state.fam_key):
        pos = np.minimum(search(state.fam_key, flat), len(state.fam_key) - 1)
        fresh = state.fam_key[pos] != flat
        flat, owner = flat[fresh], owner[fresh]
    from ._sorted_kernels import insert_at

    at = np.searchsorted(state.fam_key, flat)
    state.fam_key = insert_at(state.fam_key, at, flat)
    state.fam_key_fam = insert_at(state.fam_key_fam, at, owner)
    delta.keys_added = (flat, owner)


def _name_families(table: pd.DataFrame, fam_d: np.ndarray, first_row: np.ndarray, prompts: Any,
                   p: TemplateParams) -> None:
    """Give families that now hold two or more prompts a representative text (one from this batch)."""
    need = table["representative"].isna().to_numpy() & (table["prompts"].to_numpy() >= 2)
    want = np.intersect1d(unique(table["family"].to_numpy()[need]), unique(fam_d), assume_unique=True)
    if not len(want):
        return
    sel = np.isin(fam_d, want)
    d_idx = np.flatnonzero(sel)
    o = lexsort((d_idx, fam_d[d_idx]))  # the first signature (smallest hash) of each family
    fd = fam_d[d_idx][o]
    lead = np.r_[True, fd[1:] != fd[:-1]]
    rows = first_row[d_idx][o][lead]
    ro = np.argsort(rows)
    texts = np.empty(len(rows), dtype=object)
    if isinstance(prompts, LazyColumn):
        texts[ro] = prompts.take(rows[ro], p.batch_rows)
    else:
        texts[ro] = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v
                     for v in take_sorted(prompts, rows[ro]).to_pylist()]
    pos = np.searchsorted(table["family"].to_numpy(), fd[lead])
    rep = table["representative"].to_numpy(dtype=object).copy()
    rep[pos] = texts
    table["representative"] = rep


def expire_families(state: State, cutoff_us: int | None, delta: Delta) -> None:
    """Forget families unseen since ``cutoff_us`` (None: never) and singletons after their short memory."""
    t = state.families
    last = t["last_seen"].to_numpy()
    single = t["distinct"].to_numpy() <= 1
    dead = single & (last < state.now_us - SINGLETON_MEMORY_US)
    if cutoff_us is not None:
        dead |= last < cutoff_us
    if not dead.any():
        return
    dead_ids = t["family"].to_numpy()[dead]
    state.families = t.loc[~dead].reset_index(drop=True)
    gone = np.isin(state.fam_key_fam, dead_ids)
    delta.keys_dead = state.fam_key[gone]
    state.fam_key, state.fam_key_fam = state.fam_key[~gone], state.fam_key_fam[~gone]
