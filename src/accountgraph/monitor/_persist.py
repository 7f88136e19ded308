"""The state on disk: which tables are rewritten, which grow by deltas, and how they are read back.

=============  ==========================================================================
table          how it is written
=============  ==========================================================================
accounts       in full every update (one row per account: id, activity, ring, flags)
families       in full (the live template families), rings in full
signals        append-only: the (type, value) of the signals each update added
lineage        append-only: each update's lineage rows
events         one file per update (slim columns); dropped once past the horizon
incidences     a base and deltas: the final values of the keys an update touched,
               tombstones for keys the horizon removed; reading keeps the last row per key
links          a base and deltas: each signal's applied projection (mode, bucket bits, per-pair
               evidence); reading keeps the last row per signal and recomputes the pair
               evidence and the links from it and the incidences (so a reopen costs one
               projection; an open monitor never pays it)
band keys      a base and deltas: keys added, tombstones for keys forgotten
=============  ==========================================================================

A delta-kept table is rewritten as a new base when its deltas outgrow the
base, so reading never replays more than about twice the live rows. Reading a
state back gives exactly the arrays the writing process held.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ._codes import Codes, hash_typed
from ._state import SEGMENT_COLUMNS, Delta, EventSegment, State, pack, unpack
from ._graph import rebuild_links
from ._store import StateDir
from .._unique import union

__all__ = ["load_state", "save_state"]

_ACC_COLS = ("created", "first_ts", "last_ts", "n_events", "samp_win", "samp_cnt", "ring", "member", "flagged",
             "first_flagged", "known_bad")


def _table(**cols: Any) -> pa.Table:
    return pa.table({k: pa.array(v) if not isinstance(v, (pa.Array, pa.ChunkedArray)) else v for k, v in cols.items()})


def _delta_kept(store: StateDir, seq: int, name: str, entry: dict[str, Any] | None, full: pa.Table,
                delta: pa.Table) -> dict[str, Any]:
    """Write ``delta`` (or ``full`` as a new base when deltas outgrow the base)."""
    entry = entry or {"base": None, "base_rows": 0, "deltas": [], "delta_rows": 0}
    if entry["base"] is None or entry["delta_rows"] + delta.num_rows > max(entry["base_rows"], 100_000):
        return {"base": store.write_table(name, seq, full), "base_rows": full.num_rows, "deltas": [],
                "delta_rows": 0}
    f = store.write_table(f"{name}-delta", seq, delta)
    return {**entry, "deltas": entry["deltas"] + [f], "delta_rows": entry["delta_rows"] + delta.num_rows}


def _incidence_tables(state: State, d: Delta) -> tuple[pa.Table, pa.Table]:
    full = _table(key=state.inc_key, n=state.inc_n, first=state.inc_first, last=state.inc_last,
                  attr=state.inc_attr, dead=np.zeros(len(state.inc_key), bool))
    keys = union(d.inc_rows, d.inc_dead)
    pos = np.minimum(np.searchsorted(state.inc_key, keys), max(len(state.inc_key) - 1, 0))
    alive = (state.inc_key[pos] == keys) if len(state.inc_key) else np.zeros(len(keys), bool)
    p = np.where(alive, pos, 0)

    def col(a: np.ndarray, fill: Any) -> np.ndarray:
        return np.where(alive, a[p], fill) if len(a) else np.full(len(keys), fill)

    delta = _table(key=keys, n=col(state.inc_n, 0), first=col(state.inc_first, 0), last=col(state.inc_last, 0),
                   attr=col(state.inc_attr, False), dead=~alive)
    return full, delta


def _signal_state_tables(state: State, d: Delta) -> tuple[pa.Table, pa.Table]:
    """Each signal's applied projection (mode, bucket bits, per-pair evidence): in full, and the changed rows."""
    sig = np.flatnonzero(state.sig_mode > 0)
    full = _table(signal=sig, mode=state.sig_mode[sig], logb=state.sig_logb[sig], lam=state.sig_lam[sig])
    ch = d.sig_changed
    delta = _table(signal=ch, mode=state.sig_mode[ch], logb=state.sig_logb[ch], lam=state.sig_lam[ch])
    return full, delta


