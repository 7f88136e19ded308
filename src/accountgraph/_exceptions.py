"""Exception tree of accountgraph.

Every error the library raises on purpose derives from :class:`AccountGraphError`,
so callers can catch one type. Messages say what is wrong, show the offending
value and say how to fix it.
"""

from __future__ import annotations

__all__ = [
    "AccountGraphError",
    "SchemaError",
    "InvalidParameterError",
    "EngineUnavailableError",
    "GraphTooLargeError",
    "NotFittedError",
    "OutputExistsError",
    "StateError",
]


class AccountGraphError(Exception):
    """Base class of every error raised by accountgraph."""


class SchemaError(AccountGraphError, ValueError):
    """An input table lacks a required column or has a column of an unusable type."""


class InvalidParameterError(AccountGraphError, ValueError):
    """A parameter is outside its documented domain."""


class EngineUnavailableError(AccountGraphError, ImportError):
    """An optional execution engine (or reader) is not installed."""


class GraphTooLargeError(AccountGraphError, MemoryError):
    """The account graph would exceed the configured memory budget."""


class NotFittedError(AccountGraphError, AttributeError):
    """An estimator was used before ``fit`` was called."""


class OutputExistsError(AccountGraphError, FileExistsError):
    """An output file exists and ``overwrite=False`` was given."""


class StateError(AccountGraphError, RuntimeError):
    """A monitor's state directory cannot be used: missing, corrupt, locked, or of an unsupported format."""
