"""The import graph of metabnet, metabnet.kernels and metabnet.cli has no cycle, lazy
(function-level) imports included, and the leaf modules stay leaves.

The graph is read from the source files with `ast`, so every import statement counts,
wherever it sits, whether or not it ever runs.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"metabnet": ROOT / "metabnet", "metabnet.kernels": ROOT / "kernels", "metabnet.cli": ROOT / "cli"}
# leaf modules (issue 10): what each may import of the project's, lazily or not
LEAVES = {
    "metabnet.fileio": set(),
    "metabnet.network": set(),
    "metabnet.tokens": {"metabnet.network"},
    "metabnet.progress": set(),
    "metabnet.io.records": {"metabnet.fileio"},
    "metabnet.kernels._jit": set(),
    # the capacity certificate walks the graph with reach's searches, the saturation
    # certificate solves with linalg's LU (reach and linalg import only _jit)
    "metabnet.kernels.kinetics": {"metabnet.kernels._jit", "metabnet.kernels.reach", "metabnet.kernels.linalg"},
    "metabnet.batch": {"metabnet.network"},
}


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg, folder in PACKAGES.items():
        for f in sorted(folder.rglob("*.py")):
            parts = f.relative_to(folder).with_suffix("").parts
            mods[".".join((pkg,) + parts).removesuffix(".__init__")] = f
    return mods


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The project module an imported name lands in (a module, or the package that holds it)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports(module: str) -> tuple[set[str], set[str]]:
    """(project modules, top-level outside packages) that `module` imports anywhere in its source."""
    path = MODULES[module]
    package = module if path.stem == "__init__" else module.rpartition(".")[0]
    inner, outer = set(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        for name in names:
            if name.split(".")[0] != "metabnet":
                outer.add(name.split(".")[0])
            elif (target := _resolve(name)) is not None and target != module:
                inner.add(target)
    # `from metabnet.kernels import ode` lands in metabnet.kernels.ode; the package itself
    # counts only where nothing deeper was named
    inner = {m for m in inner if not any(o.startswith(m + ".") for o in inner)}
    return inner, outer


GRAPH = {m: imports(m)[0] for m in MODULES}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle [a, b, ..., a] of the directed graph, or None."""
    state, stack = {}, []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for t in sorted(graph.get(m, ())):
            if state.get(t) == 1:
                return stack[stack.index(t):] + [t]
            if t not in state and (c := visit(t)):
                return c
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (c := visit(m)):
            return c
    return None


def closure(module: str) -> set[str]:
    seen, todo = set(), [module]
    while todo:
        m = todo.pop()
        for t in GRAPH.get(m, ()):
            if t not in seen:
                seen.add(t)
                todo.append(t)
    return seen


def test_the_graph_is_read_with_lazy_imports():
    assert len(MODULES) > 30 and {"metabnet.cli.main", "metabnet.kernels.ode", "metabnet.io.formats"} <= MODULES.keys()
    assert "metabnet.io.sbml" in GRAPH["metabnet.io.formats"]  # a function-level import
    assert "metabnet.kernels.ode" in GRAPH["metabnet.kernels.equilibrium"]  # `from pkg import module`


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("module", sorted(LEAVES))
def test_leaf_modules_stay_leaves(module):
    extra = GRAPH[module] - LEAVES[module]
    assert not extra, f"{module} imports {sorted(extra)}; it is a leaf that any module may import"


def test_concepts_do_not_drag_in_heavy_layers():
    # the torch model and the Numba tokenizer reach the vocabulary without file I/O
    for module in ("metabnet.learn.model", "metabnet.kernels.tokenize"):
        assert not closure(module) & {"metabnet.fileio", "metabnet.io.formats"}, module
    # data preparation does not import torch
    for module in ("metabnet.learn.loader", "metabnet.batch"):
        outside = set().union(*(imports(m)[1] for m in closure(module) | {module}))
        assert "torch" not in outside, f"{module} imports torch through {sorted(closure(module))}"
