"""The network plan (reporting_sim.model.plan): worked out from a scenario without
SimPy or random numbers, with the network-shaping mechanism switches applied once."""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import pytest

from reporting_sim import scenario
from reporting_sim.model import Simulation, build_plan
from reporting_sim.model import plan as plan_module


def test_the_plan_module_uses_no_simpy():
    tree = ast.parse(Path(plan_module.__file__).read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any("simpy" in m or "engine" in m or "streams" in m for m in imported)


def test_reach_masks_follow_links_and_kind_filters(network):
    kinds = {"item": {"family": "current", "shelf_life_h": 24.0},
             "trend": {"family": "long_term", "shelf_life_h": 240.0}}
    sc = network(commanders={"hub": {}, "fast": {"consumer": True}, "slow": {"consumer": True}},
                 links=[{"from": "hub", "to": "fast", "families": ["current"]}, {"from": "hub", "to": "slow"}],
                 kinds=kinds)
    plan = build_plan(sc)
    fast, slow = 1 << sc.consumers.index("fast"), 1 << sc.consumers.index("slow")
    item, trend = plan.kinds.index("item"), plan.kinds.index("trend")
    assert plan.node("hub").reach[item] == fast | slow
    assert plan.node("hub").reach[trend] == slow
    assert plan.node("fast").reach[trend] == fast  # a consumer reaches itself
    assert plan.ungated


@pytest.fixture(scope="module")
def minusma_data():
    return scenario.load_data("minusma-2015")[0]


@pytest.mark.parametrize("switch", ["coping", "pull", "boards", "competition"])
def test_switching_a_mechanism_off_changes_the_plan(minusma_data, switch):
    on = build_plan(scenario.parse(copy.deepcopy(minusma_data), "on"))
    data = copy.deepcopy(minusma_data)
    data.setdefault("mechanisms", {})[switch] = False
    off = build_plan(scenario.parse(data, "off"))
    if switch == "coping":  # informal bridges vanish, fixed gates open
        assert len(off.links) < len(on.links)
        assert all(link.blocked is None for link in off.links)
    elif switch == "pull":  # a stovepipe pull becomes a plain push
        pulled = [l for l in on.links if l.meeting and l.key in {m.key for m in off.links if not m.meeting}]
        assert pulled and all(m.p == 1.0 for m in off.links if m.key in {l.key for l in pulled})
    elif switch == "boards":
        assert on.boards and not off.boards
    else:
        assert any(n.rivals for n in on.nodes) and not any(n.rivals for n in off.nodes)


def test_the_engine_runs_a_plan_as_it_runs_the_scenario(network):
    sc = network(cells={"desk": {"consumer": True}})
    a = Simulation(sc, 4, 5.0).run()
    b = Simulation(build_plan(sc), 4, 5.0).run()
    assert a.ledger.equals(b.ledger) and a.cells.equals(b.cells)
