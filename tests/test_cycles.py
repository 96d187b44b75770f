"""Cycles in the network: one that could go round at one instant for ever, or copy
reports without end, is refused by ``validate`` (naming the cycle); one that takes time
on every way round and has a way out is a valid model (a queueing network with
feedback) and its run ends. Whatever the links, a scenario that validates runs to its
horizon in a number of engine steps bounded by its expected events (issue #13, item 4).
"""

from __future__ import annotations

import copy
import math

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import (Case, assert_one_line_error, check_refused, dump, hsettings, invoke, large_scenario,
                     run_cli, workdir, write_toml)
from reporting_sim import scenario


# ------------------------------------------------------------------ generated cycles

CYCLE_BASE = {
    "scenario": {"name": "cycle", "days": 2.0, "seed": 1},
    "kinds": {"k": {"family": "current", "shelf_life_h": 12.0}},
    "sources": {"s": {"sector": "x", "rate_per_day": 5.0, "mix": {"k": 1.0}}},
    "collectors": {"col": {"culture": "branch", "sectors": ["x"], "watch": "continuous",
                           "p_observe": 1.0, "p_report": 1.0, "report_delay_h": 0.5}},
    "meetings": {"m": {"first_h": 8.0, "every_h": 24.0}},
}


@st.composite
def bad_cycles(draw):
    """A cycle that could go round at one instant for ever ("choose" nodes keeping
    repeats, no time on some way round: zero transit, meetings only, or a parallel
    timed link), or one that copies reports without end ("each" nodes keeping repeats)."""
    data = copy.deepcopy(CYCLE_BASE)
    n = draw(st.integers(2, 4))
    names = [f"n{i}" for i in range(n)]
    kind = draw(st.sampled_from(["zero_time", "copies"]))
    cells = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    data["cells"], data["commanders"] = {}, {}
    for name, is_cell in zip(names, cells):
        spec = {"dedupe": False, "routing": "choose" if kind == "zero_time" else "each"}
        if kind == "copies" and draw(st.booleans()):
            spec["routing"] = draw(st.sampled_from(["each", "choose"]))
        if is_cell:
            spec.update(analysts=draw(st.integers(1, 3)),
                        work_h=0.0 if kind == "zero_time" else draw(st.sampled_from([0.0, 1.0])))
            data["cells"][name] = spec
        else:
            data["commanders"][name] = spec
    if kind == "copies" and all(get_node(data, x)["routing"] == "choose" for x in names):
        get_node(data, names[0])["routing"] = "each"
    if draw(st.booleans()):
        data["cells"]["top"] = {"consumer": True, "analysts": 1, "work_h": 1.0}
    else:
        data["commanders"]["top"] = {"consumer": True}
    links = [{"from": "col", "to": names[0]}]
    order = names + [names[0]]
    for a, b in zip(order, order[1:]):
        link = {"from": a, "to": b}
        if kind == "zero_time":
            style = draw(st.sampled_from(["plain", "meeting", "parallel"]))
            if style == "meeting":
                link["meeting"] = "m"
            elif style == "parallel":
                links.append({"from": a, "to": b, "p": 0.0, "transit_h": 1.0})
        else:
            link["transit_h"] = draw(st.sampled_from([0.0, 1.0]))
        links.append(link)
    links.append({"from": names[-1], "to": "top", "p": 0.0})
    draw(st.randoms()).shuffle(links)
    data["links"] = links
    return Case(kind, data)


def get_node(data, name):
    return data["cells"].get(name) or data["commanders"][name]


