"""Import hygiene: a light ``import accountgraph``, no import cycles, no cross-stage private imports.

Cycles and private imports are found by parsing every module with ``ast`` and counting *all*
imports: module level, inside functions and under ``if TYPE_CHECKING:``. Relative imports are
resolved; importing a package counts as importing its ``__init__``.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import accountgraph

SRC = Path(accountgraph.__file__).resolve().parent
STAGES = {"ingest", "templates", "signals", "graph", "communities", "scoring", "views", "engines", "minhash", "synth",
          "monitor"}
# Measured at this revision: none of these is imported by `import accountgraph`.
LAZY = ["numba", "pandas", "matplotlib", "igraph", "scipy", "pyarrow", "networkx", "datasketch"]


def test_import_accountgraph_is_light():
    code = f"import sys, json, accountgraph; print(json.dumps([m for m in {LAZY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(tree: ast.AST, name: str, is_package: bool, known: set[str]) -> list[tuple[str, list[str]]]:
    """(imported module, imported names) for every import anywhere in the module."""
    out = []
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names = [a.name for a in node.names]
            out.append((mod, names))
            # `from pkg import submodule` imports the submodule too
            out += [(f"{mod}.{n}", []) for n in names if f"{mod}.{n}" in known]
    return out


def import_graph(root: Path) -> tuple[dict[str, set[str]], dict[str, list[tuple[str, list[str]]]]]:
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    known = set(files)
    edges, raw = {}, {}
    for name, path in files.items():
        found = imports_of(ast.parse(path.read_text()), name, path.name == "__init__.py", known)
        raw[name] = found
        edges[name] = {m for m, _ in found if m in known and m != name}
    return edges, raw


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(u: str) -> list[str] | None:
        state[u] = 1
        stack.append(u)
        for v in sorted(edges.get(u, ())):
            if state.get(v) == 1:
                return stack[stack.index(v):] + [v]
            if v not in state and (c := visit(v)):
                return c
        stack.pop()
        state[u] = 2
        return None

    for u in sorted(edges):
        if u not in state and (c := visit(u)):
            return c
    return None


def private_cross_stage(raw: dict[str, list[tuple[str, list[str]]]]) -> list[str]:
    bad = []
    for mod, found in raw.items():
        parts = mod.split(".")
        if len(parts) < 2 or parts[1] not in STAGES:
            continue
        for target, names in found:
            t = target.split(".")
            if len(t) < 2 or t[0] != parts[0] or t[1] not in STAGES or t[1] == parts[1]:
                continue
            if any(p.startswith("_") for p in t[2:]) or any(n.startswith("_") for n in names):
                bad.append(f"{mod} imports {target} {names}")
    return bad


def test_no_import_cycles():
    edges, _ = import_graph(SRC)
    assert len(edges) > 40
    assert find_cycle(edges) is None


def test_no_stage_imports_another_stages_private_names():
    _, raw = import_graph(SRC)
    cross = [(m, t) for m, found in raw.items() for t, _ in found
             if m.split(".")[1:2] != t.split(".")[1:2] and t.split(".")[1:2] and t.split(".")[1] in STAGES
             and m.split(".")[1:2] and m.split(".")[1] in STAGES]
    assert len(cross) > 5  # the scan sees the stages' (public) imports of each other
    assert private_cross_stage(raw) == []


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / "accountgraph" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root / "accountgraph"


def test_cycle_check_finds_function_local_and_type_checking_cycles(tmp_path):
    pkg = write(tmp_path / "a", {
        "__init__.py": "",
        "graph/__init__.py": "from ._g import G\n",
        "graph/_g.py": "def f():\n    from ..views import V\n",
        "views/__init__.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..graph import G\n",
    })
    cycle = find_cycle(import_graph(pkg)[0])
    assert cycle is not None and {"accountgraph.graph", "accountgraph.views"} <= set(cycle)
    ok = write(tmp_path / "b", {"__init__.py": "", "graph/__init__.py": "from . import _g\n", "graph/_g.py": ""})
    assert find_cycle(import_graph(ok)[0]) is None


def test_private_import_check_finds_violations(tmp_path):
    pkg = write(tmp_path / "a", {
        "__init__.py": "", "_exceptions.py": "",
        "minhash/__init__.py": "", "minhash/_kernels.py": "_fmix = 1\n",
        "templates/__init__.py": "",
        "templates/_fam.py": ("from ..minhash._kernels import _fmix\nfrom ..minhash import band_keys\n"
                              "from .._exceptions import E\n"),
        "graph/__init__.py": "", "graph/_p.py": "def f():\n    from accountgraph.minhash import _secret\n",
    })
    bad = private_cross_stage(import_graph(pkg)[1])
    assert len(bad) == 2 and any("minhash._kernels" in b for b in bad) and any("_secret" in b for b in bad)


@pytest.mark.parametrize("mod", sorted(STAGES))
def test_every_stage_is_a_package(mod):
    assert (SRC / mod / "__init__.py").exists()
