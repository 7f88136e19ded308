"""The registry of named scenarios (``SCENARIOS``) and its lookup helpers.

Each entry's description says what it tests; ``docs/scenarios.md`` gives the
reasoning and the measured sizes at ``scale=1``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .._exceptions import InvalidParameterError
from ._spec import RingTactic, Scenario

__all__ = ["SCENARIOS", "RANDOM", "list_scenarios", "get_scenario"]

#: Name of the randomised scenario: its spec is drawn from the seed (see ``_random``),
#: so it is not a fixed registry entry.
RANDOM = "random"


def _many_rings() -> tuple[RingTactic, ...]:
    # Fixed internal seed: the tactic mix is part of the scenario definition, the
    # user's seed only changes the realisation.
    g = np.random.default_rng(20240611)
    sizes = np.concatenate([[3000, 10], np.exp(g.uniform(np.log(10), np.log(3000), 22))])
    out = []
    for i, n in enumerate(np.round(sizes).astype(int)):
        days = float(g.uniform(5, 28))
        start = float(g.uniform(0, 30 - days))
        rate = float(g.uniform(4, 14))
        fam = tuple(g.choice(["coding", "agentic", "reasoning"], size=int(g.integers(1, 4)),
                             replace=False).tolist())
        out.append(RingTactic(
            ring_id=f"ring-{i:02d}", n_accounts=int(n), n_events=int(n * rate * days * 0.5),
            start_day=start, end_day=start + days, heads=int(g.choice([1, 1, 1, 2, 3])),
            head_stagger_days=float(g.uniform(0, 3)), creation_waves=int(g.integers(1, 5)),
            payment=str(g.choice(["cells", "virtual-bin"])),  # type: ignore[arg-type]
            cell_size=int(g.integers(5, 60)),
            payment_rotation_days=float(g.choice([0.0, 0.0, 3.0, 7.0])),
            proxy=str(g.choice(["residential", "residential", "datacenter"])),  # type: ignore[arg-type]
            proxy_pool=int(max(8, n * g.uniform(0.3, 3))), legit_ip_overlap=float(g.uniform(0, 0.5)),
            sticky_hours=float(g.choice([0.0, 1.0, 24.0])),
            devices=str(g.choice(["shared", "spoofed"])),  # type: ignore[arg-type]
            n_devices=int(g.integers(1, 6)), families=fam,  # type: ignore[arg-type]
            camouflage=float(g.choice([0.0, 0.0, 0.2, 0.5])),
            timing=str(g.choice(["scripted", "mimic"])),  # type: ignore[arg-type]
            output_median=float(g.uniform(1200, 3500)), output_sigma=float(g.uniform(0.08, 0.3)),
            churn=float(g.choice([0.0, 0.1, 0.3])),
            email=str(g.choice(["webmail", "custom"])),  # type: ignore[arg-type]
        ))
    return tuple(out)


_LEGIT_POP = dict(mobile_share=0.45, vpn_share=0.1, family_share=0.12, boilerplate_share=0.2)

SCENARIOS: dict[str, Scenario] = {s.name: s for s in [
    Scenario(
        name="tiny",
        description="Smoke-test world (~20k events, 14 days): 400 legitimate users, two "
                    "enterprises, a few automation accounts, one residential-proxy ring and one "
                    "datacenter ring. Every trap is present but small.",
        start="2026-03-02", days=14, n_legit=400, legit_rate=1.5,
        enterprise_sizes=(30, 8), enterprise_rate=6.0, n_automation=3, automation_rate=80.0,
        rings=(
            RingTactic("ring-00", 40, 5000, start_day=2, proxy_pool=120, legit_ip_overlap=0.4,
                       devices="spoofed", payment="virtual-bin", creation_waves=2, churn=0.2,
                       pivot_delay_hours=10.0),
            RingTactic("ring-01", 20, 2000, start_day=5, proxy="datacenter", proxy_pool=30,
                       cell_size=10, camouflage=0.3, families=("coding",)),
        ),
        model_release_day=9.0,
    ),
    Scenario(
        name="small",
        description="Every trap at test size (~200k events, 21 days): CGNAT and VPN IPs shared "
                    "by hundreds, popular fingerprints, public boilerplate users, families, six "
                    "enterprises (one of 300 accounts) and four rings covering both proxy kinds, "
                    "both device tactics, cells and virtual BINs, camouflage, mimicry, a hydra "
                    "with churn, and a new-model pivot on day 14.",
        start="2026-03-02", days=21, n_legit=4000, legit_rate=1.0,
        enterprise_sizes=(300, 60, 25, 12, 8, 5), enterprise_rate=4.0,
        n_automation=6, automation_rate=200.0,
        rings=(
            RingTactic("ring-00", 300, 30000, start_day=1, proxy_pool=600, legit_ip_overlap=0.4,
                       devices="spoofed", payment="virtual-bin", creation_waves=3),
            RingTactic("ring-01", 120, 10000, start_day=3, proxy="datacenter", proxy_pool=60,
                       cell_size=20, payment_rotation_days=4, families=("coding", "agentic")),
            RingTactic("ring-02", 200, 15000, start_day=0, heads=2, head_stagger_days=6,
                       churn=0.3, proxy_pool=300, email="custom", sticky_hours=24,
                       families=("reasoning", "coding")),
            RingTactic("ring-03", 80, 6000, start_day=2, camouflage=0.4, timing="mimic",
                       devices="spoofed", proxy_pool=150, legit_ip_overlap=0.5,
                       output_sigma=0.3, output_median=1500),
        ),
        model_release_day=14.0,
    ),
    Scenario(
        name="enterprise-heavy",
        description="Benign clusters dominate (~1.6M events, 30 days): 14 enterprises of 5-2,000 "
                    "accounts share corporate cards, office NAT IPs, managed fingerprints, an "
                    "internal tool's templates and an e-mail domain, and were provisioned in "
                    "bursts. Two rings look corporate on purpose (custom domains, card cells of "
                    "60, shared stacks, datacenter exits).",
        start="2026-02-02", days=30, n_legit=30000, legit_rate=0.8,
        enterprise_sizes=(2000, 800, 400, 250, 150, 100, 60, 40, 25, 15, 10, 8, 5, 5),
        enterprise_rate=4.0, n_automation=20, automation_rate=300.0,
        rings=(
            RingTactic("ring-00", 600, 150_000, start_day=4, proxy="datacenter", proxy_pool=120,
                       cell_size=60, email="custom", creation_waves=2, n_devices=2,
                       families=("coding", "agentic")),
            RingTactic("ring-01", 300, 60_000, start_day=10, cell_size=50, email="custom",
                       proxy_pool=800, timing="mimic", mimic_tz=-5, families=("reasoning",)),
        ),
        model_release_day=20.0,
    ),
    Scenario(
        name="residential-proxy",
        description="Rings behind residential proxies (~1.3M events, 28 days): exits sit in the "
                    "same ISP /24s as legitimate homes and 30-60% of them are legitimate users' "
                    "own static home IPs; one ring spoofs popular fingerprints and mimics "
                    "diurnal use, the other keeps sticky 24 h sessions.",
        start="2026-02-02", days=28, n_legit=40000, legit_rate=0.7,
        enterprise_sizes=(200, 50, 20), enterprise_rate=4.0, n_automation=10,
        automation_rate=300.0,
        rings=(
            RingTactic("ring-00", 1500, 250_000, start_day=2, proxy_pool=20000,
                       legit_ip_overlap=0.6, devices="spoofed", timing="mimic",
                       payment="virtual-bin", creation_waves=4),
            RingTactic("ring-01", 800, 120_000, start_day=6, proxy_pool=6000,
                       legit_ip_overlap=0.3, sticky_hours=24, cell_size=25,
                       payment_rotation_days=5),
        ),
        model_release_day=16.0,
    ),
    Scenario(
        name="camouflage",
        description="Rings that blend in (~1.1M events, 28 days): 30-60% of their requests are "
                    "ordinary prompts, timing mimics a time zone's day, fingerprints are spoofed "
                    "from popular clients and outputs are shorter and broader; one ring is a "
                    "three-headed hydra with churn.",
        start="2026-02-02", days=28, n_legit=30000, legit_rate=0.8,
        enterprise_sizes=(300, 80, 30, 10), enterprise_rate=4.0, n_automation=8,
        automation_rate=250.0,
        rings=(
            RingTactic("ring-00", 1000, 150_000, start_day=2, camouflage=0.6, timing="mimic",
                       devices="spoofed", proxy_pool=8000, legit_ip_overlap=0.4,
                       output_median=900, output_sigma=0.45, payment="virtual-bin"),
            RingTactic("ring-01", 500, 80_000, start_day=5, camouflage=0.3, proxy_pool=3000,
                       devices="spoofed", output_median=1800, output_sigma=0.3),
            RingTactic("ring-02", 900, 100_000, start_day=1, heads=3, head_stagger_days=5,
                       churn=0.2, camouflage=0.5, timing="mimic", mimic_tz=1,
                       proxy_pool=4000, email="custom", output_median=1400, output_sigma=0.35),
        ),
        model_release_day=14.0,
    ),
    Scenario(
        name="many-rings",
        description="Twenty-four rings of 10-3,000 accounts with randomly mixed tactics "
                    "(~2M events, 30 days), for recall across ring sizes; the tactic mix is "
                    "fixed (internal seed), the user seed changes the realisation.",
        start="2026-02-02", days=30, n_legit=20000, legit_rate=0.8,
        enterprise_sizes=(400, 120, 40, 12, 6), enterprise_rate=4.0, n_automation=10,
        automation_rate=300.0, rings=_many_rings(), model_release_day=15.0,
    ),
    Scenario(
        name="seed-2026-small",
        description="Modelled on the 2026 distillation campaign: one ring (three hydra heads) "
                    "of 25,000 accounts making 28.8M exchanges from 2026-04-22 to 2026-06-05 "
                    "(~28 per active account-day), created in bursts, payment cells of 40 with weekly "
                    "card rotation, residential plus commercial proxy exits mixed with ordinary "
                    "traffic, coding/agentic/reasoning templates with long outputs, scripted "
                    "load-balanced cadence, 5% churn, and a pivot to nova-4 twelve hours after "
                    "its release on 2026-05-22; among ~4.8M legitimate exchanges. Stream it with "
                    "write().",
        start="2026-04-22", days=44, n_legit=80000, legit_rate=0.8,
        enterprise_sizes=(2000, 1200, 600, 400, 300, 200, 150, 100, 80, 60, 40, 30, 20, 15,
                          10, 8, 5),
        enterprise_rate=4.0, n_automation=40, automation_rate=600.0,
        rings=(
            RingTactic("ring-2026", 25_000, 28_800_000, start_day=0, heads=3,
                       head_stagger_days=1, creation_waves=6, wave_ramp=0.05, cell_size=40,
                       payment_rotation_days=7, proxy_pool=60000, legit_ip_overlap=0.3,
                       vpn_share=0.1, n_devices=12, camouflage=0.05, churn=0.05,
                       output_median=2600, pivot_delay_hours=12.0),
        ),
        model_release_day=30.0,
    ),
    Scenario(
        name="feb-2026-small",
        description="Modelled on the three earlier 2026 campaigns (~16.5M exchanges by ~24,000 "
                    "accounts over 42 days from 2026-01-19): a 150k-exchange probe (1,000 "
                    "accounts, datacenter exits, 10 days), a 3.4M campaign (7,000 accounts, "
                    "residential exits, spoofed fingerprints, virtual cards from one BIN) and a "
                    "13M campaign (16,000 accounts, two hydra heads, churn, pivot to a model "
                    "released on day 30); among ~3.9M legitimate exchanges. Stream it with "
                    "write().",
        start="2026-01-19", days=42, n_legit=60000, legit_rate=0.8,
        enterprise_sizes=(1500, 600, 300, 150, 80, 40, 20, 10, 5), enterprise_rate=4.0,
        n_automation=30, automation_rate=500.0,
        rings=(
            RingTactic("campaign-a", 1000, 150_000, start_day=0, end_day=10,
                       proxy="datacenter", proxy_pool=200, cell_size=50, n_devices=2,
                       families=("coding",), pivot_delay_hours=None),
            RingTactic("campaign-b", 7000, 3_400_000, start_day=5, end_day=35, proxy_pool=15000,
                       legit_ip_overlap=0.4, devices="spoofed", payment="virtual-bin",
                       families=("agentic", "coding"), creation_waves=5, churn=0.1),
            RingTactic("campaign-c", 16000, 13_000_000, start_day=12, heads=2,
                       head_stagger_days=2, wave_ramp=0.1, proxy_pool=40000, legit_ip_overlap=0.3,
                       vpn_share=0.1, n_devices=8, cell_size=30, payment_rotation_days=7,
                       families=("reasoning", "coding", "agentic"), churn=0.1,
                       creation_waves=6, output_median=2800, pivot_delay_hours=8.0),
        ),
        model_release_day=30.0,
    ),
]}


# Realistic user bases at scale 1 (~500k accounts): ``seed-2026`` and ``feb-2026`` are the
# ``-small`` worlds above (same rings, window and dates) among the user base of a real
# provider. The ``-small`` worlds keep their bytes for regression checks against them.
_BIG_ENTERPRISES = (5000, 3000, 2000, 2000, 1500, 1200, 1000, 800, 600, 500, 400, 400, 300,
                    300, 250, 200, 200, 150, 150, 120, 100, 100, 80, 80, 60, 60, 50, 40, 40,
                    30, 30, 25, 20, 20, 15, 15, 12, 10, 10, 8, 8, 6, 5, 5, 5)


def _full(base: Scenario, name: str, n_legit: int, n_automation: int) -> Scenario:
    full = dataclasses.replace(base, name=name, n_legit=n_legit, enterprise_sizes=_BIG_ENTERPRISES,
                               n_automation=n_automation)
    benign = full.expected_events() - sum(r.n_events for r in full.rings)
    n_acc = n_legit + sum(_BIG_ENTERPRISES) + n_automation + sum(r.n_accounts for r in full.rings)
    desc = (base.description.split("; among")[0]
            + f"; among a provider's full user base: {n_legit:,} individuals, {len(_BIG_ENTERPRISES)} "
              f"enterprises ({sum(_BIG_ENTERPRISES):,} accounts) and {n_automation} automation accounts "
              f"(~{benign / 1e6:.0f}M benign exchanges), so ring accounts are ~5% of ~{n_acc / 1e3:.0f}k "
              "accounts. Stream it with write().")
    return dataclasses.replace(full, description=desc)


def _small(base: Scenario, full: str) -> Scenario:
    desc = base.description.replace(
        " Stream it with write().", f" A small user base (~{base.scaled(1.0).n_legit // 1000}k individuals), "
        f"kept for regression checks; {full!r} is the same world among a provider's full user base. "
        "Stream it with write().")
    return dataclasses.replace(base, description=desc)


SCENARIOS["seed-2026"] = _full(SCENARIOS["seed-2026-small"], "seed-2026", 450_000, 120)
SCENARIOS["feb-2026"] = _full(SCENARIOS["feb-2026-small"], "feb-2026", 450_000, 100)
SCENARIOS["seed-2026-small"] = _small(SCENARIOS["seed-2026-small"], "seed-2026")
SCENARIOS["feb-2026-small"] = _small(SCENARIOS["feb-2026-small"], "feb-2026")

#: Former names of registry entries, still accepted by :func:`get_scenario` (not listed).
ALIASES = {"seed-2026-full": "seed-2026", "feb-2026-full": "feb-2026"}


def list_scenarios() -> list[str]:
    """Return the registered scenario names, in registry order.

    Examples
    --------
    >>> from accountgraph.synth import list_scenarios
    >>> list_scenarios()[:2]
    ['tiny', 'small']
    """
    return list(SCENARIOS)


def get_scenario(scenario: str | Scenario, func: str = "generate") -> Scenario:
    """Resolve a scenario name (or pass a :class:`Scenario` through), validating it."""
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, str) and scenario in ALIASES:
        return SCENARIOS[ALIASES[scenario]]
    if not isinstance(scenario, str) or scenario not in SCENARIOS:
        raise InvalidParameterError(
            f"The 'scenario' parameter of {func} must be one of {list_scenarios()}, "
            f"{RANDOM!r} (a world drawn from the seed) or a Scenario instance. Got "
            f"{scenario!r} instead."
        )
    return SCENARIOS[scenario]
