"""Exports of a ring's account–signal graph: networkx, igraph, GraphML (Gephi).

Part of stage 6 (results). One builder, :func:`bipartite_tables`, reads the
result's ``cluster_signals``, ``_incidence`` and ``assignments``; every export
(``DetectionResult.to_networkx``, ``RingExplanation.to_networkx``,
``to_igraph``, ``to_graphml``) is made from its three tables, so they agree
node for node and weight for weight.

Graph model
-----------
Nodes are accounts (``bipartite=0``, ``kind="account"``) and signals
(``bipartite=1``, ``kind="signal"``); an edge joins an account to a signal it
uses that is shared by at least two accounts of its cluster, weighted by the
signal's rarity ``weight`` (see ``_graph``). In networkx the node keys are
``("account", id)`` and ``("signal", type, value)``; in igraph and GraphML,
where ids are strings, they are ``"account:<id>"`` and ``"signal:<type>:<value>"``
(the ``name`` vertex attribute / GraphML node id).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._exceptions import InvalidParameterError, OutputExistsError
from ._incidence import cluster_incidence
from ._text import visible
from ._types import ResultLike

if TYPE_CHECKING:  # pragma: no cover
    import igraph
    import networkx


__all__ = [
    "OutputExistsError",
    "bipartite_tables",
    "tables_to_networkx",
    "tables_to_igraph",
    "write_graphml",
    "write_text",
    "node_name",
]




def node_name(key: tuple) -> str:
    """String id of a networkx node key: ``"account:<id>"`` or ``"signal:<type>:<value>"``."""
    return ":".join(str(k) for k in key)


def write_text(path: str | os.PathLike[str], text: str, *, overwrite: bool, what: str) -> Path:
    """Write UTF-8 ``text`` to ``path``; refuse to replace a file unless ``overwrite``.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is False.
    """
    p = Path(path)
    if p.is_dir():
        raise InvalidParameterError(f"The {what} path {str(p)!r} is a directory; give a file name such as "
                                    f"{str(p / 'rings.html')!r}.")
    exists = OutputExistsError(
        f"Refusing to overwrite the existing file {str(p)!r} with the {what}; pass overwrite=True "
        f"(--overwrite on the command line) or choose another path."
    )
    if p.exists() and not overwrite:
        raise exists
    # Write beside the target and move it into place: readers never see half a
    # file, and a failed write leaves the previous file as it was.
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would make the report private
        if overwrite:
            os.replace(tmp, p)
        else:
            try:
                os.link(tmp, p)  # atomic create-if-absent: no check-then-write race
            except FileExistsError:
                raise exists from None
            except OSError:  # pragma: no cover - file systems without hard links
                if p.exists():
                    raise exists from None
                os.replace(tmp, p)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return p


def bipartite_tables(
    cluster_signals: pd.DataFrame, incidence: pd.DataFrame, assignments: pd.DataFrame,
    cluster_id: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Signal nodes, account nodes and edges of the account–signal graph.

    Parameters
    ----------
    cluster_signals, incidence, assignments : pandas.DataFrame
        The result's tables (``incidence``: ``cluster_id``, ``signal_id``, ``account_id``).
    cluster_id : int, optional
        Restrict to one cluster; all clusters if None.

    Returns
    -------
    signals : DataFrame
        ``signal_type``, ``value``, ``accounts_total`` (one row per distinct signal,
        in ``cluster_signals`` order).
    accounts : DataFrame
        ``account_id``, ``cluster_id``, ``ring_score``, ``flagged``, sorted by id.
    edges : DataFrame
        ``account_id``, ``signal_type``, ``value``, ``weight``.
    """
    cs = cluster_signals
    inc = incidence
    if cluster_id is not None:
        cs = cs[cs["cluster_id"] == cluster_id]
        inc = inc[inc["cluster_id"] == cluster_id] if len(inc) else inc
    cols = ["cluster_id", "signal_id", "signal_type", "value", "weight"]
    if len(inc):
        edges = inc.merge(cs[cols], on=["cluster_id", "signal_id"])[["account_id", "signal_type", "value", "weight"]]
    else:
        edges = pd.DataFrame(columns=["account_id", "signal_type", "value", "weight"])
    signals = cs.drop_duplicates(["signal_type", "value"])[["signal_type", "value", "accounts_total"]]
    accounts = assignments.loc[assignments["account_id"].isin(edges["account_id"]),
                               ["account_id", "cluster_id", "ring_score", "flagged"]]
    return signals.reset_index(drop=True), accounts.reset_index(drop=True), edges.reset_index(drop=True)


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def tables_to_networkx(signals: pd.DataFrame, accounts: pd.DataFrame, edges: pd.DataFrame) -> networkx.Graph:
    """networkx graph of :func:`bipartite_tables` output (see the module docstring)."""
    import networkx as nx

    g = nx.Graph()
    for t, v, n in signals[["signal_type", "value", "accounts_total"]].itertuples(index=False):
        g.add_node(("signal", t, v), bipartite=1, kind="signal", label=f"{t}:{v}", signal_type=t, value=v,
                   accounts_total=int(n))
    for a, cid, score, fl in accounts[["account_id", "cluster_id", "ring_score", "flagged"]].itertuples(index=False):
        g.add_node(("account", a), bipartite=0, kind="account", label=str(a), cluster_id=int(cid),
                   ring_score=float(score), flagged=bool(fl))
    g.add_edges_from(
        (("account", a), ("signal", t, v), {"weight": float(w)})
        for a, t, v, w in edges[["account_id", "signal_type", "value", "weight"]].itertuples(index=False)
    )
    return g


