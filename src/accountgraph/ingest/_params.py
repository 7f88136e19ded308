"""Parameters of the ingest stage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from .._validation import Boolean, Codec, Constraint, NoneOr, ParamsBase, StrMapping, StrSequence

__all__ = ["IngestParams"]


@dataclass(frozen=True)
class IngestParams(ParamsBase):
    """How input tables are read.

    Parameters
    ----------
    columns : mapping, optional
        ``{canonical_name: your_column}`` for the events table.
    account_columns : mapping, optional
        The same for the accounts table.
    extra_signals : sequence of str, default ()
        Further string columns of the events table to use as signals.
    account_extra_signals : sequence of str, default ()
        Further string columns of the accounts table to use as signals.
    encoding : str, optional
        Text encoding of CSV inputs (any Python codec name, e.g. ``"latin-1"``).
        By default CSV is read as UTF-8 and rows with undecodable bytes are
        quarantined (reason ``invalid_utf8``).
    drop_duplicates : bool, default True
        Leave out events identical to an earlier one on every column (counted
        as ``duplicate_event`` in the quarantine); ``False`` keeps them.
    """

    columns: Mapping[str, str] | None = None
    account_columns: Mapping[str, str] | None = None
    extra_signals: tuple[str, ...] = ()
    account_extra_signals: tuple[str, ...] = ()
    encoding: str | None = None
    drop_duplicates: bool = True

    _constraints: ClassVar[dict[str, Constraint]] = {
        "columns": NoneOr(StrMapping()),
        "account_columns": NoneOr(StrMapping()),
        "extra_signals": StrSequence(),
        "account_extra_signals": StrSequence(),
        "encoding": NoneOr(Codec()),
        "drop_duplicates": Boolean(),
    }
