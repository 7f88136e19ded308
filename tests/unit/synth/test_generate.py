"""Invariants of the synthetic-world generator (accountgraph.synth)."""

from __future__ import annotations

import math
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from accountgraph._exceptions import InvalidParameterError
from accountgraph.synth import (
    ACCOUNTS_SCHEMA,
    EVENTS_SCHEMA,
    LABELS_SCHEMA,
    SCENARIOS,
    RingTactic,
    Scenario,
    generate,
    list_scenarios,
    write,
)
from tests.conftest import labelled_frames


@pytest.fixture(scope="module")
def tiny():
    return generate("tiny", seed=0)


@pytest.fixture(scope="module")
def small():
    # Half-size "small": every trap present, ~100k events.
    return generate("small", seed=3, scale=0.5)


@pytest.fixture(scope="module")
def small_frames(small):
    return labelled_frames(small)


# --- contract -----------------------------------------------------------------


def test_schemas_match_contract(tiny):
    assert tiny.events.schema.equals(EVENTS_SCHEMA)
    assert tiny.accounts.schema.equals(ACCOUNTS_SCHEMA)
    assert tiny.labels.schema.equals(LABELS_SCHEMA)
    types = {f.name: f.type for f in tiny.events.schema}
    assert types == {
        "account_id": pa.string(), "timestamp": pa.timestamp("us", tz="UTC"), "ip": pa.string(),
        "device_id": pa.string(), "payment_id": pa.string(), "prompt": pa.string(),
        "output_tokens": pa.int32(), "model": pa.string(),
    }
    assert tiny.accounts.column_names == ["account_id", "created_at", "payment_id",
                                          "email_domain", "phone_prefix"]
    assert tiny.labels.column_names == ["account_id", "ring_id", "kind"]


def test_labels_partition_accounts(small):
    acc = small.accounts.column("account_id")
    lab = small.labels.column("account_id")
    assert acc.equals(lab)
    assert pc.count_distinct(acc).as_py() == len(acc)
    kinds = set(small.labels.column("kind").to_pylist())
    assert kinds == {"legit", "enterprise", "automation", "ring"}
    ring_rows = small.labels.filter(pc.equal(small.labels["kind"], "ring"))
    assert ring_rows["ring_id"].null_count == 0
    other = small.labels.filter(pc.not_equal(small.labels["kind"], "ring"))
    assert other["ring_id"].null_count == other.num_rows


def test_every_account_has_events_and_events_reference_accounts(small):
    ev_ids = set(small.events.column("account_id").unique().to_pylist())
    acc_ids = set(small.accounts.column("account_id").to_pylist())
    assert ev_ids == acc_ids  # subset both ways: every account (so every ring account) is active


def test_events_sorted_within_window_and_after_creation(small, small_frames):
    ts = small.events.column("timestamp").cast(pa.int64()).to_numpy()
    assert np.all(np.diff(ts) >= 0)
    ev, acc = small_frames
    start, end = small.params["start"], small.params["end"]
    lo = ev.timestamp.min().isoformat()
    hi = ev.timestamp.max().isoformat()
    assert start <= lo and hi < end
    created = ev.merge(acc[["account_id", "created_at"]], on="account_id")
    assert (created.timestamp >= created.created_at).all()


def test_ip_text_is_valid(small):
    ips = small.events.column("ip").unique().to_pylist()
    v4 = [ip for ip in ips if ":" not in ip]
    v6 = [ip for ip in ips if ":" in ip]
    assert v6, "some IPv6 addresses are expected for realism"
    assert all(re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", ip) and
               all(int(o) < 256 for o in ip.split(".")) for ip in v4)
    assert all(len(ip.split(":")) == 8 for ip in v6)


# --- counts and scaling -------------------------------------------------------


def test_account_counts_per_kind_match_spec(small):
    spec = small.scenario
    counts = small.labels.group_by("kind").aggregate([("kind", "count")]).to_pydict()
    got = dict(zip(counts["kind"], counts["kind_count"]))
    assert got["legit"] == spec.n_legit
    assert got["enterprise"] == sum(spec.enterprise_sizes)
    assert got["automation"] == spec.n_automation
    assert got["ring"] == sum(r.n_accounts for r in spec.rings)


def test_ring_event_totals_near_target(small, small_frames):
    ev, _ = small_frames
    per_ring = ev[ev.kind == "ring"].groupby("ring_id").size()
    for r in small.scenario.rings:
        assert abs(per_ring[r.ring_id] - r.n_events) < 0.1 * r.n_events + 50, r.ring_id


def test_scale_scales_counts_roughly_linearly():
    # Heavy-tailed per-account volumes make event totals noisy; 3x accounts -> ~3x events.
    a = generate("small", seed=1, scale=0.25)
    b = generate("small", seed=1, scale=0.75)
    assert 2.3 < b.events.num_rows / a.events.num_rows < 3.7
    assert 2.8 < b.accounts.num_rows / a.accounts.num_rows < 3.2


