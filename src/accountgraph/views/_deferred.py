"""Result tables computed on first use.

At seed scale some tables are costly to build and rarely read: the template
representatives of millions of singleton families live in a Parquet file's
prompt column, and reading them is a scan of every prompt. An engine may hand
:class:`~accountgraph.DetectionResult` a :class:`Deferred` for such a table;
the result calls it the first time the attribute is read and keeps the value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Deferred", "DEFERRED_FIELDS", "resolved"]

#: The result attributes that may hold a :class:`Deferred`.
DEFERRED_FIELDS = frozenset({"templates", "_cluster_templates", "_incidence"})


class Deferred:
    """A value computed on first use: wraps a function of no arguments.

    Examples
    --------
    >>> d = Deferred(lambda: 41 + 1)
    >>> d.value(), d.then(str).value()
    (42, '42')
    """

    __slots__ = ("_fn",)

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._fn = fn

    @property
    def source(self) -> Callable[[], Any]:
        """The function (or callable object) that computes the value."""
        return self._fn

    def value(self) -> Any:
        """Compute the value (each call computes it again; the result object keeps it)."""
        return self._fn()

    def then(self, fn: Callable[[Any], Any]) -> Deferred:
        """A deferred ``fn(value)``: transforms the table without computing it now."""
        return Deferred(lambda: fn(self._fn()))


def resolved(value: Any) -> Any:
    """``value``, computed if it is :class:`Deferred`."""
    return value.value() if isinstance(value, Deferred) else value
