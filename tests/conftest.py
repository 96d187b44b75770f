"""Shared fixtures: the built-in scenario, small networks built from a dict, and a
finished run and experiment folder of the small scenario of ``helpers.py``.

``network`` builds a tiny scenario (one source, one collector, the cells, commanders
and links asked for) without a file, so unit tests of nodes and collectors can set up
exactly the piece they test; ``run`` runs one and returns its records. Plain helpers
(paths, the CLI in process, scenario dicts) are in ``helpers.py``.

Session-scoped fixtures are built once per process (once per worker under
``pytest -n``); tests only read them, or copy them before changing anything.
``pytest_collection_modifyitems`` puts the files holding ``slow`` tests first, so that
under ``pytest -n auto --dist loadscope`` the long files start early and the quick ones
fill the workers at the end (no test depends on the order).
"""

from __future__ import annotations

import copy

import pytest

from helpers import experiment_text, run_cli, small_files
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


def pytest_collection_modifyitems(config, items):
    """Files holding a ``slow`` test first, each file's tests kept together and in order."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)


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


@pytest.fixture(scope="session")
def run_folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("run")
    small_files(d)
    code, out, err = run_cli("run", "small.toml", "--days", "2", "--out", "r", cwd=d)
    assert code == 0, err
    return d / "r"


@pytest.fixture(scope="session")
def experiment_folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("exp")
    small_files(d)
    (d / "e.toml").write_text(experiment_text(), encoding="utf-8")
    code, out, err = run_cli("experiment", "e.toml", "--out", "x", "--jobs", "1", cwd=d)
    assert code == 0, err
    return d / "x"
