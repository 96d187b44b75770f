"""The NSGA-II search of ``packages`` above ``--enumerate-max`` combinations (issue #22,
item 4): on a synthetic toy whose Pareto front is known by brute force, and on the
command line on the tiny threshold toy (the search forced by a low --enumerate-max):
the contract, the same packages and numbers as the enumeration, determinism serial and
pooled, resumption, bad options."""

from __future__ import annotations

import itertools
import json
import sys

import numpy as np
import pytest

from helpers import DATA, assert_one_line_error, run_cli
from reporting_sim.errors import ScenarioError
from reporting_sim.study import guard
from reporting_sim.study.package_search import clash_counts, search_packages
from reporting_sim.study.packages import SearchOptions, combinations, count_within, pareto_front

TOY = str(DATA / "toy-threshold.toml")
SURE_COSTED, HALF, FAST, NULL = (str(DATA / f"toy-threshold-{n}.toml") for n in ("sure-costed", "half", "fast",
                                                                                 "null"))
METRIC = "hq.current.in_time"


# ------------------------------------------------------------------ a toy with a known front

def _toy(seed: int, n: int = 14):
    """``n`` items with integer costs 1-4 and additive values, three conflicting pairs."""
    rng = np.random.default_rng(seed)
    costs, values = rng.integers(1, 5, n).astype(float), rng.random(n)
    conflicts = np.zeros((n, n), bool)
    for a, b in [(0, 1), (2, 3), (4, 5)]:
        conflicts[a, b] = conflicts[b, a] = True
    return costs, values, conflicts


def _feasible(costs, conflicts, budget):
    """Every package within the budget and free of conflicts, by brute force."""
    rows = np.array(list(itertools.product([False, True], repeat=len(costs))))
    ok = (rows @ costs <= budget) & (clash_counts(rows, conflicts) == 0)
    return [tuple(int(i) for i in np.flatnonzero(r)) for r in rows[ok]]


def _front(packages, costs, values) -> set:
    objectives = np.array([[values[list(p)].sum()] for p in packages])
    return {packages[i] for i in pareto_front([costs[list(p)].sum() for p in packages], objectives)}


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_search_finds_nearly_all_of_a_known_front_running_a_fraction_of_the_packages(seed):
    costs, values, conflicts = _toy(seed)
    budget, batches = 12.0, []
    feasible = _feasible(costs, conflicts, budget)
    true = _front(feasible, costs, values)

    def evaluate(batch):
        batches.append(list(batch))
        return np.array([[values[list(p)].sum()] for p in batch])

    found = search_packages(costs, budget, conflicts, evaluate, n_objectives=1, population=20, generations=60,
                            max_packages=300, seed=seed)
    run = list(found.objectives)
    assert len(run) == len(set(run)) <= 300 < len(feasible) / 3  # a search, not an enumeration
    assert set(run) <= set(feasible)  # nothing over the budget or conflicting is run
    assert run[0] == () and len(batches) <= 60  # the base first; one batch a generation
    assert sum(len(b) for b in batches) == len(run)  # no package run twice
    got = _front(run, costs, values)
    assert len(got & true) >= 0.75 * len(true), (len(got & true), len(true))
    # the same number of packages drawn at random finds much less of the front
    rng = np.random.default_rng(seed)
    drawn = [feasible[i] for i in rng.choice(len(feasible), len(run), replace=False)] + [()]
    assert len(_front(drawn, costs, values) & true) < len(got & true)


def test_the_search_stops_at_its_cap_of_packages():
    costs, values, conflicts = _toy(1)
    found = search_packages(costs, 12.0, conflicts, lambda b: np.array([[values[list(p)].sum()] for p in b]),
                            n_objectives=1, population=20, generations=60, max_packages=37, seed=1)
    assert len(found.objectives) == 37


def test_the_same_seed_proposes_the_same_packages():
    costs, values, conflicts = _toy(2)

    def once(seed):
        return list(search_packages(costs, 12.0, conflicts, lambda b: np.array([[values[list(p)].sum()] for p in b]),
                                    n_objectives=1, population=10, generations=10, max_packages=100,
                                    seed=seed).objectives)

    assert once(5) == once(5) != once(6)


def test_count_within_counts_as_the_enumeration_does_up_to_its_limit():
    rng = np.random.default_rng(0)
    for _ in range(20):
        costs = list(rng.integers(0, 5, rng.integers(1, 9)).astype(float))
        budget, limit = float(rng.integers(0, 12)), int(rng.integers(1, 40))
        n = len(combinations([str(i) for i in range(len(costs))], dict(zip(map(str, range(len(costs))), costs)),
                             budget))
        assert count_within(costs, budget, limit) == min(n, limit + 1)


# ------------------------------------------------------------------ the command line, the search forced

