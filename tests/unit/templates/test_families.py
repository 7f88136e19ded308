"""Template families (templates/): families from shingle sketches, sampling, lazy Parquet input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from accountgraph.ingest._io import LazyColumn
from accountgraph.templates import sample_per_account_window, template_families


WORDS = [f"w{i}" for i in range(5000)]


def _corpus(seed=0, n_templates=5, per=60, n_noise=400):
    """Slot-filled templates (long, shared skeleton) plus short random prompts."""
    rng = np.random.default_rng(seed)
    texts, label = [], []
    for t in range(n_templates):
        skeleton = rng.choice(WORDS, 60)
        for _ in range(per):
            words = skeleton.copy()
            slots = rng.choice(60, 3, replace=False)
            words[slots] = rng.choice(WORDS, 3)
            texts.append(" ".join(words))
            label.append(t)
    common = ["how", "do", "i", "the", "to", "of", "what", "is"]
    for _ in range(n_noise):
        k = int(rng.integers(4, 12))
        texts.append(" ".join(rng.choice(common + WORDS[:300], k)))
        label.append(-1)
    return texts, np.array(label)


def test_families_recover_templates_and_leave_noise_alone():
    texts, label = _corpus()
    f = template_families(pa.array(texts), similarity=0.5, num_perm=64)
    fam = f.family
    for t in range(5):
        ids = fam[label == t]
        assert (ids >= 0).all() and len(set(ids.tolist())) == 1
    tmpl_fams = {int(fam[label == t][0]) for t in range(5)}
    assert len(tmpl_fams) == 5
    noise = fam[label == -1]
    assert not np.isin(noise, list(tmpl_fams)).any()
    table = f.families.set_index("family")
    for t in range(5):
        row = table.loc[int(fam[label == t][0])]
        assert row["prompts"] == 60 and row["distinct"] >= 55
        assert row["representative"] in texts


def test_family_ids_do_not_depend_on_row_order():
    texts, _ = _corpus(seed=1)
    perm = np.random.default_rng(3).permutation(len(texts))
    f1 = template_families(pa.array(texts))
    f2 = template_families(pa.array([texts[i] for i in perm]), batch_rows=97)
    assert np.array_equal(f1.family[perm], f2.family)
    pd.testing.assert_frame_equal(f1.families, f2.families)


def test_sampling_mask():
    acc = np.array([0, 0, 0, 0, 1, 1])
    ts = np.array([0, 10, 20, 3600, 5, 7]) * 1_000_000
    keep = sample_per_account_window(acc, ts, cap=2, window=3600 * 1_000_000)
    assert keep.tolist() == [True, True, False, True, True, True]
    texts, _ = _corpus()
    mask = np.zeros(len(texts), bool)
    mask[::2] = True
    f = template_families(pa.array(texts), sample=mask)
    assert (f.family[~mask] == -1).all() and f.stats["sampled"] == mask.sum()


def test_lazy_parquet_column_matches_memory(tmp_path):
    texts, _ = _corpus(seed=2)
    pd.DataFrame({"prompt": texts}).to_parquet(tmp_path / "p.parquet", row_group_size=100)
    keep = np.ones(len(texts), bool)
    keep[5] = False
    lazy = LazyColumn(tmp_path / "p.parquet", "prompt").with_keep(keep)
    mem = pa.array([t for i, t in enumerate(texts) if keep[i]])
    f_lazy = template_families(lazy, batch_rows=128)
    f_mem = template_families(mem)
    assert np.array_equal(f_lazy.family, f_mem.family)
    pd.testing.assert_frame_equal(f_lazy.families, f_mem.families)
    assert lazy.take(np.array([3, 0])) == [mem[3].as_py(), mem[0].as_py()]


def test_detect_on_parquet_streams_prompts(tmp_path):
    import accountgraph
    from accountgraph.synth import generate

    ds = generate("tiny", seed=0)
    import pyarrow.parquet as pq

    pq.write_table(ds.events, tmp_path / "events.parquet", row_group_size=5000)
    r_mem = accountgraph.detect(ds.events, ds.accounts, seed=0)
    r_disk = accountgraph.detect(tmp_path / "events.parquet", ds.accounts, seed=0)
    pd.testing.assert_frame_equal(r_mem.assignments, r_disk.assignments)
    pd.testing.assert_frame_equal(r_mem.templates, r_disk.templates)

_BODY = "you are a careful senior engineer please write a complete and tested solution with comments for the task"

_SEA = _BODY + " sea"

_MOON = _BODY + " moon"


def test_public_builder_accepts_any_text_column():
    texts = [_SEA, _MOON, None, "", "tax law in ohio for farms"]
    ref = template_families(texts).family
    for v in (pa.array(texts), pa.array(texts, pa.large_string()), pd.Series(texts), tuple(texts),
              pa.chunked_array([pa.array(texts[:2]), pa.array(texts[2:])]),
              [t.encode() if t is not None else None for t in texts]):
        np.testing.assert_array_equal(template_families(v).family, ref, err_msg=type(v).__name__)


def test_null_tokenless_and_short_rows_have_no_family():
    fams = template_families([_SEA, _MOON, None, "", "!!!", "two words"])
    assert fams.family[2:].tolist() == [-1, -1, -1, -1]
    assert fams.family[0] == fams.family[1] >= 0
    assert fams.stats["null"] == 1 and fams.stats["no_tokens"] == 3
    assert fams.n_families == len(fams.to_pandas()) == fams.to_arrow().num_rows


def test_representative_is_the_most_frequent_text():
    fams = template_families([_SEA] + [_MOON] * 3)
    row = fams.families.iloc[int(fams.family[0])]
    assert row["representative"] == _MOON and row["prompts"] == 4 and row["distinct"] == 2


def test_all_null_and_empty_input():
    assert template_families([None, None]).family.tolist() == [-1, -1]
    assert template_families(pa.nulls(3)).n_families == 0
    assert template_families([]).family.shape == (0,)


def test_invalid_utf8_rows_are_counted_and_still_grouped():
    raw = [_SEA.encode() + b" \xff", _SEA.encode(), b"\xc3", None]
    fams = template_families(raw)
    assert fams.stats["invalid_utf8"] == 2
    assert fams.family[0] == fams.family[1] >= 0


def test_word_tokens_are_a_shingle_width():
    # Two short prompts sharing most words but no word triple: one family on
    # word tokens, two on 3-shingles.
    texts = ["how do i fix my bike chain", "how do i fix my car chain"]
    assert len(set(template_families(texts, shingle_width=1).family)) == 1
    tri = template_families(texts, shingle_width=3).family
    assert tri[0] != tri[1]


def test_chaining_warning(caplog):
    base = " ".join(f"common{i}" for i in range(40))
    texts = [f"{base} unique{i} more{i}" for i in range(3000)]
    with caplog.at_level("WARNING"):
        fams = template_families(texts, similarity=0.5)
    assert fams.n_families == 1 and "chaining" in caplog.text


def test_sample_per_account_window_windows_and_errors():
    from accountgraph import InvalidParameterError

    ts = pd.to_datetime(["2024-01-01 00:10", "2024-01-01 00:20", "2024-01-01 00:30", "2024-01-01 01:05",
                         "2024-01-01 00:15"])
    keep = sample_per_account_window(["a", "a", "a", "a", "b"], ts, cap=2, window="1h")
    assert keep.tolist() == [True, True, False, True, True]
    assert sample_per_account_window([], np.array([], dtype="datetime64[s]"), cap=1).shape == (0,)
    with pytest.raises(InvalidParameterError, match="cap"):
        sample_per_account_window(["a"], ts[:1], cap=0)
    with pytest.raises(InvalidParameterError, match="integer"):
        sample_per_account_window([1], np.array([5]), cap=1, window="1h")
