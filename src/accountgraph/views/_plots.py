"""Plots of results and ring dossiers (matplotlib, imported lazily).

Part of stage 6 (results). :func:`plot_scores` draws the top clusters' scores
as stacks of their per-evidence contributions; :func:`plot_dossier` draws a
dossier's panels. Both read only the tables of a result / explanation, so a
plot shows exactly what the tables and the HTML report say.

When no ``ax``/``fig`` is given, pyplot makes one (so it shows in a notebook);
the HTML report passes a bare :class:`matplotlib.figure.Figure`, which touches
no global pyplot state. Labels are made from data (signal values, prompts):
they are passed through :func:`_label`, which disables mathtext so a ``$`` in
attacker-controlled text cannot break rendering.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._exceptions import EngineUnavailableError
from ._dossier import component_names
from ._text import visible
from ._types import ExplanationLike, ResultLike

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


__all__ = ["require_matplotlib", "plot_scores", "plot_dossier", "COMPONENT_COLORS"]

#: Fixed colour per score component, so every plot and the report use the same key.
COMPONENT_COLORS = {
    "timing": "#4c72b0", "cadence": "#55a868", "templates": "#c44e52", "output": "#8172b2",
    "creation": "#ccb974", "pivot": "#64b5cd",
}
_RING, _POP, _OUT = "#c44e52", "#8c8c8c", "#bdbdbd"


def require_matplotlib() -> Any:
    """Import matplotlib or raise :class:`EngineUnavailableError` with the install hint."""
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - exercised only without matplotlib
        raise EngineUnavailableError(
            "Plots and HTML reports need matplotlib, which is not installed. "
            "Install it with: pip install matplotlib (a core dependency of accountgraph)"
        ) from exc
    return matplotlib


def _color(comp: str, i: int) -> str:
    import matplotlib

    return COMPONENT_COLORS.get(comp) or matplotlib.colormaps["tab10"](i % 10)


def _label(s: Any, n: int = 40) -> str:
    """Data text made safe for a matplotlib label: truncated, one line, no mathtext."""
    t = visible(" ".join(str(s).split()))
    t = t if len(t) <= n else t[: n - 1] + "…"
    return t.replace("$", r"\$")


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    require_matplotlib()
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize)[1]


def plot_scores(result: ResultLike, top: int = 10, *, ax: Axes | None = None) -> Axes:
    """Horizontal bars of the top clusters' ``ring_score``, stacked by contribution.

    Parameters
    ----------
    result : ResultLike
    top : int, default 10
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """

    c = result.clusters.head(top)
    ax = _axes(ax, (8, 0.45 * max(len(c), 2) + 1.5))
    comps = component_names(result.clusters)
    y = np.arange(len(c))[::-1]
    left = np.zeros(len(c))
    for i, comp in enumerate(comps):
        v = c[f"contrib_{comp}"].to_numpy(np.float64)
        ax.barh(y, v, left=left, color=_color(comp, i), label=comp, edgecolor="white", linewidth=0.5)
        left += v
    thr = result.params.get("threshold") if isinstance(result.params, dict) else None
    if thr is not None:
        ax.axvline(float(thr), color="black", linestyle="--", linewidth=1, label=f"threshold {float(thr):g}")
    ax.set_yticks(y, [f"#{cid} ({n} acc){' *' if fl else ''}" for cid, n, fl in
                      c[["cluster_id", "n_accounts", "flagged"]].itertuples(index=False)])
    ax.set_xlim(min(0.0, float(np.min(left, initial=0.0))), 1)
    ax.set_xlabel("ring_score (sum of contributions); * = flagged")
    ax.set_title(f"Top {len(c)} clusters by ring_score")
    if len(c):
        ax.legend(loc="lower right", fontsize=8, frameon=True)
    return ax


def _message(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=9, color="#555555",
            transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _contributions(ax: Axes, ex: ExplanationLike) -> None:
    c = ex.contributions
    y = np.arange(len(c))[::-1]
    cols = [_color(comp, i) for i, comp in enumerate(c["component"])]
    ax.barh(y, c["contribution"], color=cols)
    ax.axvline(0, color="black", linewidth=0.5)
    ax.set_yticks(y, c["component"].tolist())
    ax.set_title(f"Score {ex.ring_score:.3f} = sum of contributions\n(negative: evidence against a ring)", fontsize=10)


def _signals(ax: Axes, ex: ExplanationLike, n: int = 10) -> None:
    s = ex.signals.head(n)
    if s.empty:
        return _message(ax, "No signal is shared by two accounts of this cluster")
    y = np.arange(len(s))[::-1]
    inside = s["accounts_in_cluster"].to_numpy()
    outside = (s["accounts_total"] - s["accounts_in_cluster"]).to_numpy()
    ax.barh(y, inside, color=_RING, label="accounts in ring")
    ax.barh(y, outside, left=inside, color=_OUT, label="accounts outside")
    ax.set_yticks(y, [_label(f"{t}: {v}", 32) for t, v in s[["signal_type", "value"]].itertuples(index=False)],
                  fontsize=7)
    ax.set_xlabel("accounts using the signal")
    ax.set_title("Linking signals and their rarity", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")


def _hourly(ax: Axes, ex: ExplanationLike) -> None:
    h = ex.hourly
    ax.bar(h["hour"], h["share"], color=_RING, alpha=0.8, label="ring")
    ax.step(np.arange(25) - 0.5, np.append(h["population_share"], h["population_share"].iloc[-1]),
            where="post", color="black", linewidth=1.2, label="all traffic")
    ax.set_xlim(-0.5, 23.5)
    ax.set_xticks(range(0, 24, 3))
    ax.set_xlabel("hour of day (UTC)")
    ax.set_ylabel("share of events")
    ax.set_title("Activity by hour of day", fontsize=10)
    ax.legend(fontsize=7)


def _daily(ax: Axes, ex: ExplanationLike) -> None:
    d = ex.daily
    if d.empty or d["events"].sum() == 0:
        return _message(ax, "No events")
    act = d[d["events"] > 0]
    first, last = act["day"].min(), act["day"].max()
    d = d[(d["day"] >= first) & (d["day"] <= last)]
    ax.bar(d["day"], d["events"], width=0.9, color=_RING, alpha=0.8, label="events")
    ax2 = ax.twinx()
    ax2.plot(d["day"], d["active_accounts"], color="black", linewidth=1, label="active accounts")
    ax2.set_ylim(0, max(int(d["active_accounts"].max()), 1) * 1.15)
    ax.set_ylabel("events per day")
    ax2.set_ylabel("active accounts", fontsize=8)
    ax.set_title("Activity per day (UTC)", fontsize=10)
    ax.tick_params(axis="x", labelrotation=30, labelsize=7)


def _creation(ax: Axes, ex: ExplanationLike) -> None:
    t = ex.accounts["created_at"].dropna().sort_values() if "created_at" in ex.accounts else pd.Series([])
    if t.empty:
        return _message(ax, "Account creation times unknown")
    ax.step(t.to_numpy(), np.arange(1, len(t) + 1), where="post", color=_RING)
    f = ex.facts
    if f.get("burst_start") is not None and f.get("burst_accounts", 0) >= 2:
        ax.axvspan(f["burst_start"], f["burst_end"], color=COMPONENT_COLORS["creation"], alpha=0.4,
                   label=f"{f['burst_accounts']} created within {f['burst_window_hours']:g} h")
        ax.legend(fontsize=7, loc="upper left")
    ax.set_ylabel("accounts created (cumulative)")
    ax.set_title("Account creation timeline", fontsize=10)
    ax.tick_params(axis="x", labelrotation=30, labelsize=7)


def _output(ax: Axes, ex: ExplanationLike) -> None:
    o = ex.output
    if o.empty or o["events"].sum() == 0:
        return _message(ax, "Output lengths unknown")
    edges = np.append(o["bin_lo"].to_numpy(), o["bin_hi"].iloc[-1]).astype(np.float64)
    edges[0] = max(edges[0], 0.8)  # log axis: the [0, 1) bin is drawn from 0.8
    ax.stairs(o["share"], edges, fill=True, color=_RING, alpha=0.6, label="ring")
    ax.stairs(o["population_share"], edges, color="black", linewidth=1.2, label="all traffic")
    ax.set_xscale("log")
    ax.set_xlabel("output tokens (log scale)")
    ax.set_ylabel("share of events")
    ax.set_title("Output-length distribution", fontsize=10)
    ax.legend(fontsize=7)


def _volume(ax: Axes, ex: ExplanationLike) -> None:
    a = ex.accounts
    if "n_events" not in a or a["n_events"].isna().all():
        return _message(ax, "No per-account volume")
    v = np.sort(a["n_events"].fillna(0).to_numpy(np.float64))[::-1]
    ax.stairs(v, np.arange(len(v) + 1), fill=True, color=_RING)  # one artist, however many accounts
    ax.axhline(float(np.median(v)), color="black", linewidth=1, linestyle="--", label=f"median {np.median(v):g}")
    ax.set_xlabel("accounts, by volume")
    ax.set_ylabel("events")
    ax.set_title("Volume per account", fontsize=10)
    ax.legend(fontsize=7)


def _links(ax: Axes, ex: ExplanationLike, max_nodes: int = 400) -> None:
    import networkx as nx

    e = ex.links
    if e.empty:
        return _message(ax, "No account-account links kept")
    a = ex.accounts.sort_values(["strength", "account_id"], ascending=[False, True])
    keep = sorted(a["account_id"].head(max_nodes))
    g = nx.Graph()
    g.add_nodes_from(keep)
    ks = set(keep)
    g.add_weighted_edges_from((s, t, w) for s, t, w in e[["source", "target", "weight"]].itertuples(index=False)
                              if s in ks and t in ks)
    pos = nx.spring_layout(g, seed=0, weight="weight", iterations=60)
    xy = np.array([pos[n] for n in keep])
    from matplotlib.collections import LineCollection

    segs = np.array([[pos[s], pos[t]] for s, t in g.edges()]).reshape(-1, 2, 2)
    ax.add_collection(LineCollection(segs, colors="#cccccc", linewidths=0.4, zorder=1))
    info = a.set_index("account_id").loc[keep]
    bridge = set(ex.bridges["account_id"]) if len(ex.bridges) else set()
    cut = info["cut_vertex"].fillna(False).astype(bool).to_numpy()
    br = np.array([n in bridge for n in keep]) & ~cut
    ax.scatter(xy[~cut & ~br, 0], xy[~cut & ~br, 1], s=12, color=_RING, alpha=0.7, zorder=2, label="account")
    if br.any():
        ax.scatter(xy[br, 0], xy[br, 1], s=40, color="#ff9f1c", edgecolor="black", zorder=3,
                   label="high betweenness")
    if cut.any():
        ax.scatter(xy[cut, 0], xy[cut, 1], s=60, marker="D", color="#2a9d8f", edgecolor="black", zorder=4,
                   label="cut vertex (bridge)")
    ax.set_xticks([])
    ax.set_yticks([])
    extra = f" (strongest {max_nodes} of {len(a)})" if len(a) > max_nodes else ""
    ax.set_title(f"Account link graph{extra}", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")


def _templates(ax: Axes, ex: ExplanationLike) -> None:
    t = ex.templates
    ax.set_title("Template families", fontsize=10)
    if t is None or t.empty:
        return _message(ax, "No prompt-template families\n(no prompts, or template stage off)")
    t = t.head(5)
    y = np.arange(len(t))[::-1]
    ax.barh(y, t["share"], color=COMPONENT_COLORS["templates"])
    ax.set_yticks(y, [_label(f"#{f}: {r}", 34) for f, r in t[["family", "representative"]].itertuples(index=False)],
                  fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of the ring's prompts (repetition rate)")


def plot_dossier(ex: ExplanationLike, *, fig: Figure | None = None) -> Figure:
    """Nine panels of a ring's dossier in one figure.

    Score contributions, linking signals' rarity, hour-of-day and per-day
    activity, account creation, output lengths against the population, volume
    per account, the account link graph with its bridges, template families.
    Panels that need per-event evidence show a message when it was not kept.

    Parameters
    ----------
    ex : ExplanationLike
    fig : matplotlib Figure, optional
        Drawn into (cleared first); a new pyplot figure if omitted.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    The link-graph panel runs a spring layout on at most 400 accounts,
    O(iterations * n^2).
    """
    require_matplotlib()
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(15, 12))
    fig.clear()
    # Fixed margins instead of tight_layout: as good here and ~0.5 s faster per figure.
    axes = fig.subplots(3, 3, gridspec_kw={"left": 0.12, "right": 0.96, "top": 0.93, "bottom": 0.06,
                                           "wspace": 0.62, "hspace": 0.42})
    panels = [_contributions, _signals, _templates, _hourly, _daily, _creation, _output, _volume, _links]
    needs_events = {_hourly, _daily, _creation, _output, _volume, _links}
    for ax, panel in zip(axes.flat, panels):
        if panel in needs_events and not ex.evidence_kept:
            _message(ax, "Per-event evidence not kept\nfor this cluster")
            continue
        panel(ax, ex)
    s = ex.summary
    fig.suptitle(f"Cluster {ex.cluster_id}: ring_score {ex.ring_score:.3f}"
                 f"{' (FLAGGED)' if s.get('flagged') else ''}, {s['n_accounts']} accounts, {s['n_events']} events",
                 fontsize=13)
    return fig
