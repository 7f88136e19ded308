"""The scoring seam: the ONE place the Spark engine calls the scorer.

:func:`score_spark` computes the population facts as Spark aggregations
(:func:`~._facts.spark_facts`), then calls :func:`accountgraph.scoring.cluster_features`
with those facts per batch of clusters in the executors (``cogroup`` of the batch's
accounts and events, ``applyInPandas``): a cluster's features depend only on its own
events and accounts and on the facts, so the batches give the numbers of the local
engine's whole-input call. Only the cluster-sized feature table reaches the driver,
where :func:`accountgraph.scoring.apply_model` adds the gates and the ring score.
:func:`member_spark` calls :func:`accountgraph.scoring.member_scores` in the executors,
per batch of clusters, on the clustered incidences.

A batch holds whole clusters, so the largest cluster's events must fit one Python worker
(tens of bytes per event).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ...scoring import (PopulationFacts, ScoringParams, apply_model, block_share, cluster_features, infrastructure_masks,
                        load_model, member_scores, team_blocks, with_infrastructure)
from ...signals import cluster_pairs
from ._facts import spark_facts

__all__ = ["member_spark", "score_spark", "spark_features"]

logger = logging.getLogger(__name__)


def _concentration(inc: Any, acc_cl: Any, signals: Any, n_clusters: int) -> np.ndarray:
    """:func:`accountgraph.scoring.signal_concentration` as a Spark aggregation (same summation order)."""
    from pyspark.sql import functions as F

    from ._graph import _ordered_sum

    pc = (inc.select("acc", "sig").join(acc_cl, "acc").groupBy("cl", "sig")
          .agg(F.count(F.lit(1)).cast("double").alias("k")).where(F.col("k") >= 2)
          .join(signals.select("sig", "degree"), "sig")
          .withColumn("x", F.col("k") * (F.col("k") / F.greatest(F.col("degree").cast("double"), F.lit(1.0)))))
    t = pc.groupBy("cl").agg(_ordered_sum("sig", "x").alias("num"), _ordered_sum("sig", "k").alias("den")).toArrow()
    out = np.full(n_clusters, np.nan)
    cl, num, den = t["cl"].to_numpy(), t["num"].to_numpy(), t["den"].to_numpy()
    out[cl] = np.where(den > 0, num / np.maximum(den, 1e-12), np.nan)
    return out


def _ints(pdf: pd.DataFrame, col: str) -> np.ndarray:
    """An int64 column (empty when a cogroup side arrives without rows or columns)."""
    return pdf[col].to_numpy(np.int64) if col in pdf.columns else np.zeros(0, np.int64)


def _floats(pdf: pd.DataFrame, col: str) -> np.ndarray:
    return pdf[col].to_numpy(np.float64) if col in pdf.columns else np.zeros(0, np.float64)


def _features_batch(acc: pd.DataFrame, ev: pd.DataFrame, facts: PopulationFacts, flags: tuple[bool, ...],
                    burst_window_s: int) -> pd.DataFrame:
    """``cluster_features`` of the clusters of one batch, from their accounts and events (local codes, same order).

    ``acc``: ``acc, cl, created_at``; ``ev``: ``eid, acc, ts, output, family, model, ip, fshare``.
    Accounts keep their input order (ascending code), so per-cluster sums run in the local order.
    """
    has_out, has_fam, has_model, has_ip, has_created = flags
    acc = acc.sort_values("acc", kind="stable") if len(acc) else acc
    ev = ev.sort_values("eid", kind="stable") if len(ev) else ev  # input order
    codes = _ints(acc, "acc")
    cls, local_cl = np.unique(_ints(acc, "cl"), return_inverse=True)
    ev_acc = np.searchsorted(codes, _ints(ev, "acc"))
    fam = ip = None
    if has_fam:  # families and their unclustered shares, recoded for the batch
        g = _ints(ev, "family")
        ufam, inv = np.unique(g[g >= 0], return_inverse=True)
        fam = np.full(len(g), -1, np.int64)
        fam[g >= 0] = inv
        share = np.zeros(len(ufam))
        share[inv] = _floats(ev, "fshare")[g >= 0]
        facts = replace(facts, family_unclustered=share)
    if has_ip:
        g = _ints(ev, "ip")
        ip = np.full(len(g), -1, np.int64)
        ip[g >= 0] = np.unique(g[g >= 0], return_inverse=True)[1]
    f = cluster_features(
        n_clusters=len(cls), acc_cluster=local_cl.astype(np.int64), ev_account=ev_acc.astype(np.int64),
        ev_ts_us=_ints(ev, "ts"), ev_output=_ints(ev, "output") if has_out else None, ev_family=fam,
        created_us=_ints(acc, "created_at") if has_created else None,
        ev_model=_ints(ev, "model") if has_model else None, ev_ip=ip, burst_window_s=burst_window_s, facts=facts)
    f.insert(0, "cl", cls.astype(np.int64))
    return f


def _schema(template: pd.DataFrame) -> str:
    """The Spark schema of a feature table (int64 -> long, everything else double)."""
    return ", ".join(f"`{c}` {'long' if template[c].dtype.kind in 'iu' else 'double'}" for c in template.columns)


_ACC_COLS = ("acc", "cl", "created_at")
_EV_COLS = ("eid", "acc", "ts", "output", "family", "model", "ip")


def _empty_batch(flags: tuple[bool, ...], facts: PopulationFacts, burst_window_s: int) -> pd.DataFrame:
    """The feature table of a batch without clusters: the columns and dtypes of every batch's."""
    z = np.zeros(0, np.int64)
    acc = pd.DataFrame({c: z for c in _ACC_COLS})
    ev = pd.DataFrame({c: z for c in _EV_COLS})
    ev["fshare"] = np.zeros(0)
    return _features_batch(acc, ev, facts, flags, burst_window_s)


