"""Public entry points: :func:`generate` (in memory) and :func:`write` (streamed Parquet)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .._exceptions import InvalidParameterError
from ._events import EVENTS_SCHEMA, EventGenerator
from ._pools import MODELS, NEW_MODEL, PHONES, World
from ._population import KINDS, Population, add_automation, add_enterprises, add_legit
from ._rings import add_rings
from ._random import random_scenario
from ._scenarios import RANDOM, get_scenario
from ._spec import Scenario
from ._util import check_positive_int, check_scale, check_seed, hex_text, rng_for, unique_u64

__all__ = ["SynthDataset", "generate", "write", "ACCOUNTS_SCHEMA", "LABELS_SCHEMA"]

logger = logging.getLogger(__name__)

ACCOUNTS_SCHEMA = pa.schema([
    pa.field("account_id", pa.string(), nullable=False),
    pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("payment_id", pa.string()),
    pa.field("email_domain", pa.string(), nullable=False),
    pa.field("phone_prefix", pa.string(), nullable=False),
])
LABELS_SCHEMA = pa.schema([
    pa.field("account_id", pa.string(), nullable=False),
    pa.field("ring_id", pa.string()),
    pa.field("kind", pa.string(), nullable=False),
])
_US_PER_H = 3_600_000_000


@dataclass(frozen=True)
class SynthDataset:
    """A generated world: events, accounts and ground-truth labels.

    Attributes
    ----------
    events : pyarrow.Table
        One row per exchange, sorted by ``timestamp`` (then account), schema
        :data:`EVENTS_SCHEMA`.
    accounts : pyarrow.Table
        One row per account, sorted by ``account_id``.
    labels : pyarrow.Table
        ``account_id``, ``ring_id`` (null unless a ring), ``kind``; same order as accounts.
    scenario : Scenario
        The scenario after scaling.
    params : dict
        Seed, scale, window, release date and realised counts (JSON-serialisable).
    """

    events: pa.Table
    accounts: pa.Table
    labels: pa.Table
    scenario: Scenario
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def description(self) -> str:
        """The scenario's rationale."""
        return self.scenario.description

    def to_pandas(self) -> tuple[Any, Any, Any]:
        """Return ``(events, accounts, labels)`` as pandas DataFrames."""
        return self.events.to_pandas(), self.accounts.to_pandas(), self.labels.to_pandas()


def _build(spec: Scenario, seed: int) -> tuple[Population, EventGenerator, pa.Table, pa.Table]:
    world = World(rng_for(seed, 0), spec.n_legit, cgnat_users_per_exit=spec.cgnat_users_per_exit,
                  vpn_users_per_exit=spec.vpn_users_per_exit, device_catalog=spec.device_catalog)
    pop = Population(spec, world, seed)
    add_legit(pop)
    add_enterprises(pop)
    add_automation(pop)
    add_rings(pop)
    pop.freeze()
    pop.first_h = pop.profiles.sample(rng_for(seed, 1), pop.row, pop.act_start, pop.act_end)
    ids = unique_u64(rng_for(seed, 2), pop.n, bits=48)
    pop.account_id = hex_text("acct_", ids, groups=3)
    start_us = int(dt.datetime.fromisoformat(spec.start).replace(tzinfo=dt.timezone.utc)
                   .timestamp() * 1_000_000)
    gen = EventGenerator(pop, start_us, seed, spec.expected_events())

    order = pa.array(np.argsort(ids, kind="stable"))
    created = start_us + np.round(pop.created_h * _US_PER_H).astype(np.int64)
    payments = gen._payments.take(pa.array(pop.pay_off, mask=pop.pay_len == 0))
    emails = pa.array(world.emails, type=pa.string()).take(pa.array(pop.email))
    phones = pa.array(PHONES, type=pa.string()).take(pa.array(pop.phone))
    accounts = pa.Table.from_arrays(
        [pop.account_id, pa.array(created, type=pa.timestamp("us", tz="UTC")), payments,
         emails, phones], schema=ACCOUNTS_SCHEMA).take(order)
    ring_names = pa.array(pop.ring_ids or [""], type=pa.string())
    ring_id = ring_names.take(pa.array(np.maximum(pop.ring, 0), mask=pop.ring < 0))
    kinds = pa.array(KINDS, type=pa.string()).take(pa.array(pop.kind))
    labels = pa.Table.from_arrays([pop.account_id, ring_id, kinds],
                                  schema=LABELS_SCHEMA).take(order)
    return pop, gen, accounts, labels


