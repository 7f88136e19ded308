"""LazyColumn: streaming one Parquet column, for files and directories."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from accountgraph.ingest._io import LazyColumn


@pytest.fixture
def parquet_dir(tmp_path):
    texts = [f"prompt {i}" if i % 7 else None for i in range(1000)]
    d = tmp_path / "events"
    d.mkdir()
    for part, lo in (("part-0.parquet", 0), ("part-1.parquet", 600)):
        hi = 600 if lo == 0 else 1000
        pq.write_table(pa.table({"prompt": texts[lo:hi], "n": np.arange(lo, hi)}), d / part, row_group_size=128)
    (d / "_SUCCESS").write_text("")  # ignored, like pyarrow.dataset does
    return d, texts


def test_directory_rows_in_dataset_order(parquet_dir):
    d, texts = parquet_dir
    lc = LazyColumn(d, "prompt")
    assert len(lc) == 1000
    got_idx, got = [], []
    for idx, arr in lc.iter_arrays(None, 100):
        got_idx.extend(idx.tolist())
        got.extend(arr.to_pylist())
    assert got_idx == list(range(1000))
    assert got == pq.read_table(d).column("prompt").to_pylist() == texts


def test_keep_and_mask_select_rows(parquet_dir):
    d, texts = parquet_dir
    keep = np.arange(1000) % 3 != 0
    kept = [t for t, k in zip(texts, keep) if k]
    mask = np.arange(len(kept)) % 2 == 0
    lc = LazyColumn(d, "prompt", keep)
    out = {}
    for idx, arr in lc.iter_arrays(mask, 64):
        out.update(zip(idx.tolist(), arr.to_pylist()))
    assert sorted(out) == np.flatnonzero(mask).tolist()
    assert all(out[i] == kept[i] for i in out)
    assert lc.take([5, 0, 5]) == [kept[5], kept[0], kept[5]]
