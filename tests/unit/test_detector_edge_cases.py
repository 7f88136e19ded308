"""detect() end to end on degenerate inputs: no accounts table, one to three accounts, no events."""

from __future__ import annotations

import pytest

import accountgraph
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
