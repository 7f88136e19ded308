"""Every ramp of the ring score is a ScoringParams field, validated and reachable from RingDetector."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from accountgraph import InvalidParameterError, RingDetector
from accountgraph.scoring import ScoringParams, score_clusters
from accountgraph.scoring._params import RAMPS

H = 3600 * 1_000_000
DAY = 24 * H
T0 = 1_777_593_600_000_000  # 2026-05-01 UTC


def _inputs(seed: int = 0) -> dict:
    """Two clusters of 20 accounts, round-the-clock and office hours, with outputs and creation times."""
    rng = np.random.default_rng(seed)
    acc = np.repeat(np.arange(40), 100)
    scripted = acc < 20
    day = rng.integers(0, 14, len(acc))
    ts = T0 + np.where(scripted, rng.integers(0, 14 * DAY, len(acc)), day * DAY + rng.integers(9 * H, 17 * H, len(acc)))
    out = np.where(scripted, rng.normal(2000, 50, len(acc)), rng.lognormal(5, 1, len(acc))).astype(np.int64)
    fam = np.where(scripted, acc % 2, -1).astype(np.int64)
    created = np.concatenate([T0 - rng.integers(0, H, 20), T0 - rng.integers(0, 300, 20) * DAY])
    return dict(n_clusters=2, acc_cluster=np.repeat([0, 1], 20), ev_account=acc, ev_ts_us=ts, ev_output=out,
                ev_family=fam, created_us=created)


# Which contribution each ramp feeds.
_COMPONENT = {
    "quiet_hours_ramp": "timing", "weekend_ramp": "timing", "volume_cv_ramp": "cadence",
    "active_day_ramp": "cadence", "template_shared_ramp": "templates", "output_ratio_ramp": "output",
    "output_iqr_ramp": "output", "creation_burst_ramp": "creation", "pivot_excess_ramp": "pivot",
}


def test_ramps_are_fields_with_the_documented_defaults():
    fields = {f.name: f.default for f in dataclasses.fields(ScoringParams)}
    assert set(RAMPS) == set(_COMPONENT) and set(RAMPS) <= set(fields)
    assert fields["quiet_hours_ramp"] == (0.12, 0.28) and fields["output_ratio_ramp"] == (1.0, 3.0)
    for name in RAMPS:
        assert f"{name} : (float, float), default {fields[name]}" in ScoringParams.__doc__


@pytest.mark.parametrize("name", [r for r in RAMPS if r != "pivot_excess_ramp"])
def test_each_ramp_changes_its_component_only(name):
    base = score_clusters(**_inputs())
    lo, hi = getattr(ScoringParams(), name)
    # Reversing a ramp turns its feature's score x into 1 - x: the component must move.
    moved = score_clusters(**_inputs(), params=ScoringParams().replace(**{name: (hi, lo)}))
    comp = _COMPONENT[name]
    assert not np.allclose(base[f"contrib_{comp}"], moved[f"contrib_{comp}"])
    others = [c for c in base.columns if c.startswith("contrib_") and c != f"contrib_{comp}"]
    np.testing.assert_array_equal(base[others].to_numpy(), moved[others].to_numpy())


@pytest.mark.parametrize("name", RAMPS)
def test_degenerate_or_out_of_range_ramps_are_refused(name):
    lo, _ = getattr(ScoringParams(), name)
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of ScoringParams"):
        ScoringParams(**{name: (lo, lo)})
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of ScoringParams"):
        ScoringParams(**{name: (5.0, -5.0)})


def test_ramps_reachable_through_ring_detector():
    det = RingDetector()
    params = det.get_params()
    for name in RAMPS:
        assert params[f"scoring__{name}"] == getattr(ScoringParams(), name)
    det.set_params(scoring__quiet_hours_ramp=(0.1, 0.3), scoring__output_ratio_ramp=[1.5, 4.0])
    assert det.get_params()["scoring__quiet_hours_ramp"] == (0.1, 0.3)
    assert det.get_params()["scoring__output_ratio_ramp"] == (1.5, 4.0)
    with pytest.raises(InvalidParameterError, match="quiet_hours_ramp"):
        RingDetector().set_params(scoring__quiet_hours_ramp=(0.2, 0.2))
