"""Reading inputs (ingest/_io.py): CSV files, text encodings, undecodable rows, mixed-type columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import accountgraph
import pyarrow as pa
from accountgraph import InvalidParameterError, SchemaError
from accountgraph.ingest._io import UNDECODABLE_COLUMN, _invalid_utf8, latin1_to_utf8, to_arrow


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
