"""Property tests of the synthetic-world generator over seeds and scales."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accountgraph.synth import EVENTS_SCHEMA, generate

_SETTINGS = settings(max_examples=12, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(0.05, 0.6))
def test_world_invariants_hold_for_any_seed_and_scale(seed: int, scale: float) -> None:
    ds = generate("tiny", seed=seed, scale=scale)
    assert ds.events.schema.equals(EVENTS_SCHEMA)
    acc = ds.accounts.column("account_id")
    # Labels are a partition: one row per account, in the same order.
    assert ds.labels.column("account_id").equals(acc)
    assert pc.count_distinct(acc).as_py() == len(acc)
    # Every account (hence every ring account) has at least one event, and no others do.
    assert set(ds.events.column("account_id").unique().to_pylist()) == set(acc.to_pylist())
    ts = ds.events.column("timestamp").cast(pa.int64()).to_numpy()
    assert np.all(np.diff(ts) >= 0)
    toks = ds.events.column("output_tokens").to_numpy()
    assert toks.min() >= 1 and toks.max() <= 32000
    ring = ds.labels.filter(pc.equal(ds.labels["kind"], "ring"))
    assert ring.num_rows == sum(r.n_accounts for r in ds.scenario.rings)


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_same_seed_same_world(seed: int) -> None:
    a = generate("tiny", seed=seed, scale=0.1)
    b = generate("tiny", seed=seed, scale=0.1)
    assert a.events.equals(b.events)
    assert a.accounts.equals(b.accounts)
    assert a.labels.equals(b.labels)
