"""The monitor's in-memory state: what it remembers between batches.

Everything is a numpy array (or a short list of Arrow arrays for text), indexed
by stable codes: accounts and signals by their dictionary code
(:mod:`._codes`), incidences by ``account << 32 | signal``, edges by their two
ends. Sizes: accounts and signals grow with the user base and the identifiers
seen; incidences, edges, events and template keys are bounded by the horizon.

``Delta`` collects what one update changed, so that :mod:`._persist` writes
only that (plus the small tables in full).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ._codes import Codes
from ._keys import pack, unpack
from ._pairs import PairTable

__all__ = ["Delta", "EventSegment", "SEGMENT_COLUMNS", "State", "pack", "unpack"]

NO_TS = np.iinfo(np.int64).min
#: Columns of a kept event: account code, time (us), output tokens, template family, model code,
#: IP (its signal code); -1 where unknown.
SEGMENT_COLUMNS = ("account", "ts", "output", "family", "model", "ip")
_NARROW = ("account", "output", "family", "model", "ip")

def _i64(n: int = 0, fill: int = 0) -> np.ndarray:
    return np.full(n, fill, np.int64)


def _compact(a: np.ndarray) -> np.ndarray:
    """``a`` as int32 when every value fits (a kept event costs 24 bytes instead of 48), else int64."""
    a = np.asarray(a)
    if a.dtype == np.int32:
        return a
    if not len(a) or (int(a.min()) >= -(2**31) and int(a.max()) < 2**31):
        return a.astype(np.int32)
    return a.astype(np.int64, copy=False)


@dataclass
class EventSegment:
    """The slim events of one update (kept for scoring and evidence until the horizon drops them).

    Every column but ``ts`` is held as int32 when its values fit (codes, token counts), so the
    horizon's tens of millions of events take half the memory; :meth:`State.events_where`
    hands them out as int64.
    """

    seq: int
    account: np.ndarray
    ts: np.ndarray
    output: np.ndarray
    family: np.ndarray
    model: np.ndarray
    ip: np.ndarray
    file: str = ""
    compact: bool = True  # False: the columns are kept as given (events_where's int64 output)

    def __post_init__(self) -> None:
        self.ts = np.asarray(self.ts, np.int64)
        for c in _NARROW if self.compact else ():
            setattr(self, c, _compact(getattr(self, c)))

    def __len__(self) -> int:
        return len(self.ts)

    def filter(self, keep: np.ndarray) -> EventSegment:
        return EventSegment(self.seq, self.account[keep], self.ts[keep], self.output[keep], self.family[keep],
                            self.model[keep], self.ip[keep], self.file, self.compact)


@dataclass
class State:
    """Everything a monitor keeps between updates (see the module docstring)."""

    seq: int = 0
    now_us: int = int(NO_TS)
    start_us: int = int(NO_TS)
    next_ring_id: int = 0
    next_family_id: int = 0
    batches: list[dict[str, Any]] = field(default_factory=list)
    type_names: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    pending_seeds: list[str] = field(default_factory=list)  # known-bad ids not seen in any batch yet
    # accounts, by code
    acc_codes: Codes = field(default_factory=Codes)
    acc_ids: list[pa.Array] = field(default_factory=list)
    created: np.ndarray = field(default_factory=_i64)
    first_ts: np.ndarray = field(default_factory=_i64)
    last_ts: np.ndarray = field(default_factory=_i64)
    n_events: np.ndarray = field(default_factory=_i64)
    samp_win: np.ndarray = field(default_factory=_i64)
    samp_cnt: np.ndarray = field(default_factory=_i64)
    ring: np.ndarray = field(default_factory=_i64)
    member: np.ndarray = field(default_factory=lambda: np.zeros(0))
    flagged: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    first_flagged: np.ndarray = field(default_factory=_i64)
    known_bad: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    # signals, by code
    sig_codes: Codes = field(default_factory=Codes)
    sig_type: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))
    sig_values: list[pa.Array] = field(default_factory=list)
    degree: np.ndarray = field(default_factory=_i64)
    sig_mode: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))   # applied projection mode
    sig_logb: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))   # applied bucket bits
    sig_lam: np.ndarray = field(default_factory=lambda: np.zeros(0))             # applied per-pair evidence
    fam_count: np.ndarray = field(default_factory=_i64)  # accounts for which a family is substantial
    policy: tuple[float, int, int, int] = (0.0, 0, 0, 0)  # plain cap, clique cut degree, sampled, coordinated k
    type_caps: np.ndarray = field(default_factory=lambda: np.zeros(0))  # hub cap per signal type
    caps_at: int = 0                                     # incidences when the caps were last computed
    coord: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # coordinated hubs
    # distinct (account, signal) incidences, sorted by key
    inc_key: np.ndarray = field(default_factory=_i64)
    inc_n: np.ndarray = field(default_factory=_i64)
    inc_first: np.ndarray = field(default_factory=_i64)
    inc_last: np.ndarray = field(default_factory=_i64)
    inc_attr: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    sig_key: np.ndarray = field(default_factory=_i64)   # the same incidences as signal << 32 | account, sorted
    # account pairs with evidence, and the links (pairs at or above min_link), sorted by (src, dst)
    pairs: PairTable = field(default_factory=PairTable)
    subst: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int64))  # substantial families
    # account-account links, sorted by (src, dst), src < dst
    e_src: np.ndarray = field(default_factory=_i64)
    e_dst: np.ndarray = field(default_factory=_i64)
    e_w: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # events within the horizon, one segment per update
    segments: list[EventSegment] = field(default_factory=list)
    # template families: band keys of representatives, and the live families
    fam_key: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    fam_key_fam: np.ndarray = field(default_factory=_i64)
    families: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        {"family": _i64(), "prompts": _i64(), "distinct": _i64(), "reps": _i64(), "last_seen": _i64(),
         "representative": pd.Series([], dtype=object)}))
    # rings (one row per live ring, with its score features) and their history
    rings: pd.DataFrame = field(default_factory=pd.DataFrame)
    lineage: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        {"seq": _i64(), "ring_id": _i64(), "parent_id": _i64(), "relation": pd.Series([], dtype=object),
         "n_shared": _i64()}))

    @property
    def n_accounts(self) -> int:
        return len(self.created)

    @property
    def n_signals(self) -> int:
        return len(self.sig_type)

    def account_ids(self) -> pa.Array:
        """Every account id, by code."""
        if not self.acc_ids:
            return pa.array([], pa.large_string())
        return pa.concat_arrays(self.acc_ids) if len(self.acc_ids) > 1 else self.acc_ids[0]

    def signal_values(self) -> pa.Array:
        """Every signal's value text, by code."""
        if not self.sig_values:
            return pa.array([], pa.large_string())
        if len(self.sig_values) > 1:
            self.sig_values = [pa.concat_arrays(self.sig_values)]
        return self.sig_values[0]

    def grow_accounts(self, n_new: int) -> None:
        """Append ``n_new`` accounts with empty per-account state."""
        if not n_new:
            return
        for name, fill in (("created", -1), ("first_ts", NO_TS), ("last_ts", NO_TS), ("n_events", 0),
                           ("samp_win", NO_TS), ("samp_cnt", 0), ("ring", -1), ("first_flagged", NO_TS)):
            setattr(self, name, np.concatenate([getattr(self, name), _i64(n_new, fill)]))
        self.member = np.concatenate([self.member, np.zeros(n_new)])
        if self.subst.shape[1]:
            self.subst = np.vstack([self.subst, np.full((n_new, self.subst.shape[1]), -1, np.int64)])
        else:
            self.subst = np.zeros((self.n_accounts, 0), np.int64)
        self.flagged = np.concatenate([self.flagged, np.zeros(n_new, bool)])
        self.known_bad = np.concatenate([self.known_bad, np.zeros(n_new, bool)])

    def grow_signals(self, types: np.ndarray, values: pa.Array) -> None:
        """Append signals of the given type indices and value texts."""
        if not len(types):
            return
        self.sig_type = np.concatenate([self.sig_type, np.asarray(types, np.int16)])
        self.sig_values.append(values.cast(pa.large_string()))
        n = len(types)
        self.degree = np.concatenate([self.degree, _i64(n)])
        self.fam_count = np.concatenate([self.fam_count, _i64(n)])
        self.sig_mode = np.concatenate([self.sig_mode, np.zeros(n, np.int8)])
        self.sig_logb = np.concatenate([self.sig_logb, np.zeros(n, np.int8)])
        self.sig_lam = np.concatenate([self.sig_lam, np.zeros(n)])
        self.coord = np.concatenate([self.coord, np.zeros(n, bool)])

    def all_events(self, accounts: np.ndarray | None = None) -> EventSegment:
        """The events of every segment (of the accounts where ``accounts`` is true), concatenated."""
        if accounts is None:
            return self.events_where([None] * len(self.segments))
        return self.events_where([accounts[s.account] for s in self.segments])

    def events_where(self, masks: list[np.ndarray | None]) -> EventSegment:
        """The events of each segment where its mask (one per segment; ``None``: all) is true, concatenated.

        Only the chosen rows are copied, one segment at a time, into int64 output columns: the
        scorer takes millions of a horizon's tens of millions of events, and filtering every
        segment first and then concatenating held them twice.
        """
        counts = [len(s) if m is None else int(np.count_nonzero(m)) for s, m in zip(self.segments, masks)]
        cols = []
        for c in SEGMENT_COLUMNS:
            out = np.empty(sum(counts), np.int64)
            at = 0
            for s, m, k in zip(self.segments, masks, counts):
                col = getattr(s, c)
                if m is None:
                    out[at:at + k] = col
                else:
                    out[at:at + k] = col[m]
                at += k
            cols.append(out)
        return EventSegment(-1, *cols, compact=False)


@dataclass
class Delta:
    """What one update changed (written by :mod:`._persist` as delta files)."""

    inc_rows: np.ndarray = field(default_factory=_i64)      # keys touched (final values are in the state)
    inc_dead: np.ndarray = field(default_factory=_i64)      # keys removed (horizon)
    new_sig_key: np.ndarray = field(default_factory=_i64)   # incidences added, as signal << 32 | account
    dead_sig_key: np.ndarray = field(default_factory=_i64)  # incidences removed, likewise
    sig_changed: np.ndarray = field(default_factory=_i64)   # signals whose applied projection changed
    keys_added: tuple[np.ndarray, np.ndarray] | None = None  # (band key, family)
    keys_dead: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    sig_start: int = 0                                      # first signal code added by this update
    segment: EventSegment | None = None
    lineage_rows: pd.DataFrame | None = None
