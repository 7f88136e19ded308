"""Coordinated hubs: signals too common to be telling alone, held by the same accounts across types.

A hub (a signal shared by more accounts than the hub cap) is normally never projected:
a carrier-grade NAT exit, a popular fingerprint or a public template says little about
who its holders are. But a large ring hides exactly there. A few hundred datacenter
exits, each used by a thousand of the ring's accounts, and the ring's 20-fingerprint
automation stack are all hubs; yet the accounts behind one of those exits are, nearly
all of them, the accounts behind one of the fingerprints. Strangers behind a NAT exit
are not the strangers of one particular fingerprint.

A hub ``h`` is **coordinated** when, for some other evidence group (another kind of fact:
not an IP and its /24), at least ``min_share`` of ``h``'s accounts (estimated on a
deterministic sample of them) hold at least one hub ``h'`` of that group that is
**associated** with ``h``: the share of ``h``'s accounts holding ``h'`` is at least ``min_lift`` times the share
of all accounts holding ``h'`` (so a webmail domain or a country's phone prefix, held by
everybody, never counts). A ring's stack of 3 fingerprints split among its accounts counts
as one companion; five templates sent by the same fifth of an exit's accounts cover a fifth
(the share is of accounts holding any companion, not a sum of the companions' shares, which
counted those accounts five times and coordinated exits shared by strangers and a ring).

Coordinated hubs are projected like signals past the pair budget, onto sparse circulants,
but with one **common member order** for all of them, so that the accounts that share
many coordinated hubs are sampled as neighbours in each and accumulate evidence across
hubs and types, while a stranger who shares one of them gets one clipped link at most.
An enterprise's office IP and its corporate domain are coordinated too: enterprises are
clustered (they always were, through their cards) and the ring model scores them.
"""

from __future__ import annotations

import functools
import logging

from typing import Any, NamedTuple

import numpy as np

from ._budget import _order_by_signal_then_key
from .._hashing import mix_golden
from .._parallel import beside
from ..signals import account_order

__all__ = ["coordinated_hubs"]

logger = logging.getLogger(__name__)


def _mix(x: np.ndarray) -> np.ndarray:
    return mix_golden(x.astype(np.uint64))


def _sample_hash(node_key: np.ndarray, signal_key: np.ndarray) -> np.ndarray:
    """Per incidence, the uint64 key that orders a hub's members for its sample (lowest first).

    For one hub the keys of accounts with distinct ``node_key`` are distinct (an odd multiplier
    and an invertible mix), so a hub's sample never depends on the order of its incidences.
    """
    return _mix(np.asarray(node_key).astype(np.int64) * np.int64(0x632BE59BD9B4E019) ^ np.asarray(signal_key, np.int64))


def _code_dtype(n: int) -> type:
    """int32 for codes below ``n`` when ``n`` fits, else int64."""
    return np.int32 if n < 2**31 else np.int64


def _samples(acc: np.ndarray, sig: np.ndarray, node_key: np.ndarray, signal_key: np.ndarray | None,
             sample: int) -> tuple[np.ndarray, np.ndarray]:
    """Each hub's sample: its ``sample`` members of lowest ``hash(node_key, hub)``, rows by hub then hash."""
    skey = sig.astype(np.int64) if signal_key is None else np.asarray(signal_key, np.int64)[sig]
    h = _sample_hash(node_key[acc], skey)
    del skey
    o = _order_by_signal_then_key(sig, h)  # np.lexsort((h, sig)), by a sort inside each hub
    del h
    sig_o = sig[o]
    starts = np.flatnonzero(np.r_[True, sig_o[1:] != sig_o[:-1]]) if len(sig_o) else np.zeros(0, np.int64)
    del sig_o
    take = np.minimum(np.diff(np.r_[starts, len(o)]), sample)  # rows kept per hub, the first of each run
    rows = np.repeat(starts - np.r_[0, np.cumsum(take)[:-1]], take) + np.arange(int(take.sum()))
    rows = o[rows]
    return acc[rows], sig[rows]


class _Kernels(NamedTuple):
    cross: Any  # per hub, its sampled accounts holding each hub of another group
    union: Any  # per hub and other group, its sampled accounts holding one of its associated hubs


