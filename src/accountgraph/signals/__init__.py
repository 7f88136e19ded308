"""Stage 3, signals: the bipartite account–signal incidence.

Interface: :func:`extract_signals` turns validated events and accounts (and the
template family of each event) into a :class:`SignalTable` of distinct
(account, signal) incidences with each signal's type and value.
"""

from ._extract import SignalTable, extract_signals, unique_counts

__all__ = ["SignalTable", "extract_signals", "unique_counts"]
