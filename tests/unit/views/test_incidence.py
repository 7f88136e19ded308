"""The incidence rows behind cluster_signals (views._incidence): compact until read, the same table when read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import accountgraph
from accountgraph.synth import generate
from accountgraph.views import Deferred
from accountgraph.views._incidence import INCIDENCE_COLUMNS, IncidenceRows, cluster_incidence


def _rows(n: int = 200, seed: int = 0) -> tuple[IncidenceRows, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = pa.array([f"acct-{i:03d}" for i in range(50)], pa.large_string())
    cl, sig = rng.integers(0, 6, n), rng.integers(0, 40, n)
    acc, nev = rng.integers(0, 50, n), rng.integers(1, 9, n)
    expected = pd.DataFrame({"cluster_id": cl, "signal_id": sig, "account_id": pd.array(ids.take(pa.array(acc)),
                                                                                        dtype=pd.Series(["a"]).dtype),
                             "n_events": nev})
    return IncidenceRows(cl, sig.astype(np.int32), acc, nev.astype(np.int32), ids), expected


def test_rows_build_the_table_with_int64_ids_and_text_accounts():
    rows, expected = _rows()
    got = rows()
    assert list(got.columns) == INCIDENCE_COLUMNS and len(rows) == len(expected)
    pd.testing.assert_frame_equal(got, expected)
    assert rows._cluster.dtype == np.int32 and rows._account.dtype == np.int32  # kept compact


@pytest.mark.parametrize("cluster_id", [0, 3, 5, 99])
def test_one_cluster_equals_filtering_the_table(cluster_id):
    rows, _ = _rows(seed=cluster_id)
    full = rows()
    want = full.loc[full["cluster_id"] == cluster_id].reset_index(drop=True)
    pd.testing.assert_frame_equal(rows.frame(cluster_id), want)


def test_codes_that_do_not_fit_int32_are_kept_as_they_are():
    ids = pa.array(["a", "b"])
    rows = IncidenceRows(np.array([2**40, 1]), np.array([0, 1]), np.array([0, 1]), np.array([1, 1]), ids)
    assert rows._cluster.dtype == np.int64 and rows().loc[0, "cluster_id"] == 2**40


@pytest.fixture(scope="module")
def detected():
    ds = generate("small", seed=0)
    return accountgraph.detect(ds.events, ds.accounts, seed=0)


def test_detect_defers_the_incidences_and_each_reader_sees_the_same_rows(detected):
    res = detected
    raw = object.__getattribute__(res, "_incidence")
    assert isinstance(raw, Deferred) and isinstance(raw.source, IncidenceRows)
    ids = res.clusters["cluster_id"].head(8).tolist()
    per = {c: cluster_incidence(res, c) for c in ids}
    assert isinstance(object.__getattribute__(res, "_incidence"), Deferred)  # per-cluster reads do not build it
    full = res._incidence  # built on first read, then kept
    assert isinstance(object.__getattribute__(res, "_incidence"), pd.DataFrame)
    assert len(full) == len(raw.source) > 0
    for c in ids:
        want = full.loc[full["cluster_id"] == c]
        pd.testing.assert_frame_equal(per[c].reset_index(drop=True), want.reset_index(drop=True))
        pd.testing.assert_frame_equal(cluster_incidence(res, c).reset_index(drop=True), want.reset_index(drop=True))


def test_pseudonymised_incidences_stay_deferred_and_match_the_built_table():
    ds = generate("small", seed=0)
    key = b"k" * 32
    lazy = accountgraph.detect(ds.events, ds.accounts, seed=0).pseudonymized(key)
    built = accountgraph.detect(ds.events, ds.accounts, seed=0)
    _ = built._incidence  # build it before pseudonymising: the eager path
    built = built.pseudonymized(key)
    assert isinstance(object.__getattribute__(lazy, "_incidence"), Deferred)
    assert isinstance(object.__getattribute__(built, "_incidence"), pd.DataFrame)
    pd.testing.assert_frame_equal(lazy._incidence, built._incidence)
    c = int(lazy.clusters["cluster_id"].iloc[0])
    assert lazy.indicators(c).table.equals(built.indicators(c).table)