@functools.cache
def _compiled() -> _Kernels:
    """The compiled loops (numba, loaded on first use: :mod:`._hub_kernels`)."""
    from ._hub_kernels import cross, union

    return _Kernels(cross, union)


class _ByAccount(NamedTuple):
    """Every hub incidence by account, then evidence group (CSR), with each (account, group) block's end."""

    start: np.ndarray  # (n_accounts + 1,): first incidence of each account
    hub: np.ndarray  # the incidences' hubs
    grp: np.ndarray  # their groups
    block_end: np.ndarray  # first incidence past each incidence's (account, group) block


def _by_account(acc: np.ndarray, sig: np.ndarray, group: np.ndarray, n_acc: int) -> _ByAccount:
    """The incidences by account, then group, ties in input order: ``lexsort((group[sig], acc))``,
    by one counting sort of the (account, group) key (linear; the blocks' ends are its offsets).

    Compact where the sizes allow (the layout of 41M hub incidences at seed scale): the hubs
    in ``sig``'s dtype, groups as int8, block ends as int32 below 2**31 incidences.
    """
    n_grp = int(group.max()) + 1 if len(group) else 1
    key = acc.astype(np.int64) * n_grp
    key += group[sig]
    by = account_order(key, n_acc * n_grp)  # stable counting sort: exactly lexsort's order
    hub = sig[by.order]
    key = key[by.order]  # sorted: the reads below are sequential
    del by.order
    grp = (key % n_grp).astype(np.int8 if n_grp <= 127 else np.int64)
    key += 1
    ends = by.start[key]
    del key
    if len(ends) and int(ends[-1]) < 2**31:
        ends = ends.astype(np.int32)
    return _ByAccount(by.start[::n_grp].copy(), hub, grp, ends)


