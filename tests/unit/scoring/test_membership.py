"""Account-level membership: member_scores and the min_member_score gate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import accountgraph
from accountgraph.scoring import ScoringParams, member_scores
from tests.conftest import planted


N_FULL = 10  # accounts 0-9: the cluster's typical members
WEAK, OUT = N_FULL, N_FULL + 1  # a member tied by one signal; an account in no cluster


def _toy():
    # cluster 0: accounts 0-9 share rare signals 0, 1, 2; account 10 shares only signal 0; account 11 is in no cluster
    acc = np.array([a for a in range(N_FULL) for _ in range(3)] + [WEAK, OUT])
    sig = np.array([s for _ in range(N_FULL) for s in (0, 1, 2)] + [0, 3])
    cl = np.array([0] * (N_FULL + 1) + [-1])
    degree = np.bincount(sig, minlength=4)
    weight = np.array([0.5, 0.5, 0.5, 0.0])
    return acc, sig, cl, degree, weight


def test_typical_member_scores_one_and_a_one_signal_member_less():
    got = member_scores(*_toy())
    assert got[:N_FULL].tolist() == [1.0] * N_FULL
    assert got[WEAK] == pytest.approx(1 / 3)  # one of the three concentrated signals
    assert got[OUT] == 0.0


def test_the_reference_is_the_lower_quartile_member():
    """Two rings in one cluster: 12 accounts holding 4 signals each, 6 holding 2 (their own).
    Against the median (a member of the larger ring) the smaller ring's accounts would score
    1/2 and sit on the gate; against the lower quartile (a member of the smaller) they score 1."""
    acc, sig = [], []
    for a in range(12):
        acc += [a] * 4
        sig += [0, 1, 2, 3]
    for a in range(12, 18):
        acc += [a] * 2
        sig += [4, 5]
    acc, sig = np.array(acc), np.array(sig)
    degree = np.bincount(sig)
    got = member_scores(acc, sig, np.zeros(18, np.int64), degree, np.full(6, 0.5))
    assert (got == 1.0).all()


def test_behaviour_keeps_a_weakly_tied_member_who_sends_the_clusters_templates():
    """Account WEAK shares one of three signals, but sends the cluster's template like everyone: kept.

    Signal 4 is a template family used by accounts 0-10 (a shared template of the cluster); a
    household account (OUT, in the cluster through signal 0 only) sends a template nobody else
    uses and stays low.
    """
    acc, sig, cl, degree, weight = _toy()
    acc = np.r_[acc[:-1], OUT, np.arange(N_FULL + 1), OUT]
    sig = np.r_[sig[:-1], 0, np.full(N_FULL + 1, 4), 5]
    cl = np.zeros(N_FULL + 2, np.int64)
    degree = np.bincount(sig, minlength=6)
    weight = np.array([0.5, 0.5, 0.5, 0.0, 0.0, 0.0])
    n_events = np.full(len(acc), 10)
    template = np.array([False, False, False, False, True, True])
    plain = member_scores(acc, sig, cl, degree, weight)
    both = member_scores(acc, sig, cl, degree, weight, n_events=n_events, template=template)
    assert plain[WEAK] == pytest.approx(1 / 3) and both[WEAK] == pytest.approx((1 / 3 + 1.5) / 2.5)  # passes 0.5
    assert both[OUT] == pytest.approx(plain[OUT] / 2.5) and both[OUT] < 0.5
    assert (both[:N_FULL] == 1.0).all()


def _mixed_cluster(n_ring: int, n_strangers: int, n_exits: int = 3):
    """One cluster: a ring sharing its own template family (signal 0) and exits 1..n_exits;
    strangers each behind all of the ring's exits (more exits than the ring itself needs),
    sending only a template nobody else uses (their own signal)."""
    acc, sig = [], []
    for a in range(n_ring):
        acc += [a] * (1 + n_exits)
        sig += [0] + list(range(1, 1 + n_exits))
    for j in range(n_strangers):
        a = n_ring + j
        acc += [a] * (1 + n_exits)
        sig += list(range(1, 1 + n_exits)) + [1 + n_exits + j]
    acc, sig = np.array(acc), np.array(sig)
    n_sig = 1 + n_exits + n_strangers
    degree = np.bincount(sig, minlength=n_sig)
    weight = np.where(degree >= 2, 1.0 / np.log2(degree + 1), 0.0)
    template = np.zeros(n_sig, bool)
    template[0] = True
    template[1 + n_exits:] = True
    return acc, sig, np.zeros(n_ring + n_strangers, np.int64), degree, weight, np.full(len(acc), 10), template


def test_strangers_behind_the_exits_stay_out_even_when_they_outnumber_the_ring():
    """Six strangers and four ring accounts: the median member is a stranger, so the strength
    half says every stranger is typical (1.0); the behaviour half compares with the typical
    *sender* of the cluster's template, which no stranger sends, and keeps them under the gate."""
    acc, sig, cl, degree, weight, n_events, template = _mixed_cluster(4, 6)
    plain = member_scores(acc, sig, cl, degree, weight)
    got = member_scores(acc, sig, cl, degree, weight, n_events=n_events, template=template)
    assert (plain[4:] == 1.0).all()  # strength alone cannot tell them apart here
    gate = ScoringParams().min_member_score
    assert (got[:4] >= gate).all() and (got[4:] < gate).all()
    assert got[4:].max() == pytest.approx(1 / 2.5)


