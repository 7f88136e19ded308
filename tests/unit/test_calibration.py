"""RingDetector.calibrate: the threshold follows the target FPR on planted labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from accountgraph import InvalidParameterError, NotFittedError, RingDetector, SchemaError
from accountgraph._calibration import calibrate_threshold, read_binary_labels
from accountgraph.synth import generate


@pytest.fixture(scope="module")
def fitted():
    ds = generate("small", seed=0)
    return RingDetector(random_state=0).fit(ds.events, ds.accounts), ds


def test_threshold_moves_the_right_way(fitted):
    det, ds = fitted
    cals = [det.calibrate(ds.labels, target_fpr=t) for t in (0.0, 0.01, 0.05, 0.2)]
    thresholds = [c.threshold for c in cals]
    assert thresholds == sorted(thresholds, reverse=True)  # a looser target never raises the threshold
    assert thresholds[0] > thresholds[-1]
    for c in cals:
        assert c.fpr <= c.target_fpr + 1e-12
        assert c.n_positive == int((ds.labels.to_pandas()["kind"] == "ring").sum())
    recalls = [c.recall for c in cals]
    assert recalls == sorted(recalls)


def test_calibrated_detector_flags_what_calibration_reported(fitted):
    det, ds = fitted
    cal = det.calibrate(ds.labels, target_fpr=0.01)
    assert cal.detector is not det and cal.detector.threshold == cal.threshold
    assert det.threshold is None and det.effective_threshold() == cal.previous_threshold  # the fitted detector is untouched
    asg = cal.detector.fit(ds.events, ds.accounts).assignments_
    lab = ds.labels.to_pandas().set_index("account_id")
    flagged = asg.set_index("account_id")["flagged"].reindex(lab.index, fill_value=False)
    pos = lab["kind"].eq("ring")
    fp = int((flagged & ~pos).sum())
    assert fp / int((~pos).sum()) == pytest.approx(cal.fpr)
    assert int((flagged & pos).sum()) / int(pos.sum()) == pytest.approx(cal.recall)


def test_planted_benign_cluster_raises_the_threshold():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.3, 0.2, 0.1])
    positive = np.array([True, True, True, False, False, False, False])
    t = calibrate_threshold(scores, positive, 0.0)
    assert 0.6 <= t < 0.7 and t == pytest.approx(0.65)
    assert calibrate_threshold(scores, positive, 0.25) == pytest.approx(0.45)  # one of four benign allowed
    assert calibrate_threshold(scores, positive, 0.99) == pytest.approx(0.15)  # three of four allowed
    assert calibrate_threshold(scores, ~positive, 0.0) == pytest.approx(0.9)  # nothing labelled above the top benign: its score


def test_label_forms_agree(fitted):
    det, ds = fitted
    lab = ds.labels.to_pandas()
    by_kind = det.calibrate(lab, target_fpr=0.01)
    by_bool = det.calibrate(pd.DataFrame({"account_id": lab["account_id"], "is_ring": lab["kind"].eq("ring")}), target_fpr=0.01)
    by_map = det.calibrate(dict(zip(lab["account_id"], lab["kind"].eq("ring"))), target_fpr=0.01)
    assert by_kind.to_dict() == by_bool.to_dict() == by_map.to_dict()


def test_errors(fitted):
    det, ds = fitted
    with pytest.raises(NotFittedError):
        RingDetector().calibrate(ds.labels)
    with pytest.raises(InvalidParameterError, match="target_fpr"):
        det.calibrate(ds.labels, target_fpr=1.5)
    with pytest.raises(InvalidParameterError, match="benign"):
        det.calibrate({"a-1": True}, target_fpr=0.01)
    with pytest.raises(SchemaError, match="is_ring"):
        det.calibrate(pd.DataFrame({"account_id": ["x"], "label": [1]}))
    with pytest.raises(SchemaError, match="null"):
        read_binary_labels(pd.Series({"a": True, "b": None}))
    unknown = det.calibrate({"not-an-account": False, "also-not": False}, target_fpr=0.0)
    assert unknown.n_unmatched == 2 and unknown.fpr == 0.0
