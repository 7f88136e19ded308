"""Reading CSV/TSV files: every column as text, undecodable rows marked instead of fatal.

Typing happens in validation, where a bad value becomes a counted quarantine;
this module only turns bytes into UTF-8 text and explains files it cannot read.
"""

from __future__ import annotations

import codecs
import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._exceptions import InvalidParameterError, SchemaError
from ._utf8 import _invalid_utf8, latin1_to_utf8

__all__ = ["UNDECODABLE_COLUMN", "check_encoding", "read_csv"]

logger = logging.getLogger(__name__)

#: Name of the bool column :func:`to_arrow` appends to a CSV table when some of
#: its rows hold bytes that are not UTF-8; validation quarantines those rows as
#: ``invalid_utf8`` and drops the column.
UNDECODABLE_COLUMN = "__accountgraph_invalid_utf8__"


def _decode_chunk(chunk: pa.Array) -> tuple[pa.Array, np.ndarray | None]:
    """UTF-8 text of a binary chunk and the mask of its undecodable values (None if all decode)."""
    try:
        return chunk.cast(pa.large_string()), None
    except pa.ArrowInvalid:
        pass
    bad = _invalid_utf8(chunk)
    mask = pa.array(bad)
    try:
        text = pc.if_else(mask, pa.scalar(None, pa.large_binary()), chunk).cast(pa.large_string())
    except pa.ArrowInvalid:  # pragma: no cover - the validator and Arrow disagree; ask Python per value
        bad = np.array([v is not None and not _decodes(v) for v in chunk.to_pylist()], bool)
        mask = pa.array(bad)
        text = pc.if_else(mask, pa.scalar(None, pa.large_binary()), chunk).cast(pa.large_string())
    # Keep the undecodable values readable (and their bytes recoverable) for quarantined_rows().
    return pc.replace_with_mask(text, mask, latin1_to_utf8(chunk.filter(mask))), bad


def _decodes(v: bytes) -> bool:  # pragma: no cover - fallback of _decode_chunk
    try:
        v.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode_text(table: pa.Table, name: str) -> pa.Table:
    """Binary CSV columns to UTF-8 text; rows with undecodable bytes are marked, not fatal."""
    n = table.num_rows
    bad_rows = np.zeros(n, bool)
    bad_cols: list[str] = []
    cols = []
    for cname, col in zip(table.column_names, table.columns):
        chunks, lo = [], 0
        for ch in col.chunks:
            text, bad = _decode_chunk(ch)
            if bad is not None and bad.any():
                bad_rows[lo: lo + len(ch)] |= bad
                if cname not in bad_cols:
                    bad_cols.append(cname)
            chunks.append(text)
            lo += len(ch)
        cols.append(pa.chunked_array(chunks, pa.large_string()))
    out = pa.Table.from_arrays(cols, names=table.column_names)
    if bad_cols:
        logger.warning(
            "%s: %d row(s) hold bytes that are not UTF-8 (column(s) %s); they are quarantined as "
            "'invalid_utf8'. If the file is in another encoding, pass it: encoding='latin-1' "
            "(CLI: --encoding latin-1).", name, int(bad_rows.sum()), bad_cols)
        out = out.append_column(UNDECODABLE_COLUMN, pa.array(bad_rows))
    return out


def check_encoding(encoding: str | None) -> str | None:
    """The codec's canonical name, or None for UTF-8 (the default, with quarantine)."""
    if encoding is None:
        return None
    try:
        canonical = codecs.lookup(encoding).name
    except (LookupError, TypeError):
        raise InvalidParameterError(
            f"The 'encoding' parameter must name a Python codec such as 'utf-8', 'latin-1' or 'cp1252'. "
            f"Got {encoding!r} instead.") from None
    return None if canonical == "utf-8" else canonical


def read_csv(path: Path, name: str, tsv: bool, encoding: str | None) -> pa.Table:
    import pyarrow.csv as pacsv

    if path.stat().st_size == 0:
        raise SchemaError(
            f"{name}: the CSV file {str(path)!r} is empty (0 bytes); it needs at least a header line naming "
            "the columns, e.g. 'account_id,timestamp'. Check the export that wrote it.")
    codec = check_encoding(encoding)
    parse = pacsv.ParseOptions(delimiter="\t" if tsv else ",")
    # Read every column as text: typing happens in schema validation, where a
    # bad value becomes a counted, reported quarantine instead of a crash. As
    # UTF-8 (the default), columns are read as bytes and decoded here, so a
    # stray Latin-1 byte quarantines its row instead of failing the file.
    read = pacsv.ReadOptions(block_size=1 << 24, encoding=codec or "utf8")
    try:
        header = pacsv.open_csv(path, read_options=read, parse_options=parse).schema.names
        conv = pacsv.ConvertOptions(
            column_types={c: pa.large_string() if codec else pa.large_binary() for c in header},
            strings_can_be_null=True,
        )
        table = pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=conv)
    except UnicodeDecodeError as exc:
        raise SchemaError(
            f"{name}: {str(path)!r} is not valid {codec!r} text ({exc.reason} at byte {exc.start}, "
            f"value {exc.object[exc.start:exc.end]!r}). Pass the file's real encoding (encoding=..., CLI "
            "--encoding), or leave it unset to read UTF-8 and quarantine undecodable rows as 'invalid_utf8'."
        ) from None
    except pa.ArrowInvalid as exc:
        msg = str(exc)
        if "Empty CSV file" in msg:
            raise SchemaError(
                f"{name}: the CSV file {str(path)!r} holds no header line naming the columns "
                "(e.g. 'account_id,timestamp'). Check the export that wrote it.") from None
        if "UTF8" in msg or "UTF-8" in msg:
            raise SchemaError(
                f"{name}: the header line of {str(path)!r} is not UTF-8 ({msg}). Pass the file's encoding "
                "(encoding='latin-1', CLI --encoding latin-1).") from None
        raise SchemaError(f"{name}: cannot parse the CSV file {str(path)!r}: {msg}. Fix the file (every line "
                          "needs as many fields as the header) or convert it to Parquet.") from None
    return table if codec else _decode_text(table, name)
