"""The Spark graph stage against the local one, table by table, at several shuffle-partition counts.

Runs the local engine's validate, templates, signals and graph steps on a Parquet world, then
the Spark engine's (``local[2]``) once per partition count, and compares what the graph is made
of: the account codes and node keys, the (account, signal) incidences, each signal's degree,
status and weight, and the candidate pairs per signal type (the pairs ``n_pairs`` counts).
Differences are listed by type, with the statuses of the signals both accounts share.

This is how the partition-dependent candidate pairs of issue 15 were found (sampled signals
split across ``mapInArrow`` calls), and it is the check that they are gone::

    .venv/bin/python benchmarks/spark_graph_diff.py --data /tmp/small49 --partitions 16 4 \\
        --out benchmarks/results/spark_graph_diff_1m.md

``--data`` must hold ``events.parquet`` and ``accounts.parquet`` (for instance
``accountgraph.synth.write("small", dir, seed=0, scale=4.9)``, about 1M events).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run_benchmarks import git_revision, machine_description  # noqa: E402

logger = logging.getLogger("spark_graph_diff")


def _local(ev, ac, cfg):
    """Incidences, signal plan and candidate pairs per type of the local engine."""
    import accountgraph.engines.local._pipeline as lp
    import accountgraph.graph._projection as proj
    from accountgraph.ingest import Quarantine
    from accountgraph.signals import extract_signals

    inp = lp._ingest(cfg, ev, ac, Quarantine())
    fam, _ = lp._templates(cfg, inp, {})
    sig = extract_signals(inp.ev, inp.ev_account, inp.ac, inp.ac_account, template_family=fam)
    nk = lp._node_key(inp)
    rec = {}
    orig = proj._project_type

    def spy(sig_, sel, *args, **kw):  # every type's evidence matrix before the balance
        pm = orig(sig_, sel, *args, **kw)
        if pm is not None:
            c = pm.tocoo()
            rec[int(sig_.signal_type[sig_.signal[sel][0]])] = (c.row.astype(np.int64), c.col.astype(np.int64),
                                                               c.data.copy())
        return pm

    proj._project_type = spy
    try:
        g = proj.build_graph(sig, inp.n_accounts, cfg.graph, node_key=nk, seed=cfg.seed)
    finally:
        proj._project_type = orig
    inc = pd.DataFrame({"acc": sig.account.astype(np.int64), "sig": sig.signal.astype(np.int64)})
    plan = pd.DataFrame({"sig": np.arange(len(g.degree)), "degree": g.degree, "status": g.status,
                         "weight": g.weight})
    pairs = pd.concat([pd.DataFrame({"u": np.minimum(r, c), "v": np.maximum(r, c), "t": t, "x": d})
                       for t, (r, c, d) in rec.items()])
    return inp.account_ids.to_pylist(), nk, inc, plan, pairs[pairs["x"] != 0], g.n_pairs, sig.type_names


def _spark(ev, ac, cfg, partitions: int):
    """The same tables from the Spark engine's stages at ``partitions`` shuffle partitions."""
    from pyspark.sql import functions as F

    from accountgraph.engines.spark import _graph as sg
    from accountgraph.engines.spark._ingest import ingest
    from accountgraph.engines.spark._pipeline import _as_dataframe
    from accountgraph.engines.spark._prep import node_keys
    from accountgraph.engines.spark._session import spark_session
    from accountgraph.engines.spark._signals import spark_signals
    from accountgraph.engines.spark._templates import spark_templates
    from accountgraph.ingest import Quarantine

    spark = spark_session("local[2]", shuffle_partitions=partitions)
    spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
    t0 = time.perf_counter()
    si = ingest(_as_dataframe(spark, ev, "events"), _as_dataframe(spark, ac, "accounts"), cfg.ingest, Quarantine())
    evf = None
    if "prompt" in si.columns and cfg.templates.enabled:
        evf, _ = spark_templates(si.events, cfg.templates, cfg.seed + 1, {"templates": {}})
    ss = spark_signals(si.events, si.accounts, si.columns, si.account_columns, tuple(cfg.ingest.extra_signals),
                       tuple(cfg.ingest.account_extra_signals), evf)
    nk = node_keys(si)
    st, _, _ = sg._signal_table(ss.incidence, ss.signals, ss.type_names, si.n_accounts, cfg.graph, nk)
    used = {int(r["type_idx"]) for r in st.where(F.col("status").isin(1, 4)).select("type_idx").distinct().collect()}
    alpha, group = sg._type_groups(ss.type_names, used, cfg.graph)
    types = spark.createDataFrame([(i, float(alpha[i])) for i in range(len(ss.type_names)) if group[i] >= 0]
                                  or [(-1, 0.0)], "type_idx int, alpha double")
    tot = sg._type_pairs(ss.incidence, st, nk, types, cfg.seed, cfg.graph.promiscuity)
    out = (si.ids.toPandas(), nk.toPandas(), ss.incidence.select("acc", "sig").toPandas(),
           st.select("sig", "degree", "status", "weight", "k", "common").toPandas(), tot.toPandas())
    secs = time.perf_counter() - t0
    spark.stop()
    from pyspark.sql import SparkSession
    SparkSession._instantiatedSession = None
    return (*out, secs)


