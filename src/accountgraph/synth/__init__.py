"""Synthetic API-usage worlds with planted rings, for benchmarking ring detectors.

Real labelled rings are never published, so detectors are evaluated on worlds
whose traps reproduce production mistakes: carrier-grade NAT and VPN exits shared
by thousands, popular client fingerprints, families sharing a card and a home IP,
enterprises sharing cards, office IPs and internal templates, public agent
boilerplate, and residential proxy exits that *are* legitimate home addresses.

>>> from accountgraph.synth import generate, list_scenarios
>>> "small" in list_scenarios()
True
>>> generate("random", seed=3, scale=0.01).scenario.name  # the seed draws the world
'random-3'

See ``docs/scenarios.md`` for each scenario's parameters and rationale.
"""

from __future__ import annotations

from ._events import EVENTS_SCHEMA
from ._random import RANDOM_RANGES, random_scenario
from ._scenarios import SCENARIOS, get_scenario, list_scenarios
from ._spec import RingTactic, Scenario
from ._writer import ACCOUNTS_SCHEMA, LABELS_SCHEMA, SynthDataset, generate, write

__all__ = [
    "generate",
    "write",
    "list_scenarios",
    "get_scenario",
    "random_scenario",
    "RANDOM_RANGES",
    "SCENARIOS",
    "Scenario",
    "RingTactic",
    "SynthDataset",
    "EVENTS_SCHEMA",
    "ACCOUNTS_SCHEMA",
    "LABELS_SCHEMA",
]
