"""Every docstring example in the package runs and shows what the code returns."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import accountgraph

MODULES = sorted(m.name for m in pkgutil.walk_packages(accountgraph.__path__, "accountgraph."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring example(s) of {name} failed (output above)"


def test_finds_the_modules() -> None:
    assert "accountgraph.templates._families" in MODULES and len(MODULES) > 40
