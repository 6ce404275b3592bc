"""The import graph of metabnet (DESIGN §6), read from the source files with `ast`, so every
import statement counts, wherever it sits (function-level imports included), whether or not
it ever runs.

The layering comes from the packages: a module belongs to the sub-package whose folder holds
it (the root's modules are leaves), and a package may import only packages of lower layers
in `LAYERS` - the one hand-kept fact, the order of DESIGN §6.  No module reaches into
another package's private names, `import metabnet` loads neither numba nor torch, and only
`metabnet.learn` imports torch.
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"metabnet": ROOT / "metabnet", "metabnet.kernels": ROOT / "kernels", "metabnet.cli": ROOT / "cli"}
# DESIGN §6: root <- kernels <- solve <- gen <- io <- learn <- score, bench <- cli
LAYERS = {"metabnet": 0, "metabnet.kernels": 1, "metabnet.solve": 2, "metabnet.gen": 3, "metabnet.io": 4,
          "metabnet.learn": 5, "metabnet.score": 6, "metabnet.bench": 6, "metabnet.cli": 7}
ENTRY = {"metabnet.__main__"}  # `python -m metabnet` runs the CLI: above every layer


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg, folder in PACKAGES.items():
        for f in sorted(folder.rglob("*.py")):
            parts = f.relative_to(folder).with_suffix("").parts
            mods[".".join((pkg,) + parts).removesuffix(".__init__")] = f
    return mods


MODULES = _modules()


def package(module: str) -> str:
    """The package a module belongs to: its folder's package (a package's __init__ belongs to it)."""
    path = MODULES[module]
    return module if path.stem == "__init__" else module.rpartition(".")[0]


def _resolve(name: str) -> str | None:
    """The project module an imported name lands in (a module, or the package that holds it)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _tree(module: str) -> ast.AST:
    path = MODULES[module]
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def imports(module: str) -> tuple[set[str], set[str]]:
    """(project modules, top-level outside packages) that `module` imports anywhere in its source."""
    inner, outer = set(), set()
    for node in ast.walk(_tree(module)):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package(module).split(".")
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


def private_uses(module: str, tree: ast.AST | None = None) -> list[str]:
    """Private names (one leading underscore) of other packages that `module` (or `tree`, read
    as if it were that module) uses: imported by name, or read as an attribute of a module
    it imported."""
    own, found, aliases = package(module), [], {}
    for node in ast.walk(tree or _tree(module)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                full = a.name if isinstance(node, ast.Import) else f"{node.module}.{a.name}"
                target = _resolve(full) if full.startswith("metabnet") else None
                if target is None or package(target) == own:
                    continue
                leaf = full.rsplit(".", 1)[-1]
                if leaf.startswith("_") and not leaf.startswith("__") and full != target + ".__init__":
                    found.append(full)
                if full == target:
                    aliases[a.asname or a.name.split(".")[0]] = target
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            if node.attr.startswith("_") and not node.attr.startswith("__"):
                found.append(f"{aliases[node.value.id]}.{node.attr}")
    return sorted(set(found))


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


def test_every_package_has_a_layer_and_a_public_face():
    packages = {package(m) for m in MODULES}
    assert packages == LAYERS.keys(), f"packages without a layer: {sorted(packages - LAYERS.keys())}"
    for p in packages:
        assert ast.get_docstring(_tree(p)), f"{p}/__init__.py has no docstring naming its public face"


@pytest.mark.parametrize("module", sorted(set(MODULES) - ENTRY))
def test_layers_point_one_way(module):
    """A module imports its own package or packages of lower layers; root modules are leaves."""
    p = package(module)
    up = sorted(t for t in GRAPH[module] if package(t) != p and not LAYERS[package(t)] < LAYERS[p])
    assert not up, f"{module} ({p}, layer {LAYERS[p]}) imports {up}: not below it in DESIGN §6"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_names_of_other_packages(module):
    assert not private_uses(module), f"{module} uses private names of other packages: {private_uses(module)}"


def test_private_uses_are_found():
    src = "from metabnet.kernels.reach import _labels, reachability\nfrom metabnet.kernels import reach\nreach._bfs\n"
    found = private_uses("metabnet.score.scorer", ast.parse(src))
    assert found == ["metabnet.kernels.reach._bfs", "metabnet.kernels.reach._labels"]
    assert private_uses("metabnet.kernels.equilibrium", ast.parse(src)) == []  # its own package


def test_import_metabnet_is_light():
    code = "import sys, metabnet; print(sorted({'numba', 'torch', 'h5py', 'scipy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", f"import metabnet loads {out.strip()}"


def test_only_learn_imports_torch():
    for m in MODULES:
        if package(m) != "metabnet.learn":
            assert "torch" not in imports(m)[1], f"{m} imports torch: only metabnet.learn may (DESIGN §6)"


def test_concepts_do_not_drag_in_heavy_layers():
    # the torch model and the Numba tokenizer reach the vocabulary without file I/O
    for module in ("metabnet.learn.model", "metabnet.kernels.tokenize"):
        assert not closure(module) & {"metabnet.fileio", "metabnet.io.formats"}, module
    # data preparation does not import torch
    for module in ("metabnet.learn.loader", "metabnet.batch"):
        outside = set().union(*(imports(m)[1] for m in closure(module) | {module}))
        assert "torch" not in outside, f"{module} imports torch through {sorted(closure(module))}"
