"""Property tests of the randomised world spec over arbitrary seeds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from accountgraph.synth import RANDOM_RANGES, random_scenario

R = RANDOM_RANGES


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**63 - 1))
def test_any_seed_gives_a_valid_deterministic_spec(seed: int) -> None:
    s = random_scenario(seed)
    assert s == random_scenario(seed)
    n = s.n_legit + sum(s.enterprise_sizes) + s.n_automation + sum(r.n_accounts for r in s.rings)
    lo_mid, hi_mid = R["n_accounts_mid"]
    lo_full, hi_full = R["n_accounts_full"]
    assert lo_mid * 0.99 <= n <= hi_mid * 1.01 or lo_full * 0.99 <= n <= hi_full * 1.01
    assert 1 <= len(s.rings) <= 30
    for r in s.rings:
        assert 10 <= r.n_accounts <= 30_000
        assert 0 <= r.start_day < r.end_day <= s.days + 1e-9
        assert r.heads <= max(1, r.n_accounts // 5)
        assert 2 <= r.n_templates <= 40
    # Rings stay a small share of the accounts (up to the 10-account floor per ring).
    assert sum(r.n_accounts for r in s.rings) <= max(0.08 * n, 10 * len(s.rings)) + len(s.rings)