def _key_tables(state: State, d: Delta) -> tuple[pa.Table, pa.Table]:
    full = _table(key=state.fam_key, family=state.fam_key_fam)
    add_k, add_f = d.keys_added if d.keys_added is not None else (np.zeros(0, np.uint64), np.zeros(0, np.int64))
    delta = _table(key=np.r_[add_k, d.keys_dead].astype(np.uint64),
                   family=np.r_[add_f, np.full(len(d.keys_dead), -1)].astype(np.int64))
    return full, delta


def save_state(store: StateDir, state: State, d: Delta, prev: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """Write this update's files and commit a manifest naming them; return the manifest."""
    seq, files = state.seq, dict(prev.get("files", {}))
    acc = {"account_id": state.account_ids(), "hash": state.acc_codes.keys[np.argsort(state.acc_codes.codes)]}
    acc.update({c: getattr(state, c) for c in _ACC_COLS})
    acc.update({f"subst_{i}": state.subst[:, i] for i in range(state.subst.shape[1])})
    files["accounts"] = store.write_table("accounts", seq, _table(**acc))
    if state.n_signals > d.sig_start:
        vals = state.signal_values().slice(d.sig_start)
        types = state.sig_type[d.sig_start:]
        files["signals"] = files.get("signals", []) + [store.write_table("signals", seq, _table(
            type=types, value=vals, hash=hash_typed(types.astype(np.int64), vals)))]
    files["incidences"] = _delta_kept(store, seq, "incidences", files.get("incidences"), *_incidence_tables(state, d))
    files["links"] = _delta_kept(store, seq, "links", files.get("links"), *_signal_state_tables(state, d))
    files["fam_keys"] = _delta_kept(store, seq, "fam_keys", files.get("fam_keys"), *_key_tables(state, d))
    files["families"] = store.write_table("families", seq, pa.Table.from_pandas(state.families, preserve_index=False))
    files["rings"] = store.write_table("rings", seq, pa.Table.from_pandas(state.rings, preserve_index=False))
    if d.lineage_rows is not None and len(d.lineage_rows):
        files["lineage"] = files.get("lineage", []) + [store.write_table(
            "lineage", seq, pa.Table.from_pandas(d.lineage_rows, preserve_index=False))]
    kept = {s.file for s in state.segments if s.file}
    events = [e for e in files.get("events", []) if e["file"] in kept]
    if d.segment is not None and len(d.segment):
        s = d.segment
        s.file = store.write_table("events", seq, _table(**{c: getattr(s, c) for c in SEGMENT_COLUMNS}))
        events.append({"file": s.file, "seq": seq, "rows": len(s)})
        for kept_seg in state.segments:
            if kept_seg.seq == seq:
                kept_seg.file = s.file
    files["events"] = events
    manifest = {**meta, "seq": seq, "now_us": state.now_us, "start_us": state.start_us, "policy": list(state.policy),
                "type_caps": state.type_caps.tolist(), "caps_at": state.caps_at, "n_pairs": len(state.pairs),
                "next_ring_id": state.next_ring_id, "next_family_id": state.next_family_id,
                "batches": state.batches, "type_names": state.type_names, "models": state.models,
                "pending_seeds": state.pending_seeds, "files": files}
    store.commit(manifest)
    return manifest


def _last_per_key(t: pa.Table, key: str, dead: np.ndarray) -> np.ndarray:
    """Row indices of the last row of each key (rows in write order), tombstones dropped; sorted by key."""
    k = t[key].to_numpy()
    order = np.argsort(k, kind="stable")
    ks = k[order]
    last = np.r_[ks[1:] != ks[:-1], True] if len(ks) else np.zeros(0, bool)
    rows = order[last]
    return rows[~dead[rows]]


def _read_delta_kept(store: StateDir, entry: dict[str, Any] | None) -> list[pa.Table]:
    if not entry or entry["base"] is None:
        return []
    return [store.read_table(entry["base"])] + [store.read_table(f) for f in entry["deltas"]]


def _load_accounts(store: StateDir, state: State, files: dict[str, Any]) -> None:
    t = store.read_table(files["accounts"])
    ids = t["account_id"].combine_chunks()
    state.acc_ids = [ids]
    state.acc_codes = Codes.from_hashes(t["hash"].to_numpy())
    for c in _ACC_COLS:
        setattr(state, c, t[c].to_numpy(zero_copy_only=False).copy())
    sub = sorted(c for c in t.column_names if c.startswith("subst_"))
    state.subst = np.column_stack([t[c].to_numpy() for c in sub]) if sub else np.zeros((t.num_rows, 0), np.int64)
    sigs = [store.read_table(f) for f in files.get("signals", [])]
    if sigs:
        s = pa.concat_tables(sigs)
        state.sig_type = s["type"].to_numpy().astype(np.int16)
        state.sig_values = [s["value"].combine_chunks()]
        state.sig_codes = Codes.from_hashes(s["hash"].to_numpy())
        state.degree = np.zeros(len(state.sig_type), np.int64)


def _load_graph(store: StateDir, state: State, files: dict[str, Any]) -> None:
    parts = _read_delta_kept(store, files.get("incidences"))
    if parts:
        t = pa.concat_tables(parts)
        rows = _last_per_key(t, "key", t["dead"].to_numpy())
        for name, col in (("inc_key", "key"), ("inc_n", "n"), ("inc_first", "first"), ("inc_last", "last"),
                          ("inc_attr", "attr")):
            setattr(state, name, t[col].to_numpy()[rows].copy())
        state.degree = np.bincount(unpack(state.inc_key)[1], minlength=state.n_signals).astype(np.int64)
    sk = pack(*unpack(state.inc_key)[::-1])
    state.sig_key = np.sort(sk)
    n = state.n_signals
    state.sig_mode, state.sig_logb, state.sig_lam = np.zeros(n, np.int8), np.zeros(n, np.int8), np.zeros(n)
    parts = _read_delta_kept(store, files.get("links"))
    if parts:
        t = pa.concat_tables(parts)
        rows = _last_per_key(t, "signal", np.zeros(t.num_rows, bool))
        sig = t["signal"].to_numpy()[rows]
        state.sig_mode[sig] = t["mode"].to_numpy()[rows]
        state.sig_logb[sig] = t["logb"].to_numpy()[rows]
        state.sig_lam[sig] = t["lam"].to_numpy()[rows]
    state.coord = state.sig_mode == 3
    parts = _read_delta_kept(store, files.get("fam_keys"))
    if parts:
        t = pa.concat_tables(parts)
        rows = _last_per_key(t, "key", t["family"].to_numpy() < 0)
        state.fam_key, state.fam_key_fam = t["key"].to_numpy()[rows].copy(), t["family"].to_numpy()[rows].copy()


def load_state(store: StateDir, manifest: dict[str, Any], horizon_us: int | None, cfg: Any) -> State:
    """Rebuild the in-memory state a committed manifest describes (the pair evidence is recomputed)."""
    state = State(seq=manifest["seq"], now_us=manifest["now_us"], start_us=manifest["start_us"],
                  next_ring_id=manifest["next_ring_id"], next_family_id=manifest["next_family_id"],
                  batches=list(manifest["batches"]), type_names=list(manifest["type_names"]),
                  models=list(manifest["models"]), pending_seeds=list(manifest.get("pending_seeds", [])),
                  policy=tuple(manifest["policy"]), type_caps=np.asarray(manifest["type_caps"], np.float64),
                  caps_at=int(manifest["caps_at"]))
    files = manifest["files"]
    _load_accounts(store, state, files)
    _load_graph(store, state, files)
    cutoff = state.now_us - horizon_us if horizon_us else None
    for e in files.get("events", []):
        t = store.read_table(e["file"])
        seg = EventSegment(e["seq"], *(t[c].to_numpy().copy() for c in SEGMENT_COLUMNS), file=e["file"])
        state.segments.append(seg.filter(seg.ts >= cutoff) if cutoff is not None else seg)
    state.families = store.read_table(files["families"]).to_pandas()
    state.fam_count = np.zeros(state.n_signals, np.int64)
    rebuild_links(state, cfg, expect_pairs=int(manifest.get("n_pairs", 0)))  # absent from older states
    state.rings = store.read_table(files["rings"]).to_pandas()
    lin = [store.read_table(f).to_pandas() for f in files.get("lineage", [])]
    if lin:
        state.lineage = pd.concat(lin, ignore_index=True)
    return state

