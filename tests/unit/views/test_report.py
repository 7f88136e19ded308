"""The self-contained HTML report (views/_report.py): contents, offline, escaping, overwrite guard."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import accountgraph  # noqa: E402
from accountgraph import AccountGraphError, InvalidParameterError  # noqa: E402
from accountgraph.views._export import OutputExistsError  # noqa: E402
from tests.conftest import planted  # noqa: E402
from tests.unit.views.test_dossier import stub_minhash, with_prompts  # noqa: E402,F401


EVIL_DEVICE = '<script>alert("dev")</script>$\\frac{1}{0}$'

EVIL_PROMPT = '</pre><script>alert("prompt")</script><img src=x onerror=alert(1)> $x^$'


def evil_data():
    """The planted ring with attacker-controlled device ids, account ids and prompts."""
    ev, acc, ring = planted()
    ev = with_prompts(ev, ring, ring_prompt=EVIL_PROMPT)
    is_ring = ev["account_id"].isin(ring)
    ev.loc[is_ring, "device_id"] = EVIL_DEVICE
    rename = {a: f"<b onmouseover=alert(1)>{a}" for a in sorted(ring)[:3]}
    ev["account_id"] = ev["account_id"].replace(rename)
    acc["account_id"] = acc["account_id"].replace(rename)
    return ev, acc, {rename.get(a, a) for a in ring}


@pytest.fixture(scope="module")
def res():
    ev, acc, _ = planted()
    return accountgraph.detect(ev, acc, seed=0)


def test_report_contents_and_offline(res, tmp_path):
    path = res.report(tmp_path / "rings.html", top=2)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    for cid in (0, 1):
        assert f'id="ring-{cid}"' in text and f'href="#ring-{cid}"' in text
    assert 'id="ring-2"' not in text
    assert text.count('src="data:image/png;base64,') == 3  # overview + 2 dossiers
    # offline and inert: nothing fetched, nothing executed
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "<script" not in text and "<link" not in text and "@import" not in text
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    ex = res.explain(0)
    assert f"{ex.ring_score:.3f}" in text and "Bridge accounts" in text and "Why this score" in text
    top_signal = ex.signals.iloc[0]
    assert str(top_signal["value"]) in text


def test_report_deterministic(tmp_path):
    ev, acc, _ = planted()
    a = accountgraph.detect(ev, acc, seed=0).report(tmp_path / "a.html", top=1)
    b = accountgraph.detect(ev.sample(frac=1.0, random_state=3), acc, seed=0).report(tmp_path / "b.html", top=1)
    assert a.read_bytes() == b.read_bytes()


def test_report_escapes_attacker_text(stub_minhash, tmp_path):
    ev, acc, ring = evil_data()
    r = accountgraph.detect(ev, acc, seed=0)
    ex = r.explain(0)
    assert set(ex.accounts["account_id"]) == ring
    assert ex.templates["representative"].iloc[0].startswith("</pre>")  # the raw prompt reached the dossier
    assert (ex.signals["value"] == EVIL_DEVICE).any()
    html_texts = {
        "report": r.report(tmp_path / "evil.html", top=1).read_text(encoding="utf-8"),
        "result_repr": r._repr_html_(),
        "explanation_repr": ex._repr_html_(),
    }
    for name, text in html_texts.items():
        assert "<script" not in text.lower(), name
        assert "<img src=x" not in text and "<b onmouseover" not in text, name
        if name != "result_repr":  # the summary table lists no account ids
            assert "&lt;b onmouseover=alert(1)&gt;" in text, name
    rep = html_texts["report"]
    assert "&lt;/pre&gt;&lt;script&gt;alert(&quot;prompt&quot;)&lt;/script&gt;" in rep
    assert "&lt;script&gt;alert(&quot;dev&quot;)&lt;/script&gt;" in rep


def test_report_overwrite_guard(res, tmp_path):
    p = tmp_path / "r.html"
    p.write_text("keep me")
    with pytest.raises(OutputExistsError, match="overwrite=True") as info:
        res.report(p, top=1)
    assert isinstance(info.value, FileExistsError) and isinstance(info.value, AccountGraphError)
    assert p.read_text() == "keep me"
    res.report(p, top=1, overwrite=True)
    assert "<!DOCTYPE html>" in p.read_text(encoding="utf-8")
    for bad in (0, -1, 2.5, True):
        with pytest.raises(InvalidParameterError, match="'top' parameter"):
            res.report(tmp_path / "x.html", top=bad)


def test_report_without_clusters(tmp_path):
    ev = pd.DataFrame({"account_id": ["a", "b"], "timestamp": pd.to_datetime([0, 1], unit="s", utc=True),
                       "ip": ["1.1.1.1", "2.2.2.2"]})
    r = accountgraph.detect(ev)
    text = r.report(tmp_path / "none.html").read_text(encoding="utf-8")
    assert "No clusters were found" in text


def test_report_for_cluster_without_kept_evidence(tmp_path):
    ev, acc, _ = planted()
    r = accountgraph.detect(ev, acc, seed=0, evidence_clusters=0)
    text = r.report(tmp_path / "r.html", top=1).read_text(encoding="utf-8")
    assert "was not kept" in text and "evidence_clusters=1" in text


def test_report_file_is_replaced_atomically(tmp_path, planted_data):
    ev, acc, _ = planted_data
    res = accountgraph.detect(ev, acc)
    p = tmp_path / "rings.html"
    p.write_text("old")
    with pytest.raises(accountgraph.OutputExistsError):
        res.report(p, top=1)
    assert p.read_text() == "old"
    res.report(p, top=1, overwrite=True)
    assert p.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [x.name for x in tmp_path.iterdir()] == ["rings.html"]