def _cross_counts(csr: _ByAccount, s_acc: np.ndarray, s_sig: np.ndarray, group: np.ndarray,
                  n_sig: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(hub, other hub, accounts)``: for each hub, how many of its sampled accounts hold each hub of
    another evidence group, sorted by (hub, other).

    The same counts as expanding every sampled account into all its hubs and counting the
    cross-group pairs, without the expansion (a large ring's accounts hold hundreds of
    exit hubs each: billions of same-group pairs): one compiled pass per hub with a counter
    per other hub, same-group hubs skipped.
    """
    return _by_halves(_compiled().cross, s_acc, s_sig, (csr.start, csr.hub, csr.grp, csr.block_end),
                      (group, int(n_sig)))


def _union_counts(csr: _ByAccount, s_acc: np.ndarray, s_sig: np.ndarray, group: np.ndarray, n_sig: int,
                  a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(hub, group, accounts)``: for each hub, how many of its sampled accounts hold at least one of
    its associated hubs ``b`` (pairs ``(a, b)`` sorted by ``a``) of each other group.

    A union, not a sum of the companions' shares: a ring's stack of three fingerprints split among
    its accounts covers all of them, but five templates sent by the same fifth of an exit's
    accounts cover a fifth, not the whole exit.
    """
    a_start = np.searchsorted(a, np.arange(n_sig + 1))
    return _by_halves(_compiled().union, s_acc, s_sig, (csr.start, csr.hub, csr.grp, csr.block_end),
                      (group, int(n_sig), a_start, b.astype(np.int64), int(group.max()) + 1))


_HALVES_MIN_ROWS = 1 << 16  # sampled rows from which the hubs are counted in two halves


def _by_halves(kernel: Any, s_acc: np.ndarray, s_sig: np.ndarray, before: tuple, after: tuple,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``kernel(*before, s_acc, s_sig, *after)``, the hubs in two halves on two cores, concatenated.

    The kernels count each hub on its own, in the rows' order of hubs: the first half of the hubs'
    rows on another thread (:func:`~accountgraph._parallel.beside`), the rest here, gives the same
    rows as one call.
    """
    cut = np.searchsorted(s_sig, s_sig[len(s_sig) // 2]) if len(s_sig) >= _HALVES_MIN_ROWS else 0
    if not cut:
        return kernel(*before, s_acc, s_sig, *after)
    first = beside(kernel, *before, s_acc[:cut], s_sig[:cut], *after)
    rest = kernel(*before, s_acc[cut:], s_sig[cut:], *after)
    return tuple(np.concatenate(pair) for pair in zip(first(), rest))  # type: ignore[return-value]


def coordinated_hubs(account: np.ndarray, signal: np.ndarray, group: np.ndarray, hub: np.ndarray,
                     degree: np.ndarray, n_accounts: int, node_key: np.ndarray, *, sample: int = 64,
                     min_share: float = 0.5, min_lift: float | np.ndarray = 10.0,
                     signal_key: np.ndarray | None = None) -> np.ndarray:
    """Which hub signals are coordinated (see the module docstring).

    Parameters
    ----------
    account, signal : ndarray of int64, shape (m,)
        Distinct (account, signal) incidences.
    group : ndarray of int64, shape (n_signals,)
        Evidence group of each signal (an IP and its network share one).
    hub : ndarray of bool, shape (n_signals,)
        Candidate hubs.
    degree : ndarray of int64, shape (n_signals,)
    n_accounts : int
    node_key : ndarray of int64, shape (n_accounts,)
        Name-independent account rank; picks each hub's sample.
    sample : int
        Accounts sampled per hub to estimate the shares.
    min_share : float
    min_lift : float or ndarray of float, shape (n_signals,)
        Least lift of a companion (per tested hub when an array).
    signal_key : ndarray of int64, shape (n_signals,), optional
        Increasing key of each signal that picks the hub samples (default: the signal id).
        A caller holding only the hubs under compact ids passes their global ids here
        and gets the samples (and the result) of the full signal space.

    Returns
    -------
    ndarray of bool, shape (n_signals,)

    Notes
    -----
    O(h * sample * g) for ``h`` hubs whose sampled accounts hold ``g`` hubs of other groups
    each, plus one sort of the hub incidences; no account-pair products.

    Examples
    --------
    >>> # hubs 0 (an exit) and 1 (a fingerprint) held by the same 30 accounts; hub 2 by 30 others
    >>> acc = np.r_[np.arange(30), np.arange(30), np.arange(30, 60)]
    >>> sig = np.r_[np.zeros(30, int), np.ones(30, int), np.full(30, 2)]
    >>> coordinated_hubs(acc, sig, np.array([0, 1, 2]), np.ones(3, bool), np.array([30, 30, 30]),
    ...                  1000, np.arange(1000)).tolist()
    [True, True, False]
    """
    out = np.zeros(len(degree), bool)
    m = hub[signal]
    if not m.any():
        return out
    # compact codes (int32 where they fit): these are the 41M hub incidences at seed scale
    acc = account[m].astype(_code_dtype(int(account.max()) + 1), copy=False)
    sig = signal[m].astype(_code_dtype(len(degree)), copy=False)
    del m
    s_acc, s_sig = _samples(acc, sig, node_key, signal_key, sample)
    # for each hub, how many of its sampled accounts hold each hub of another group
    n_acc = int(max(acc.max(initial=-1), s_acc.max(initial=-1))) + 1
    csr = _by_account(acc, sig, group, n_acc)
    del acc, sig
    a, b, c = _cross_counts(csr, s_acc, s_sig, group, len(degree))
    if not len(a):
        return out
    share = c / np.minimum(degree[a], sample)
    lift = share / np.maximum(degree[b] / max(n_accounts, 1), 1e-12)
    ml = np.asarray(min_lift, np.float64)
    assoc = lift >= (ml[a] if ml.ndim else ml)
    if not assoc.any():
        return out
    # the share of each hub's sampled accounts holding one of its companions of a group, at least
    h, _, n = _union_counts(csr, s_acc, s_sig, group, len(degree), a[assoc], b[assoc])
    out[h[n / np.minimum(degree[h], sample) >= min_share]] = True
    logger.info("graph: %d of %d hubs are coordinated (held by the same accounts as a hub of another kind)",
                int(out.sum()), int(hub.sum()))
    return out
