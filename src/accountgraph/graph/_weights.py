"""Rarity weights and per-type link weights: how telling is each shared signal?

A signal shared by ``d`` distinct accounts gets the rarity weight

.. math:: w(d) = \\frac{\\log(c / d)}{\\log(c / 2)}, \\qquad 2 \\le d \\le c,

which is 1 for a signal shared by two accounts and falls to 0 at the hub cap
``c`` (``max_signal_degree``, lowered to ``hub_share`` of all accounts on small
inputs). Signals shared by more than ``c`` accounts (carrier-grade NAT IPs,
popular SDK fingerprints, public prompt boilerplate) are *hubs*: they are kept
as evidence for scoring but never projected, so no quadratic account–account
blow-up can come from them.

For a pair of accounts the evidence of one signal type ``t`` combines the
shared signals as a noisy-or, :math:`e_t = 1 - \\prod_s (1 - w_s)` (sharing ten
mid-rarity proxy IPs is strong evidence, one is weak), and the link weight is
:math:`W = \\sum_g \\max_{t \\in g} \\alpha_t e_t` over evidence groups ``g``
(an IP and its /24 are one group: the same fact at two resolutions) with
per-type weights :math:`\\alpha_t` (:data:`DEFAULT_TYPE_WEIGHTS`). Pairs with
``W < min_link`` are dropped. With the defaults only a shared card links on its
own; IPs, fingerprints and templates must corroborate each other.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_TYPE_WEIGHTS", "EVIDENCE_GROUPS", "HUB", "LINKED", "OVER_BUDGET", "SAMPLED", "STATUS_NAMES",
    "UNSHARED", "rarity_weight", "type_caps",
]

DEFAULT_TYPE_WEIGHTS: dict[str, float] = {
    # Only a shared payment instrument links two accounts on its own. Every
    # other type weighs less than the default ``min_link`` (0.5), so it can
    # corroborate a link but never make one alone: a residential-proxy exit or
    # CGNAT pool, a coincidental fingerprint or a popular template shared with a
    # stranger must be backed by a second, independent kind of evidence.
    "payment": 1.0,
    "ip": 0.45,
    "device": 0.45,
    "template": 0.35,
    "ip_net": 0.2,
    "email_domain": 0.15,
    "phone_prefix": 0.05,
    "x:*": 0.5,
}

#: Types whose evidence is the same fact seen at two resolutions: a pair's
#: evidence from the group is the strongest member's, never their sum.
EVIDENCE_GROUPS: dict[str, str] = {"ip": "network", "ip_net": "network"}

# Signal status codes (AccountGraph.status)
UNSHARED, LINKED, HUB, OVER_BUDGET, SAMPLED = 0, 1, 2, 3, 4
STATUS_NAMES = {UNSHARED: "unshared", LINKED: "linked", HUB: "hub", OVER_BUDGET: "over_budget", SAMPLED: "sampled"}


def rarity_weight(degree: np.ndarray, cap: float) -> np.ndarray:
    """Rarity weight of signals shared by ``degree`` accounts, in [0, 1].

    Examples
    --------
    >>> rarity_weight(np.array([1, 2, 20, 200, 500]), 200).round(2).tolist()
    [0.0, 1.0, 0.5, 0.0, 0.0]
    """
    d = np.asarray(degree, dtype=np.float64)
    cap = np.maximum(np.asarray(cap, dtype=np.float64), 2.0 + 1e-9)
    # the same operations in the same order, in place: four float arrays instead of a dozen
    # (the monitor weighs all of its 14M signals twice per update past the horizon)
    shape = np.broadcast_shapes(d.shape, cap.shape)
    w = np.maximum(np.broadcast_to(d, shape), 1.0, out=np.empty(shape))
    np.divide(cap, w, out=w)
    with np.errstate(divide="ignore"):
        np.log(w, out=w)
    den = np.log(cap / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(w, den, out=w)
    np.clip(w, 0.0, 1.0, out=w)
    w[(d < 2) | (d > cap)] = 0.0
    return w


def _evidence(w: np.ndarray) -> np.ndarray:
    """Noisy-or evidence ``-log(1 - w)`` of rarity weights (capped at w = 0.999): sums combine as noisy-or."""
    return -np.log1p(-np.minimum(w, 0.999))


def _type_weight(name: str, weights: Mapping[str, float]) -> float:
    if name in weights:
        return float(weights[name])
    if name.startswith("x:"):
        return float(weights.get("x:*", DEFAULT_TYPE_WEIGHTS["x:*"]))
    return 0.0


def type_caps(signal_type: np.ndarray, account: np.ndarray, degree_inc: np.ndarray, n_types: int, cap: float,
              max_cosharers: float, min_accounts: int) -> np.ndarray:
    """Per signal type, the hub cap at which the typical account meets few strangers through it.

    An account's *co-sharers* through type ``t`` under a cap ``c`` are
    ``sum(d - 1)`` over its type-``t`` signals of degree ``2 <= d <= c``: the other accounts it
    would be projected against. For each type, the cap is the largest value of a geometric grid
    (10 .. ``cap``) at which the **median** account holding that type has at most
    ``max_cosharers`` of them. The cap thus follows the population and the type's own degree
    distribution: at 50k accounts popular fingerprints, carrier-grade NAT exits and public
    templates are shared by few, and nothing changes; at 500k, where a fixed catalogue of
    fingerprints or exits is shared by hundreds of strangers each, those degrees become hubs
    for that type only. The median is the typical *benign* account as long as rings are a
    minority of the accounts holding the type, which is why the rule applies only from
    ``min_accounts`` accounts holding the type on.

    Parameters
    ----------
    signal_type, account, degree_inc : ndarray, shape (m,)
        Per incidence: its signal's type, its account and its signal's degree.
    n_types : int
    cap : float
        The absolute hub cap (the grid's top).
    max_cosharers : float
        Median co-sharers allowed per account and type.
    min_accounts : int
        Types held by fewer accounts keep ``cap``.

    Returns
    -------
    ndarray of float64, shape (n_types,)

    Notes
    -----
    One ``bincount`` over the incidences per type (accounts x grid levels), O(m).

    Examples
    --------
    >>> # 200 accounts in 2 cliques of 100 on one type; everyone has 99 co-sharers
    >>> acc = np.arange(200); deg = np.full(200, 100)
    >>> [round(float(c), 1) for c in type_caps(np.zeros(200, np.int64), acc, deg, 1, 500, 50.0, 100)]
    [84.5]
    >>> type_caps(np.zeros(200, np.int64), acc, deg, 1, 500, 150.0, 100).tolist()  # 99 co-sharers allowed
    [500.0]
    """
    grid = _cap_grid(cap)
    out = np.full(n_types, float(cap))
    account = np.asarray(account, np.int64)
    n_acc = int(account.max()) + 1 if len(account) else 0
    kernel = _co_sharers()
    for t in range(n_types):
        co = kernel(np.asarray(signal_type), account, np.asarray(degree_inc), t, grid, n_acc, min_accounts)
        if co is not None:  # a row per holder of the type (ascending account), a column per grid cap
            out[t] = _pick_cap(np.median(co.cumsum(axis=1), axis=0), grid, max_cosharers)
    return out


@functools.cache
def _co_sharers() -> Any:
    """Compiled pass of :func:`type_caps` over one type's incidences (numba, compiled on first use).

    Each holder's co-sharers summed per grid level in incidence order (the order of the
    ``bincount`` it replaces, so the sums are the same to the last bit); None when no incidence
    of the type has degree 2 or more, or fewer than ``min_accounts`` accounts hold the type.
    """
    from numba import njit

    @njit(nogil=True, cache=True)
    def co_sharers(signal_type, account, degree_inc, t, grid, n_acc, min_accounts):  # type: ignore[no-untyped-def]
        n_grid = len(grid)
        held = np.zeros(n_acc, np.bool_)
        co = np.zeros(n_acc * n_grid, np.float64)
        shared = False
        for i in range(len(account)):
            if signal_type[i] != t:
                continue
            a = account[i]
            held[a] = True
            d = degree_inc[i]
            if d < 2:
                continue
            shared = True
            level = 0  # first grid cap >= d
            while level < n_grid and grid[level] < d:
                level += 1
            if level < n_grid:
                co[a * n_grid + level] += d - 1.0
        n_holders = 0
        for a in range(n_acc):
            n_holders += held[a]
        if not shared or n_holders < min_accounts:
            return None
        out = np.empty((n_holders, n_grid), np.float64)
        r = 0
        for a in range(n_acc):
            if held[a]:
                out[r] = co[a * n_grid:(a + 1) * n_grid]
                r += 1
        return out

    return co_sharers


def _cap_grid(cap: float) -> np.ndarray:
    """The caps :func:`type_caps` tries: a geometric grid from 10 to ``cap`` (and ``cap``), increasing."""
    grid = np.unique(np.r_[np.geomspace(10.0, max(float(cap), 10.0), 12), float(cap)])
    return grid[grid <= max(float(cap), 10.0)]


def _pick_cap(med: np.ndarray, grid: np.ndarray, max_cosharers: float) -> float:
    """The largest grid cap whose median co-sharers ``med`` (one per grid level) is at most
    ``max_cosharers``; the grid's first cap if none is."""
    ok = np.flatnonzero(med <= max_cosharers)
    return float(grid[ok[-1]] if ok.size else grid[0])
