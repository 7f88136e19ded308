"""Stage 1, ingest: one conversion point to Arrow, validation and quarantine.

Interface for the other stages: :func:`validate_events` / :func:`validate_accounts`
return :class:`ValidEvents` / :class:`ValidAccounts` (numpy timestamps in UTC
microseconds, Arrow string columns, canonical IPs) and count every row they
leave out in a :class:`Quarantine`. :func:`factorize_sorted` gives row-order-free
integer codes; :func:`combine_chunks` flattens a chunked column.
"""

from ._params import IngestParams
from ._io import LazyColumn, TableLike, check_encoding, is_parquet_path, to_arrow
from ._ip import canonical_ips, ip_networks
from ._schema import (
    ACCOUNT_COLUMNS,
    EVENT_COLUMNS,
    Quarantine,
    ValidAccounts,
    ValidEvents,
    combine_chunks,
    factorize_sorted,
    validate_accounts,
    validate_events,
)

__all__ = [
    "IngestParams",
    "ACCOUNT_COLUMNS", "EVENT_COLUMNS", "LazyColumn", "Quarantine", "TableLike", "ValidAccounts", "ValidEvents",
    "canonical_ips", "check_encoding", "combine_chunks", "factorize_sorted", "ip_networks", "is_parquet_path", "to_arrow",
    "validate_accounts", "validate_events",
]
