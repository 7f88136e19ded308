"""The replay benchmark's identity measures: the majority monitor ring of each labelled ring, its pieces, id changes."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))

from replay_monitor import _identity_table, _ring_identity  # noqa: E402


def _assign(ring_ids: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"account_id": [f"a{i}" for i in range(len(ring_ids))] + ["x"], "ring_id": ring_ids + [5]})


RING_OF = pd.Series(["r1"] * 20 + ["r2"] * 4, index=[f"a{i}" for i in range(24)])


def test_majority_and_pieces_per_labelled_ring():
    # r1: 15 accounts in monitor ring 3, 4 in ring 8 (>= 5 % of 20), 1 in ring 9 (5 %); r2 in no ring
    ids = [3] * 15 + [8] * 4 + [9] + [-1] * 4
    out = _ring_identity(_assign(ids), RING_OF)
    assert out.loc["r1", "major"] == 3 and out.loc["r1", "pieces"] == 3
    assert out.loc["r2", "major"] == -1 and out.loc["r2", "pieces"] == 0


def test_id_changes_count_changes_between_consecutive_updates_holding_a_ring():
    ids = [[-1] * 24, [3] * 24, [3] * 24, [7] * 20 + [3] * 4, [-1] * 24, [7] * 24]
    hist = [_ring_identity(_assign(i), RING_OF) for i in ids]
    t = _identity_table(hist)
    # r1: none -> 3 -> 3 -> 7 -> none -> 7: one change (3 -> 7); r2: none -> 3 -> 3 -> 3 -> none -> 7: none
    assert t.loc["r1", "id_changes"] == 1 and t.loc["r2", "id_changes"] == 0
    assert t.loc["r1", "pieces_max"] == 1
