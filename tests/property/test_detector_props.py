"""Properties of detect(): partition validity, invariances, determinism, recovery.

Hypothesis draws the dataset's seed, size and ring size, the row permutation
and the account renaming; every property must hold for all of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import accountgraph
from tests.conftest import planted

SETTINGS = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Rings stay at most about a third of all accounts: a signal shared by most of
# the population is a hub by definition (``hub_share``), and so is a "ring"
# that is most of it.
datasets = st.builds(
    planted,
    seed=st.integers(0, 10_000),
    n_legit=st.integers(60, 150),
    ring_size=st.integers(6, 30),
    n_days=st.integers(8, 15),
)


def _run(ev, acc, seed=0, max_pairs=50_000_000):
    return accountgraph.detect(ev, acc, seed=seed, templates={"enabled": False}, graph={"max_pairs": max_pairs})


# A pair budget this small makes most shared signals "sampled" (sparse
# circulants instead of cliques), whose member order must not depend on names
# or row order either.
budgets = st.sampled_from([50_000_000, 40])


def _canon(res):
    """Partition as a set of frozensets plus per-account scores/flags."""
    a = res.assignments
    parts = frozenset(frozenset(g["account_id"]) for cid, g in a.groupby("cluster_id") if cid >= 0)
    return parts, dict(zip(a["account_id"], zip(a["ring_score"].round(12), a["flagged"])))


@SETTINGS
@given(data=datasets)
def test_assignments_cover_each_valid_account_once(data):
    ev, acc, _ = data
    a = _run(ev, acc).assignments
    assert a["account_id"].is_unique
    assert set(a["account_id"]) == set(ev["account_id"]) | set(acc["account_id"])
    assert a["account_id"].tolist() == sorted(a["account_id"])
    assert a["ring_score"].between(0, 1).all()
    assert (a.loc[a["cluster_id"] == -1, "ring_score"] == 0).all()
    assert a["cluster_id"].dtype == np.int64 and a["flagged"].dtype == bool


@SETTINGS
@given(data=datasets, perm_seed=st.integers(0, 2**32 - 1), budget=budgets)
def test_row_order_does_not_matter(data, perm_seed, budget):
    ev, acc, _ = data
    rng = np.random.default_rng(perm_seed)
    r1 = _run(ev, acc, max_pairs=budget)
    r2 = _run(ev.iloc[rng.permutation(len(ev))], acc.iloc[rng.permutation(len(acc))], max_pairs=budget)
    pd.testing.assert_frame_equal(r1.assignments, r2.assignments)
    pd.testing.assert_frame_equal(r1.clusters, r2.clusters)


@SETTINGS
@given(data=datasets, salt=st.text(alphabet="xyzXYZ019_-", min_size=1, max_size=6), budget=budgets)
def test_renaming_accounts_only_renames_output(data, salt, budget):
    ev, acc, _ = data
    ids = sorted(set(ev["account_id"]) | set(acc["account_id"]))
    # a bijection that scrambles the sort order of names
    new = {a: f"{salt}{(i * 7919) % len(ids):06d}" for i, a in enumerate(ids)}
    ev2 = ev.assign(account_id=ev["account_id"].map(new))
    acc2 = acc.assign(account_id=acc["account_id"].map(new))
    p1, s1 = _canon(_run(ev, acc, max_pairs=budget))
    p2, s2 = _canon(_run(ev2, acc2, max_pairs=budget))
    assert p2 == frozenset(frozenset(new[a] for a in part) for part in p1)
    assert s2 == {new[a]: v for a, v in s1.items()}


@SETTINGS
@given(data=datasets, seed=st.integers(0, 2**31 - 1))
def test_same_seed_same_output(data, seed):
    ev, acc, _ = data
    r1, r2 = _run(ev, acc, seed), _run(ev, acc, seed)
    pd.testing.assert_frame_equal(r1.assignments, r2.assignments)
    pd.testing.assert_frame_equal(r1.clusters, r2.clusters)


@SETTINGS
@given(data=datasets)
def test_planted_ring_is_found(data):
    ev, acc, ring = data
    a = _run(ev, acc).assignments.set_index("account_id")
    found = a.loc[sorted(ring)]
    assert found["flagged"].all()
    assert found["cluster_id"].nunique() == 1
    assert not a.loc[~a.index.isin(ring), "flagged"].any()


@SETTINGS
@given(data=st.builds(planted, seed=st.integers(0, 10_000), n_legit=st.integers(40, 120),
                      ring_size=st.integers(6, 20), n_days=st.integers(8, 12), hub_everyone=st.just(True)))
def test_hub_shared_by_everyone_does_not_merge_everyone(data):
    ev, acc, ring = data
    a = _run(ev, acc).assignments
    sizes = a[a["cluster_id"] >= 0].groupby("cluster_id").size()
    assert sizes.max() <= len(ring) + 3  # the ring (and at most a family-sized slip), never everyone
    legit = a[~a["account_id"].isin(ring)]
    assert not legit["flagged"].any()
