"""The Spark engine (``accountgraph.spark``) against the local engine, in ``local[2]`` mode.

One SparkSession for the module (two cores, two shuffle partitions, UI off). Each scenario runs
through both engines and every table and count must be equal: the Spark engine makes the local
engine's calls per row batch, per component and per cluster batch, and reproduces the rest
(duplicates, codes, signal ids, the pair budget, sums in scipy's order, components, attachment)
exactly. Without pyspark these tests skip, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import logging
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


def camouflaged(scale: float = 0.02) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``camouflage`` scenario (proxies, ordinary-looking traffic) under its own account ids ("c" + id)."""
    ds = generate("camouflage", seed=0, scale=scale)
    ev, ac = ds.events.to_pandas(), ds.accounts.to_pandas()
    ev["account_id"] = "c" + ev["account_id"]
    ac["account_id"] = "c" + ac["account_id"]
    ev["timestamp"] = [str(t) for t in ev["timestamp"]]
    return ev, ac


@pytest.fixture(scope="module")
def tiny_runs(spark):
    """One Spark run of the tiny world with every kind of bad row, beside a camouflaged ring's world.

    The two worlds share no account (they do share some IPs); one run where there were two: each
    Spark run costs about a minute of CI on two cores, mostly per-job overhead, not data.
    """
    ev, ac = with_bad_rows(generate("tiny", seed=0))
    cev, cac = camouflaged()
    ev, ac = pd.concat([ev, cev], ignore_index=True), pd.concat([ac, cac], ignore_index=True)
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


@pytest.fixture
def eager_broadcasts(spark):
    """Adaptive execution turning shuffle joins into broadcasts at run time, read without coalescing.

    The plan that once split a sampled signal's incidences across ``mapInArrow`` calls: the
    incidences are shuffled by signal for a join whose other side (the sampled signals) proves
    small at run time, the join becomes a broadcast, the incidence shuffle is read mapper-locally,
    and a ``repartition("sig")`` placed after it had been dropped as redundant.
    """
    keys = ("spark.sql.shuffle.partitions", "spark.sql.adaptive.coalescePartitions.enabled",
            "spark.sql.adaptive.autoBroadcastJoinThreshold")
    old = {k: spark.conf.get(k, None) for k in keys}
    spark.conf.set("spark.sql.adaptive.coalescePartitions.enabled", "false")
    spark.conf.set("spark.sql.adaptive.autoBroadcastJoinThreshold", "32KB")
    yield spark
    for k, v in old.items():
        if v is None:
            spark.conf.unset(k)
        else:
            spark.conf.set(k, v)


def test_over_budget_signals_are_sampled_the_same_way_whatever_the_partitioning(eager_broadcasts):
    """Signals past a small pair budget are sampled as locally, at 7 shuffle partitions with eager broadcasts.

    One Spark run where there were three (the same world at the session's 2 partitions, and at 4 and
    7): each run of the Spark engine costs a minute or more of CI on two cores (hundreds of small
    jobs), and the 2-partition layout is every other test's.
    """
    spark = eager_broadcasts
    spark.conf.set("spark.sql.shuffle.partitions", "7")
    ds = generate("tiny", seed=1)
    kw = {"graph": {"max_pairs": 3_000}}
    sr = agspark.detect(spark.createDataFrame(ds.events.to_pandas()), spark.createDataFrame(ds.accounts.to_pandas()),
                        seed=2, **kw)
    loc = accountgraph.detect(ds.events, ds.accounts, seed=2, **kw)
    assert sr.stats["n_pairs"] == loc.stats["n_pairs"]  # 4,128 and 4,058 when signals were split
    assert (sr.to_pandas("cluster_signals")["status"] == "sampled").sum() > 0 and sr.stats["n_pairs"] > 3_000
    assert_same(loc, sr, exact_scores=False)


def test_camouflage(tiny_runs):
    """The camouflaged ring's accounts (run beside the tiny world, see ``tiny_runs``) are flagged on both engines."""
    ev, ac, sr = tiny_runs
    loc = accountgraph.detect(ev, ac, seed=0)
    assert_same(loc, sr)
    flagged = sr.to_pandas("assignments").query("flagged")["account_id"]
    assert flagged.str.startswith("c").sum() > 0 and set(flagged) == set(loc.assignments.query("flagged")["account_id"])


def test_components_method_equals_the_local_engine_exactly(spark):
    ev, ac, _ = planted(seed=5)
    kw = {"communities": {"method": "components"}}
    sr = agspark.detect(spark.createDataFrame(ev), spark.createDataFrame(ac), seed=0, **kw)
    assert_same(accountgraph.detect(ev, ac, seed=0, **kw), sr)


