"""The HTML report renders in a real headless Chromium: loads, logs nothing, shows its plots.

Needs ``/usr/bin/chromium`` (Debian: ``apt-get install -y chromium``); skipped
without it, except under ``CI=true``, where ``.ci/run`` installs it and a
missing browser is a failure, not a skip. Console messages (script errors, blocked resources, CSP
violations) are read from Chromium's ``--enable-logging=stderr`` output, where
each one is a ``CONSOLE`` line; a negative control proves the scan catches them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import accountgraph
from tests.conftest import planted

CHROMIUM = Path("/usr/bin/chromium")
_HAVE_BROWSER = CHROMIUM.exists() or shutil.which("chromium") is not None
if not _HAVE_BROWSER and os.environ.get("CI") == "true":
    raise RuntimeError("CI=true but chromium is missing: .ci/run should have installed it (apt-get install -y chromium)")
pytestmark = pytest.mark.skipif(
    not _HAVE_BROWSER,
    reason="chromium is not installed (apt-get install -y chromium); the browser test needs a real browser",
)

# The fixed colour of each score component in every plot (accountgraph.views._plots.COMPONENT_COLORS).
# Only those the page's own markup does not use (the report's flag colour is the templates colour).
def _component_rgbs(page_text: str) -> list[np.ndarray]:
    from accountgraph.views._plots import COMPONENT_COLORS

    return [np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)]) / 255 for c in COMPONENT_COLORS.values()
            if c.lower() not in page_text.lower()]


def chromium(tmp_path: Path, url: str, *extra: str) -> subprocess.CompletedProcess:
    exe = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *extra, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def console_messages(proc: subprocess.CompletedProcess) -> list[str]:
    return [ln for ln in (proc.stderr + proc.stdout).splitlines() if ":CONSOLE" in ln or "Uncaught" in ln]


def screenshot(tmp_path: Path, html: Path, name: str) -> tuple[np.ndarray, list[str]]:
    import matplotlib.image as mpimg

    png = tmp_path / name
    proc = chromium(tmp_path, html.resolve().as_uri(), f"--screenshot={png}", "--window-size=1280,2000")
    assert png.exists(), f"no screenshot; chromium said:\n{proc.stderr[-2000:]}"
    return mpimg.imread(png)[..., :3], console_messages(proc)


def near(img: np.ndarray, rgb: np.ndarray, tol: float = 0.03) -> int:
    return int((np.abs(img - rgb).max(axis=-1) < tol).sum())


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    ev, acc, _ = planted()
    res = accountgraph.detect(ev, acc, seed=0)
    return res.report(tmp_path_factory.mktemp("report") / "rings.html", top=2)


def test_console_scan_catches_errors(tmp_path):
    """Negative control: a page with a failing script is caught by the same scan."""
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><p>x</p><script>console.error('boom'); notDefined();</script></body></html>")
    _, msgs = screenshot(tmp_path, bad, "bad.png")
    assert any("boom" in m for m in msgs) and any("Uncaught" in m for m in msgs)


def test_report_loads_without_console_errors(report, tmp_path):
    proc = chromium(tmp_path, report.resolve().as_uri(), "--dump-dom")
    dom = proc.stdout
    assert "<h1>accountgraph: coordinated account rings</h1>" in dom
    assert 'id="ring-0"' in dom and 'id="ring-1"' in dom
    assert len(re.findall(r'<img class="plot" src="data:image/png;base64,', dom)) == 3
    assert console_messages(proc) == []


def test_report_plots_visible_in_screenshot(report, tmp_path):
    img, msgs = screenshot(tmp_path, report, "report.png")
    assert msgs == []
    assert img.shape[:2] == (2000, 1280)
    rgb = (img.reshape(-1, 3) * 255).round().astype(np.int64)
    colours = np.unique(rgb[:, 0] << 16 | rgb[:, 1] << 8 | rgb[:, 2])
    assert len(colours) > 200, "the page looks blank"
    # Control: the same page with its images removed shows no plot colour at all.
    text = report.read_text(encoding="utf-8")
    bare = tmp_path / "bare.html"
    bare.write_text(re.sub(r'<img class="plot"[^>]*>', "", text), encoding="utf-8")
    control, _ = screenshot(tmp_path, bare, "bare.png")
    rgbs = _component_rgbs(bare.read_text(encoding="utf-8"))
    assert len(rgbs) >= 4
    with_plots, without = sum(near(img, c) for c in rgbs), sum(near(control, c) for c in rgbs)
    assert without < 50
    assert with_plots > 2000, f"plot pixels: {with_plots} (control {without})"
    print(f"distinct colours {len(colours)}, score-component pixels {with_plots} (control {without})")


# ---------------------------------------------------------------- hostile strings
# Payloads in tests.hostile set document.title or log to the console with a marker spelled split in the source
# ('P'+'WNED'), so the marker shows in the DOM dump or the console only if a payload ran.

_CSP = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>')


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory) -> Path:
    from tests.hostile import hostile_scenario

    ev, acc, _ = hostile_scenario()
    res = accountgraph.detect(ev, acc, seed=0, progress=False)
    return res.report(tmp_path_factory.mktemp("hostile") / "hostile.html", top=2)


def executed(tmp_path: Path, page: Path) -> tuple[bool, str, list[str]]:
    from tests.hostile import EXECUTION_MARKER

    proc = chromium(tmp_path, page.resolve().as_uri(), "--dump-dom", "--virtual-time-budget=3000")
    msgs = console_messages(proc)
    ran = EXECUTION_MARKER in proc.stdout or any(EXECUTION_MARKER in m for m in msgs)
    return ran, proc.stdout, msgs


def _without_csp(page: Path, tmp_path: Path, name: str, unescape_one: bool = False) -> Path:
    import html as _html

    from tests.hostile import HOSTILE

    text = _CSP.sub("", page.read_text(encoding="utf-8"))
    assert "Content-Security-Policy" not in text
    if unescape_one:
        escaped = _html.escape(HOSTILE[0], quote=True)
        assert escaped in text
        text = text.replace(escaped, HOSTILE[0], 1)
    out = tmp_path / name
    out.write_text(text, encoding="utf-8")
    return out


def test_hostile_report_executes_nothing(hostile_report, tmp_path):
    ran, dom, msgs = executed(tmp_path, hostile_report)
    assert 'id="ring-0"' in dom, "the report did not load"
    assert not ran
    assert msgs == []


def test_hostile_report_safe_by_escaping_alone(hostile_report, tmp_path):
    """Without its Content-Security-Policy the report still runs nothing: the escaping holds on its own."""
    ran, dom, msgs = executed(tmp_path, _without_csp(hostile_report, tmp_path, "nocsp.html"))
    assert 'id="ring-0"' in dom
    assert not ran, [m for m in msgs][:3]


def test_execution_check_catches_an_unescaped_payload(hostile_report, tmp_path):
    """Negative control: the same page with one payload put back unescaped is caught."""
    ran, _, _ = executed(tmp_path, _without_csp(hostile_report, tmp_path, "bad.html", unescape_one=True))
    assert ran
