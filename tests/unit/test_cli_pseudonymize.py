"""CLI --pseudonymize: key from the environment only, exit 2 with one line without it, nothing raw written."""

from __future__ import annotations

import pandas as pd
import pytest

from accountgraph.cli import main
from tests.hostile import distinctive_scenario

KEY = "cli-test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    ev, acc, raw = distinctive_scenario()
    ev.to_parquet(d / "events.parquet")
    acc.to_parquet(d / "accounts.parquet")
    return d, raw


def test_missing_key_exits_2_with_one_line(inputs, tmp_path, monkeypatch, capsys):
    d, _ = inputs
    monkeypatch.delenv("ACCOUNTGRAPH_PSEUDONYM_KEY", raising=False)
    for cmd, out in (("detect", tmp_path / "out"), ("report", tmp_path / "r.html")):
        rc = main([cmd, str(d / "events.parquet"), "--out", str(out), "--pseudonymize", "--no-progress"])
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 2 and len(err) == 1 and "ACCOUNTGRAPH_PSEUDONYM_KEY" in err[0]
        assert not out.exists()  # failed before any work


def test_short_key_exits_2(inputs, tmp_path, monkeypatch, capsys):
    d, _ = inputs
    monkeypatch.setenv("ACCOUNTGRAPH_PSEUDONYM_KEY", "short")
    rc = main(["detect", str(d / "events.parquet"), "--out", str(tmp_path / "o"), "--pseudonymize", "--no-progress"])
    assert rc == 2 and "16 bytes" in capsys.readouterr().err


def test_pseudonymised_detect_and_report_hold_no_raw_value(inputs, tmp_path, monkeypatch, capsys):
    d, raw = inputs
    monkeypatch.setenv("ACCOUNTGRAPH_PSEUDONYM_KEY", KEY)
    out = tmp_path / "out"
    assert main(["detect", str(d / "events.parquet"), "--accounts", str(d / "accounts.parquet"), "--out", str(out),
                 "--pseudonymize", "--no-progress"]) == 0
    assert main(["report", str(d / "events.parquet"), "--accounts", str(d / "accounts.parquet"),
                 "--out", str(tmp_path / "r.html"), "--top", "2", "--pseudonymize", "--no-progress"]) == 0
    text = capsys.readouterr().out + (tmp_path / "r.html").read_text(encoding="utf-8")
    for f in sorted(out.glob("*.parquet")):
        text += pd.read_parquet(f).to_csv()
    assert "acct_" in text
    for kind, values in raw.items():
        assert not [v for v in values if v in text], kind
