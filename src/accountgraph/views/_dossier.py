"""Per-ring dossiers: the evidence behind one cluster's ``ring_score``.

Part of stage 6 (results). :func:`dossier_parts` turns the tables of a
:class:`~accountgraph.DetectionResult` (``clusters``, ``cluster_signals``,
``_cluster_templates``, ``_incidence`` and ``evidence``) into the pieces of a
:class:`~accountgraph.RingExplanation`: linking signals with their rarity,
bridge accounts, creation and activity timelines, template families, output
lengths against the population, volume per account and the score breakdown.
Nothing here reads the raw events, so the dossier, the HTML report, the plots
and the exports always agree with each other and with the scores.

Several numbers are recomputed from the kept evidence exactly as the scorer
computes them (quiet-hours share, creation burst, median output length), and
the tests hold them equal to the ``clusters`` features: a check that the
evidence shown is the evidence scored.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from ..scoring import ScoringParams
from ._incidence import cluster_incidence
from ._types import ResultLike


__all__ = ["dossier_parts", "link_centrality", "component_names", "DEFAULT_BRIDGES"]

logger = logging.getLogger(__name__)

#: How many top-betweenness accounts a dossier lists besides the cut vertices.
DEFAULT_BRIDGES = 5

_ACCOUNT_EVIDENCE = ["created_at", "n_events", "first_seen", "last_seen"]
_CENTRALITY = ["degree", "strength", "betweenness", "cut_vertex"]


def component_names(clusters: pd.DataFrame) -> list[str]:
    """Score components present in ``clusters`` (its ``contrib_*`` columns, in order)."""
    return [c[len("contrib_"):] for c in clusters.columns if c.startswith("contrib_")]


def _scoring_params(result: ResultLike) -> ScoringParams:
    p = result.params.get("scoring") if isinstance(result.params, dict) else None
    return p if isinstance(p, ScoringParams) else ScoringParams()


def _fmt_pct(x: Any) -> str:
    return "n/a" if x is None or pd.isna(x) else f"{float(x):.0%}"


def _component_evidence(comp: str, s: dict[str, Any], missing: set[str]) -> str:
    """One sentence naming the features behind a component's contribution."""
    if comp == "baseline":
        return "the model's prior for a cluster with every feature at its typical value"
    if comp in missing:
        return "not scored: the input lacks what this component needs"
    g = s.get
    nan = float("nan")
    if comp == "timing":
        return (f"{_fmt_pct(g('circadian_quiet_share'))} of each account's events in its own 8 quietest hours "
                f"(people who sleep: ~5%, 24/7 scripts: ~33%); {_fmt_pct(g('weekly_quiet_share'))} in its 2 "
                f"quietest days of the week (uniform: 29%)")
    if comp == "cadence":
        return (f"accounts active on {_fmt_pct(g('active_day_share'))} of their lifetime days (a week of "
                f"pseudo-days at 42% added: a few days of history read near 42%); the median account "
                f"sends {g('rate_vs_population', nan):.1f}x the requests per active day of the input's median "
                f"account (volume CV {g('daily_volume_cv', nan):.2f})")
    if comp == "templates":
        return (f"{_fmt_pct(g('template_shared_share'))} of prompts fall in template families shared across the "
                f"cluster's accounts ({_fmt_pct(g('template_top3_share'))} in its top-3 families, "
                f"{_fmt_pct(g('template_exclusive_share'))} in families mostly used inside it)")
    if comp == "output":
        return (f"median output {g('output_median', nan):.0f} tokens "
                f"({g('output_vs_population', nan):.1f}x the population median), "
                f"relative IQR {g('output_rel_iqr', nan):.2f}")
    if comp == "creation":
        b = g("creation_burst_share")
        if b is None or pd.isna(b):
            return "fewer than 3 accounts with a known creation time"
        return f"{_fmt_pct(b)} of accounts created within one burst window"
    if comp == "pivot":
        return (f"{_fmt_pct(g('new_model_share'))} of traffic on newly released models right after release "
                f"({_fmt_pct(g('new_model_excess'))} above the population)")
    if comp == "infrastructure":
        return (f"{g('exits_per_account_day', nan):.1f}x the input's distinct IPs per account-day; "
                f"{_fmt_pct(g('ip_top_share'))} of events from its 3 busiest IPs; "
                f"{_fmt_pct(g('sync_share'))} of events share an IP and a minute with another account")
    return ""


