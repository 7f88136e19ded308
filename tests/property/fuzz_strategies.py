"""Hypothesis strategies for whole input tables (events and accounts) of arbitrary Arrow types.

Shared by ``tests/property/test_fuzz_inputs.py`` (short CI run) and
``benchmarks/fuzz_campaign.py`` (the long campaign). Every column of the
contract gets, per example, either a plausible type (so detection really runs)
or an arbitrary one (so the type checks run); values include nulls, odd
unicode (NUL, RTL, combining marks, no surrogates), extremes and epochs in
every unit that overflow microseconds.
"""

from __future__ import annotations

import decimal
import os

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import strategies as st

import accountgraph
from accountgraph._exceptions import AccountGraphError

MAX_ROWS = int(os.environ.get("ACCOUNTGRAPH_FUZZ_MAX_ROWS", "12"))

EVENT_COLUMNS = ("account_id", "timestamp", "ip", "device_id", "payment_id", "prompt", "output_tokens", "model")
ACCOUNT_COLUMNS = ("account_id", "created_at", "payment_id", "email_domain", "phone_prefix")
REQUIRED = {"events": ("account_id", "timestamp"), "accounts": ("account_id",)}

I64 = (-(2**63), 2**63 - 1)
_INT_TYPES = {pa.int8(): (-128, 127), pa.int16(): (-(2**15), 2**15 - 1), pa.int32(): (-(2**31), 2**31 - 1),
              pa.int64(): I64, pa.uint8(): (0, 255), pa.uint16(): (0, 2**16 - 1), pa.uint32(): (0, 2**32 - 1),
              pa.uint64(): (0, 2**64 - 1)}
_TS_TYPES = [pa.timestamp(u, tz) for u in ("s", "ms", "us", "ns") for tz in (None, "UTC", "Asia/Kolkata", "-03:30")]

odd_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12) | st.sampled_from(
    ["", " ", "\x00", "a\x00b", "\u202eevil\u202c", "\u05e9\u05dc\u05d5\u05dd", "e\u0301", "\ufeff", "\U0001F600",
     "<script>alert(1)</script>", "'\"", "\n", "NaN", "null", "None", "1e400", "-0"])
iso_text = st.sampled_from(["2024-01-01T00:00:00Z", "2024-03-05 12:00:00", "2024-03-05T12:00:00.123456789+05:30",
                            "2024-02-30T00:00:00", "1970-01-01", "2262-04-12T00:00:00Z", "9999-12-31",
                            "1700000000", "1700000000.5", "1.7e9", "17000000000000", "-1", "99999999999999999999",
                            " 2024-01-01 ", "2024-01-01T25:00:00"])
ip_text = st.sampled_from(["10.0.0.1", "10.0.0.2", "192.168.1.300", "::1", "2001:db8::1", "2001:DB8:0:0::1",
                           "010.0.0.1", "1.2.3", "::ffff:1.2.3.4", "fe80::1%eth0", " 10.0.0.1"])
epochs = st.integers(1_500_000_000, 1_800_000_000)
epoch_any_unit = st.one_of(epochs, epochs.map(lambda s: s * 1000), epochs.map(lambda s: s * 10**6),
                           epochs.map(lambda s: s * 10**9), epochs.map(lambda s: s * 10**9 + 1),
                           st.sampled_from([2**53 + 1, 2**63 - 1, -(2**63), 0, -1, 2**62]))