def compare(data: Path, partitions: list[int]) -> list[str]:
    """Markdown lines: one section per partition count."""
    from accountgraph import RingDetector

    ev, ac = pq.read_table(data / "events.parquet"), pq.read_table(data / "accounts.parquet")
    cfg = RingDetector(random_state=0)._config()
    t0 = time.perf_counter()
    ids, nk, l_inc, l_plan, l_pairs, n_pairs, types = _local(ev, ac, cfg)
    lines = [f"- Local engine: {len(ids):,} accounts, {len(l_inc):,} incidences, {len(l_plan):,} signals, "
             f"**{n_pairs:,} candidate pairs** ({time.perf_counter() - t0:.0f} s).", ""]
    code = {a: i for i, a in enumerate(ids)}
    la = set(zip(l_pairs["u"], l_pairs["v"], l_pairs["t"]))
    lines += ["| partitions | Spark s | account codes | node keys | incidences only local / only Spark | "
              "signals with another degree, status or weight | candidate pairs | pairs only local / only Spark |",
              "|---|---|---|---|---|---|---|---|"]
    notes = []
    for p in partitions:
        s_ids, s_nk, s_inc, s_plan, s_pairs, secs = _spark(ev, ac, cfg, p)
        amap = np.full(int(s_ids["acc"].max()) + 1, -1, np.int64)
        amap[s_ids["acc"].to_numpy()] = [code[a] for a in s_ids["account_id"]]
        same_codes = bool((amap == np.arange(len(amap))).all())
        keys = np.full(len(nk), -1, np.int64)
        keys[amap[s_nk["acc"].to_numpy()]] = s_nk["nk"].to_numpy()
        a = set(zip(l_inc["acc"], l_inc["sig"]))
        b = set(zip(amap[s_inc["acc"].to_numpy()], s_inc["sig"]))
        m = l_plan.merge(s_plan, on="sig", suffixes=("_l", "_s"), how="outer", indicator=True)
        bad = m[(m["_merge"] != "both") | (m["degree_l"] != m["degree_s"]) | (m["status_l"] != m["status_s"])
                | ~np.isclose(m["weight_l"], m["weight_s"])]
        u, v = amap[s_pairs["u"].to_numpy()], amap[s_pairs["v"].to_numpy()]
        sb = set(zip(np.minimum(u, v), np.maximum(u, v), s_pairs["t"]))
        ol, os_ = la - sb, sb - la
        lines.append(f"| {p} | {secs:.0f} | {'same' if same_codes else 'differ'} | "
                     f"{'same' if (keys == nk).all() else 'differ'} | {len(a - b):,} / {len(b - a):,} | {len(bad):,} | "
                     f"{len(sb):,} | {len(ol):,} / {len(os_):,} |")
        for name, s in (("only local", ol), ("only Spark", os_)):
            if s:
                d = pd.DataFrame(list(s), columns=["u", "v", "t"])
                notes.append(f"- {p} partitions, pairs {name} by type: "
                             + ", ".join(f"{types[t]} {n:,}" for t, n in d["t"].value_counts().items()))
    return lines + [""] + notes


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="a directory with events.parquet and accounts.parquet")
    ap.add_argument("--partitions", type=int, nargs="+", default=[16, 4])
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    body = compare(a.data, a.partitions)
    text = ["# The Spark graph stage against the local one, table by table", "",
            f"- Command: `python benchmarks/spark_graph_diff.py {' '.join(argv if argv is not None else sys.argv[1:])}`",
            f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M UTC}; revision {git_revision()}",
            f"- Machine: {machine_description()}",
            f"- Data: `{a.data}`; Spark `local[2]`, one session per partition count, adaptive execution on "
            "(Spark's defaults).", "", *body, ""]
    out = "\n".join(text)
    if a.out:
        a.out.write_text(out)
    print(out)


if __name__ == "__main__":
    main()
