"""Parameters of the graph stage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from .._validation import Boolean, Constraint, Interval, NoneOr, ParamsBase, WeightMapping

__all__ = ["GraphParams"]


@dataclass(frozen=True)
class GraphParams(ParamsBase):
    """Rarity weighting and the bounded account–account projection.

    Parameters
    ----------
    max_signal_degree : int, default 500
        Hub cap: signals shared by more accounts are evidence, never links.
    hub_share : float, default 0.5
        On small inputs the hub cap drops to ``max(10, hub_share * n_accounts)``.
    max_pairs : int, default 50_000_000
        Budget of account pairs projected from full cliques (rarest signals
        first); signals past it are projected onto sparse random circulants
        within a second budget of the same size (status ``sampled``). Bounds memory.
    min_link : float, default 0.5
        Minimum link weight between two accounts.
    type_weights : mapping, optional
        Per signal type link weights, overriding ``DEFAULT_TYPE_WEIGHTS``
        (``"x:*"`` for extra signals).
    corroboration : float, default 0.25
        Link weight added to a pair of accounts that already share some signal
        and for both of which the same template family is substantial, times
        the family's focus. 0 turns it off.
    sample_neighbours : int, default 8
        Most neighbours per member in the circulant that replaces an
        over-budget signal's clique; 0 leaves such signals out.
    sample_clip : float, default 0.5
        Most evidence, in [0, 1), that one sampled co-occurrence can carry.
    max_cosharers : float, default 150.0
        Scale-aware hub caps: per signal type, the cap is lowered (below
        ``max_signal_degree``) until the median account holding that type shares its
        signals of that type with at most this many other accounts (see
        :func:`~accountgraph.graph._weights.type_caps`). ``inf`` turns it off.
    promiscuity : float, default 4.0
        A pair of accounts holding ``n_u`` and ``n_v`` signals of a type keeps
        ``min(1, sqrt(promiscuity * min / max))`` of the evidence it gets through that type:
        an account that spoofs a fingerprint or rotates an exit per request shares one of them
        with a person who holds a few (a household behind one of the ring's exits) by chance,
        while two accounts of one ring rotating through the same pool are balanced and keep
        all of it. 0 turns it off.
    coordinated_weight : float, default 0.5
        Rarity weight given to *coordinated hubs* (hubs held by the same accounts as a
        hub of another kind, :mod:`accountgraph.graph._hubs`), which are then projected
        onto circulants with one common member order. 0 leaves every hub unprojected.
    coordinated_max_share : float, default 0.1
        Hubs held by more than this share of all accounts (and more than
        ``max_signal_degree``) are never coordinated.
    coordinated_min_lift : float, default 10.0
        A hub of another kind counts as a companion of a hub when the share of the hub's
        accounts holding it is at least this many times its share of all accounts, so a
        companion held by more than ``1 / coordinated_min_lift`` of all accounts never
        counts. A ring's automation stack is held by the whole ring: with 20 (and a 0.05
        share) a ring of more than 5 % of all accounts could never be seen behind its exits
        (evaluation-5 seed 6030: 896 accounts of a 3,330-account ring, 5.6 % of the world,
        left in no cluster). Strangers behind a NAT exit hold a popular fingerprint at its
        population rate: a lift near 1.
    coordinate_weak : bool, default False
        Also test the projected signals that weigh less than ``coordinated_weight`` (shared by
        so many accounts that their rarity says little, yet under the hub cap) and project
        those found coordinated as coordinated hubs are. A ring of a few hundred accounts
        whose dozen datacenter exits and two templates are each held by the whole ring sits
        just under the cap: each shared exit weighs 0.01 and, over hub exits with no
        coordinated companion (the companions are not hubs), 317 of its 478 accounts were
        left in no cluster (evaluation-6 seed 7029 capped at 60k accounts, F1 0.401; 0.994
        with this on). **Off by default**: on the held-out evaluation-7 set it glued 481
        legitimate accounts into a ring's cluster (seed 8025: legit FPR 0.81 % on, 0.02 % off;
        at lift 40 too), and 5 of 40 worlds scored F1 < 0.95.
    coordinated_weak_lift : float, default 20.0
        ``coordinated_min_lift`` for the weak signals. Hundreds of them are tested for every hub,
        and an exit shared by strangers and a ring holds popular fingerprints at 10 times their
        population rate more often than a hub does (tuning world 1019: 0.44 % of legitimate
        accounts flagged at 10, none added at 20).
    cosharers_min_accounts : int, default 20000
        Types held by fewer accounts keep the plain cap: the median account must be a
        typical member of a population, not of a small extract dominated by one ring.
    """

    max_signal_degree: int = 500
    hub_share: float = 0.5
    max_pairs: int = 50_000_000
    min_link: float = 0.5
    type_weights: Mapping[str, float] | None = None
    corroboration: float = 0.25
    sample_neighbours: int = 8
    sample_clip: float = 0.5
    max_cosharers: float = 150.0
    cosharers_min_accounts: int = 20_000
    promiscuity: float = 4.0
    coordinated_weight: float = 0.5
    coordinated_max_share: float = 0.1
    coordinated_min_lift: float = 10.0
    coordinate_weak: bool = False
    coordinated_weak_lift: float = 20.0

    _constraints: ClassVar[dict[str, Constraint]] = {
        "max_signal_degree": Interval(int, 2, None),
        "hub_share": Interval(float, 0, 1, "right"),
        "max_pairs": Interval(int, 1, None),
        "min_link": Interval(float, 0, None, "neither"),
        "type_weights": NoneOr(WeightMapping()),
        "corroboration": Interval(float, 0, None),
        "sample_neighbours": Interval(int, 0, 1024),
        "sample_clip": Interval(float, 0, 1, "left"),
        "max_cosharers": Interval(float, 0, None, "neither"),
        "cosharers_min_accounts": Interval(int, 1, None),
        "coordinated_weight": Interval(float, 0, 1, "left"),
        "promiscuity": Interval(float, 0, None),
        "coordinated_max_share": Interval(float, 0, 1),
        "coordinated_min_lift": Interval(float, 1, None),
        "coordinate_weak": Boolean(),
        "coordinated_weak_lift": Interval(float, 1, None),
    }