def _contributions(summary: dict[str, Any], comps: list[str], params: ScoringParams) -> pd.DataFrame:
    """One row per component (log-odds share scaled to the score) and the baseline; they sum to the score."""
    missing = {m for m in str(summary.get("missing") or "").split(",") if m}
    rows = [{"component": c, "contribution": float(summary[f"contrib_{c}"]),
             "evidence": _component_evidence(c, summary, missing)} for c in comps]
    return pd.DataFrame(rows, columns=["component", "contribution", "evidence"])


def link_centrality(edges: pd.DataFrame, accounts: list[str] | np.ndarray) -> pd.DataFrame:
    """Degree, strength, betweenness and cut vertices of a cluster's link graph.

    Parameters
    ----------
    edges : pandas.DataFrame
        ``source``, ``target``, ``weight``: the account–account links inside one
        cluster (``result.evidence['edges']`` for that cluster).
    accounts : sequence of str
        The cluster's accounts (vertices without links are kept, isolated).

    Returns
    -------
    pandas.DataFrame
        ``account_id``, ``degree``, ``strength`` (summed link weight),
        ``betweenness`` (normalised to [0, 1], shortest paths with length
        ``1 / weight`` so strong links are short, counted in millionths so that
        paths of equal length tie exactly whatever the order of their
        floating-point sums), ``cut_vertex`` (removing the
        account disconnects its part of the graph) and ``splits_into`` (number
        of connected pieces its part falls into without it; 1 if not a cut
        vertex), sorted by ``account_id``.

    Notes
    -----
    igraph's C core: O(V E + V^2 log V) time for betweenness, O(V + E) for the
    articulation points; O(V + E) memory.

    Examples
    --------
    >>> e = pd.DataFrame({"source": ["a", "b"], "target": ["b", "c"], "weight": [1.0, 1.0]})
    >>> link_centrality(e, ["a", "b", "c"])[["account_id", "cut_vertex", "splits_into"]].values.tolist()
    [['a', False, 1], ['b', True, 2], ['c', False, 1]]
    """
    import igraph as ig

    names = sorted(set(map(str, accounts)) | set(edges["source"]) | set(edges["target"]))
    index = {a: i for i, a in enumerate(names)}
    n = len(names)
    src = edges["source"].map(index).to_numpy(np.int64) if len(edges) else np.zeros(0, np.int64)
    dst = edges["target"].map(index).to_numpy(np.int64) if len(edges) else np.zeros(0, np.int64)
    w = edges["weight"].to_numpy(np.float64) if len(edges) else np.zeros(0)
    g = ig.Graph(n=n, edges=list(zip(src.tolist(), dst.tolist())), directed=False)
    degree = np.asarray(g.degree(), np.int64)
    strength = np.bincount(src, weights=w, minlength=n) + np.bincount(dst, weights=w, minlength=n)
    if n > 2 and len(w):
        length = np.maximum(np.round(1e6 / np.maximum(w, 1e-12)), 1.0)  # whole numbers: exact sums and ties
        btw = np.asarray(g.betweenness(directed=False, weights=length.tolist()), np.float64)
        btw /= (n - 1) * (n - 2) / 2
    else:
        btw = np.zeros(n)
    cut = np.zeros(n, bool)
    splits = np.ones(n, np.int64)
    aps = sorted(g.articulation_points()) if len(w) else []
    cut[aps] = True
    if aps:
        comp = np.asarray(g.connected_components().membership)
        for v in aps:
            # Pieces of v's own component once v is gone (other components are untouched).
            members = np.flatnonzero(comp == comp[v])
            sub = g.induced_subgraph([int(u) for u in members if u != v])
            splits[v] = len(sub.connected_components())
    return pd.DataFrame({
        "account_id": pd.Series(names, dtype=object), "degree": degree, "strength": strength,
        "betweenness": btw, "cut_vertex": cut, "splits_into": splits,
    })


