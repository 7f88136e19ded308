"""Bad and degenerate input (the bad-input issue): each case runs, or fails with one clear SchemaError."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import accountgraph
import pyarrow as pa
from accountgraph import InvalidParameterError, SchemaError
from accountgraph.ingest._io import UNDECODABLE_COLUMN, _invalid_utf8, latin1_to_utf8, to_arrow
from accountgraph.cli import main
from accountgraph.synth import generate


@pytest.fixture(scope="module")
def tiny():
    ds = generate("tiny", seed=0)
    return ds.events.to_pandas(), ds.accounts.to_pandas()


def _check_dossiers(res, tmp_path, n=3):
    for cid in res.clusters["cluster_id"].head(n):
        ex = res.explain(int(cid))
        assert ex.contributions["contribution"].sum() == pytest.approx(ex.ring_score)
        str(ex)
        ex._repr_html_()
    path = res.report(tmp_path / "rings.html", top=n)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "</html>" in text


def test_explain_and_report_without_accounts_table(planted_data, tmp_path):
    ev, _, ring = planted_data
    res = accountgraph.detect(ev)
    assert len(res.clusters) > 1
    ex = res.explain(0)
    assert set(ex.accounts["account_id"]) == ring
    assert ex.daily["events"].sum() == ex.summary["n_events"]
    assert (ex.daily["accounts_created"] == 0).all()
    _check_dossiers(res, tmp_path, n=len(res.clusters))


@pytest.mark.parametrize("n_accounts", [1, 2, 3])
def test_few_accounts_with_prompts(tiny, n_accounts, tmp_path):
    ev, acc = tiny
    ids = sorted(ev["account_id"].unique())[:n_accounts]
    few = ev[ev["account_id"].isin(ids)]
    for accounts in (None, acc[acc["account_id"].isin(ids)]):
        res = accountgraph.detect(few, accounts)
        assert sorted(res.assignments["account_id"]) == ids
        assert res.assignments["ring_score"].between(0, 1).all()
        (tmp_path / str(accounts is None)).mkdir()
        _check_dossiers(res, tmp_path / str(accounts is None))


def test_one_account_same_prompt(planted_data):
    ev, _, _ = planted_data
    one = ev[ev["account_id"] == "ring000"].assign(prompt="summarise this text in three bullet points")
    res = accountgraph.detect(one)
    assert res.assignments["account_id"].tolist() == ["ring000"]
    assert res.assignments["cluster_id"].tolist() == [-1]


def test_empty_events_with_accounts_flags_nothing(tiny, tmp_path):
    ev, acc = tiny
    res = accountgraph.detect(ev.head(0), acc)
    assert res.stats["n_events"] == 0
    assert len(res.clusters) > 0  # accounts still cluster by their shared attributes ...
    assert (res.clusters["n_events"] == 0).all()
    assert not res.clusters["flagged"].any()  # ... but no cluster without events is flagged
    assert not res.assignments["flagged"].any()
    assert (res.clusters["ring_score"] == 0).all()
    _check_dossiers(res, tmp_path)


# ---------------------------------------------------------------- reading: CSV, encodings, mixed types

def _csv_bytes(rows, encoding="utf-8"):
    head = "account_id,timestamp,ip,device_id,payment_id,model\n"
    return (head + "".join(",".join(r) + "\n" for r in rows)).encode(encoding)


LATIN = [
    ("u1", "2026-05-01T10:00:00Z", "10.0.0.1", "caf\u00e9-sdk", "p1", "m"),
    ("u2", "2026-05-01T11:00:00Z", "10.0.0.2", "plain", "p2", "m"),
    ("u3", "2026-05-01T12:00:00Z", "10.0.0.3", "na\u00efve", "p3", "m"),
]


def test_latin1_csv_quarantines_undecodable_rows(tmp_path):
    p = tmp_path / "events.csv"
    p.write_bytes(_csv_bytes(LATIN, "latin-1"))
    res = accountgraph.detect(p)
    assert res.quarantine.counts == {("events", "invalid_utf8"): 2}
    assert res.assignments["account_id"].tolist() == ["u2"]
    rows = res.quarantined_rows()
    assert rows[["table", "row", "reason"]].values.tolist() == [["events", 0, "invalid_utf8"],
                                                                 ["events", 2, "invalid_utf8"]]
    # shown as Latin-1, so the original bytes survive
    assert rows["device_id"].tolist() == ["caf\u00e9-sdk", "na\u00efve"]
    assert rows["device_id"].iloc[0].encode("latin-1") == "caf\u00e9-sdk".encode("latin-1")


def test_csv_encoding_option_reads_every_row(tmp_path):
    p = tmp_path / "events.csv"
    p.write_bytes(_csv_bytes(LATIN, "latin-1"))
    t = to_arrow(p, name="events", encoding="latin-1")
    assert t.column("device_id").to_pylist() == ["caf\u00e9-sdk", "plain", "na\u00efve"]
    res = accountgraph.detect(t)
    assert res.quarantine.total == 0 and len(res.assignments) == 3
    # UTF-8 spelled out behaves as the default
    assert to_arrow(p, encoding="UTF8").column(UNDECODABLE_COLUMN).to_pylist() == [True, False, True]


def test_csv_bad_encoding_name_and_undecodable_codec(tmp_path):
    p = tmp_path / "events.csv"
    p.write_bytes(_csv_bytes(LATIN, "latin-1") + b"u4,2026-05-01T12:00:00Z,10.0.0.4,\x81,p,m\n")
    with pytest.raises(InvalidParameterError, match=r"'encoding' parameter.*Got 'klingon'"):
        to_arrow(p, encoding="klingon")
    with pytest.raises(SchemaError, match=r"not valid 'cp1252' text.*b'\\x81'.*--encoding"):
        to_arrow(p, encoding="cp1252")


def test_utf8_check_matches_python():
    rng = np.random.default_rng(1)
    pieces = [b"a", b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x98\x80", b"\xe9", b"\x80", b"\xc3", b"\xe0\x80\x80",
              b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\xff", b"\xe2\x82", b"\xf0\x9f"]
    vals = []
    for _ in range(5000):
        k = int(rng.integers(0, 5))
        v = (b"".join(pieces[j] for j in rng.integers(0, len(pieces), k)) if rng.random() < 0.6
             else bytes(rng.integers(0, 256, k).astype(np.uint8)))
        vals.append(None if rng.random() < 0.05 else v)

    def bad(v):
        try:
            v.decode("utf-8")
        except UnicodeDecodeError:
            return True
        return False

    arr = pa.array(vals, pa.large_binary())
    for lo, hi in ((0, len(vals)), (13, 4001)):
        want = [v is not None and bad(v) for v in vals[lo:hi]]
        assert _invalid_utf8(arr.slice(lo, hi - lo)).tolist() == want
    bad_vals = arr.filter(pa.array([v is not None and bad(v) for v in vals]))
    assert latin1_to_utf8(bad_vals).to_pylist() == [v.decode("latin-1") for v in bad_vals.to_pylist()]


@pytest.mark.parametrize("content", [b"", b"\n"])
def test_empty_csv_is_a_schema_error(tmp_path, content):
    p = tmp_path / "events.csv"
    p.write_bytes(content)
    with pytest.raises(SchemaError, match=r"events: the CSV file .*(empty \(0 bytes\)|no header line)"):
        accountgraph.detect(p)


def test_header_only_csv_runs(tmp_path):
    p = tmp_path / "events.csv"
    p.write_text("account_id,timestamp\n")
    res = accountgraph.detect(p)
    assert res.stats["n_events_in"] == 0 and len(res.assignments) == 0


def test_ragged_csv_is_a_schema_error(tmp_path):
    p = tmp_path / "events.csv"
    p.write_text("account_id,timestamp\na,2026-05-01T00:00:00Z,extra\n")
    with pytest.raises(SchemaError, match="cannot parse the CSV file"):
        accountgraph.detect(p)


def test_mixed_object_timestamp_is_a_schema_error():
    ev = pd.DataFrame({"account_id": ["a", "b", "c"],
                       "timestamp": [1_777_000_000, "2026-05-01T00:00:00Z", 1_777_000_100]})
    with pytest.raises(SchemaError, match=r"events\.timestamp mixes values.*1777000000 \(int\).*"
                                          r"'2026-05-01T00:00:00Z' \(str\) at row 1.*astype\(str\)"):
        accountgraph.detect(ev)
    # the suggested fix works
    res = accountgraph.detect(ev.assign(timestamp=ev["timestamp"].astype(str)))
    assert res.quarantine.total == 0 and res.stats["n_events"] == 3


# ---------------------------------------------------------------- nothing lost: quarantined rows, duplicates

def _assert_accounted(res, n_events_in, n_account_rows_in=0):
    s = res.stats
    assert s["n_events_in"] == n_events_in
    assert s["n_events"] + s["quarantined_events"] == n_events_in
    assert s["n_account_rows"] + s["quarantined_accounts"] == s["n_account_rows_in"] == n_account_rows_in
    rows = res.quarantined_rows()
    assert len(rows) == s["quarantined_rows"] == res.quarantine.total
    got = rows.groupby(["table", "reason"]).size().to_dict()
    assert got == {k: v for k, v in res.quarantine.counts.items()}
    assert not rows.duplicated(["table", "row"]).any()
    return rows


def _messy(ev: pd.DataFrame, rng) -> pd.DataFrame:
    """Corrupt a random share of rows in every way validation knows, and duplicate some."""
    ev = ev.copy()
    ev["timestamp"] = ev["timestamp"].astype(str).astype(object)
    ev["output_tokens"] = ev["output_tokens"].astype(object)
    n = len(ev)
    pick = lambda share: rng.random(n) < share  # noqa: E731
    ev.loc[pick(0.02), "account_id"] = " "
    ev.loc[pick(0.02), "account_id"] = None
    ev.loc[pick(0.02), "timestamp"] = None
    ev.loc[pick(0.02), "timestamp"] = "not a time"
    ev.loc[pick(0.02), "timestamp"] = "2300-01-01T00:00:00Z"
    ev.loc[pick(0.02), "ip"] = "10.0.0.999"
    ev.loc[pick(0.02), "output_tokens"] = -5
    copies = ev.sample(frac=0.05, random_state=int(rng.integers(1 << 31)))
    return pd.concat([ev, copies], ignore_index=True).sample(frac=1.0, random_state=int(rng.integers(1 << 31)))


@pytest.mark.parametrize("seed", range(6))
def test_rows_kept_plus_quarantined_equal_rows_read(planted_data, seed):
    ev, acc, _ = planted_data
    rng = np.random.default_rng(seed)
    sub = ev.sample(n=int(rng.integers(1, 3000)), random_state=seed)
    messy = _messy(sub, rng)
    accs = pd.concat([acc, acc.sample(frac=0.1, random_state=seed)], ignore_index=True)
    accs.loc[accs.sample(frac=0.05, random_state=seed + 1).index, "account_id"] = ""
    for drop in (True, False):
        res = _run(messy, accs, drop_duplicates=drop)
        rows = _assert_accounted(res, len(messy), len(accs))
        assert (rows["reason"] == "duplicate_event").sum() == (res.stats["duplicate_events"] if drop else 0)
        # the quarantined rows really are the input rows they claim to be
        evq = rows[rows["table"] == "events"]
        assert evq["account_id"].tolist() == [None if pd.isna(v) else str(v)
                                              for v in messy["account_id"].iloc[evq["row"]]]


def _run(events, accounts=None, **validation):
    """detect() with ingest options (IngestParams)."""
    return accountgraph.detect(events, accounts, ingest=validation)


@pytest.mark.parametrize("case", ["empty", "one", "two", "all_bad", "all_dup"])
def test_accounting_on_degenerate_inputs(planted_data, case):
    ev, acc, _ = planted_data
    e = {"empty": ev.head(0), "one": ev.head(1), "two": ev.head(2),
         "all_bad": ev.head(50).assign(account_id=""), "all_dup": pd.concat([ev.head(1)] * 5)}[case]
    for accounts in (None, acc):
        res = accountgraph.detect(e, accounts)
        _assert_accounted(res, len(e), 0 if accounts is None else len(acc))


def test_duplicate_events_are_dropped_and_scores_unchanged(planted_data):
    ev, acc, _ = planted_data
    once = accountgraph.detect(ev, acc)
    twice = accountgraph.detect(pd.concat([ev, ev], ignore_index=True), acc)
    assert twice.quarantine.counts == {("events", "duplicate_event"): len(ev)}
    assert twice.stats["duplicate_events"] == len(ev) and once.stats["duplicate_events"] == 0
    pd.testing.assert_frame_equal(once.clusters, twice.clusters)
    pd.testing.assert_frame_equal(once.assignments, twice.assignments)
    rows = twice.quarantined_rows()
    assert rows["row"].tolist() == list(range(len(ev), 2 * len(ev)))  # the later copy is the one left out
    # kept and counted when asked
    kept = _run(pd.concat([ev, ev], ignore_index=True), acc, drop_duplicates=False)
    assert kept.stats["n_events"] == 2 * len(ev) and kept.stats["duplicate_events"] == len(ev)
    assert kept.quarantine.total == 0


def test_rows_differing_in_one_column_are_not_duplicates(planted_data):
    ev, _, _ = planted_data
    e = pd.concat([ev.head(3), ev.head(3).assign(output_tokens=7), ev.head(3).assign(ip=None)], ignore_index=True)
    res = accountgraph.detect(e)
    assert res.stats["duplicate_events"] == 0 and res.quarantine.total == 0
    res = accountgraph.detect(pd.concat([e, e.iloc[[4]]]))
    assert res.quarantine.counts == {("events", "duplicate_event"): 1}


def test_parquet_prompts_left_on_disk_are_compared_and_returned(tmp_path, planted_data):
    ev, _, _ = planted_data
    e = ev.head(200).copy()
    e["prompt"] = [f"prompt {i % 50}" for i in range(len(e))]
    e.loc[e.index[5], "account_id"] = ""
    near = e.iloc[[10]].assign(prompt="another prompt")  # equal to row 10 but for the prompt
    exact = e.iloc[[11]]
    full = pd.concat([e, near, exact], ignore_index=True)
    full.to_parquet(tmp_path / "events.parquet")
    res = accountgraph.detect(tmp_path / "events.parquet")
    assert res.quarantine.counts == {("events", "empty_account_id"): 1, ("events", "duplicate_event"): 1}
    rows = res.quarantined_rows()
    assert rows[["row", "reason", "prompt"]].values.tolist() == [[5, "empty_account_id", "prompt 5"],
                                                                  [201, "duplicate_event", "prompt 11"]]
    _assert_accounted(res, len(full))


def test_quarantined_rows_keep_original_column_names(planted_data):
    ev, acc, _ = planted_data
    e = ev.head(5).rename(columns={"account_id": "user"})
    e.loc[e.index[0], "user"] = None
    a = acc.head(3).rename(columns={"account_id": "uid"})
    a.loc[a.index[2], "created_at"] = pd.Timestamp("1900-01-01", tz="UTC")
    res = accountgraph.detect(e, a, ingest={"columns": {"account_id": "user"}, "account_columns": {"account_id": "uid"}})
    rows = res.quarantined_rows()
    assert rows[["table", "row", "reason"]].values.tolist() == [["events", 0, "empty_account_id"],
                                                                 ["accounts", 2, "unparseable_created_at"]]
    assert {"user", "uid", "created_at", "timestamp"} <= set(rows.columns)
    assert rows["uid"].tolist() == [None, a["uid"].iloc[2]]
    assert rows["created_at"].iloc[1].startswith("1900-01-01")


# ---------------------------------------------------------------- CLI: one-line errors before work, safe outputs

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
