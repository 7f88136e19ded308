"""A ring's dossier as an object: :class:`RingExplanation`.

Part of stage 7 (views). :meth:`DetectionResult.explain` fills one from
:func:`._dossier.dossier_parts`; it prints as text, renders as HTML in a
notebook, converts its tables to pandas / Arrow and its account–signal graph to
networkx / igraph, and plots its panels. Every view reads the same tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
import pyarrow as pa

from .._exceptions import InvalidParameterError
from ._export import tables_to_igraph, tables_to_networkx
from ._plots import plot_dossier
from ._report import dossier_html
from ._text import visible

if TYPE_CHECKING:  # pragma: no cover
    import igraph
    import networkx
    from matplotlib.figure import Figure

__all__ = ["RingExplanation"]


@dataclass
class RingExplanation:
    """Evidence for one cluster: score breakdown, linking signals, templates.

    Attributes
    ----------
    cluster_id : int
    summary : dict
        The cluster's row of ``result.clusters``.
    contributions : pandas.DataFrame
        ``component``, ``contribution`` (they sum to ``ring_score``).
    signals : pandas.DataFrame
        Signals shared inside the cluster with their rarity: ``signal_type``,
        ``value``, ``accounts_in_cluster``, ``accounts_total``, ``weight``, ``status``.
    accounts : pandas.DataFrame
        The cluster's accounts (from ``result.assignments``).
    templates : pandas.DataFrame
        Template families used in the cluster: ``family``, ``prompts``,
        ``share`` (repetition rate: share of the ring's prompts in the family),
        ``accounts`` (accounts using it) and a ``representative`` prompt.
    bridges : pandas.DataFrame
        Accounts joining sub-groups of the ring: cut vertices of the cluster's
        account–account link graph and the top-betweenness accounts
        (``account_id``, ``degree``, ``strength``, ``betweenness``,
        ``cut_vertex``, ``splits_into``).
    links : pandas.DataFrame
        The cluster's account–account links (``source``, ``target``, ``weight``).
    hourly : pandas.DataFrame
        ``hour`` (UTC), ``events``, ``share`` and the ``population_share`` of all traffic.
    daily : pandas.DataFrame
        ``day``, ``events``, ``active_accounts``, ``accounts_created``.
    output : pandas.DataFrame
        Output-length histogram on the population's bins: ``bin_lo``, ``bin_hi``,
        ``events``, ``share``, ``population``, ``population_share``.
    facts : dict
        Headline numbers (rank, creation burst, active span, median output, ...).
    evidence_kept : bool
        Whether per-event evidence was kept for this cluster (the top
        ``evidence_clusters`` clusters); if not, the per-event tables are empty
        and ``notes`` says so.
    notes : list of str

    The ``signals`` table also has ``accounts_outside`` (``accounts_total -
    accounts_in_cluster``), ``contributions`` has ``max_contribution`` and a
    sentence of ``evidence``, and ``accounts`` adds per-account volume,
    creation and activity times and link-graph centrality to the assignments
    columns.
    """

    cluster_id: int
    summary: dict[str, Any]
    contributions: pd.DataFrame
    signals: pd.DataFrame
    accounts: pd.DataFrame
    templates: pd.DataFrame = field(default_factory=pd.DataFrame)
    bridges: pd.DataFrame = field(default_factory=pd.DataFrame)
    links: pd.DataFrame = field(default_factory=pd.DataFrame)
    hourly: pd.DataFrame = field(default_factory=pd.DataFrame)
    daily: pd.DataFrame = field(default_factory=pd.DataFrame)
    output: pd.DataFrame = field(default_factory=pd.DataFrame)
    facts: dict[str, Any] = field(default_factory=dict)
    evidence_kept: bool = False
    notes: list[str] = field(default_factory=list)
    incidence: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    _PARTS = ("accounts", "signals", "contributions", "bridges", "templates", "links", "hourly", "daily", "output")

    @property
    def ring_score(self) -> float:
        return float(self.summary["ring_score"])

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python view (JSON-serialisable apart from numpy scalars)."""
        return {
            "cluster_id": self.cluster_id,
            "summary": self.summary,
            "contributions": self.contributions.to_dict("records"),
            "signals": self.signals.to_dict("records"),
            "templates": self.templates.to_dict("records"),
            "accounts": self.accounts["account_id"].tolist(),
            "bridges": self.bridges.to_dict("records"),
            "facts": self.facts,
            "evidence_kept": self.evidence_kept,
            "notes": list(self.notes),
        }

    def to_pandas(self, part: Literal["accounts", "signals", "contributions", "bridges", "templates", "links",
                                      "hourly", "daily", "output"] = "accounts") -> pd.DataFrame:
        """One table of the dossier (a copy); by default the per-account table."""
        if part not in self._PARTS:
            raise InvalidParameterError(
                f"The 'part' parameter of RingExplanation.to_pandas must be one of {list(self._PARTS)}. "
                f"Got {part!r} instead.")
        return getattr(self, part).copy()

    def to_arrow(self, part: str = "accounts") -> pa.Table:
        """One table of the dossier as Arrow (see :meth:`to_pandas`)."""
        return pa.Table.from_pandas(self.to_pandas(part), preserve_index=False)  # type: ignore[arg-type]

    def _graph_tables(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        inc = self.incidence
        edges = inc[["account_id", "signal_type", "value", "weight"]] if len(inc) else pd.DataFrame(
            columns=["account_id", "signal_type", "value", "weight"])
        sig = self.signals[["signal_type", "value", "accounts_total"]].drop_duplicates(["signal_type", "value"])
        acc = self.accounts.loc[self.accounts["account_id"].isin(edges["account_id"]),
                                ["account_id", "cluster_id", "ring_score", "flagged"]]
        return sig.reset_index(drop=True), acc.reset_index(drop=True), edges.reset_index(drop=True)

    def to_networkx(self) -> networkx.Graph:
        """The ring's bipartite account–signal graph (same as ``result.to_networkx(cluster_id)``).

        Nodes ``("account", id)`` (``bipartite=0``) and ``("signal", type, value)``
        (``bipartite=1``); edges carry the signal's rarity ``weight``.
        """

        return tables_to_networkx(*self._graph_tables())

    def to_igraph(self) -> igraph.Graph:
        """The ring's bipartite account–signal graph in igraph (vertex ``name``, ``type``; edge ``weight``)."""

        return tables_to_igraph(*self._graph_tables())

    def plot(self, *, fig: Figure | None = None) -> Figure:
        """Dossier panels: contributions, signals, templates, timelines, output lengths, volume, links.

        Needs matplotlib (a core dependency).
        """

        return plot_dossier(self, fig=fig)

    def __str__(self) -> str:
        s = self.summary
        lines = [
            f"Cluster {self.cluster_id}: ring_score {s['ring_score']:.3f} "
            f"({'FLAGGED' if s['flagged'] else 'not flagged'}), {s['n_accounts']} accounts, {s['n_events']} events",
            "Score contributions:",
        ]
        for r in self.contributions.itertuples():
            lines.append(f"  {r.component:<10} {r.contribution:.3f}")
        lines.append("Top shared signals (accounts in cluster / accounts overall):")
        for r in self.signals.head(8).itertuples():
            lines.append(
                f"  {visible(r.signal_type):<12} {visible(r.value)[:40]:<40} {r.accounts_in_cluster}/{r.accounts_total}"
                f"  weight {r.weight:.2f} ({r.status})"
            )
        if len(self.templates):
            lines.append("Template families:")
            for r in self.templates.head(3).itertuples():
                lines.append(f"  {r.share:.0%} of prompts: {visible(r.representative, keep_newlines=True)[:70]!r}")
        if len(self.bridges):
            lines.append("Bridge accounts (cut vertex / betweenness):")
            for r in self.bridges.head(5).itertuples():
                lines.append(f"  {visible(r.account_id):<24} {'cut vertex' if r.cut_vertex else '          '}"
                             f"  betweenness {r.betweenness:.3f}")
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:

        return f"<div>{dossier_html(self, heading='h3')}</div>"