def test_a_template_used_by_few_of_a_large_cluster_but_mostly_inside_it_is_shared():
    """Four ring accounts in a cluster of 30: their family reaches 13 % of the cluster, under the
    30 % share, but all its users are in the cluster, so it is the cluster's own template."""
    acc, sig, cl, degree, weight, n_events, template = _mixed_cluster(4, 26)
    got = member_scores(acc, sig, cl, degree, weight, n_events=n_events, template=template)
    assert (got[:4] == 1.0).all() and (got[4:] < ScoringParams().min_member_score).all()
    # the same family with most of its users elsewhere (a public template) is not the cluster's
    degree_public = degree.copy()
    degree_public[0] = 100
    public = member_scores(acc, sig, cl, degree_public, weight, n_events=n_events, template=template)
    assert (public[4:] == 1.0).all()  # no behaviour evidence: the strength half alone


def test_not_sending_templates_that_carry_little_of_the_clusters_prompts_is_no_evidence():
    """A ring of 20 accounts tied by the same exits, each sending its own prompt variants (a family
    per account) and three of them also one common family: the shared family carries 3 of the
    cluster's 200 template prompts (coverage 0.015), so the 17 members that do not send it keep
    the score of their ties (1.0 scaled by a small behaviour weight), not 1/2.5."""
    n, exits = 20, 3
    acc, sig, nev = [], [], []
    for a in range(n):
        acc += [a] * (exits + 1)
        sig += list(range(exits)) + [exits + 1 + a]  # the exits, then the account's own family
        nev += [10] * exits + [9 if a < 3 else 10]
    for a in range(3):  # one prompt each in a common family
        acc.append(a)
        sig.append(exits)
        nev.append(1)
    acc, sig, nev = np.array(acc), np.array(sig), np.array(nev)
    n_sig = exits + 1 + n
    degree = np.bincount(sig, minlength=n_sig)
    weight = np.where(degree >= 2, 0.5, 0.0)
    template = np.arange(n_sig) >= exits
    got = member_scores(acc, sig, np.zeros(n, np.int64), degree, weight, n_events=nev, template=template)
    gate = ScoringParams().min_member_score
    assert (got >= gate).all()
    assert got[3:] == pytest.approx(np.full(n - 3, 1 / 1.225))  # weight 1.5 * 0.015 / 0.1 = 0.225
    # the same cluster where the common family carries most prompts: the non-senders drop out
    nev_heavy = np.where(sig == exits, 30, nev)
    heavy = member_scores(acc, sig, np.zeros(n, np.int64), degree, weight, n_events=nev_heavy, template=template)
    assert (heavy[:3] >= gate).all() and (heavy[3:] < gate).all()


def test_hub_signals_count_for_nothing():
    acc, sig, cl, degree, weight = _toy()
    weight = weight.copy()
    weight[0] = 0.0  # signal 0 is a hub (weight 0): account WEAK's only tie is worthless
    assert member_scores(acc, sig, cl, degree, weight)[WEAK] == 0.0


@settings(max_examples=50, deadline=None)
@given(st.permutations(range(N_FULL + 2)))
def test_relabelling_accounts_permutes_the_scores(perm):
    acc, sig, cl, degree, weight = _toy()
    perm = np.asarray(perm)
    got = member_scores(perm[acc], sig, cl[np.argsort(perm)], degree, weight)
    np.testing.assert_array_equal(got[perm], member_scores(acc, sig, cl, degree, weight))


