"""The Spark engine (``accountgraph.spark``) against the local engine, in ``local[2]`` mode.

One SparkSession for the module (two cores, two shuffle partitions, UI off). Each scenario runs
through both engines and every table and count must be equal: the Spark engine makes the local
engine's calls per row batch, per component and per cluster batch, and reproduces the rest
(duplicates, codes, signal ids, the pair budget, sums in scipy's order, components, attachment)
exactly. Without pyspark these tests skip, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import accountgraph
from tests.conftest import planted

try:
    import pyspark  # noqa: F401
except ImportError:  # pragma: no cover - CI installs pyspark through the [test] extra
    if os.environ.get("CI") == "true":
        raise
    pytest.skip("pyspark is not installed (pip install 'accountgraph[spark]')", allow_module_level=True)

from accountgraph import spark as agspark  # noqa: E402
from accountgraph.synth import generate  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    from accountgraph.engines.spark import spark_session

    # Small data: a 1.5 GiB heap is plenty and keeps the test run light on a shared machine.
    s = spark_session("local[2]", shuffle_partitions=2, extra={"spark.driver.memory": "1536m"})
    yield s
    s.stop()


def assert_same(loc, sr, *, exact_scores=True):
    """Every table and count of the Spark result equals the local one."""
    a = sr.to_pandas("assignments")
    la = loc.assignments
    assert a["account_id"].tolist() == la["account_id"].tolist()
    assert (a["cluster_id"].to_numpy() == la["cluster_id"].to_numpy()).all()
    assert (a["flagged"].to_numpy() == la["flagged"].to_numpy()).all()
    tol = 0 if exact_scores else 1e-9
    np.testing.assert_allclose(a["ring_score"].to_numpy(), la["ring_score"].to_numpy(), rtol=0, atol=tol)
    np.testing.assert_allclose(a["member_score"].to_numpy(), la["member_score"].to_numpy(), rtol=0, atol=tol)
    c, lc = sr.clusters, loc.clusters
    assert c.columns.tolist() == lc.columns.tolist() and len(c) == len(lc)
    num = lc.select_dtypes("number").columns
    np.testing.assert_allclose(c[num].to_numpy(float), lc[num].to_numpy(float), rtol=0, atol=tol, equal_nan=True)
    assert (c["flagged"].to_numpy() == lc["flagged"].to_numpy()).all() and (c["missing"] == lc["missing"]).all()
    s, ls = sr.to_pandas("cluster_signals"), loc.cluster_signals
    assert s.shape == ls.shape
    assert (s.drop(columns="weight").fillna(-1).to_numpy() == ls.drop(columns="weight").fillna(-1).to_numpy()).all()
    np.testing.assert_allclose(s["weight"].to_numpy(float), ls["weight"].to_numpy(float), rtol=0, atol=0)
    assert sr.quarantine.counts == loc.quarantine.counts
    for k in ("n_events_in", "n_events", "n_accounts", "n_account_rows_in", "n_account_rows", "duplicate_events",
              "n_signals", "n_incidences", "n_edges", "n_pairs", "hub_cap", "n_hub_signals", "n_clusters",
              "n_detached", "n_attached", "n_flagged_accounts", "n_flagged_clusters", "quarantined_rows", "type_caps"):
        assert sr.stats[k] == loc.stats[k], k


def with_bad_rows(ds) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tiny world plus every kind of bad row and exact copies (events and accounts)."""
    ev = ds.events.to_pandas()
    ac = ds.accounts.to_pandas()
    bad = ev.head(8).copy()
    bad.loc[bad.index[0], "account_id"] = "  "
    bad["timestamp"] = [str(t) for t in bad["timestamp"]]
    bad.loc[bad.index[1], "timestamp"] = "not a time"
    bad.loc[bad.index[2], "timestamp"] = "1970-01-02T00:00:00Z"
    bad.loc[bad.index[3], "ip"] = "300.1.2.3"
    bad.loc[bad.index[4], "output_tokens"] = -5
    ev = pd.concat([ev, bad, ev.iloc[10:40]], ignore_index=True)
    ev["timestamp"] = [str(t) for t in ev["timestamp"]]
    ac = pd.concat([ac, ac.head(3), ac.head(1).assign(account_id="")], ignore_index=True)
    return ev, ac


@pytest.fixture(scope="module")
def tiny_runs(spark):
    ev, ac = with_bad_rows(generate("tiny", seed=0))
    return ev, ac, agspark.detect(spark.createDataFrame(ev), spark.createDataFrame(ac), seed=0)


