"""Every ``accountgraph`` command in README.md's bash blocks works as written.

Each bash block runs in a fresh temporary directory, line by line in order
(so the quick start's ``synth`` feeds its ``report``), with the test's own
virtual environment on ``PATH`` and as ``.venv`` in that directory. Steps that
install things or run the test suite are skipped; everything else runs for real.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
_SKIP = re.compile(r"^(python3? -m venv|\S*pip install|\S*python -m pytest|command -v|apt-get|\.ci/run)")


def _bash_blocks(text: str) -> list[list[str]]:
    blocks = re.findall(r"^```bash\n(.*?)^```", text, flags=re.S | re.M)
    out = []
    for b in blocks:
        lines = [ln.strip() for ln in b.replace("\\\n", " ").splitlines()]
        out.append([ln for ln in lines if ln and not ln.startswith("#")])
    return out


def _steps(line: str) -> list[str]:
    """The ``&&``-separated steps of one line that this test runs."""
    return [s.strip() for s in line.split("&&") if s.strip() and not _SKIP.match(s.strip())]


def _is_accountgraph(step: str) -> bool:
    return Path(shlex.split(step)[0]).name == "accountgraph"


def test_readme_quick_start_is_the_first_block():
    blocks = _bash_blocks(README.read_text(encoding="utf-8"))
    first = [s for ln in blocks[0] for s in _steps(ln)]
    assert [shlex.split(s)[:2] for s in first] == [
        [".venv/bin/accountgraph", "demo"], [".venv/bin/accountgraph", "synth"], [".venv/bin/accountgraph", "report"]]
    # the report reads what synth wrote
    synth_out = shlex.split(first[1])[shlex.split(first[1]).index("--out") + 1]
    assert shlex.split(first[2])[2].startswith(synth_out.rstrip("/") + "/")


def test_readme_bash_blocks_run(tmp_path):
    blocks = _bash_blocks(README.read_text(encoding="utf-8"))
    assert blocks, "README.md has no bash block"
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "accountgraph").exists(), "the accountgraph entry point is not installed in this venv"
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", MPLBACKEND="Agg")
    done: set[str] = set()
    ran = 0
    for i, block in enumerate(blocks):
        cwd = tmp_path / f"block{i}"
        (cwd / ".venv").mkdir(parents=True)
        (cwd / ".venv" / "bin").symlink_to(bin_dir, target_is_directory=True)
        for line in block:
            for step in _steps(line):
                key = re.sub(r"^\S*/(accountgraph)", r"\1", step)
                if key in done:  # e.g. `accountgraph demo` twice: once is enough
                    continue
                proc = subprocess.run(["bash", "-c", step], cwd=cwd, env=env, capture_output=True, text=True,
                                      timeout=600)
                assert proc.returncode == 0, f"README block {i}: {step!r} failed:\n{proc.stdout}\n{proc.stderr}"
                assert "Traceback" not in proc.stderr
                done.add(key)
                ran += _is_accountgraph(step)
        if i == 0:
            assert (cwd / "rings.html").stat().st_size > 10_000
            assert "FLAGGED" in proc.stdout
    assert ran >= 5, f"only {ran} accountgraph commands ran; the test would be vacuous"
