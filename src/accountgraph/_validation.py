"""Declarative parameter constraints and the one path that checks them.

Each parameter object lists its constraints next to its fields (scikit-learn's
``_parameter_constraints``); :func:`check_params` validates all of them and
raises :class:`~accountgraph.InvalidParameterError` with a message that names
the owner, the parameter, the expected domain and the value received, e.g.
"The 'max_pairs' parameter of GraphParams must be an int in [1, inf). Got -1
instead."
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._exceptions import InvalidParameterError

__all__ = ["Constraint", "Interval", "Options", "Boolean", "NoneOr", "StrMapping", "StrSequence", "WeightMapping",
           "Pair", "Codec", "ParamsBase", "check_params", "check_value"]


class Constraint:
    """A domain a parameter value must lie in."""

    def ok(self, value: Any) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_real(v: Any) -> bool:
    return (_is_int(v) or isinstance(v, (float, np.floating))) and not isinstance(v, (bool, np.bool_))


@dataclass(frozen=True)
class Interval(Constraint):
    """An int or a real number in an interval; ``closed`` is one of "both", "left", "right", "neither"."""

    kind: type
    lo: float | None
    hi: float | None
    closed: str = "both"

    def ok(self, value: Any) -> bool:
        if not (_is_int(value) if self.kind is int else _is_real(value)):
            return False
        v = float(value)
        if math.isnan(v):
            return False
        lo_ok = self.lo is None or (v >= self.lo if self.closed in ("both", "left") else v > self.lo)
        hi_ok = self.hi is None or (v <= self.hi if self.closed in ("both", "right") else v < self.hi)
        return lo_ok and hi_ok

    def describe(self) -> str:
        left = "[" if self.closed in ("both", "left") and self.lo is not None else "("
        right = "]" if self.closed in ("both", "right") and self.hi is not None else ")"
        lo = "-inf" if self.lo is None else f"{self.lo:g}"
        hi = "inf" if self.hi is None else f"{self.hi:g}"
        return f"{'an int' if self.kind is int else 'a float'} in {left}{lo}, {hi}{right}"


@dataclass(frozen=True)
class Options(Constraint):
    """One of a few values (strings, usually)."""

    values: tuple[Any, ...]

    def ok(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.values

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


class Boolean(Constraint):
    """``True`` or ``False`` (not a truthy string or number)."""

    def ok(self, value: Any) -> bool:
        return isinstance(value, (bool, np.bool_))

    def describe(self) -> str:
        return "a bool"


@dataclass(frozen=True)
class NoneOr(Constraint):
    """``None`` or a value of ``inner``."""

    inner: Constraint

    def ok(self, value: Any) -> bool:
        return value is None or self.inner.ok(value)

    def describe(self) -> str:
        return f"None or {self.inner.describe()}"


class StrMapping(Constraint):
    """A mapping of column names (str) to column names (str)."""

    def ok(self, value: Any) -> bool:
        return isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())

    def describe(self) -> str:
        return "a mapping {canonical_name: your_column} of str to str"


class StrSequence(Constraint):
    """A list or tuple of strings (a bare string is refused: it would be read letter by letter)."""

    def ok(self, value: Any) -> bool:
        return (isinstance(value, Sequence) and not isinstance(value, (str, bytes))
                and all(isinstance(v, str) for v in value))

    def describe(self) -> str:
        return "a list of column names (str), e.g. ['ua']"


class Codec(Constraint):
    """The name of a text encoding Python knows (``codecs.lookup``)."""

    def ok(self, value: Any) -> bool:
        import codecs

        if not isinstance(value, str):
            return False
        try:
            codecs.lookup(value)
        except LookupError:
            return False
        return True

    def describe(self) -> str:
        return "the name of a text encoding, e.g. 'utf-8' or 'latin-1'"


@dataclass(frozen=True)
class WeightMapping(Constraint):
    """A mapping of names to finite weights >= 0, optionally restricted to known names."""

    keys: tuple[str, ...] | None = None
    allow_prefix: str | None = None

    def ok(self, value: Any) -> bool:
        if not isinstance(value, Mapping):
            return False
        for k, v in value.items():
            if not isinstance(k, str) or not _is_real(v) or not (0 <= float(v) < math.inf):
                return False
            if self.keys is not None and k not in self.keys and not (self.allow_prefix and k.startswith(self.allow_prefix)):
                return False
        return True

    def describe(self) -> str:
        names = f" with keys among {list(self.keys)}" if self.keys is not None else ""
        return f"a mapping of names to weights >= 0{names}"


@dataclass(frozen=True)
class Pair(Constraint):
    """A pair of real numbers, each within ``inner``."""

    inner: Constraint

    def ok(self, value: Any) -> bool:
        return isinstance(value, (tuple, list)) and len(value) == 2 and all(self.inner.ok(v) for v in value)

    def describe(self) -> str:
        return f"a pair of values, each {self.inner.describe()}"


def check_value(owner: str, name: str, value: Any, constraint: Constraint) -> None:
    """Raise :class:`InvalidParameterError` unless ``value`` satisfies ``constraint``."""
    if not constraint.ok(value):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be {constraint.describe()}. Got {value!r} instead."
        )


def check_params(owner: str, values: Mapping[str, Any], constraints: Mapping[str, Constraint]) -> None:
    """Check every ``values[name]`` against ``constraints[name]`` (in the constraints' order)."""
    for name, constraint in constraints.items():
        check_value(owner, name, values[name], constraint)


class ParamsBase:
    """Base of the frozen per-stage parameter objects (``GraphParams``, ``CommunityParams``, ...).

    Subclasses are frozen dataclasses with a ``_constraints`` mapping (field ->
    :class:`Constraint`). Values are checked once, at construction; sequences
    are stored as tuples and mappings as copies, so a parameter object never
    aliases the caller's data.
    """

    _constraints: dict[str, Constraint] = {}

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if isinstance(v, Mapping):
                object.__setattr__(self, f.name, dict(v))
            elif isinstance(v, list):
                object.__setattr__(self, f.name, tuple(v))
        check_params(type(self).__name__, self.to_dict(), self._constraints)

    def to_dict(self) -> dict[str, Any]:
        """The parameters as a flat dict (field -> value)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def replace(self, **changes: Any) -> Any:
        """A copy with some parameters changed (validated like the original)."""
        names = {f.name for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        bad = sorted(set(changes) - names)
        if bad:
            raise InvalidParameterError(
                f"{type(self).__name__} has no parameter(s) {bad}. Valid parameters: {sorted(names)}."
            )
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    @classmethod
    def coerce(cls, value: Any, *, owner: str, name: str) -> Any:
        """``None`` -> defaults; an instance as is; a mapping -> ``cls(**mapping)``; else an error."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
            bad = sorted(set(value) - names)
            if bad:
                raise InvalidParameterError(
                    f"The {name!r} parameter of {owner} got unknown key(s) {bad}; {cls.__name__} has "
                    f"{sorted(names)}."
                )
            return cls(**value)
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be None, a {cls.__name__} or a dict of its parameters. "
            f"Got {value!r} instead."
        )