def spark_features(ev: Any, acc_cl: Any, created: Any | None, facts: PopulationFacts, fshare: Any | None,
                   burst_window_s: int, n_clusters: int, n_batches: int) -> pd.DataFrame:
    """:func:`accountgraph.scoring.cluster_features` of every cluster, computed per batch of clusters in the executors.

    The batch of cluster ``cl`` is ``cl % n_batches``; each batch's accounts (``acc, cl,
    created_at``) and events (``eid, acc, ts, output, family, model, ip, fshare``) meet in one
    ``cogroup`` and :func:`_features_batch` scores them with the population ``facts``. Only the
    feature table (one row per cluster) is collected.
    """
    from pyspark.sql import functions as F

    flags = (facts.output_median is not None, fshare is not None, facts.pivot is not None,
             facts.exits_median is not None, facts.has_created)
    template = _empty_batch(flags, facts, burst_window_s)
    no_time = F.lit(-1).cast("long")
    # fresh attributes: both cogroup sides derive from acc_cl, and the analyzer rejects a shared `cl`
    accs = acc_cl.select(F.col("acc").alias("acc"), F.col("cl").alias("cl"))
    if created is not None:
        accs = accs.join(created.select("acc", "created_at"), "acc", "left")
        accs = accs.select("acc", "cl", F.coalesce("created_at", no_time).alias("created_at"))
    else:
        accs = accs.select("acc", "cl", no_time.alias("created_at"))
    x = ev.select(*_EV_COLS).join(acc_cl.select("acc", "cl"), "acc")
    if fshare is not None:
        x = x.join(fshare, "family", "left") \
            .withColumn("fshare", F.coalesce("fshare", F.lit(0.0).cast("double")))
    else:
        x = x.withColumn("fshare", F.lit(0.0).cast("double"))
    nb = int(n_batches)

    def run(a: pd.DataFrame, e: pd.DataFrame) -> pd.DataFrame:  # in the executors
        return _features_batch(a.drop(columns="b", errors="ignore"), e.drop(columns="b", errors="ignore"),
                               facts, flags, burst_window_s)

    accs, x = (d.withColumn("b", F.col("cl") % F.lit(nb)) for d in (accs, x))
    feats = accs.groupBy("b").cogroup(x.groupBy("b")).applyInPandas(run, _schema(template))
    f = feats.toPandas()  # cluster-sized: one row per cluster
    f = f.sort_values("cl", kind="stable").reset_index(drop=True)
    if len(f) != n_clusters or (f["cl"].to_numpy() != np.arange(n_clusters)).any():
        raise RuntimeError(f"scoring batches returned {len(f)} rows for {n_clusters} clusters")
    return f.drop(columns="cl").astype(template.dtypes.drop("cl").to_dict())