# --- determinism --------------------------------------------------------------


def test_same_seed_identical_tables(tiny):
    again = generate("tiny", seed=0)
    assert again.events.equals(tiny.events)
    assert again.accounts.equals(tiny.accounts)
    assert again.labels.equals(tiny.labels)


def test_different_seed_different_tables(tiny):
    other = generate("tiny", seed=1)
    assert not other.events.equals(tiny.events)
    assert not other.accounts.column("account_id").equals(tiny.accounts.column("account_id"))


def test_write_streams_row_groups_equal_to_generate(tmp_path, tiny):
    paths = write("tiny", tmp_path / "a", seed=0, batch_rows=5000)
    f = pq.ParquetFile(paths["events"])
    assert f.metadata.num_row_groups >= 4
    assert max(f.metadata.row_group(i).num_rows for i in range(f.metadata.num_row_groups)) <= 5000
    assert pq.read_table(paths["events"]).equals(tiny.events)
    assert pq.read_table(paths["accounts"]).equals(tiny.accounts)
    assert pq.read_table(paths["labels"]).equals(tiny.labels)
    again = write("tiny", tmp_path / "b", seed=0, batch_rows=5000)
    for key in ("events", "accounts", "labels"):
        assert paths[key].read_bytes() == again[key].read_bytes()


# --- traps --------------------------------------------------------------------


def test_legit_home_ips_are_ring_proxy_exits(small_frames):
    ev, _ = small_frames
    legit_home = set(ev[(ev.kind == "legit")].ip)
    ring = set(ev[ev.kind == "ring"].ip)
    assert len(legit_home & ring) >= 50


def test_cgnat_and_fingerprints_shared_by_many_strangers(small_frames):
    ev, _ = small_frames
    legit = ev[ev.kind == "legit"]
    assert legit.groupby("ip").account_id.nunique().max() >= 150
    assert legit.groupby("device_id").account_id.nunique().max() >= 150


def test_public_boilerplate_used_by_many_legit_accounts(small_frames):
    ev, _ = small_frames
    legit = ev[ev.kind == "legit"]
    users = legit[legit.prompt.str.startswith("Use the following context")].account_id.nunique()
    assert users >= 30


def test_families_share_card(small_frames):
    _, acc = small_frames
    legit = acc[(acc.kind == "legit") & acc.payment_id.notna()]
    sizes = legit.groupby("payment_id").size()
    assert ((sizes >= 2) & (sizes <= 5)).sum() >= 10
    assert sizes.max() <= 5


def test_enterprises_share_card_domain_office_ip_and_templates(small, small_frames):
    ev, acc = small_frames
    ent = acc[acc.kind == "enterprise"]
    biggest = max(small.scenario.enterprise_sizes)
    assert ent.email_domain.value_counts().max() == biggest
    assert ent.groupby("payment_id").size().max() >= biggest // 3
    ent_ev = ev[ev.kind == "enterprise"]
    assert ent_ev.groupby("ip").account_id.nunique().max() >= biggest // 4
    internal = ent_ev[ent_ev.prompt.str.startswith("[")]
    assert internal.account_id.nunique() >= biggest // 2


def test_ring_outputs_longer_and_tighter_than_legit(small_frames):
    ev, _ = small_frames
    ring = ev[ev.kind == "ring"].output_tokens
    legit = ev[ev.kind == "legit"].output_tokens
    assert ring.median() > 3 * legit.median()
    assert ring.std() / ring.mean() < 0.5 * legit.std() / legit.mean()


def test_ring_accounts_look_harmless_alone(small_frames):
    ev, _ = small_frames
    per_acc = ev.groupby(["kind", "account_id"]).size()
    assert per_acc["ring"].max() < per_acc["legit"].max()


def test_rings_pivot_to_new_model_within_a_day(small, small_frames):
    ev, _ = small_frames
    release = np.datetime64(small.params["model_release"][:19])
    new = small.params["new_model"]
    t = ev.timestamp.dt.tz_localize(None).to_numpy()
    ring = (ev.kind == "ring").to_numpy()
    legit = (ev.kind == "legit").to_numpy()
    is_new = (ev.model == new).to_numpy()
    assert not is_new[t < release].any()
    after = t >= release + np.timedelta64(24, "h")
    assert is_new[ring & after].mean() > 0.9
    assert is_new[legit & after].mean() < 0.6


def test_virtual_cards_share_bin_and_cells_share_cards(small_frames):
    _, acc = small_frames
    r0 = acc[acc.ring_id == "ring-00"]  # virtual-bin ring
    assert r0.payment_id.nunique() == len(r0)
    assert r0.payment_id.str.slice(0, 9).nunique() == 1
    r1 = acc[acc.ring_id == "ring-01"]  # payment cells
    assert r1.payment_id.nunique() < len(r1) / 5


# --- registry and errors ------------------------------------------------------


