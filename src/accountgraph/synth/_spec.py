"""Scenario and ring-tactic definitions (validated, frozen dataclasses).

A :class:`Scenario` fixes the populations (legitimate individuals, enterprises,
automation, rings) and the time window; a :class:`RingTactic` holds the knobs of
one ring. ``scale`` multiplies every count (accounts and target exchanges) while
per-account behaviour stays fixed, so event volume scales linearly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .._exceptions import InvalidParameterError

__all__ = ["RingTactic", "Scenario"]

Family = Literal["coding", "agentic", "reasoning"]

_CHOICES = {
    "payment": ("cells", "virtual-bin", "none", "mixed"),
    "proxy": ("residential", "datacenter", "mixed"),
    "devices": ("shared", "spoofed", "mixed"), "device_rotation": ("account", "request"),
    "timing": ("scripted", "mimic"), "email": ("webmail", "custom"),
}


def _fail(owner: str, name: str, domain: str, value: object) -> None:
    raise InvalidParameterError(
        f"The {name!r} parameter of {owner} must be {domain}. Got {value!r} instead."
    )


def _check(owner: str, obj: object, ints: tuple[str, ...], shares: tuple[str, ...],
           nonneg: tuple[str, ...]) -> None:
    for name in ints:
        v = getattr(obj, name)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            _fail(owner, name, "an int in [1, inf)", v)
    for name in shares:
        v = getattr(obj, name)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
            _fail(owner, name, "a float in [0, 1]", v)
    for name in nonneg:
        v = getattr(obj, name)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v < float("inf"):
            _fail(owner, name, "a float in [0, inf)", v)


@dataclass(frozen=True)
class RingTactic:
    """Knobs of one coordinated ring (all heads share one ``ring_id``).

    Parameters
    ----------
    ring_id : str
        Label written to ``labels.ring_id``.
    n_accounts : int
        Accounts over the ring's life, replacements for banned accounts included.
    n_events : int
        Target number of exchanges (expected value; realised within a few per mille).
    start_day, end_day : float
        Campaign window in days from the scenario start (``end_day=None``: scenario end).
    heads : int
        Hydra heads: disjoint proxies, devices, cards and e-mail domains, shared templates.
    head_stagger_days : float
        Head ``k`` starts ``k * head_stagger_days`` after the campaign start.
    creation_waves : int
        Account-creation bursts per head; accounts of one wave are created within
        ``wave_spread_hours`` of each other. The first wave comes 1-4 days before the
        campaign, the others between 2 days before it and ``wave_ramp`` of the way in.
    payment : {"cells", "virtual-bin", "none", "mixed"}
        ``cells``: ``cell_size`` accounts share one card. ``virtual-bin``: every account
        has its own virtual card, all from ``n_bins`` issuer BINs (shared prefix, distinct
        ids). ``none``: free tier, no card. ``mixed``: each account draws one of the three.
    n_bins : int
        Issuer BINs of the virtual cards (``virtual-bin`` and ``mixed``).
    payment_rotation_days : float
        If > 0, each account's charged instrument rotates among 3 cards this often.
    proxy : {"residential", "datacenter", "mixed"}
        Residential exits are drawn from the same ISP ranges as legitimate homes, and a
        ``legit_ip_overlap`` share of them *are* legitimate users' static home IPs.
        Datacenter exits come from a few cloud /24s. ``mixed``: a ``datacenter_share`` of
        each head's pool is datacenter, the rest residential.
    datacenter_share : float
        Datacenter share of the exit pool when ``proxy="mixed"``.
    proxy_pool : int
        Distinct exit IPs per head.
    sticky_hours : float
        0 rotates the exit per request; otherwise an account keeps one exit this long.
    vpn_share : float
        Share of requests sent through commercial VPN exits also used by legitimate users.
    devices : {"shared", "spoofed", "mixed"}
        ``shared``: one automation stack (``n_devices`` fingerprints per head).
        ``spoofed``: per-account fingerprints drawn from the popular legitimate ones.
        ``mixed``: a ``spoof_share`` of the accounts spoof, the others use the stack.
    spoof_share : float
        Share of spoofing accounts when ``devices="mixed"``.
    device_rotation : {"account", "request"}
        Spoofing accounts keep two fingerprints (``account``) or draw a fresh popular
        fingerprint for every request (``request``).
    families : tuple of {"coding", "agentic", "reasoning"}
        Template families the ring sends (slot-filled distillation prompts).
    n_templates : int or None
        ``None``: one variant per family template (4 coding, 3 agentic, 4 reasoning).
        Otherwise exactly this many variants, cycling through the families' templates
        with further style tails.
    aged_share : float
        Share of the initial accounts that are aged or bought: created uniformly between
        30 and ``aged_days`` days before the head starts instead of in a wave.
    aged_days : float
        Oldest creation of an aged account, in days before the head starts (> 30).
    camouflage : float
        Share of requests that are ordinary free-text prompts.
    timing : {"scripted", "mimic"}
        ``scripted``: load-balanced 24/7 cadence with bursts (``burst_share`` of hours are
        bursts). ``mimic``: diurnal curve of a legitimate user in ``mimic_tz``.
    output_median, output_sigma : float
        Log-normal output length (tokens): long and tight by default.
    churn : float
        Share of initial accounts banned mid-campaign and each replaced by a new account.
    pivot_delay_hours : float or None
        Hours after the new model's release at which the ring switches to it.
    email : {"webmail", "custom"}
        Free webmail like everyone else, or a few throwaway custom domains per head.
    """

    ring_id: str
    n_accounts: int
    n_events: int
    start_day: float = 0.0
    end_day: float | None = None
    heads: int = 1
    head_stagger_days: float = 0.0
    creation_waves: int = 3
    wave_spread_hours: float = 4.0
    wave_ramp: float = 0.6
    payment: Literal["cells", "virtual-bin", "none", "mixed"] = "cells"
    cell_size: int = 30
    payment_rotation_days: float = 0.0
    proxy: Literal["residential", "datacenter", "mixed"] = "residential"
    proxy_pool: int = 2000
    legit_ip_overlap: float = 0.3
    sticky_hours: float = 0.0
    vpn_share: float = 0.05
    devices: Literal["shared", "spoofed", "mixed"] = "shared"
    n_devices: int = 3
    families: tuple[Family, ...] = ("coding", "agentic", "reasoning")
    camouflage: float = 0.0
    timing: Literal["scripted", "mimic"] = "scripted"
    burst_share: float = 0.08
    mimic_tz: int = -5
    output_median: float = 2400.0
    output_sigma: float = 0.15
    churn: float = 0.0
    pivot_delay_hours: float | None = 12.0
    email: Literal["webmail", "custom"] = "webmail"
    # Knobs added for randomised worlds; the defaults reproduce the original behaviour.
    n_bins: int = 1
    datacenter_share: float = 0.5
    spoof_share: float = 0.5
    device_rotation: Literal["account", "request"] = "account"
    n_templates: int | None = None
    aged_share: float = 0.0
    aged_days: float = 365.0

    def __post_init__(self) -> None:
        _check("RingTactic", self,
               ints=("n_accounts", "n_events", "heads", "creation_waves", "cell_size",
                     "proxy_pool", "n_devices", "n_bins"),
               shares=("legit_ip_overlap", "vpn_share", "camouflage", "burst_share", "churn",
                       "wave_ramp", "datacenter_share", "spoof_share", "aged_share"),
               nonneg=("start_day", "head_stagger_days", "wave_spread_hours",
                       "payment_rotation_days", "sticky_hours", "output_sigma"))
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                _fail("RingTactic", name, f"one of {list(allowed)}", getattr(self, name))
        if self.heads > self.n_accounts:
            _fail("RingTactic", "heads", f"at most n_accounts={self.n_accounts}", self.heads)
        if not self.families or any(f not in ("coding", "agentic", "reasoning")
                                    for f in self.families):
            _fail("RingTactic", "families", "a non-empty tuple of 'coding', 'agentic', "
                  "'reasoning'", self.families)
        if not self.output_median > 0:
            _fail("RingTactic", "output_median", "a float in (0, inf)", self.output_median)
        if self.end_day is not None and not self.end_day > self.start_day:
            _fail("RingTactic", "end_day", f"greater than start_day={self.start_day}",
                  self.end_day)
        if self.n_templates is not None and (
                isinstance(self.n_templates, bool) or not isinstance(self.n_templates, int)
                or self.n_templates < 1):
            _fail("RingTactic", "n_templates", "None or an int in [1, inf)", self.n_templates)
        if not isinstance(self.aged_days, (int, float)) or not self.aged_days > 30:
            _fail("RingTactic", "aged_days", "a float in (30, inf)", self.aged_days)


@dataclass(frozen=True)
class Scenario:
    """A named synthetic world: time window, populations and rings.

    Parameters
    ----------
    name, description : str
        Registry key and a one-paragraph rationale.
    start : str
        ISO date of the window start (00:00 UTC).
    days : float
        Window length.
    n_legit : int
        Legitimate individual accounts.
    legit_rate : float
        Mean requests/day of a legitimate individual (median is ~4x lower: heavy tail).
    family_share : float
        Share of households with 2-5 accounts (shared home IP; card shared in 60%).
    boilerplate_share : float
        Share of legitimate users who send public agent/RAG boilerplate templates.
    mobile_share, vpn_share : float
        Share of legitimate users who sometimes connect via carrier-grade NAT / campus or
        commercial VPN exits (both pools are shared by thousands at scale 1).
    free_tier_share : float
        Share of legitimate users without a card (``payment_id`` null).
    max_household : int
        Largest family household (households of 2..``max_household`` accounts).
    cgnat_users_per_exit, vpn_users_per_exit : int
        Legitimate users per carrier-grade NAT / VPN exit: lower means fewer, busier hubs.
    longform_share : float
        Share of legitimate users who are long-form writers (outputs ~1,500-4,000 tokens,
        fairly tight), a false-positive trap for output-length signals.
    enterprise_sizes : tuple of int
        Account count of each enterprise.
    enterprise_rate : float
        Mean requests/working-day-averaged day per enterprise user.
    enterprise_batch_share : float
        Share of enterprises that also run 24/7 internal batch jobs: 1-5% of their
        accounts (at least one) send flat, templated, high-volume traffic from the office IPs.
    device_catalog : int or None
        Size of the catalogue of popular device fingerprints legitimate users draw from
        (heavy-tailed popularity). ``None``: one per 20 legitimate users, so sharing stays
        constant as the user base grows; a fixed number makes every fingerprint shared by
        more strangers as the user base grows, as real browser/SDK builds are.
    public_templates : int
        Extra public prompt templates (a long tail of prompt-library entries, Zipf
        popularity) that boilerplate users draw from besides the five classic ones; 0: none.
    n_automation : int
        Automation accounts (teams drawn from ``automation_team_sizes``).
    automation_team_sizes : tuple of int
        Team sizes drawn uniformly per team (a team shares IPs, fingerprint and card).
    automation_rate : float
        Mean requests/day per automation account (24/7).
    rings : tuple of RingTactic
    model_release_day : float or None
        Day (from start) a new model is released; ``None``: no release in the window.
    """

    name: str
    description: str
    start: str
    days: float
    n_legit: int
    legit_rate: float = 3.0
    family_share: float = 0.12
    boilerplate_share: float = 0.2
    mobile_share: float = 0.45
    vpn_share: float = 0.1
    free_tier_share: float = 0.3
    enterprise_sizes: tuple[int, ...] = ()
    enterprise_rate: float = 8.0
    n_automation: int = 0
    automation_rate: float = 600.0
    rings: tuple[RingTactic, ...] = ()
    model_release_day: float | None = None
    # Knobs added for randomised worlds; the defaults reproduce the original behaviour.
    max_household: int = 5
    cgnat_users_per_exit: int = 150
    vpn_users_per_exit: int = 400
    longform_share: float = 0.0
    enterprise_batch_share: float = 0.0
    automation_team_sizes: tuple[int, ...] = (1, 1, 1, 2, 3)
    # Catalogues that do not grow with the user base (issue 11): a fixed set of popular
    # fingerprints and a long tail of public prompt templates make strangers share mid-rarity
    # signals more and more as the population grows. ``None`` / 0 keep the original pools.
    device_catalog: int | None = None
    public_templates: int = 0

    def __post_init__(self) -> None:
        _check("Scenario", self,
               ints=("n_legit", "max_household", "cgnat_users_per_exit", "vpn_users_per_exit"),
               shares=("family_share", "boilerplate_share", "mobile_share", "vpn_share",
                       "free_tier_share", "longform_share", "enterprise_batch_share"),
               nonneg=("legit_rate", "enterprise_rate", "automation_rate"))
        if not isinstance(self.days, (int, float)) or not 1 <= self.days <= 366:
            _fail("Scenario", "days", "a float in [1, 366]", self.days)
        if any(isinstance(x, bool) or not isinstance(x, int) or x < 1
               for x in self.enterprise_sizes):
            _fail("Scenario", "enterprise_sizes", "a tuple of ints >= 1", self.enterprise_sizes)
        if self.device_catalog is not None and (
                isinstance(self.device_catalog, bool) or not isinstance(self.device_catalog, int)
                or self.device_catalog < 1):
            _fail("Scenario", "device_catalog", "None or an int in [1, inf)", self.device_catalog)
        if isinstance(self.public_templates, bool) or not isinstance(self.public_templates, int) \
                or self.public_templates < 0:
            _fail("Scenario", "public_templates", "an int in [0, inf)", self.public_templates)
        if self.max_household < 2:
            _fail("Scenario", "max_household", "an int in [2, inf)", self.max_household)
        if not self.automation_team_sizes or any(
                isinstance(x, bool) or not isinstance(x, int) or x < 1
                for x in self.automation_team_sizes):
            _fail("Scenario", "automation_team_sizes", "a non-empty tuple of ints >= 1",
                  self.automation_team_sizes)
        if isinstance(self.n_automation, bool) or self.n_automation < 0:
            _fail("Scenario", "n_automation", "an int in [0, inf)", self.n_automation)
        for r in self.rings:
            if r.start_day >= self.days - 1:
                _fail("Scenario", "rings", f"rings starting before day {self.days - 1}",
                      r.start_day)
        ids = [r.ring_id for r in self.rings]
        if len(set(ids)) != len(ids):
            _fail("Scenario", "rings", "rings with distinct ring_id values", ids)

    def scaled(self, scale: float) -> Scenario:
        """Return a copy with every count multiplied by ``scale`` (small counts floored)."""
        if scale == 1.0:
            return self

        def s(n: int, lo: int) -> int:
            return max(lo, int(round(n * scale)))

        rings = tuple(
            dataclasses.replace(r, n_accounts=s(r.n_accounts, 2 * r.heads),
                                n_events=s(r.n_events, 20 * r.heads),
                                proxy_pool=s(r.proxy_pool, 8))
            for r in self.rings
        )
        return dataclasses.replace(
            self, n_legit=s(self.n_legit, 10),
            enterprise_sizes=tuple(s(x, 3) for x in self.enterprise_sizes),
            n_automation=s(self.n_automation, 1) if self.n_automation else 0,
            rings=rings,
        )

    def expected_events(self) -> float:
        """Rough expected event count (used to size time slices and for warnings)."""
        legit = self.n_legit * self.legit_rate * self.days
        ent = sum(self.enterprise_sizes) * self.enterprise_rate * self.days
        auto = self.n_automation * self.automation_rate * self.days
        return legit + ent + auto + sum(r.n_events for r in self.rings)
