"""Result tables built with numpy (views._tables) against plain pandas references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from accountgraph.views import cluster_templates
from accountgraph.views._tables import string_column


def _reference(acc_cid, ev_account, ev_family, templates):
    """Per cluster its top-5 families by prompts, as a pandas group-by (the former implementation)."""
    cl = acc_cid[ev_account]
    m = (cl >= 0) & (ev_family >= 0)
    if templates.empty or not m.any():
        return pd.DataFrame()
    df = pd.DataFrame({"cluster_id": cl[m], "family": ev_family[m]})
    g = df.groupby(["cluster_id", "family"], sort=True).size().rename("prompts").reset_index()
    g["share"] = g["prompts"] / g.groupby("cluster_id")["prompts"].transform("sum")
    g = g.sort_values(["cluster_id", "prompts", "family"], ascending=[True, False, True])
    g = g.groupby("cluster_id", sort=True).head(5)
    return g.merge(templates[["family", "representative"]], on="family", how="left").reset_index(drop=True)


@pytest.mark.parametrize("seed", range(40))
def test_cluster_templates_equals_the_pandas_reference(seed):
    rng = np.random.default_rng(seed)
    n_acc, n, n_fam = int(rng.integers(1, 50)), int(rng.integers(0, 600)), int(rng.integers(1, 12))
    acc_cid = rng.integers(-1, 6, n_acc).astype(np.int64)
    ev_account = rng.integers(0, n_acc, n).astype(np.int64)
    fam = rng.integers(-1, n_fam, n).astype(np.int64)
    reps = pd.Series([f"t{i}" for i in range(n_fam)], dtype=object if seed % 2 else None)
    tbl = pd.DataFrame({"family": np.arange(n_fam, dtype=np.int64), "prompts": 1, "distinct": 1, "representative": reps})
    got = cluster_templates(acc_cid, ev_account, fam, tbl)
    pd.testing.assert_frame_equal(got, _reference(acc_cid, ev_account, fam, tbl))
    if len(got):  # the check is not vacuous: top families per cluster, at most five
        assert got.groupby("cluster_id").size().max() <= 5
        assert (got.groupby("cluster_id")["share"].sum() <= 1 + 1e-12).all()


@pytest.mark.parametrize("typ", [pa.string(), pa.large_string()])
def test_string_column_is_the_column_of_the_python_strings(typ):
    values = pa.array(["acct-1", None, "ünïcödé", "", "x" * 300, "acct-1"], typ)
    idx = np.array([5, 0, 1, 2, 3, 4, 2, 1], np.int32)
    got = pd.DataFrame({"v": string_column(values, idx)}, copy=False)
    want = pd.DataFrame({"v": np.asarray(values.to_numpy(zero_copy_only=False), dtype=object)[idx]})
    pd.testing.assert_frame_equal(got, want)
    assert got["v"].isna().tolist() == [False, False, True, False, False, False, False, True]


def test_string_column_of_no_rows_and_of_chunks():
    values = pa.chunked_array([pa.array(["a", "b"]), pa.array(["c"])])
    assert pd.Series(string_column(values, np.array([2, 0], np.int64))).tolist() == ["c", "a"]
    assert len(string_column(values, np.zeros(0, np.int64))) == 0


def test_string_column_keeps_bytes_as_objects():
    values = pa.array([b"\xff\x00", b"ok"], pa.large_binary())
    got = string_column(values, np.array([1, 0]))
    assert list(got) == [b"ok", b"\xff\x00"]
    assert pd.Series(got).dtype == object
