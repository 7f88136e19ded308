"""Every cached numba kernel in src/accountgraph can actually be cached across processes.

numba's on-disk cache keys a function by its bytecode and by the pickled contents of its
closure cells. A compiled function captured in a closure pickles differently in every
process (numba/numba#6264), so a ``@njit(cache=True)`` kernel defined inside a factory that
calls another kernel of that factory is compiled again in every process (about 10 s for the
coordinated-hub loops of ``detect``; seconds of every monitor update) and adds a file to
``__pycache__`` each time. Kernels that call other kernels must find them as module globals.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import accountgraph

ROOT = Path(accountgraph.__file__).resolve().parent
MODULES = sorted(ROOT.rglob("*.py"))


def _is_cached_njit(dec: ast.expr) -> bool:
    if not isinstance(dec, ast.Call):
        return False
    name = dec.func.attr if isinstance(dec.func, ast.Attribute) else getattr(dec.func, "id", "")
    return name in {"njit", "jit"} and any(
        k.arg == "cache" and isinstance(k.value, ast.Constant) and k.value.value is True for k in dec.keywords)


def _bound_in(fn: ast.FunctionDef) -> set[str]:
    """Names a function binds itself: its arguments, assignments, loop targets, nested defs."""
    names = {a.arg for a in fn.args.args + fn.args.kwonlyargs + fn.args.posonlyargs}
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node is not fn:
            names.add(node.name)
    return names


def closure_kernels(src: str, name: str = "<src>") -> list[str]:
    """Cached kernels that read a name bound by an enclosing function (a closure cell)."""
    out = []

    def visit(node: ast.AST, enclosing: set[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if enclosing and any(_is_cached_njit(d) for d in child.decorator_list):
                    own = _bound_in(child)
                    free = sorted({n.id for n in ast.walk(child) if isinstance(n, ast.Name)
                                   and isinstance(n.ctx, ast.Load) and n.id in enclosing and n.id not in own})
                    if free:
                        out.append(f"{name}:{child.lineno}: cached kernel {child.name} closes over {free}")
                visit(child, enclosing | _bound_in(child))
            else:
                visit(child, enclosing)

    visit(ast.parse(src), set())
    return out


def test_the_check_finds_a_kernel_closing_over_another():
    factory = textwrap.dedent("""
        def make():
            from numba import njit

            @njit(cache=True)
            def room(a):
                return a

            @njit(cache=True)
            def cross(a):
                return room(a) + 1

            return cross
    """)
    assert closure_kernels(factory) == ["<src>:10: cached kernel cross closes over ['room']"]
    assert closure_kernels(factory.replace("return room(a) + 1", "return a + 1")) == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_cached_kernel_is_a_closure(path):
    assert closure_kernels(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT))) == []


def test_the_hub_and_pair_kernels_load_from_the_cache_in_a_new_process(tmp_path):
    """Compiled in one process, loaded (not compiled) in the next, into a cache of our own."""
    code = textwrap.dedent("""
        import numpy as np
        from accountgraph.graph import _hub_kernels as h
        from accountgraph.monitor import _pair_kernels as p
        a = np.zeros(4, np.int64)
        h.cross(np.array([0, 1]), a[:1], a[:1], np.array([1]), a[:1], a[:1], a[:1], 1)
        slots = np.full(8, -1, np.int64); keys = np.zeros(4, np.int64)
        p.probe(slots, keys, 0, np.array([3], np.int64), True)
        print(sum(len(d.stats.cache_hits) for d in (h.cross, p.probe)),
              sum(len(d.stats.cache_misses) for d in (h.cross, p.probe)))
    """)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}

    def run() -> list[int]:
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        return [int(x) for x in out.stdout.split()]

    first, second = run(), run()
    assert first == [0, 2]
    assert second == [2, 0]
