"""The package's modules import each other without circles (the layering the package
docstring describes): a module low down, such as the scenario schema, never reaches up
to the engine or the command line, not even by an import inside a function."""

from __future__ import annotations

import ast
import graphlib

from helpers import PACKAGE_ROOT

PACKAGE = PACKAGE_ROOT / "reporting_sim"
FACE = "reporting_sim"  # the package's __init__: the API face, which may import anything lazily


def _module_name(path) -> str:
    parts = list(path.relative_to(PACKAGE_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path, name: str, modules: set[str]) -> set[str]:
    """The package modules ``path`` imports anywhere in it (function level included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
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


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(files)
    return {name: _imports(path, name, modules) for name, path in files.items()}


def test_the_graph_is_read_at_all():
    graph = import_graph()
    assert "reporting_sim.scenario_loading" in graph["reporting_sim.scenario"]
    assert "reporting_sim.model.engine" in graph["reporting_sim.model"]
    assert "reporting_sim.uncertainties" in graph["reporting_sim.scenario_loading"]


def test_no_import_circle_among_the_modules():
    graph = {name: deps - {FACE} for name, deps in import_graph().items() if name != FACE}
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as err:
        raise AssertionError(f"import circle: {' -> '.join(err.args[1])}") from None
    assert len(order) == len(graph)


def test_the_scenario_layer_imports_nothing_that_runs():
    """Reading and checking a scenario needs no engine, no results and no command line."""
    graph = import_graph()
    scenario_layer = [n for n in graph if n.startswith("reporting_sim.scenario") or n.endswith(
        (".uncertainties", ".variants", ".metric_names", ".distributions"))]
    forbidden = ("reporting_sim.model", "reporting_sim.execution", "reporting_sim.experiment",
                 "reporting_sim.metrics", "reporting_sim.cli", "reporting_sim.output")
    for name in scenario_layer:
        reach = set()
        todo = [name]
        while todo:
            for dep in graph[todo.pop()] - reach - {FACE}:
                reach.add(dep)
                todo.append(dep)
        bad = sorted(d for d in reach if d.startswith(forbidden))
        assert not bad, f"{name} reaches {bad}"