def score_spark(ev: Any, acc_cl: Any, created: Any | None, n_accounts: int, params: ScoringParams,
                cols: tuple[bool, bool, bool, bool], n_clusters: int, inc: Any = None,
                signals: Any = None, n_batches: int = 8, sig_types: Any = None,
                type_names: list[str] | None = None) -> pd.DataFrame:
    """Features and ring score per canonical cluster (as ``score_clusters`` returns them).

    ``ev``: ``eid``, ``acc``, ``ts``, ``output``, ``family``, ``model``, ``ip`` (codes, -1 unknown);
    ``acc_cl``: ``acc``, ``cl``; ``created``: ``acc``, ``created_at`` or None; ``cols``: whether the
    input has output lengths, template families, models and IPs. With the incidences ``inc``,
    ``signals`` (``sig, degree, weight``), ``sig_types`` (``sig, type_idx``) and ``type_names``,
    the signal concentration and the team blocks (:func:`team_spark`) join the features as in
    the local engine.
    """
    facts, fshare = spark_facts(ev, acc_cl, created, n_accounts, cols)
    f = spark_features(ev, acc_cl, created, facts, fshare, params.burst_window_s, n_clusters, n_batches)
    if inc is not None and signals is not None and n_clusters:
        f["signal_concentration"] = _concentration(inc, acc_cl, signals, n_clusters)
        if sig_types is not None and type_names is not None:
            f = team_spark(f, inc, acc_cl, signals, sig_types, type_names, params.team_block_candidates, n_batches)
    return apply_model(f, n_accounts, params, load_model(params.model))


class _Batch(NamedTuple):
    """One batch's clustered incidences under local codes (accounts, signals, clusters)."""

    pdf: pd.DataFrame  # sorted by (sig, acc)
    accs: np.ndarray   # global account code per local account
    a: np.ndarray      # local account per incidence
    s: np.ndarray      # local signal per incidence
    n_sigs: int
    cls: np.ndarray    # global cluster per local cluster
    cl_local: np.ndarray  # local cluster per local account

    def per_signal(self, col: str, dtype: Any) -> np.ndarray:
        """A per-signal column of the incidences as an array over local signals."""
        out = np.zeros(self.n_sigs, dtype)
        out[self.s] = self.pdf[col].to_numpy(dtype)
        return out


def _batch(pdf: pd.DataFrame) -> _Batch:
    """Local codes for a batch of clustered incidences (``acc, sig, cl`` and per-signal columns), in the
    local engine's order: incidences by (signal, account), codes ascending with the global ones."""
    pdf = pdf.sort_values(["sig", "acc"], kind="stable")
    accs, a = np.unique(pdf["acc"].to_numpy(np.int64), return_inverse=True)
    sigs, s = np.unique(pdf["sig"].to_numpy(np.int64), return_inverse=True)
    cl_of = np.zeros(len(accs), np.int64)
    cl_of[a] = pdf["cl"].to_numpy(np.int64)
    cls, cl_local = np.unique(cl_of, return_inverse=True)
    return _Batch(pdf, accs, a.astype(np.int64), s.astype(np.int64), len(sigs), cls, cl_local.astype(np.int64))


