"""Hysteresis of the monitor's partition: a piece of an earlier ring whose links lead mostly into it rejoins it."""

from __future__ import annotations

import numpy as np

from accountgraph.monitor._communities import rejoin_pieces


def _pairs(nodes_a: np.ndarray, nodes_b: np.ndarray, weight: float) -> tuple[np.ndarray, ...]:
    """Every pair between two node sets (each pair once), with one weight."""
    s, d = np.meshgrid(nodes_a, nodes_b, indexing="ij")
    keep = s < d
    return s[keep], d[keep], np.full(int(keep.sum()), weight)


def _world(inside: float, across: float, prev_b: int = 7) -> tuple[np.ndarray, ...]:
    """Communities 0 and 1 of 10 accounts (each a clique at ``inside``), every cross pair at ``across``; a loner.

    A piece's link weight: 2 * 45 * inside within it, 100 * across to the other piece.
    """
    labels = np.r_[np.zeros(10, np.int64), np.ones(10, np.int64), -1]
    prev = np.r_[np.full(10, 7), np.full(10, prev_b), -1].astype(np.int64)
    parts = [_pairs(np.arange(10), np.arange(10), inside), _pairs(np.arange(10, 20), np.arange(10, 20), inside),
             _pairs(np.arange(10), np.arange(10, 20), across)]
    return (labels, prev) + tuple(np.concatenate([p[i] for p in parts]) for i in range(3))


def test_pieces_sending_most_of_their_weight_to_each_other_rejoin():
    labels, prev, src, dst, w = _world(1.0, 1.0)  # 100 across against 90 inside
    out, n = rejoin_pieces(labels, prev, src, dst, w, 0.5, np.inf)
    assert n == 1
    assert len(set(out[:20])) == 1 and out[20] == -1


def test_pieces_with_as_much_weight_inside_as_across_stay_apart():
    labels, prev, src, dst, w = _world(1.25, 1.125)  # 112.5 across against 112.5 inside (exact): not more than half
    out, n = rejoin_pieces(labels, prev, src, dst, w, 0.5, np.inf)
    assert n == 0
    assert out[0] != out[10] and len(set(out[:10])) == 1 and len(set(out[10:20])) == 1
    assert rejoin_pieces(labels, prev, src, dst, w, 0.49, np.inf)[1] == 1


def test_pieces_of_different_rings_are_never_joined_here():
    labels, prev, src, dst, w = _world(0.0, 1.0, prev_b=8)
    out, n = rejoin_pieces(labels, prev, src, dst, w, 0.5, np.inf)
    assert n == 0 and out[0] != out[10]


def test_a_piece_that_is_only_half_the_ring_does_not_count_as_its_piece():
    for other in (9, -1):  # the other half: another ring, or accounts in none
        labels, prev, src, dst, w = _world(0.0, 1.0)
        prev[10:15] = other  # community 1 is half ring 7: no strict majority
        out, n = rejoin_pieces(labels, prev, src, dst, w, 0.5, np.inf)
        assert n == 0 and out[0] != out[10]


def test_a_small_piece_rejoins_a_large_one_it_leans_on():
    # 3 accounts split off a ring of 23: each tied to 10 of the 20 others, weakly to each other.
    labels = np.r_[np.zeros(20, np.int64), np.ones(3, np.int64)]
    prev = np.zeros(23, np.int64)
    big = _pairs(np.arange(20), np.arange(20), 1.0)
    small = _pairs(np.arange(20, 23), np.arange(20, 23), 0.5)
    src = np.r_[big[0], small[0], np.repeat(np.arange(20, 23), 10)]
    dst = np.r_[big[1], small[1], np.tile(np.arange(10), 3)]
    w = np.r_[big[2], small[2], np.full(30, 0.2)]
    out, n = rejoin_pieces(labels, prev, src, dst, w, 0.5, np.inf)
    assert n == 1 and len(set(out)) == 1


def test_the_oversize_bound_keeps_pieces_apart():
    labels, prev, src, dst, w = _world(0.0, 1.0)
    out, n = rejoin_pieces(labels, prev, src, dst, w, 0.5, 19)
    assert n == 0 and out[0] != out[10]
    out, n = rejoin_pieces(labels, prev, src, dst, w, 0.5, 20)
    assert n == 1 and out[0] == out[10]
