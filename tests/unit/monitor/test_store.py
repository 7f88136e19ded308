"""Durable state: atomic updates, replay detection, reopening, format versions, the lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from accountgraph import Monitor, StateError
from accountgraph.monitor._store import KILL_ENV, KILL_POINTS, MANIFEST, StateDir
from tests.unit.monitor.worlds import growing_ring

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def batches():
    return growing_ring(days=3)


def _files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.name != "LOCK"}


def test_replaying_a_batch_is_a_no_op(tmp_path, batches):
    mon = Monitor(tmp_path / "s", horizon_days=None)
    mon.update(batches[0])
    second = mon.update(batches[1])
    before = _files(tmp_path / "s")
    again = mon.update(batches[1].sample(frac=1.0, random_state=1))  # same content, other row order
    assert again.replayed and again.seq == second.seq == 2
    assert again.new_flags.empty and again.lineage.empty
    assert _files(tmp_path / "s") == before  # nothing written
    pd.testing.assert_frame_equal(again.assignments, second.assignments)
    # and from a fresh process reading the state
    assert Monitor.open(tmp_path / "s").update(batches[0]).replayed


def test_a_changed_batch_is_not_a_replay(tmp_path, batches):
    mon = Monitor(tmp_path / "s", horizon_days=None)
    mon.update(batches[0])
    changed = batches[0].copy()
    changed.loc[0, "output_tokens"] += 1
    assert not mon.update(changed).replayed  # negative control: the hash sees one changed value


def _reference(tmp_path: Path, batches: list[pd.DataFrame], n: int) -> Monitor:
    ref = Monitor(tmp_path / "ref", horizon_days=None)
    for b in batches[:n]:
        ref.update(b)
    return ref


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_process_killed_mid_update_leaves_a_usable_state(tmp_path, batches, point):
    state = tmp_path / "s"
    mon = Monitor(state, horizon_days=None)
    mon.update(batches[0])
    batch = tmp_path / "b1.parquet"
    batches[1].to_parquet(batch)
    code = ("import sys; from accountgraph import Monitor; "
            "Monitor.open(sys.argv[1]).update(sys.argv[2])")
    env = {**os.environ, KILL_ENV: point, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    proc = subprocess.run([sys.executable, "-c", code, str(state), str(batch)], env=env, capture_output=True,
                          timeout=300)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]  # it really died at the point
    reopened = Monitor.open(state)
    assert reopened.seq == (2 if point == "committed" else 1)
    up = reopened.update(batch)
    assert up.replayed == (point == "committed")
    for b in batches[2:]:
        up = reopened.update(b)
    ref = _reference(tmp_path, batches, len(batches))
    pd.testing.assert_frame_equal(up.assignments, ref.assignments)
    pd.testing.assert_frame_equal(reopened.rings, ref.rings)
    leftovers = [p.name for p in state.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []  # the next commit swept what the killed update left


def test_kill_hook_is_inert_without_the_variable(tmp_path, batches):
    assert os.environ.get(KILL_ENV) is None
    mon = Monitor(tmp_path / "s", horizon_days=None)
    assert mon.update(batches[0]).seq == 1


def test_reopened_state_continues_exactly(tmp_path, batches):
    mon = Monitor(tmp_path / "s", horizon_days=None)
    mon.update(batches[0])
    mon.update(batches[1])
    reopened = Monitor.open(tmp_path / "s")
    assert reopened.get_params() == mon.get_params()
    a, b = mon.update(batches[2]), reopened.update(batches[2])
    pd.testing.assert_frame_equal(a.assignments, b.assignments)
    pd.testing.assert_frame_equal(a.rings, b.rings)


def test_reopening_sizes_the_pair_table_from_the_manifest(tmp_path, batches):
    """The manifest records the pairs held; a reopened table is sized once from it, and a state
    written without the count (older ones) reopens to the same table, grown as it goes."""
    mon = Monitor(tmp_path / "s", horizon_days=None)
    mon.update(batches[0])
    mon.update(batches[1])
    held = len(mon._state.pairs)
    assert held > 0 and json.loads((tmp_path / "s" / MANIFEST).read_text())["n_pairs"] == held
    sized = Monitor.open(tmp_path / "s")._state.pairs
    assert len(sized) == held and held <= len(sized._key) <= 1.1 * held + 1024
    m = json.loads((tmp_path / "s" / MANIFEST).read_text())
    del m["n_pairs"]
    (tmp_path / "s" / MANIFEST).write_text(json.dumps(m))
    grown = Monitor.open(tmp_path / "s")._state.pairs
    np.testing.assert_array_equal(grown.key, sized.key)
    np.testing.assert_array_equal(grown.evidence, sized.evidence)
    np.testing.assert_array_equal(grown.link, sized.link)


def test_a_new_monitor_refuses_a_directory_holding_a_state(tmp_path, batches):
    Monitor(tmp_path / "s").update(batches[0])
    with pytest.raises(StateError, match="already holds a monitor state; reopen it with Monitor.open"):
        Monitor(tmp_path / "s").update(batches[1])


def test_opening_a_directory_without_a_state_says_so(tmp_path):
    with pytest.raises(StateError, match="holds no monitor state"):
        Monitor.open(tmp_path)


def _set_version(path: Path, version: object) -> None:
    m = json.loads((path / MANIFEST).read_text())
    m["format_version"] = version
    (path / MANIFEST).write_text(json.dumps(m))


def test_a_state_from_a_newer_version_is_refused(tmp_path, batches):
    Monitor(tmp_path / "s").update(batches[0])
    _set_version(tmp_path / "s", 99)
    with pytest.raises(StateError, match=r"format version 99.*reads versions 1 to 1\. Upgrade accountgraph"):
        Monitor.open(tmp_path / "s")


def test_a_state_from_an_older_unsupported_version_is_refused(tmp_path, batches):
    Monitor(tmp_path / "s").update(batches[0])
    _set_version(tmp_path / "s", 0)
    with pytest.raises(StateError, match="cannot be migrated. Create a new state"):
        Monitor.open(tmp_path / "s")


def test_a_damaged_manifest_or_missing_file_is_an_error_not_a_crash(tmp_path, batches):
    Monitor(tmp_path / "s").update(batches[0])
    manifest = json.loads((tmp_path / "s" / MANIFEST).read_text())
    (tmp_path / "s" / manifest["files"]["rings"]).unlink()
    with pytest.raises(StateError, match="is missing. Restore the directory"):
        Monitor.open(tmp_path / "s")
    (tmp_path / "s" / MANIFEST).write_text("{not json")
    with pytest.raises(StateError, match="cannot be read"):
        Monitor.open(tmp_path / "s")


def test_one_writer_at_a_time(tmp_path, batches):
    mon = Monitor(tmp_path / "s")
    mon.update(batches[0])
    with StateDir(tmp_path / "s").lock():
        with pytest.raises(StateError, match="being updated by another process"):
            mon.update(batches[1])
    assert mon.update(batches[1]).seq == 2  # released


def test_no_pickles_only_parquet_and_json(tmp_path, batches):
    mon = Monitor(tmp_path / "s")
    for b in batches:
        mon.update(b)
    names = {p.suffix for p in (tmp_path / "s").iterdir() if p.name != "LOCK"}
    assert names == {".parquet", ".json"}
    manifest = json.loads((tmp_path / "s" / MANIFEST).read_text())
    assert manifest["format"] == "accountgraph-monitor-state" and manifest["format_version"] == 1


def test_the_monitor_deletes_only_its_own_files(tmp_path, batches):
    state = tmp_path / "s"
    mon = Monitor(state)
    mon.update(batches[0])
    mine = state / "notes.parquet"
    batches[0].head(3).to_parquet(mine)
    (state / "README.txt").write_text("keep me")
    mon.update(batches[1])
    assert mine.exists() and (state / "README.txt").exists()
    names = [p.name for p in state.iterdir()]
    assert not [n for n in names if n.startswith("accounts.00000001")]  # superseded, swept
