"""The Spark engine: every stage as Spark jobs, timed like the local engine's."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from ...ingest import Quarantine
from ...views import rank_clusters
from .._base import PipelineConfig
from ._communities import spark_communities
from ._prep import Prepared, prepare
from ._result import SparkDetectionResult, _TopView
from ._score import member_spark, score_spark
from ._session import dense_index, spark_session
from ._views import _cl_map, assignments_df, cluster_signals_df, top_evidence

__all__ = ["SparkEngine", "run_spark"]

logger = logging.getLogger(__name__)


def _as_dataframe(spark: Any, data: Any, name: str) -> Any:
    """A Spark DataFrame from a DataFrame, a Parquet/CSV path, or a small local table."""
    if data is None or hasattr(data, "sparkSession"):
        return data
    import os

    if isinstance(data, (str, os.PathLike)):
        p = str(data)
        if p.lower().endswith((".csv", ".csv.gz", ".tsv")):
            return spark.read.option("header", True).option("sep", "\t" if ".tsv" in p.lower() else ",").csv(p)
        return spark.read.parquet(p)
    from ...ingest import to_arrow

    return spark.createDataFrame(to_arrow(data, name=name).to_pandas())


def _scoring_events(pr: Prepared) -> tuple[Any, Any | None]:
    """``eid, acc, ts, output, family, model`` per event (-1 unknown) and the model code table."""
    from pyspark.sql import functions as F

    ev = pr.inp.events
    cols = pr.inp.columns
    models = None
    x = ev.select("eid", "acc", "ts", (F.col("output_tokens") if "output_tokens" in cols else F.lit(-1).cast("long"))
                  .alias("output"), *(["model"] if "model" in cols else []))
    if pr.ev_family is not None:
        x = x.join(pr.ev_family, "eid", "left").withColumn("family", F.coalesce("family", F.lit(-1).cast("long")))
    else:
        x = x.withColumn("family", F.lit(-1).cast("long"))
    if "model" in cols:
        models = dense_index(ev.select("model").where(F.col("model").isNotNull()).distinct(), [F.col("model")], "code")
        x = x.join(F.broadcast(models), "model", "left").drop("model") \
            .withColumn("model", F.coalesce("code", F.lit(-1).cast("long"))).drop("code")
    else:
        x = x.withColumn("model", F.lit(-1).cast("long"))
    if "ip" in cols:  # an arbitrary code per distinct IP: only equality matters to the scorer
        ips = dense_index(ev.select("ip").where(F.col("ip").isNotNull()).distinct(), [F.col("ip")], "ipc")
        x = x.join(ev.select("eid", "ip"), "eid").join(ips, "ip", "left").drop("ip") \
            .withColumn("ip", F.coalesce("ipc", F.lit(-1).cast("long"))).drop("ipc")
    else:
        x = x.withColumn("ip", F.lit(-1).cast("long"))
    return x.localCheckpoint(), models


def run_spark(cfg: PipelineConfig, events: Any, accounts: Any | None, *, master: str | None = None,
              n_batches: int | None = None) -> SparkDetectionResult:
    """Run every stage on Spark with the (validated) parameters ``cfg``."""
    spark = spark_session(master)
    stats: dict[str, Any] = {}
    q = Quarantine()

    @contextlib.contextmanager
    def timer(name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        spark.sparkContext.setJobGroup(f"accountgraph:{name}", f"accountgraph stage {name}")  # per-stage Spark metrics
        yield
        dt = time.perf_counter() - t0
        stats.setdefault("seconds", {})[name] = round(dt, 4)
        logger.info("stage %s (spark): %.2fs", name, dt)

    events = _as_dataframe(spark, events, "events")
    accounts = _as_dataframe(spark, accounts, "accounts")
    pr = prepare(cfg, events, accounts, q, stats, timer)
    nb = n_batches or max(2, int(spark.conf.get("spark.sql.shuffle.partitions")))
    with timer("communities"):
        acc_cl, n_cl = spark_communities(pr.graph.edges, pr.sig.incidence, pr.graph.signals, pr.node_key,
                                         cfg.communities, cfg.seed, pr.inp.n_accounts, stats)
        stats["n_clusters"] = n_cl
    with timer("score"):
        ev, models = _scoring_events(pr)
        has_out = "output_tokens" in pr.inp.columns
        cols = (has_out, pr.ev_family is not None, models is not None, "ip" in pr.inp.columns)
        feats = score_spark(ev, acc_cl, pr.inp.accounts, pr.inp.n_accounts, cfg.scoring, cols, n_cl,
                            pr.sig.incidence, pr.graph.signals, nb, pr.sig.signals, pr.sig.type_names)
        tpl = pr.sig.type_names.index("template") if "template" in pr.sig.type_names else -1
        member = member_spark(pr.sig.incidence, acc_cl, pr.graph.signals, pr.sig.signals, tpl, nb)
        result = _result(cfg, pr, feats, acc_cl, member, ev, q, stats, has_out)
    return result


def _result(cfg: PipelineConfig, pr: Prepared, feats: Any, acc_cl: Any, member: Any, ev: Any, q: Quarantine,
            stats: dict[str, Any], has_out: bool) -> SparkDetectionResult:
    """Rank the clusters and build the result tables."""
    spark = ev.sparkSession
    clusters, new_id = rank_clusters(feats, cfg.threshold)
    cl_map = _cl_map(spark, new_id, feats["ring_score"].to_numpy())
    assignments = assignments_df(pr.inp.ids, acc_cl, member, cl_map, cfg.threshold, cfg.scoring.min_member_score)
    assignments = assignments.localCheckpoint()
    shared, incidence = cluster_signals_df(pr.sig.incidence, acc_cl, cl_map, pr.sig.signals, pr.graph.signals,
                                           pr.sig.type_names)
    keep = clusters["cluster_id"].to_numpy()[: cfg.evidence_clusters].astype(np.int64)
    top = top_evidence(keep, assignments, pr.inp.ids, ev, acc_cl, pr.inp.accounts, pr.graph.edges, shared, incidence,
                       pr.templates, has_out)
    stats["quarantined_rows"] = q.total
    stats["quarantined_events"] = sum(v for (t, _), v in q.counts.items() if t == "events")
    stats["quarantined_accounts"] = sum(v for (t, _), v in q.counts.items() if t == "accounts")
    stats["n_flagged_accounts"] = int(assignments.where("flagged").count())
    stats["n_flagged_clusters"] = int(clusters["flagged"].sum()) if len(clusters) else 0
    view = _TopView(assignments=top["members"], clusters=clusters, cluster_signals=top["cluster_signals"],
                    templates=top["templates"], quarantine=q, stats=stats, params=cfg.to_params(),
                    _cluster_templates=top["cluster_templates"], evidence=top["evidence"], _incidence=top["incidence"])
    logger.info("detect (spark): %d accounts, %d clusters, %d flagged accounts in %d rings", pr.inp.n_accounts,
                len(clusters), stats["n_flagged_accounts"], stats["n_flagged_clusters"])
    return SparkDetectionResult(assignments=assignments, clusters=clusters, cluster_signals=shared,
                                templates=pr.templates, quarantine=q, stats=stats, params=cfg.to_params(), _top=view)


class SparkEngine:
    """Runs the pipeline on Spark (``master``: a Spark master URL; default the active session or ``local[2]``)."""

    name = "spark"

    def __init__(self, master: str | None = None) -> None:
        self.master = master

    def run(self, config: PipelineConfig, events: Any, accounts: Any | None) -> SparkDetectionResult:  # type: ignore[override]
        """See :class:`~accountgraph.engines.Engine`."""
        return run_spark(config, events, accounts, master=self.master)
