"""Randomised worlds: the seed draws the whole :class:`Scenario`, rings and benign world.

A benchmark of eight hand-made scenarios is eight points a detector can overfit. The
``"random"`` scenario is a *distribution*: :func:`random_scenario` turns a seed into a
world spec with every ring tactic drawn independently over a wide range and the benign
world (user-base size, hub density, households, enterprises, automation) varied as much.
The same seed always gives the same spec, and ``generate("random", seed=N)`` then
realises it with the same seed, so worlds are reproducible byte for byte.

The ranges are collected in :data:`RANDOM_RANGES` (used by the tests and documented in
``docs/scenarios.md``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np

from ._pools import TZS
from ._spec import RingTactic, Scenario
from ._util import check_seed

__all__ = ["random_scenario", "RANDOM_RANGES", "FULL_SCALE_SHARE"]

#: Share of random worlds drawn at full scale (500k-800k accounts); the rest are 50k-150k.
FULL_SCALE_SHARE = 0.15

#: Closed ranges of the drawn parameters (categorical knobs: the allowed values).
RANDOM_RANGES: dict[str, tuple[float, float]] = {
    "n_accounts_mid": (50_000, 150_000),
    "n_accounts_full": (500_000, 800_000),
    "days": (21, 45),
    "legit_rate": (0.3, 1.2),
    "family_share": (0.03, 0.25),
    "max_household": (3, 8),
    "boilerplate_share": (0.05, 0.4),
    "mobile_share": (0.15, 0.7),
    "vpn_share": (0.02, 0.25),
    "cgnat_users_per_exit": (40, 600),
    "vpn_users_per_exit": (100, 2000),
    "free_tier_share": (0.1, 0.5),
    "longform_share": (0.0, 0.05),
    "enterprise_account_share": (0.01, 0.10),
    "enterprise_size": (5, 5000),
    "enterprise_batch_share": (0.0, 0.6),
    "enterprise_rate": (2.0, 8.0),
    "n_automation": (5, 120),
    "automation_rate": (100.0, 1000.0),
    "n_rings": (1, 30),
    "ring_account_share": (0.002, 0.08),
    "ring_event_share": (0.03, 0.4),
    "ring_size": (10, 30_000),
    "ring_rate": (2.0, 200.0),
    "ring_days": (3.0, 45.0),
    "heads": (1, 12),
    "head_stagger_days": (0.0, 4.0),
    "creation_waves": (1, 8),
    "wave_spread_hours": (0.25, 24.0),
    "wave_ramp": (0.0, 0.8),
    "aged_share": (0.0, 0.8),
    "aged_days": (60.0, 1000.0),
    "cell_size": (2, 60),
    "n_bins": (1, 5),
    "payment_rotation_days": (0.0, 14.0),
    "proxy_per_account": (0.02, 3.0),
    "datacenter_share": (0.2, 0.8),
    "legit_ip_overlap": (0.0, 0.2),
    "sticky_hours": (0.0, 24.0),
    "ring_vpn_share": (0.0, 0.2),
    "n_devices": (1, 20),
    "spoof_share": (0.2, 0.8),
    "n_templates": (2, 40),
    "camouflage": (0.0, 0.7),
    "burst_share": (0.0, 0.15),
    "output_median": (300.0, 4000.0),
    "output_sigma": (0.05, 1.0),
    "churn": (0.0, 0.4),
    "pivot_delay_hours": (1.0, 72.0),
    "device_catalog": (300, 30_000),
    "public_templates": (20, 3000),
}
_R = RANDOM_RANGES
_FAMILIES = ("coding", "agentic", "reasoning")


def _logu(g: np.random.Generator, key: str) -> float:
    lo, hi = _R[key]
    return float(np.exp(g.uniform(np.log(lo), np.log(hi))))


def _u(g: np.random.Generator, key: str) -> float:
    lo, hi = _R[key]
    return float(g.uniform(lo, hi))


def _int(g: np.random.Generator, key: str) -> int:
    lo, hi = _R[key]
    return int(g.integers(int(lo), int(hi) + 1))


def _maybe_zero(g: np.random.Generator, p_zero: float, draw: float) -> float:
    return 0.0 if g.random() < p_zero else draw


def _enterprises(g: np.random.Generator, budget: int) -> tuple[int, ...]:
    sizes: list[int] = []
    while sum(sizes) < budget and len(sizes) < 300:
        sizes.append(int(round(_logu(g, "enterprise_size"))))
    if sizes and sum(sizes) > budget:
        sizes[-1] = max(5, sizes[-1] - (sum(sizes) - budget))
    return tuple(sorted(sizes, reverse=True))


def _ring_sizes(g: np.random.Generator, n_rings: int, budget: float) -> np.ndarray:
    lo, hi = _R["ring_size"]
    sizes = np.exp(g.uniform(np.log(lo), np.log(hi), n_rings))
    if sizes.sum() > budget:
        # Rings must stay a small share of the user base: compress the sizes in log space
        # towards the minimum (lo * (s / lo) ** a, a in [0, 1] by bisection), which keeps
        # their order and spread instead of piling many rings onto the floor.
        a_lo, a_hi = 0.0, 1.0
        for _ in range(40):
            a = (a_lo + a_hi) / 2
            if (lo * (sizes / lo) ** a).sum() > budget:
                a_hi = a
            else:
                a_lo = a
        sizes = lo * (sizes / lo) ** a_lo
    return np.clip(np.round(sizes), lo, hi).astype(int)


def _tactic(g: np.random.Generator, i: int, n: int, days: int) -> tuple[RingTactic, float]:
    """Draw one ring's tactics; return it with its drawn requests per account-day."""
    dur = float(g.uniform(_R["ring_days"][0], days))
    start = float(g.uniform(0, days - dur))
    rate = _logu(g, "ring_rate")
    heads = 1 if g.random() < 0.5 else _int(g, "heads")
    heads = max(1, min(heads, n // 5))
    proxy = str(g.choice(["residential", "datacenter", "mixed"], p=[0.5, 0.2, 0.3]))
    tight = g.random() < 0.5
    fams = tuple(str(f) for f in g.choice(_FAMILIES, size=int(g.integers(1, 4)), replace=False))
    t = RingTactic(
        ring_id=f"ring-{i:02d}", n_accounts=n,
        n_events=max(20 * heads, int(round(n * rate * dur * 0.85))),
        start_day=round(start, 3), end_day=round(start + dur, 3), heads=heads,
        head_stagger_days=_u(g, "head_stagger_days"),
        creation_waves=_int(g, "creation_waves"), wave_spread_hours=_logu(g, "wave_spread_hours"),
        wave_ramp=_u(g, "wave_ramp"),
        aged_share=_maybe_zero(g, 0.3, _u(g, "aged_share")), aged_days=_u(g, "aged_days"),
        payment=str(g.choice(["cells", "virtual-bin", "none", "mixed"])),  # type: ignore[arg-type]
        cell_size=int(round(_logu(g, "cell_size"))), n_bins=_int(g, "n_bins"),
        payment_rotation_days=_maybe_zero(g, 0.6, float(g.uniform(2.0, 14.0))),
        proxy=proxy,  # type: ignore[arg-type]
        proxy_pool=max(8, int(round(n / heads * _logu(g, "proxy_per_account")))),
        datacenter_share=_u(g, "datacenter_share"), legit_ip_overlap=_u(g, "legit_ip_overlap"),
        sticky_hours=_maybe_zero(g, 0.4, float(np.exp(g.uniform(np.log(0.1), np.log(24.0))))),
        vpn_share=_u(g, "ring_vpn_share"),
        devices=str(g.choice(["shared", "spoofed", "mixed"])),  # type: ignore[arg-type]
        n_devices=_int(g, "n_devices"), spoof_share=_u(g, "spoof_share"),
        device_rotation=str(g.choice(["account", "request"])),  # type: ignore[arg-type]
        families=fams, n_templates=_int(g, "n_templates"),  # type: ignore[arg-type]
        camouflage=_maybe_zero(g, 0.25, _u(g, "camouflage")),
        timing=str(g.choice(["scripted", "mimic"])),  # type: ignore[arg-type]
        burst_share=_u(g, "burst_share"), mimic_tz=int(g.choice(TZS)),
        output_median=(float(np.exp(g.uniform(np.log(800), np.log(4000)))) if tight
                       else float(np.exp(g.uniform(np.log(300), np.log(2000))))),
        output_sigma=float(g.uniform(0.05, 0.25)) if tight else float(g.uniform(0.4, 1.0)),
        churn=_maybe_zero(g, 0.4, _u(g, "churn")),
        pivot_delay_hours=None if g.random() < 0.3 else _logu(g, "pivot_delay_hours"),
        email=str(g.choice(["webmail", "custom"])),  # type: ignore[arg-type]
    )
    return t, rate


def _cap_ring_events(drawn: list[tuple[RingTactic, float]], cap: float) -> list[RingTactic]:
    """The drawn tactics, their events scaled down (rate floor 2/account-day) if they exceed ``cap`` in total."""
    rings = [t for t, _ in drawn]
    total = sum(t.n_events for t in rings)
    if total <= cap:
        return rings
    f = cap / total
    out = []
    for t, rate in drawn:
        per_day = max(_R["ring_rate"][0], rate * f)
        n_ev = max(20 * t.heads, int(round(t.n_events * per_day / rate)))
        out.append(dataclasses.replace(t, n_events=n_ev))
    return out


def _catalogues(g: np.random.Generator) -> tuple[int | None, int]:
    """Device catalogue and public long tail; drawn last, so the rest of a spec is what its seed drew before."""
    catalog = None if g.random() < 0.5 else int(round(_logu(g, "device_catalog")))
    public = 0 if g.random() < 0.3 else int(round(_logu(g, "public_templates")))
    return catalog, public


def random_scenario(seed: int) -> Scenario:
    """Draw a whole world spec (benign population and rings) from ``seed``.

    Parameters
    ----------
    seed : int
        Non-negative. The same seed always gives the same :class:`Scenario`; it is drawn
        from its own random stream, independent of the streams that realise the world.

    Returns
    -------
    Scenario
        Named ``random-<seed>``. About 85% of seeds give mid-size worlds (50k-150k
        accounts), 15% full-scale ones (500k-800k); rings are 0.2-8% of the accounts
        and at most 3-40% of the expected events (ring rates are scaled down, never
        below 2 requests per account-day, to respect that budget).

    Raises
    ------
    InvalidParameterError
        If ``seed`` is not a non-negative int.

    Notes
    -----
    Cost: microseconds (a few hundred random draws). Ranges: :data:`RANDOM_RANGES`.

    Examples
    --------
    >>> from accountgraph.synth import random_scenario
    >>> a, b = random_scenario(7), random_scenario(7)
    >>> a == b, a.name
    (True, 'random-7')
    >>> 1 <= len(a.rings) <= 30
    True
    """
    seed = check_seed(seed, "random_scenario")
    # A spawn key no other stage uses: the spec stream is separate from generation.
    g = np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(0x5EED,)))
    full = g.random() < FULL_SCALE_SHARE
    n_total = int(round(_logu(g, "n_accounts_full" if full else "n_accounts_mid")))
    days = _int(g, "days")
    start = dt.date(2026, 1, 5) + dt.timedelta(days=int(g.integers(0, 300)))
    release = None if g.random() < 0.3 else round(float(g.uniform(0.3, 0.85)) * days, 3)

    ent = _enterprises(g, int(n_total * _u(g, "enterprise_account_share")))
    n_auto = _int(g, "n_automation")
    n_rings = int(round(_logu(g, "n_rings")))
    ring_share = _logu(g, "ring_account_share")
    sizes = _ring_sizes(g, n_rings, ring_share * n_total)
    n_legit = max(1000, n_total - sum(ent) - n_auto - int(sizes.sum()))

    benign = dict(
        legit_rate=_logu(g, "legit_rate"), family_share=_u(g, "family_share"),
        max_household=_int(g, "max_household"), boilerplate_share=_u(g, "boilerplate_share"),
        mobile_share=_u(g, "mobile_share"), vpn_share=_u(g, "vpn_share"),
        cgnat_users_per_exit=int(round(_logu(g, "cgnat_users_per_exit"))),
        vpn_users_per_exit=int(round(_logu(g, "vpn_users_per_exit"))),
        free_tier_share=_u(g, "free_tier_share"), longform_share=_u(g, "longform_share"),
        enterprise_batch_share=_u(g, "enterprise_batch_share"),
        enterprise_rate=_u(g, "enterprise_rate"), automation_rate=_logu(g, "automation_rate"),
    )
    drawn = [_tactic(g, i, int(n), days) for i, n in enumerate(sizes)]
    # Keep rings a small share of the traffic: scale rates down (floor 2/account-day).
    benign_events = days * (n_legit * benign["legit_rate"] + sum(ent) * benign["enterprise_rate"]
                            + n_auto * benign["automation_rate"])
    rings = _cap_ring_events(drawn, _u(g, "ring_event_share") * benign_events)
    catalog, public = _catalogues(g)

    desc = (f"Randomised world (seed {seed}): {n_total:,} accounts over {days} days, "
            f"{len(rings)} rings of {int(sizes.min())}-{int(sizes.max())} accounts with "
            f"independently drawn tactics, {len(ent)} enterprises and {n_auto} automation "
            "accounts; see docs/scenarios.md for the ranges.")
    return Scenario(
        name=f"random-{seed}", description=desc, start=start.isoformat(), days=days,
        n_legit=n_legit, enterprise_sizes=ent, n_automation=n_auto, rings=tuple(rings),
        model_release_day=release, automation_team_sizes=(1, 1, 2, 2, 3, 4, 5),
        device_catalog=catalog, public_templates=public,
        **benign,  # type: ignore[arg-type]
    )
