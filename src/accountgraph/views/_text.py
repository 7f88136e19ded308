"""Data text made visible: control, bidi and zero-width characters shown as escapes.

Part of stage 7 (views). Account ids, signal values, prompts and model names
come from the input, so from whoever sends the traffic. Before any renderer
shows them (HTML report, plots, text dossier), :func:`visible` replaces the
characters a reader cannot see or that reorder what they see (C0 and C1
controls, DEL, bidirectional overrides and isolates, zero-width characters,
line and paragraph separators) by ``\\xNN`` / ``\\uNNNN`` escapes. HTML
escaping stays the renderer's job.
"""

from __future__ import annotations

from typing import Any

__all__ = ["visible"]

_INVISIBLE = ([*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x061C, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F,
               *range(0x202A, 0x202F), 0x2028, 0x2029, 0x2060, *range(0x2066, 0x206A), 0xFEFF])
_TABLE = {c: (f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}") for c in _INVISIBLE}
_TABLE_KEEP_LINES = {c: v for c, v in _TABLE.items() if c not in (0x09, 0x0A)}


def visible(s: Any, *, keep_newlines: bool = False) -> str:
    """``str(s)`` with invisible and reordering characters replaced by escapes.

    Parameters
    ----------
    s : object
    keep_newlines : bool, default False
        Keep ``\\n`` and ``\\t`` (for prompts shown as preformatted text).

    Examples
    --------
    >>> visible("a\\x00b\\u202ec")
    'a\\\\x00b\\\\u202ec'
    >>> print(visible("x\\ny", keep_newlines=True))
    x
    y
    """
    return str(s).translate(_TABLE_KEEP_LINES if keep_newlines else _TABLE)
