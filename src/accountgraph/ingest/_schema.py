"""The input contract: column names, required columns, and what validation hands on.

Stage 1 of the pipeline. Input tables are converted once to Arrow
(:func:`accountgraph.ingest.to_arrow`), renamed through the user's column map,
checked for required columns and usable types, and every bad row is left out
and counted by reason in a :class:`Quarantine` — nothing disappears silently.
The validators live in :mod:`._events` and :mod:`._accounts`; this module
holds the contract they share.

Identifiers are factorised to dense integer codes over their *sorted* unique
values, so every later stage sees the same integers whatever the input row
order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ._lazy import LazyColumn

__all__ = ["EVENT_COLUMNS", "ACCOUNT_COLUMNS", "ValidEvents", "ValidAccounts"]

EVENT_COLUMNS = ("account_id", "timestamp", "ip", "device_id", "payment_id", "prompt", "output_tokens", "model")
ACCOUNT_COLUMNS = ("account_id", "created_at", "payment_id", "email_domain", "phone_prefix")
REQUIRED_EVENTS = ("account_id", "timestamp")
REQUIRED_ACCOUNTS = ("account_id",)


@dataclass
class ValidEvents:
    """Validated events as Arrow columns (one row per kept event).

    ``timestamp`` is int64 microseconds since the epoch, UTC. Optional columns
    absent from the input are ``None``. ``extra`` maps declared extra signal
    names to string columns. From a streamed Parquet input the identifier
    columns are dictionary arrays over sorted values and ``output_tokens`` is
    int32 when every count fits (-1: unknown, as in int64). Read such a column
    through :func:`~accountgraph.ingest.factorize_sorted` (codes, null -> -1),
    ``to_pylist`` or ``cast(value_type)``, never ``to_numpy`` / ``numpy.asarray``
    of the chunked column: pyarrow (26) puts a dictionary value in place of
    each null there.
    """

    account_id: pa.ChunkedArray
    timestamp: np.ndarray
    ip: pa.ChunkedArray | None
    device_id: pa.ChunkedArray | None
    payment_id: pa.ChunkedArray | None
    prompt: pa.ChunkedArray | LazyColumn | None
    output_tokens: np.ndarray | None
    extra: dict[str, pa.ChunkedArray]
    n_input_rows: int
    model: pa.ChunkedArray | None = None
    n_duplicates: int = 0  # rows identical to an earlier row (left out unless drop_duplicates=False)

    def __len__(self) -> int:
        return len(self.timestamp)


@dataclass
class ValidAccounts:
    """Validated account attributes (one row per distinct account id)."""

    account_id: pa.ChunkedArray
    created_at: np.ndarray | None  # int64 microseconds, -1 where unknown
    payment_id: pa.ChunkedArray | None
    email_domain: pa.ChunkedArray | None
    phone_prefix: pa.ChunkedArray | None
    extra: dict[str, pa.ChunkedArray]
    n_input_rows: int



# Names that lived here before ingest was split into one module per job.
_MOVED = {
    "Quarantine": "._quarantine", "validate_events": "._events", "validate_accounts": "._accounts",
    "factorize_sorted": "._columns", "combine_chunks": "._columns",
}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(_MOVED[name], __package__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