def _bridges(centrality: pd.DataFrame, n_top: int) -> pd.DataFrame:
    """Cut vertices and the ``n_top`` highest-betweenness accounts (betweenness > 0), by betweenness."""
    c = centrality
    ranked = c[c["betweenness"] > 0].sort_values(["betweenness", "account_id"], ascending=[False, True])
    keep = set(c.loc[c["cut_vertex"], "account_id"]) | set(ranked["account_id"].head(n_top))
    # By betweenness: a cut vertex that only detaches one leaf account matters less than a hub.
    out = c[c["account_id"].isin(keep)].sort_values(["betweenness", "account_id"], ascending=[False, True])
    return out.reset_index(drop=True)


def _epoch_s(ts: pd.Series) -> np.ndarray:
    """Whole seconds since the epoch (floor) of a UTC timestamp column, as the scorer counts them."""
    return ((ts - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(1, "s")).to_numpy(np.int64)


def _densest_window(created: pd.Series, window_s: int) -> tuple[int, pd.Timestamp | None, pd.Timestamp | None]:
    """Most creation times within ``window_s`` seconds of one another (as the scorer counts them)."""
    t = created.dropna()
    if t.empty:
        return 0, None, None
    s = np.sort(_epoch_s(t))
    within = np.searchsorted(s, s + window_s, side="right") - np.arange(len(s))
    i = int(np.argmax(within))
    start = pd.Timestamp(int(s[i]), unit="s", tz="UTC")
    end = pd.Timestamp(int(s[i + within[i] - 1]), unit="s", tz="UTC")
    return int(within[i]), start, end


def _hourly(ev: pd.DataFrame, population: dict[str, Any]) -> pd.DataFrame:
    ts = _epoch_s(ev["timestamp"])
    counts = np.bincount((ts // 3600) % 24, minlength=24).astype(np.int64)
    # Prefer the reference over accounts in no cluster: the ring's own traffic
    # must not shape the baseline it is compared with.
    pop = np.asarray(population.get("hour_of_day_unclustered", population.get("hour_of_day", np.zeros(24))),
                     np.float64)
    return pd.DataFrame({
        "hour": np.arange(24), "events": counts,
        "share": counts / max(int(counts.sum()), 1),
        "population_share": pop / max(pop.sum(), 1.0),
    })


def _daily(ev: pd.DataFrame, accts: pd.DataFrame) -> pd.DataFrame:
    cols = ["day", "events", "active_accounts", "accounts_created"]
    if ev.empty and accts["created_at"].isna().all():
        return pd.DataFrame(columns=cols)
    day = ev["timestamp"].dt.floor("D")
    per = pd.DataFrame({"day": day, "account_id": ev["account_id"]}).groupby("day", sort=True)
    d = pd.DataFrame({"events": per.size(), "active_accounts": per["account_id"].nunique()})
    # Without an accounts table created_at is all-NaT and may be tz-naive; the
    # event days are UTC, and joining naive with aware indexes fails.
    created = pd.to_datetime(accts["created_at"], utc=True).dropna().dt.floor("D")
    created = created.value_counts().rename("accounts_created")
    d = d.join(created, how="outer").fillna(0)
    full = pd.date_range(d.index.min(), d.index.max(), freq="D", unit="us")
    d = d.reindex(full, fill_value=0).astype(np.int64)
    d.index.name = "day"
    return d.reset_index()[cols]


def _output(ev: pd.DataFrame, population: dict[str, Any]) -> tuple[pd.DataFrame, float]:
    bins = population.get("output_bins")
    out = ev["output_tokens"].to_numpy()
    out = out[out >= 0]
    if bins is None or not len(out):
        return pd.DataFrame(columns=["bin_lo", "bin_hi", "events", "share", "population", "population_share"]), np.nan
    bins = np.asarray(bins)
    c = np.histogram(out, bins=bins)[0]
    pop = np.asarray(population.get("output_hist_unclustered", population["output_hist"]), np.int64)
    med = float(np.sort(out)[(len(out) - 1) // 2])  # nearest rank, as the scorer
    return pd.DataFrame({
        "bin_lo": bins[:-1], "bin_hi": bins[1:], "events": c, "share": c / max(int(c.sum()), 1),
        "population": pop, "population_share": pop / max(int(pop.sum()), 1),
    }), med


def _templates(result: ResultLike, cluster_id: int, ev: pd.DataFrame, kept: bool) -> pd.DataFrame:
    ct = result._cluster_templates
    cols = ["family", "prompts", "share", "accounts", "representative"]
    if ct is None or ct.empty or "cluster_id" not in ct.columns:
        return pd.DataFrame(columns=cols)
    t = ct.loc[ct["cluster_id"] == cluster_id].drop(columns="cluster_id").reset_index(drop=True)
    if kept and len(t):
        acc = ev[ev["family"] >= 0].groupby("family")["account_id"].nunique()
        t.insert(3, "accounts", t["family"].map(acc).fillna(0).astype(np.int64))
    else:
        t.insert(3, "accounts", pd.array([pd.NA] * len(t), dtype="Int64"))
    return t


def _signals_and_incidence(result: ResultLike, cluster_id: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cluster's shared signals (with ``accounts_outside``) and its (account, signal) incidences."""
    sigs = result.cluster_signals.loc[result.cluster_signals["cluster_id"] == cluster_id].drop(columns="cluster_id")
    sigs = sigs.reset_index(drop=True)
    sigs["accounts_outside"] = (sigs["accounts_total"] - sigs["accounts_in_cluster"]).astype(np.int64)

    inc = cluster_incidence(result, cluster_id)
    if len(inc):
        inc = inc.merge(sigs[["signal_id", "signal_type", "value", "weight"]], on="signal_id")
        inc = inc[["account_id", "signal_id", "signal_type", "value", "weight"]]
        inc = inc.sort_values(["signal_id", "account_id"]).reset_index(drop=True)
    else:
        inc = pd.DataFrame(columns=["account_id", "signal_id", "signal_type", "value", "weight"])
    return sigs, inc


def _event_parts(result: ResultLike, cluster_id: int, members: pd.DataFrame, rank: int,
                 n_bridges: int) -> dict[str, Any]:
    """The per-event pieces (timelines, output, links, bridges), or empty ones and a note if not kept."""
    ev_all = result.evidence or {}
    ev_acc = ev_all.get("accounts")
    kept = ev_acc is not None and bool((ev_acc["cluster_id"] == cluster_id).any())
    population = ev_all.get("population", {})
    notes: list[str] = []
    if kept:
        ev = ev_all["events"].loc[ev_all["events"]["cluster_id"] == cluster_id]
        ea = ev_acc.loc[ev_acc["cluster_id"] == cluster_id, ["account_id", *_ACCOUNT_EVIDENCE]]
        links = ev_all["edges"].loc[ev_all["edges"]["cluster_id"] == cluster_id, ["source", "target", "weight"]]
        links = links.reset_index(drop=True)
        cen = link_centrality(links, members["account_id"].to_numpy())
        accounts = members.merge(ea, on="account_id", how="left").merge(cen, on="account_id", how="left")
        bridges = _bridges(cen, n_bridges)
        hourly = _hourly(ev, population)
        daily = _daily(ev, accounts)
        output, out_median = _output(ev, population)
    else:
        k = result.params.get("evidence_clusters", "?") if isinstance(result.params, dict) else "?"
        notes.append(
            f"Per-event evidence (timelines, output lengths, link graph, bridge accounts) was not kept for "
            f"cluster {cluster_id}: it ranks #{rank + 1} and evidence is kept for the top {k} clusters only. "
            f"Signals and score contributions below are complete; re-run detect(..., evidence_clusters="
            f"{rank + 1}) or more to see the rest."
        )
        ev = pd.DataFrame(columns=["account_id", "timestamp", "output_tokens", "family"])
        accounts = members.copy()
        for c in _ACCOUNT_EVIDENCE + _CENTRALITY:
            accounts[c] = pd.NaT if c in ("created_at", "first_seen", "last_seen") else np.nan
        links = pd.DataFrame(columns=["source", "target", "weight"])
        bridges = pd.DataFrame(columns=["account_id", *_CENTRALITY, "splits_into"])
        hourly = pd.DataFrame(columns=["hour", "events", "share", "population_share"])
        daily = pd.DataFrame(columns=["day", "events", "active_accounts", "accounts_created"])
        output, out_median = _output(ev, {})
    return {"kept": kept, "ev": ev, "accounts": accounts, "links": links, "bridges": bridges, "hourly": hourly,
            "daily": daily, "output": output, "out_median": out_median, "notes": notes}


def _dossier_facts(summary: dict[str, Any], rank: int, sigs: pd.DataFrame, parts: dict[str, Any],
                   params: ScoringParams) -> dict[str, Any]:
    """Headline numbers of the dossier (rank, size, creation burst, activity span, ...)."""
    facts: dict[str, Any] = {
        "rank": rank + 1,
        "n_accounts": int(summary["n_accounts"]),
        "n_events": int(summary["n_events"]),
        "n_linking_signals": int(len(sigs)),
        "n_exclusive_signals": int((sigs["accounts_outside"] == 0).sum()),
    }
    if parts["kept"]:
        accounts, hourly = parts["accounts"], parts["hourly"]
        n, start, end = _densest_window(accounts["created_at"], params.burst_window_s)
        known = int(accounts["created_at"].notna().sum())
        facts.update({
            "created_known": known,
            "burst_window_hours": params.burst_window_s / 3600,
            "burst_accounts": n, "burst_start": start, "burst_end": end,
            "burst_share": n / known if known >= 3 else np.nan,
            "first_created": accounts["created_at"].min(), "last_created": accounts["created_at"].max(),
            "first_seen": accounts["first_seen"].min(), "last_seen": accounts["last_seen"].max(),
            "quiet_hours_share": float(np.sort(hourly["share"].to_numpy())[:8].sum()) if len(parts["ev"]) else np.nan,
            "output_median": parts["out_median"],
            "n_links": int(len(parts["links"])),
            "n_cut_vertices": int(accounts["cut_vertex"].sum()),
            "events_per_account_median": float(accounts["n_events"].median()),
        })
    if "template_top3_share" in summary:
        facts["template_top3_share"] = summary["template_top3_share"]
    if "template_shared_share" in summary:
        facts["template_shared_share"] = summary["template_shared_share"]
    return facts


def dossier_parts(result: ResultLike, cluster_id: int, *, n_bridges: int = DEFAULT_BRIDGES) -> dict[str, Any]:
    """Every piece of one cluster's dossier, as keyword arguments of ``RingExplanation``.

    Parameters
    ----------
    result : ResultLike
    cluster_id : int
        An existing cluster id (the caller validates it).
    n_bridges : int, default 5
        Top-betweenness accounts to list besides the cut vertices.

    Returns
    -------
    dict
        ``summary``, ``contributions``, ``signals``, ``accounts``, ``templates``,
        ``bridges``, ``links``, ``hourly``, ``daily``, ``output``, ``facts``,
        ``evidence_kept``, ``notes`` and ``incidence``.

    Notes
    -----
    Cost is dominated by the link-graph betweenness (see
    :func:`link_centrality`) and by one pass over the cluster's kept events.
    """
    clusters = result.clusters
    row = clusters.loc[clusters["cluster_id"] == cluster_id]
    summary = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.iloc[0].to_dict().items()}
    rank = int(np.flatnonzero(clusters["cluster_id"].to_numpy() == cluster_id)[0])
    params = _scoring_params(result)
    contributions = _contributions(summary, component_names(clusters), params)
    sigs, inc = _signals_and_incidence(result, cluster_id)
    members = result.assignments.loc[result.assignments["cluster_id"] == cluster_id].reset_index(drop=True)
    parts = _event_parts(result, cluster_id, members, rank, n_bridges)
    templates = _templates(result, cluster_id, parts["ev"], parts["kept"])
    facts = _dossier_facts(summary, rank, sigs, parts, params)
    return {
        "summary": summary, "contributions": contributions, "signals": sigs, "accounts": parts["accounts"],
        "templates": templates, "bridges": parts["bridges"], "links": parts["links"], "hourly": parts["hourly"],
        "daily": parts["daily"], "output": parts["output"], "facts": facts, "evidence_kept": parts["kept"],
        "notes": parts["notes"], "incidence": inc,
    }
