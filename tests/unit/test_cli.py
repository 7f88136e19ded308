"""The command line (accountgraph.cli): detect, report, one-line errors before work, safe outputs."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

import accountgraph
from accountgraph.cli import main
from tests.conftest import planted
from tests.unit.ingest.test_reading import LATIN, _csv_bytes


def test_cli_detect(tmp_path, planted_data, capsys):
    ev, acc, ring = planted_data
    ev.to_parquet(tmp_path / "events.parquet")
    acc.rename(columns={"account_id": "user"}).to_csv(tmp_path / "accounts.csv", index=False)
    rc = main(["detect", str(tmp_path / "events.parquet"), "--accounts", str(tmp_path / "accounts.csv"),
               "--account-column", "account_id=user", "--out", str(tmp_path / "out"), "--seed", "3"])
    assert rc == 0
    a = pq.read_table(tmp_path / "out" / "assignments.parquet").to_pandas()
    c = pq.read_table(tmp_path / "out" / "clusters.parquet").to_pandas()
    assert set(a.loc[a.flagged, "account_id"]) == ring
    assert {"cluster_id", "n_accounts", "n_events", "ring_score", "flagged"} <= set(c.columns)
    assert "FLAGGED" in capsys.readouterr().out


def test_cli_reports_schema_errors(tmp_path, capsys):
    pd.DataFrame({"user": ["a"]}).to_csv(tmp_path / "e.csv", index=False)
    assert main(["detect", str(tmp_path / "e.csv"), "--out", str(tmp_path / "o")]) == 2
    assert "missing required column" in capsys.readouterr().err



def test_cli_report(tmp_path, capsys):
    ev, acc, _ = planted()
    ev.to_parquet(tmp_path / "events.parquet")
    acc.to_parquet(tmp_path / "accounts.parquet")
    out = tmp_path / "rings.html"
    args = ["report", str(tmp_path / "events.parquet"), "--accounts", str(tmp_path / "accounts.parquet"),
            "--out", str(out), "--top", "1", "--no-progress"]
    assert main(args) == 0
    assert "wrote" in capsys.readouterr().out and out.exists()
    first = out.read_bytes()
    assert main(args) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(args + ["--overwrite"]) == 0
    assert out.read_bytes() == first


# ---------------------------------------------------------------- one-line errors before work, safe outputs


@pytest.fixture
def no_detect(monkeypatch):
    """Fail the test if the CLI starts a detection run."""
    def boom(*a, **k):
        raise AssertionError("detection ran before the output paths were checked")

    monkeypatch.setattr(accountgraph, "detect", boom)


@pytest.fixture
def small_inputs(tmp_path, planted_data):
    ev, acc, _ = planted_data
    ev.to_parquet(tmp_path / "events.parquet")
    acc.to_parquet(tmp_path / "accounts.parquet")
    return tmp_path / "events.parquet", tmp_path / "accounts.parquet"


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("accountgraph: error:"), err
    assert "Traceback" not in err[0]
    for n in needles:
        assert n in err[0]


def test_cli_detect_out_is_a_file(tmp_path, small_inputs, no_detect, capsys):
    f = tmp_path / "taken"
    f.write_text("x")
    assert main(["detect", str(small_inputs[0]), "--out", str(f), "--no-progress"]) == 2
    _one_line_error(capsys, "is an existing file", str(f))
    assert main(["detect", str(small_inputs[0]), "--out", str(f), "--overwrite"]) == 2
    assert f.read_text() == "x"


def test_cli_detect_refuses_earlier_run_then_replaces_it_whole(tmp_path, small_inputs, capsys):
    ev, acc = small_inputs
    out = tmp_path / "out"
    out.mkdir()
    (out / "cluster_signals.parquet").write_text("stale")
    (out / "notes.txt").write_text("stale")
    args = ["detect", str(ev), "--accounts", str(acc), "--out", str(out), "--no-progress"]
    assert main(args) == 2
    _one_line_error(capsys, "--overwrite", str(out))
    assert (out / "notes.txt").read_text() == "stale"
    # an empty run: events with no rows, so no cluster_signals.parquet is written
    pd.read_parquet(ev).head(0).to_parquet(tmp_path / "none.parquet")
    assert main(["detect", str(tmp_path / "none.parquet"), "--out", str(out), "--overwrite", "--no-progress"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["assignments.parquet", "clusters.parquet"]
    assert main(args + ["--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["assignments.parquet", "cluster_signals.parquet",
                                                     "clusters.parquet"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp left
    assert main(args) == 2  # a finished run is guarded too


def test_cli_detect_empty_dir_is_fine(tmp_path, small_inputs):
    (tmp_path / "out").mkdir()
    assert main(["detect", str(small_inputs[0]), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    assert (tmp_path / "out" / "assignments.parquet").exists()


def test_cli_quarantine_out(tmp_path, planted_data, capsys):
    ev, _, _ = planted_data
    e = pd.concat([ev.head(300), ev.head(2)], ignore_index=True)
    e.loc[3, "account_id"] = ""
    e.to_csv(tmp_path / "events.csv", index=False)
    q = tmp_path / "bad.parquet"
    args = ["detect", str(tmp_path / "events.csv"), "--out", str(tmp_path / "out"), "--quarantine-out", str(q),
            "--no-progress"]
    assert main(args) == 0
    rows = pd.read_parquet(q)
    assert rows[["table", "row", "reason"]].values.tolist() == [
        ["events", 3, "empty_account_id"], ["events", 300, "duplicate_event"], ["events", 301, "duplicate_event"]]
    assert "wrote 3 quarantined row(s)" in capsys.readouterr().out
    assert main(args + ["--overwrite"]) == 0
    q.unlink()
    assert main(args) == 2  # --out holds the earlier run
    assert not q.exists()


def test_cli_quarantine_out_existing_file_fails_before_work(tmp_path, small_inputs, no_detect, capsys):
    q = tmp_path / "q.parquet"
    q.write_text("x")
    assert main(["detect", str(small_inputs[0]), "--out", str(tmp_path / "o"), "--quarantine-out", str(q)]) == 2
    _one_line_error(capsys, "--quarantine-out", "--overwrite")


@pytest.mark.parametrize("kind", ["file", "dir"])
def test_cli_report_out_checked_before_work(tmp_path, small_inputs, no_detect, capsys, kind):
    out = tmp_path / "rings.html"
    out.mkdir() if kind == "dir" else out.write_text("old")
    assert main(["report", str(small_inputs[0]), "--out", str(out)]) == 2
    _one_line_error(capsys, str(out))


def test_cli_bad_input_is_one_line(tmp_path, capsys):
    (tmp_path / "empty.csv").write_bytes(b"")
    assert main(["detect", str(tmp_path / "empty.csv"), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    _one_line_error(capsys, "empty (0 bytes)")
    assert main(["detect", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "nope.csv")
    assert main(["detect", str(tmp_path / "empty.csv"), "--out", str(tmp_path / "o"), "--encoding", "klingon"]) == 2
    _one_line_error(capsys, "'encoding'", "klingon")
    assert not (tmp_path / "o").exists()


def test_cli_encoding(tmp_path, capsys):
    p = tmp_path / "events.csv"
    p.write_bytes(_csv_bytes(LATIN, "latin-1"))
    q = tmp_path / "q.parquet"
    assert main(["detect", str(p), "--out", str(tmp_path / "a"), "--quarantine-out", str(q), "--no-progress"]) == 0
    assert pd.read_parquet(q)["reason"].tolist() == ["invalid_utf8"] * 2
    assert main(["detect", str(p), "--out", str(tmp_path / "b"), "--quarantine-out", str(tmp_path / "q2.parquet"),
                 "--encoding", "latin-1", "--no-progress"]) == 0
    assert len(pd.read_parquet(tmp_path / "q2.parquet")) == 0
    assert len(pd.read_parquet(tmp_path / "b" / "assignments.parquet")) == 3


def test_cli_detect_prints_each_stage_time_and_peak(tmp_path, small_inputs, capsys):
    ev, acc = small_inputs
    assert main(["detect", str(ev), "--accounts", str(acc), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    for stage in ("validate", "templates", "signals", "graph", "communities", "score", "views", "total"):
        assert any(line.startswith(stage) and "GiB" in line for line in out.splitlines()), stage
