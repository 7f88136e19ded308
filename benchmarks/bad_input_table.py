"""Every bad-input class accountgraph handles, run through the API (and the CLI where it matters).

Writes ``benchmarks/results/bad_input.md``: one row per class with the input,
the outcome (exception class and first line of its message, CLI exit code and
its one stderr line, or the quarantine reasons) and the row accounting (read /
kept / quarantined / duplicates), computed from the result, never typed in.

    .venv/bin/python benchmarks/bad_input_table.py
"""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import accountgraph  # noqa: E402
from accountgraph._exceptions import AccountGraphError  # noqa: E402
from accountgraph.synth import generate  # noqa: E402

T0 = pd.Timestamp("2024-03-01", tz="UTC")
CLI = [sys.executable, "-m", "accountgraph.cli"]


def _base(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "account_id": [f"acc{i % 10}" for i in range(n)],
        "timestamp": T0 + pd.to_timedelta(rng.integers(0, 86_400 * 7, n), unit="s"),
        "ip": [f"10.0.{i % 3}.{i % 7 + 1}" for i in range(n)],
        "prompt": [f"prompt {i % 4}" for i in range(n)],
        "output_tokens": rng.integers(1, 500, n),
    })


def _accounts() -> pd.DataFrame:
    return pd.DataFrame({"account_id": [f"acc{i}" for i in range(10)],
                         "created_at": [T0 - pd.Timedelta(days=i) for i in range(10)],
                         "email_domain": ["Example.com"] * 10})


def _csv(tmp: Path, name: str, data: bytes) -> Path:
    p = tmp / name
    p.write_bytes(data)
    return p


def _rows_read(x) -> int | str:
    if x is None:
        return 0
    if isinstance(x, (str, Path)):
        p = Path(x)
        if p.suffix == ".parquet":
            return pq.ParquetFile(p).metadata.num_rows
        return "?"
    return x.num_rows if isinstance(x, pa.Table) else len(x)


def api_case(events, accounts=None, **kw) -> dict:
    """Run detect and describe the outcome and the row accounting."""
    try:
        res = accountgraph.detect(events, accounts, **kw)
    except AccountGraphError as exc:
        return {"outcome": f"`{type(exc).__name__}`: {str(exc).splitlines()[0]}"}
    except FileNotFoundError as exc:  # documented for paths (Python's own convention), not a defect
        return {"outcome": f"`FileNotFoundError` (documented): {exc}"}
    except Exception as exc:  # noqa: BLE001 - recorded as a defect, not hidden
        return {"outcome": f"**UNEXPECTED** `{type(exc).__name__}`: {str(exc).splitlines()[0] if str(exc) else ''}"}
    s = res.stats
    reasons = res.quarantine.to_pandas()
    reason_text = ", ".join(f"{t}.{r}={n}" for t, r, n in reasons.itertuples(index=False)) or "none"
    n_flag = int(res.assignments["flagged"].sum())
    acc_ok = (s["n_events"] + s["quarantined_events"] == s["n_events_in"]
              and s["n_account_rows"] + s["quarantined_accounts"] == s["n_account_rows_in"]
              and len(res.quarantined_rows()) == res.quarantine.total)
    return {"outcome": f"returned; {n_flag} flagged; quarantined: {reason_text}",
            "events": f"{s['n_events_in']} / {s['n_events']} / {s['quarantined_events']} / {s['duplicate_events']}",
            "accounts": f"{s['n_account_rows_in']} / {s['n_account_rows']} / {s['quarantined_accounts']}",
            "balanced": "yes" if acc_ok else "**NO**"}


def cli_case(args: list[str]) -> dict:
    p = subprocess.run(CLI + args, capture_output=True, text=True, cwd=ROOT)
    err = [ln for ln in p.stderr.strip().splitlines() if ln.startswith("accountgraph:")]
    tb = "Traceback" in p.stderr
    first = err[-1] if err else (p.stdout.strip().splitlines() or [""])[-1]
    return {"outcome": f"exit {p.returncode}{' **with traceback**' if tb else ''}; {first[:220]}"}


