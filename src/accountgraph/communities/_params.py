"""Parameters of the community stage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from .._validation import Constraint, Interval, Options, ParamsBase

__all__ = ["CommunityParams"]


@dataclass(frozen=True)
class CommunityParams(ParamsBase):
    """Community detection and account-level refinement.

    Parameters
    ----------
    method : {"leiden", "components"}, default "leiden"
        ``"components"`` stops at connected components.
    resolution : float, default 1.0
        Leiden modularity resolution.
    split_min_size : int, default 8
        Components of at most this many accounts are kept whole (Leiden splits larger ones).
    merge_density : float, default 0.05
        Leiden communities whose mean cross-link weight per account pair
        reaches this are rejoined (a ring's cells stay one cluster).
    n_iterations : int, default -1
        Leiden iterations (-1: until stable).
    oversize_share : float, default 0.1
        Communities holding more than this share of all accounts (and more than
        ``oversize_min``) are partitioned again at 4x, 16x, 64x the resolution: a ring
        is a small share of a user base, a community that large is glued by common
        signals (the scorer's share gate never flags one as it is). 1 turns it off.
        Not lower: a ring's community is sparse inside (its accounts rotate through a
        large exit pool), and at 16x the resolution it shatters into pieces too small to
        be clusters (at 0.02, `residential-proxy`'s 1,500-account ring, 3.5 % of its
        accounts, went from one cluster to 1,220 unclustered accounts).
    oversize_min : int, default 1000
        Communities of at most this many accounts are never re-split for their share.
    leiden_links : int, default 32
        Leiden partitions a component holding more than this many links per account (and more
        than a million links) on each account's this many strongest links (an edge kept if
        either end keeps it); everything after Leiden reads every link. A ring of 25,000
        accounts holds 15-18M links, which igraph converts one Python pair at a time: the
        partition of a daily monitor update at seed scale took 21-28 s, most of it there.
        0 hands Leiden every link.
    min_cluster_size : int, default 2
        Smaller communities are reported as "in no cluster".
    detach_min_strength : float, default 0.15
        In communities of ``detach_min_size`` or more accounts, members whose
        summed link weight to the other members is below this share of the
        ``detach_quantile`` member's are detached (a household sharing one proxy
        exit with one ring account).
    detach_quantile : float, default 0.25
        The reference member of :func:`detach_weak_members`: the community's lower
        quartile, not its median, because a community may hold two rings whose
        members differ in how many signals they share (on tuning world 1015, 172
        accounts of a smaller ring were detached from a community led by a denser
        ring against the median, 13 against the lower quartile).
    detach_min_size : int, default 6
    attach_min_signals : int, default 20
        An account in no community of ``attach_min_size``+ accounts joins the
        one in which at least this many of its rare signals are concentrated
        (0 disables attachment) ...
    attach_min_share : float, default 0.5
        ... making up at least this share of its rare signals ...
    attach_min_strength : float, default 0.5
        ... and at least this share of what the community's median member has.
    attach_min_concentration : float, default 0.5
        A signal is concentrated in a community holding this share of its
        clustered accounts ...
    attach_min_presence : float, default 0.2
        ... and this share of all its accounts.
    attach_min_size : int, default 6
    attach_rounds : int, default 3
    """

    method: Literal["leiden", "components"] = "leiden"
    resolution: float = 1.0
    split_min_size: int = 8
    merge_density: float = 0.05
    n_iterations: int = -1
    oversize_share: float = 0.1
    oversize_min: int = 1000
    leiden_links: int = 32
    min_cluster_size: int = 2
    detach_min_strength: float = 0.15
    detach_quantile: float = 0.25
    detach_max_links: int = 2
    detach_min_size: int = 6
    attach_min_signals: int = 20
    attach_min_share: float = 0.5
    attach_min_strength: float = 0.5
    attach_min_concentration: float = 0.5
    attach_min_presence: float = 0.2
    attach_min_size: int = 6
    attach_rounds: int = 3

    _constraints: ClassVar[dict[str, Constraint]] = {
        "method": Options(("leiden", "components")),
        "resolution": Interval(float, 0, None, "neither"),
        "split_min_size": Interval(int, 1, None),
        "merge_density": Interval(float, 0, None, "neither"),
        "n_iterations": Interval(int, -1, None),
        "oversize_share": Interval(float, 0, 1, "right"),
        "oversize_min": Interval(int, 1, None),
        "leiden_links": Interval(int, 0, None),
        "min_cluster_size": Interval(int, 2, None),
        "detach_min_strength": Interval(float, 0, 1, "left"),
        "detach_quantile": Interval(float, 0, 1),
        "detach_max_links": Interval(int, 0, None),
        "detach_min_size": Interval(int, 2, None),
        "attach_min_signals": Interval(int, 0, None),
        "attach_min_share": Interval(float, 0, 1),
        "attach_min_strength": Interval(float, 0, None),
        "attach_min_concentration": Interval(float, 0, 1),
        "attach_min_presence": Interval(float, 0, 1),
        "attach_min_size": Interval(int, 2, None),
        "attach_rounds": Interval(int, 1, 100),
    }