def test_registry_documents_every_scenario():
    names = list_scenarios()
    assert names[:2] == ["tiny", "small"]
    assert {"enterprise-heavy", "residential-proxy", "camouflage", "many-rings", "seed-2026",
            "feb-2026", "seed-2026-small", "feb-2026-small"} <= set(names)
    for name in names:
        assert len(SCENARIOS[name].description) > 80
    seed = SCENARIOS["seed-2026"]
    assert seed.rings[0].n_accounts == 25_000 and seed.rings[0].n_events == 28_800_000
    assert sorted(r.n_events for r in SCENARIOS["feb-2026"].rings) == [150_000, 3_400_000,
                                                                      13_000_000]
    many = [r.n_accounts for r in SCENARIOS["many-rings"].rings]
    assert min(many) == 10 and max(many) == 3000


@pytest.mark.parametrize("name", ["enterprise-heavy", "residential-proxy", "camouflage",
                                  "many-rings", "seed-2026", "feb-2026", "seed-2026-small",
                                  "feb-2026-small"])
def test_every_scenario_generates_at_low_scale(name):
    spec = SCENARIOS[name]
    ds = generate(name, seed=0, scale=15_000 / spec.expected_events())
    ev_ids = set(ds.events.column("account_id").unique().to_pylist())
    assert ev_ids == set(ds.accounts.column("account_id").to_pylist())
    assert set(ds.params["ring_ids"]) == {r.ring_id for r in spec.rings}


@pytest.mark.parametrize("scale", [-1, 0, math.nan, math.inf, "1", True, 5000])
def test_invalid_scale_raises(scale):
    with pytest.raises(InvalidParameterError, match="'scale' parameter of generate"):
        generate("tiny", scale=scale)


@pytest.mark.parametrize("seed", [-1, 1.5, "0", None])
def test_invalid_seed_raises(seed):
    with pytest.raises(InvalidParameterError, match=r"'seed' parameter of generate .*Got"):
        generate("tiny", seed=seed)


def test_unknown_scenario_lists_choices():
    with pytest.raises(InvalidParameterError, match="tiny"):
        generate("nope")


def test_too_large_for_memory_points_to_write(tmp_path):
    with pytest.raises(InvalidParameterError, match="write"):
        generate("seed-2026")
    with pytest.raises(InvalidParameterError, match="batch_rows"):
        write("tiny", tmp_path, batch_rows=0)
    with pytest.raises(InvalidParameterError, match="'compression' parameter of write"):
        write("tiny", tmp_path, compression="rar")


def test_ring_tactic_and_scenario_validate_knobs():
    with pytest.raises(InvalidParameterError,
                       match=r"'camouflage' parameter of RingTactic must be a float in \[0, 1\]"
                             r"\. Got 1\.5 instead"):
        RingTactic("r", 10, 100, camouflage=1.5)
    with pytest.raises(InvalidParameterError, match="'proxy' parameter of RingTactic"):
        RingTactic("r", 10, 100, proxy="tor")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'n_legit' parameter of Scenario"):
        Scenario(name="x", description="", start="2026-01-05", days=5, n_legit=0)
    with pytest.raises(InvalidParameterError, match="distinct ring_id"):
        Scenario(name="x", description="", start="2026-01-05", days=5, n_legit=5,
                 rings=(RingTactic("r", 4, 40), RingTactic("r", 4, 40)))


def test_custom_scenario_is_accepted():
    spec = Scenario(name="custom", description="one small ring", start="2026-01-05", days=5,
                    n_legit=50, rings=(RingTactic("r", 12, 600, start_day=1),))
    ds = generate(spec, seed=0)
    ring = ds.labels.filter(pc.equal(ds.labels["kind"], "ring"))
    assert ring.num_rows == 12
    assert ds.labels.num_rows == 62


def test_hydra_heads_share_templates_but_not_infrastructure():
    from accountgraph.synth._writer import _build

    spec = SCENARIOS["small"].scaled(0.5)
    pop, _, _, _ = _build(spec, 3)
    ring = pop.ring_ids.index("ring-02")
    heads = np.unique(pop.group[pop.ring == ring])
    assert heads.size == spec.rings[ring].heads == 2
    infra = []
    for g in heads:
        m = np.flatnonzero(pop.group == g)
        ips = {int(x) for a in m for x in pop.ip[pop.pool_off[a]:pop.pool_off[a] + pop.pool_len[a]]}
        devices = set(pop.dev1[m]) | set(pop.dev2[m])
        cards = {int(pop.pay_off[a]) + k for a in m for k in range(pop.pay_len[a])}
        templates = {tuple(pop.tpl[pop.tpl_off[a]:pop.tpl_off[a] + pop.tpl_len[a]]) for a in m}
        infra.append((ips, devices, cards, templates))
    (ip0, d0, c0, t0), (ip1, d1, c1, t1) = infra
    assert not ip0 & ip1 and not d0 & d1 and not c0 & c1
    assert t0 == t1 and len(t0) == 1
