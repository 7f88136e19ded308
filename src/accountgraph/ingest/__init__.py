"""Stage 1, ingest: one conversion point to Arrow, validation and quarantine.

Interface for the other stages: :func:`validate_events` / :func:`validate_accounts`
return :class:`ValidEvents` / :class:`ValidAccounts` (numpy timestamps in UTC
microseconds, Arrow string columns, canonical IPs) and count every row they
leave out in a :class:`Quarantine`. :func:`factorize_sorted` gives row-order-free
integer codes; :func:`combine_chunks` flattens a chunked column; :func:`take_sorted`
takes rows of a chunked column without concatenating it (no 2 GiB offset overflow).

Modules: ``_io`` (to Arrow), ``_csv`` / ``_utf8`` (CSV text), ``_lazy`` (a Parquet
column on disk), ``_schema`` (the contract), ``_read`` / ``_events`` / ``_accounts``
(validators), ``_timestamps``, ``_ip``, ``_duplicates``, ``_columns``, ``_quarantine``.
"""

from ._params import IngestParams
from ._io import LazyColumn, TableLike, check_encoding, is_parquet_path, to_arrow
from ._ip import canonical_ips, ip_networks
from ._columns import combine_chunks, factorize_sorted, factorize_union, take_sorted
from ._quarantine import Quarantine
from ._schema import ACCOUNT_COLUMNS, EVENT_COLUMNS, ValidAccounts, ValidEvents
from ._events import validate_events
from ._accounts import validate_accounts

__all__ = [
    "IngestParams",
    "ACCOUNT_COLUMNS", "EVENT_COLUMNS", "LazyColumn", "Quarantine", "TableLike", "ValidAccounts", "ValidEvents",
    "canonical_ips", "check_encoding", "combine_chunks", "factorize_sorted", "factorize_union", "ip_networks", "is_parquet_path", "take_sorted", "to_arrow",
    "validate_accounts", "validate_events",
]
