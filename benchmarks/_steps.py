"""Wrap named functions of accountgraph's modules, for the stage benchmarks' per-step figures."""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable
from typing import Any


def wrap_steps(steps: dict[str, list[str]], around: Callable[[Callable[..., Any], str], Callable[..., Any]], *,
               everywhere: bool = False) -> None:
    """Replace each function ``steps[module]`` names by ``around(function, name)`` (names a revision lacks are skipped).

    The defining module's binding is replaced; with ``everywhere``, every accountgraph module's binding
    of the same function too (callers that imported it by name).
    """
    for name, fns in steps.items():
        mod = importlib.import_module(name)
        for fn in fns:
            f = getattr(mod, fn, None)
            if f is None:
                continue
            w = functools.wraps(f)(around(f, fn))
            holders = [m for n, m in list(sys.modules.items()) if n.startswith("accountgraph") and m is not None] \
                if everywhere else [mod]
            for m in holders:
                if getattr(m, fn, None) is f:
                    setattr(m, fn, w)
