"""Vectorised event generation, one time slice at a time.

The window is cut into fixed slices (1-24 h, chosen from the scenario's expected
volume so a slice holds at most ~130k expected events). For each slice every active
account draws a Poisson count (with a per-slice gamma multiplier for burstiness
where the account has one), event times are sampled from its profile, and all
columns are gathered from the per-account parameters in bulk. Each slice has its
own random stream, so output does not depend on how slices are later batched.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from ._pools import MODELS, NEW_MODEL
from ._population import Population
from ._text import free_prompts
from ._util import ipv4_text, ipv6_text, mix64, rng_for
from .._unique import lexsort

__all__ = ["EVENTS_SCHEMA", "EventGenerator"]

EVENTS_SCHEMA = pa.schema([
    pa.field("account_id", pa.string(), nullable=False),
    pa.field("timestamp", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("ip", pa.string(), nullable=False),
    pa.field("device_id", pa.string(), nullable=False),
    pa.field("payment_id", pa.string()),
    pa.field("prompt", pa.string(), nullable=False),
    pa.field("output_tokens", pa.int32(), nullable=False),
    pa.field("model", pa.string(), nullable=False),
])

_SLICE_CAP = 1 << 17
_US_PER_H = 3_600_000_000
_MASK24 = np.uint32(0xFFFFFF00)


class EventGenerator:
    """Produce the events of a frozen :class:`Population` slice by slice.

    Parameters
    ----------
    pop : Population
        Frozen population (``first_h`` and ``account_id`` set).
    start_us : int
        Window start in microseconds since the Unix epoch.
    seed : int
        Root seed; slice ``i`` uses the stream ``(seed, 3, i)``.
    expected_events : float
        Used only to choose the slice length.
    """

    def __init__(self, pop: Population, start_us: int, seed: int, expected_events: float) -> None:
        self.pop = pop
        self.start_us = int(start_us)
        self.seed = seed
        per_hour = expected_events / max(pop.hours, 1)
        self.slice_hours = next((s for s in (24, 12, 8, 6, 4, 3, 2) if per_hour * s <= _SLICE_CAP), 1)
        self.n_slices = int(np.ceil(pop.hours / self.slice_hours))
        w = pop.world
        self._devices = pa.concat_arrays(w.devices)
        self._payments = pa.concat_arrays(w.payments) if w.payments else pa.array([], pa.string())
        self._models = pa.array(MODELS, type=pa.string())

    def __iter__(self) -> Iterator[pa.Table]:
        for i in range(self.n_slices):
            yield self.slice(i)

    def slice(self, i: int) -> pa.Table:
        """Return the events of slice ``i``, sorted by timestamp then account."""
        p, prof = self.pop, self.pop.profiles
        rng = rng_for(self.seed, 3, i)
        h0 = float(i * self.slice_hours)
        h1 = float(min((i + 1) * self.slice_hours, p.hours))
        lo = np.clip(p.act_start, h0, h1)
        hi = np.clip(p.act_end, h0, h1)
        act = np.flatnonzero(hi > lo)
        row = p.row[act]
        mu = p.rate_h[act] * (prof.integral(row, hi[act]) - prof.integral(row, lo[act]))
        d = p.disp[act]
        mult = np.ones(act.size)
        bursty = d > 0
        mult[bursty] = rng.gamma(d[bursty], 1.0 / d[bursty])
        counts = rng.poisson(mu * mult)
        acc = np.repeat(act, counts)
        t = prof.sample(rng, p.row[acc], lo[acc], hi[acc])
        forced = np.flatnonzero((p.first_h >= h0) & (p.first_h < h1))
        acc = np.concatenate([acc, forced])
        t = np.concatenate([t, p.first_h[forced]])
        ts = self.start_us + np.round(t * _US_PER_H).astype(np.int64)
        order = lexsort((acc, ts))
        acc, t, ts = acc[order], t[order], ts[order]
        return pa.Table.from_arrays([
            p.account_id.take(pa.array(acc)),
            pa.array(ts, type=pa.timestamp("us", tz="UTC")),
            self._ips(rng, acc, t),
            self._device_ids(rng, acc),
            self._payment(acc, t),
            self._prompts(rng, acc),
            pa.array(np.clip(np.exp(rng.normal(p.tok_mu[acc], p.tok_sigma[acc])), 1, 32000)
                     .astype(np.int32)),
            self._model(rng, acc, t),
        ], schema=EVENTS_SCHEMA)

    def _ips(self, rng: np.random.Generator, acc: np.ndarray, t: np.ndarray) -> pa.Array:
        p, w = self.pop, self.pop.world
        m = acc.size
        u = rng.random(m)
        c1 = p.p_home[acc]
        c2 = c1 + p.p_mobile[acc]
        c3 = c2 + p.p_vpn[acc]
        src = (u >= c1).astype(np.int8) + (u >= c2) + (u >= c3)
        src[(src == 3) & (p.pool_len[acc] == 0)] = 0
        ip = np.empty(m, dtype=np.uint32)

        sel = np.flatnonzero(src == 0)
        a = acc[sel]
        base = p.home_ip[a]
        lease = p.lease_h[a]
        dyn = np.isfinite(lease)
        epoch = np.where(dyn, np.floor(t[sel] / np.where(dyn, lease, 1.0)), 0).astype(np.int64)
        host = (mix64(p.household[a], epoch) % np.uint64(254) + np.uint64(1)).astype(np.uint32)
        ip[sel] = np.where(dyn, (base & _MASK24) | host, base)

        sel = np.flatnonzero(src == 1)
        ip[sel] = w.cgnat[w.cgnat_sampler(rng, sel.size)]
        v6 = np.zeros(m, dtype=bool)
        v6[sel[rng.random(sel.size) < 0.35]] = True

        sel = np.flatnonzero(src == 2)
        ip[sel] = w.vpn[w.vpn_sampler(rng, sel.size)]

        sel = np.flatnonzero(src == 3)
        a = acc[sel]
        n_pool = p.pool_len[a]
        sticky = p.sticky_h[a]
        is_sticky = sticky > 0
        period = np.floor(t[sel] / np.where(is_sticky, sticky, 1.0)).astype(np.int64)
        j = np.where(is_sticky, (mix64(a, period) % n_pool.astype(np.uint64)).astype(np.int64),
                     (rng.random(sel.size) * n_pool).astype(np.int64))
        ip[sel] = p.ip[p.pool_off[a] + j]

        if not v6.any():
            return ipv4_text(ip)
        a6 = acc[v6]
        prefix = (mix64(a6) & np.uint64(0xFFFFFFFF))
        iid = rng.integers(0, np.iinfo(np.int64).max, a6.size, dtype=np.int64).astype(np.uint64)
        texts = pa.concat_arrays([ipv4_text(ip[~v6]), ipv6_text("2607:fb90", prefix, iid)])
        idx = np.empty(m, dtype=np.int64)
        idx[~v6] = np.arange(m - a6.size)
        idx[v6] = m - a6.size + np.arange(a6.size)
        return texts.take(pa.array(idx))

    def _device_ids(self, rng: np.random.Generator, acc: np.ndarray) -> pa.Array:
        p, w = self.pop, self.pop.world
        idx = np.where(rng.random(acc.size) < p.p_dev2[acc], p.dev2[acc], p.dev1[acc])
        fresh = np.flatnonzero(p.dev_rand[acc] > 0)
        if fresh.size:
            # Per-request spoofing: a fresh popular fingerprint for every request (only
            # drawn when such accounts are active, so other worlds keep their streams).
            # The slice's own stream, not the world's: slices stay independent.
            idx[fresh] = w.popular_dev_off + w.popular_dev_sampler(rng, fresh.size)
        return self._devices.take(pa.array(idx))

    def _payment(self, acc: np.ndarray, t: np.ndarray) -> pa.Array:
        p = self.pop
        n_cards = p.pay_len[acc]
        rot = p.pay_rot_h[acc]
        rotating = (rot > 0) & (n_cards > 1)
        step = np.floor(t / np.where(rotating, rot, 1.0)).astype(np.int64)
        k = np.where(rotating, (step + p.pay_phase[acc]) % np.maximum(n_cards, 1), 0)
        return self._payments.take(pa.array(p.pay_off[acc] + k, mask=n_cards == 0))

    def _prompts(self, rng: np.random.Generator, acc: np.ndarray) -> pa.Array:
        p = self.pop
        m = acc.size
        templated = rng.random(m) < p.p_tpl[acc]
        at = acc[templated]
        pick = p.tpl[p.tpl_off[at] + (rng.random(at.size) * p.tpl_len[at]).astype(np.int64)]
        filled = p.bank.fill(rng, pick)
        af = acc[~templated]
        n_words = np.clip(np.round(rng.lognormal(p.free_mu[af], 0.5)), 1, 400).astype(np.int64)
        free = free_prompts(rng, n_words)
        idx = np.empty(m, dtype=np.int64)
        idx[templated] = np.arange(at.size)
        idx[~templated] = at.size + np.arange(af.size)
        return pa.concat_arrays([filled, free]).take(pa.array(idx))

    def _model(self, rng: np.random.Generator, acc: np.ndarray, t: np.ndarray) -> pa.Array:
        p = self.pop
        new = (t >= p.pivot_h[acc]) & (rng.random(acc.size) < p.p_new[acc])
        return self._models.take(pa.array(np.where(new, NEW_MODEL, p.model_base[acc])))

