"""Shared fixtures: a small, hand-built events table with a planted ring.

Independent of ``accountgraph.synth`` on purpose, so the detector's tests do
not rest on the generator they are benchmarked with.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

T0_US = pd.Timestamp("2026-05-01", tz="UTC").value // 1000
DAY_US = 86_400 * 1_000_000


def planted(seed: int = 0, n_legit: int = 300, ring_size: int = 24, n_days: int = 20,
            hub_everyone: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, set[str]]:
    """Events/accounts with one planted ring, a family and (optionally) a hub IP for everyone.

    The ring's accounts share two payment cells and a small proxy pool, work 24/7
    at a steady rate with long tight outputs and were created within a day; legit
    accounts have their own IP and card, office-ish hours and varied outputs.
    """
    rng = np.random.default_rng(seed)
    acc, ts, ip, dev, pay, out = [], [], [], [], [], []
    for i in range(n_legit):
        k = int(rng.integers(1, 15))
        acc += [f"user{i:04d}"] * k
        ts.append(T0_US + rng.integers(0, n_days, k) * DAY_US + rng.integers(8 * 3600, 20 * 3600, k) * 1_000_000)
        ip += [f"10.{i % 200}.{i // 200}.{1 + i % 250}"] * k
        dev += [f"sdk-{int(rng.zipf(1.6)) % 40}"] * k
        pay += [f"card-{i:04d}"] * k
        out.append(rng.integers(5, 3000, k))
    for j in range(ring_size):
        k = 20 * n_days
        acc += [f"ring{j:03d}"] * k
        ts.append(T0_US + rng.integers(0, n_days * 86_400, k) * 1_000_000)
        ip += [f"198.51.{100 + p // 8}.{p}" for p in rng.integers(0, 16, k)]
        dev += [f"headless-{j % 3}"] * k  # the automation stack cuts across payment cells
        pay += [f"cell-{j % 2}"] * k
        out.append(rng.normal(1500, 60, k).astype(np.int64))
    # a family: 3 accounts sharing a card and a home IP
    for f in range(3):
        k = 5
        acc += [f"fam{f}"] * k
        ts.append(T0_US + rng.integers(0, n_days, k) * DAY_US + rng.integers(17 * 3600, 23 * 3600, k) * 1_000_000)
        ip += ["192.0.2.77"] * k
        dev += [f"sdk-{f}"] * k
        pay += ["card-family"] * k
        out.append(rng.integers(5, 3000, k))
    ev = pd.DataFrame({
        "account_id": acc,
        "timestamp": pd.to_datetime(np.concatenate(ts), unit="us", utc=True),
        "ip": ip, "device_id": dev, "payment_id": pay,
        "output_tokens": np.concatenate(out).astype(np.int64),
    })
    if hub_everyone:
        ids = pd.unique(ev["account_id"])
        hub = pd.DataFrame({"account_id": ids, "timestamp": pd.Timestamp("2026-05-02 12:00", tz="UTC"),
                            "ip": "100.64.0.1", "device_id": "sdk-0", "payment_id": None, "output_tokens": 100})
        ev = pd.concat([ev, hub], ignore_index=True)
    ids = sorted(set(acc))
    created = [
        T0_US - (DAY_US // 2 if a.startswith("ring") else int(rng.integers(30, 400)) * DAY_US) + int(rng.integers(0, 3600)) * 1_000_000
        for a in ids
    ]
    accounts = pd.DataFrame({"account_id": ids, "created_at": pd.to_datetime(created, unit="us", utc=True),
                             "email_domain": ["mail.example"] * len(ids)})
    ring = {a for a in ids if a.startswith("ring")}
    return ev, accounts, ring


def labelled_frames(ds) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A synthetic dataset's events and accounts as pandas, each row joined with its account's labels."""
    ev = ds.events.join(ds.labels, "account_id").to_pandas()
    acc = ds.accounts.join(ds.labels, "account_id").to_pandas()
    return ev, acc


@pytest.fixture(scope="session")
def planted_data():
    return planted()
