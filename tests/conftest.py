"""Shared fixtures: the built-in scenario, and small networks built from a dict.

``network`` builds a tiny scenario (one source, one collector, the cells, commanders
and links asked for) without a file, so unit tests of nodes and collectors can set up
exactly the piece they test; ``run`` runs one and returns its records.
"""

from __future__ import annotations

import copy

import pytest

from reporting_sim import scenario
from reporting_sim.model import Simulation

KIND = {"item": {"family": "current", "shelf_life_h": 24.0}}


def tiny_network(cells=None, commanders=None, links=None, collector=None, rate_per_day=24.0,
                 days=10.0, **sections):
    """A scenario dict: source ``feed`` (``rate_per_day``) watched by collector
    ``watcher`` (continuous, observes and reports everything at once unless
    ``collector`` overrides fields), linked to the first cell or commander; cells
    default to one analyst with exponential work of mean 0.5 h."""
    col = {"culture": "branch", "sectors": ["all"], "watch": "continuous", "p_observe": 1.0,
           "p_report": 1.0, "report_delay_h": 0.0}
    col.update(collector or {})
    cells = {name: {"analysts": 1, "work_h": {"dist": "exponential", "mean": 0.5}, **spec}
             for name, spec in (cells or {}).items()}
    first = next(iter(list(cells) + list(commanders or {})), None)
    data = {
        "scenario": {"name": "tiny", "days": days, "seed": 0},
        "kinds": copy.deepcopy(KIND),
        "sources": {"feed": {"sector": "all", "rate_per_day": rate_per_day, "mix": {"item": 1.0}}},
        "collectors": {"watcher": col},
        "cells": cells,
        "commanders": dict(commanders or {}),
        "links": ([{"from": "watcher", "to": first}] if first else []) + list(links or []),
    }
    data.update(sections)
    return data


@pytest.fixture
def network():
    """Build a :class:`~reporting_sim.scenario.Scenario` from :func:`tiny_network` arguments."""
    return lambda **kw: scenario.parse(tiny_network(**kw), "tiny")


@pytest.fixture
def run():
    """Run a scenario: ``run(sc, seed=1, days=None, **kw)`` gives the finished Simulation
    and its records (the simulation's nodes can be inspected afterwards)."""
    def go(sc, seed: int = 1, days=None, **kw):
        sim = Simulation(sc, seed, days, **kw)
        return sim, sim.run()
    return go


@pytest.fixture(scope="session")
def minusma_2015():
    return scenario.load("minusma-2015")
