"""The detection result: assignments, ranked clusters and their evidence.

Stage 6 of the pipeline. :class:`DetectionResult` holds the tables users asked
for (pandas), converts them to Arrow and networkx, and explains any cluster
through :meth:`DetectionResult.explain` — every view reads the same tables, so
they always agree.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
import pyarrow as pa

from .._exceptions import InvalidParameterError
from ..ingest import Quarantine
from ._dossier import dossier_parts
from ._export import bipartite_tables, tables_to_igraph, tables_to_networkx, write_graphml
from ._plots import plot_dossier, plot_scores
from ._report import dossier_html, results_html, write_report

if TYPE_CHECKING:  # pragma: no cover
    import igraph
    import networkx
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["DetectionResult", "RingExplanation"]


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
                f"  {r.signal_type:<12} {str(r.value)[:40]:<40} {r.accounts_in_cluster}/{r.accounts_total}"
                f"  weight {r.weight:.2f} ({r.status})"
            )
        if len(self.templates):
            lines.append("Template families:")
            for r in self.templates.head(3).itertuples():
                lines.append(f"  {r.share:.0%} of prompts: {str(r.representative)[:70]!r}")
        if len(self.bridges):
            lines.append("Bridge accounts (cut vertex / betweenness):")
            for r in self.bridges.head(5).itertuples():
                lines.append(f"  {str(r.account_id):<24} {'cut vertex' if r.cut_vertex else '          '}"
                             f"  betweenness {r.betweenness:.3f}")
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:

        return f"<div>{dossier_html(self, heading='h3')}</div>"


@dataclass
class DetectionResult:
    """Outcome of :func:`accountgraph.detect`.

    Attributes
    ----------
    assignments : pandas.DataFrame
        One row per valid account: ``account_id`` (str), ``cluster_id`` (int64,
        -1 = in no cluster), ``ring_score`` (float64 in [0, 1]), ``flagged`` (bool),
        sorted by ``account_id``.
    clusters : pandas.DataFrame
        One row per cluster: ``cluster_id``, ``n_accounts``, ``n_events``,
        ``ring_score``, ``flagged``, evidence features and ``contrib_*``
        columns, sorted by ``ring_score`` (descending). Cluster 0 ranks first.
    cluster_signals : pandas.DataFrame
        For each cluster, the signals shared by at least two of its accounts.
    templates : pandas.DataFrame
        Template families (``family``, ``representative``, ...), if prompts were given.
    quarantine : Quarantine
        Rows left out of the analysis, counted by reason.
    stats : dict
        Counts and timings of each stage.
    params : dict
        The parameters used.
    evidence : dict
        Per-event and per-account evidence for the top ``evidence_clusters``
        clusters: ``events`` (cluster_id, account_id, timestamp, output_tokens,
        family), ``accounts`` (cluster_id, account_id, created_at, n_events,
        first_seen, last_seen), ``edges`` (cluster_id, source, target, weight:
        the account–account links inside each cluster) and ``population``
        (reference histograms: ``hour_of_day``, ``output_bins``, ``output_hist``
        over all events, and ``*_unclustered`` over accounts in no cluster).
    """

    assignments: pd.DataFrame
    clusters: pd.DataFrame
    cluster_signals: pd.DataFrame
    templates: pd.DataFrame
    quarantine: Quarantine
    stats: dict[str, Any]
    params: dict[str, Any]
    _cluster_templates: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    evidence: dict[str, Any] = field(default_factory=dict, repr=False)
    _incidence: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def flagged_accounts(self) -> pd.Series:
        """Account ids of flagged accounts, sorted."""
        a = self.assignments
        return a.loc[a["flagged"], "account_id"].reset_index(drop=True)

    def to_pandas(self, table: Literal["assignments", "clusters", "cluster_signals"] = "assignments") -> pd.DataFrame:
        """A copy of one result table (by default the assignments)."""
        if table not in ("assignments", "clusters", "cluster_signals"):
            raise InvalidParameterError(
                "The 'table' parameter of DetectionResult.to_pandas must be one of 'assignments', 'clusters', "
                f"'cluster_signals'. Got {table!r} instead.")
        return getattr(self, table).copy()

    def to_arrow(self, table: Literal["assignments", "clusters", "cluster_signals"] = "assignments") -> pa.Table:
        """One result table as Arrow (by default the assignments)."""
        return pa.Table.from_pandas(self.to_pandas(table), preserve_index=False)

    def explain(self, cluster_id: int) -> RingExplanation:
        """The dossier of one cluster: why it scores what it scores.

        Linking signals with their rarity, bridge accounts, creation and
        activity timelines, template families, output lengths against the
        population, volume per account and the score's contributions. Per-event
        pieces exist for the top ``evidence_clusters`` clusters only.

        Parameters
        ----------
        cluster_id : int

        Returns
        -------
        RingExplanation

        Raises
        ------
        InvalidParameterError
            If there is no such cluster.
        """
        row = self.clusters.loc[self.clusters["cluster_id"] == cluster_id]
        if row.empty:
            raise InvalidParameterError(
                f"There is no cluster {cluster_id!r}; cluster ids run from 0 to "
                f"{len(self.clusters) - 1} (-1 means 'in no cluster' and has no evidence)."
            )

        return RingExplanation(cluster_id=int(cluster_id), **dossier_parts(self, int(cluster_id)))

    def quarantined_rows(self) -> pd.DataFrame:
        """The input rows left out of the analysis, each with its reason.

        Returns
        -------
        pandas.DataFrame
            ``table`` (``"events"`` / ``"accounts"``), ``row`` (0-based row
            number in that input), ``reason``, then the input's own columns
            as strings; one row per quarantined row, so its length is
            ``stats["quarantined_rows"]``. See :meth:`Quarantine.rows`.

        Examples
        --------
        >>> import pandas as pd, accountgraph
        >>> ev = pd.DataFrame({"account_id": ["a", " "], "timestamp": ["2026-05-01T00:00:00Z"] * 2})
        >>> accountgraph.detect(ev).quarantined_rows()[["table", "row", "reason"]].values.tolist()
        [['events', 1, 'empty_account_id']]
        """
        return self.quarantine.rows()

    def top(self, n: int = 10, *, flagged_only: bool = False) -> pd.DataFrame:
        """The ``n`` highest-scoring clusters (summary columns)."""
        c = self.clusters[self.clusters["flagged"]] if flagged_only else self.clusters
        cols = ["cluster_id", "n_accounts", "n_events", "ring_score", "flagged"]
        return c[cols].head(n).reset_index(drop=True)

    def _bipartite_tables(self, cluster_id: int | None):

        return bipartite_tables(self.cluster_signals, self._incidence, self.assignments, cluster_id)

    def to_networkx(self, cluster_id: int | None = None) -> networkx.Graph:
        """Bipartite account–signal graph (of one cluster, or of all clusters).

        Nodes are ``("account", id)`` and ``("signal", type, value)`` with a
        ``bipartite`` attribute (0 accounts, 1 signals), ``kind`` and ``label``;
        accounts carry ``cluster_id``, ``ring_score``, ``flagged``, signals
        ``signal_type``, ``value``, ``accounts_total``. Edges carry the signal's
        rarity ``weight``. Same graph as ``explain(cluster_id).to_networkx()``.
        """

        return tables_to_networkx(*self._bipartite_tables(cluster_id))

    def to_igraph(self, cluster_id: int | None = None) -> igraph.Graph:
        """The graph of :meth:`to_networkx` in igraph.

        Vertex ``name`` is ``"account:<id>"`` / ``"signal:<type>:<value>"``,
        ``type`` is igraph's bipartite flag (True for signals); edge ``weight``.
        """

        return tables_to_igraph(*self._bipartite_tables(cluster_id))

    def to_graphml(self, path: str | os.PathLike[str], cluster_id: int | None = None, *,
                   overwrite: bool = False) -> Path:
        """Write the account–signal graph (one cluster, or all) as GraphML, e.g. for Gephi.

        Raises
        ------
        FileExistsError
            (an :class:`~accountgraph.AccountGraphError`) if ``path`` exists and
            ``overwrite`` is False.
        """

        return write_graphml(self, path, cluster_id=cluster_id, overwrite=overwrite)

    def report(self, path: str | os.PathLike[str], top: int = 10, *, overwrite: bool = False,
               title: str | None = None) -> Path:
        """Write a self-contained HTML report: summary table, plots and the top rings' dossiers.

        The file needs no network (inline CSS, plots as base64 PNG, no script),
        escapes all data and is byte-identical for the same result. Needs
        matplotlib (a core dependency).

        Parameters
        ----------
        path : str or path-like
        top : int, default 10
            Dossiers of this many highest-scoring clusters.
        overwrite : bool, default False
        title : str, optional

        Returns
        -------
        pathlib.Path

        Raises
        ------
        FileExistsError
            (an :class:`~accountgraph.AccountGraphError`) if ``path`` exists and
            ``overwrite`` is False.
        """

        return write_report(self, path, top=top, overwrite=overwrite, title=title)

    def plot(self, top: int = 10, *, ax: Axes | None = None) -> Axes:
        """Bars of the top clusters' ring_score stacked by contribution (needs matplotlib)."""

        return plot_scores(self, top, ax=ax)

    def __repr__(self) -> str:
        n_fl = int(self.assignments["flagged"].sum())
        return (
            f"DetectionResult({len(self.assignments)} accounts, {len(self.clusters)} clusters, "
            f"{int(self.clusters['flagged'].sum()) if len(self.clusters) else 0} flagged rings, "
            f"{n_fl} flagged accounts, {self.quarantine.total} rows quarantined)"
        )

    def _repr_html_(self) -> str:

        return f"<div><p>{html.escape(repr(self))}</p>{results_html(self, 10)}</div>"

    def summary(self, n: int = 5) -> str:
        """A short text summary of the top rings (what the CLI prints)."""
        lines = [repr(self)]
        for r in self.top(n).itertuples():
            lines.append(
                f"  cluster {r.cluster_id:>5}  score {r.ring_score:.3f}  {'FLAGGED' if r.flagged else '       '}"
                f"  {r.n_accounts:>6} accounts  {r.n_events:>9} events"
            )
        if self.quarantine.total:
            lines.append(f"  quarantined rows: {self.quarantine!r}")
        return "\n".join(lines)