def _packages(tmp_path, name, *extra):
    code, out, err = run_cli("packages", TOY, SURE_COSTED, HALF, FAST, NULL, "--budget", "10", "--metric", METRIC,
                             "--worlds", "3", "--replications", "2", "--days", "3", "--seed", "2", "--json",
                             "--out", tmp_path / name, *extra)
    assert code == 0, err
    return json.loads(out)


SEARCH = ("--enumerate-max", "4", "--population", "10", "--generations", "6")


def _by_package(r: dict) -> dict:
    return {tuple(e["variants"]): (e["cost"], e["objectives"], e["robustness"], e["on_front"]) for e in r["packages"]}


def _same(a: dict, b: dict) -> None:
    a, b = dict(a), dict(b)
    a.pop("wall_time_s"), b.pop("wall_time_s")
    assert a == b


def test_above_enumerate_max_packages_searches_and_keeps_the_contract(tmp_path):
    """16 combinations within the budget, 8 of them composable (the null variant composes
    with every other; the three others change one link differently): above
    --enumerate-max 4 it searched (before: refused above 256), runs each package as the
    enumeration does and finds the same packages, numbers and front."""
    searched = _packages(tmp_path, "s", *SEARCH, "--jobs", "1")
    whole = _packages(tmp_path, "e", "--jobs", "1")
    assert {"budget", "front", "packages"} <= set(searched) and searched["budget"] == 10
    for e in searched["front"]:
        assert {"variants", "cost", "objectives", "robustness"} <= set(e)
        assert set(e["robustness"]) == {"mean", "minimax_regret", "satisficing"}
    assert searched["search"] == {"method": "NSGA-II (pymoo)", "population": 10, "generations": 6, "max_packages": 256,
                                  "enumerate_max": 4, "evaluated": 8}
    assert whole["search"]["method"] == "every combination" and whole["search"]["combinations"] == 16
    assert searched["packages"][0]["variants"] == []  # the base, run first
    assert _by_package(searched) == _by_package(whole)
    assert searched["front"] == whole["front"] and searched["runs"] == whole["runs"] == 8 * 3 * 2
    assert {tuple(x["variants"]) for x in searched["excluded"]} == {
        ("toy-threshold-sure-costed", "toy-threshold-half"), ("toy-threshold-sure-costed", "toy-threshold-fast"),
        ("toy-threshold-half", "toy-threshold-fast")}


def test_a_search_is_the_same_serially_and_pooled(tmp_path):
    _same(_packages(tmp_path, "a", *SEARCH, "--jobs", "1"), _packages(tmp_path, "b", *SEARCH, "--jobs", "2"))


def test_an_interrupted_search_resumes_to_the_same_answer(tmp_path, monkeypatch):
    whole = _packages(tmp_path, "whole", *SEARCH, "--jobs", "1")
    real, ran = guard.execute, []

    def dies(jobs, on_result, **kw):
        jobs = list(jobs)
        if ran:  # the second generation's batch: three of its runs, then the interruption
            real(jobs[:3], on_result, **kw)
            raise KeyboardInterrupt
        ran.append(len(jobs))
        real(jobs, on_result, **kw)

    monkeypatch.setattr(guard, "execute", dies)
    code, _, _ = run_cli("packages", TOY, SURE_COSTED, HALF, FAST, NULL, "--budget", "10", "--metric", METRIC,
                         "--worlds", "3", "--replications", "2", "--days", "3", "--seed", "2", "--json",
                         "--out", tmp_path / "cut", *SEARCH, "--jobs", "1")
    stored = len(list((tmp_path / "cut" / "runs").glob("*.json")))
    assert code != 0 and stored == ran[0] + 3
    monkeypatch.setattr(guard, "execute", real)
    _same(whole, _packages(tmp_path, "cut", *SEARCH, "--jobs", "1"))


@pytest.mark.parametrize("flag,low", [("--population", 2), ("--generations", 1), ("--max-packages", 1),
                                      ("--enumerate-max", 1)])
def test_bad_search_options_are_one_line(tmp_path, flag, low):
    for value in ["0", "-3"]:
        code, out, err = run_cli("packages", TOY, SURE_COSTED, HALF, "--budget", "10", "--metric", METRIC,
                                 "--days", "1", flag, value, "--out", tmp_path / "x")
        assert_one_line_error(code, out, err, flag)
    assert not (tmp_path / "x").exists()
    with pytest.raises(ScenarioError, match=flag):
        SearchOptions(**{flag[2:].replace("-", "_"): low - 1}).checked()


def test_without_pymoo_a_search_is_one_line(tmp_path, monkeypatch):
    for name in ["pymoo"] + [m for m in sys.modules if m.startswith("pymoo.")]:
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    monkeypatch.delitem(sys.modules, "reporting_sim.study.package_search", raising=False)
    code, out, err = run_cli("packages", TOY, SURE_COSTED, HALF, FAST, NULL, "--budget", "10", "--metric", METRIC,
                             "--worlds", "2", "--replications", "1", "--days", "1", "--out", tmp_path / "x", *SEARCH)
    assert_one_line_error(code, out, err, "pymoo", ".[explore]")
