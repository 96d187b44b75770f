"""The scenario modules by concept (schema, loading, graph checks) and the graph drawn
from the network plan: layering, the cycle algorithms on tiny graphs, the order in
which graph rules report, and what ``scenario graph`` says of links no report takes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from reporting_sim.present import graph
from reporting_sim import scenario
from reporting_sim.scenario import (
    checks as scenario_checks,
    loading as scenario_loading,
    schema as scenario_schema,
)
from reporting_sim.errors import ScenarioError

MODULES = (scenario, scenario_schema, scenario_loading, scenario_checks)


def _imports(module) -> set[str]:
    tree = ast.parse(Path(module.__file__).read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    return names | {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_scenario_modules_import_no_simpy_and_no_model(module):
    assert not any("simpy" in m or m.startswith(("model", ".model")) for m in _imports(module))


def test_the_schema_reads_no_files():
    assert not _imports(scenario_schema) & {"os", "stat", "tomllib", "importlib", "pathlib", ".limits"}


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_no_function_in_the_scenario_modules_is_over_40_lines(module):
    tree = ast.parse(Path(module.__file__).read_text())
    long = {n.name: n.end_lineno - n.lineno + 1 for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > 40}
    assert not long


def test_every_public_name_of_scenario_is_the_concept_modules_own():
    for name in scenario.__all__:
        obj = getattr(scenario, name)
        homes = [m for m in (scenario_schema, scenario_loading, scenario_checks) if getattr(m, name, None) is obj]
        assert homes or name == "ScenarioError", name


@pytest.mark.parametrize("succ, expected", [
    ({"a": ["b"], "b": ["c"], "c": []}, []),  # a chain
    ({"a": ["b"], "b": ["a"], "c": ["a"]}, [["a", "b"]]),  # c feeds a cycle, is not on it
    ({"a": ["b"], "b": ["a"], "c": ["d"], "d": ["c"]}, [["a", "b"], ["c", "d"]]),
    ({"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": ["e"], "e": ["d"]}, [["d", "e"], ["a", "b", "c"]]),
    ({"x": ["y", "z"], "y": ["x"], "z": ["x"]}, [["x", "y", "z"]]),  # two cycles through x: one component
])
def test_cycles_finds_each_strongly_connected_component(succ, expected):
    assert scenario_checks._cycles(succ) == expected


def test_cycles_follows_a_long_ring_without_recursion():
    n = 5000
    succ = {f"n{i}": [f"n{(i + 1) % n}"] for i in range(n)}
    (comp,) = scenario_checks._cycles(succ)
    assert len(comp) == n


def test_a_cycle_is_a_shortest_closed_walk():
    succ = {"a": ["b", "c"], "b": ["c"], "c": ["a"]}
    assert scenario_checks._a_cycle(succ, "a") == ["a", "c", "a"]
    assert scenario_checks._a_cycle(succ, "b") == ["b", "c", "a", "b"]


def test_graph_rules_report_the_first_problem_in_a_fixed_order(network):
    bad_link = {"cells": {"a": {"consumer": True}}, "links": [{"from": "a", "to": "nowhere"}]}
    two_kinds = {"feed": {"sector": "all", "rate_per_day": 1.0, "mix": {"item": 0.5, "unknown_kind": 0.5}}}
    with pytest.raises(ScenarioError, match=r"sources\.feed\.mix\.unknown_kind: unknown kind"):
        network(**bad_link, sources=two_kinds)
    with pytest.raises(ScenarioError, match=r"links\[1\]\.to: unknown node 'nowhere'"):
        network(**bad_link)


def test_the_hop_bound_is_read_where_the_check_runs(network):
    ring = {"cells": {"a": {"dedupe": False, "routing": "choose"},
                      "b": {"dedupe": False, "consumer": True, "routing": "choose"}},
            "links": [{"from": "a", "to": "b", "p": 0.9}, {"from": "b", "to": "a", "p": 0.9}]}
    network(**ring)  # about 10 hops on average: allowed
    assert scenario.MAX_CYCLE_HOPS is scenario_checks.MAX_CYCLE_HOPS
    old = scenario_checks.MAX_CYCLE_HOPS
    try:
        scenario_checks.MAX_CYCLE_HOPS = 5
        with pytest.raises(ScenarioError, match=r"cells\.a\.routing: cycle a -> b -> a .*at most 5 allowed"):
            network(**ring)
    finally:
        scenario_checks.MAX_CYCLE_HOPS = old


def _bridges(network, coping_on: bool):
    """hub keeps to its own garden (only its task link passes) and has a bridge to the
    chief it does not build."""
    return network(cells={"hub": {"coping": ["voltaires_garden"]}, "g2": {"consumer": True}},
                   commanders={"chief": {"consumer": True}},
                   links=[{"from": "hub", "to": "g2"}, {"from": "hub", "to": "g2", "task": True},
                          {"from": "hub", "to": "chief", "informal": True}],
                   mechanisms={"coping": coping_on})


def test_graph_says_which_links_no_report_takes_in_a_run(network):
    sc = _bridges(network, coping_on=True)
    _, run = graph.run_links(sc)
    notes = [graph.idle_note(lp) for lp in run]
    assert notes[1].startswith("no report passes") and "not_shared" in notes[1]  # Voltaire's garden
    assert notes[2] == ""  # a task link passes
    assert notes[3].startswith("not in a run")  # a bridge the sender does not build
    svg = graph.svg(sc)
    assert svg.count('class="link report idle') == 2
    assert graph.dot(sc).count(" -> ") == len(sc.active_links)  # the text formats keep every link


def test_graph_draws_every_link_as_passing_when_coping_is_switched_off(network):
    sc = _bridges(network, coping_on=False)
    _, run = graph.run_links(sc)
    assert [graph.idle_note(lp) for lp in run[:3]] == ["", "", ""]
    assert graph.idle_note(run[3]).startswith("not in a run")  # no coping: no bridge either
    assert graph.svg(sc).count('class="link report idle') == 1


def test_node_tooltips_count_the_consumers_a_node_can_reach(network):
    sc = _bridges(network, coping_on=True)
    svg = graph.svg(sc)
    assert "hub (cell; its reports can reach 1 of 2 consumers)" in svg  # g2 only: the bridge is not built
    assert "watcher (collector; its reports can reach 1 of 2 consumers)" in svg
