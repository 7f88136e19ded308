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
from ._deferred import DEFERRED_FIELDS, Deferred
from ._dossier import dossier_parts
from ._explanation import RingExplanation
from ._export import bipartite_tables, tables_to_igraph, tables_to_networkx, write_graphml
from ._incidence import cluster_incidence
from ._indicators import RingIndicators, ring_indicators
from ._pseudonym import Pseudonymizer, resolve_key
from ._pseudonymized import pseudonymize_quarantine, pseudonymize_tables, withhold_prompts
from ._plots import plot_scores
from ._report import results_html, write_report

if TYPE_CHECKING:  # pragma: no cover
    import igraph
    import networkx
    from matplotlib.axes import Axes

__all__ = ["DetectionResult", "RingExplanation"]


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
        For prompts read from a Parquet file the representatives are read from
        it on first access (one scan of the prompt column).
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
    _pseudonymizer: Pseudonymizer | None = field(default=None, repr=False)
    _include_prompts: bool = field(default=True, repr=False)

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        if name in DEFERRED_FIELDS and isinstance(value, Deferred):  # computed on first read, then kept
            value = value.value()
            object.__setattr__(self, name, value)
        return value

    @property
    def is_pseudonymized(self) -> bool:
        """Whether identifiers in this result are keyed pseudonyms (see :meth:`pseudonymized`)."""
        return self._pseudonymizer is not None

    def pseudonymized(self, key: bytes | str | None = None, *, include_prompts: bool = False) -> DetectionResult:
        """This result with every identifier replaced by its keyed pseudonym.

        Account ids, IPs, IP networks, payment ids, device ids, e-mail domains,
        phone prefixes and extra signals become ``HMAC-SHA256`` pseudonyms
        (``acct_...``, ``ip_...``, ``net_...``, ``pay_...``, ``dev_...``,
        ``dom_...``, ``tel_...``, ``x_...``; see
        :func:`accountgraph.hash_indicator`) in every table and so in every
        output: dossiers, report, plots, graph exports, quarantined rows.
        Cluster ids, scores and flags are unchanged.

        Parameters
        ----------
        key : bytes or str, optional
            At least 16 bytes; default ``$ACCOUNTGRAPH_PSEUDONYM_KEY``.
        include_prompts : bool, default False
            Keep prompt texts (template representatives); they carry personal
            data, so they are withheld by default.

        Raises
        ------
        InvalidParameterError
            No key, a key shorter than 16 bytes, or the result is already pseudonymised.

        Notes
        -----
        One HMAC per distinct identifier in the outputs.
        """
        k = resolve_key(key, "DetectionResult.pseudonymized", required=True)
        if self._pseudonymizer is not None:
            raise InvalidParameterError("This result is already pseudonymised; pseudonymise the raw result instead.")
        return pseudonymize_tables(self, Pseudonymizer(k), include_prompts=include_prompts)

    def indicators(self, cluster_id: int, *, key: bytes | str | None = None) -> RingIndicators:
        """The ring's telling signals as keyed indicators, to share with a partner holding the same key.

        Parameters
        ----------
        cluster_id : int
        key : bytes or str, optional
            Default: the key this result was pseudonymised with, else
            ``$ACCOUNTGRAPH_PSEUDONYM_KEY``.

        Returns
        -------
        RingIndicators
            ``.to_pandas()``, ``.to_arrow()``, ``.to_parquet(path)``,
            ``.to_stix()`` (a STIX 2.1 bundle) and ``.write_stix(path)``.

        Raises
        ------
        InvalidParameterError
            No such cluster, no key, or a key other than this pseudonymised result's.
        """
        if key is None and self._pseudonymizer is not None:
            p = self._pseudonymizer
        else:
            p = Pseudonymizer(resolve_key(key, "DetectionResult.indicators", required=True))  # type: ignore[arg-type]
        return ring_indicators(self, cluster_id, p)

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
        rows = self.quarantine.rows()
        if self._pseudonymizer is None:
            return rows
        ing = self.params.get("ingest") if isinstance(self.params, dict) else None
        cols = {**(getattr(ing, "account_columns", None) or {}), **(getattr(ing, "columns", None) or {})}
        return pseudonymize_quarantine(rows, self._pseudonymizer, cols, include_prompts=self._include_prompts)

    def top(self, n: int = 10, *, flagged_only: bool = False) -> pd.DataFrame:
        """The ``n`` highest-scoring clusters (summary columns)."""
        c = self.clusters[self.clusters["flagged"]] if flagged_only else self.clusters
        cols = ["cluster_id", "n_accounts", "n_events", "ring_score", "flagged"]
        return c[cols].head(n).reset_index(drop=True)

    def _bipartite_tables(self, cluster_id: int | None):

        inc = self._incidence if cluster_id is None else cluster_incidence(self, cluster_id)
        return bipartite_tables(self.cluster_signals, inc, self.assignments, cluster_id)

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
               title: str | None = None, include_prompts: bool | None = None, progress: bool | None = None) -> Path:
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
        include_prompts : bool, optional
            Show template representatives (raw prompts). Default: yes, unless
            the result is pseudonymised (prompts carry personal data).
        progress : bool, optional
            Show a progress bar over the dossiers (each takes a few seconds with
            its plots); ``None`` shows one only on an interactive terminal.

        Returns
        -------
        pathlib.Path

        Raises
        ------
        FileExistsError
            (an :class:`~accountgraph.AccountGraphError`) if ``path`` exists and
            ``overwrite`` is False.
        """

        shown = self if include_prompts or (include_prompts is None and self._include_prompts) \
            else withhold_prompts(self)
        return write_report(shown, path, top=top, overwrite=overwrite, title=title, progress=progress)

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
