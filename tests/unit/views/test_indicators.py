"""Shareable ring indicators: a partner with the same key matches them, STIX 2.1 valid and deterministic."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

import accountgraph
from accountgraph import InvalidParameterError, hash_indicator
from tests.hostile import distinctive_scenario

KEY = b"partner-shared-key-0123456789"
KINDS = {"ip", "ip_net", "payment", "device", "email_domain"}


@pytest.fixture(scope="module")
def world():
    ev, acc, raw = distinctive_scenario()
    res = accountgraph.detect(ev, acc, seed=0, progress=False)
    return ev, acc, res


def _partner_tokens(ev: pd.DataFrame, acc: pd.DataFrame, ring_ids: set[str], key) -> set[str]:
    """What a partner computes from its own raw logs (here: the ring's raw rows) with hash_indicator."""
    e = ev[ev["account_id"].isin(ring_ids)]
    a = acc[acc["account_id"].isin(ring_ids)]
    toks = {hash_indicator(v, "ip", key) for v in e["ip"].unique()}
    toks |= {hash_indicator(v, "ip_net", key) for v in e["ip"].unique()}
    toks |= {hash_indicator(v, "payment", key) for v in e["payment_id"].unique()}
    toks |= {hash_indicator(v, "device", key) for v in e["device_id"].unique()}
    toks |= {hash_indicator(v, "email_domain", key) for v in a["email_domain"].unique()}
    return toks


def test_indicator_table(world):
    ev, acc, res = world
    ind = res.indicators(0, key=KEY)
    t = ind.to_pandas()
    assert len(t) and set(t["signal_type"]) <= KINDS and "template" not in set(t["signal_type"])
    cs = res.cluster_signals[(res.cluster_signals["cluster_id"] == 0) & (res.cluster_signals["signal_type"] != "template")]
    assert t["accounts_in_ring"].tolist() == cs["accounts_in_cluster"].tolist()
    assert t["accounts_total"].tolist() == cs["accounts_total"].tolist()
    assert (t["accounts_total"] >= t["accounts_in_ring"]).all()
    ring = set(res.assignments.loc[res.assignments["cluster_id"] == 0, "account_id"])
    e = ev[ev["account_id"].isin(ring)]
    # Events and first/last seen of one IP, recomputed from the raw events.
    ip0 = cs[cs["signal_type"] == "ip"]["value"].iloc[0]
    row = t[t["indicator"] == hash_indicator(ip0, "ip", KEY)].iloc[0]
    sharing = e[e["ip"] == ip0]
    assert row["events"] == len(sharing)
    span = e[e["account_id"].isin(set(sharing["account_id"]))]["timestamp"]
    assert row["first_seen"] == span.min() and row["last_seen"] == span.max()
    assert (t.loc[t["signal_type"] == "email_domain", "events"] == 0).all()
    assert ind.to_arrow().num_rows == len(t)


def test_partner_matches_every_indicator_and_other_key_none(world):
    ev, acc, res = world
    ring = set(res.assignments.loc[res.assignments["cluster_id"] == 0, "account_id"])
    bundle = res.indicators(0, key=KEY).to_stix()
    patterns = [o["pattern"] for o in bundle["objects"] if o["type"] == "indicator"]
    mine = _partner_tokens(ev, acc, ring, KEY)
    assert patterns and all(p.split("'")[1] in mine for p in patterns)
    other = _partner_tokens(ev, acc, ring, KEY + b"x")
    assert not any(p.split("'")[1] in other for p in patterns)


def test_stix_bundle_parses_and_is_deterministic(world, tmp_path):
    stix2 = pytest.importorskip("stix2")
    from stix2patterns.validator import run_validator

    _, _, res = world
    ind = res.indicators(0, key=KEY)
    bundle = ind.to_stix()
    parsed = stix2.parse(bundle, allow_custom=True)
    kinds = [o["type"] for o in parsed.objects]
    assert kinds[0] == "identity" and kinds[-1] == "grouping" and kinds.count("indicator") == len(ind)
    grouping = parsed.objects[-1]
    assert set(grouping.object_refs) == {o.id for o in parsed.objects if o.type == "indicator"}
    for o in bundle["objects"]:
        if o["type"] == "indicator":
            assert run_validator(o["pattern"], stix_version="2.1") == [], o["pattern"]
            assert o["pattern_type"] == "stix"
    p1 = ind.write_stix(tmp_path / "a.json")
    again = accountgraph.detect(*world[:2], seed=0, progress=False).indicators(0, key=KEY)
    p2 = again.write_stix(tmp_path / "b.json")
    assert p1.read_bytes() == p2.read_bytes()
    assert json.loads(p1.read_text()) == bundle
    with pytest.raises(accountgraph.OutputExistsError):
        ind.write_stix(p1)


def test_no_raw_value_in_bundle_or_parquet(world, tmp_path):
    ev, acc, res = world
    ind = res.indicators(0, key=KEY)
    path = ind.to_parquet(tmp_path / "ind.parquet")
    text = json.dumps(ind.to_stix()) + pq.read_table(path).to_pandas().to_csv()
    ring = set(res.assignments.loc[res.assignments["cluster_id"] == 0, "account_id"])
    e = ev[ev["account_id"].isin(ring)]
    raws = set(e["ip"]) | set(e["payment_id"]) | set(e["device_id"]) | ring | set(acc["email_domain"])
    assert not [r for r in raws if r in text]
    nets = {".".join(ip.split(".")[:3]) + ".0/24" for ip in e["ip"]}
    assert not [n for n in nets if n in text]


def test_pseudonymised_result_keys(world, monkeypatch):
    _, _, res = world
    ps = res.pseudonymized(KEY)
    assert ps.indicators(0).to_pandas()["indicator"].tolist() == res.indicators(0, key=KEY).to_pandas()["indicator"].tolist()
    with pytest.raises(InvalidParameterError, match="another key"):
        ps.indicators(0, key=KEY + b"other")
    with pytest.raises(InvalidParameterError, match="no cluster"):
        res.indicators(10**6, key=KEY)
    monkeypatch.setenv("ACCOUNTGRAPH_PSEUDONYM_KEY", KEY.decode())
    assert res.indicators(0).to_pandas().equals(res.indicators(0, key=KEY).to_pandas())


def test_stix_needs_evidence():
    ev, acc, _ = distinctive_scenario()
    res = accountgraph.detect(ev, acc, seed=0, progress=False, evidence_clusters=0)
    ind = res.indicators(0, key=KEY)
    assert ind.to_pandas()["first_seen"].isna().all()
    with pytest.raises(InvalidParameterError, match="evidence_clusters"):
        ind.to_stix()
