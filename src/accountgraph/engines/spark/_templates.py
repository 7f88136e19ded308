"""Prompt-template families in Spark: per-batch signatures, band keys joined in Spark.

Same definition as :func:`accountgraph.templates.template_families`: the sample keeps
each account's earliest ``sample_cap`` events per window (the events of one instant
kept or dropped together), each sampled prompt is sketched by
:func:`accountgraph.minhash.shingle_signatures` and cut into band keys by
:func:`accountgraph.minhash.band_keys` inside ``mapInArrow`` (the compiled kernels
run in the executors), and a family is a connected component of signatures that
share a band key (:func:`._components.connected_components`). Family ids rank the
components by their smallest signature hash, as locally; the representative of a
family is the text of the first row (input position) holding its most frequent
signature (ties: smaller hash).

Signature hashes are unsigned 64-bit; they are stored as ``hash XOR 2**63`` in
signed longs so that Spark's order is the unsigned order.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pyarrow as pa

from ...minhash import EMPTY_BIN, band_keys, lsh_params, shingle_signatures
from ...templates import TemplateParams
from ._components import connected_components
from ._session import dense_index

__all__ = ["spark_templates"]

logger = logging.getLogger(__name__)

_FLIP = np.uint64(1 << 63)
_OK, _NULL, _EMPTY = 0, 1, 2


def _to_signed(h: np.ndarray) -> np.ndarray:
    return (h ^ _FLIP).view(np.int64)


def _sign_batch(t: pa.Table, p: TemplateParams, seed: int, bands: int, rows: int) -> pa.Table:
    """Signature hash, band keys and status of each sampled row of one batch."""
    arr = t["prompt"].combine_chunks()
    enc = arr.dictionary_encode()
    uniq = enc.dictionary if len(enc.dictionary) else pa.array([""], pa.string())
    sig, n_bad = shingle_signatures(uniq, num_perm=p.num_perm, seed=seed, width=p.shingle_width)
    empty = (sig == EMPTY_BIN).all(axis=1)
    ok = ~empty
    keys = np.zeros((len(uniq), bands), np.uint64)
    sh = np.zeros(len(uniq), np.uint64)
    if ok.any():
        keys[ok], sh[ok] = band_keys(sig[ok], bands, rows)
    codes = np.asarray(enc.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    c = np.maximum(codes, 0)
    status = np.where(codes < 0, _NULL, np.where(empty[c], _EMPTY, _OK)).astype(np.int8)
    good = status == _OK
    k = keys[c]
    used = (k != 0) & good[:, None]
    offsets = np.r_[0, np.cumsum(used.sum(axis=1))].astype(np.int32)
    flat = pa.ListArray.from_arrays(pa.array(offsets), pa.array(_to_signed(k[used]), pa.int64()))
    bad = np.zeros(t.num_rows, np.int64)
    if t.num_rows:
        bad[0] = n_bad
    return pa.table({"eid": t["eid"], "sh": pa.array(np.where(good, _to_signed(sh[c]), 0), pa.int64()),
                     "keys": flat, "status": pa.array(status),
                     "bad": pa.array(bad)})


def _sample(events: Any, p: TemplateParams) -> Any:
    """Each account's earliest ``sample_cap`` events per window, an instant's events together (as locally)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    ev = events.select("eid", "acc", "ts", "prompt")
    if p.sample_cap is None:
        return ev
    # rows before the instant (rank - 1) and rows at it: an instant's rows are kept or dropped together
    cap = int(p.sample_cap)
    w = Window.partitionBy("acc", "win").orderBy("ts")
    at = Window.partitionBy("acc", "win", "ts")
    return (ev.withColumn("win", F.expr(f"ts div {int(p.sample_window_s) * 1_000_000}"))
            .withColumn("before", F.rank().over(w) - 1).withColumn("tied", F.count(F.lit(1)).over(at))
            .where((F.col("before") < cap) & (F.col("before") + F.col("tied") <= 2 * cap))
            .drop("win", "before", "tied"))


def _families(signed: Any) -> tuple[Any, Any]:
    """``(sh -> family)`` and per-signature rows and first row, from the band keys."""
    from pyspark.sql import functions as F

    ok = signed.where(F.col("status") == _OK)
    per_sig = ok.groupBy("sh").agg(F.count(F.lit(1)).alias("rows"), F.min("eid").alias("first_eid"))
    keyed = ok.select("sh", F.explode("keys").alias("key")).distinct()
    lead = keyed.groupBy("key").agg(F.min("sh").alias("lead"))
    edges = keyed.join(lead, "key").where(F.col("sh") != F.col("lead")).select(
        F.col("sh").alias("src"), F.col("lead").alias("dst"))
    comp = connected_components(edges)
    lab = per_sig.join(comp.withColumnRenamed("node", "sh"), "sh", "left") \
        .withColumn("comp", F.coalesce("comp", "sh"))
    fam = dense_index(lab.select("comp").distinct(), [F.col("comp")], "family")
    return lab.join(fam, "comp").drop("comp").localCheckpoint(), ok


def spark_templates(events: Any, p: TemplateParams, seed: int, stats: dict[str, Any]) -> tuple[Any, Any] | None:
    """Family of each event (``eid``, ``family``; -1 none) and the family table, or None without prompts.

    The family table has ``family``, ``prompts``, ``distinct``, ``representative``
    (as :attr:`accountgraph.templates.TemplateFamilies.families`).
    """
    from pyspark.sql import functions as F

    bands, rows = lsh_params(p.similarity, p.num_perm)
    sample = _sample(events, p)
    schema = "eid long, sh long, keys array<long>, status byte, bad long"

    def run(batches: Any) -> Any:
        for b in batches:
            if b.num_rows:
                yield from _sign_batch(pa.Table.from_batches([b]), p, seed, bands, rows).to_batches()

    signed = sample.select("eid", "prompt").mapInArrow(run, schema).persist()
    counts = signed.groupBy("status").agg(F.count(F.lit(1)).alias("n"), F.sum("bad").alias("bad")).collect()
    by = {int(r["status"]): int(r["n"]) for r in counts}
    st = {"rows": None, "sampled": sum(by.values()), "null": by.get(_NULL, 0), "no_tokens": by.get(_EMPTY, 0),
          "invalid_utf8": sum(int(r["bad"] or 0) for r in counts), "bands": bands, "rows_per_band": rows}
    sig_fam, ok = _families(signed)
    ev_fam = ok.select("eid", "sh").join(sig_fam.select("sh", "family"), "sh").select("eid", "family")
    table = _family_table(sig_fam, events)
    n_fam = table.count()
    if n_fam:  # as locally: no "families" entry when no prompt had a signature
        st["families"] = n_fam
    stats["templates"] = st
    return ev_fam.localCheckpoint(), table


def _family_table(sig_fam: Any, events: Any) -> Any:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy("family").orderBy(F.col("rows").desc(), F.col("sh"))
    rep = sig_fam.withColumn("rk", F.row_number().over(w)).where(F.col("rk") == 1) \
        .select("family", F.col("first_eid").alias("eid"))
    rep = rep.join(events.select("eid", F.col("prompt").alias("representative")), "eid").drop("eid")
    agg = sig_fam.groupBy("family").agg(F.sum("rows").alias("prompts"), F.count(F.lit(1)).alias("distinct"))
    return agg.join(rep, "family").select("family", "prompts", "distinct", "representative").localCheckpoint()
