"""Hostile strings in ids, signal values, models and prompts: escaped everywhere, shown visibly, nothing raises."""

from __future__ import annotations

import re
import xml.dom.minidom
from html.parser import HTMLParser

import pytest

import accountgraph
from accountgraph.views._text import visible
from tests.hostile import HOSTILE, hostile_scenario

# Characters that must never reach a reader raw: C0 (but \n, \t), DEL, C1, bidi, zero-width, separators.
_RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2028\u2029\u2060\u2066-\u2069\ufeff]")
_ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "h4", "p", "br", "table",
                 "caption", "thead", "tbody", "tr", "th", "td", "span", "dl", "dt", "dd", "pre", "figure", "img",
                 "nav", "a", "section", "details", "summary", "div"}


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, k, v or "") for k, v in attrs]


def audit(html: str) -> list[str]:
    """Problems an injection would cause: foreign elements, on* handlers, script URLs, odd attributes."""
    a = _Audit()
    a.feed(html)
    problems = [f"element <{t}>" for t in set(a.tags) - _ALLOWED_TAGS]
    for tag, k, v in a.attrs:
        if k.startswith("on"):
            problems.append(f"handler {k} on <{tag}>")
        if k in ("href", "src") and not (v.startswith("#ring-") or v.startswith("data:image/png;base64,")):
            problems.append(f"{k}={v[:40]!r} on <{tag}>")
        if k not in ("class", "id", "href", "src", "alt", "style", "lang", "charset", "http-equiv", "content", "name"):
            problems.append(f"attribute {k} on <{tag}>")
    return problems


@pytest.fixture(scope="module")
def hostile_result():
    ev, acc, ring = hostile_scenario()
    res = accountgraph.detect(ev, acc, seed=0, progress=False)
    return res, ring


def test_visible_escapes_invisible_characters():
    assert visible("a\x00b\x1b\x7f\x85\u202e\u2066\u200b\ufeff") == r"a\x00b\x1b\x7f\x85\u202e\u2066\u200b\ufeff"
    assert visible("x\ny\tz") == r"x\x0ay\x09z"
    assert visible("x\ny\tz\r", keep_newlines=True) == "x\ny\tz\\x0d"
    assert visible("plain ü €") == "plain ü €"


def test_ring_still_found(hostile_result):
    res, ring = hostile_result
    assert set(res.flagged_accounts) == ring


def test_audit_catches_an_injection():
    """Negative control: the audit flags a page where a payload went in unescaped."""
    page = "<html><body><p>" + HOSTILE[1] + "</p><p>" + HOSTILE[0] + "</p><a href=\"javascript:x\">y</a></body></html>"
    problems = audit(page)
    assert any("onerror" in p for p in problems) and any("<script>" in p for p in problems)
    assert any("javascript" in p for p in problems)
    assert _RAW.search("bidi\u202e")


def test_report_holds_no_injected_markup(hostile_result, tmp_path):
    res, _ = hostile_result
    html = res.report(tmp_path / "h.html", top=3).read_text(encoding="utf-8")
    assert audit(html) == []
    assert "<script" not in html.lower()
    assert not _RAW.search(html), repr(_RAW.search(html))
    # The hostile values are in the report, escaped and visible.
    assert "&lt;script&gt;document.title=" in html
    assert r"nul\x00byte" in html and r"bidi\u202eevil\u202c" in html
    # javascript: appears only as escaped text inside cells, never as a URL.
    assert not re.search(r'(href|src)\s*=\s*"?\s*javascript:', html, re.I)


def test_notebook_html_and_text_are_safe(hostile_result):
    res, _ = hostile_result
    for cid in res.clusters["cluster_id"].head(3):
        ex = res.explain(int(cid))
        assert audit(ex._repr_html_()) == []
        text = str(ex)
        assert not _RAW.search(text.replace("\n", "")), repr(_RAW.search(text))
    assert audit(res._repr_html_()) == []


def test_plots_and_graphml_do_not_raise(hostile_result, tmp_path):
    from matplotlib.figure import Figure

    res, _ = hostile_result
    for cid in res.clusters["cluster_id"].head(2):
        fig = res.explain(int(cid)).plot(fig=Figure(figsize=(15, 12)))
        fig.savefig(tmp_path / f"p{cid}.png")
        labels = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
        assert labels and not any(_RAW.search(t) for t in labels)
        # $ is escaped, so no label is parsed as mathtext.
        assert all(t.count("$") == t.count(r"\$") for t in labels)
    p = res.to_graphml(tmp_path / "g.graphml")
    xml.dom.minidom.parse(str(p))  # well-formed XML despite control characters in ids


def test_quarantined_hostile_row_kept(hostile_result):
    res, _ = hostile_result
    q = res.quarantined_rows()
    assert q["ip"].tolist() == [HOSTILE[0]]
