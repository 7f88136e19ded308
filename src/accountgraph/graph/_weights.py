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

from collections.abc import Mapping

import numpy as np

__all__ = [
    "DEFAULT_TYPE_WEIGHTS", "EVIDENCE_GROUPS", "HUB", "LINKED", "OVER_BUDGET", "SAMPLED", "STATUS_NAMES",
    "UNSHARED", "rarity_weight",
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
    cap = max(float(cap), 2.0 + 1e-9)
    with np.errstate(divide="ignore"):
        w = np.log(cap / np.maximum(d, 1.0)) / np.log(cap / 2.0)
    return np.where((d >= 2) & (d <= cap), np.clip(w, 0.0, 1.0), 0.0)


def _evidence(w: np.ndarray) -> np.ndarray:
    """Noisy-or evidence ``-log(1 - w)`` of rarity weights (capped at w = 0.999): sums combine as noisy-or."""
    return -np.log1p(-np.minimum(w, 0.999))


def _type_weight(name: str, weights: Mapping[str, float]) -> float:
    if name in weights:
        return float(weights[name])
    if name.startswith("x:"):
        return float(weights.get("x:*", DEFAULT_TYPE_WEIGHTS["x:*"]))
    return 0.0