def tables_to_igraph(signals: pd.DataFrame, accounts: pd.DataFrame, edges: pd.DataFrame) -> igraph.Graph:
    """igraph graph of :func:`bipartite_tables` output.

    Vertex attributes: ``name`` (string id), ``type`` (igraph's bipartite flag:
    True for signals), ``bipartite``, ``kind``, ``label``, ``signal_type``,
    ``value``, ``accounts_total``, ``cluster_id``, ``ring_score``, ``flagged``
    (None where they do not apply); edge attribute ``weight``.
    """
    import igraph as ig

    nxg = tables_to_networkx(signals, accounts, edges)
    keys = list(nxg.nodes)
    index = {k: i for i, k in enumerate(keys)}
    g = ig.Graph(n=len(keys), directed=False)
    g.vs["name"] = [node_name(k) for k in keys]
    g.vs["type"] = [k[0] == "signal" for k in keys]
    attrs = sorted({a for _, d in nxg.nodes(data=True) for a in d})
    for a in attrs:
        g.vs[a] = [_py(nxg.nodes[k].get(a)) for k in keys]
    el = list(nxg.edges(data="weight"))
    g.add_edges([(index[u], index[v]) for u, v, _ in el])
    g.es["weight"] = [float(w) for _, _, w in el]
    return g


def write_graphml(result: ResultLike, path: str | os.PathLike[str], *, cluster_id: int | None = None,
                  overwrite: bool = False) -> Path:
    """Write the account–signal graph (one cluster or all) as GraphML for Gephi.

    Node ids are ``"account:<id>"`` / ``"signal:<type>:<value>"``; nodes carry
    ``label``, ``kind``, ``bipartite`` and the networkx attributes; edges carry
    ``weight``. Attributes that do not apply to a node kind are left out.

    Raises
    ------
    OutputExistsError
        The file exists and ``overwrite`` is False.
    InvalidParameterError
        There is no such cluster.
    """
    import io

    import networkx as nx

    if cluster_id is not None and not (result.clusters["cluster_id"] == cluster_id).any():
        raise InvalidParameterError(
            f"There is no cluster {cluster_id!r} to export; cluster ids run from 0 to {len(result.clusters) - 1}.")
    inc = result._incidence if cluster_id is None else cluster_incidence(result, cluster_id)
    g = tables_to_networkx(*bipartite_tables(result.cluster_signals, inc, result.assignments, cluster_id))
    # XML 1.0 cannot hold most control characters: ids and labels show them as escapes instead.
    g = nx.relabel_nodes(g, {k: visible(node_name(k)) for k in g.nodes}, copy=True)
    for _, d in g.nodes(data=True):
        for a, v in d.items():
            if isinstance(v, str):
                d[a] = visible(v)
    buf = io.BytesIO()
    nx.write_graphml(g, buf, encoding="utf-8", prettyprint=True)
    return write_text(path, buf.getvalue().decode("utf-8"), overwrite=overwrite, what="GraphML export")
