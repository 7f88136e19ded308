"""Tables deferred until read (views._deferred): template texts of Parquet inputs stay on disk until asked for."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq

import accountgraph
from accountgraph.synth import generate
from accountgraph.views import Deferred


def test_deferred_value_and_then():
    d = Deferred(lambda: [1, 2])
    assert d.value() == [1, 2] and d.then(len).value() == 2


def test_parquet_template_texts_are_read_on_first_access_and_equal_memory(tmp_path):
    ds = generate("tiny", seed=0)
    pq.write_table(ds.events, tmp_path / "events.parquet", row_group_size=4000)
    mem = accountgraph.detect(ds.events, ds.accounts, seed=0)
    disk = accountgraph.detect(tmp_path / "events.parquet", ds.accounts, seed=0)
    assert isinstance(object.__getattribute__(disk, "templates"), Deferred)
    assert isinstance(object.__getattribute__(disk, "_cluster_templates"), Deferred)
    assert not isinstance(object.__getattribute__(mem, "templates"), Deferred)  # negative control
    pd.testing.assert_frame_equal(disk._cluster_templates, mem._cluster_templates)
    pd.testing.assert_frame_equal(disk.templates, mem.templates)
    assert isinstance(object.__getattribute__(disk, "templates"), pd.DataFrame)  # kept once read
    assert disk.explain(0).to_dict()["templates"] == mem.explain(0).to_dict()["templates"]


def test_pseudonymised_result_withholds_deferred_texts_without_reading_them(tmp_path):
    ds = generate("tiny", seed=0)
    pq.write_table(ds.events, tmp_path / "events.parquet", row_group_size=4000)
    key = b"k" * 32
    disk = accountgraph.detect(tmp_path / "events.parquet", ds.accounts, seed=0).pseudonymized(key)
    mem = accountgraph.detect(ds.events, ds.accounts, seed=0).pseudonymized(key)
    assert isinstance(object.__getattribute__(disk, "templates"), Deferred)
    pd.testing.assert_frame_equal(disk.templates, mem.templates)
    pd.testing.assert_frame_equal(disk._cluster_templates, mem._cluster_templates)
    assert set(disk.templates["representative"].dropna()) == set(mem.templates["representative"].dropna())