def _overwrite_case(events: Path, out_dir: Path) -> dict:
    r = cli_case(["detect", str(events), "--out", str(out_dir), "--overwrite", "--no-progress"])
    stale = (out_dir / "cluster_signals.parquet")
    left = stale.exists() and stale.read_bytes() == b"stale"
    r["outcome"] += f"; stale file of the earlier run left: {'**yes**' if left else 'no'}"
    return r


def cases(tmp: Path) -> list[tuple[str, str, Callable[[], dict]]]:
    ev, acc = _base(), _accounts()
    latin = "account_id,timestamp,prompt\nacc1,2024-03-01T00:00:00Z,caf\xe9\nacc2,2024-03-01T00:01:00Z,plain\n"
    lat = _csv(tmp, "latin1.csv", latin.encode("latin-1"))
    empty = _csv(tmp, "empty.csv", b"")
    header = _csv(tmp, "header.csv", b"account_id,timestamp\n")
    ragged = _csv(tmp, "ragged.csv", b"account_id,timestamp\nacc1,2024-03-01,extra\n")
    mixed_csv = _csv(tmp, "mixed.csv", b"account_id,timestamp\nacc1,2024-03-01T00:00:00Z\nacc2,1709251260\n"
                     b"acc3,not a time\n")
    bad_utf8 = tmp / "bad_utf8.parquet"
    pq.write_table(pa.table({"account_id": pa.array([b"acc1", b"\xff\xfeacc"], pa.binary()),
                             "timestamp": pa.array([T0.value // 1000] * 2, pa.timestamp("us", "UTC")),
                             "prompt": pa.array([b"ok", b"caf\xe9"], pa.binary())}), bad_utf8)
    good_pq = tmp / "events.parquet"
    ev.to_parquet(good_pq)
    out_dir = tmp / "earlier_run"
    out_dir.mkdir()
    (out_dir / "cluster_signals.parquet").write_bytes(b"stale")
    out_file = tmp / "a_file"
    out_file.write_text("x")
    n = len(ev)
    tiny = generate("tiny", seed=0)
    tiny_ev = tiny.events.to_pandas()

    def ts_as(values) -> pd.DataFrame:
        return ev.head(len(values)).assign(timestamp=values)

    return [
        ("missing required column", "events without `timestamp`", lambda: api_case(ev.drop(columns="timestamp"))),
        ("missing accounts column", "accounts without `account_id`",
         lambda: api_case(ev, acc.drop(columns="account_id"))),
        ("column map to a missing column", "`ingest={'columns': {'timestamp': 'ts'}}`",
         lambda: api_case(ev, ingest={"columns": {"timestamp": "ts"}})),
        ("garbage timestamps", "every 3rd timestamp `'not a time'`",
         lambda: api_case(ev.assign(timestamp=[("not a time" if i % 3 == 0 else t.isoformat())
                                               for i, t in enumerate(ev["timestamp"])]))),
        ("mixed text timestamps", "ISO, epoch-second digits and `1e400` in one text column",
         lambda: api_case(ts_as(["2024-03-01T00:00:00Z", "1709251260", "1709251260.5", "1e400"]))),
        ("null / out-of-range timestamps", "None, year 2300, year 1900",
         lambda: api_case(ts_as([None, "2300-01-01", "1900-01-01", T0.isoformat()]))),
        ("overflowing integer epochs", "int64 seconds 2**53+1, 2**63-1, -2**63, one good",
         lambda: api_case(ts_as(pd.array([2**53 + 1, 2**63 - 1, -(2**63), 1_709_251_200], "int64")))),
        ("epoch milliseconds as seconds", "int64 ms values (read as seconds: year ~56000)",
         lambda: api_case(ts_as(pd.array([1_709_251_200_000] * 3, "int64")))),
        ("sub-microsecond ns timestamps", "timestamp[ns] with 789 ns remainders",
         lambda: api_case(pa.table({"account_id": ["a", "b"], "timestamp": pa.array(
             [1_709_251_200_123_456_789] * 2, pa.int64()).cast(pa.timestamp("ns", "UTC"))}))),
        ("s/ms/date timestamps overflowing us", "timestamp[s] 2**62, date32 2**31-1",
         lambda: api_case(pa.table({"account_id": ["a", "b", "c"], "timestamp": pa.array(
             [2**62, 1_709_251_200, -(2**62)], pa.int64()).cast(pa.timestamp("s"))}),
             pa.table({"account_id": ["a", "b"], "created_at": pa.array([2**31 - 1, 19_700],
                                                                         pa.int32()).cast(pa.date32())}))),
        ("timestamp of unusable type", "timestamp column of booleans", lambda: api_case(ts_as([True, False]))),
        ("malformed IPs", "`10.0.0.999`, `1.2.3`, `010.0.0.1`, `fe80::1%eth0`",
         lambda: api_case(ev.head(5).assign(ip=["10.0.0.999", "1.2.3", "010.0.0.1", "fe80::1%eth0", "::1"]))),
        ("empty ids", "account_id `''`, `' '`, None",
         lambda: api_case(ev.head(4).assign(account_id=["", " ", None, "acc1"]))),
        ("float account ids", "account_id float64", lambda: api_case(ev.assign(account_id=1.5))),
        ("bad output_tokens", "-5, 2.5, 2**53, `'x'` (text column)",
         lambda: api_case(ev.head(5).assign(output_tokens=["-5", "2.5", str(2**53), "x", "7"]))),
        ("output_tokens >= 2**53 (uint64)", "uint64 2**64-1",
         lambda: api_case(pa.table({"account_id": ["a", "b"], "timestamp": [1_709_251_200] * 2,
                                    "output_tokens": pa.array([2**64 - 1, 3], pa.uint64())}))),
        ("all-null prompt column", "prompt all None",
         lambda: api_case(ev.assign(prompt=pd.Series([None] * n, dtype=object)))),
        ("huge prompt", "one 5 MB prompt", lambda: api_case(ev.assign(prompt=["x" * 5_000_000] + ["p"] * (n - 1)))),
        ("hostile strings", "`<script>`, NUL, RTL override in ids and prompts",
         lambda: api_case(ev.head(3).assign(account_id=["<script>alert(1)</script>", "a\x00b", "\u202eevil"],
                                            prompt=["<script>x</script>", "\x00", "\u202e"]))),
        ("invalid UTF-8 in Parquet", "binary account_id/prompt with 0xFF bytes", lambda: api_case(str(bad_utf8))),
        ("Latin-1 CSV (default UTF-8)", "`caf\\xe9` in a CSV read as UTF-8", lambda: api_case(str(lat))),
        ("Latin-1 CSV with encoding", "`ingest={'encoding': 'latin-1'}`",
         lambda: api_case(str(lat), ingest={"encoding": "latin-1"})),
        ("Latin-1 CSV via CLI", "`detect latin1.csv --encoding latin-1`",
         lambda: cli_case(["detect", str(lat), "--out", str(tmp / "cli_lat"), "--encoding", "latin-1",
                           "--no-progress"])),
        ("unknown encoding name", "`encoding='klingon'`", lambda: api_case(str(lat), ingest={"encoding": "klingon"})),
        ("0-byte CSV", "empty file", lambda: api_case(str(empty))),
        ("0-byte CSV via CLI", "`detect empty.csv`",
         lambda: cli_case(["detect", str(empty), "--out", str(tmp / "cli_empty"), "--no-progress"])),
        ("header-only CSV", "`account_id,timestamp` and no rows", lambda: api_case(str(header))),
        ("ragged CSV", "a row with an extra field", lambda: api_case(str(ragged))),
        ("CSV mixing ISO and epoch digits", "ISO, digits, garbage in one CSV column", lambda: api_case(str(mixed_csv))),
        ("unknown file suffix", "`events.txt` (exists)", lambda: api_case(str(_csv(tmp, "events.txt", b"a,b\n")))),
        ("missing file", "`nope.parquet` (API)", lambda: api_case(str(tmp / "nope.parquet"))),
        ("missing file via CLI", "`detect nope.parquet`",
         lambda: cli_case(["detect", str(tmp / "nope.parquet"), "--out", str(tmp / "cli_nope"), "--no-progress"])),
        ("mixed-type pandas object column", "timestamp object column of ints and ISO strings",
         lambda: api_case(ts_as(pd.Series([1_709_251_200, "2024-03-01T00:00:00Z"], dtype=object)))),
        ("unsupported input object", "a list of dicts", lambda: api_case([{"account_id": "a"}])),
        ("duplicated column names", "pandas frame with two `ip` columns",
         lambda: api_case(pd.concat([ev, ev[["ip"]]], axis=1))),
        ("ids in a named pandas index", "`events.set_index('account_id')`",
         lambda: api_case(ev.set_index("account_id"))),
        ("events with no rows", "0 events, no accounts", lambda: api_case(ev.head(0))),
        ("events with no rows + accounts", "0 events, 10 accounts", lambda: api_case(ev.head(0), acc)),
        ("one event row", "a single row", lambda: api_case(ev.head(1))),
        ("one or two accounts with prompts", "tiny world cut to 2 accounts",
         lambda: api_case(tiny_ev[tiny_ev["account_id"].isin(sorted(tiny_ev["account_id"].unique())[:2])])),
        ("duplicated events", "every event row twice", lambda: api_case(pd.concat([ev, ev]), acc)),
        ("duplicated events kept", "every row twice, `drop_duplicates=False`",
         lambda: api_case(pd.concat([ev, ev]), acc, ingest={"drop_duplicates": False})),
        ("duplicated account ids", "accounts table twice, one id blank",
         lambda: api_case(ev, pd.concat([acc, acc.assign(account_id=[""] + list(acc["account_id"][1:]))]))),
        ("unparseable created_at", "created_at `'soon'` and year 1900",
         lambda: api_case(ev, acc.assign(created_at=["soon", "1900-01-01"] + [T0.isoformat()] * 8))),
        ("bad parameter: columns=5", "`ingest={'columns': 5}`", lambda: api_case(ev, ingest={"columns": 5})),
        ("bad parameter: scoring='x'", "`scoring='x'`", lambda: api_case(ev, scoring="x")),
        ("bad parameter: extra_signals='ip'", "a string, not a list",
         lambda: api_case(ev, ingest={"extra_signals": "ip"})),
        ("bad parameter: progress='yes'", "`progress='yes'`", lambda: api_case(ev, progress="yes")),
        ("bad parameter: seed=True", "`seed=True`", lambda: api_case(ev, seed=True)),
        ("bad parameter: threshold=2", "`threshold=2`", lambda: api_case(ev, threshold=2)),
        ("detect --out into a non-empty dir", "dir holding an earlier run",
         lambda: cli_case(["detect", str(good_pq), "--out", str(out_dir), "--no-progress"])),
        ("detect --out onto a file", "an existing regular file",
         lambda: cli_case(["detect", str(good_pq), "--out", str(out_file), "--no-progress"])),
        ("detect --out with --overwrite", "dir holding an earlier run, `--overwrite`",
         lambda: _overwrite_case(good_pq, out_dir)),
    ]


def main() -> None:
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    lines = ["# Bad input: every class we handle, and what happens (issue 12)", "",
             f"Command: `.venv/bin/python benchmarks/bad_input_table.py` at git revision {rev}. "
             "Accounting columns are computed from `result.stats` (events: read / kept / quarantined / "
             "duplicates; accounts: read / kept / quarantined); 'balanced' checks kept + quarantined = read for "
             "both tables and `len(quarantined_rows()) == quarantine.total`. CLI rows run "
             "`python -m accountgraph.cli` in a subprocess.", "",
             "| class | input | outcome | events r/k/q/dup | accounts r/k/q | balanced |",
             "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as d:
        for name, desc, fn in cases(Path(d)):
            r = fn()
            cell = r["outcome"].replace(d, "<tmp>").replace("|", "\\|").replace("\n", " ")
            desc = desc.replace("|", "\\|")
            lines.append(f"| {name} | {desc} | {cell} | {r.get('events', '')} | "
                         f"{r.get('accounts', '')} | {r.get('balanced', '')} |")
            print(lines[-1], flush=True)
    out = ROOT / "benchmarks" / "results" / "bad_input.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
