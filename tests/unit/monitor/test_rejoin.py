"""Hysteresis of the monitor's partition: pieces of one earlier ring rejoin while still densely linked."""

from __future__ import annotations

import numpy as np

from accountgraph.monitor._communities import rejoin_pieces


def _clique_links(nodes_a: np.ndarray, nodes_b: np.ndarray, weight: float) -> tuple[np.ndarray, ...]:
    """Every pair between two node sets, with one weight."""
    s, d = np.meshgrid(nodes_a, nodes_b, indexing="ij")
    return s.ravel(), d.ravel(), np.full(s.size, weight)


def _world(cross_weight: float, prev_b: int = 7) -> tuple[np.ndarray, ...]:
    """Two communities of 10 (labels 0 and 1) tied by every cross pair at ``cross_weight``; a loner."""
    labels = np.r_[np.zeros(10, np.int64), np.ones(10, np.int64), -1]
    prev = np.r_[np.full(10, 7), np.full(10, prev_b), -1].astype(np.int64)
    src, dst, w = _clique_links(np.arange(10), np.arange(10, 20), cross_weight)
    return labels, prev, src, dst, w


def test_pieces_of_one_ring_above_the_density_rejoin():
    labels, prev, src, dst, w = _world(0.03)
    out, n = rejoin_pieces(labels, prev, src, dst, w, 0.025, np.inf)
    assert n == 1
    assert len(set(out[:20])) == 1 and out[20] == -1


def test_pieces_below_the_density_stay_apart():
    labels, prev, src, dst, w = _world(0.02)
    out, n = rejoin_pieces(labels, prev, src, dst, w, 0.025, np.inf)
    assert n == 0
    assert out[0] != out[10] and len(set(out[:10])) == 1 and len(set(out[10:20])) == 1


def test_pieces_of_different_rings_are_never_joined_here():
    labels, prev, src, dst, w = _world(1.0, prev_b=8)
    out, n = rejoin_pieces(labels, prev, src, dst, w, 0.025, np.inf)
    assert n == 0 and out[0] != out[10]


def test_a_piece_that_is_only_half_the_ring_does_not_count_as_its_piece():
    for other in (9, -1):  # the other half: another ring, or accounts in none
        labels, prev, src, dst, w = _world(1.0)
        prev[10:15] = other  # community 1 is half ring 7: no strict majority
        out, n = rejoin_pieces(labels, prev, src, dst, w, 0.025, np.inf)
        assert n == 0 and out[0] != out[10]


def test_the_oversize_bound_keeps_pieces_apart():
    labels, prev, src, dst, w = _world(1.0)
    out, n = rejoin_pieces(labels, prev, src, dst, w, 0.025, 19)
    assert n == 0 and out[0] != out[10]
    out, n = rejoin_pieces(labels, prev, src, dst, w, 0.025, 20)
    assert n == 1 and out[0] == out[10]


def test_density_is_cut_weight_over_the_product_of_sizes():
    # 10 x 10 cross pairs, only 5 linked at weight 0.5: density 2.5 / 100 = 0.025.
    labels, prev, _, _, _ = _world(0.0)
    src, dst, w = np.arange(5), np.arange(10, 15), np.full(5, 0.5)
    assert rejoin_pieces(labels, prev, src, dst, w, 0.025, np.inf)[1] == 1
    assert rejoin_pieces(labels, prev, src, dst, w, 0.0251, np.inf)[1] == 0
