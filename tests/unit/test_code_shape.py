"""Code shape (issue 10): no function over 80 lines and no module over 400 lines in src/accountgraph.

Lengths are counted as the issue's shape checker does: a function spans
``end_lineno - lineno + 1`` (decorators not counted; nested functions are
checked on their own too), a module its number of newlines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import accountgraph

MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 400
ROOT = Path(accountgraph.__file__).resolve().parent
MODULES = sorted(ROOT.rglob("*.py"))


def _too_long(path: Path, root: Path = ROOT) -> list[str]:
    src = path.read_text(encoding="utf-8")
    rel = path.relative_to(root.parent)
    out = []
    n = src.count("\n")
    if n > MAX_MODULE_LINES:
        out.append(f"{rel}: module of {n} lines (> {MAX_MODULE_LINES})")
    for node in ast.walk(ast.parse(src, filename=str(path))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                out.append(f"{rel}:{node.lineno}: function {node.name} of {length} lines (> {MAX_FUNCTION_LINES})")
    return out


def test_modules_found():
    assert len(MODULES) > 20 and ROOT / "__init__.py" in MODULES


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(ROOT)) for p in MODULES])
def test_module_and_function_lengths(path):
    problems = _too_long(path)
    assert not problems, "split these:\n" + "\n".join(problems)


def test_checker_flags_long_code(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    p = tmp_path / "accountgraph_long.py"
    p.write_text("def f():\n" + body + "\n" + "\n" * MAX_MODULE_LINES, encoding="utf-8")
    problems = _too_long(p, tmp_path)
    assert any("module of" in s for s in problems)
    assert any("accountgraph_long.py:1: function f of 81 lines" in s for s in problems)
