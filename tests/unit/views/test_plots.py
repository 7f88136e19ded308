"""Plots and rich reprs of results and explanations (views/_plots.py, views/_result.py)."""

from __future__ import annotations

import sys

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import accountgraph  # noqa: E402
from accountgraph import EngineUnavailableError  # noqa: E402
from tests.conftest import planted  # noqa: E402


@pytest.fixture(scope="module")
def res():
    ev, acc, _ = planted()
    return accountgraph.detect(ev, acc, seed=0)


def test_result_plot_stacks_contributions(res):
    import matplotlib.pyplot as plt

    ax = res.plot(top=3)
    comps = [c for c in res.clusters.columns if c.startswith("contrib_")]
    n = len(res.clusters.head(3))
    bars = [p for p in ax.patches]
    assert n >= 2 and len(bars) == n * len(comps)
    # the right end of each stack is the ring_score
    ends = {}
    for p in bars:
        y = round(p.get_y() + p.get_height() / 2, 6)
        ends[y] = max(ends.get(y, 0.0), p.get_x() + p.get_width())
    np.testing.assert_allclose(sorted(ends.values()), sorted(res.clusters["ring_score"].head(n)))
    plt.close("all")


def test_explanation_plot_panels(res):
    import matplotlib.pyplot as plt

    fig = res.explain(0).plot()
    titles = [a.get_title() for a in fig.axes]
    for t in ("Activity by hour of day", "Output-length distribution", "Account creation timeline",
              "Volume per account", "Linking signals and their rarity", "Template families"):
        assert t in titles
    assert any(t.startswith("Account link graph") for t in titles)
    plt.close("all")


def test_missing_matplotlib_gives_install_hint(res, monkeypatch):
    from accountgraph.views._plots import require_matplotlib

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(EngineUnavailableError, match=r"pip install matplotlib"):
        require_matplotlib()
    with pytest.raises(EngineUnavailableError):
        res.report("never-written.html")


def test_rich_reprs(res):
    h = res._repr_html_()
    assert "<table" in h and "FLAGGED" in h and "DetectionResult(" in h
    e = res.explain(0)._repr_html_()
    assert "Why this score" in e and "Signals that tie the ring together" in e and "<img" not in e