def _params(spec: Scenario, seed: int, scale: float, pop: Population,
            gen: EventGenerator) -> dict[str, Any]:
    start = dt.datetime.fromisoformat(spec.start).replace(tzinfo=dt.timezone.utc)
    release = (None if spec.model_release_day is None
               else (start + dt.timedelta(days=spec.model_release_day)).isoformat())
    return {
        "scenario": spec.name, "seed": seed, "scale": scale, "start": start.isoformat(),
        "end": (start + dt.timedelta(days=spec.days)).isoformat(), "days": spec.days,
        "models": MODELS, "new_model": MODELS[NEW_MODEL], "model_release": release,
        "accounts_by_kind": {k: int((pop.kind == i).sum()) for i, k in enumerate(KINDS)},
        "ring_ids": list(pop.ring_ids), "ring_target_events": {r.ring_id: r.n_events
                                                               for r in spec.rings},
        "expected_events": float(spec.expected_events()), "slice_hours": gen.slice_hours,
        "description": spec.description,
    }


def _resolve(scenario: str | Scenario, seed: object, scale: object,
             func: str) -> tuple[Scenario, int, float]:
    if scenario == RANDOM:
        # The seed draws the whole world spec, then realises it.
        spec = random_scenario(check_seed(seed, func))
    else:
        spec = get_scenario(scenario, func)
    return spec.scaled(check_scale(scale, func)), check_seed(seed, func), check_scale(scale, func)


def generate(scenario: str | Scenario, *, seed: int = 0, scale: float = 1.0,
             max_events: int = 10_000_000) -> SynthDataset:
    """Generate a labelled synthetic world in memory.

    Parameters
    ----------
    scenario : str or Scenario
        A name from :func:`list_scenarios` (e.g. ``"tiny"``, ``"small"``), ``"random"``
        (the seed draws the whole world spec, see :func:`random_scenario`) or a custom
        :class:`Scenario`.
    seed : int, default 0
        Same scenario, seed and scale give identical tables.
    scale : float, default 1.0
        Multiplies every account and exchange count, in (0, 1000].
    max_events : int, default 10_000_000
        Refuse worlds expected to be larger (use :func:`write`, which streams).

    Returns
    -------
    SynthDataset

    Raises
    ------
    InvalidParameterError
        Unknown scenario, bad seed or scale, or a world above ``max_events``.

    Notes
    -----
    Vectorised: roughly 10^6 events every few seconds on one core. Memory is the
    size of the tables (~0.5 kB per event, mostly prompt text).

    Examples
    --------
    >>> from accountgraph.synth import generate
    >>> ds = generate("tiny", seed=1, scale=0.2)
    >>> ds.events.column_names[:3]
    ['account_id', 'timestamp', 'ip']
    >>> set(ds.labels.column("kind").to_pylist()) <= {"legit", "enterprise", "automation", "ring"}
    True
    """
    spec, seed, scale = _resolve(scenario, seed, scale, "generate")
    check_positive_int(max_events, "max_events", "generate")
    expected = spec.expected_events()
    if expected > max_events:
        raise InvalidParameterError(
            f"The 'scale' parameter of generate gives scenario {spec.name!r} about "
            f"{expected:,.0f} events, above max_events={max_events:,}. Got {scale!r}. Use "
            "accountgraph.synth.write(...) to stream it to Parquet, lower the scale, or raise "
            "max_events."
        )
    pop, gen, accounts, labels = _build(spec, seed)
    events = pa.concat_tables(list(gen)) if gen.n_slices else EVENTS_SCHEMA.empty_table()
    logger.info("generated %s: %d accounts, %d events", spec.name, pop.n, events.num_rows)
    return SynthDataset(events, accounts, labels, spec, _params(spec, seed, scale, pop, gen))


