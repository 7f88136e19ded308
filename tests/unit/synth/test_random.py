"""Randomised worlds (``generate("random", seed=N)``) and the knobs added for them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from accountgraph._exceptions import InvalidParameterError
from accountgraph.synth import (
    RANDOM_RANGES,
    SCENARIOS,
    RingTactic,
    Scenario,
    generate,
    get_scenario,
    list_scenarios,
    random_scenario,
    write,
)
from tests.conftest import labelled_frames
from tests.unit.synth import test_generate as contract

SPEC_SEEDS = range(0, 120)
R = RANDOM_RANGES


def _n_accounts(spec: Scenario) -> int:
    return (spec.n_legit + sum(spec.enterprise_sizes) + spec.n_automation
            + sum(r.n_accounts for r in spec.rings))


@pytest.fixture(scope="module")
def specs():
    return [random_scenario(s) for s in SPEC_SEEDS]


@pytest.fixture(scope="module")
def world():
    # A small realisation of a random world (scale caps the size: seconds, not minutes).
    return generate("random", seed=1000, scale=0.04)


@pytest.fixture(scope="module")
def world_frames(world):
    return labelled_frames(world)


# --- the spec distribution ----------------------------------------------------------


def test_same_seed_same_spec_and_tables(world):
    assert random_scenario(1000) == random_scenario(1000)
    again = generate("random", seed=1000, scale=0.04)
    assert again.events.equals(world.events)
    assert again.accounts.equals(world.accounts)
    assert again.labels.equals(world.labels)
    assert world.scenario == random_scenario(1000).scaled(0.04)
    assert world.params["scenario"] == "random-1000"


def test_different_seeds_different_specs(specs):
    keys = {(s.n_legit, s.days, s.enterprise_sizes, tuple((r.n_accounts, r.n_events)
                                                          for r in s.rings)) for s in specs}
    assert len(keys) == len(specs)
    other = generate("random", seed=1001, scale=0.04)
    assert other.scenario != random_scenario(1000).scaled(0.04)


def test_sizes_mostly_mid_some_full_scale(specs):
    n = np.array([_n_accounts(s) for s in specs])
    mid = (n >= R["n_accounts_mid"][0] * 0.99) & (n <= R["n_accounts_mid"][1] * 1.01)
    full = (n >= R["n_accounts_full"][0] * 0.99) & (n <= R["n_accounts_full"][1] * 1.01)
    assert np.all(mid | full)
    assert 0.05 <= full.mean() <= 0.3
    assert mid.mean() >= 0.7


def test_benign_parameters_inside_ranges(specs):
    for s in specs:
        assert R["days"][0] <= s.days <= R["days"][1]
        for k in ("legit_rate", "family_share", "boilerplate_share", "mobile_share",
                  "vpn_share", "free_tier_share", "longform_share", "enterprise_batch_share",
                  "enterprise_rate", "automation_rate", "max_household",
                  "cgnat_users_per_exit", "vpn_users_per_exit"):
            lo, hi = R[k]
            assert lo * 0.999 <= getattr(s, k) <= hi * 1.001, (s.name, k, getattr(s, k))
        assert all(R["enterprise_size"][0] <= x <= R["enterprise_size"][1]
                   for x in s.enterprise_sizes)
        assert R["n_automation"][0] <= s.n_automation <= R["n_automation"][1]
        n = _n_accounts(s)
        assert sum(s.enterprise_sizes) <= R["enterprise_account_share"][1] * n + 5000
        if s.model_release_day is not None:
            assert 0 < s.model_release_day < s.days


def test_ring_tactics_inside_ranges(specs):
    for s in specs:
        n = _n_accounts(s)
        assert R["n_rings"][0] <= len(s.rings) <= R["n_rings"][1]
        ring_acc = sum(r.n_accounts for r in s.rings)
        # Rings are a small share of accounts (the size floor of 10 can exceed tiny budgets).
        assert ring_acc <= max(R["ring_account_share"][1] * n, 10 * len(s.rings)) + len(s.rings)
        ring_ev = sum(r.n_events for r in s.rings)
        assert ring_ev <= 0.5 * s.expected_events() + 1
        for r in s.rings:
            assert R["ring_size"][0] <= r.n_accounts <= R["ring_size"][1]
            assert 1 <= r.heads <= R["heads"][1]
            dur = r.end_day - r.start_day
            assert R["ring_days"][0] - 1e-6 <= dur and r.end_day <= s.days + 1e-6
            rate = r.n_events / (r.n_accounts * dur * 0.85)
            assert R["ring_rate"][0] * 0.95 <= rate <= R["ring_rate"][1] * 1.05 or \
                r.n_events == 20 * r.heads, (s.name, r.ring_id, rate)
            assert R["n_templates"][0] <= r.n_templates <= R["n_templates"][1]
            for k, attr in (("camouflage", "camouflage"), ("aged_share", "aged_share"),
                            ("legit_ip_overlap", "legit_ip_overlap"), ("churn", "churn"),
                            ("ring_vpn_share", "vpn_share"), ("n_devices", "n_devices"),
                            ("cell_size", "cell_size"), ("n_bins", "n_bins"),
                            ("sticky_hours", "sticky_hours"),
                            ("output_median", "output_median"),
                            ("output_sigma", "output_sigma"),
                            ("payment_rotation_days", "payment_rotation_days"),
                            ("creation_waves", "creation_waves")):
                lo, hi = R[k]
                assert lo * 0.999 <= getattr(r, attr) <= hi * 1.001, (s.name, r.ring_id, k)


def test_every_categorical_tactic_is_drawn(specs):
    rings = [r for s in specs for r in s.rings]
    assert {r.payment for r in rings} == {"cells", "virtual-bin", "none", "mixed"}
    assert {r.proxy for r in rings} == {"residential", "datacenter", "mixed"}
    assert {r.devices for r in rings} == {"shared", "spoofed", "mixed"}
    assert {r.device_rotation for r in rings} == {"account", "request"}
    assert {r.timing for r in rings} == {"scripted", "mimic"}
    assert {r.email for r in rings} == {"webmail", "custom"}
    assert any(r.heads > 6 for r in rings) and any(r.heads == 1 for r in rings)
    assert any(r.aged_share == 0 for r in rings) and any(r.aged_share > 0.5 for r in rings)
    assert any(r.sticky_hours == 0 for r in rings) and any(r.sticky_hours > 6 for r in rings)
    sizes = [r.n_accounts for r in rings]
    assert min(sizes) < 20 and max(sizes) > 3000


def test_random_seed_is_validated():
    with pytest.raises(InvalidParameterError, match="'seed' parameter of random_scenario"):
        random_scenario(-1)
    with pytest.raises(InvalidParameterError, match="'seed' parameter of generate"):
        generate("random", seed="1")  # type: ignore[arg-type]


# --- a realised random world passes the output contract ---------------------------


def test_random_world_passes_output_contract(world, world_frames):
    contract.test_schemas_match_contract(world)
    contract.test_labels_partition_accounts(world)
    contract.test_every_account_has_events_and_events_reference_accounts(world)
    contract.test_events_sorted_within_window_and_after_creation(world, world_frames)
    contract.test_ip_text_is_valid(world)
    contract.test_account_counts_per_kind_match_spec(world)


def test_random_world_ring_events_near_target(world, world_frames):
    # The contract's 10% + 50 per-ring tolerance is for its scenarios' rings of 20+
    # accounts; scaled-down random worlds have rings of ~9 accounts with diurnal
    # (gamma(1.5) per slice) bursts, whose totals are noisier: 25% per ring, 10% in all.
    ev, _ = world_frames
    per_ring = ev[ev.kind == "ring"].groupby("ring_id").size()
    for r in world.scenario.rings:
        assert abs(per_ring[r.ring_id] - r.n_events) < 0.25 * r.n_events + 50, r.ring_id
    total = sum(r.n_events for r in world.scenario.rings)
    assert abs(per_ring.sum() - total) < 0.1 * total


def test_random_world_labels_name_every_ring(world):
    lab = world.labels.to_pandas()
    ring = lab[lab.kind == "ring"]
    assert ring.ring_id.notna().all()
    counts = ring.groupby("ring_id").size().to_dict()
    assert counts == {r.ring_id: r.n_accounts for r in world.scenario.rings}
    assert lab.loc[lab.kind != "ring", "ring_id"].isna().all()


def test_cli_synth_random_writes_the_same_world(tmp_path, world):
    from accountgraph.cli import main

    assert main(["synth", "--scenario", "random", "--seed", "1000", "--scale", "0.04",
                 "--out", str(tmp_path)]) == 0
    assert pq.read_table(tmp_path / "events.parquet").equals(world.events)
    assert pq.read_table(tmp_path / "labels.parquet").equals(world.labels)


# --- the new knobs do what they say -------------------------------------------------


def _knob_world():
    base = dict(start_day=1, proxy_pool=60, creation_waves=2)
    spec = Scenario(
        name="knobs", description="every new knob at a visible setting", start="2026-03-02",
        days=14, n_legit=3000, legit_rate=1.5, max_household=8, family_share=0.5,
        longform_share=0.3, enterprise_sizes=(200, 60), enterprise_rate=4.0,
        enterprise_batch_share=1.0, n_automation=12, automation_team_sizes=(5,),
        automation_rate=200.0, cgnat_users_per_exit=30,
        rings=(
            RingTactic("no-card", 40, 4000, payment="none", devices="spoofed",
                       device_rotation="request", **base),
            RingTactic("aged", 60, 4000, aged_share=0.8, aged_days=400, n_templates=25,
                       payment="virtual-bin", n_bins=3, proxy="mixed", datacenter_share=0.5,
                       **base),
            RingTactic("mixed", 60, 4000, payment="mixed", cell_size=3, devices="mixed",
                       spoof_share=0.5, **base),
        ),
    )
    return spec, generate(spec, seed=2)


@pytest.fixture(scope="module")
def knobs():
    spec, ds = _knob_world()
    ev = ds.events.join(ds.labels, "account_id").to_pandas()
    acc = ds.accounts.join(ds.labels, "account_id").to_pandas()
    return spec, ds, ev, acc


def test_no_card_ring_and_request_spoofing(knobs):
    _, _, ev, _ = knobs
    r = ev[ev.ring_id == "no-card"]
    assert r.payment_id.isna().all()
    per_acc = r.groupby("account_id").device_id.agg(["nunique", "size"])
    busy = per_acc[per_acc["size"] >= 20]
    # Per-account spoofing keeps 2 fingerprints; per-request draws many (popular ones recur).
    assert len(busy) and (busy["nunique"] > 10).all()
    other = ev[ev.ring_id == "mixed"].groupby("account_id").device_id.nunique()
    assert other.max() <= 2


def test_aged_accounts_bins_templates_and_mixed_proxies(knobs):
    spec, ds, ev, acc = knobs
    from accountgraph.synth._writer import _build

    start = np.datetime64("2026-03-02", "us")
    a = acc[acc.ring_id == "aged"]
    created = a.created_at.dt.tz_convert(None).to_numpy().astype("datetime64[us]")
    old = (np.datetime64("2026-03-03", "us") - created) > np.timedelta64(30, "D")
    assert 0.6 <= old.mean() <= 0.95
    assert created.min() < start - np.timedelta64(200, "D")
    fresh = acc[acc.ring_id == "mixed"].created_at.dt.tz_convert(None).to_numpy()
    assert (fresh > start - np.timedelta64(5, "D")).all()  # aged_share=0: waves only
    assert a.payment_id.str.slice(0, 9).nunique() == 3  # "pm_<BIN>_" prefixes of 3 BINs
    pop, _, _, _ = _build(spec, 2)
    ring = pop.ring_ids.index("aged")
    m = np.flatnonzero(pop.ring == ring)
    assert len(set(pop.tpl[pop.tpl_off[m[0]]:pop.tpl_off[m[0]] + pop.tpl_len[m[0]]])) == 25
    first = set(int(x) >> 24 for x in pop.ip[pop.pool_off[m[0]]:pop.pool_off[m[0]] + pop.pool_len[m[0]]])
    assert first & {34, 35, 52, 3, 18, 104, 159, 167, 138, 45, 5, 13, 20, 54}
    assert len(first) > 3


def test_mixed_payment_and_devices(knobs):
    _, _, _, acc = knobs
    a = acc[acc.ring_id == "mixed"]
    assert 0.15 < a.payment_id.isna().mean() < 0.55
    cards = a.payment_id.dropna()
    assert cards.nunique() < len(cards)  # some cells share a card


def test_benign_knobs(knobs):
    spec, ds, ev, acc = knobs
    from accountgraph.synth._writer import _build

    pop, _, _, _ = _build(spec, 2)
    legit = pop.kind == 0
    hh = np.bincount(pop.household[legit] - pop.household[legit].min())
    assert hh.max() > 5  # households above the default maximum of 5
    long = np.exp(pop.tok_mu[legit]) > 1400
    assert 0.2 < long.mean() < 0.4
    # Batch jobs: enterprise accounts with a flat 24/7 profile and high volume.
    ent = np.flatnonzero(pop.kind == 1)
    flat = pop.row[ent] == pop.row[pop.kind == 2][0]
    assert 2 <= flat.sum() <= 0.1 * ent.size
    auto = pop.group[pop.kind == 2]
    assert set(np.bincount(auto - auto.min())) == {5} or np.bincount(auto - auto.min()).max() == 5
    assert pop.world.cgnat.size >= 3000 // 30 * 0.9


# --- full user bases and the unchanged originals ------------------------------------


def test_full_user_base_scenarios_keep_the_ring():
    for name in ("seed-2026", "feb-2026"):
        full, small = SCENARIOS[name], SCENARIOS[f"{name}-small"]
        assert full.rings == small.rings and full.days == small.days and full.start == small.start
        assert 450_000 <= _n_accounts(full) <= 550_000
        assert sum(r.n_accounts for r in full.rings) < 0.06 * _n_accounts(full)
        # The former name of the full world still resolves to it.
        assert get_scenario(f"{name}-full") is full
        assert f"{name}-full" not in list_scenarios()
    # The small worlds keep their documented (regression-checked) sizes.
    assert SCENARIOS["seed-2026-small"].n_legit == 80_000 and SCENARIOS["feb-2026-small"].n_legit == 60_000


def test_default_knobs_reproduce_original_world():
    # Spelling out the new knobs at their defaults must not change a single byte.
    spec = SCENARIOS["tiny"]
    explicit = dataclasses.replace(
        spec, max_household=5, cgnat_users_per_exit=150, vpn_users_per_exit=400,
        longform_share=0.0, enterprise_batch_share=0.0, automation_team_sizes=(1, 1, 1, 2, 3),
        rings=tuple(dataclasses.replace(r, n_bins=1, device_rotation="account",
                                        n_templates=None, aged_share=0.0) for r in spec.rings))
    a, b = generate(spec, seed=4), generate(explicit, seed=4)
    assert a.events.equals(b.events) and a.accounts.equals(b.accounts)
    changed = dataclasses.replace(explicit, longform_share=0.2)
    assert not generate(changed, seed=4).events.equals(a.events)


def test_new_knobs_are_validated():
    with pytest.raises(InvalidParameterError, match="'payment' parameter of RingTactic"):
        RingTactic("r", 10, 100, payment="crypto")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'aged_share' parameter of RingTactic"):
        RingTactic("r", 10, 100, aged_share=1.5)
    with pytest.raises(InvalidParameterError, match="'n_templates' parameter of RingTactic"):
        RingTactic("r", 10, 100, n_templates=0)
    with pytest.raises(InvalidParameterError, match="'device_rotation' parameter"):
        RingTactic("r", 10, 100, device_rotation="hourly")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'max_household' parameter of Scenario"):
        Scenario(name="x", description="", start="2026-01-05", days=5, n_legit=5,
                 max_household=1)
    with pytest.raises(InvalidParameterError, match="'automation_team_sizes'"):
        Scenario(name="x", description="", start="2026-01-05", days=5, n_legit=5,
                 automation_team_sizes=())


def test_write_random_equals_generate(tmp_path):
    ds = generate("random", seed=7, scale=0.02)
    paths = write("random", tmp_path, seed=7, scale=0.02, batch_rows=10_000)
    assert pq.read_table(paths["events"]).equals(ds.events)
    assert pq.read_table(paths["accounts"]).equals(ds.accounts)
    ts = ds.events.column("timestamp").cast(pa.int64()).to_numpy()
    assert np.all(np.diff(ts) >= 0)
    assert pc.count_distinct(ds.accounts["account_id"]).as_py() == ds.accounts.num_rows
