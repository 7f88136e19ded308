"""Pseudonymised results: no raw identifier in any output, detection unchanged, keys checked."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd
import pytest

import accountgraph
from accountgraph import InvalidParameterError, hash_indicator
from tests.hostile import distinctive_scenario

KEY = "test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def scenario():
    ev, acc, raw = distinctive_scenario()
    # One quarantined row carrying distinctive identifiers too (a malformed IP).
    bad = ev.iloc[[0]].copy()
    bad["ip"] = "999.1.2.3"
    raw["ip"] = raw["ip"] + ["999.1.2.3"]
    ev = pd.concat([ev, bad], ignore_index=True)
    res = accountgraph.detect(ev, acc, seed=0, progress=False)
    return ev, acc, raw, res, res.pseudonymized(KEY)


def _outputs(res, tmp_path) -> str:
    """Every output of a result as one text: tables as CSV, explain, graphml, report, summary."""
    parts = [res.summary(20), repr(res), res._repr_html_()]
    for t in ("assignments", "clusters", "cluster_signals"):
        parts.append(res.to_pandas(t).to_csv())
    parts.append(res.top(20).to_csv())
    parts.append(res.quarantined_rows().to_csv())
    for cid in res.clusters["cluster_id"].head(5):
        ex = res.explain(int(cid))
        parts += [str(ex), ex._repr_html_(), repr(ex.to_dict())]
        parts += [ex.to_pandas(p).to_csv() for p in ex._PARTS]
        parts.append(repr(sorted(map(str, ex.to_networkx().nodes(data=True)))))
        parts.append(repr(ex.to_igraph().vs["name"]))
    parts.append(repr(list(res.to_networkx().nodes(data=True))))
    parts.append(res.to_graphml(tmp_path / "g.graphml").read_text())
    parts.append(res.report(tmp_path / "r.html", top=3).read_text())
    return "\n".join(parts)


def test_hash_indicator_is_hmac_sha256_with_type_tag():
    mac = hmac.new(KEY.encode(), b"ip\x0010.0.0.1", hashlib.sha256).hexdigest()[:16]
    assert hash_indicator("10.0.0.1", "ip", KEY) == "ip_" + mac
    assert hash_indicator(" 10.0.0.1 ", "ip", KEY) == "ip_" + mac
    assert hash_indicator("2001:DB8::0:1", "ip", KEY) == hash_indicator("2001:db8::1", "ip", KEY)
    assert hash_indicator("Mail.Example", "email_domain", KEY) == hash_indicator("mail.example", "email_domain", KEY)
    assert hash_indicator("10.1.2.3", "ip_net", KEY) == hash_indicator("10.1.2.0/24", "ip_net", KEY)
    v6net = hash_indicator("2001:db8:1:2::1", "ip_net", KEY)
    assert v6net == hash_indicator("2001:DB8:1::/48", "ip_net", KEY) == hash_indicator("2001:db8:1::/48", "ip_net", KEY)
    assert v6net == "net_" + hmac.new(KEY.encode(), b"ip_net\x002001:db8:1::/48", hashlib.sha256).hexdigest()[:16]
    # The type tag separates kinds with the same text; another key gives another token.
    assert hash_indicator("x1", "device", KEY)[4:] != hash_indicator("x1", "payment", KEY)[4:]
    assert hash_indicator("x1", "device", KEY) != hash_indicator("x1", "device", KEY + "!")
    assert hash_indicator(1234, "account", KEY) == hash_indicator("1234", "account", KEY)


@pytest.mark.parametrize("bad", ["short", b"0123456789abcde", 12345, True])
def test_bad_keys_rejected(bad, scenario):
    with pytest.raises(InvalidParameterError):
        hash_indicator("v", "ip", bad)
    with pytest.raises(InvalidParameterError):
        scenario[3].pseudonymized(bad)


def test_unknown_kind_and_missing_key(scenario, monkeypatch):
    with pytest.raises(InvalidParameterError, match="kind"):
        hash_indicator("v", "nope", KEY)
    monkeypatch.delenv("ACCOUNTGRAPH_PSEUDONYM_KEY", raising=False)
    with pytest.raises(InvalidParameterError, match="ACCOUNTGRAPH_PSEUDONYM_KEY"):
        scenario[3].pseudonymized()
    with pytest.raises(InvalidParameterError, match="ACCOUNTGRAPH_PSEUDONYM_KEY"):
        scenario[3].indicators(0)


def test_no_raw_identifier_in_any_output(scenario, tmp_path):
    _, _, raw, res, ps = scenario
    text = _outputs(ps, tmp_path)
    for kind, values in raw.items():
        leaked = [v for v in values if v in text]
        assert not leaked, f"raw {kind} values in pseudonymised outputs: {leaked[:5]}"
    # Control: the raw result's outputs do hold them, so the grep can find a leak.
    (tmp_path / "raw").mkdir()
    raw_text = _outputs(res, tmp_path / "raw")
    for kind in ("account", "ip", "device", "payment", "email_domain"):
        assert any(v in raw_text for v in raw[kind]), kind
    assert "ip_" in text and "acct_" in text and "pay_" in text and "dev_" in text and "dom_" in text


def test_detection_identical_after_mapping_ids(scenario):
    _, _, _, res, ps = scenario
    mapping = {a: hash_indicator(a, "account", KEY) for a in res.assignments["account_id"]}
    a = res.assignments.assign(account_id=res.assignments["account_id"].map(mapping))
    a = a.astype({"account_id": object}).sort_values("account_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, ps.assignments)
    pd.testing.assert_frame_equal(res.clusters, ps.clusters)
    cs = res.cluster_signals
    assert (cs[["cluster_id", "signal_id", "accounts_in_cluster", "accounts_total"]].to_numpy()
            == ps.cluster_signals[["cluster_id", "signal_id", "accounts_in_cluster", "accounts_total"]].to_numpy()).all()
    np.testing.assert_array_equal(cs["weight"], ps.cluster_signals["weight"])
    # Every signal value maps to hash_indicator of its raw value.
    for t, v, pv in zip(cs["signal_type"], cs["value"], ps.cluster_signals["value"]):
        assert pv == (v if t == "template" else hash_indicator(v, t, KEY))
    # Same dossier numbers.
    e0, p0 = res.explain(0), ps.explain(0)
    assert pd.Series(e0.facts, dtype=object).equals(pd.Series(p0.facts, dtype=object))
    pd.testing.assert_frame_equal(e0.contributions, p0.contributions)


def test_detect_parameter_and_env_var(scenario, monkeypatch):
    ev, acc, _, res, ps = scenario
    monkeypatch.setenv("ACCOUNTGRAPH_PSEUDONYM_KEY", KEY)
    via_env = accountgraph.detect(ev, acc, seed=0, progress=False)
    assert via_env.is_pseudonymized
    pd.testing.assert_frame_equal(via_env.assignments, ps.assignments)
    off = accountgraph.detect(ev, acc, seed=0, progress=False, pseudonymize=False)
    assert not off.is_pseudonymized
    pd.testing.assert_frame_equal(off.assignments, res.assignments)
    det = accountgraph.RingDetector(pseudonymize=KEY)
    assert KEY not in repr(det)
    with pytest.raises(InvalidParameterError):  # checked before any input is read
        accountgraph.RingDetector(pseudonymize="short").fit("/no/such/events.parquet")


def test_prompts_withheld_by_default():
    from tests.hostile import hostile_scenario

    ev, acc, _ = hostile_scenario()
    res = accountgraph.detect(ev, acc, seed=0, progress=False)
    assert res.templates["representative"].notna().any()
    ps = res.pseudonymized(KEY)
    assert set(ps.templates["representative"].dropna()) == {"[prompt withheld]"}
    assert set(ps.explain(0).templates["representative"].dropna()) <= {"[prompt withheld]"}
    q = ps.quarantined_rows()
    assert set(q["prompt"].dropna()) == {"[prompt withheld]"}
    kept = res.pseudonymized(KEY, include_prompts=True)
    assert kept.templates["representative"].equals(res.templates["representative"])


def test_plot_labels_pseudonymised(scenario):
    from matplotlib.figure import Figure

    _, _, raw, res, ps = scenario
    labels = []
    for r in (res, ps):
        fig = r.explain(0).plot(fig=Figure(figsize=(15, 12)))
        labels.append(" ".join(t.get_text() for ax in fig.axes for t in ax.get_yticklabels()))
    ips = [v for v in raw["ip"] if v in labels[0]]
    assert ips, "control: the raw dossier's signal labels show raw IPs"
    assert not [v for v in raw["ip"] + raw["device"] + raw["payment"] if v in labels[1]]
    assert "ip_" in labels[1]


def test_report_can_leave_prompts_out_of_a_raw_result(tmp_path):
    from tests.hostile import hostile_scenario

    ev, acc, _ = hostile_scenario()
    res = accountgraph.detect(ev, acc, seed=0, progress=False)
    rep = res.explain(0).templates["representative"].dropna()
    assert len(rep)
    snippet = "You are a helpful agent."
    assert any(snippet in r for r in rep)
    shown = res.report(tmp_path / "a.html", top=1).read_text(encoding="utf-8")
    hidden = res.report(tmp_path / "b.html", top=1, include_prompts=False).read_text(encoding="utf-8")
    assert snippet in shown and snippet not in hidden and "[prompt withheld]" in hidden
    # The result itself keeps its prompts.
    assert res.explain(0).templates["representative"].dropna().tolist() == rep.tolist()
