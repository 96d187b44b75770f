"""The search of ``packages`` above :data:`~.packages.ENUMERATE_MAX` combinations: pymoo's
NSGA-II (Deb et al. 2002, "A fast and elitist multiobjective genetic algorithm:
NSGA-II", IEEE Transactions on Evolutionary Computation 6) over which variants are in.

* **Decision vector**: one bit per variant (in the package or not).
* **Constraints** (a package breaking one is infeasible and never run): its cost is
  within the budget, and it holds no two variants that change one setting differently
  (``conflicts``: a symmetric matrix of the pairs that cannot be composed).
* **Objectives**: each metric in its better direction, and the cost, minimised.
* **Operators**: two-point crossover and bit-flip mutation on the bits (pymoo's), with
  duplicates eliminated; the first population holds the empty package (the base, run
  first), every affordable single variant in the study's order, and random packages
  (each variant in with a chance that puts about half the budget in a package) drawn
  from the seed.
* **Size**: ``population`` packages proposed per generation for at most
  ``generations`` generations, and at most ``max_packages`` distinct packages run: a
  package met again is not run again (most offspring of a late generation are such),
  and once ``max_packages`` have run no other is (one proposed then counts as
  infeasible) and the search stops after that generation. The same seed proposes the
  same packages.

``evaluate`` gets one generation's new feasible packages at once (one batch of jobs
for the study's executor) and returns their objectives, higher better.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.config import Config
from pymoo.core.problem import Problem
from pymoo.core.termination import Termination
from pymoo.operators.crossover.pntx import TwoPointCrossover
from pymoo.operators.mutation.bitflip import BitflipMutation
from pymoo.optimize import minimize
from pymoo.termination.collection import TerminationCollection
from pymoo.termination.max_gen import MaximumGenerationTermination

from .package_sizes import BUDGET_SLACK

Config.warnings["not_compiled"] = False  # pymoo would print it on stdout (which may hold --json)

Evaluate = Callable[[list[tuple[int, ...]]], np.ndarray]


class Evaluated:
    """The packages run so far, in the order first run, with their objectives (higher
    better); ``evaluate`` runs only those not met before."""

    def __init__(self, evaluate: Evaluate, n_objectives: int, limit: int):
        self.evaluate, self.n_objectives, self.limit = evaluate, n_objectives, limit
        self.objectives: dict[tuple[int, ...], np.ndarray] = {}

    def fill(self, packages: list[tuple[int, ...]]) -> None:
        """Run the packages of ``packages`` not run before, as one batch (the first of
        them only, up to the limit)."""
        new = list(dict.fromkeys(p for p in packages if p not in self.objectives))[:self.room]
        if new:
            rows = np.asarray(self.evaluate(new), float).reshape(len(new), self.n_objectives)
            self.objectives.update(zip(new, rows))

    @property
    def room(self) -> int:
        """How many more packages may run."""
        return max(0, self.limit - len(self.objectives))

    def of(self, package: tuple[int, ...]) -> np.ndarray:
        """A package's objectives (zeros for one not run: NSGA-II ranks an infeasible
        package by its constraint violation alone)."""
        return self.objectives.get(package, np.zeros(self.n_objectives))


class Full(Termination):
    """Stops the search once ``evaluated`` has run its limit of packages."""

    def __init__(self, evaluated: Evaluated):
        super().__init__()
        self.evaluated = evaluated

    def _update(self, algorithm) -> float:
        return len(self.evaluated.objectives) / self.evaluated.limit


class PackageProblem(Problem):
    """The packages of ``costs`` within ``budget`` as a pymoo problem (module docstring)."""

    def __init__(self, costs: np.ndarray, budget: float, conflicts: np.ndarray, evaluated: Evaluated):
        super().__init__(n_var=len(costs), n_obj=evaluated.n_objectives + 1, n_ieq_constr=3, xl=0, xu=1, vtype=bool)
        self.costs, self.budget, self.evaluated = np.asarray(costs, float), float(budget), evaluated
        self.conflicts = np.asarray(conflicts, float)

    def _evaluate(self, x, out, *args, **kwargs):
        x = np.asarray(x, bool)
        cost, clashes = x @ self.costs, clash_counts(x, self.conflicts)
        packages = [package_of(row) for row in x]
        feasible = (cost <= self.budget + BUDGET_SLACK) & (clashes == 0)
        left_out = feasible & ~self._run(packages, feasible)
        out["F"] = np.column_stack([-np.array([self.evaluated.of(p) for p in packages]), cost])
        out["G"] = np.column_stack([cost - self.budget - BUDGET_SLACK, clashes, left_out])

    def _run(self, packages: list[tuple[int, ...]], feasible: np.ndarray) -> np.ndarray:
        """Run the feasible ones of ``packages`` not run before (one batch); which of
        ``packages`` have run (a feasible one that has not was left out by the cap)."""
        self.evaluated.fill([p for p, ok in zip(packages, feasible) if ok])
        return feasible & np.array([p in self.evaluated.objectives for p in packages])


def package_of(row: np.ndarray) -> tuple[int, ...]:
    """The variants (indices) a decision vector takes."""
    return tuple(int(i) for i in np.flatnonzero(row))


def clash_counts(x: np.ndarray, conflicts: np.ndarray) -> np.ndarray:
    """Per decision vector (rows of ``x``), how many pairs of its variants conflict."""
    x = np.asarray(x, float)
    return np.einsum("ij,jk,ik->i", x, conflicts, x) / 2


def first_population(costs: np.ndarray, budget: float, population: int, seed: int) -> np.ndarray:
    """The first generation (module docstring): the empty package, the affordable single
    variants, then random packages from ``seed``; ``population`` rows of bits."""
    costs = np.asarray(costs, float)
    singles = np.eye(len(costs), dtype=bool)[costs <= budget + BUDGET_SLACK]
    chance = min(0.5, budget / (2 * max(costs.sum(), 1e-9)))
    drawn = np.random.default_rng(seed).random((population, len(costs))) < chance
    return np.vstack([np.zeros((1, len(costs)), bool), singles, drawn])[:population]


def search_packages(costs, budget: float, conflicts, evaluate: Evaluate, *, n_objectives: int,
                    population: int, generations: int, max_packages: int, seed: int) -> Evaluated:
    """Search the packages of variants costing ``costs`` within ``budget`` with NSGA-II
    (module docstring); returns every package run (:class:`Evaluated`), the empty one first."""
    evaluated = Evaluated(evaluate, n_objectives, max_packages)
    problem = PackageProblem(costs, budget, conflicts, evaluated)
    algorithm = NSGA2(pop_size=population, sampling=first_population(costs, budget, population, seed),
                      crossover=TwoPointCrossover(), mutation=BitflipMutation(), eliminate_duplicates=True)
    stop = TerminationCollection(MaximumGenerationTermination(generations), Full(evaluated))
    minimize(problem, algorithm, stop, seed=seed, verbose=False, copy_termination=False)
    return evaluated