def _random_graph(seed: int, n: int = 400):
    """Dense groups bridged at random, plus a few 4-account components; a random ``node_key``."""
    from accountgraph.graph import AccountGraph

    rng = np.random.default_rng(seed)
    pairs = set()
    for g in np.array_split(rng.permutation(n - 40), 10):
        pairs |= {tuple(sorted(rng.choice(g, 2, replace=False))) for _ in range(len(g) * 4)}
    pairs |= {tuple(sorted(rng.choice(n - 40, 2, replace=False))) for _ in range(n // 3)}
    pairs |= {(b, b + k) for b in range(n - 40, n, 4) for k in (1, 2, 3)}
    e = np.array(sorted(pairs), np.int64)
    z = np.zeros(0, np.int64)
    return AccountGraph(n, z, np.zeros(0), z.astype(np.int8), e[:, 0], e[:, 1], rng.random(len(e)) + 0.2, 0.0,
                        len(e)), rng.permutation(n)


def _executor_partition(g, node_key, p, seed: int) -> tuple[np.ndarray, int]:
    """The Spark engine's per-component and per-community functions, grouped by pandas instead of Spark."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from accountgraph.engines.spark import _communities as sc

    n = g.n_accounts
    comp = connected_components(coo_matrix((np.ones(g.n_edges), (g.src, g.dst)), shape=(n, n)), directed=False)[1]
    e = pd.DataFrame({"src": g.src, "dst": g.dst, "link": g.link, "comp": comp[g.src], "nk_src": node_key[g.src],
                      "nk_dst": node_key[g.dst]}).sample(frac=1, random_state=seed)  # rows in no particular order
    acc = pd.DataFrame({"acc": np.r_[g.src, g.dst], "comp": np.r_[comp[g.src], comp[g.dst]]}).drop_duplicates()
    per = acc.assign(nk=node_key[acc["acc"]]).groupby("comp")["nk"].agg(["size", "min"])
    big = per[per["size"] > p.split_min_size].sort_values("min").index
    e["rank"] = e["comp"].map(dict(zip(big, range(len(big))))).fillna(-1).astype(np.int64)
    max_size = sc._oversize_limit(p, n) if len(big) else None
    mem = pd.concat([sc._component(x, p, seed, n, max_size) for _, x in e.groupby("comp")], ignore_index=True)
    base, n_det = n + len(big) * (n + 1), int(mem["detached"].sum())
    for r in range(sc._SPLIT_ROUNDS):
        pend = mem[mem["pending"]]
        if not len(pend):
            break
        first = pd.Series(node_key[pend["acc"]]).groupby(pend["label"].to_numpy()).min().sort_values()
        verts = pend.assign(rank=pend["label"].map(dict(zip(first.index, range(len(first))))),
                            nk=node_key[pend["acc"]])
        lab = dict(zip(pend["acc"], pend["label"]))
        ls, ld = e["src"].map(lab), e["dst"].map(lab)
        inside = e[ls.notna() & (ls == ld)].assign(label=ls)
        parts = pd.concat([sc._split_community(v, inside[inside["label"] == k][["src", "dst", "link"]], p, seed, r,
                                               base, n, max_size) for k, v in verts.groupby("label")])
        mem, base = pd.concat([mem[~mem["pending"]], parts], ignore_index=True), base + len(first) * (n + 1)
        n_det += int(parts["detached"].sum())
    out = np.full(n, -1, np.int64)
    out[mem["acc"].to_numpy()] = mem["label"].to_numpy()
    return out, n_det


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(("kw", "n_rounds"), [
    ({"oversize_min": 30, "oversize_share": 0.01}, 1),
    ({"oversize_min": 2, "oversize_share": 0.001}, 2),  # the 4-account components (no Leiden) too
    ({"oversize_min": 10, "oversize_share": 0.01, "resolution": 0.01}, 3),  # some left whole after the third
    ({"oversize_min": 3, "oversize_share": 0.001, "split_min_size": 50}, 2),
    ({}, 0),  # defaults: nothing over 1,000 accounts
])
def test_executor_functions_make_the_local_partition_and_label_order(seed, kw, n_rounds, caplog):
    """``_component`` + rounds of ``_split_community`` = ``find_communities`` + ``detach_weak_members`` (no Spark).

    Same partition, same detached count and labels in the same order (what attachment's ties
    use), on random graphs with one to three rounds of ``split_oversized``.
    """
    import inspect

    from accountgraph.communities import (CommunityParams, detach_weak_members, find_communities,
                                          split_oversized)
    from accountgraph.engines.spark import _communities as sc

    assert inspect.signature(split_oversized).parameters["rounds"].default == sc._SPLIT_ROUNDS
    g, node_key = _random_graph(seed)
    p = CommunityParams(**kw)
    caplog.set_level(logging.INFO, logger="accountgraph.communities._leiden")
    want = find_communities(g, method=p.method, resolution=p.resolution, split_min_size=p.split_min_size,
                            merge_density=p.merge_density, seed=seed, node_key=node_key,
                            n_iterations=p.n_iterations, oversize_share=p.oversize_share,
                            oversize_min=p.oversize_min, top_links=p.leiden_links)
    want, want_det = detach_weak_members(want, g, min_strength=p.detach_min_strength, min_size=p.detach_min_size,
                                         quantile=p.detach_quantile, max_links=p.detach_max_links)
    rounds = _split_rounds(caplog, "accountgraph.communities._leiden", "split_oversized round")
    assert len(rounds) == n_rounds, rounds
    got, got_det = _executor_partition(g, node_key, p, seed)
    assert got_det == want_det
    assert ((got >= 0) == (want >= 0)).all()
    m = want >= 0
    np.testing.assert_array_equal(np.unique(got[m], return_inverse=True)[1], np.unique(want[m], return_inverse=True)[1])


def _split_rounds(caplog, logger: str, needle: str) -> list[str]:
    """The ``split_oversized`` round messages ``logger`` logged (and forget the records)."""
    msgs = [r.getMessage() for r in caplog.records if r.name == logger and needle in r.getMessage()]
    caplog.clear()
    return msgs


@pytest.mark.parametrize(("world", "communities", "n_rounds"), [
    # one round; six communities over 8 accounts split, then 13 loners attached (label order matters)
    (1, {"oversize_min": 8, "oversize_share": 0.001}, 1),
    # (three rounds at a low resolution: the executor functions' test above, without a Spark run)
    # plain components (at most split_min_size accounts, never given to Leiden) are oversized too
    (0, {"oversize_min": 2, "oversize_share": 0.001}, 2),
])
def test_oversized_communities_are_split_as_the_local_engine_splits_them(spark, caplog, world, communities,
                                                                          n_rounds):
    """``split_oversized`` in Spark (issue 15): same partition, detachment, attachment and clusters as locally."""
    ds = generate("tiny", seed=world)
    ev, ac = ds.events.to_pandas(), ds.accounts.to_pandas()
    kw = {"communities": communities}
    caplog.set_level(logging.INFO, logger="accountgraph")
    loc = accountgraph.detect(ev, ac, seed=0, **kw)
    local_rounds = _split_rounds(caplog, "accountgraph.communities._leiden", "split_oversized round")
    assert len(local_rounds) == n_rounds, local_rounds  # the local engine did split: not vacuous
    unsplit = accountgraph.detect(ev, ac, seed=0, communities={**communities, "oversize_share": 1.0})
    assert (unsplit.assignments["cluster_id"].to_numpy() != loc.assignments["cluster_id"].to_numpy()).any()
    caplog.clear()
    sr = agspark.detect(spark.createDataFrame(ev), spark.createDataFrame(ac), seed=0, **kw)
    spark_rounds = _split_rounds(caplog, "accountgraph.engines.spark._communities", "split_oversized (spark) round")
    assert [m.replace(" (spark)", "") for m in spark_rounds] == local_rounds
    assert_same(loc, sr)
    flagged = sr.to_pandas("assignments").query("flagged")["account_id"]
    assert set(flagged) == set(loc.assignments.query("flagged")["account_id"])


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


# --- scoring: population facts as Spark aggregations, features per batch in the executors (issue 15) ---

def _facts_inputs(spark, arrays: dict):
    """The Spark engine's scoring tables (``ev``, ``acc_cl``, ``created``) of the scorer's arrays."""
    n = len(arrays["acc_cluster"])
    ev = pd.DataFrame({"eid": np.arange(len(arrays["ev_account"]), dtype=np.int64),
                       "acc": arrays["ev_account"].astype(np.int64), "ts": arrays["ev_ts_us"].astype(np.int64)})
    for c, k in (("output", "ev_output"), ("family", "ev_family"), ("model", "ev_model"), ("ip", "ev_ip")):
        ev[c] = arrays[k].astype(np.int64) if arrays[k] is not None else np.full(len(ev), -1, np.int64)
    clustered = np.flatnonzero(arrays["acc_cluster"] >= 0)
    acc_cl = pd.DataFrame({"acc": clustered.astype(np.int64), "cl": arrays["acc_cluster"][clustered]})
    created = None
    if arrays["created_us"] is not None:
        created = spark.createDataFrame(pd.DataFrame({"acc": np.arange(n, dtype=np.int64),
                                                      "created_at": arrays["created_us"].astype(np.int64)}))
    return (spark.createDataFrame(ev).localCheckpoint(), spark.createDataFrame(acc_cl, "acc long, cl long"), created)


def _dense(codes: np.ndarray) -> np.ndarray:
    """Codes >= 0 renumbered 0..k-1 (in order), -1 kept."""
    out = np.full(len(codes), -1, np.int64)
    ok = codes >= 0
    out[ok] = np.unique(codes[ok], return_inverse=True)[1]
    return out


def _synth_arrays(name: str, seed: int, n_groups: int = 30) -> tuple[dict, int]:
    """The scorer's arrays of a synthetic world: its rings and random groups of the others as clusters."""
    import pyarrow as pa

    ds = generate(name, seed=seed)
    ev, ac = ds.events, ds.accounts
    lab = ds.labels.to_pandas()
    ids = np.unique(np.concatenate([ev["account_id"].to_numpy(), ac["account_id"].to_numpy()]).astype(str))
    rng = np.random.default_rng(seed)
    ring = pd.Series(pd.factorize(lab["ring_id"])[0], index=lab["account_id"].to_numpy(str))
    acc_cluster = ring.reindex(ids).fillna(-1).to_numpy(np.int64).copy()
    pick = (acc_cluster < 0) & (rng.random(len(ids)) < 0.15)
    acc_cluster[pick] = acc_cluster.max() + 1 + rng.integers(0, n_groups, int(pick.sum()))
    acc_cluster = _dense(acc_cluster)
    created = np.full(len(ids), -1, np.int64)
    created[np.searchsorted(ids, ac["account_id"].to_numpy().astype(str))] = \
        ac["created_at"].cast(pa.int64()).to_numpy()
    created[rng.random(len(ids)) < 0.1] = -1
    family = pd.factorize(ev["prompt"].to_pandas().str.slice(0, 24))[0].astype(np.int64, copy=True)
    family[rng.random(len(family)) < 0.3] = -1  # events outside the family sample
    arrays = dict(
        acc_cluster=acc_cluster,
        ev_account=np.searchsorted(ids, ev["account_id"].to_numpy().astype(str)).astype(np.int64),
        ev_ts_us=ev["timestamp"].cast(pa.int64()).to_numpy(), ev_output=ev["output_tokens"].to_numpy().astype(np.int64),
        ev_family=_dense(family), created_us=created,
        ev_model=pd.factorize(ev["model"].to_numpy())[0].astype(np.int64),
        ev_ip=pd.factorize(ev["ip"].to_numpy())[0].astype(np.int64))
    return arrays, int(acc_cluster.max()) + 1


def _assert_facts_equal(got, fshare, want) -> None:
    """Spark facts (and family share table) equal ``population_facts``, bit for bit."""
    for k in ("n_accounts", "rate_median", "output_median", "exits_median", "has_created", "span_days"):
        assert getattr(got, k) == getattr(want, k), (k, getattr(got, k), getattr(want, k))
        assert type(getattr(got, k)) is type(getattr(want, k)), k
    if want.pivot is None:
        assert got.pivot is None
    else:
        assert got.pivot is not None
        np.testing.assert_array_equal(got.pivot[0], want.pivot[0])
        np.testing.assert_array_equal(got.pivot[1], want.pivot[1])
        assert got.pivot[2] == want.pivot[2]
    if want.family_unclustered is None:
        assert fshare is None
    else:
        t = fshare.toPandas()
        share = np.full(len(want.family_unclustered), np.nan)
        share[t["family"].to_numpy(np.int64)] = t["fshare"].to_numpy(np.float64)
        np.testing.assert_array_equal(share, want.family_unclustered)


@pytest.mark.parametrize("world", ["random-0", "random-1", "small"])
def test_spark_facts_and_batched_features_equal_the_local_scorer(spark, world):
    """``spark_facts`` = ``population_facts`` and the executors' batches = ``cluster_features``, exactly."""
    from accountgraph.engines.spark._facts import spark_facts
    from accountgraph.engines.spark._score import spark_features
    from accountgraph.scoring import cluster_features, population_facts
    from tests.unit.scoring.test_facts import world as random_world

    if world == "small":
        arrays, k = _synth_arrays("small", 0)
    else:
        arrays, k = random_world(int(world.split("-")[1]))
    want = population_facts(**arrays)
    assert want.pivot is not None and want.family_unclustered is not None and want.exits_median is not None
    ev, acc_cl, created = _facts_inputs(spark, arrays)
    got, fshare = spark_facts(ev, acc_cl, created, len(arrays["acc_cluster"]), (True, True, True, True))
    _assert_facts_equal(got, fshare, want)
    whole = cluster_features(n_clusters=k, burst_window_s=72 * 3600, **arrays)
    f = spark_features(ev, acc_cl, created, got, fshare, 72 * 3600, k, n_batches=3)
    pd.testing.assert_frame_equal(f, whole, check_exact=True)


def test_spark_facts_edge_cases(spark):
    """Fewer than 100 unclustered outputs (all events' median), an even count, no IPs, no models, no creation."""
    from accountgraph.engines.spark._facts import spark_facts
    from accountgraph.scoring import population_facts

    rng = np.random.default_rng(4)
    n, n_ev = 30, 400
    acc_cluster = np.where(np.arange(n) < 25, np.arange(n) % 3, -1).astype(np.int64)
    arrays = dict(acc_cluster=acc_cluster, ev_account=rng.integers(0, n, n_ev).astype(np.int64),
                  ev_ts_us=(rng.integers(-3 * _DAY, 3 * _DAY, n_ev) - 7).astype(np.int64),  # before 1970 too
                  ev_output=rng.integers(-1, 100_000, n_ev).astype(np.int64), ev_family=None, created_us=None,
                  ev_model=None, ev_ip=np.full(n_ev, -1, np.int64))
    want = population_facts(**arrays)
    ev, acc_cl, _ = _facts_inputs(spark, arrays)
    got, fshare = spark_facts(ev, acc_cl, None, n, (True, False, False, True))
    _assert_facts_equal(got, fshare, want)
    assert want.exits_median is None and want.pivot is None and not want.has_created
    assert want.output_median % 1 == 0.5  # an even count with distinct middle values, of all 400 events


def _spy_scoring(monkeypatch, spark) -> tuple[list[tuple[str, int]], dict, list[int]]:
    """Spy on what the Spark engine's scoring collects to the driver (see the test below).

    Returns ``(collected, seen, driver_events)``: the rows of every DataFrame
    ``collect``/``toPandas``/``toArrow``/``take``/``tail`` while ``score_spark`` runs, the cluster
    count and the feature table's rows handed to ``apply_model``, and the events given to each
    driver-side ``cluster_features`` call.
    """
    import accountgraph.engines.spark._pipeline as pipe
    import accountgraph.engines.spark._score as score

    scoring, collected, seen = [False], [], {}
    DataFrame = type(spark.range(1))  # the implementation class (pyspark.sql.classic in Spark 4)

    def spy(name):
        orig = getattr(DataFrame, name)

        def wrapped(self, *a, **k):
            out = orig(self, *a, **k)
            if scoring[0]:
                collected.append((name, out.num_rows if hasattr(out, "num_rows") else len(out)))
            return out

        monkeypatch.setattr(DataFrame, name, wrapped)

    for name in ("collect", "toPandas", "toArrow", "take", "tail"):
        spy(name)

    real_apply, real_score, real_features = score.apply_model, pipe.score_spark, score.cluster_features
    driver_events: list[int] = []

    def driver_cluster_features(*a, **k):
        driver_events.append(len(k["ev_account"]))
        return real_features(*a, **k)

    def apply_model(f, *a, **k):
        seen["feature_rows"] = len(f)
        return real_apply(f, *a, **k)

    def score_spark(*a, **k):
        seen["n_clusters"] = a[6]
        scoring[0] = True
        try:
            return real_score(*a, **k)
        finally:
            scoring[0] = False

    monkeypatch.setattr(score, "cluster_features", driver_cluster_features)
    monkeypatch.setattr(score, "apply_model", apply_model)
    monkeypatch.setattr(pipe, "score_spark", score_spark)
    return collected, seen, driver_events


_DAY = 86_400_000_000


def test_automation_teams_glued_by_a_template_are_gated_as_locally(spark):
    """The team blocks (computed in the executors for the clusters the team gate could apply to)
    equal the local engine's, so the glued teams are gated on both engines."""
    from tests.unit.scoring.test_teams import _automation_teams
    from tests.unit.monitor.worlds import legit_day

    days = 6
    ev = pd.concat([legit_day(120, d, seed=3) for d in range(days)] + [_automation_teams(5, 3, days, 150, seed=5)],
                   ignore_index=True)
    sr = agspark.detect(spark.createDataFrame(ev), seed=0)
    loc = accountgraph.detect(ev, seed=0)
    assert_same(loc, sr)
    examined = sr.clusters.dropna(subset=["team_block_max"])
    assert len(examined) >= 1 and (examined["team_gate"] == 0).all()


# --- graph stage: per-type hub caps and coordinated hubs without incidence-sized collects (issue 15) ---

def _spy_collects(monkeypatch, spark, module, names: tuple[str, ...]) -> dict[str, list[tuple[str, int]]]:
    """Rows returned by every DataFrame collect while one of ``module``'s functions ``names`` runs, per function."""
    DataFrame = type(spark.range(1))
    active: list[str] = []
    seen: dict[str, list[tuple[str, int]]] = {n: [] for n in names}
    for m in ("collect", "toPandas", "toArrow", "take", "tail"):
        orig = getattr(DataFrame, m)

        def wrapped(self, *a, _orig=orig, _m=m, **k):
            out = _orig(self, *a, **k)
            if active:
                seen[active[-1]].append((_m, out.num_rows if hasattr(out, "num_rows") else len(out)))
            return out

        monkeypatch.setattr(DataFrame, m, wrapped)
    for n in names:
        real = getattr(module, n)

        def run(*a, _real=real, _n=n, **k):
            active.append(_n)
            try:
                return _real(*a, **k)
            finally:
                active.pop()

        monkeypatch.setattr(module, n, run)
    return seen


def _cosharer_reference(sig_type: np.ndarray, acc: np.ndarray, d: np.ndarray, grid: np.ndarray,
                        min_accounts: int) -> dict[int, np.ndarray]:
    """Median co-sharers per (type, grid level), straight from the definition in ``graph.type_caps``."""
    out = {}
    lv = np.searchsorted(grid, d.astype(np.float64), side="left")
    for t in np.unique(sig_type):
        m = sig_type == t
        holders = np.unique(acc[m])
        if len(holders) < min_accounts or not (d[m] >= 2).any():
            continue
        med = []
        for L in range(len(grid)):
            keep = m & (d >= 2) & (lv <= L)
            co = pd.Series(d[keep] - 1).groupby(acc[keep]).sum().reindex(holders, fill_value=0)
            med.append(np.median(co.to_numpy(np.float64)))
        out[int(t)] = np.array(med)
    return out


def test_type_caps_are_spark_aggregations_equal_to_type_caps(spark, monkeypatch):
    """``_type_caps`` (medians per (type, grid level) in Spark) = ``graph.type_caps``, bit for bit, on random
    incidences: odd and even holder counts (two distinct middle values), holders with no co-sharers,
    degrees above the grid, a type of unshared signals only, types under ``min_accounts``; only
    O(types x levels) rows are collected."""
    from accountgraph.engines.spark import _hubs as sg
    from accountgraph.graph import GraphParams, type_cap_grid, type_caps

    rng = np.random.default_rng(11)
    rows, sig_type = [], []
    # (accounts holding the type, shared signals, zipf exponent of their degrees); type 3: nothing shared,
    # type 4: too few holders; each account of a pool also holds an unshared signal of the type
    for t, (pool, n_sig, zipf) in enumerate([(301, 150, 1.6), (200, 60, 1.3), (250, 200, 1.8), (301, 0, 2.0),
                                             (40, 30, 1.5)]):
        degrees = [int(min(pool, rng.zipf(zipf))) for _ in range(n_sig)] + [1] * pool
        for i, d in enumerate(degrees):
            members = rng.choice(pool, d, replace=False) if i < n_sig else [i - n_sig]
            rows += [(int(a), len(sig_type)) for a in members]
            sig_type.append(t)
    inc = pd.DataFrame(rows, columns=["acc", "sig"]).drop_duplicates().reset_index(drop=True)
    sig_type = np.array(sig_type, np.int64)
    deg = np.bincount(inc["sig"], minlength=len(sig_type)).astype(np.int64)
    s_inc = spark.createDataFrame(inc.astype(np.int64)).localCheckpoint()
    s_deg = spark.createDataFrame(pd.DataFrame({"sig": np.arange(len(deg)), "degree": deg,
                                                "type_idx": sig_type.astype(np.int32)})).localCheckpoint()
    t_inc, a_inc, d_inc = sig_type[inc["sig"]], inc["acc"].to_numpy(), deg[inc["sig"]]
    cap = 60.0
    grid = type_cap_grid(cap)
    assert d_inc.max() > grid[-1]
    want = _cosharer_reference(t_inc, a_inc, d_inc, grid, 50)
    assert set(want) == {0, 1, 2}  # 3: nothing shared; 4: too few holders
    assert {len(np.unique(a_inc[t_inc == t])) % 2 for t in want} == {0, 1}
    assert any((m % 1 == 0.5).any() for m in want.values())  # an even count's two middle values differ
    assert any((m == 0).any() for m in want.values())
    seen = _spy_collects(monkeypatch, spark, sg, ("_cosharer_medians",))
    got = sg._cosharer_medians(s_inc, s_deg, grid, 50)
    assert got.keys() == want.keys()
    for t in want:
        np.testing.assert_array_equal(got[t], want[t])
    bound = len(want) * (1 + 2 * len(grid))
    assert seen["_cosharer_medians"] and max(n for _, n in seen["_cosharer_medians"]) <= bound, seen
    assert len(inc) > 10 * bound  # what the collect-based version collected
    for mc in sorted({1.0, 7.0, 40.0, float(want[0][3]), float(want[2][5])}):
        p = GraphParams(max_cosharers=mc, cosharers_min_accounts=50)
        caps = sg._type_caps(s_inc, s_deg, 5, cap, p)
        np.testing.assert_array_equal(caps, type_caps(t_inc, a_inc, d_inc, 5, cap, mc, 50))
        assert (caps[3:] == cap).all()


def test_graph_and_scoring_collect_nothing_event_sized_and_binding_type_caps_equal_the_local_engine(
        spark, monkeypatch):
    """One Spark run (each costs about a minute of CI on two cores), two properties (issue 15).

    **Graph stage**: per-type caps that bind (lowered for several types) give the local engine's
    result; the graph stage collects no incidences for them (at most 2 rows per (type, grid level) +
    one per type), and the coordinated-hub check collects only its sampled accounts' hub incidences.

    **Scoring**: while the Spark engine scores, nothing event-sized reaches the driver. Every
    ``collect``/``toPandas``/``toArrow``/``take``/``tail`` of a DataFrame during ``score_spark`` is
    spied on the driver: none may return more rows than there are clusters (or a handful:
    per-partition counts, one row per model). ``cluster_features`` is called on the driver only
    without events (the feature table's schema; the executors call it per batch: they are other
    processes, the spy does not reach them), and the feature table handed to ``apply_model`` is
    cluster-sized. The collect-based scorer (the driver's ``cluster_features`` on every event's
    columns) fails all three.
    """
    from accountgraph.engines.spark import _hubs as sg
    from accountgraph.graph import type_cap_grid

    ds = generate("tiny", seed=0)
    ev, ac = ds.events.to_pandas(), ds.accounts.to_pandas()
    kw = {"graph": {"cosharers_min_accounts": 50, "max_cosharers": 5.0}}
    loc = accountgraph.detect(ev, ac, seed=0, **kw)
    caps, cap = loc.stats["type_caps"], loc.stats["hub_cap"]
    assert sum(c < cap for c in caps.values()) >= 4, caps  # the caps bind
    seen = _spy_collects(monkeypatch, spark, sg, ("_type_caps", "_sampled_hub_incidences"))
    collected, scored, driver_events = _spy_scoring(monkeypatch, spark)
    sr = agspark.detect(spark.createDataFrame(ev), spark.createDataFrame(ac), seed=0, **kw)
    monkeypatch.undo()
    bound = len(caps) * (1 + 2 * len(type_cap_grid(cap)))
    assert seen["_type_caps"] and max(n for _, n in seen["_type_caps"]) <= bound, seen
    n_inc = sr.stats["n_incidences"]
    assert n_inc > 10 * bound
    # the hubs' sampled accounts' hub incidences: fewer than all hub incidences (what was collected before)
    (_, n_sampled), = seen["_sampled_hub_incidences"]
    assert 0 < n_sampled < n_inc
    # scoring
    k, n_ev = scored["n_clusters"], sr.stats["n_events"]
    bound = max(k, 16)
    assert k > 0 and n_ev > 100 * bound
    assert collected and max(n for _, n in collected) <= bound, collected
    assert scored["feature_rows"] == k
    assert driver_events and set(driver_events) == {0}, driver_events
    assert_same(loc, sr)


def test_coordinated_hubs_from_the_sampled_accounts_only(spark, monkeypatch):
    """``_coordinated`` collects only the hub incidences of each hub's 64 sampled accounts (not every
    member of hubs of hundreds) and marks the hubs ``coordinated_hubs`` marks on all incidences."""
    from accountgraph.engines.spark import _hubs as sg
    from accountgraph.graph import GraphParams, coordinated_hubs

    rng = np.random.default_rng(5)
    n_accounts, rows, sig_type = 100_000, [], []  # most accounts hold none of these signals

    def signal(t: int, members) -> None:
        rows.extend((int(a), len(sig_type)) for a in members)
        sig_type.append(t)

    ring, benign = np.arange(3000), np.arange(3000, 60_000)
    exits = rng.integers(0, 6, (len(ring), 2))
    for e in range(6):  # a ring's exits (ip), each of ~1,000 ring accounts, and its 3 fingerprints (device)
        signal(0, ring[(exits == e).any(axis=1)])
    for f in range(3):
        signal(1, ring[ring % 3 == f])
    for _ in range(4):  # NAT exits and popular fingerprints of strangers: not associated
        signal(0, rng.choice(benign, 1500, replace=False))
    for _ in range(5):
        signal(1, rng.choice(benign, 1400, replace=False))
    signal(2, rng.choice(n_accounts, 11_000, replace=False))  # a webmail domain: over the coordinated limit
    for a in range(0, 12_000, 2):  # cards shared by two: not hubs
        signal(3, [a, a + 1])
    signal(4, ring[:400])  # a template under the hub cap, held by ring accounts only: weak, coordinated
    signal(4, rng.choice(benign, 400, replace=False))  # a public template as common: weak, not coordinated
    inc = pd.DataFrame(rows, columns=["acc", "sig"])
    sig_type = np.array(sig_type, np.int64)
    deg = np.bincount(inc["sig"], minlength=len(sig_type)).astype(np.int64)
    status = np.where(sig_type >= 3, 1, 2).astype(np.int8)  # LINKED, HUB
    weight = np.where(sig_type == 3, 1.0, np.where(sig_type == 4, 0.05, 0.0))
    node_key = rng.permutation(n_accounts).astype(np.int64)
    p = GraphParams(coordinate_weak=True)
    type_names = ["ip", "device", "email_domain", "payment", "template"]
    hub = (status == 2) & (deg <= max(p.max_signal_degree, p.coordinated_max_share * n_accounts))
    weak = (status == 1) & (weight < p.coordinated_weight)
    want = coordinated_hubs(inc["acc"].to_numpy(), inc["sig"].to_numpy(), np.arange(5)[sig_type], hub | weak,
                            deg, n_accounts, node_key,
                            min_lift=np.where(weak, p.coordinated_weak_lift, p.coordinated_min_lift))
    assert want[:9].all() and not want[9:-2].any() and want[-2] and not want[-1]
    st = spark.createDataFrame(pd.DataFrame({
        "sig": np.arange(len(deg)), "type_idx": sig_type.astype(np.int32), "degree": deg, "status": status,
        "k": np.zeros(len(deg), np.int64), "weight": weight}))
    s_nk = spark.createDataFrame(pd.DataFrame({"acc": np.arange(n_accounts), "nk": node_key}))
    seen = _spy_collects(monkeypatch, spark, sg, ("_sampled_hub_incidences",))
    got = sg._coordinated(spark.createDataFrame(inc.astype(np.int64)), st, type_names, n_accounts, p, s_nk)
    out = got.select("sig", "common", "status", "weight").toPandas().sort_values("sig")
    np.testing.assert_array_equal(out["common"].to_numpy(), want)  # sampled on the common member order
    np.testing.assert_array_equal(out["status"].to_numpy(), np.where(want, 4, status))
    np.testing.assert_allclose(out["weight"].to_numpy(), np.where(want, p.coordinated_weight, weight))
    hub = hub | weak  # the candidates whose incidences are collected
    (_, n_rows), = seen["_sampled_hub_incidences"]
    n_hub_inc = int(hub[inc["sig"]].sum())
    per_acc = pd.Series(hub[inc["sig"]]).groupby(inc["acc"]).sum().max()
    assert n_rows <= int(np.minimum(deg[hub], 64).sum()) * per_acc < n_hub_inc, (n_rows, n_hub_inc)