def _values(draw, t: pa.DataType, n: int, column: str) -> pa.Array:
    nullable = st.none() | st.just(0)  # marker: 0 -> value, None -> null

    def nullmask() -> list[bool]:
        return draw(st.lists(st.booleans() if draw(st.booleans()) else st.just(False), min_size=n, max_size=n))

    mask = nullmask()
    if pa.types.is_null(t):
        return pa.nulls(n)
    if t in _INT_TYPES:
        lo, hi = _INT_TYPES[t]
        plausible = epoch_any_unit if column in ("timestamp", "created_at") else st.integers(0, 20)
        ints = st.integers(lo, hi) | plausible.filter(lambda v: lo <= v <= hi)
        vals = draw(st.lists(ints, min_size=n, max_size=n))
        return pa.array([None if m else v for v, m in zip(vals, mask)], t)
    if pa.types.is_floating(t):
        plausible = epochs.map(float) if column in ("timestamp", "created_at") else st.integers(0, 50).map(float)
        fl = st.floats(allow_nan=True, allow_infinity=True) | plausible | st.sampled_from([2.0**53, 2.0**53 + 2, 0.5,
                                                                                              -0.0, 1e300])
        vals = draw(st.lists(fl, min_size=n, max_size=n))
        return pa.array([None if m else v for v, m in zip(vals, mask)], pa.float64()).cast(t, safe=False)
    if pa.types.is_boolean(t):
        vals = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        return pa.array([None if m else v for v, m in zip(vals, mask)], t)
    if pa.types.is_timestamp(t):
        vals = draw(st.lists(st.integers(*I64) | epoch_any_unit, min_size=n, max_size=n))
        return pa.array([None if m else v for v, m in zip(vals, mask)], pa.int64()).cast(t)
    if pa.types.is_date32(t):
        vals = draw(st.lists(st.integers(-(2**31), 2**31 - 1) | st.integers(17000, 21000), min_size=n, max_size=n))
        return pa.array([None if m else v for v, m in zip(vals, mask)], pa.int32()).cast(t)
    if pa.types.is_date64(t):
        vals = draw(st.lists(st.integers(*I64) | epochs.map(lambda s: s * 1000), min_size=n, max_size=n))
        return pa.array([None if m else v for v, m in zip(vals, mask)], pa.int64()).cast(t)
    if pa.types.is_decimal(t):
        dec = st.decimals(min_value=-(10**7), max_value=10**7, places=2, allow_nan=False, allow_infinity=False)
        vals = draw(st.lists(dec, min_size=n, max_size=n))
        return pa.array([None if m else decimal.Decimal(v) for v, m in zip(vals, mask)], t)
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        b = st.binary(max_size=10) | st.sampled_from([b"\xff\xfe", b"caf\xe9", b"a1", b"\xed\xa0\x80"])
        vals = draw(st.lists(b, min_size=n, max_size=n))
        return pa.array([None if m else v for v, m in zip(vals, mask)], t)
    if pa.types.is_dictionary(t):
        return _values(draw, pa.string(), n, column).dictionary_encode()
    if pa.types.is_list(t):
        vals = draw(st.lists(st.lists(st.sampled_from(["a", "b"]), max_size=2), min_size=n, max_size=n))
        return pa.array([None if m else v for v, m in zip(vals, mask)], t)
    if pa.types.is_struct(t):
        vals = draw(st.lists(st.sampled_from(["a", "b"]), min_size=n, max_size=n))
        return pa.array([None if m else {"x": v} for v, m in zip(vals, mask)], t)
    # text
    plausible = {"timestamp": iso_text | epochs.map(str), "created_at": iso_text, "ip": ip_text,
                 "account_id": st.sampled_from(["a", "b", "c", "acc_1", "acc_2"]),
                 "output_tokens": st.sampled_from(["1", "20", "-3", "2.5", "x", "9007199254740993", "1e3"])}
    text = odd_text | plausible.get(column, st.sampled_from(["p1", "p2", "Write a poem about cats", "gpt"]))
    vals = draw(st.lists(text, min_size=n, max_size=n))
    return pa.array([None if m else v for v, m in zip(vals, mask)], t)


_ARBITRARY = (list(_INT_TYPES) + [pa.float16(), pa.float32(), pa.float64(), pa.bool_(), pa.string(), pa.large_string(),
              pa.binary(), pa.large_binary(), pa.date32(), pa.date64(), pa.decimal128(12, 2), pa.null(),
              pa.dictionary(pa.int32(), pa.string()), pa.list_(pa.string()), pa.struct([("x", pa.string())])]
              + _TS_TYPES)