def test_tiny_with_bad_rows_equals_the_local_engine(spark, tiny_runs):
    ev, ac, sr = tiny_runs
    loc = accountgraph.detect(ev, ac, seed=0)
    assert sr.quarantine.total >= 8 and sr.stats["duplicate_events"] == 33  # 30 copies + 3 unchanged rows of `bad`
    assert sr.stats["templates"] == loc.stats["templates"]
    assert_same(loc, sr)


def test_quarantine_counts_equal_the_local_engine(tiny_runs):
    ev, ac, sr = tiny_runs
    loc = accountgraph.detect(ev, ac, seed=0)
    assert sr.quarantine.counts == loc.quarantine.counts
    assert {r for _, r in sr.quarantine.counts} >= {"empty_account_id", "unparseable_timestamp", "malformed_ip",
                                                    "timestamp_out_of_range", "bad_output_tokens", "duplicate_event",
                                                    "duplicate_account_id"}


def test_the_equality_check_can_fail(tiny_runs):
    """Negative control: another seed (Leiden, sampling, MinHash) gives another result, and ``assert_same`` notices."""
    ev, ac, sr = tiny_runs
    with pytest.raises(AssertionError):
        assert_same(accountgraph.detect(ev, ac, seed=7), sr)


def test_hub_signals(spark):
    ev, ac, _ = planted(seed=3, hub_everyone=True)
    sr = agspark.detect(spark.createDataFrame(ev), spark.createDataFrame(ac), seed=0)
    assert sr.stats["n_hub_signals"] >= 2  # the shared IP and SDK everyone used
    assert_same(accountgraph.detect(ev, ac, seed=0), sr)
    assert sr.stats["n_flagged_accounts"] >= 20


def test_over_budget_signals_are_sampled_the_same_way(spark):
    ds = generate("tiny", seed=1)
    kw = {"graph": {"max_pairs": 3_000}}
    sr = agspark.detect(spark.createDataFrame(ds.events.to_pandas()), spark.createDataFrame(ds.accounts.to_pandas()),
                        seed=2, **kw)
    loc = accountgraph.detect(ds.events, ds.accounts, seed=2, **kw)
    sampled = sr.to_pandas("cluster_signals")["status"].eq("sampled").sum()
    assert sampled > 0 and sr.stats["n_pairs"] > 3_000
    assert_same(loc, sr, exact_scores=False)


def test_camouflage(spark):
    ds = generate("camouflage", seed=0, scale=0.02)
    sr = agspark.detect(spark.createDataFrame(ds.events.to_pandas()), spark.createDataFrame(ds.accounts.to_pandas()),
                        seed=0)
    assert_same(accountgraph.detect(ds.events, ds.accounts, seed=0), sr)
    assert sr.stats["n_flagged_accounts"] > 0


def test_components_method_equals_the_local_engine_exactly(spark):
    ev, ac, _ = planted(seed=5)
    kw = {"communities": {"method": "components"}}
    sr = agspark.detect(spark.createDataFrame(ev), spark.createDataFrame(ac), seed=0, **kw)
    assert_same(accountgraph.detect(ev, ac, seed=0, **kw), sr)


def test_result_views(tiny_runs, tmp_path):
    _, _, sr = tiny_runs
    assert sr.assignments.columns == ["account_id", "cluster_id", "ring_score", "member_score", "flagged"]
    top = int(sr.clusters["cluster_id"].iloc[0])
    ex = sr.explain(top)
    assert ex.summary["n_accounts"] == int((sr.to_pandas()["cluster_id"] == top).sum())
    assert sr.report(tmp_path / "r.html", top=3).stat().st_size > 10_000
    assert "SparkDetectionResult(" in repr(sr)


def test_missing_pyspark_gives_the_install_hint(tmp_path):
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'pyspark' or name.startswith('pyspark.'):\n"
        "            raise ImportError('No module named ' + repr(name))\n"
        "sys.meta_path.insert(0, Block())\n"
        "import accountgraph\n"
        "from accountgraph import spark\n"
        "for f in (lambda: spark.detect('x.parquet'), lambda: accountgraph.engines.get_engine('spark'),\n"
        "          lambda: accountgraph.detect('x.parquet', engine='spark')):\n"
        "    try:\n"
        "        f()\n"
        "    except accountgraph.EngineUnavailableError as e:\n"
        "        print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.count("pip install 'accountgraph[spark]'") == 3, out
