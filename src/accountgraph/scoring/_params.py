"""Parameters of the scoring stage: the ring model, the gates and the membership gate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .._exceptions import InvalidParameterError
from .._validation import Constraint, Interval, Pair, ParamsBase

__all__ = ["COMPONENTS", "ScoringParams"]

COMPONENTS = ("timing", "cadence", "templates", "output", "creation", "pivot", "infrastructure")



@dataclass(frozen=True)
class ScoringParams(ParamsBase):
    """The ring model, the gates of the ring score and the account-level membership gate.

    The evidence weights are not hand-set: they are the coefficients of a ring
    model fitted on tuning worlds (``scoring/ring_model.json``, see
    :mod:`accountgraph.scoring`), and the default flag threshold comes from that
    model's table of benign false-positive rates (``RingDetector(target_fpr=...)``).

    Parameters
    ----------
    model : str or None, default None
        Path of a ring-model JSON file (as written by ``benchmarks/train_scorer.py``);
        ``None`` uses the model shipped with the package.
    burst_window_s : int, default 259200
        Width of the densest account-creation window (72 hours).
    size_gate : (int, int), default (2, 6)
        Cluster sizes at which the size gate is 0 and 1 (log-linear between).
    spread_gate : (float, float), default (1000.0, 400.0)
        Events per account-day at which the spread gate is 0 and 1: accounts each sending a
        thousand requests a day are automation, however coordinated (rings spread their
        load: 2-200 a day per account on the tuning worlds; small high-volume teams are
        the team gate's).
    team_gate : (int, float), default (5, 50.0)
        A cluster of at most this many accounts whose accounts send at least this many
        requests per active day (mean), and sends at least ``team_anchor`` of its traffic
        from its 3 busiest addresses, is an automation team (an owner's few API keys),
        never a ring: its ``team_gate`` is 0. Up to four times as many accounts are a team
        too when 90 % of their traffic comes from 3 addresses (a host, not a proxy pool) at
        ``team_host_rate`` or more, or, in an input with no address at all, when they
        average four times this rate (nothing else tells a host from a proxy pool there).
    team_anchor : float, default 0.5
        The share of its traffic that a cluster of at most ``team_gate[0]`` accounts must
        send from its 3 busiest addresses to be gated as a team: an owner's few API keys
        run from the owner's hosts, while a hydra head of a ring, as small and as busy,
        rotates proxy exits. On the tuning worlds the busy benign clusters of at most 20
        accounts send at least 0.63 of their traffic from 3 addresses (95 % of them at least
        0.91) and the busy ring clusters of 3 to 20 accounts at most 0.48 (two-account ring
        clusters, which the size gate zeroes anyway, up to 0.71). A cluster with no known
        address is gated as before.
    team_host_rate : float, default 20.0
        Requests per account-day from which a cluster of at most ``4 * team_gate[0]``
        accounts that sends 90 % of its traffic from 3 addresses (one host), or whose every
        infrastructure block is such a team, is gated as automation. Lower than
        ``team_gate[1]``: a team is defined by its host, and an owner's keys on one host at
        20-50 a day (a quiet pipeline) are no ring. On the tuning worlds the ring clusters on
        one host (hydra heads of 2-5 accounts behind a few datacenter exits) average at most
        7.7 requests a day, the benign ones on one host 20-50 (enterprise teams, automation
        keys), one of which scored 0.350 against a threshold of 0.352 before.
    infra_gate : (float, float), default (0.25, 0.5)
        Ramp on ``infra_block_share``, the share of a cluster's accounts in its largest
        group of accounts that share infrastructure (exact addresses, cards, devices;
        :func:`~accountgraph.scoring.team_blocks`): 0 at or below the first value, 1 at or
        above the second (``infra_gate``). A ring's accounts share its exits, cards and
        stack; a cluster most of whose accounts share none with one another is strangers
        linked by content alone (users of one niche template). On the tuning worlds no ring
        cluster of 3 or more accounts is under 0.5, while half the benign clusters the model
        flagged were. Clusters whose accounts have no infrastructure signal at all (an input
        without addresses, devices or payment columns) are not gated.
    max_account_share : float, default 0.1
        A cluster of at least ``share_gate_min`` accounts holding more than this share
        of all accounts is never flagged (``share_gate`` 0): a ring is a small share of
        a user base; a cluster that large is a community glued by common signals,
        explained as such.
    share_gate_min : int, default 1000
        Clusters smaller than this are exempt from the share gate, so a small input (an
        analyst's extract of suspicious accounts) can still be mostly one ring.
    min_member_score : float, default 0.5
        An account of a flagged cluster is flagged only if its own member
        score (``assignments.member_score``: its share of the cluster's
        concentrated signals against the cluster's median member, combined with
        the share of its prompts in the cluster's shared templates against the
        typical sender's; :func:`~accountgraph.scoring.member_scores`) is at least
        this. 0 flags every account of a flagged cluster.
    """

    model: str | None = None
    burst_window_s: int = 72 * 3600
    size_gate: tuple[int, int] = (2, 6)
    spread_gate: tuple[float, float] = (1000.0, 400.0)
    team_gate: tuple[int, float] = (5, 50.0)
    team_anchor: float = 0.5
    team_host_rate: float = 20.0
    infra_gate: tuple[float, float] = (0.25, 0.5)
    max_account_share: float = 0.1
    share_gate_min: int = 1000
    min_member_score: float = 0.5

    _constraints: ClassVar[dict[str, Constraint]] = {
        "burst_window_s": Interval(int, 1, None),
        "size_gate": Pair(Interval(int, 1, None)),
        "spread_gate": Pair(Interval(float, 0, None, "neither")),
        "max_account_share": Interval(float, 0, 1, "right"),
        "team_gate": Pair(Interval(float, 0, None)),
        "team_anchor": Interval(float, 0, 1),
        "team_host_rate": Interval(float, 0, None),
        "infra_gate": Pair(Interval(float, 0, 1)),
        "share_gate_min": Interval(int, 1, None),
        "min_member_score": Interval(float, 0, 1),
    }

    @property
    def team_block_candidates(self) -> tuple[int, float]:
        """``(n, rate)``: clusters of more than ``n`` accounts at ``rate`` requests per account-day
        or more are the ones the team gate examines block by block
        (:func:`~accountgraph.scoring.add_team_blocks`)."""
        return self.team_gate[0], self.team_host_rate

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.model is not None and not isinstance(self.model, str):
            raise InvalidParameterError(
                f"The 'model' parameter of ScoringParams must be None or the path of a ring-model JSON file "
                f"(str). Got {self.model!r} instead."
            )
        if self.size_gate[0] >= self.size_gate[1]:
            raise InvalidParameterError(
                f"The 'size_gate' parameter of ScoringParams must be increasing (lo < hi). Got {self.size_gate!r} instead."
            )