_PLAUSIBLE = {
    "account_id": [pa.string(), pa.large_string(), pa.int64(), pa.dictionary(pa.int32(), pa.string())],
    "timestamp": _TS_TYPES + [pa.int64(), pa.float64(), pa.string(), pa.date32()],
    "created_at": _TS_TYPES + [pa.int64(), pa.string(), pa.date32(), pa.date64()],
    "output_tokens": [pa.int64(), pa.int32(), pa.uint64(), pa.float64(), pa.string()],
}


@st.composite
def table(draw, which: str, max_rows: int = MAX_ROWS) -> pa.Table:
    """One input table (``which`` is ``"events"`` or ``"accounts"``)."""
    names = EVENT_COLUMNS if which == "events" else ACCOUNT_COLUMNS
    n = draw(st.integers(0, max_rows))
    cols = {}
    for c in names:
        if c not in REQUIRED[which] and draw(st.integers(0, 3)) == 0:
            continue  # optional column absent
        if c in REQUIRED[which] and draw(st.integers(0, 40)) == 0:
            continue  # a required column missing: must be a SchemaError
        plausible = _PLAUSIBLE.get(c, [pa.string(), pa.large_string(), pa.dictionary(pa.int32(), pa.string()),
                                       pa.binary()])
        t = draw(st.sampled_from(plausible) if draw(st.integers(0, 14)) else st.sampled_from(_ARBITRARY))
        cols[c] = _values(draw, t, n, c)
    if draw(st.integers(0, 10)) == 0:
        cols["extra_col"] = pa.array(draw(st.lists(odd_text, min_size=n, max_size=n)), pa.string())
    return pa.table(cols) if cols else pa.table({"unrelated": pa.nulls(n)})


def as_input(draw, t: pa.Table):
    """The table as pyarrow, or as pandas when pandas can hold it (object columns included)."""
    if draw(st.booleans()):
        return t
    try:
        return t.to_pandas()
    except (pa.ArrowException, ValueError, OverflowError):  # types pandas cannot hold
        return t


@st.composite
def inputs(draw, max_rows: int = MAX_ROWS):
    """``(events, accounts or None)`` ready for :func:`accountgraph.detect`."""
    ev = as_input(draw, draw(table("events", max_rows)))
    acc = as_input(draw, draw(table("accounts", max_rows))) if draw(st.booleans()) else None
    return ev, acc


def n_rows(t) -> int:
    return t.num_rows if isinstance(t, pa.Table) else len(t)


def permuted(t, seed: int):
    """The same table with its rows in another order."""
    order = np.random.default_rng(seed).permutation(n_rows(t))
    if isinstance(t, pa.Table):
        return t.take(pa.array(order, pa.int64()))
    return t.iloc[order].reset_index(drop=True)


def check_accounting(res, events, accounts) -> None:
    """Rows kept + rows quarantined = rows read, for both tables; every quarantined row has a reason."""
    s = res.stats
    assert s["n_events_in"] == n_rows(events)
    assert s["n_events"] + s["quarantined_events"] == s["n_events_in"]
    n_acc = 0 if accounts is None else n_rows(accounts)
    assert s["n_account_rows_in"] == n_acc
    assert s["n_account_rows"] + s["quarantined_accounts"] == n_acc
    rows = res.quarantined_rows()
    assert len(rows) == s["quarantined_rows"] == res.quarantine.total
    assert rows["reason"].map(lambda r: isinstance(r, str) and r != "").all()
    got = rows.groupby(["table", "reason"]).size().to_dict() if len(rows) else {}
    assert got == dict(res.quarantine.counts)
    assert not rows.duplicated(["table", "row"]).any()


def run_one(events, accounts) -> tuple[str, object]:
    """``("returned", result)`` or ``("library_error", exc)``; anything else propagates."""
    try:
        return "returned", accountgraph.detect(events, accounts, seed=0, progress=False)
    except AccountGraphError as exc:
        return "library_error", exc


def assignments_key(res) -> pd.DataFrame:
    return res.assignments.sort_values("account_id").reset_index(drop=True)
