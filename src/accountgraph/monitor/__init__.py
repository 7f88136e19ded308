"""Monitoring: catch a ring on its first day and keep its identity while it grows.

:class:`Monitor` absorbs batches of events (an hour, a day) into a durable
state and re-examines only what each batch changed; every update returns a
:class:`MonitorUpdate` with the rings (stable ``ring_id``, status, first flag
time), the accounts, the new flags and the lineage of merges and splits.

Layout: ``_batch`` (validation, content hash, stable codes), ``_templates``
(families across batches), ``_incidence`` (counts, degrees, horizon),
``_graph`` (re-projection of the changed region), ``_communities`` (warm-started
Leiden on the touched components), ``_identity`` (ring matching and lineage),
``_scoring`` (the one call into :mod:`accountgraph.scoring`), ``_rings``,
``_tables``, ``_views`` (result tables and evidence), ``_update`` (one update,
stage by stage), ``_state`` / ``_persist`` / ``_store`` (memory, files, atomic
commit). See ``docs/monitor.md``.
"""

from ._monitor import Monitor
from ._result import MonitorUpdate

__all__ = ["Monitor", "MonitorUpdate"]
