"""Fuzzing detect with whole input tables of arbitrary Arrow types (issue 12).

Size from the environment: ``ACCOUNTGRAPH_FUZZ_EXAMPLES`` (default 60) and
``ACCOUNTGRAPH_FUZZ_MAX_ROWS`` (default 12). The profile is derandomised so CI
runs the same examples every time; ``benchmarks/fuzz_campaign.py`` runs the
same strategies with random seeds for the long campaign.
"""

from __future__ import annotations

import logging
import os

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .fuzz_strategies import assignments_key, check_accounting, inputs, permuted, run_one

EXAMPLES = int(os.environ.get("ACCOUNTGRAPH_FUZZ_EXAMPLES", "60"))

settings.register_profile(
    "accountgraph-fuzz", max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
FUZZ = settings.get_profile("accountgraph-fuzz")


@FUZZ
@given(inputs())
def test_detect_returns_or_raises_library_error_and_accounts_for_every_row(data):
    events, accounts = data
    logging.disable(logging.WARNING)
    try:
        outcome, res = run_one(events, accounts)  # any other exception fails the test
    finally:
        logging.disable(logging.NOTSET)
    if outcome == "returned":
        check_accounting(res, events, accounts)


@settings(FUZZ, max_examples=max(5, EXAMPLES // 4))
@given(inputs(), st.integers(0, 2**32 - 1))
def test_row_order_does_not_change_assignments(data, seed):
    events, accounts = data
    logging.disable(logging.WARNING)
    try:
        outcome, res = run_one(events, accounts)
        if outcome != "returned":
            return
        outcome2, res2 = run_one(permuted(events, seed), None if accounts is None else permuted(accounts, seed + 1))
    finally:
        logging.disable(logging.NOTSET)
    assert outcome2 == "returned"
    pd.testing.assert_frame_equal(assignments_key(res), assignments_key(res2))
