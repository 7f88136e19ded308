"""Streamed Parquet ingest (ingest._stream) end to end: detect on a path equals detect on the table in memory.

The streamed validator hands on the identifier columns as dictionary arrays
over sorted values, with nulls. pyarrow (26) decodes such a *chunked*
dictionary column wrongly with ``to_numpy`` / ``numpy.asarray`` (a dictionary
value in place of each null), so every output that shows an identifier is
compared with the in-memory run on a world where a fifth of them are null.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import accountgraph
from accountgraph.ingest import Quarantine, validate_events
from accountgraph.synth import generate

_NULLED = ("ip", "device_id", "payment_id", "model", "net16")


def _with_nulls(ev: pa.Table, share: float, seed: int) -> pa.Table:
    """``ev`` plus an extra signal ``net16`` (the IP's /16), with ``share`` of each identifier set to null."""
    rng = np.random.default_rng(seed)
    cols = {c: ev[c] for c in ev.column_names}
    cols["net16"] = pc.replace_substring_regex(ev["ip"], r"\.\d+\.\d+$", ".0.0/16")
    for c in _NULLED:
        mask = pa.array(rng.random(ev.num_rows) < share)
        cols[c] = pc.if_else(mask, pa.scalar(None, cols[c].type), cols[c])
    return pa.table(cols)  # nullable fields


def _dump(d: dict) -> str:
    return json.dumps(d, sort_keys=True, default=repr)


def _dictionary_chunks(ev: pa.Table, rows: int) -> pa.Table:
    """``ev`` in chunks of ``rows`` with every identifier column dictionary-encoded chunk by chunk."""
    ev = pa.Table.from_batches(ev.to_batches(max_chunksize=rows))
    cols = [pa.chunked_array([c.dictionary_encode() for c in ev[name].chunks])
            if name in ("account_id", *_NULLED) else ev[name] for name in ev.column_names]
    return pa.Table.from_arrays(cols, names=ev.column_names)


@pytest.fixture(scope="module", params=["text", "dictionary"])
def nulled_world(tmp_path_factory, request):
    """Synthetic world with null identifiers, in memory and as Parquet; ``dictionary``: both hold
    dictionary columns (the in-memory table as several chunks, each with its own dictionary)."""
    ds = generate("tiny", seed=0)
    plain = ev = _with_nulls(ds.events, 0.2, seed=1)
    if request.param == "dictionary":
        ev = _dictionary_chunks(ev, 3000)
    path = tmp_path_factory.mktemp("stream") / "events.parquet"
    pq.write_table(ev, path, row_group_size=3000)  # several row groups: one dictionary per chunk
    return ds, ev, path, plain


def test_world_has_nulls_and_streams_dictionaries(nulled_world):
    _, ev, path, _ = nulled_world
    for c in _NULLED:
        assert 0.15 < ev[c].null_count / ev.num_rows < 0.35, c  # payment_id has some nulls already
    v = validate_events(path, extra_signals=["net16"], quarantine=Quarantine())
    for col in (v.ip, v.device_id, v.payment_id, v.model, v.extra["net16"]):
        assert pa.types.is_dictionary(col.type) and col.null_count > 0  # the case pyarrow decodes wrongly
    assert v.ip.to_numpy(zero_copy_only=False).tolist() != v.ip.to_pylist()  # negative control: the bug exists


def test_factorize_dictionary_chunks_with_nulls_as_text():
    """The codes every stage takes from a dictionary column: nulls -1, values as their text says."""
    from accountgraph.ingest._columns import factorize_sorted, factorize_union
    from accountgraph.ingest._stream import dictionary_column

    multi = pa.chunked_array([pa.array(["x", None, "y", "x"]).dictionary_encode(),
                              pa.array([None, "z", "a", None]).dictionary_encode()])
    coded = dictionary_column(np.array([1, -1, 0, -1, 1], np.int32), pa.array(["b", "c"]))  # -1 under nulls
    for col in (multi, coded):
        assert col.to_numpy(zero_copy_only=False).tolist() != col.to_pylist()  # pyarrow's bug: not used
        text = pa.array(col.to_pylist(), pa.string())
        codes, uniq = factorize_sorted(col)
        ref_codes, ref_uniq = factorize_sorted(text)
        assert codes.tolist() == ref_codes.tolist() and uniq.to_pylist() == ref_uniq.to_pylist()
    got, uniq = factorize_union([multi, coded, pa.array(["c", None])])
    ref, ref_uniq = factorize_union([pa.array(c.to_pylist(), pa.string()) for c in (multi, coded)]
                                    + [pa.array(["c", None])])
    assert [g.tolist() for g in got] == [r.tolist() for r in ref] and uniq.to_pylist() == ref_uniq.to_pylist()
    assert got[0].tolist() == [3, -1, 4, 3, -1, 5, 0, -1]


def _assert_same(got, ref) -> None:
    """Every output of ``detect`` that shows an identifier or depends on one."""
    for name in ("assignments", "clusters", "cluster_signals"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(ref, name), obj=name)
    assert got.quarantine.counts == ref.quarantine.counts
    for k in ("n_events", "n_accounts", "n_signals", "n_incidences", "n_edges"):
        assert got.stats[k] == ref.stats[k], k
    assert set(got.evidence) == set(ref.evidence)
    for k, table in ref.evidence.items():
        if isinstance(table, pd.DataFrame):
            pd.testing.assert_frame_equal(got.evidence[k], table, obj=f"evidence[{k}]")
    for cid in ref.clusters["cluster_id"].head(3).tolist():
        a, b = got.explain(cid), ref.explain(cid)
        assert str(a) == str(b)
        assert _dump(a.to_dict()) == _dump(b.to_dict())  # NaN equals NaN here
        pd.testing.assert_frame_equal(a.to_pandas("links"), b.to_pandas("links"))


def test_detect_on_parquet_with_null_identifiers_equals_memory(nulled_world):
    ds, ev, path, plain = nulled_world
    kw = dict(seed=0, ingest={"extra_signals": ["net16"]})
    ref = accountgraph.detect(plain, ds.accounts, **kw)  # plain text columns in memory: the reference
    assert len(ref.clusters) >= 3 and ref.cluster_signals["signal_type"].isin(["ip", "device", "x:net16"]).any()
    _assert_same(accountgraph.detect(path, ds.accounts, **kw), ref)
    if ev is not plain:  # dictionary chunks with nulls in memory
        _assert_same(accountgraph.detect(ev, ds.accounts, **kw), ref)
