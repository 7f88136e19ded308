"""Ring identity across updates: a ring keeps its id while it grows; merges, splits and endings are traced."""

from __future__ import annotations

import pandas as pd
import pytest

from accountgraph import Monitor
from tests.unit.monitor.worlds import growing_ring, legit_day, names, ring_day, ring_ids_of

IPS_A = [f"198.51.100.{p}" for p in range(12)]
IPS_B = [f"203.0.113.{p}" for p in range(12)]


@pytest.mark.parametrize("warm", [False, True])
def test_ring_keeps_its_id_while_it_grows(tmp_path, warm):
    mon = Monitor(tmp_path / "s", horizon_days=None, warm_start=warm)
    seen, statuses = set(), []
    for d, batch in enumerate(growing_ring(days=4)):
        up = mon.update(batch)
        first = names("ring", 0, 12)
        seen |= ring_ids_of(up.assignments, first)
        row = up.rings.loc[up.rings["ring_id"] == next(iter(ring_ids_of(up.assignments, first)))].iloc[0]
        statuses.append(row["status"])
        assert row["n_accounts"] == 12 + 10 * d  # every new member joined the same ring
    assert seen == {0}
    assert statuses == ["new", "grown", "grown", "grown"]
    assert mon.lineage.empty  # growth is not a merge


def test_new_accounts_of_a_grown_ring_are_reported_as_new_flags(tmp_path):
    mon = Monitor(tmp_path / "s", horizon_days=None)
    batches = growing_ring(days=3)
    first = mon.update(batches[0])
    assert set(first.new_flags["account_id"]) == set(names("ring", 0, 12))
    second = mon.update(batches[1])
    assert set(second.new_flags["account_id"]) == set(names("ring", 12, 22))  # only the newcomers
    assert (second.new_flags["ring_id"] == 0).all()


def _two_rings(day: int, *, joined: bool) -> pd.DataFrame:
    a = ring_day(names("a", 0, 20), day, cards=["cell-a1", "cell-a2"], ips=IPS_A, device="stack-a", seed=day)
    if joined:  # ring b moves onto ring a's cards, exits and automation stack
        b = ring_day(names("b", 0, 10), day, cards=["cell-a1", "cell-a2"], ips=IPS_A, device="stack-a", seed=50 + day)
    else:
        b = ring_day(names("b", 0, 10), day, cards=["cell-b"], ips=IPS_B, device="stack-b", seed=50 + day)
    return pd.concat([a, b, legit_day(120, day, seed=7)], ignore_index=True)


def test_a_merge_keeps_the_id_of_the_larger_ring_and_records_the_smaller(tmp_path):
    mon = Monitor(tmp_path / "s", horizon_days=None)
    for d in range(2):
        up = mon.update(_two_rings(d, joined=False))
    (ra,) = ring_ids_of(up.assignments, names("a", 0, 20))
    (rb,) = ring_ids_of(up.assignments, names("b", 0, 10))
    assert ra != rb and min(ra, rb) >= 0
    up = mon.update(_two_rings(2, joined=True))
    assert ring_ids_of(up.assignments, names("a", 0, 20) + names("b", 0, 10)) == {ra}
    assert up.rings.set_index("ring_id").loc[ra, "status"] == "merged"
    rows = up.lineage.loc[up.lineage["relation"] == "merged"]
    assert rows[["ring_id", "parent_id", "n_shared"]].values.tolist() == [[ra, rb, 10]]
    assert rb not in set(up.rings["ring_id"])


def _bridged(day: int, *, bridged: bool) -> pd.DataFrame:
    """Cells a (20 accounts) and b (10) of one ring: shared exits and stack while ``bridged``."""
    a = ring_day(names("a", 0, 20), day, cards=["cell-a1", "cell-a2"], ips=IPS_A, device="stack-a", seed=day)
    b = ring_day(names("b", 0, 10), day, cards=["cell-b"], ips=IPS_A if bridged else IPS_B,
                 device="stack-a" if bridged else "stack-b", seed=50 + day)
    return pd.concat([a, b, legit_day(120, day, seed=7)], ignore_index=True)


def test_a_split_keeps_the_id_on_the_larger_part_and_records_the_smaller(tmp_path):
    # The cells share exits and an automation stack for two days, then cell b moves to its own;
    # with a 1.5-day horizon the shared evidence ages out and the ring splits.
    mon = Monitor(tmp_path / "s", horizon_days=1.5)
    for d in range(2):
        up = mon.update(_bridged(d, bridged=True))
    (r,) = ring_ids_of(up.assignments, names("a", 0, 20) + names("b", 0, 10))
    assert r >= 0
    split = None
    for d in range(2, 6):
        up = mon.update(_bridged(d, bridged=False))
        if len(up.lineage) and (up.lineage["relation"] == "split").any():
            split = up
            break
    assert split is not None, "the shared evidence aged out but the ring never split"
    assert ring_ids_of(split.assignments, names("a", 0, 20)) == {r}
    (rb,) = ring_ids_of(split.assignments, names("b", 0, 10))
    assert rb not in (r, -1)
    row = split.lineage.loc[split.lineage["relation"] == "split"].iloc[0]
    assert (row["ring_id"], row["parent_id"], row["n_shared"]) == (rb, r, 10)
    status = split.rings.set_index("ring_id")["status"]
    assert status[r] == "split" and status[rb] == "split"


def test_a_ring_that_goes_silent_is_dormant_then_dissolved_past_the_horizon(tmp_path):
    mon = Monitor(tmp_path / "s", horizon_days=2)
    batches = growing_ring(days=2, step=0)
    for b in batches:
        up = mon.update(b)
    (r,) = ring_ids_of(up.assignments, names("ring", 0, 12))
    statuses = []
    for d in range(2, 6):
        up = mon.update(legit_day(150, d, seed=0))
        if r in set(up.rings["ring_id"]):
            statuses.append(up.rings.set_index("ring_id").loc[r, "status"])
        else:
            break
    assert statuses and statuses[0] == "dormant"
    assert r not in set(up.rings["ring_id"])
    ended = mon.lineage.loc[mon.lineage["relation"] == "dissolved"]
    assert r in set(ended["parent_id"])
    assert ring_ids_of(up.assignments, names("ring", 0, 12)) == {-1}


@pytest.mark.parametrize("order", ["forward", "reverse"])
def test_fresh_ids_do_not_depend_on_row_order(tmp_path, order):
    batches = [b.iloc[::-1].reset_index(drop=True) if order == "reverse" else b for b in growing_ring(days=2)]
    mon = Monitor(tmp_path / order, horizon_days=None)
    for b in batches:
        up = mon.update(b)
    ref = Monitor(tmp_path / "ref", horizon_days=None)
    for b in growing_ring(days=2):
        want = ref.update(b)
    pd.testing.assert_frame_equal(up.assignments, want.assignments)
    pd.testing.assert_frame_equal(up.rings, want.rings)