def write(scenario: str | Scenario, out_dir: str | os.PathLike[str], *, seed: int = 0,
          scale: float = 1.0, batch_rows: int = 262_144,
          compression: str = "zstd") -> dict[str, Path]:
    """Generate a world and stream it to Parquet files in ``out_dir``.

    Parameters
    ----------
    scenario : str or Scenario
        As in :func:`generate`.
    out_dir : path
        Created if missing; ``events.parquet``, ``accounts.parquet``,
        ``labels.parquet`` and ``params.json`` are overwritten.
    seed, scale : int, float
        As in :func:`generate`; the table contents equal ``generate``'s exactly.
    batch_rows : int, default 262_144
        Rows per Parquet row group. Row-group layout depends on it, contents do not.
    compression : {"zstd", "snappy", "lz4", "gzip", "brotli", "none"}, default "zstd"
        Parquet codec (zstd: ~110 bytes per event on disk; snappy is faster, larger).

    Returns
    -------
    dict of str to Path
        Keys ``"events"``, ``"accounts"``, ``"labels"``, ``"params"``.

    Notes
    -----
    Memory is bounded by one time slice (at most ~1.3e5 expected events) plus two
    row groups (one being written in a background thread while the next is
    generated), independent of the total: see ``benchmarks/results/synth.md`` for
    the measured peak RSS of the 33.5M-event ``seed-2026-small`` world.
    """
    spec, seed, scale = _resolve(scenario, seed, scale, "write")
    batch_rows = check_positive_int(batch_rows, "batch_rows", "write")
    codecs = ("zstd", "snappy", "lz4", "gzip", "brotli", "none")
    if compression not in codecs:
        raise InvalidParameterError(
            f"The 'compression' parameter of write must be one of {list(codecs)}. "
            f"Got {compression!r} instead."
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pop, gen, accounts, labels = _build(spec, seed)
    paths = {k: out / f"{k}.parquet" for k in ("events", "accounts", "labels")}
    paths["params"] = out / "params.json"
    total = _write_events(paths["events"], gen, spec.name, compression, batch_rows)
    pq.write_table(accounts, paths["accounts"], compression=compression)
    pq.write_table(labels, paths["labels"], compression=compression)
    params = _params(spec, seed, scale, pop, gen)
    params["events"] = total
    paths["params"].write_text(json.dumps(params, indent=2, sort_keys=True))
    logger.info("wrote %s: %d accounts, %d events to %s", spec.name, pop.n, total, out)
    return paths


def _write_events(path: Path, gen: EventGenerator, name: str, compression: str, batch_rows: int) -> int:
    """Stream the generator's time slices to ``path`` in row groups of ``batch_rows``; the event count."""
    dict_cols = ["account_id", "ip", "device_id", "payment_id", "model"]
    total = 0
    # One background thread compresses and writes while the next slices are generated
    # (both release the GIL); at most one row-group batch is in flight, so memory stays
    # bounded and the file layout is the same as a serial write.
    with pq.ParquetWriter(path, EVENTS_SCHEMA, compression=compression,
                          use_dictionary=dict_cols) as writer, \
            ThreadPoolExecutor(max_workers=1) as pool:
        pending: Future[None] | None = None

        def submit(tbl: pa.Table) -> Future[None]:
            if pending is not None:
                pending.result()
            return pool.submit(writer.write_table, tbl, row_group_size=batch_rows)

        buf: list[pa.Table] = []
        buffered = 0
        for i, tbl in enumerate(gen):
            buf.append(tbl)
            buffered += tbl.num_rows
            if buffered >= batch_rows:
                merged = pa.concat_tables(buf)
                full = (buffered // batch_rows) * batch_rows
                for k in range(0, full, batch_rows):
                    pending = submit(merged.slice(k, batch_rows))
                buf = [merged.slice(full)]
                buffered -= full
                total += full
            if i % 20 == 0:
                logger.info("%s: slice %d/%d, %d events queued", name, i + 1,
                            gen.n_slices, total)
        if buffered:
            pending = submit(pa.concat_tables(buf))
            total += buffered
        if pending is not None:
            pending.result()
    return total
