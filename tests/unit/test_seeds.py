"""Known-bad seeds (``_seeds``) and ``detect(..., known_bad=...)``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import accountgraph
from accountgraph import InvalidParameterError
from accountgraph._seeds import KNOWN_BAD_WEIGHT, apply_known_bad, known_bad_ids
from tests.conftest import planted


@pytest.mark.parametrize("value", [
    ["b", "a", "b", " a "], pd.Series(["a", "b"]), pa.array(["b", "a"]), {"a": True, "b": True, "c": False},
    pd.DataFrame({"account_id": ["a", "b"]}), pa.table({"account_id": ["a", "b", None]}), {"a", "b"},
])
def test_known_bad_ids_accepts_the_usual_containers(value):
    assert known_bad_ids(value).tolist() == ["a", "b"]


@pytest.mark.parametrize("value,match", [
    ("abc", "collection of account ids"), (42, "collection of account ids"),
    ([1, 2], "as str"), (pd.DataFrame({"id": ["a"]}), "without an 'account_id' column"),
])
def test_known_bad_ids_rejects_other_input(value, match):
    with pytest.raises(InvalidParameterError, match=match):
        known_bad_ids(value)


def test_contributions_still_sum_to_the_score():
    f = pd.DataFrame({"n_accounts": [4, 50, 3000], "contrib_a": [0.1, 0.3, 0.2], "ring_score": [0.1, 0.3, 0.2]})
    acc_cluster = np.array([0, 0, 1, 2, 2, -1])
    out = apply_known_bad(f, acc_cluster, np.array([True, False, True, True, False, True]))
    contrib = out[[c for c in out.columns if c.startswith("contrib_")]].sum(axis=1)
    np.testing.assert_allclose(contrib, out["ring_score"])
    assert out["n_known_bad"].tolist() == [1, 1, 1]
    assert out.loc[0, "contrib_known_bad"] == pytest.approx(KNOWN_BAD_WEIGHT * 0.9)  # full weight: 1 of 4
    assert out.loc[2, "contrib_known_bad"] < 0.01  # one seed among 3,000 barely moves a cluster
    assert out["ring_score"].between(0, 1).all()


def test_detect_with_seeds_flags_their_cluster_and_not_strangers():
    ev, acc, ring = planted(seed=1, n_legit=150, ring_size=12, n_days=10, hub_everyone=True)
    base = accountgraph.detect(ev, acc, seed=0, templates={"enabled": False})
    assert "known_bad" not in base.assignments.columns  # the default output is unchanged
    fam = ["fam0", "fam1", "fam2"]
    a = base.assignments.set_index("account_id")
    assert not a.loc[fam, "flagged"].any() and (a.loc[fam, "cluster_id"] >= 0).all()  # negative control
    seeded = accountgraph.detect(ev, acc, seed=0, templates={"enabled": False}, known_bad=["fam0"])
    s = seeded.assignments.set_index("account_id")
    assert s.loc[fam, "flagged"].all() and s.loc["fam0", "known_bad"] and not s.loc["fam1", "known_bad"]
    strangers = [x for x in s.index if x.startswith("user")]
    assert not s.loc[strangers, "flagged"].any()  # they share only the carrier-NAT hub with fam0
    assert s.loc[sorted(ring), "flagged"].all()
    row = seeded.clusters.loc[seeded.clusters["cluster_id"] == s.loc["fam0", "cluster_id"]].iloc[0]
    assert row["n_known_bad"] == 1 and row["contrib_known_bad"] > 0
    assert seeded.explain(int(row["cluster_id"])).contributions["contribution"].sum() == pytest.approx(row["ring_score"])