def _team_batch(pdf: pd.DataFrame, type_names: list[str], cand: np.ndarray) -> pd.DataFrame:
    """:func:`accountgraph.scoring.team_blocks` of the clusters of one batch (all their incidences)."""
    b = _batch(pdf)
    infra, ip, present = infrastructure_masks(type_names, b.per_signal("type_idx", np.int64),
                                              b.per_signal("weight", np.float64))
    pairs = cluster_pairs(b.a, b.s, b.cl_local, b.n_sigs)
    ip_cl = np.flatnonzero(np.isin(b.cls, cand))
    out = team_blocks(b.a, b.s, b.pdf["n_events"].to_numpy(np.int64), b.cl_local, pairs, infra, ip, len(b.cls), ip_cl)
    return pd.DataFrame({"cl": b.cls, "team_block_max": out["team_block_max"],
                         "team_block_ip_top_share": out["team_block_ip_top_share"],
                         "present": with_infrastructure(b.s, pairs, present, len(b.cls)).astype(np.float64)})


def team_spark(f: pd.DataFrame, inc: Any, acc_cl: Any, signals: Any, sig_types: Any, type_names: list[str],
               candidates: tuple[int, float], n_batches: int) -> pd.DataFrame:
    """``f`` with the team-block columns (:func:`accountgraph.scoring.add_team_blocks`), computed in the executors.

    Every cluster's incidences meet per batch of clusters in ``applyInPandas``
    (:func:`accountgraph.scoring.team_blocks` there); the address shares are computed for
    the clusters the team gate could apply to (more than ``candidates[0]`` accounts at
    ``candidates[1]`` events per account-day or more, ``ScoringParams.team_block_candidates``).
    One row per cluster reaches the driver.
    """
    from pyspark.sql import functions as F

    team_n, team_rate = candidates
    rate = np.nan_to_num(f["events_per_account_day"].to_numpy(np.float64))
    n_acc = f["n_accounts"].to_numpy()
    cand = np.flatnonzero((rate >= team_rate) & (n_acc > team_n)).astype(np.int64)  # cluster-sized, in the closure
    out = f.copy()
    x = (inc.select("acc", "sig", "n_events").join(acc_cl, "acc")
         .join(signals.select("sig", "weight"), "sig").join(sig_types.select("sig", "type_idx"), "sig"))
    names = list(type_names)
    schema = "cl long, team_block_max double, team_block_ip_top_share double, present double"
    t = x.withColumn("batch", F.col("cl") % int(n_batches)).groupBy("batch").applyInPandas(
        lambda pdf: _team_batch(pdf.drop(columns="batch"), names, cand), schema).toPandas()  # one row per cluster
    big = np.full(len(f), np.nan)
    top = np.full(len(f), np.nan)
    has = np.zeros(len(f), bool)
    cl = t["cl"].to_numpy(np.int64)
    big[cl] = t["team_block_max"].to_numpy(np.float64)
    top[cl] = t["team_block_ip_top_share"].to_numpy(np.float64)
    has[cl] = t["present"].to_numpy(np.float64) > 0
    out["team_block_max"] = big
    out["team_block_ip_top_share"] = top
    out["infra_block_share"] = np.where(has, block_share(big, n_acc), np.nan)
    return out


def _member_batch(pdf: pd.DataFrame) -> pd.DataFrame:
    """``member_scores`` on the clustered incidences of one batch of clusters (local indices, same order)."""
    b = _batch(pdf)
    m = member_scores(b.a, b.s, b.cl_local, b.per_signal("degree", np.int64), b.per_signal("weight", np.float64),
                      n_events=b.pdf["n_events"].to_numpy(np.int64), template=b.per_signal("template", bool))
    return pd.DataFrame({"acc": b.accs, "member_score": m})


def member_spark(inc: Any, acc_cl: Any, signals: Any, sig_types: Any, template_idx: int, n_batches: int) -> Any:
    """``(acc, member_score)`` of every clustered account (:func:`accountgraph.scoring.member_scores`)."""
    from pyspark.sql import functions as F

    x = (inc.select("acc", "sig", "n_events").join(acc_cl, "acc")
         .join(signals.select("sig", "degree", "weight"), "sig")
         .join(sig_types.select("sig", (F.col("type_idx") == template_idx).alias("template")), "sig"))
    return x.withColumn("batch", F.col("cl") % n_batches).groupBy("batch").applyInPandas(
        lambda pdf: _member_batch(pdf.drop(columns="batch")), "acc long, member_score double")
