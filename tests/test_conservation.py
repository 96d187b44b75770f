"""Conservation laws that every run must obey, on the built-in scenario and on random
small networks (hypothesis); the checks themselves are in ``conservation.py``:

* every (event, consumer) pair has exactly one outcome from ``metric_names.OUTCOMES``;
* every report ends in exactly one terminal state (the ``reports`` frame adds up to the
  reports created; with tracing, each report has exactly one ``end`` step);
* outcome shares per consumer sum to 1 in ``metrics.summary``;
* no negative or out-of-order times in the trace;
* a latency is never shorter than the fixed (minimum) delays along the quickest path.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conservation import check_all, check_ledger, check_reports
from helpers import scale_choose_links
from reporting_sim.measures import metrics
from reporting_sim import scenario
from reporting_sim.errors import ScenarioError
from reporting_sim.model import Simulation, simulate

EPS = 1e-9


# ------------------------------------------------------------------ minusma-2015

@pytest.fixture(scope="module")
def minusma():
    return scenario.load("minusma-2015")


@pytest.mark.parametrize("seed,days", [(1, 45), (2015, 30), (7, 60)])
def test_minusma_conservation(minusma, seed, days):
    rec = simulate(minusma, seed, days, trace=True)
    assert len(rec.events) > 300
    assert rec.meta["reports_created"] > 300
    s = check_all(minusma, rec)
    assert {"force_commander", "u2"} <= set(s["consumers"])
    # the run must exercise the outcomes worth checking
    seen = set(rec.ledger["outcome"].astype(str))
    assert {"in_time", "late", "not_observed", "not_reported", "not_shared"} <= seen


def test_no_trace_step_starts_after_the_horizon(minusma):
    """The trace records what happened in the run: a report still waiting for a meeting
    when the run ends has no transit step starting after the horizon, and its ``end``
    step (in flight, at the horizon) comes after all its other steps."""
    rec = simulate(minusma, 2015, 30, trace=True)
    tr = rec.trace
    H = rec.days * 24.0
    late = tr[tr["t0_h"] > H]
    assert late.empty, f"{len(late)} steps start after the horizon:\n{late.head()}"
    for rid, g in tr.groupby("report", sort=False):
        assert (np.diff(g["t0_h"].to_numpy()) >= -EPS).all(), f"report {rid} out of order:\n{g}"


def test_minusma_tracing_changes_nothing(minusma):
    plain = simulate(minusma, 3, 30)
    traced = simulate(minusma, 3, 30, trace=True)
    assert plain.trace is None
    pd.testing.assert_frame_equal(plain.ledger, traced.ledger)
    pd.testing.assert_frame_equal(plain.reports, traced.reports)
    pd.testing.assert_frame_equal(plain.events, traced.events)
    check_ledger(minusma, plain)
    check_reports(plain)


def test_minusma_warmup_leaves_out_early_events(minusma):
    rec = simulate(minusma, 4, 40, warmup_days=10)
    s = metrics.summary(rec)
    assert s["events"] == int((rec.events["t_h"] >= 240).sum())
    led = rec.ledger
    for name, block in s["consumers"].items():
        mine = led[(led["consumer"] == name) & (led["t_h"] >= 240)]
        assert block["events"] == int(mine["interest"].sum())
        assert block["events"] <= s["events"]
        assert sum(block["outcomes"].values()) == pytest.approx(1.0)
    check_ledger(minusma, rec)
    check_reports(rec)


# ------------------------------------------------------------------ random scenarios

def dist_strategy(max_h):
    fixed = st.floats(0, max_h).map(lambda v: round(v, 3))
    uniform = st.tuples(st.floats(0, max_h), st.floats(0, max_h)).map(
        lambda ab: {"dist": "uniform", "low": round(min(ab), 3), "high": round(max(ab), 3)})
    expo = st.floats(0.05, max_h).map(lambda m: {"dist": "exponential", "mean": round(m, 3)})
    return st.one_of(fixed, uniform, expo)


prob = st.one_of(st.sampled_from([1.0, 1.0, 0.0]), st.floats(0, 1).map(lambda p: round(p, 3)))
likely = st.one_of(st.just(1.0), st.floats(0.3, 1).map(lambda p: round(p, 3)), st.just(0.0))


@st.composite
def small_scenarios(draw):
    n_kinds = draw(st.integers(1, 3))
    kinds = {f"k{i}": {"family": draw(st.sampled_from(["current", "long_term"])),
                       "shelf_life_h": draw(st.sampled_from([1.0, 4.0, 12.0, 48.0, 500.0]))}
             for i in range(n_kinds)}
    sectors = [f"s{i}" for i in range(draw(st.integers(1, 2)))]
    sources = {}
    for j, s in enumerate(sectors):
        w = [draw(st.integers(0, 5)) for _ in kinds]
        if sum(w) == 0:
            w[0] = 1
        shares = [x / sum(w) for x in w]
        sources[f"src_{s}"] = {"sector": s, "rate_per_day": draw(st.sampled_from([0.0, 2.0, 6.0, 20.0] if j else [6.0, 20.0])),
                               "mix": dict(zip(kinds, shares))}
    meetings = {}
    for i in range(draw(st.integers(0, 2))):
        meetings[f"m{i}"] = {"first_h": draw(st.sampled_from([0.0, 6.5, 8.0, 17.25])),
                             "every_h": draw(st.sampled_from([6.0, 12.0, 24.0, 168.0]))}
        if draw(st.booleans()):
            meetings[f"m{i}"]["from_day"] = draw(st.sampled_from([0.0, 1.0]))
        if draw(st.booleans()):
            meetings[f"m{i}"]["until_day"] = draw(st.sampled_from([1.5, 3.0, 100.0]))

    def node_common(spec):
        spec["routing"] = draw(st.sampled_from(["each", "choose"]))
        spec["dedupe"] = draw(st.booleans())
        return spec

    collectors = {}
    for i in range(draw(st.integers(1, 3))):
        secs = draw(st.lists(st.sampled_from(sectors), min_size=1, max_size=len(sectors), unique=True))
        spec = node_common({"culture": draw(st.sampled_from(["branch", "commander"])), "sectors": secs,
                            "p_observe": draw(likely), "p_report": draw(likely),
                            "report_delay_h": draw(dist_strategy(3.0))})
        if draw(st.booleans()):
            per_day = draw(st.sampled_from([1, 2, 3, 4, 5]))
            spec["watch"] = "patrols"
            spec["patrols"] = {"per_day": per_day,
                               "duration_h": round(draw(st.floats(0, 1)) * 24 / per_day, 3),
                               "first_h": draw(st.sampled_from([0.0, 3.5, 7.0, 22.0]))}
            spec["report_after_patrol"] = draw(st.booleans())
        else:
            spec["watch"] = "continuous"
        if draw(st.booleans()):
            spec["kinds"] = draw(st.lists(st.sampled_from(list(kinds)), min_size=1, unique=True))
        collectors[f"col{i}"] = spec
    cells, commanders = {}, {}
    order = []
    for i in range(draw(st.integers(0, 5))):
        if draw(st.booleans()):
            name = f"cell{i}"
            spec = node_common({"analysts": draw(st.integers(0, 3)), "work_h": draw(dist_strategy(4.0))})
            if draw(st.booleans()):
                spec["inbox"] = draw(st.integers(0, 3))
            if draw(st.booleans()):
                spec["duty"] = {"start_h": draw(st.sampled_from([0.0, 7.0, 20.0])),
                                "end_h": draw(st.sampled_from([4.0, 15.5, 19.0]))}
            cells[name] = spec
        else:
            name = f"cmd{i}"
            commanders[name] = node_common({})
        order.append(name)
    receivers = order
    everyone = list(collectors) + order
    links = []

    def new_link(src, dst):
        lk = {"from": src, "to": dst, "p": draw(prob), "transit_h": draw(dist_strategy(2.0))}
        if meetings and draw(st.integers(0, 3)) == 0:
            lk["meeting"] = draw(st.sampled_from(list(meetings)))
        if draw(st.integers(0, 3)) == 0:
            lk["families"] = [draw(st.sampled_from(["current", "long_term"]))]
        links.append(lk)

    # forward links only (collectors first, then receivers in order): no cycles; every
    # receiver hears from at least one node before it ...
    for dst in receivers:
        earlier = everyone[:everyone.index(dst)]
        new_link(draw(st.sampled_from(earlier)), dst)
    for i, src in enumerate(everyone):
        later = [n for n in receivers if everyone.index(n) > i]
        for dst in draw(st.lists(st.sampled_from(later), unique=True, max_size=2)) if later else []:
            new_link(src, dst)
    # ... plus a few back links into nodes that drop repeats (cycles that end)
    all_nodes = {**collectors, **cells, **commanders}
    for src in receivers:
        back = [n for n in receivers if everyone.index(n) < everyone.index(src) and all_nodes[n]["dedupe"]]
        if back and draw(st.integers(0, 3)) == 0:
            links.append({"from": src, "to": draw(st.sampled_from(back)), "p": draw(prob),
                          "transit_h": draw(dist_strategy(2.0))})
    # "choose" picks at most one link: scale the chances of its links to sum to at most 1
    scale_choose_links(all_nodes, links)
    # consumers: at least one receiving node (or a collector when there is none)
    pool = receivers or list(collectors)
    chosen = draw(st.lists(st.sampled_from(pool), min_size=1, unique=True))
    for name in chosen:
        all_nodes[name]["consumer"] = True
        if meetings and draw(st.integers(0, 2)) == 0:
            all_nodes[name]["acts_at"] = draw(st.sampled_from(list(meetings)))
    data = {"scenario": {"name": "random", "days": draw(st.sampled_from([1.0, 2.5, 6.0])),
                         "seed": draw(st.integers(0, 2**32))},
            "kinds": kinds, "sources": sources, "collectors": collectors, "cells": cells,
            "commanders": commanders, "meetings": meetings, "links": links}
    return data


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_scenarios())
def test_random_small_scenarios_conserve(data):
    sc = scenario.parse(data, "<random>")
    rec = simulate(sc, trace=True)
    assume(len(rec.events) > 0)  # no events at all: see test_run_without_events
    check_all(sc, rec)
    plain = simulate(sc)
    pd.testing.assert_frame_equal(plain.ledger, rec.ledger)
    pd.testing.assert_frame_equal(plain.reports, rec.reports)


def test_run_without_events():
    """A run in which nothing happens (no event before the horizon) still has a ledger
    with the usual columns, a summary and conserved reports."""
    data = {
        "scenario": {"name": "quiet", "days": 2.0, "seed": 1},
        "kinds": {"k": {"family": "current", "shelf_life_h": 4.0}},
        "sources": {"s": {"sector": "x", "rate_per_day": 0.0, "mix": {"k": 1.0}}},
        "collectors": {"c": {"culture": "branch", "sectors": ["x"], "watch": "continuous",
                             "p_observe": 1.0, "p_report": 1.0, "report_delay_h": 0.0}},
        "commanders": {"a": {"consumer": True}},
        "links": [{"from": "c", "to": "a"}],
    }
    sc = scenario.parse(data, "<quiet>")
    rec = simulate(sc, trace=True)
    assert len(rec.events) == 0 and len(rec.ledger) == 0
    check_reports(rec)
    s = metrics.summary(rec)
    assert s["events"] == 0
    assert s["consumers"]["a"]["events"] == 0
    assert s["reports"]["created"] == 0
    busy = simulate(scenario.parse({**data, "sources": {"s": {**data["sources"]["s"], "rate_per_day": 50.0}}}))
    assert list(rec.ledger.columns) == list(busy.ledger.columns)


# ------------------------------------------------------------------ termination

def test_valid_scenario_with_zero_delay_cycle_reaches_its_horizon():
    """Two commanders who pass every report to each other ("choose", p = 1, no delay,
    repeats kept) form a cycle the validator accepts (a "choose"-only cycle). Then the
    run must still end: either the scenario is refused, or time moves on to the horizon.
    (Run step by step with a budget, so a hang fails fast instead of blocking the suite.)"""
    data = {
        "scenario": {"name": "loop", "days": 1.0, "seed": 1},
        "kinds": {"k": {"family": "current", "shelf_life_h": 48.0}},
        "sources": {"s": {"sector": "x", "rate_per_day": 4.0, "mix": {"k": 1.0}}},
        "collectors": {"c": {"culture": "branch", "sectors": ["x"], "watch": "continuous",
                             "p_observe": 1.0, "p_report": 1.0, "report_delay_h": 0.0}},
        "commanders": {"a": {"routing": "choose", "dedupe": False, "consumer": True},
                       "b": {"routing": "choose", "dedupe": False}},
        "links": [{"from": "c", "to": "a"}, {"from": "a", "to": "b"}, {"from": "b", "to": "a"}],
    }
    try:
        sc = scenario.parse(data, "<loop>")
    except ScenarioError:
        return  # refusing the scenario is a fine answer
    sim = Simulation(sc, trace=False)
    env, horizon = sim.env, sim.days * 24.0
    budget = 20_000
    while env.peek() < horizon and budget:
        env.step()
        budget -= 1
    assert budget > 0, f"the run is stuck at hour {env.now:g}: reports circle with no delay for ever"