@st.composite
def timed_cycles(draw):
    """Cycles of nodes keeping repeats that take time on every way round (every link
    has transit, or its sender is a cell with work): "choose" nodes only, so one copy
    goes round, as in a queueing network with feedback, with a way out (some p below
    1, so a report leaves after a bounded number of hops on average). These are valid."""
    data = copy.deepcopy(CYCLE_BASE)
    n = draw(st.integers(2, 4))
    names = [f"n{i}" for i in range(n)]
    data["cells"], data["commanders"] = {}, {"top": {"consumer": True}}
    links = [{"from": "col", "to": names[0]}]
    for a, b in zip(names, names[1:] + names[:1]):
        spec = {"dedupe": False, "routing": "choose"}
        timed_cell = draw(st.booleans())
        if timed_cell:
            data["cells"][a] = {**spec, "analysts": draw(st.integers(1, 3)),
                                "work_h": draw(st.sampled_from([0.5, {"dist": "exponential", "mean": 1.0}]))}
        else:
            data["commanders"][a] = spec
        transit = draw(st.sampled_from([0.25, {"dist": "uniform", "low": 0.0, "high": 1.0}])) if not timed_cell \
            else draw(st.sampled_from([0.0, 0.5]))
        p = draw(st.sampled_from([0.5, 0.9, 1.0]))
        links.append({"from": a, "to": b, "transit_h": transit, "p": p})
        if p < 1:
            links.append({"from": a, "to": "top", "p": round(1 - p, 3)})
        if draw(st.booleans()):
            links[-1]["meeting"] = "m"
    if all(lk.get("p", 1.0) == 1.0 for lk in links[1:]):  # no way out: refused (issue #13, item 4)
        links[1]["p"] = 0.9
        links.insert(2, {"from": links[1]["from"], "to": "top", "p": 0.1})
    data["links"] = links
    return Case("timed", data)


@hsettings(60)
@given(timed_cycles())
def test_generated_cycles_that_take_time_are_accepted(case):
    """The cycle check refuses only what could run for ever at one instant."""
    with workdir() as d:
        (d / "ok.toml").write_bytes(dump(case.data))
        res = invoke("validate", "ok.toml")
        assert res.exit_code == 0, res.output + tomli_w.dumps(case.data)
        res = invoke("run", "ok.toml", "--days", "3", "--no-save", "--json")
        assert res.exit_code == 0, res.output


@hsettings(200)
@given(bad_cycles())
def test_generated_endless_cycles_are_refused(case):
    kind, data = case.label, case.data
    with workdir() as d:
        (d / "bad.toml").write_bytes(dump(data))
        res = invoke("validate", "bad.toml")  # first: a missed cycle would hang `run`
        assert res.exit_code == 2, f"{kind} cycle accepted:\n{tomli_w.dumps(data)}"
        line = check_refused("bad.toml", (), d)
    assert "cycle" in line


# ------------------------------------------------------------------ cycles that never end (issue #13, item 4)

def two_commander_cycle(transit_h: float, p_back: float) -> dict:
    """The issue's case: commanders ``a`` and ``b`` pass reports to each other
    ("choose", repeats kept), ``b`` back to ``a`` with chance ``p_back``."""
    data = large_scenario(1, 0)
    data["commanders"].update({"a": {"routing": "choose", "dedupe": False},
                               "b": {"routing": "choose", "dedupe": False}})
    data["links"] += [{"from": "cmd0", "to": "a"}, {"from": "a", "to": "b", "transit_h": transit_h},
                      {"from": "b", "to": "a", "transit_h": transit_h, "p": p_back}]
    return data


@pytest.mark.parametrize("transit_h", [1e-9, 1.0])
def test_item4_a_cycle_with_no_way_out_is_refused(transit_h, tmp_path):
    """Item 4: p = 1 both ways and 1e-9 h of transit passed validation and `run --days 2`
    never finished; with 1 h it ends only at the horizon, every report still going
    round. Both are refused, naming the cycle."""
    f = write_toml(tmp_path / "loop.toml", two_commander_cycle(transit_h, 1.0))
    assert_one_line_error(*run_cli("validate", f), "loop.toml", "commanders.a.routing", "a -> b -> a", "for ever")


def test_item4_a_cycle_a_report_leaves_too_slowly_is_refused(tmp_path):
    f = write_toml(tmp_path / "loop.toml", two_commander_cycle(1e-9, 0.9999))
    assert_one_line_error(*run_cli("validate", f), "loop.toml", "hops on average", "1000")


