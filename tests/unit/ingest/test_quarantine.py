"""Nothing lost in ingest: rows kept plus rows quarantined equal rows read; duplicate events; quarantined_rows()."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import accountgraph


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
