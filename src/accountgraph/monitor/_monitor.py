"""The :class:`Monitor`: feed it batches, get rings that keep their identity."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._detector import DEFAULT_TARGET_FPR, DEFAULT_THRESHOLD, RingDetector
from .._exceptions import InvalidParameterError, StateError
from .._seeds import known_bad_ids
from ..engines import PipelineConfig
from ..ingest import TableLike
from ..views import DetectionResult, RingExplanation
from ._batch import read_batch
from ._persist import load_state, save_state
from ._result import MonitorUpdate
from ._state import State
from ._store import StateDir
from ._tables import assignments_frame, ring_ranks, rings_frame, timestamps
from ._update import apply_update
from ._views import monitor_result

__all__ = ["Monitor"]

logger = logging.getLogger(__name__)

_DAY_US = 86_400 * 1_000_000
_STAGES = ("ingest", "templates", "graph", "communities", "scoring")


class Monitor:
    """Watch a stream of event batches; rings keep their id while they grow.

    Each :meth:`update` absorbs one batch (an hour, a day) into a state kept in
    ``state_dir`` and re-examines only what the batch changed: the signals it
    brought new accounts to, the links of the accounts holding them, the
    components those links live in (Leiden warm-started from the previous
    rings), and the rings whose evidence moved. Rings are matched to the
    previous ones by account overlap, so a ring keeps its id while it grows,
    a merge keeps the id of the larger ring, and :attr:`lineage` records
    merges, splits and dissolutions. Evidence older than ``horizon_days``
    ages out.

    Parameters
    ----------
    state_dir : str or PathLike
        Directory of the state (created on the first update). Must not hold a
        state already: reopen one with :meth:`Monitor.open`.
    horizon_days : float or None, default 30
        Evidence (incidences, links, kept events, template families) not seen
        for this long ages out; None keeps everything.
    warm_start : bool, default False
        Start Leiden on a touched component from the previous rings instead of
        running the batch detector's partition on it: cheaper and stabler, but a
        community keeps benign accounts it absorbed early (measured in
        ``monitor/_communities.py``); ring ids are carried over either way.
    threshold, target_fpr, ingest, templates, graph, communities, scoring, evidence_clusters, random_state, progress
        As for :class:`~accountgraph.RingDetector`; fixed for the life of the state.

    Notes
    -----
    The state is Parquet files and a JSON manifest (no pickles), written
    atomically after each update: a process killed mid-update leaves the
    previous state intact. Feeding a batch twice is detected from its content
    and changes nothing. See ``docs/monitor.md`` for the costs and how the
    results compare with :func:`~accountgraph.detect`.

    Examples
    --------
    >>> import tempfile
    >>> from accountgraph import Monitor
    >>> from accountgraph.synth import generate
    >>> ev = generate("tiny", seed=0).events.to_pandas()
    >>> day = ev["timestamp"].dt.floor("D")
    >>> mon = Monitor(tempfile.mkdtemp(), random_state=0)
    >>> for d in sorted(day.unique())[:3]:
    ...     up = mon.update(ev[day == d])
    >>> up.seq, mon.update(ev[day == d]).replayed
    (3, True)
    """

    def __init__(
        self,
        state_dir: str | os.PathLike[str],
        *,
        horizon_days: float | None = 30.0,
        warm_start: bool = False,
        threshold: float | None = DEFAULT_THRESHOLD,
        target_fpr: float = DEFAULT_TARGET_FPR,
        ingest: Any = None,
        templates: Any = None,
        graph: Any = None,
        communities: Any = None,
        scoring: Any = None,
        evidence_clusters: int = 50,
        random_state: int = 0,
        progress: bool | None = None,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.horizon_days = horizon_days
        if not isinstance(warm_start, bool):
            raise InvalidParameterError(f"The 'warm_start' parameter of Monitor must be a bool. Got {warm_start!r} instead.")
        self.warm_start = warm_start
        self._detector = RingDetector(threshold=threshold, target_fpr=target_fpr, ingest=ingest, templates=templates,
                                      graph=graph,
                                      communities=communities, scoring=scoring, evidence_clusters=evidence_clusters,
                                      random_state=random_state, progress=progress, pseudonymize=False)
        self._config: PipelineConfig = self._detector._config()
        if horizon_days is not None and (isinstance(horizon_days, bool) or not isinstance(horizon_days, (int, float))
                                         or not horizon_days > 0):
            raise InvalidParameterError(
                f"The 'horizon_days' parameter of Monitor must be a positive number of days or None (keep "
                f"everything). Got {horizon_days!r} instead.")
        self._store = StateDir(self.state_dir)
        self._state = State()
        self._manifest: dict[str, Any] = {}
        self._result: tuple[int, DetectionResult] | None = None
        self._last_quarantine: Any = None

    @classmethod
    def open(cls, state_dir: str | os.PathLike[str], *, progress: bool | None = None) -> Monitor:
        """Reopen a monitor state written by an earlier process (its parameters come with it).

        Raises
        ------
        StateError
            No state there, a damaged one, or a format version this accountgraph cannot read.
        """
        store = StateDir(state_dir)
        manifest = store.read_manifest()
        params = dict(manifest["params"])
        params["progress"] = progress
        mon = cls(state_dir, **params)
        mon._manifest = manifest
        mon._state = load_state(store, manifest, mon._horizon_us, mon._config)
        return mon

    # ------------------------------------------------------------------ state
    @property
    def seq(self) -> int:
        """Updates absorbed so far."""
        return self._state.seq

    @property
    def _horizon_us(self) -> int | None:
        return None if self.horizon_days is None else int(self.horizon_days * _DAY_US)

    def get_params(self) -> dict[str, Any]:
        """The parameters, as stored in the state's manifest (JSON-able)."""
        cfg = self._config
        out: dict[str, Any] = {"horizon_days": self.horizon_days, "warm_start": self.warm_start,
                               "threshold": self._detector.threshold,
                               "target_fpr": self._detector.target_fpr,
                               "evidence_clusters": cfg.evidence_clusters, "random_state": cfg.seed}
        for s in _STAGES:
            out[s] = {k: (dict(v) if isinstance(v, Mapping) else list(v) if isinstance(v, tuple) else v)
                      for k, v in getattr(cfg, s).to_dict().items()}
        return out

    def update(self, events: TableLike, accounts: TableLike | None = None, *,
               known_bad: Any = None) -> MonitorUpdate:
        """Absorb one batch of events (and optional accounts rows); see the class docstring.

        Parameters
        ----------
        events, accounts : table-like
            Anything :func:`~accountgraph.detect` accepts.
        known_bad : collection of account ids, optional
            Accounts confirmed bad; remembered for every later update (see
            :meth:`~accountgraph.RingDetector.fit`).

        Returns
        -------
        MonitorUpdate

        Raises
        ------
        StateError
            Another process holds the state's lock, or the state on disk is damaged.
        """
        seeds = known_bad_ids(known_bad, "Monitor.update") if known_bad is not None else None
        with self._store.lock():
            if self._store.exists() and not self._manifest:
                raise StateError(f"{str(self.state_dir)!r} already holds a monitor state; reopen it with "
                                 "Monitor.open(state_dir) instead of creating a new Monitor there.")
            if self._store.exists() and self._store.read_manifest()["seq"] != self._state.seq:
                self._state = load_state(self._store, self._store.read_manifest(), self._horizon_us, self._config)
            b = read_batch(self._config, events, accounts)
            if any(x["hash"] == b.digest for x in self._state.batches):
                logger.info("monitor: batch %s… was absorbed before (update %d); nothing to do", b.digest[:12],
                            next(x["seq"] for x in self._state.batches if x["hash"] == b.digest))
                return self._outcome(replayed=True, quarantine=b.quarantine)
            try:
                out = apply_update(self._state, self._config, b, self._horizon_us, seeds, self.warm_start)
                self._state.batches.append({"seq": self._state.seq, "hash": b.digest, "n_events": len(b.ev),
                                            "now_us": self._state.now_us})
                self._manifest = save_state(self._store, self._state, out.delta, self._manifest,
                                            {"params": self.get_params()})
            except BaseException:
                # The committed state is intact on disk; drop the half-updated copy in memory.
                self._state = load_state(self._store, self._store.read_manifest(), self._horizon_us, self._config) \
                    if self._store.exists() else State()
                self._manifest = self._store.read_manifest() if self._store.exists() else {}
                raise
        st = self._state
        st.lineage = pd.concat([st.lineage, out.lineage], ignore_index=True) if len(out.lineage) else st.lineage
        ids = np.asarray(st.account_ids().take(out.new_flags).to_numpy(zero_copy_only=False), dtype=object)
        new_flags = pd.DataFrame({"account_id": ids, "ring_id": st.ring[out.new_flags],
                                  "flagged_at": timestamps(np.full(len(ids), st.now_us))})
        new_flags = new_flags.sort_values("account_id").reset_index(drop=True)
        return self._outcome(False, b.quarantine, new_flags, out.lineage, out.stats)

    def _outcome(self, replayed: bool, quarantine: Any, new_flags: pd.DataFrame | None = None,
                 lineage: pd.DataFrame | None = None, stats: dict[str, Any] | None = None) -> MonitorUpdate:
        self._last_quarantine = quarantine
        empty_flags = pd.DataFrame({"account_id": pd.Series([], dtype=object), "ring_id": pd.Series([], dtype=np.int64),
                                    "flagged_at": pd.Series([], dtype="datetime64[us, UTC]")})
        return MonitorUpdate(self.seq, replayed, self.rings, self.assignments,
                             empty_flags if new_flags is None else new_flags,
                             self._state.lineage.iloc[:0] if lineage is None else lineage, quarantine,
                             stats or {"seq": self.seq, "replayed": True}, self)

    @property
    def rings(self) -> pd.DataFrame:
        """The live rings (see :attr:`MonitorUpdate.rings`)."""
        return rings_frame(self._state)

    @property
    def lineage(self) -> pd.DataFrame:
        """Every update's lineage rows (see :attr:`MonitorUpdate.lineage`)."""
        return self._state.lineage.copy()

    @property
    def assignments(self) -> pd.DataFrame:
        """One row per account (see :attr:`MonitorUpdate.assignments`)."""
        return assignments_frame(self._state, ring_ranks(self._state))

    # ---------------------------------------------------------------- evidence
    def result(self) -> DetectionResult:
        """The current state as a :class:`~accountgraph.DetectionResult` (cluster ids are this update's ranks)."""
        if self._result is None or self._result[0] != self.seq:
            self._result = (self.seq, monitor_result(self._state, self._config, self._last_quarantine))
        return self._result[1]

    def explain(self, ring_id: int) -> RingExplanation:
        """Why ring ``ring_id`` scores what it scores (see :meth:`DetectionResult.explain`)."""
        rank = ring_ranks(self._state)
        if not isinstance(ring_id, (int, np.integer)) or not 0 <= ring_id < len(rank) - 1 or rank[ring_id] < 0:
            raise InvalidParameterError(f"There is no live ring {ring_id!r}; live ring ids are in "
                                        "Monitor.rings['ring_id'] (a merged or dissolved ring is in Monitor.lineage).")
        return self.result().explain(int(rank[ring_id]))

    def report(self, path: str | os.PathLike[str], top: int = 10, *, overwrite: bool = False,
               title: str | None = None) -> Path:
        """Write the self-contained HTML report of the current state (see :meth:`DetectionResult.report`)."""
        title = title or f"accountgraph monitor — {self.state_dir.name}, update {self.seq}"
        return self.result().report(path, top=top, overwrite=overwrite, title=title)

    def __repr__(self) -> str:
        return f"Monitor({str(self.state_dir)!r}, update {self.seq}, {len(self._state.rings)} rings)"
