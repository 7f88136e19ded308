"""The detection result: assignments, ranked clusters and their evidence.

Stage 6 of the pipeline. :class:`DetectionResult` holds the tables users asked
for (pandas), converts them to Arrow and networkx, and explains any cluster
through :meth:`DetectionResult.explain` — every view reads the same tables, so
they always agree.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ._exceptions import InvalidParameterError
from ._schema import Quarantine
from ._scoring import COMPONENTS

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
        Template families used in the cluster with a representative prompt.
    """

    cluster_id: int
    summary: dict[str, Any]
    contributions: pd.DataFrame
    signals: pd.DataFrame
    accounts: pd.DataFrame
    templates: pd.DataFrame = field(default_factory=pd.DataFrame)

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
        }

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
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        head = html.escape(str(self).split("\n")[0])
        return (
            f"<div><b>{head}</b>{self.contributions.to_html(index=False)}"
            f"{self.signals.head(15).to_html(index=False)}"
            f"{self.templates.head(5).to_html(index=False) if len(self.templates) else ''}</div>"
        )


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
        (reference histograms over all events: ``hour_of_day``, ``output_bins``,
        ``output_hist``).
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

    def to_pandas(self) -> pd.DataFrame:
        """The assignments table."""
        return self.assignments.copy()

    def to_arrow(self) -> pa.Table:
        """The assignments table as Arrow."""
        return pa.Table.from_pandas(self.assignments, preserve_index=False)

    def explain(self, cluster_id: int) -> RingExplanation:
        """Evidence for one cluster.

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
        summary = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.iloc[0].to_dict().items()}
        contrib = pd.DataFrame(
            {"component": list(COMPONENTS), "contribution": [float(summary[f"contrib_{c}"]) for c in COMPONENTS]}
        )
        sigs = self.cluster_signals.loc[self.cluster_signals["cluster_id"] == cluster_id].drop(columns="cluster_id")
        accts = self.assignments.loc[self.assignments["cluster_id"] == cluster_id].reset_index(drop=True)
        tpl = pd.DataFrame()
        if len(self._cluster_templates):
            tpl = self._cluster_templates.loc[self._cluster_templates["cluster_id"] == cluster_id].drop(
                columns="cluster_id").reset_index(drop=True)
        return RingExplanation(int(cluster_id), summary, contrib, sigs.reset_index(drop=True), accts, tpl)

    def top(self, n: int = 10, *, flagged_only: bool = False) -> pd.DataFrame:
        """The ``n`` highest-scoring clusters (summary columns)."""
        c = self.clusters[self.clusters["flagged"]] if flagged_only else self.clusters
        cols = ["cluster_id", "n_accounts", "n_events", "ring_score", "flagged"]
        return c[cols].head(n).reset_index(drop=True)

    def to_networkx(self, cluster_id: int | None = None):
        """Bipartite account–signal graph (of one cluster, or of all clusters).

        Nodes are ``("account", id)`` and ``("signal", type, value)`` with a
        ``bipartite`` attribute (0 accounts, 1 signals); edges carry the signal's
        rarity ``weight``.
        """
        import networkx as nx

        g = nx.Graph()
        cs = self.cluster_signals
        if cluster_id is not None:
            cs = cs[cs["cluster_id"] == cluster_id]
        inc = self._incidence
        if cluster_id is not None:
            inc = inc[inc["cluster_id"] == cluster_id]
        inc = inc.merge(cs[["cluster_id", "signal_id", "signal_type", "value", "weight"]],
                        on=["cluster_id", "signal_id"])
        for r in cs.itertuples(index=False):
            g.add_node(("signal", r.signal_type, r.value), bipartite=1, signal_type=r.signal_type,
                       value=r.value, accounts_total=int(r.accounts_total))
        for a, cid in self.assignments.loc[self.assignments["account_id"].isin(inc["account_id"]),
                                           ["account_id", "cluster_id"]].itertuples(index=False):
            g.add_node(("account", a), bipartite=0, cluster_id=int(cid))
        g.add_edges_from(
            (("account", a), ("signal", t, v), {"weight": float(w)})
            for a, t, v, w in inc[["account_id", "signal_type", "value", "weight"]].itertuples(index=False)
        )
        return g

    def __repr__(self) -> str:
        n_fl = int(self.assignments["flagged"].sum())
        return (
            f"DetectionResult({len(self.assignments)} accounts, {len(self.clusters)} clusters, "
            f"{int(self.clusters['flagged'].sum()) if len(self.clusters) else 0} flagged rings, "
            f"{n_fl} flagged accounts, {self.quarantine.total} rows quarantined)"
        )

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(repr(self))}</p>" + self.top(10).to_html(index=False)

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


def _empty_like_assignments() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": pd.Series([], dtype=object),
            "cluster_id": pd.Series([], dtype=np.int64),
            "ring_score": pd.Series([], dtype=np.float64),
            "flagged": pd.Series([], dtype=bool),
        }
    )
