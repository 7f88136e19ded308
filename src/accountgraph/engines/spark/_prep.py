"""The pipeline up to the account graph: validate, templates, signals, node order, projection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...ingest import Quarantine
from .._base import PipelineConfig
from ._graph import SparkGraph, spark_graph, substantial_table
from ._ingest import SparkInputs, ingest
from ._session import dense_index
from ._signals import SparkSignals, spark_signals
from ._templates import spark_templates

__all__ = ["Prepared", "node_keys", "prepare"]


@dataclass
class Prepared:
    """Everything the community and scoring stages read."""

    inp: SparkInputs
    ev_family: Any | None  # eid, family (sampled events with a family only)
    templates: Any | None  # the family table
    sig: SparkSignals
    node_key: Any  # acc, nk
    graph: SparkGraph


def node_keys(inp: SparkInputs) -> Any:
    """Name-independent account order: first activity, then volume, then code (as the local ``_node_key``)."""
    from pyspark.sql import functions as F

    act = inp.events.groupBy("acc").agg(F.min("ts").alias("first"), F.count(F.lit(1)).alias("n_ev"))
    allac = inp.ids.select("acc").join(act, "acc", "left").select(
        "acc", F.coalesce("first", F.lit(2**63 - 1)).alias("first"), F.coalesce("n_ev", F.lit(0)).alias("n_ev"))
    return dense_index(allac, [F.col("first"), F.col("n_ev").desc(), F.col("acc")], "nk").select("acc", "nk").localCheckpoint()


def prepare(cfg: PipelineConfig, events: Any, accounts: Any | None, q: Quarantine, stats: dict[str, Any],
            timer: Any) -> Prepared:
    """Run validate, templates, signals and graph; stats as the local engine keeps them."""
    with timer("validate"):
        inp = ingest(events, accounts, cfg.ingest, q)
        stats.update(inp.stats)
    ev_family = templates = None
    with timer("templates"):
        tp = cfg.templates
        if tp.enabled and "prompt" in inp.columns and inp.n_events:
            ev_family, templates = spark_templates(inp.events, tp, cfg.seed + 1, stats)
            stats["templates"]["rows"] = inp.n_events
    with timer("signals"):
        p = cfg.ingest
        sig = spark_signals(inp.events, inp.accounts, inp.columns, inp.account_columns, tuple(p.extra_signals),
                            tuple(p.account_extra_signals), ev_family)
        stats.update(n_signals=sig.n_signals, n_incidences=sig.n_incidences)
    with timer("graph"):
        nk = node_keys(inp)
        sub = None
        if ev_family is not None:
            sub = substantial_table(inp.events, ev_family, cfg.templates.substantial_top,
                                    cfg.templates.substantial_share)
        g = spark_graph(sig.incidence, sig.signals, sig.type_names, inp.n_accounts, cfg.graph, nk, cfg.seed, sub)
        stats.update(n_edges=g.n_edges, n_pairs=g.n_pairs, hub_cap=g.cap, type_caps=g.type_caps, n_hub_signals=g.n_hub)
    return Prepared(inp, ev_family, templates, sig, nk, g)
