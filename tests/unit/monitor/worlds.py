"""Hand-built day-by-day worlds for the monitor's tests (independent of ``accountgraph.synth``).

A *ring day* is a day of traffic from a set of ring accounts: they share payment
cells, a small proxy pool and an automation stack, work round the clock at a
steady rate with long, tight outputs, and fill in three prompt templates. A *legit day* is ordinary users, each with
an own home IP and card, office hours, varied outputs, their own prompts and a
popular SDK fingerprint. Composing days with chosen members plants growth, merges and
splits exactly where a test wants them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

T0 = pd.Timestamp("2026-05-01", tz="UTC")
RING_TEMPLATES = (
    "Solve step by step and show every intermediate result: problem {} of the set, constraints {}.",
    "You are a coding agent. Call the tools in order and return the final patch for task {} (repo {}).",
    "Write a detailed chain of reasoning for question {} then give the answer; format {}.",
)
WORDS = np.array("garden recipe holiday invoice poem letter travel budget lesson story email summary".split())


def ring_day(names: list[str], day: int, *, cards: list[str], ips: list[str], device: str, seed: int,
             per_account: int = 24) -> pd.DataFrame:
    """One day of a ring: every account sends ``per_account`` requests spread over 24 hours."""
    rng = np.random.default_rng(seed)
    n = len(names) * per_account
    acc = np.repeat(np.asarray(names, dtype=object), per_account)
    secs = rng.integers(0, 86_400, n)
    card_of = {a: cards[i % len(cards)] for i, a in enumerate(names)}
    return pd.DataFrame({
        "account_id": acc,
        "timestamp": T0 + pd.to_timedelta(day * 86_400 + secs, unit="s"),
        "ip": np.asarray(ips, dtype=object)[rng.integers(0, len(ips), n)],
        "device_id": device,
        "payment_id": [card_of[a] for a in acc],
        "output_tokens": rng.normal(1500, 50, n).astype(np.int64),
        "prompt": [RING_TEMPLATES[t].format(a, b) for t, a, b in
                   zip(rng.integers(0, 3, n), rng.integers(0, 50, n), rng.integers(0, 10, n))],
    })


def legit_day(n_users: int, day: int, *, seed: int, prefix: str = "user") -> pd.DataFrame:
    """One day of ordinary users (each active with probability 0.6, 1-6 requests in office hours)."""
    rng = np.random.default_rng(seed + 1000 * day)
    rows = []
    for i in range(n_users):
        if rng.random() > 0.6:
            continue
        k = int(rng.integers(1, 7))
        rows.append(pd.DataFrame({
            "account_id": f"{prefix}{i:04d}",
            "timestamp": T0 + pd.to_timedelta(day * 86_400 + rng.integers(9 * 3600, 18 * 3600, k), unit="s"),
            "ip": f"10.{i % 200}.{i // 200}.{1 + i % 250}",
            "device_id": f"sdk-{int(rng.zipf(1.6)) % 30}",
            "payment_id": f"card-{prefix}-{i:04d}",
            "output_tokens": rng.integers(5, 3000, k),
            "prompt": [" ".join(rng.choice(WORDS, 8)) + f" {i}-{j}-{day}" for j in range(k)],
        }))
    return pd.concat(rows, ignore_index=True)


def names(prefix: str, lo: int, hi: int) -> list[str]:
    return [f"{prefix}{j:03d}" for j in range(lo, hi)]


def growing_ring(days: int = 4, start: int = 12, step: int = 10, n_users: int = 150, seed: int = 0,
                 cells: int = 2) -> list[pd.DataFrame]:
    """Daily batches of a ring (``cells`` payment cells) that gains ``step`` accounts a day, among ordinary users."""
    out = []
    for d in range(days):
        ring = ring_day(names("ring", 0, start + step * d), d, cards=[f"cell-{c}" for c in range(cells)],
                        ips=[f"198.51.100.{p}" for p in range(12)], device="headless-1", seed=seed + d)
        out.append(pd.concat([ring, legit_day(n_users, d, seed=seed)], ignore_index=True))
    return out


def ring_ids_of(assignments: pd.DataFrame, accounts: list[str]) -> set[int]:
    """The ring ids the given accounts are in (-1 for none)."""
    a = assignments.set_index("account_id")
    return set(a.loc[accounts, "ring_id"].tolist())
