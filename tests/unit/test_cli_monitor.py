"""``accountgraph monitor``: one batch per call, the state in ``--state``, ``--report``."""

from __future__ import annotations

import pytest

from accountgraph.cli import main
from tests.unit.monitor.worlds import growing_ring


@pytest.fixture()
def days(tmp_path):
    paths = []
    for i, b in enumerate(growing_ring(days=3)):
        p = tmp_path / f"day{i}.parquet"
        b.to_parquet(p)
        paths.append(str(p))
    return paths


def test_one_batch_per_call_then_a_report(tmp_path, days, capsys):
    state = str(tmp_path / "st")
    assert main(["monitor", "--state", state, days[0], "--horizon-days", "10"]) == 0
    out = capsys.readouterr().out
    assert "update 1:" in out and "ring      0  new" in out and "FLAGGED" in out
    assert main(["monitor", "--state", state, days[1]]) == 0
    assert "ring      0  grown" in capsys.readouterr().out
    assert main(["monitor", "--state", state, days[1]]) == 0  # replay
    assert "already absorbed" in capsys.readouterr().out
    report = tmp_path / "rings.html"
    assert main(["monitor", "--state", state, "--report", str(report)]) == 0
    assert report.read_text().lstrip().lower().startswith("<!doctype html")
    assert main(["monitor", "--state", state, "--report", str(report)]) == 2  # no silent overwrite
    assert "Refusing to overwrite" in capsys.readouterr().err


def test_known_bad_file_and_parameter_clash(tmp_path, days, capsys):
    state = str(tmp_path / "st")
    seeds = tmp_path / "bad.txt"
    seeds.write_text("# banned\nuser0001\n")
    assert main(["monitor", "--state", state, days[0], "--known-bad", str(seeds)]) == 0
    assert main(["monitor", "--state", state, days[1], "--seed", "3"]) == 2
    assert "created with random_state=0" in capsys.readouterr().err


def test_a_report_needs_a_state(tmp_path, capsys):
    assert main(["monitor", "--state", str(tmp_path / "none"), "--report", str(tmp_path / "r.html")]) == 2
    assert "holds no monitor state yet" in capsys.readouterr().err