def _with_household():
    """The planted ring plus a two-person household behind one of the ring's proxy exits."""
    ev, acc, ring = planted(seed=1)
    rng = np.random.default_rng(7)
    rows = []
    for h in ("house0", "house1"):
        for d in range(10):
            rows.append({"account_id": h, "timestamp": pd.Timestamp("2026-05-01 19:00", tz="UTC") + pd.Timedelta(days=d, minutes=int(rng.integers(0, 120))),
                         "ip": "198.51.100.3", "device_id": f"phone-{h}", "payment_id": f"card-{h}",
                         "output_tokens": int(rng.integers(50, 2000))})
    ev = pd.concat([ev, pd.DataFrame(rows)], ignore_index=True)
    acc = pd.concat([acc, pd.DataFrame({"account_id": ["house0", "house1"], "created_at": pd.Timestamp("2025-01-01", tz="UTC"),
                                        "email_domain": "mail.example"})], ignore_index=True)
    return ev, acc, ring


def test_member_scores_separate_a_household_from_ring_members():
    # A ring of 20: each account on 3 of 8 proxy exits, one of 2 automation stacks, one of 2 payment
    # cells; a two-person household behind exit 0 was pulled into the cluster with them.
    rng = np.random.default_rng(0)
    acc, sig = [], []
    for a in range(20):
        for s in [*rng.choice(8, 3, replace=False), 8 + a % 2, 10 + a % 2]:
            acc.append(a)
            sig.append(int(s))
    for h in (20, 21):
        acc += [h, h]
        sig += [0, 12 + h]  # the shared exit and the household's own card
    acc, sig = np.array(acc), np.array(sig)
    degree = np.bincount(np.unique(np.c_[acc, sig], axis=0)[:, 1], minlength=34)
    weight = np.where(degree >= 2, 1.0 / np.log2(np.maximum(degree, 1) + 1), 0.0)
    cl = np.zeros(22, np.int64)
    got = member_scores(acc, sig, cl, degree, weight)
    assert np.median(got[:20]) == 1.0
    assert got[20:].max() < 0.3 < np.quantile(got[:20], 0.1)
    cut = float(ScoringParams(min_member_score=0.3).min_member_score)
    assert (got[:20] >= cut).all() and (got[20:] < cut).all()


def test_households_behind_ring_exits_are_not_flagged_end_to_end():
    ev, acc, ring = planted(seed=1)
    rng = np.random.default_rng(7)
    rows = [{"account_id": h, "timestamp": pd.Timestamp("2026-05-01 19:00", tz="UTC") + pd.Timedelta(days=d, minutes=int(rng.integers(0, 120))),
             "ip": f"198.51.100.{d % 4}", "device_id": f"phone-{h}", "payment_id": f"card-{h}",
             "output_tokens": int(rng.integers(50, 2000))} for h in ("house0", "house1") for d in range(10)]
    ev = pd.concat([ev, pd.DataFrame(rows)], ignore_index=True)
    acc = pd.concat([acc, pd.DataFrame({"account_id": ["house0", "house1"], "created_at": pd.Timestamp("2025-01-01", tz="UTC"),
                                        "email_domain": "mail.example"})], ignore_index=True)
    a = accountgraph.detect(ev, acc, seed=0, scoring={"min_member_score": 0.3}).assignments.set_index("account_id")
    assert not a.loc[["house0", "house1"], "flagged"].any()
    assert a.loc[sorted(ring), "flagged"].all()
    assert a.loc[sorted(ring), "member_score"].median() == 1.0


def test_gate_zero_changes_nothing_and_bad_gates_are_refused():
    ev, acc, _ = planted()
    res = accountgraph.detect(ev, acc, seed=0, scoring={"min_member_score": 0.0})
    a0 = res.assignments
    assert (a0["flagged"] == ((a0["ring_score"] > res.params["threshold"]))).all()
    assert a0["member_score"].between(0, 1).all()
    assert (a0.loc[a0["cluster_id"] < 0, "member_score"] == 0).all()
    with pytest.raises(accountgraph.InvalidParameterError, match="min_member_score"):
        ScoringParams(min_member_score=1.5)
