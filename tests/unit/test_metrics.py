"""Unit tests of accountgraph.metrics against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from accountgraph._exceptions import InvalidParameterError, SchemaError
from accountgraph.metrics import (
    RingMetrics,
    adjusted_rand_index,
    evaluate,
    exchanges_before_first_flag,
    false_positive_rates,
    precision_recall_f1,
    ring_ari,
    ring_recall,
)


@pytest.fixture
def labels() -> pd.DataFrame:
    # ring r1: 5 accounts, ring r2: 3 accounts, 2 legit, 1 enterprise, 1 automation.
    rows = [(f"a{i}", "r1", "ring") for i in range(5)]
    rows += [(f"b{i}", "r2", "ring") for i in range(3)]
    rows += [("l0", None, "legit"), ("l1", None, "legit"), ("e0", None, "enterprise"), ("u0", None, "automation")]
    return pd.DataFrame(rows, columns=["account_id", "ring_id", "kind"])


@pytest.fixture
def assignments() -> pd.DataFrame:
    # Flag a0..a3 (4/5 of r1), b0 (1/3 of r2), l0 and e0.
    flagged = {"a0", "a1", "a2", "a3", "b0", "l0", "e0"}
    cluster = {"a0": 0, "a1": 0, "a2": 0, "a3": 0, "a4": -1, "b0": 1, "b1": 1, "b2": 2, "l0": 0, "e0": 3}
    ids = ["a0", "a1", "a2", "a3", "a4", "b0", "b1", "b2", "l0", "l1", "e0", "u0"]
    return pd.DataFrame(
        {
            "account_id": ids,
            "cluster_id": [cluster.get(a, -1) for a in ids],
            "flagged": [a in flagged for a in ids],
        }
    )


def test_hand_computed_example(assignments: pd.DataFrame, labels: pd.DataFrame) -> None:
    m = evaluate(assignments, labels)
    # TP = a0..a3 + b0 = 5, flagged = 7, positives = 8.
    assert m.precision == pytest.approx(5 / 7)
    assert m.recall == pytest.approx(5 / 8)
    assert m.f1 == pytest.approx(2 * 5 / (7 + 8))
    assert m.fpr_legit == pytest.approx(1 / 2)
    assert m.fpr_enterprise == 1.0
    assert m.fpr_automation == 0.0
    # r1 has exactly 80 % flagged (counts), r2 33 %.
    assert m.ring_recall == 0.5
    assert (m.n_rings, m.n_rings_recalled) == (2, 1)
    assert (m.n_accounts, m.n_ring_accounts, m.n_flagged, m.n_true_positive) == (12, 8, 7, 5)
    assert (m.n_missing, m.n_unlabelled) == (0, 0)


def test_ari_hand_computed(assignments: pd.DataFrame, labels: pd.DataFrame) -> None:
    # Ring accounts: true r1 x5, r2 x3; predicted {a0..a3}=0, a4 singleton, {b0,b1}=1, b2=2.
    # sum C(n_ij,2) = 6 + 1 = 7; true pairs = 10 + 3 = 13; predicted pairs = 6 + 1 = 7; C(8,2) = 28.
    expected = 13 * 7 / 28
    ari = (7 - expected) / ((13 + 7) / 2 - expected)
    assert ring_ari(assignments, labels) == pytest.approx(ari)
    assert evaluate(assignments, labels).ari == pytest.approx(ari)


def test_component_functions_agree_with_evaluate(assignments: pd.DataFrame, labels: pd.DataFrame) -> None:
    m = evaluate(assignments, labels)
    assert precision_recall_f1(assignments, labels) == (m.precision, m.recall, m.f1)
    assert false_positive_rates(assignments, labels) == {
        "legit": m.fpr_legit,
        "enterprise": m.fpr_enterprise,
        "automation": m.fpr_automation,
    }
    assert ring_recall(assignments, labels) == m.ring_recall


def test_ring_recall_threshold(assignments: pd.DataFrame, labels: pd.DataFrame) -> None:
    assert ring_recall(assignments, labels, min_share=0.81) == 0.0
    assert ring_recall(assignments, labels, min_share=1 / 3) == 1.0


@pytest.mark.parametrize(
    ("true", "pred", "expected"),
    [
        ([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2], 0.8 / 3.3),
        ([0, 0, 1, 1], [0, 1, 0, 1], -0.5),
        ([0, 0, 1, 1], ["x", "x", "y", "y"], 1.0),
        (["a", "a", "b"], [None, None, 3], 1.0),
        ([0, 1, 2], [0, 0, 0], 0.0),
        ([7], [3], 1.0),
    ],
)
def test_adjusted_rand_index_hand_computed(true: list, pred: list, expected: float) -> None:
    assert adjusted_rand_index(true, pred) == pytest.approx(expected)
    assert adjusted_rand_index(pred, true) == pytest.approx(expected)


def test_adjusted_rand_index_empty_and_length_mismatch() -> None:
    assert math.isnan(adjusted_rand_index([], []))
    with pytest.raises(InvalidParameterError, match="same length"):
        adjusted_rand_index([0, 1], [0])


def test_unclustered_accounts_are_singletons() -> None:
    lab = pd.DataFrame({"account_id": list("abcd"), "ring_id": ["r1", "r1", "r2", "r2"], "kind": ["ring"] * 4})
    asg = pd.DataFrame({"account_id": list("abcd"), "cluster_id": [-1, -1, 7, 7], "flagged": [False] * 4})
    # a and b are two singletons, not one cluster "-1":
    # sum C(n_ij,2) = 1, true pairs 2, predicted pairs 1, C(4,2) = 6 -> (1 - 1/3) / (1.5 - 1/3) = 4/7.
    assert ring_ari(asg, lab) == pytest.approx(4 / 7)
    # Missing from assignments behaves like -1.
    assert ring_ari(asg.iloc[2:], lab) == pytest.approx(4 / 7)


def test_missing_and_unlabelled_accounts(assignments: pd.DataFrame, labels: pd.DataFrame) -> None:
    partial = assignments[~assignments["account_id"].isin(["a0", "l0"])]
    extra = pd.DataFrame({"account_id": ["zz"], "cluster_id": [9], "flagged": [True]})
    m = evaluate(pd.concat([partial, extra]), labels)
    assert m.n_missing == 2
    assert m.n_unlabelled == 1
    # a0 and l0 now count as not flagged; zz is ignored.
    assert m.n_flagged == 5
    assert m.precision == pytest.approx(4 / 5)
    assert m.recall == pytest.approx(4 / 8)
    assert m.fpr_legit == 0.0
    assert m.ring_recall == 0.0


def test_nothing_flagged(labels: pd.DataFrame) -> None:
    asg = pd.DataFrame({"account_id": labels["account_id"], "cluster_id": -1, "flagged": False})
    m = evaluate(asg, labels)
    assert (m.precision, m.recall, m.f1) == (0.0, 0.0, 0.0)
    assert (m.fpr_legit, m.fpr_enterprise, m.fpr_automation) == (0.0, 0.0, 0.0)
    assert m.ring_recall == 0.0
    assert m.ari == 0.0  # all singletons vs two real rings


def test_no_rings_and_absent_kinds() -> None:
    lab = pd.DataFrame({"account_id": ["x", "y"], "ring_id": [None, None], "kind": ["legit", "legit"]})
    asg = pd.DataFrame({"account_id": ["x", "y"], "cluster_id": [0, 0], "flagged": [True, False]})
    m = evaluate(asg, lab)
    assert math.isnan(m.ring_recall) and math.isnan(m.ari)
    assert math.isnan(m.fpr_enterprise) and math.isnan(m.fpr_automation)
    assert m.fpr_legit == 0.5
    assert (m.precision, m.recall, m.f1) == (0.0, 0.0, 0.0)


def test_arrow_input_and_to_dict(assignments: pd.DataFrame, labels: pd.DataFrame) -> None:
    m_pd = evaluate(assignments, labels)
    m_pa = evaluate(pa.Table.from_pandas(assignments), pa.Table.from_pandas(labels))
    assert m_pd == m_pa
    d = m_pd.to_dict()
    assert list(d)[:3] == ["precision", "recall", "f1"]
    assert d["n_rings"] == 2
    with pytest.raises(AttributeError):
        m_pd.precision = 1.0  # type: ignore[misc]
    assert isinstance(m_pd, RingMetrics)


def test_a_result_is_read_through_its_assignments(assignments: pd.DataFrame, labels: pd.DataFrame) -> None:
    from dataclasses import dataclass

    @dataclass
    class Result:  # stands for DetectionResult / MonitorUpdate: dataclasses with an `assignments` field
        assignments: pd.DataFrame

    assert evaluate(Result(assignments), labels) == evaluate(assignments, labels)
    with pytest.raises(SchemaError, match="assignments"):
        evaluate(object(), labels)


def test_a_detection_result_is_scored_as_its_assignments(planted_data) -> None:
    from accountgraph import detect

    ev, accounts, ring = planted_data
    res = detect(ev, accounts, seed=0)
    lab = pd.DataFrame({"account_id": accounts.account_id})
    lab["kind"] = np.where(lab.account_id.isin(ring), "ring", "legit")
    lab["ring_id"] = np.where(lab.kind == "ring", "r1", None)
    assert evaluate(res, lab) == evaluate(res.assignments, lab)


def test_does_not_mutate_inputs(assignments: pd.DataFrame, labels: pd.DataFrame) -> None:
    a0, l0 = assignments.copy(), labels.copy()
    evaluate(assignments, labels)
    pd.testing.assert_frame_equal(assignments, a0)
    pd.testing.assert_frame_equal(labels, l0)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda a, l: (a.drop(columns="flagged"), l), "missing required column"),
        (lambda a, l: (pd.concat([a, a.iloc[:1]]), l), "duplicated account_id"),
        (lambda a, l: (a, l.assign(kind=l["kind"].replace("legit", "human"))), "outside"),
        (lambda a, l: (a, l.assign(ring_id=None)), "null ring_id"),
        (lambda a, l: (a.assign(cluster_id=a["cluster_id"].astype(float).where(a.index > 0)), l), "cluster_id"),
    ],
)
def test_schema_errors(assignments: pd.DataFrame, labels: pd.DataFrame, mutate, match: str) -> None:
    a, l = mutate(assignments, labels)
    with pytest.raises(SchemaError, match=match):
        evaluate(a, l)


@pytest.mark.parametrize("bad", [0.0, 1.5, -1, "0.8"])
def test_invalid_min_share(assignments: pd.DataFrame, labels: pd.DataFrame, bad: object) -> None:
    with pytest.raises(InvalidParameterError, match="min_share"):
        evaluate(assignments, labels, min_share=bad)  # type: ignore[arg-type]


# ------------------------------------------------------------------------ replay


def _ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


@pytest.fixture
def replay() -> tuple[pd.DataFrame, pd.DataFrame]:
    lab = pd.DataFrame(
        {
            "account_id": ["a", "b", "c", "d", "l"],
            "ring_id": ["r1", "r1", "r2", "r2", None],
            "kind": ["ring", "ring", "ring", "ring", "legit"],
        }
    )
    ev = pd.DataFrame(
        {
            "account_id": ["a", "a", "b", "b", "b", "c", "d", "l"],
            "timestamp": pd.to_datetime(
                [
                    "2026-01-01 00:00", "2026-01-01 05:00",
                    "2026-01-01 01:00", "2026-01-01 02:00", "2026-01-01 09:00",
                    "2026-01-02 00:00", "2026-01-02 01:00", "2025-12-01 00:00",
                ],
                utc=True,
            ),
            "ip": "x",
        }
    )
    return ev, lab


def test_exchanges_before_first_flag_hand_computed(replay: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ev, lab = replay
    # r1 is first flagged at 02:00 through b (a at 06:00 is later); l's flag is ignored.
    ff = {"a": _ts("2026-01-01 06:00"), "b": _ts("2026-01-01 02:00"), "l": _ts("2025-01-01")}
    out = exchanges_before_first_flag(ev, lab, ff)
    assert out["ring_id"].tolist() == ["r1", "r2"]
    r1, r2 = out.iloc[0], out.iloc[1]
    # r1: 5 exchanges, those at 00:00, 01:00 and 02:00 (tie counts as before) -> 3.
    assert (r1.n_accounts, r1.n_exchanges, r1.exchanges_before_flag) == (2, 5, 3)
    assert r1.share_before_flag == pytest.approx(0.6)
    assert r1.first_flagged == _ts("2026-01-01 02:00")
    assert r1.time_to_first_flag == pd.Timedelta(hours=2)
    # r2 never flagged: every exchange was served unflagged.
    assert (r2.n_exchanges, r2.exchanges_before_flag, r2.share_before_flag) == (2, 2, 1.0)
    assert pd.isna(r2.first_flagged) and pd.isna(r2.time_to_first_flag)


def test_exchanges_before_first_flag_input_forms(replay: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ev, lab = replay
    as_map = {"b": _ts("2026-01-01 02:00"), "c": _ts("2026-01-01 23:00")}
    as_table = pd.DataFrame(
        {"account_id": ["a", "b", "c"], "first_flagged": [pd.NaT, _ts("2026-01-01 02:00"), _ts("2026-01-01 23:00")]}
    )
    # Naive times are read as UTC.
    as_series = pd.Series(
        [pd.Timestamp("2026-01-01 02:00"), pd.Timestamp("2026-01-01 23:00")], index=["b", "c"]
    )
    ref = exchanges_before_first_flag(ev, lab, as_map)
    for other in (as_table, pa.Table.from_pandas(as_table), as_series):
        pd.testing.assert_frame_equal(exchanges_before_first_flag(ev, lab, other), ref)
    # r2 flagged before any of its exchanges.
    assert ref.iloc[1].exchanges_before_flag == 0
    assert ref.iloc[1].time_to_first_flag == pd.Timedelta(hours=-1)


def test_exchanges_before_first_flag_ring_without_events() -> None:
    lab = pd.DataFrame({"account_id": ["a"], "ring_id": ["r"], "kind": ["ring"]})
    ev = pd.DataFrame({"account_id": ["z"], "timestamp": pd.to_datetime(["2026-01-01"], utc=True)})
    out = exchanges_before_first_flag(ev, lab, {})
    assert out.iloc[0].n_exchanges == 0
    assert np.isnan(out.iloc[0].share_before_flag)