def test_item4_a_fast_cycle_with_a_way_out_runs_to_its_end(tmp_path):
    """A feedback loop that reports leave (b passes back with p = 0.9) is a valid
    model, however fast it turns, and its run ends."""
    f = write_toml(tmp_path / "loop.toml", two_commander_cycle(1e-9, 0.9))
    code, out, err = run_cli("run", f, "--days", "2", "--no-save", "--json")
    assert code == 0, err


def simulate_with_budget(sc, budget: int) -> int:
    """Step a run to its horizon; return the steps used (a hang fails, not blocks)."""
    from reporting_sim.model import Simulation

    sim = Simulation(sc, trace=False)
    env, horizon, used = sim.env, sim.days * 24.0, 0
    while env.peek() < horizon and used < budget:
        env.step()
        used += 1
    assert used < budget, f"the run used {used} steps and is at hour {env.now:g} of {horizon:g}"
    return used


@st.composite
def generated_networks(draw):
    """Small force structures with arbitrary links between 2-5 cells and commanders,
    any routing, repeats kept or dropped, chances from 0.3 to 1, transit from none to
    1e-9 h to an hour; most of them with a ring through every node of "choose" nodes
    that keep repeats (the feedback loops of item 4): cycles of every kind."""
    n = draw(st.integers(2, 5))
    data = large_scenario(1, 0, days=1.0)
    data["sources"]["src0"]["rate_per_day"] = 20.0
    names = [f"n{i}" for i in range(n)]
    ring = draw(st.integers(0, 3)) > 0
    for name in names:
        spec = {"routing": "choose" if ring else draw(st.sampled_from(["each", "choose"])),
                "dedupe": False if ring else draw(st.booleans()), "consumer": draw(st.booleans())}
        if draw(st.booleans()):
            data["cells"][name] = {**spec, "analysts": 1, "work_h": draw(st.sampled_from([0.0, 0.1]))}
        else:
            data["commanders"][name] = spec
    data["links"].append({"from": "cmd0", "to": names[0]})
    for a, b in zip(names, names[1:] + names[:1]) if ring else ():
        data["links"].append({"from": a, "to": b, "p": draw(st.sampled_from([0.9, 1.0, 1.0])),
                              "transit_h": draw(st.sampled_from([1e-9, 0.01]))})
    for a in names:
        for b in draw(st.lists(st.sampled_from(names + ["force_cdr"]), unique=True, max_size=3 - 2 * ring)):
            if a != b:
                data["links"].append({"from": a, "to": b, "p": draw(st.sampled_from([0.3, 0.5, 0.9, 1.0])),
                                      "transit_h": draw(st.sampled_from([0.0, 1e-9, 0.01, 1.0]))})
    for name in names:  # "choose" picks at most one link
        node = data["cells"].get(name) or data["commanders"][name]
        mine = [lk for lk in data["links"] if lk["from"] == name]
        total = sum(lk["p"] for lk in mine)
        if node["routing"] == "choose" and total > 1:
            for lk in mine:
                lk["p"] = math.floor(lk["p"] / total * 1000) / 1000
    return data


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(generated_networks())
def test_every_valid_generated_scenario_ends_within_a_bound_proportional_to_its_events(data):
    """Also (issue #13): whatever the links, a scenario that validates runs to its
    horizon in a number of engine steps bounded by (its expected events + a margin)
    times its links, never for ever. The factor 10 is about 20 times the largest ratio
    measured over these cases (0.52); a report going round a loop until the horizon
    (p = 1 all round, which the cycle rule now refuses) goes far past it."""
    from reporting_sim.errors import ScenarioError

    try:
        sc = scenario.parse(data, "<generated>")
    except ScenarioError:
        return
    events = sum(s.rate_per_day for s in sc.sources.values()) * sc.scenario.days
    bound = int(10 * (3 * events + 10) * (len(sc.links) + 1))
    simulate_with_budget(sc, bound)
