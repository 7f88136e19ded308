"""Validation, quarantine counts, exact-duplicate removal and account codes, as Spark jobs.

Each row is validated by the local validators (:func:`accountgraph.ingest.validate_events`,
``validate_accounts``) inside ``mapInArrow``, so both engines apply the same rules and the
same first-reason-wins order. What depends on other rows is done in Spark:

* exact duplicate events: rows identical on every input column are grouped first
  (one shuffle); a group of ``n`` valid copies counts ``n - 1`` ``duplicate_event`` rows
  (identical rows are valid or invalid together, so this equals the local count);
* repeated account ids: rows are co-located by their trimmed id before validation, so the
  validator sees every copy and keeps the same row as the local engine;
* account codes: ranks of the sorted distinct ids (:func:`dense_index`), never collected.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ...ingest import IngestParams, Quarantine, ip_networks, validate_accounts, validate_events
from ._session import dense_index, grouped_by_bucket

__all__ = ["SparkInputs", "ingest"]

logger = logging.getLogger(__name__)

_BASE = ("ip", "device_id", "payment_id", "model", "prompt")
_ACC = ("payment_id", "email_domain", "phone_prefix")


@dataclass
class SparkInputs:
    """Validated events and accounts as DataFrames, with account codes.

    ``events``: ``eid`` (input row position), ``acc`` (account code), ``ts`` (UTC µs) and the
    optional canonical columns present (``ip``, ``ip_net``, ``device_id``, ``payment_id``,
    ``model``, ``prompt``, ``output_tokens``, ``x_<name>``). ``accounts``: ``acc``,
    ``created_at`` (µs, -1 unknown) and its optional columns. ``ids``: ``acc``, ``account_id``.
    """

    events: Any
    accounts: Any | None
    ids: Any
    n_accounts: int
    n_events: int
    columns: tuple[str, ...]
    account_columns: tuple[str, ...]
    stats: dict[str, Any]


def _event_schema(present: list[str], extras: list[str]) -> str:
    cols = ["eid long", "n long", "reason string", "account_id string", "ts long"]
    for c in _BASE:
        if c in present:
            cols.append(f"{c} string")
    if "ip" in present:
        cols.append("ip_net string")
    if "output_tokens" in present:
        cols.append("output_tokens long")
    cols += [f"x_{c} string" for c in extras]
    return ", ".join(cols)


def _scatter(arr: pa.Array, pos: np.ndarray) -> pa.Array:
    """Values of the kept rows (``arr``, in order) placed at their input rows; null at the others."""
    if not len(arr):
        return pa.nulls(len(pos), arr.type)
    taken = arr.take(pa.array(np.where(pos >= 0, pos, 0)))
    return pa.compute.if_else(pa.array(pos >= 0), taken, pa.scalar(None, arr.type))


def _spread(col: Any, typ: pa.DataType, pos: np.ndarray) -> pa.Array:
    if col is None:
        return pa.nulls(len(pos), typ)
    arr = pa.array(col, typ) if isinstance(col, np.ndarray) else pa.chunked_array(col).combine_chunks().cast(typ)
    return _scatter(arr, pos)


def _valid_events_batch(t: pa.Table, p: IngestParams, present: list[str]) -> pa.Table:
    """Validate one batch of distinct raw rows; one output row per input row (``reason`` null if kept)."""
    raw = t.drop_columns(["__eid", "__n"])
    q = Quarantine()
    ev = validate_events(raw, columns=p.columns, extra_signals=p.extra_signals, quarantine=q, drop_duplicates=False)
    rows = q.rows()
    m = t.num_rows
    reason = np.full(m, None, dtype=object)
    reason[rows["row"].to_numpy(np.int64)] = rows["reason"].to_numpy(object)
    kept = np.array([r is None for r in reason], bool)
    pos = np.full(m, -1, np.int64)
    pos[kept] = np.arange(int(kept.sum()))
    out = {"eid": t["__eid"], "n": t["__n"], "reason": pa.array(reason, pa.string()),
           "account_id": _spread(ev.account_id, pa.string(), pos), "ts": _spread(ev.timestamp, pa.int64(), pos)}
    for c in _BASE:
        if c in present:
            out[c] = _spread(getattr(ev, c), pa.string(), pos)
    if "ip" in present:
        nets = ip_networks(pa.chunked_array(ev.ip).combine_chunks()) if kept.any() else pa.array([], pa.string())
        out["ip_net"] = _scatter(nets.cast(pa.string()), pos)
    if "output_tokens" in present:
        out["output_tokens"] = _spread(ev.output_tokens, pa.int64(), pos)
    for c in p.extra_signals:
        out[f"x_{c}"] = _spread(ev.extra[c], pa.string(), pos)
    return pa.table(out)


def _present(valid: Any, names: tuple[str, ...]) -> list[str]:
    return [c for c in names if getattr(valid, c, None) is not None]


def _check_events(df: Any, p: IngestParams) -> list[str]:
    """Schema errors raised on the driver (an empty table with the DataFrame's schema); present columns."""
    ev = validate_events(df.limit(0).toArrow(), columns=p.columns, extra_signals=p.extra_signals,
                         quarantine=Quarantine(), drop_duplicates=False)
    return _present(ev, _BASE) + (["output_tokens"] if ev.output_tokens is not None else [])


def _events(df: Any, p: IngestParams, q: Quarantine, stats: dict[str, Any]) -> tuple[Any, list[str]]:
    """Kept events (one row per event) and the canonical columns present; counts into ``q``."""
    from pyspark.sql import functions as F

    present = _check_events(df, p)
    cols = [F.col(f"`{c}`") for c in df.columns]
    grouped = (df.withColumn("__eid", F.monotonically_increasing_id())
               .groupBy(*cols).agg(F.count(F.lit(1)).alias("__n"), F.min("__eid").alias("__eid")))
    schema = _event_schema(present, list(p.extra_signals))

    def run(batches: Any) -> Any:
        for b in batches:
            if b.num_rows:
                yield from _valid_events_batch(pa.Table.from_batches([b]), p, present).to_batches()

    checked = grouped.mapInArrow(run, schema).persist()
    summary = checked.groupBy("reason").agg(F.sum("n").alias("rows"), F.sum(F.col("n") - 1).alias("copies")).collect()
    n_in = n_dup = 0
    for r in summary:
        n_in += int(r["rows"])
        if r["reason"] is None:
            n_dup = int(r["copies"])
    for r in sorted(summary, key=lambda r: str(r["reason"])):
        if r["reason"] is not None:
            q.add("events", r["reason"], int(r["rows"]))
    kept = checked.where(F.col("reason").isNull()).drop("reason")
    if p.drop_duplicates:
        q.add("events", "duplicate_event", n_dup)
        kept = kept.drop("n")
    else:
        if n_dup:
            logger.warning("events: %d row(s) are exact copies of an earlier row; kept (drop_duplicates=False)", n_dup)
        kept = (kept.withColumn("__k", F.explode(F.sequence(F.lit(0), F.col("n") - 1)))
                .withColumn("eid", F.col("eid") * 1024 + F.col("__k")).drop("n", "__k"))
    stats.update(n_events_in=n_in, duplicate_events=n_dup)
    return kept, present


def _account_schema(present: list[str], extras: list[str]) -> str:
    cols = ["reason string", "n long", "account_id string", "created_at long"]
    cols += [f"{c} string" for c in _ACC if c in present]
    cols += [f"x_{c} string" for c in extras]
    return ", ".join(cols)


def _valid_accounts_part(t: pa.Table, p: IngestParams, present: list[str]) -> pa.Table:
    """Validate a partition holding every copy of its account ids: kept rows, then one row per reason."""
    q = Quarantine()
    ac = validate_accounts(t, columns=p.account_columns, extra_signals=p.account_extra_signals, quarantine=q)
    k = len(ac.account_id)
    out: dict[str, list[pa.Array]] = {}

    def add(name: str, kept: pa.Array, typ: pa.DataType, fill: Any) -> None:
        vals = [kept.cast(typ)] + [pa.array([fill] * len(q.counts), typ)]
        out[name] = vals

    reasons = sorted(q.counts.items())
    add("reason", pa.nulls(k, pa.string()), pa.string(), None)
    out["reason"][1] = pa.array([r for (_, r), _ in reasons], pa.string())
    add("n", pa.array(np.ones(k, np.int64)), pa.int64(), None)
    out["n"][1] = pa.array([n for _, n in reasons], pa.int64())
    add("account_id", pa.chunked_array(ac.account_id).combine_chunks(), pa.string(), None)
    created = ac.created_at if ac.created_at is not None else np.full(k, -1, np.int64)
    add("created_at", pa.array(created, pa.int64()), pa.int64(), None)
    for c in _ACC:
        if c in present:
            add(c, pa.chunked_array(getattr(ac, c)).combine_chunks(), pa.string(), None)
    for c in p.account_extra_signals:
        add(f"x_{c}", pa.chunked_array(ac.extra[c]).combine_chunks(), pa.string(), None)
    return pa.table({name: pa.concat_arrays(parts) for name, parts in out.items()})


def _accounts(df: Any, p: IngestParams, q: Quarantine, stats: dict[str, Any]) -> tuple[Any, list[str]]:
    """Kept account rows (one per id, chosen as the local validator does); counts into ``q``."""
    from pyspark.sql import functions as F

    ac = validate_accounts(df.limit(0).toArrow(), columns=p.account_columns, extra_signals=p.account_extra_signals,
                           quarantine=Quarantine())
    present = _present(ac, _ACC)
    id_col = (p.account_columns or {}).get("account_id", "account_id")
    # Rows that trim to the same id must meet in one validator call: co-locate them by the id
    # with all whitespace removed (a coarser key than trimming, so copies never split).
    key = F.regexp_replace(F.col(f"`{id_col}`").cast("string"), r"(?U)\s", "")
    parts = max(df.rdd.getNumPartitions(), 1)

    # rows of one id meet in one validator call (a grouping, see `grouped_by_bucket`)
    checked = grouped_by_bucket(df, key, parts, lambda t: _valid_accounts_part(t, p, present),
                                _account_schema(present, list(p.account_extra_signals)))
    checked = checked.persist()
    summary = checked.groupBy("reason").agg(F.sum("n").alias("rows")).collect()
    n_kept = 0
    for r in sorted(summary, key=lambda r: str(r["reason"])):
        if r["reason"] is None:
            n_kept = int(r["rows"])
        else:
            q.add("accounts", r["reason"], int(r["rows"]))
    stats.update(n_account_rows_in=sum(int(r["rows"]) for r in summary), n_account_rows=n_kept)
    return checked.where(F.col("reason").isNull()).drop("reason", "n"), present


def ingest(events: Any, accounts: Any | None, p: IngestParams, q: Quarantine) -> SparkInputs:
    """Validate both tables, count what is left out, and give every account its code.

    Codes are ranks of the sorted distinct account ids of kept events and kept
    account rows (Spark's string order is UTF-8 byte order, as Arrow's), so they
    equal the local engine's codes.
    """
    from pyspark.sql import functions as F

    stats: dict[str, Any] = {"n_account_rows_in": 0, "n_account_rows": 0}
    ev, present = _events(events, p, q, stats)
    ac, ac_present = (None, [])
    if accounts is not None:
        ac, ac_present = _accounts(accounts, p, q, stats)
    ids = ev.select("account_id")
    if ac is not None:
        ids = ids.union(ac.select("account_id"))
    ids = dense_index(ids.distinct(), [F.col("account_id")], "acc").localCheckpoint()
    ev = ev.join(ids, "account_id").drop("account_id").localCheckpoint()
    if ac is not None:
        ac = ac.join(ids, "account_id").drop("account_id").localCheckpoint()
    n_acc, n_ev = ids.count(), ev.count()
    stats.update(n_events=n_ev, n_accounts=n_acc)
    return SparkInputs(ev, ac, ids, n_acc, n_ev, tuple(present), tuple(ac_present), stats)
