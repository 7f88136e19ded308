"""When the monitor rescores a ring: accounts moving in and out add up across updates until it is scored."""

from __future__ import annotations

import numpy as np
import pandas as pd

from accountgraph.monitor._rings import refresh_rings
from accountgraph.monitor._scoring import RESCORE_CHANGE, rings_to_rescore
from accountgraph.monitor._state import State


def _state(moved_since: int | None) -> State:
    """One flagged ring of 100 accounts scored with 1,000 events; five accounts in no ring."""
    s = State()
    s.ring = np.r_[np.zeros(100, np.int64), np.full(5, -1)]
    s.next_ring_id = 1
    row = {"ring_id": [0], "status": ["new"], "ring_score": [0.9], "flagged": [True], "first_seen": [0],
           "first_flagged_at": [0], "scored_seq": [1], "scored_accounts": [100], "scored_events": [1000]}
    if moved_since is not None:
        row["moved_since_scored"] = [moved_since]
    s.rings = pd.DataFrame(row)
    return s


def test_moves_below_the_share_in_one_update_but_above_it_in_sum_rescore():
    need = int(np.ceil(RESCORE_CHANGE * 100))
    args = (np.zeros(0, np.int64), np.array([1000]))
    assert len(rings_to_rescore(_state(0), {0: need - 1}, *args)) == 0
    assert list(rings_to_rescore(_state(1), {0: need - 1}, *args)) == [0]
    assert len(rings_to_rescore(_state(None), {0: need - 1}, *args)) == 0  # a state from before the sum



def test_refresh_keeps_the_running_sum_until_the_ring_is_scored():
    s = _state(1)
    s.ring[100] = 0  # one account joined
    before = np.array([100])
    refresh_rings(s, 0.5, pd.DataFrame(), np.zeros(0, np.int64), {}, before, np.array([1000]),
                  np.zeros(0, np.int64), {0: 1})
    assert s.rings.loc[0, "moved_since_scored"] == 2
    refresh_rings(s, 0.5, pd.DataFrame({"ring_score": [0.9]}), np.array([0]), {}, before, np.array([1000]),
                  np.zeros(0, np.int64), {0: 1})
    assert s.rings.loc[0, "moved_since_scored"] == 0 and s.rings.loc[0, "scored_accounts"] == 101


def test_a_rings_table_from_before_the_running_sum_is_refreshed():
    s = _state(None)  # as a state written before moved_since_scored was kept
    refresh_rings(s, 0.5, pd.DataFrame(), np.zeros(0, np.int64), {}, np.array([100]), np.array([1000]),
                  np.zeros(0, np.int64), {0: 1})
    assert s.rings.loc[0, "moved_since_scored"] == 1 and s.rings.loc[0, "ring_score"] == 0.9
