"""Invariants of template families and per-account sampling (templates/) on seeded data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accountgraph.templates import sample_per_account_window, template_families


def _corpus(seed: int, n_templates: int = 6, per_template: int = 40, n_random: int = 120, n_slots: int = 5,
            max_slot_words: int = 3) -> tuple[list[str], np.ndarray]:
    """Slot-filled templates (~60 words, 5 one-to-three-word slots) plus unrelated prompts."""
    rng = np.random.default_rng(seed)
    vocab = np.array(["".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), rng.integers(3, 9))) for _ in range(3000)])
    zipf = 1.0 / np.arange(1, vocab.size + 1)
    zipf /= zipf.sum()
    texts: list[str] = []
    labels: list[int] = []
    for t in range(n_templates):
        words = list(rng.choice(vocab, 60, p=zipf))
        slots = rng.choice(60, n_slots, replace=False)
        for _ in range(per_template):
            filled = list(words)
            for s in slots:
                filled[s] = " ".join(rng.choice(vocab, rng.integers(1, max_slot_words + 1)))
            texts.append(" ".join(filled).capitalize() + ".")
            labels.append(t)
    for _ in range(n_random):
        texts.append(" ".join(rng.choice(vocab, rng.integers(40, 80), p=zipf)) + "?")
        labels.append(-1)
    order = rng.permutation(len(texts))
    return [texts[i] for i in order], np.asarray(labels)[order]


def test_families_invariant_to_row_order() -> None:
    texts, _ = _corpus(1)
    texts = texts + texts[:30] + [None, "", "!!"]  # duplicates and empties too
    base = template_families(texts, similarity=0.5)
    rng = np.random.default_rng(2)
    for _ in range(2):
        perm = rng.permutation(len(texts))
        other = template_families([texts[i] for i in perm], similarity=0.5)
        np.testing.assert_array_equal(other.family, base.family[perm])
        pd.testing.assert_frame_equal(other.families, base.families)


def test_families_deterministic_and_typed() -> None:
    texts, _ = _corpus(3)
    a = template_families(texts)
    b = template_families(pa.array(texts))
    np.testing.assert_array_equal(a.family, b.family)
    pd.testing.assert_frame_equal(a.families, b.families)
    assert a.family.dtype == np.int64
    assert a.families["family"].tolist() == list(range(a.n_families))
    assert int(a.families["prompts"].sum()) == int((a.family >= 0).sum())
    np.testing.assert_array_equal(np.bincount(a.family[a.family >= 0], minlength=a.n_families),
                                  a.families["prompts"].to_numpy())


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_slot_filled_prompts_share_a_family_and_unrelated_do_not(seed: int) -> None:
    # Three one-word slots in a 60-word template change ~15 % of its word
    # triples (Jaccard ~0.7 between variants); unrelated prompts share almost none.
    texts, labels = _corpus(seed, n_slots=3, max_slot_words=1)
    fam = template_families(texts, similarity=0.5, seed=seed).family
    same_label = labels[:, None] == labels[None, :]
    same_fam = fam[:, None] == fam[None, :]
    tpl = (labels[:, None] >= 0) & same_label & ~np.eye(len(labels), dtype=bool)
    recall = same_fam[tpl].mean()
    different = ~same_label | (labels[:, None] < 0)
    np.fill_diagonal(different, False)
    false_merge = same_fam[different].mean()
    assert recall > 0.99
    assert false_merge < 0.001
    # every template maps to one family of its own
    for t in range(labels.max() + 1):
        assert np.unique(fam[labels == t]).size == 1


@settings(max_examples=40, deadline=None)
@given(
    acc=st.lists(st.integers(0, 4), min_size=0, max_size=60),
    cap=st.integers(1, 5),
    seed=st.integers(0, 10**6),
)
def test_sample_per_account_window_caps_each_group(acc: list[int], cap: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = len(acc)
    ts = rng.permutation(10_000)[:n].astype(np.int64)  # distinct timestamps
    accounts = np.asarray(acc, dtype=np.int64)
    keep = sample_per_account_window(accounts, ts, cap=cap, window=1000)
    win = ts // 1000
    for a in set(acc):
        for w in set(win[accounts == a].tolist()):
            grp = (accounts == a) & (win == w)
            assert keep[grp].sum() == min(cap, grp.sum())
            # the earliest rows of the group are the ones kept
            kept_ts, dropped_ts = ts[grp & keep], ts[grp & ~keep]
            if dropped_ts.size:
                assert kept_ts.max() < dropped_ts.min()
    perm = rng.permutation(n)
    np.testing.assert_array_equal(sample_per_account_window(accounts[perm], ts[perm], cap=cap, window=1000), keep[perm])


def _sample_oracle(accounts: np.ndarray, ts: np.ndarray, cap: int, window: int) -> np.ndarray:
    """Per (account, window), instants in time order; an instant's rows are kept together while the
    group has room, if they leave it with at most twice the cap (the documented rule)."""
    keep = np.zeros(len(ts), bool)
    groups: dict[tuple[int, int], list[int]] = {}
    for i, (a, t) in enumerate(zip(accounts.tolist(), ts.tolist())):
        groups.setdefault((a, t // window), []).append(i)
    for rows in groups.values():
        seen = 0
        for t in sorted({int(ts[i]) for i in rows}):
            at = [i for i in rows if ts[i] == t]
            if seen < cap and seen + len(at) <= 2 * cap:
                keep[at] = True
            seen = min(seen + len(at), cap) if seen < cap else seen
    return keep


@settings(max_examples=60, deadline=None)
@given(
    acc=st.lists(st.integers(0, 3), min_size=0, max_size=80),
    cap=st.integers(1, 4),
    span=st.integers(1, 40),
    seed=st.integers(0, 10**6),
)
def test_sample_per_account_window_keeps_tied_rows_together(acc: list[int], cap: int, span: int, seed: int) -> None:
    """Timestamps drawn from a few values, so rows of one account often share an instant: the mask is
    the oracle's and does not depend on row order (ties used to be broken by row position)."""
    rng = np.random.default_rng(seed)
    n = len(acc)
    ts = rng.integers(0, span, n).astype(np.int64)
    accounts = np.asarray(acc, dtype=np.int64)
    keep = sample_per_account_window(accounts, ts, cap=cap, window=10)
    np.testing.assert_array_equal(keep, _sample_oracle(accounts, ts, cap, 10))
    perm = rng.permutation(n)
    np.testing.assert_array_equal(sample_per_account_window(accounts[perm], ts[perm], cap=cap, window=10), keep[perm])
    # the sparse path (many cells) gives the same mask
    far = accounts * 10**9
    np.testing.assert_array_equal(sample_per_account_window(far, ts, cap=cap, window=10), keep)
