"""Self-contained HTML report of the top rings: summary, plots and dossiers.

Part of stage 6 (results). The report is one file an analyst can mail or
attach to a case: inline CSS, plots inlined as base64 PNG, no script and no
network access (a Content-Security-Policy forbids both), so it opens offline
and cannot run code. Every data value — account ids, signal values and prompts
are attacker-controlled — is HTML-escaped.

The output is deterministic: the same result gives byte-identical HTML (PNG
metadata without software version or time; no timestamps but the data's own;
tables sorted as in the result).
"""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._exceptions import InvalidParameterError
from .._progress import reporting, task
from .._version import __version__
from ._dossier import component_names
from ._export import write_text
from ._plots import plot_dossier, plot_scores, require_matplotlib
from ._text import visible
from ._types import ExplanationLike, ResultLike

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


__all__ = ["render_report", "write_report", "dossier_html", "results_html"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;color:#222;
background:#f6f6f4;line-height:1.4}
main{max-width:1200px;margin:0 auto;padding:1.5rem 2rem 4rem;background:#fff}
h1{margin:.2rem 0 .4rem;font-size:1.7rem}h2{margin-top:2.5rem;border-top:3px solid #c44e52;padding-top:.8rem}
h3{margin:1.4rem 0 .4rem;font-size:1.05rem;color:#444}
table{border-collapse:collapse;font-size:.85rem;margin:.3rem 0 .6rem}caption{text-align:left;padding:.1rem 0}
th,td{border-bottom:1px solid #ddd;padding:.22rem .55rem;text-align:left;vertical-align:top}
th{background:#f0f0ee;font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;font-size:.9rem;margin:.4rem 0}
dl.facts dt{color:#666}dl.facts dd{margin:0}
.note{background:#fff6d6;border-left:4px solid #e0b100;padding:.5rem .8rem;font-size:.9rem}
pre.prompt{white-space:pre-wrap;word-break:break-word;max-width:60rem;margin:0;font-size:.8rem;background:#f7f7f7;
padding:.3rem .5rem}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.82rem}
img.plot{max-width:100%;height:auto;border:1px solid #eee}
.muted{color:#777;font-size:.85rem}nav a{margin-right:.6rem}
"""

_MAX_SIGNALS, _MAX_ACCOUNTS, _MAX_PROMPT = 25, 500, 400


def _esc(x: Any, *, keep_newlines: bool = False) -> str:
    """HTML-escaped text (attribute-safe) with control and bidi characters shown as escapes."""
    return html.escape(visible(x, keep_newlines=keep_newlines), quote=True)


def _fmt(v: Any, kind: str = "") -> str:
    """Escaped, stable text of one value."""
    if v is None or (not isinstance(v, (str, bytes)) and pd.isna(v)):
        return "–"
    if kind == "pct":
        return f"{float(v):.0%}"
    if isinstance(v, pd.Timestamp):
        return _esc(v.strftime("%Y-%m-%d %H:%M UTC"))
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):,.3f}" if kind != "int" else f"{float(v):,.0f}"
    return _esc(v)


def _table(df: pd.DataFrame, cols: list[tuple[str, str, str]], *, caption: str = "") -> str:
    """``cols``: (column, header, kind) with kind in '', 'num', 'int', 'pct', 'mono', 'prompt', 'bar'."""
    head = "".join(f'<th class="num">{_esc(h)}</th>' if k in ("num", "int", "pct", "bar") else f"<th>{_esc(h)}</th>"
                   for _, h, k in cols)
    rows = []
    for rec in df[[c for c, _, _ in cols]].itertuples(index=False):
        cells = []
        for v, (_, _, k) in zip(rec, cols):
            if k in ("num", "int", "pct"):
                cells.append(f'<td class="num">{_fmt(v, k)}</td>')
            elif k == "bar":
                cells.append(f'<td class="num">{_bar(v)}{_fmt(v)}</td>')
            elif k == "mono":
                cells.append(f'<td class="mono">{_fmt(v)}</td>')
            elif k == "prompt":
                t = "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)
                t = t if len(t) <= _MAX_PROMPT else t[:_MAX_PROMPT] + " […]"
                cells.append(f'<td><pre class="prompt">{_esc(t, keep_newlines=True)}</pre></td>')
            else:
                cells.append(f"<td>{_fmt(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption class=\"muted\">{_esc(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


# Inline styles (not classes) so badges and bars also render in notebooks' _repr_html_.
_BADGE = ("display:inline-block;padding:1px 6px;border-radius:4px;font-size:11px;font-weight:700;"
          "vertical-align:middle;")


def _badge(flagged: Any) -> str:
    if flagged:
        return f'<span style="{_BADGE}background:#c44e52;color:#fff">FLAGGED</span>'
    return f'<span style="{_BADGE}background:#ddd;color:#333">not flagged</span>'


def _bar(v: Any) -> str:
    w = 0 if v is None or pd.isna(v) else int(round(110 * min(max(float(v), 0.0), 1.0)))
    return (f'<span style="display:inline-block;width:110px;background:#eee;margin-right:6px;text-align:left">'
            f'<span style="display:inline-block;height:10px;width:{w}px;background:#c44e52;vertical-align:middle">'
            f"</span></span>")


def _png(fig: Figure, dpi: int = 72) -> str:
    buf = io.BytesIO()
    # No Software/creation metadata: identical figures give identical bytes.
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _facts(ex: ExplanationLike) -> str:
    f, s = ex.facts, ex.summary
    items = [("Rank", f"#{f['rank']} of the clusters by ring_score"),
             ("Size", f"{_fmt(s['n_accounts'])} accounts, {_fmt(s['n_events'])} events"),
             ("Linking signals", f"{_fmt(f['n_linking_signals'])} shared by 2+ accounts of the ring, "
                                 f"{_fmt(f['n_exclusive_signals'])} used by no account outside it")]
    if ex.evidence_kept:
        if f.get("created_known"):
            burst = (f"{_fmt(f['burst_accounts'])} of {_fmt(f['created_known'])} accounts created within "
                     f"{f['burst_window_hours']:g} h ({_fmt(f['burst_start'])} – {_fmt(f['burst_end'])})")
            items.append(("Creation", f"{_fmt(f['first_created'])} – {_fmt(f['last_created'])}"))
            items.append(("Creation burst", burst))
        items.append(("Active", f"{_fmt(f['first_seen'])} – {_fmt(f['last_seen'])}"))
        items.append(("Quiet hours", f"{_fmt(f['quiet_hours_share'], 'pct')} of events in the ring's 8 quietest "
                                     "hours of the day (uniform use: 33%)"))
        if not pd.isna(f.get("output_median", np.nan)):
            ratio = s.get("output_vs_population")
            items.append(("Output length", f"median {_fmt(f['output_median'], 'int')} tokens"
                          + (f" ({float(ratio):.1f}x the population median)" if ratio is not None and not pd.isna(ratio)
                             else "")))
        items.append(("Volume", f"median {_fmt(f['events_per_account_median'], 'int')} events per account"))
        items.append(("Link graph", f"{_fmt(f['n_links'])} account–account links, {_fmt(f['n_cut_vertices'])} "
                                    "cut vertices"))
    if "template_shared_share" in f and not pd.isna(f["template_shared_share"]):
        items.append(("Templates", f"{_fmt(f['template_shared_share'], 'pct')} of prompts in families shared across "
                      f"the ring's accounts ({_fmt(f.get('template_top3_share'), 'pct')} in the top-3 families)"))
    return '<dl class="facts">' + "".join(f"<dt>{_esc(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def dossier_html(ex: ExplanationLike, *, image: str | None = None, heading: str = "h2") -> str:
    """HTML of one dossier (escaped); ``image`` is a data URI of its panels, if any."""
    cid = ex.cluster_id
    h3 = "h3" if heading == "h2" else "h4"
    out = [f'<section class="ring" id="ring-{cid}">',
           f"<{heading}>Cluster {cid} — ring_score {ex.ring_score:.3f} {_badge(ex.summary.get('flagged'))}"
           f"</{heading}>", _facts(ex)]
    out += [f'<p class="note">{_esc(n)}</p>' for n in ex.notes]
    out.append(f"<{h3}>Why this score</{h3}>")
    c = ex.contributions.copy()
    gates = " × ".join(f"{g} {float(ex.summary.get(f'{g}_gate', 1.0)):.2f}" for g in ("size", "spread", "share", "team"))
    out.append(_table(c, [("component", "component", ""), ("contribution", "contribution", "bar"),
                          ("evidence", "evidence", "")],
                      caption=f"Contributions (negative: evidence against a ring) sum to the ring_score "
                              f"{ex.ring_score:.3f}; gates {gates} included."))
    out.append(f"<{h3}>Signals that tie the ring together</{h3}>")
    sig = ex.signals
    if sig.empty:
        out.append('<p class="muted">No signal is shared by two accounts of this cluster.</p>')
    else:
        more = len(sig) - _MAX_SIGNALS
        out.append(_table(sig.head(_MAX_SIGNALS), [
            ("signal_type", "type", ""), ("value", "value", "mono"), ("accounts_in_cluster", "accounts in ring", "int"),
            ("accounts_outside", "accounts outside", "int"), ("weight", "rarity weight", "num"),
            ("status", "status", "")],
            caption="Most telling first (reach in the ring × rarity)"
                    + (f"; {more} more not shown." if more > 0 else ".")))
    out.append(f"<{h3}>Bridge accounts</{h3}>")
    if ex.bridges.empty:
        out.append('<p class="muted">' + ("No cut vertex and no account with positive betweenness: the link graph "
                                           "has no bridges." if ex.evidence_kept else "Link graph not kept.") + "</p>")
    else:
        out.append(_table(ex.bridges, [
            ("account_id", "account", "mono"), ("cut_vertex", "cut vertex", ""), ("splits_into", "pieces without it",
                                                                                   "int"),
            ("betweenness", "betweenness", "num"), ("degree", "links", "int"), ("strength", "link weight", "num")],
            caption="Accounts that join sub-groups of the ring: cut vertices (their removal disconnects the link "
                    "graph) and the highest betweenness (shortest paths of length 1/weight)."))
    out.append(f"<{h3}>Template families</{h3}>")
    if ex.templates.empty:
        out.append('<p class="muted">No prompt-template families (no prompts, or the template stage was off).</p>')
    else:
        out.append(_table(ex.templates, [
            ("family", "family", "int"), ("prompts", "prompts", "int"), ("share", "repetition rate", "pct"),
            ("accounts", "accounts", "int"), ("representative", "representative prompt", "prompt")],
            caption="Repetition rate: share of the ring's prompts in the family."))
    if image:
        out.append(f'<figure><img class="plot" src="{image}" alt="Dossier panels of cluster {cid}"></figure>')
    if ex.evidence_kept:
        a = ex.accounts.sort_values(["n_events", "account_id"], ascending=[False, True])
        more = len(a) - _MAX_ACCOUNTS
        out.append(f"<details><summary>All {len(a):,} accounts (volume, creation, activity, centrality)</summary>")
        out.append(_table(a.head(_MAX_ACCOUNTS), [
            ("account_id", "account", "mono"), ("n_events", "events", "int"), ("created_at", "created", ""),
            ("first_seen", "first seen", ""), ("last_seen", "last seen", ""), ("degree", "links", "int"),
            ("betweenness", "betweenness", "num"), ("cut_vertex", "cut vertex", "")],
            caption=f"{more} more not shown." if more > 0 else ""))
        out.append("</details>")
    out.append("</section>")
    return "\n".join(out)


def results_html(result: ResultLike, top: int = 10, *, links: bool = False) -> str:
    """Summary table of the top clusters with score bars and lead evidence (escaped)."""

    c = result.clusters.head(top).copy()
    comps = component_names(result.clusters)
    if len(c) and comps:
        contrib = c[[f"contrib_{k}" for k in comps]].to_numpy()
        c["lead"] = [", ".join(comps[j] for j in np.argsort(-row, kind="stable")[:2] if row[j] > 0) or "–"
                     for row in contrib]
    else:
        c["lead"] = "–"
    cs = result.cluster_signals
    first = cs.drop_duplicates("cluster_id").set_index("cluster_id") if len(cs) else pd.DataFrame()
    c["top_signal"] = [f"{first.at[i, 'signal_type']}: {first.at[i, 'value']} "
                       f"({first.at[i, 'accounts_in_cluster']}/{first.at[i, 'accounts_total']})"
                       if i in first.index else "–" for i in c["cluster_id"]]
    rows = []
    for r in c.itertuples(index=False):
        cid = _esc(r.cluster_id)
        name = f'<a href="#ring-{cid}">{cid}</a>' if links else cid
        rows.append(
            f'<tr><td class="num">{name}</td><td class="num">{_bar(r.ring_score)}{r.ring_score:.3f}</td>'
            f"<td>{_badge(r.flagged)}</td>"
            f'<td class="num">{_fmt(r.n_accounts)}</td><td class="num">{_fmt(r.n_events)}</td>'
            f"<td>{_esc(r.lead)}</td><td class=\"mono\">{_esc(r.top_signal)}</td></tr>")
    head = ("<tr><th class=\"num\">cluster</th><th class=\"num\">ring_score</th><th></th><th class=\"num\">accounts"
            "</th><th class=\"num\">events</th><th>main evidence</th><th>top linking signal (in ring/overall)</th></tr>")
    return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def render_report(result: ResultLike, *, top: int = 10, title: str | None = None, plots: bool = True) -> str:
    """The HTML text of the report (see :meth:`DetectionResult.report`)."""

    title = title or "accountgraph: coordinated account rings"
    st, p = result.stats, result.params
    n_cl = len(result.clusters)
    n_fl = int(result.clusters["flagged"].sum()) if n_cl else 0
    top_ids = result.clusters["cluster_id"].head(top).tolist()
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
        "style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{_esc(title)}</h1>",
        f'<p class="muted">{_esc(repr(result))}<br>accountgraph {_esc(__version__)} · seed '
        f"{_esc(p.get('random_state', '–'))} · threshold {_esc(p.get('threshold', '–'))} · method "
        f"{_esc(p.get('method', '–'))} · {_fmt(st.get('n_events', 0))} events · {_fmt(st.get('n_accounts', 0))} "
        f"accounts · {_fmt(n_cl)} clusters · {_fmt(n_fl)} flagged</p>",
    ]
    if not n_cl:
        parts.append('<p class="note">No clusters were found: no two accounts share a telling signal.</p>')
    else:
        parts.append(f"<h2>Top {len(top_ids)} clusters</h2>")
        parts.append(results_html(result, top, links=True))
        if plots:
            require_matplotlib()
            from matplotlib.figure import Figure

            fig = Figure(figsize=(9, 0.42 * max(len(top_ids), 2) + 1.6))
            plot_scores(result, top, ax=fig.subplots())
            fig.tight_layout()
            parts.append(f'<figure><img class="plot" src="{_png(fig, 80)}" alt="Top clusters by ring_score, '
                         'stacked by contribution"></figure>')
        parts.append('<nav class="muted">Dossiers: ' + " ".join(
            f'<a href="#ring-{int(i)}">{int(i)}</a>' for i in top_ids) + "</nav>")
        with task("dossiers", total=len(top_ids), unit="dossier") as progress:
            for cid in top_ids:
                ex = result.explain(int(cid))
                img = None
                if plots:
                    from matplotlib.figure import Figure

                    img = _png(plot_dossier(ex, fig=Figure(figsize=(15, 12))), 72)
                parts.append(dossier_html(ex, image=img))
                progress.update(1)
    parts.append('<p class="muted">How to read: a signal\'s rarity weight is high when few accounts overall use it; '
                 '"accounts outside" use the signal but are not in the ring. Contributions add up to ring_score; '
                 "\"at most\" is what the component could add for a ring of this size.</p>")
    parts.append("</main></body></html>\n")
    return "\n".join(parts)


def write_report(result: ResultLike, path: str | os.PathLike[str], *, top: int = 10,
                 overwrite: bool = False, title: str | None = None, progress: bool | None = None) -> Path:
    """Render the report and write it to ``path`` (see :meth:`DetectionResult.report`)."""

    if not isinstance(top, (int, np.integer)) or isinstance(top, bool) or top < 1:
        raise InvalidParameterError(f"The 'top' parameter of report() must be an int >= 1. Got {top!r} instead.")
    p = Path(path)
    if p.exists() and not overwrite:  # fail before the (slow) rendering; write_text re-checks atomically
        write_text(p, "", overwrite=False, what="HTML report")
    with reporting(progress):
        html_text = render_report(result, top=int(top), title=title)
    return write_text(p, html_text, overwrite=overwrite, what="HTML report")
