"""Validating the accounts table: one row kept per distinct account id."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._columns import _as_string, factorize_sorted
from ._io import TableLike
from ._quarantine import Quarantine, _LeftOut
from ._read import account_ids, read_input
from ._schema import REQUIRED_ACCOUNTS, ValidAccounts
from ._timestamps import MAX_TS_US, MIN_TS_US, to_us
from .._unique import lexsort

__all__ = ["validate_accounts"]


def _optional_string(table: pa.Table, column: str, lower: bool = False) -> pa.ChunkedArray | None:
    if column not in table.column_names:
        return None
    s = _as_string(table[column], column, "accounts")
    return pc.utf8_lower(s) if lower else s


def _created_at(table: pa.Table, out: _LeftOut) -> np.ndarray | None:
    """Creation times in UTC microseconds (-1 where unknown); unusable values quarantined."""
    if "created_at" not in table.column_names:
        return None
    c_us, c_null, c_bad = to_us(table["created_at"], "created_at", "accounts")
    out.drop(c_bad | (~c_null & ((c_us < MIN_TS_US) | (c_us > MAX_TS_US))), "unparseable_created_at")
    return np.where(c_null, -1, c_us)


def _first_per_account(acc: pa.ChunkedArray, keep: np.ndarray, created: np.ndarray | None,
                       payment: pa.ChunkedArray | None) -> tuple[pa.Array, np.ndarray]:
    """``(rows to keep, repeated rows)``: of the kept rows, one per account id.

    The row kept is the one with the earliest ``created_at`` (unknown last),
    then the smallest payment id, so the choice does not depend on row order.
    """
    n = len(keep)
    idx = np.flatnonzero(keep)
    codes, _ = factorize_sorted(acc.take(pa.array(idx)) if len(idx) < n else acc)
    sort_c = created[idx] if created is not None else np.zeros(len(idx), np.int64)
    sort_c = np.where(sort_c < 0, np.iinfo(np.int64).max, sort_c)
    pay_codes = factorize_sorted(payment.take(pa.array(idx)))[0] if payment is not None else np.zeros(len(idx), np.int32)
    order = lexsort((pay_codes, sort_c, codes))
    first = np.ones(len(order), bool)
    first[1:] = codes[order][1:] != codes[order][:-1]
    take = pa.array(np.sort(idx[order[first]]), pa.int64())
    dup = np.zeros(n, bool)
    dup[idx[order[~first]]] = True
    return take, dup


def _taken(a: pa.ChunkedArray | None, take: pa.Array) -> pa.ChunkedArray | None:
    return None if a is None else a.take(take)


def validate_accounts(
    accounts: TableLike,
    *,
    columns: Mapping[str, str] | None = None,
    extra_signals: Sequence[str] = (),
    quarantine: Quarantine,
    encoding: str | None = None,
) -> ValidAccounts:
    """Validate the accounts table; one row per account id is kept.

    Parameters
    ----------
    accounts : table-like
        See :func:`accountgraph.detect` for the contract.
    columns, extra_signals, quarantine, encoding
        As in :func:`accountgraph.ingest.validate_events`.

    Returns
    -------
    ValidAccounts

    Raises
    ------
    SchemaError
        ``account_id`` is missing or a column has an unusable type.

    Notes
    -----
    Reasons: ``empty_account_id``, ``unparseable_created_at``,
    ``duplicate_account_id`` (all but one row of a repeated id; the kept row is
    the one with the earliest ``created_at``, then the smallest payment id, so
    the choice does not depend on row order); ``invalid_utf8`` for CSV rows
    that are not UTF-8. The rows left out are captured in ``quarantine`` too.
    """
    raw, table, undecodable = read_input(accounts, "accounts", columns=columns, required=REQUIRED_ACCOUNTS,
                                         extra_signals=extra_signals, encoding=encoding)
    out = _LeftOut(table.num_rows, "accounts", quarantine)
    if undecodable is not None:
        out.drop(undecodable, "invalid_utf8")
    acc = account_ids(table, "accounts", out)
    created = _created_at(table, out)
    payment = _optional_string(table, "payment_id")
    email = _optional_string(table, "email_domain", lower=True)
    phone = _optional_string(table, "phone_prefix")
    extra = {c: _as_string(table[c], c, "accounts") for c in extra_signals}

    take, dup = _first_per_account(acc, out.keep, created, payment)
    out.drop(dup, "duplicate_account_id")
    out.capture(raw)
    return ValidAccounts(
        account_id=_taken(acc, take),
        created_at=None if created is None else created[take.to_numpy()],
        payment_id=_taken(payment, take),
        email_domain=_taken(email, take),
        phone_prefix=_taken(phone, take),
        extra={k: _taken(v, take) for k, v in extra.items()},
        n_input_rows=table.num_rows,
    )
