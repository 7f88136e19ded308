"""Property tests of accountgraph.metrics (hypothesis)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from accountgraph.metrics import KINDS, adjusted_rand_index, evaluate

settings.register_profile("metrics", max_examples=60, deadline=None)
settings.load_profile("metrics")


@st.composite
def scored_labels(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A labels table and a matching assignments table (some accounts missing)."""
    n = draw(st.integers(1, 40))
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=n, max_size=n))
    rings = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    clusters = draw(st.lists(st.integers(-1, 5), min_size=n, max_size=n))
    flagged = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    present = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    ids = [f"acc{i}" for i in range(n)]
    labels = pd.DataFrame(
        {
            "account_id": ids,
            "ring_id": [f"r{r}" if k == "ring" else None for r, k in zip(rings, kinds)],
            "kind": kinds,
        }
    )
    asg = pd.DataFrame({"account_id": ids, "cluster_id": clusters, "flagged": flagged})
    return asg[np.asarray(present, bool)].reset_index(drop=True), labels


def _same(a: dict, b: dict) -> bool:
    return all(
        (math.isnan(a[k]) and math.isnan(b[k])) if isinstance(a[k], float) and math.isnan(a[k]) else
        math.isclose(a[k], b[k], rel_tol=1e-12, abs_tol=1e-12)
        for k in a
    )


@given(scored_labels(), st.randoms(use_true_random=False))
def test_invariant_to_row_order_and_renaming(data: tuple[pd.DataFrame, pd.DataFrame], rnd) -> None:
    asg, lab = data
    ref = evaluate(asg, lab).to_dict()
    # Shuffle rows of both tables.
    perm_a = list(range(len(asg)))
    perm_l = list(range(len(lab)))
    rnd.shuffle(perm_a)
    rnd.shuffle(perm_l)
    assert _same(evaluate(asg.iloc[perm_a], lab.iloc[perm_l]).to_dict(), ref)
    # Rename accounts, rings and clusters by bijections (-1 must stay -1).
    acc_names = {a: f"x{rnd.randrange(10**9)}_{i}" for i, a in enumerate(lab["account_id"])}
    ring_names = {f"r{i}": f"ring-{rnd.randrange(10**6)}-{i}" for i in range(5)}
    cl = list(range(6))
    rnd.shuffle(cl)
    asg2 = asg.assign(
        account_id=asg["account_id"].map(acc_names),
        cluster_id=asg["cluster_id"].map(lambda c: -1 if c == -1 else 100 + cl[c]),
    )
    lab2 = lab.assign(account_id=lab["account_id"].map(acc_names), ring_id=lab["ring_id"].map(ring_names))
    assert _same(evaluate(asg2, lab2).to_dict(), ref)


@given(scored_labels())
def test_bounds_and_counts(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    asg, lab = data
    m = evaluate(asg, lab)
    for v in (m.precision, m.recall, m.f1, m.fpr_legit, m.fpr_enterprise, m.fpr_automation, m.ring_recall):
        assert math.isnan(v) or 0.0 <= v <= 1.0
    assert math.isnan(m.ari) or -1.0 <= m.ari <= 1.0 + 1e-12
    assert m.n_missing == len(lab) - len(asg)
    assert m.n_true_positive <= min(m.n_flagged, m.n_ring_accounts)
    assert math.isnan(m.ring_recall) == (m.n_ring_accounts == 0)
    # F1 is the harmonic mean whenever both parts are positive.
    if m.precision > 0 and m.recall > 0:
        assert math.isclose(m.f1, 2 * m.precision * m.recall / (m.precision + m.recall))


@given(scored_labels())
def test_nothing_flagged_and_everything_flagged(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    _, lab = data
    none = pd.DataFrame({"account_id": lab["account_id"], "cluster_id": -1, "flagged": False})
    m = evaluate(none, lab)
    for v in (m.fpr_legit, m.fpr_enterprise, m.fpr_automation):
        assert math.isnan(v) or v == 0.0
    assert (m.precision, m.recall, m.n_flagged) == (0.0, 0.0, 0)
    assert math.isnan(m.ring_recall) or m.ring_recall == 0.0
    every = none.assign(flagged=True)
    m = evaluate(every, lab)
    for v in (m.fpr_legit, m.fpr_enterprise, m.fpr_automation):
        assert math.isnan(v) or v == 1.0
    assert math.isnan(m.ring_recall) or m.ring_recall == 1.0
    assert m.recall == (1.0 if m.n_ring_accounts else 0.0)


@given(scored_labels())
def test_ari_one_when_clusters_are_rings(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    _, lab = data
    codes = pd.factorize(lab["ring_id"])[0]  # -1 for non-ring accounts, which ARI ignores
    asg = pd.DataFrame({"account_id": lab["account_id"], "cluster_id": codes * 7 + 3, "flagged": True})
    m = evaluate(asg, lab)
    assert math.isnan(m.ari) == (m.n_ring_accounts == 0)
    assert math.isnan(m.ari) or m.ari == 1.0


def _ari_bruteforce(a: list[int], b: list[int]) -> float:
    """ARI from explicit pair counting (Hubert & Arabie), O(n^2)."""
    n = len(a)
    pairs = list(itertools.combinations(range(n), 2))
    same_a = [a[i] == a[j] for i, j in pairs]
    same_b = [b[i] == b[j] for i, j in pairs]
    index = sum(x and y for x, y in zip(same_a, same_b))
    sa, sb, total = sum(same_a), sum(same_b), len(pairs)
    expected = sa * sb / total
    maximum = (sa + sb) / 2
    if maximum == expected:
        return 1.0
    return (index - expected) / (maximum - expected)


labels_lists = st.integers(2, 30).flatmap(
    lambda n: st.tuples(st.lists(st.integers(0, 5), min_size=n, max_size=n),
                        st.lists(st.integers(0, 5), min_size=n, max_size=n))
)


@given(labels_lists)
def test_ari_matches_pair_counting(ab: tuple[list[int], list[int]]) -> None:
    a, b = ab
    got = adjusted_rand_index(a, b)
    assert math.isclose(got, _ari_bruteforce(a, b), rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(got, adjusted_rand_index(b, a), rel_tol=1e-12, abs_tol=1e-15)
    assert adjusted_rand_index(a, a) == 1.0
    mapping = {v: f"c{i}" for i, v in enumerate(dict.fromkeys(b))}
    renamed = [mapping[x] for x in b]
    assert math.isclose(adjusted_rand_index(a, renamed), got, rel_tol=1e-12, abs_tol=1e-15)
