"""The local engine (engines/local/_pipeline.py): event columns released as the stages finish."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

import accountgraph
import accountgraph.engines.local._pipeline as pipeline_mod
from tests.conftest import planted


def _released_at_views(monkeypatch, events, accounts):
    seen = {}
    result = pipeline_mod._result

    def spy(cfg, inp, *args, **kwargs):
        seen["ev"] = inp.ev
        return result(cfg, inp, *args, **kwargs)

    monkeypatch.setattr(pipeline_mod, "_result", spy)
    out = accountgraph.detect(events, accounts=accounts, progress=False)
    return seen["ev"], out


def test_views_stage_holds_only_the_event_columns_it_reads(monkeypatch, tmp_path):
    ev, ac, ring = planted(n_legit=80, ring_size=12, n_days=6)
    path = tmp_path / "events.parquet"
    pq.write_table(pa.Table.from_pandas(ev, preserve_index=False), path)
    held, from_path = _released_at_views(monkeypatch, str(path), ac)
    # what the views stage reads: times and token counts; every identifier column released
    assert held.account_id is None and held.ip is None and held.device_id is None
    assert held.payment_id is None and held.model is None and held.prompt is None and held.extra == {}
    assert len(held.timestamp) == len(ev) and held.output_tokens is not None
    # releasing changes nothing: the same result as from the in-memory table
    monkeypatch.undo()
    from_frame = accountgraph.detect(ev, accounts=ac, progress=False)
    a = from_path.assignments.sort_values("account_id").reset_index(drop=True)
    b = from_frame.assignments.sort_values("account_id").reset_index(drop=True)
    assert a.equals(b)
    assert set(a.loc[a["flagged"], "account_id"]) == ring


def test_release_keeps_the_other_columns():
    ev, ac, _ = planted(n_legit=20, ring_size=4, n_days=2)
    from accountgraph.ingest import Quarantine, validate_events

    valid = validate_events(pa.Table.from_pandas(ev, preserve_index=False), quarantine=Quarantine())
    inp = pipeline_mod._Inputs(valid, None, None, None, pa.array(["a"]))
    inp.release("device_id", "extra")
    assert inp.ev.device_id is None and inp.ev.extra == {}
    assert inp.ev.ip is valid.ip and inp.ev.payment_id is valid.payment_id and inp.ev.timestamp is valid.timestamp
    assert valid.device_id is not None  # the validated tables themselves are not changed
