"""What one update returns: :class:`MonitorUpdate`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .._exceptions import StateError
from ..ingest import Quarantine
from ..views import RingExplanation

__all__ = ["MonitorUpdate"]


@dataclass
class MonitorUpdate:
    """The outcome of :meth:`Monitor.update` for one batch.

    Attributes
    ----------
    seq : int
        Number of batches the state holds after this update (the update's sequence number).
    replayed : bool
        The batch had been absorbed before (same validated content): nothing changed.
    rings : pandas.DataFrame
        One row per live ring: ``ring_id`` (stable across updates), ``status``
        (``new``, ``grown``, ``shrunk``, ``merged``, ``split``, ``unchanged``,
        ``dormant``), ``first_seen``, ``first_flagged_at`` (data time of the
        update that first flagged it, NaT if never), ``n_accounts``, ``n_events``
        (kept, within the horizon), ``ring_score``, ``flagged``, then the
        scorer's evidence features and contributions. Sorted by ``ring_score``
        (descending), ``n_accounts`` (descending), ``ring_id``.
    assignments : pandas.DataFrame
        As :attr:`DetectionResult.assignments` (``account_id``, ``cluster_id``:
        this update's rank of the account's ring, -1 none; ``ring_score``,
        ``member_score``, ``flagged``) plus ``ring_id`` (-1 none) and, when
        seeds were given, ``known_bad``. Sorted by ``account_id``.
    new_flags : pandas.DataFrame
        Accounts flagged by this update and not flagged before it: ``account_id``,
        ``ring_id``, ``flagged_at``.
    lineage : pandas.DataFrame
        This update's ring lineage: ``seq``, ``ring_id``, ``parent_id``,
        ``relation`` (``merged``: ``parent_id`` was absorbed into ``ring_id``;
        ``split``: ``ring_id`` split off ``parent_id``; ``dissolved``:
        ``parent_id`` ended, ``ring_id`` -1), ``n_shared`` (accounts carried over).
        :attr:`Monitor.lineage` holds every update's rows.
    quarantine : Quarantine
        Rows of this batch left out, by reason.
    stats : dict
        Counts and the seconds of each stage.
    """

    seq: int
    replayed: bool
    rings: pd.DataFrame
    assignments: pd.DataFrame
    new_flags: pd.DataFrame
    lineage: pd.DataFrame
    quarantine: Quarantine
    stats: dict[str, Any] = field(default_factory=dict)
    _monitor: Any = field(default=None, repr=False)  # the Monitor (typed Any: no import cycle)

    def _current(self) -> Any:
        m = self._monitor
        if m is None or m.seq != self.seq:
            raise StateError(
                f"This MonitorUpdate is for update {self.seq}, but the monitor has moved on to update "
                f"{m.seq if m is not None else '?'}; its evidence is that of the latest state. Use "
                "Monitor.explain(ring_id) / Monitor.report(path) for the current state.")
        return m

    def explain(self, ring_id: int) -> RingExplanation:
        """The dossier of one ring (see :meth:`DetectionResult.explain`)."""
        return self._current().explain(ring_id)

    def report(self, path: str | os.PathLike[str], top: int = 10, *, overwrite: bool = False,
               title: str | None = None) -> Path:
        """Write the HTML report of the state after this update (see :meth:`DetectionResult.report`)."""
        return self._current().report(path, top=top, overwrite=overwrite, title=title)

    def summary(self, n: int = 10) -> str:
        """New and changed rings, one line each (what the CLI prints)."""
        if self.replayed:
            return f"update {self.seq}: batch already absorbed (replay); nothing changed"
        r = self.rings
        changed = r[r["status"].isin(["new", "grown", "shrunk", "merged", "split"])]
        lines = [f"update {self.seq}: {self.stats.get('n_events', 0):,} events, {len(r):,} rings "
                 f"({int(r['flagged'].sum()) if len(r) else 0} flagged), {len(changed):,} new or changed, "
                 f"{len(self.new_flags):,} accounts newly flagged"]
        for row in changed.head(n).itertuples():
            lines.append(f"  ring {row.ring_id:>6}  {row.status:<8} score {row.ring_score:.3f}  "
                         f"{'FLAGGED' if row.flagged else '       '}  {row.n_accounts:>7,} accounts")
        for row in self.lineage.head(n).itertuples():
            if row.relation == "dissolved":
                lines.append(f"  ring {row.parent_id:>6}  dissolved")
            else:
                lines.append(f"  ring {row.ring_id:>6}  {row.relation} {'from' if row.relation == 'split' else 'with'}"
                             f" ring {row.parent_id} ({row.n_shared:,} accounts)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"MonitorUpdate(seq={self.seq}, replayed={self.replayed}, {len(self.rings)} rings, "
                f"{len(self.new_flags)} new flags)")
