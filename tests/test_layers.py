"""The package's folders are its layers (the package docstring and docs/architecture.md
describe them). From the bottom up: the plain leaves, ``scenario``, ``model``,
``measures``, ``study``, ``present``, ``lab``, ``cli``, then the API face. These tests
hold every module to what that promises, reading imports anywhere in a file (function
level included):

* no import circle;
* a module imports only modules of its own layer or lower ones;
* no module imports another module's private name (``_name``), nor reads one through
  a module (``mod._name``): what crosses a module's border is public.
"""

from __future__ import annotations

import ast
import graphlib

from helpers import PACKAGE_ROOT

PACKAGE = PACKAGE_ROOT / "reporting_sim"
FACE = "reporting_sim"  # the package's __init__: re-exports the API

# Each layer's rank; a module's layer is the first part of its name below the package
# (a top-level module is a leaf, or the API). A module may import ranks <= its own.
LEAVES = ("errors", "hashing", "metric_names", "lazy", "version", "arguments")
RANKS = {**{leaf: 0 for leaf in LEAVES}, "scenario": 1, "model": 2, "measures": 3, "study": 4,
         "present": 5, "lab": 6, "cli": 7, "api": 8, "__main__": 9, "": 9}


def _module_name(path) -> str:
    parts = list(path.relative_to(PACKAGE_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _target(node: ast.ImportFrom, name: str, path) -> str:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    if not node.level:
        return node.module or ""
    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
    return f"{base}.{node.module}" if node.module else base


def _imports(path, name: str, modules: set[str]) -> set[str]:
    """The package modules ``path`` imports anywhere in it (function level included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom):
            target = _target(node, name, path)
            names_only = False  # ``from . import core`` imports a module, not the package
            for alias in node.names:
                if f"{target}.{alias.name}" in modules:
                    found.add(f"{target}.{alias.name}")
                else:
                    names_only = True
            if target in modules and names_only:
                found.add(target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
    return found - {name}


def _files() -> dict:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def import_graph() -> dict[str, set[str]]:
    files = _files()
    modules = set(files)
    return {name: _imports(path, name, modules) for name, path in files.items()}


def rank(module: str) -> int:
    layer = module.removeprefix(FACE).lstrip(".").split(".")[0]
    assert layer in RANKS, f"{module}: a module outside the known layers ({', '.join(RANKS)})"
    return RANKS[layer]


def test_the_graph_is_read_at_all():
    graph = import_graph()
    assert "reporting_sim.scenario.loading" in graph["reporting_sim.scenario"]
    assert "reporting_sim.model.engine" in graph["reporting_sim.model"]
    assert "reporting_sim.scenario.uncertainties" in graph["reporting_sim.scenario.loading"]
    assert "reporting_sim.api" in graph[FACE]


def test_no_import_circle_among_the_modules():
    graph = import_graph()
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as err:
        raise AssertionError(f"import circle: {' -> '.join(err.args[1])}") from None
    assert len(order) == len(graph)


def test_every_module_imports_only_its_own_layer_or_lower_ones():
    bad = [f"{name} (rank {rank(name)}) imports {dep} (rank {rank(dep)})"
           for name, deps in import_graph().items() for dep in sorted(deps) if rank(dep) > rank(name)]
    assert not bad, "\n".join(bad)


def test_the_ranks_fail_on_an_import_that_runs_up(tmp_path):
    """The rank check is not vacuous: a scenario module that imported the engine would fail it."""
    assert rank("reporting_sim.model.engine") > rank("reporting_sim.scenario.schema")
    assert rank("reporting_sim.cli") > rank("reporting_sim.present.report") > rank("reporting_sim.study.output")


def _private_uses(path, name: str, modules: set[str]) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"))
    aliases, out = {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = _target(node, name, path)
            for a in node.names:
                full = f"{target}.{a.name}"
                if full in modules:
                    aliases[a.asname or a.name] = full
                elif a.name.startswith("_") and not a.name.startswith("__") and target in modules:
                    out.append(f"{name}:{node.lineno} imports {target}.{a.name}")
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name in modules and a.asname:
                    aliases[a.asname] = a.name
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                and node.attr.startswith("_") and not node.attr.startswith("__")):
            out.append(f"{name}:{node.lineno} reads {aliases[node.value.id]}.{node.attr}")
    return out


def test_no_module_uses_another_modules_private_names():
    files = _files()
    modules = set(files)
    bad = [use for name, path in files.items() for use in _private_uses(path, name, modules)]
    assert not bad, "\n".join(bad)


def test_the_scenario_layer_imports_nothing_that_runs():
    """Reading and checking a scenario needs no engine, no results and no command line:
    everything the scenario package reaches is a leaf or the scenario package itself."""
    graph = import_graph()
    for name in (n for n in graph if n.startswith("reporting_sim.scenario")):
        reach, todo = set(), [name]
        while todo:
            for dep in graph[todo.pop()] - reach:
                reach.add(dep)
                todo.append(dep)
        bad = sorted(d for d in reach if rank(d) > RANKS["scenario"])
        assert not bad, f"{name} reaches {bad}"
