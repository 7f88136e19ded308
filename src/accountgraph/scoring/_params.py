"""Parameters of the scoring stage: component weights, evidence ramps and gates."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from .._exceptions import InvalidParameterError
from .._validation import Constraint, Interval, Pair, ParamsBase, WeightMapping

__all__ = ["COMPONENTS", "RAMPS", "ScoringParams"]

COMPONENTS = ("timing", "cadence", "templates", "output", "creation", "pivot")

#: The ramp parameters of :class:`ScoringParams`: ``(value at score 0, value at score 1)``.
RAMPS = (
    "quiet_hours_ramp", "weekend_ramp", "volume_cv_ramp", "active_day_ramp", "template_shared_ramp",
    "output_ratio_ramp", "output_iqr_ramp", "creation_burst_ramp", "pivot_excess_ramp",
)

_SHARE = Pair(Interval(float, 0, 1))


@dataclass(frozen=True)
class ScoringParams(ParamsBase):
    """Weights of the evidence components, the ramps of their features and the gates of the ring score.

    A ramp ``(lo, hi)`` maps a feature to [0, 1]: 0 at or below ``lo``, 1 at or
    above ``hi``, linear between; ``lo > hi`` reverses it (low values are
    ring-like). ``lo`` and ``hi`` must differ.

    Parameters
    ----------
    weights : mapping, optional
        Weight per component (>= 0, among :data:`COMPONENTS`; missing ones are
        0); normalised to sum 1 over the components an input supports.
    burst_window_s : int, default 259200
        Width of the densest account-creation window (72 hours).
    size_gate : (int, int), default (2, 6)
        Cluster sizes at which the size gate is 0 and 1 (log-linear between).
    spread_gate : (float, float), default (200.0, 80.0)
        Events per account-day at which the spread gate is 0 and 1.
    quiet_hours_ramp : (float, float), default (0.12, 0.28)
        ``timing``: share of the cluster's events in its 8 quietest hours of
        the day (uniform use gives 1/3, people who sleep about 0.05).
    weekend_ramp : (float, float), default (0.04, 0.15)
        ``timing``: share of events on Saturdays and Sundays (so an office
        scores low); multiplies the quiet-hours ramp.
    volume_cv_ramp : (float, float), default (1.0, 0.3)
        ``cadence``: coefficient of variation of per-account daily volume
        (reversed: a load-balanced ring has a low spread). Half of the component.
    active_day_ramp : (float, float), default (0.4, 0.9)
        ``cadence``: mean share of its lifetime days on which an account is
        active. The other half of the component.
    template_shared_ramp : (float, float), default (0.2, 0.6)
        ``templates``: share of the cluster's prompts in template families used
        by at least max(3, 30 %) of its accounts.
    output_ratio_ramp : (float, float), default (1.0, 3.0)
        ``output``: median output length over the population's, ramped in log2
        space (x1 -> x3). Both > 0. Half of the component.
    output_iqr_ramp : (float, float), default (1.0, 0.3)
        ``output``: relative spread of output lengths, IQR / median (reversed:
        tight is ring-like). The other half of the component.
    creation_burst_ramp : (float, float), default (0.3, 0.7)
        ``creation``: share of accounts created within the densest
        ``burst_window_s`` window.
    pivot_excess_ramp : (float, float), default (0.1, 0.5)
        ``pivot``: the cluster's share of traffic on a newly released model in
        the 48 hours after release, minus the population's share.
    min_member_score : float, default 0.0
        An account of a flagged cluster is flagged only if its own member
        score (``assignments.member_score``: its share of the cluster's
        concentrated signals against the cluster's median member) is at least
        this. 0 flags every account of a flagged cluster.
    """

    weights: dict[str, float] = field(
        default_factory=lambda: {
            "timing": 0.25, "cadence": 0.20, "templates": 0.20,
            "output": 0.15, "creation": 0.20, "pivot": 0.10,
        }
    )
    burst_window_s: int = 72 * 3600
    size_gate: tuple[int, int] = (2, 6)
    spread_gate: tuple[float, float] = (200.0, 80.0)
    quiet_hours_ramp: tuple[float, float] = (0.12, 0.28)
    weekend_ramp: tuple[float, float] = (0.04, 0.15)
    volume_cv_ramp: tuple[float, float] = (1.0, 0.3)
    active_day_ramp: tuple[float, float] = (0.4, 0.9)
    template_shared_ramp: tuple[float, float] = (0.2, 0.6)
    output_ratio_ramp: tuple[float, float] = (1.0, 3.0)
    output_iqr_ramp: tuple[float, float] = (1.0, 0.3)
    creation_burst_ramp: tuple[float, float] = (0.3, 0.7)
    pivot_excess_ramp: tuple[float, float] = (0.1, 0.5)
    min_member_score: float = 0.0

    _constraints: ClassVar[dict[str, Constraint]] = {
        "weights": WeightMapping(COMPONENTS),
        "burst_window_s": Interval(int, 1, None),
        "size_gate": Pair(Interval(int, 1, None)),
        "spread_gate": Pair(Interval(float, 0, None, "neither")),
        "quiet_hours_ramp": _SHARE,
        "weekend_ramp": _SHARE,
        "volume_cv_ramp": Pair(Interval(float, 0, None)),
        "active_day_ramp": _SHARE,
        "template_shared_ramp": _SHARE,
        "output_ratio_ramp": Pair(Interval(float, 0, None, "neither")),
        "output_iqr_ramp": Pair(Interval(float, 0, None)),
        "creation_burst_ramp": _SHARE,
        "pivot_excess_ramp": Pair(Interval(float, -1, 1)),
        "min_member_score": Interval(float, 0, 1),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if not sum(float(v) for v in self.weights.values()) > 0:
            raise InvalidParameterError(
                f"The 'weights' parameter of ScoringParams must give some component a weight > 0. "
                f"Got {self.weights!r} instead."
            )
        if self.size_gate[0] >= self.size_gate[1]:
            raise InvalidParameterError(
                f"The 'size_gate' parameter of ScoringParams must be increasing (lo < hi). Got {self.size_gate!r} instead."
            )
        for name in RAMPS:
            lo, hi = getattr(self, name)
            if lo == hi:
                raise InvalidParameterError(
                    f"The {name!r} parameter of ScoringParams must have two different end points (lo != hi; "
                    f"lo > hi reverses the ramp). Got {(lo, hi)!r} instead."
                )
