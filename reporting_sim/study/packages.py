"""Packages of variants within a budget: several what-ifs applied together, each with a
cost, judged across plausible worlds.

**Composition** (:func:`compose`): each variant is its base plus its changes; a package
applies the changes of all its variants to the base. The changes are compared leaf by
leaf (a value under ``[set]``, a link by its ends); two variants that change the same
setting to different values cannot be composed (one line naming both and the setting).

**Costs** (:func:`cost_of`): a variant file's ``[variant.cost]`` table gives ``amount``
(a number >= 0), ``unit`` (the planner's: analysts, officers, person-months...) and
``reason`` (its provenance). A package costs the sum of its variants' amounts; every
variant of one study must name the same unit.

**The study** (:class:`Packages`): every combination of the variants within the budget
(the empty package is the base, cost 0), or, above :data:`ENUMERATE_MAX` (256)
combinations within the budget (counted without listing them: :func:`count_within`),
a search with pymoo's NSGA-II (:func:`.package_search.search_packages`): one bit per
variant; infeasible where the cost exceeds the budget or two variants of the package
change one setting differently (the conflicting pairs within the budget are listed under
``excluded``); objectives the metrics, each in its better direction, and the cost,
minimised; :data:`POPULATION` (20) packages a generation for at most
:data:`GENERATIONS` (50) generations and at most :data:`MAX_PACKAGES` (256) distinct
packages run, the empty package first; the pymoo seed is the study's. Each generation's
new packages run as one batch of jobs through the study guard, exactly as enumerated
ones (the same worlds, seeds and run store: an interrupted search, rerun, proposes the
same packages and takes their stored runs). The result's ``search`` block says how the
packages were found (``method``; a search's ``population``, ``generations``,
``max_packages``, ``evaluated``: the packages run), and the front is that of the
packages run: a search may miss part of the true front. Each package runs in ``N``
plausible worlds (Latin
hypercube over the base's ``[uncertainties]``, or a calibration's worlds file) for ``R``
replications with the world's seeds, common to every package (common random numbers).
Per package and metric the objective is the mean over the worlds of the world's mean.
The **front** holds the packages no other package beats on cost and every objective
at once (in each metric's better direction). Each package's **robustness** on the first
metric, by three measures that can rank packages differently (McPhail et al. 2018,
"Robustness metrics: how are they calculated, when should they be used and why do they
give different results?", Earth's Future 6):

* ``mean``: the mean over worlds (an expected value, indifferent to spread);
* ``minimax_regret``: the largest shortfall, over the worlds, from the best package of
  that world (Savage's regret; lower is better);
* ``satisficing``: the share of worlds where the package meets the threshold (Starr's
  domain criterion): by default, where it beats the base of the same world by at least
  the metric's minimum effect worth counting; or an absolute level (``--threshold``).

``ranking`` says how stable the order is across the three: Kendall's tau between each
pair of rankings and whether they agree on the best package.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from .. import scenario as scenario_mod
from ..errors import ScenarioError
from ..hashing import canonical, digest
from .package_sizes import BUDGET_SLACK, ENUMERATE_MAX, GENERATIONS, MAX_PACKAGES, POPULATION

SEARCH_INSTALL = 'above the combinations it runs one by one, packages searches with pymoo: pip install -e ".[explore]"'

_REMOVED = "<removed>"


# ------------------------------------------------------------------ composition

def _link_key(link: dict) -> str:
    return f"links[{link.get('from')}->{link.get('to')}]" + (f" when {canonical(link['when'])}" if link.get("when") else "")


def _links_by_key(links: list) -> dict[str, dict]:
    out, seen = {}, {}
    for link in links or []:
        k = _link_key(link)
        seen[k] = seen.get(k, 0) + 1
        out[k if seen[k] == 1 else f"{k}#{seen[k]}"] = link
    return out


def _flatten(data, prefix: tuple = ()) -> dict[tuple, object]:
    """Leaves of nested tables by their key path (a tuple: keys may hold dots)."""
    out = {}
    for k, v in data.items():
        path = prefix + (k,)
        if isinstance(v, dict) and v:
            out.update(_flatten(v, path))
        else:
            out[path] = v
    return out


KEPT = ("links", "uncertainties")
"""Top-level tables not compared leaf by leaf: links (by their ends) and the base's
uncertainties (a variant has the base's)."""


def _settings(data: dict) -> dict[tuple, object]:
    """A scenario's leaves but those of :data:`KEPT`, by key path."""
    return _flatten({k: v for k, v in data.items() if k not in KEPT})


def _diff(old: dict, new: dict, name) -> dict[str, tuple]:
    """The entries of ``new`` that differ from ``old`` and those it removed, by
    ``name(key)``: ``{name: (key, value or "<removed>")}``."""
    out = {name(k): (k, v) for k, v in new.items() if old.get(k, _REMOVED) != v}
    out.update({name(k): (k, _REMOVED) for k in old if k not in new})
    return out


def changes(base: dict, variant: dict) -> dict[str, object]:
    """What ``variant`` (a whole scenario's data) changes from ``base``: setting path ->
    new value (``links[A->B]`` a whole link; a removed setting or link: ``"<removed>"``)."""
    out = _diff(_settings(base), _settings(variant), ".".join)
    out.update(_diff(_links_by_key(base.get("links", [])), _links_by_key(variant.get("links", [])), str))
    for p in ("scenario.name", "scenario.description"):
        out.pop(p, None)
    return out


def compose(base, variants: list, label: Optional[str] = None):
    """One member with the changes of every variant in ``variants`` (members of the same
    base) applied to ``base``; a one-line error where two change one setting differently."""
    from .experiment import Member

    if not variants:
        return base
    diffs = [(v, changes(base.data, v.data)) for v in variants]
    _check_conflicts(diffs)
    data = _applied(base.data, [d for _, d in diffs])
    names = _name_package(data, variants)
    return Member(label or names, data, " + ".join(v.source for v in variants))


def _name_package(data: dict, variants: list) -> str:
    """Name and describe the package ``data`` after its ``variants``; returns their labels
    joined by ``+``. (No [uncertainties]: a package, like a variant, is a point; worlds
    come from the base's.)"""
    names = "+".join(v.label for v in variants)
    data.setdefault("scenario", {})["name"] = "pkg-" + digest(names)[:8]
    data["scenario"]["description"] = f"Package: {names}"
    return names


def _applied(base: dict, diffs: list[dict]) -> dict:
    """``base``'s settings and links with every change of ``diffs`` applied (no
    ``[uncertainties]``)."""
    flat, links = _settings(base), _links_by_key(base.get("links", []))
    _apply_changes(flat, links, diffs)
    data = _unflatten({p: v for p, v in flat.items() if not _is_removed(v)})
    data["links"] = [copy.deepcopy(v) for v in links.values() if not _is_removed(v)]
    return data


def _apply_changes(flat: dict, links: dict, diffs: list[dict]) -> None:
    """Put every change of ``diffs`` into ``flat`` (settings by path) or ``links`` (by key)."""
    for d in diffs:
        for p, value in d.values():
            (links if isinstance(p, str) else flat)[p] = value


def _check_conflicts(diffs: list) -> None:
    seen: dict[str, tuple] = {}
    for v, d in diffs:
        for p, (_, value) in d.items():
            if p in seen and seen[p][1] != value:
                other = seen[p][0]
                raise ScenarioError(v.source, p, f"changed differently by {other.label!r} ({_short(seen[p][1])}) and "
                                    f"{v.label!r} ({_short(value)}): these variants cannot be composed")
            seen.setdefault(p, (v, value))


def _short(value) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_removed(value) -> bool:
    return isinstance(value, str) and value == _REMOVED


def _unflatten(flat: dict[tuple, object]) -> dict:
    out: dict = {}
    for keys, value in flat.items():
        node = out
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = copy.deepcopy(value)
    return out


def resolve_option(ref: str):
    """A base, variant or ``A.toml+B.toml`` (the variants composed) named on the command line."""
    from .experiment import resolve_member

    parts = [p for p in ref.split("+") if p]
    if len(parts) <= 1 or scenario_mod.path_exists(Path(ref), "VARIANT"):
        return resolve_member(ref, None)
    members = [resolve_member(p, None) for p in parts]
    base = resolve_member(_shared_base(ref, members), None)
    return compose(base, members)


def _shared_base(ref: str, members: list) -> str:
    """The one base of the variants ``members`` of the package ``ref``; a one-line error
    when they have several."""
    bases = {_base_of(m) for m in members}
    if len(bases) > 1:
        raise ScenarioError(ref, "VARIANT", f"the variants of one package must share a base (got {', '.join(sorted(bases))})")
    return bases.pop()


def _variant_table(source: str, empty):
    """The ``[variant]`` table of the file ``source`` (``empty`` when it is no file or has
    no such table)."""
    return (scenario_mod.read_file(source) or {}).get("variant", empty) if Path(source).is_file() else empty


def _base_of(member) -> str:
    head = _variant_table(member.source, {})
    base = head.get("base") if isinstance(head, dict) else None
    if not base:
        raise ScenarioError(member.source, "variant.base", "only variants can be composed into a package")
    path = Path(member.source).parent / base
    return str(path) if path.is_file() else base


# ------------------------------------------------------------------ costs

def cost_of(member) -> tuple[float, str, str]:
    """A variant's cost ``(amount, unit, reason)`` from its file's ``[variant.cost]``;
    a one-line error naming the file when it has none."""
    from ..scenario.variants import cost_of as parse_cost

    head = _variant_table(member.source, None)
    cost = parse_cost(head, member.source) if isinstance(head, dict) else None
    if cost is None:
        raise ScenarioError(member.source, "variant.cost", "a package's variants each need a cost: "
                            "cost = { amount = NUMBER, unit = \"person-months\", reason = \"...\" } under [variant]")
    return cost


def combinations(labels: list[str], costs: dict[str, float], budget: float) -> list[tuple[str, ...]]:
    """Every combination of ``labels`` (the empty one included) whose cost is within ``budget``."""
    out = []
    for size in range(len(labels) + 1):
        for combo in itertools.combinations(labels, size):
            if sum(costs[a] for a in combo) <= budget + BUDGET_SLACK:
                out.append(combo)
    return out


def count_within(costs: list[float], budget: float, limit: int) -> int:
    """How many combinations of variants costing ``costs`` (the empty one included) are
    within ``budget``, counted up to ``limit + 1`` (however many there are)."""
    order, stack, n = sorted(costs), [(0, 0.0)], 0
    while stack and n <= limit:
        start, spent = stack.pop()
        n += 1
        stack.extend(_affordable_next(order, start, spent, budget))
    return n


def _affordable_next(order: list[float], start: int, spent: float, budget: float) -> list[tuple[int, float]]:
    """The combinations one variant larger (of ``order[start:]``) still within ``budget``."""
    return [(i + 1, spent + c) for i, c in enumerate(order[start:], start) if spent + c <= budget + BUDGET_SLACK]


def conflict_matrix(base, variants: list) -> tuple[np.ndarray, dict]:
    """Which pairs of ``variants`` cannot be composed: a symmetric matrix, and the one-line
    reason of each conflicting pair by their indices."""
    diffs = [(v, changes(base.data, v.data)) for v in variants]
    why = {pair: _clash(diffs, pair) for pair in itertools.combinations(range(len(variants)), 2)}
    why = {pair: text for pair, text in why.items() if text}
    return _symmetric(len(variants), list(why)), why


def _symmetric(n: int, pairs: list[tuple[int, int]]) -> np.ndarray:
    """An ``n`` x ``n`` matrix true at both ``(i, j)`` and ``(j, i)`` of each of ``pairs``."""
    matrix = np.zeros((n, n), bool)
    for i, j in pairs:
        matrix[i, j] = matrix[j, i] = True
    return matrix


def _clash(diffs: list, pair: tuple[int, int]) -> Optional[str]:
    """Why the two variants of ``pair`` cannot be composed (``None`` when they can)."""
    try:
        _check_conflicts([diffs[i] for i in pair])
    except ScenarioError as exc:
        return exc.one_line()
    return None


def pareto_front(costs: list[float], objectives: np.ndarray) -> list[int]:
    """The indices of the packages no other beats: no other costs no more and is at
    least as good on every objective (``objectives``: one row per package, signed so
    that higher is better) and strictly better on cost or one objective."""
    objectives = np.asarray(objectives, float)
    n = len(costs)
    return [i for i in range(n) if not any(_beats(costs, objectives, j, i) for j in range(n) if j != i)]


def _beats(costs: list[float], objectives: np.ndarray, j: int, i: int) -> bool:
    """Whether package ``j`` costs no more than ``i``, is at least as good on every
    objective, and strictly better on cost or one objective."""
    return bool(costs[j] <= costs[i] and np.all(objectives[j] >= objectives[i])
                and (costs[j] < costs[i] or np.any(objectives[j] > objectives[i])))


def robustness_measures(values: np.ndarray, base: np.ndarray, sign: int, least: float,
                        threshold: Optional[float] = None) -> dict[str, np.ndarray]:
    """Per package (rows of ``values``: package x world), the three robustness measures
    of the module docstring, in the metric's units: ``mean``, ``minimax_regret`` and
    ``satisficing`` (share of worlds meeting the threshold)."""
    signed = sign * np.asarray(values, float)
    regret = signed.max(axis=0)[None, :] - signed
    if threshold is None:
        meets = signed - sign * np.asarray(base, float)[None, :] >= least - 1e-12
    else:
        meets = signed >= sign * threshold
    return {"mean": np.asarray(values, float).mean(axis=1), "minimax_regret": regret.max(axis=1),
            "satisficing": meets.mean(axis=1)}


def ranking_stability(measures: dict[str, np.ndarray], sign: int, labels: list[str]) -> dict:
    """How the three measures rank the packages: each one's best, Kendall's tau between
    each pair of rankings (1: the same order), and whether all agree on the best."""
    score = {"mean": sign * measures["mean"], "minimax_regret": -measures["minimax_regret"],
             "satisficing": measures["satisficing"]}
    best = {k: labels[int(np.argmax(v))] for k, v in score.items()}
    taus = {f"{a}~{b}": _kendall_tau(score[a], score[b], len(labels))
            for a, b in itertools.combinations(score, 2)}
    return {"best_by": best, "same_best": len(set(best.values())) == 1, "kendall_tau": taus}


def _kendall_tau(a: np.ndarray, b: np.ndarray, n: int) -> Optional[float]:
    """Kendall's tau between the rankings ``a`` and ``b`` of ``n`` packages (None when
    undefined: one package, or ties throughout)."""
    from scipy.stats import kendalltau

    tau = kendalltau(a, b).statistic if n > 1 else float("nan")
    return None if tau is None or math.isnan(tau) else float(tau)


# ------------------------------------------------------------------ the study

def _check_metrics(base, variants: list, metrics: list[str]) -> None:
    """A one-line error when there is no variant or a metric is no flat metric of ``base``."""
    from ..metric_names import flat_names
    from .selection import check_spec

    if not variants:
        raise ScenarioError("packages", "VARIANT", "give at least one variant")
    known = flat_names(base.scenario.consumers, list(base.scenario.cells))
    for m in metrics:
        check_spec(m, 1.0, 0.5, known, "packages")


class Packages:
    """Combinations of costed variants of one base within a budget, across plausible
    worlds (module docstring)."""

    def __init__(self, base, variants: list, *, budget: float, metrics: list[str], worlds: Optional[int] = 20,
                 worlds_from: Optional[Path] = None, replications: int, days: float, seed: int,
                 threshold: Optional[float] = None, min_effects: Optional[dict] = None,
                 search: Optional["SearchOptions"] = None):
        from ..metric_names import min_effect
        from .selection import plausible_worlds

        _check_metrics(base, variants, metrics)
        self.base, self.variants, self.metrics = base, variants, list(dict.fromkeys(metrics))
        self.costs, self.unit = self._costs(variants)
        self._check_budget(budget)
        self.budget, self.replications, self.days, self.seed, self.threshold = \
            float(budget), replications, days, seed, threshold
        self.least = min_effect(self.metrics[0], min_effects)
        self.packages, self.excluded = self._start(search or SearchOptions())
        self.runs_field = "--worlds" if worlds_from is None else "--worlds-from"
        self.worlds, self.space, self.worlds_source = plausible_worlds(
            base, worlds if worlds or worlds_from else 20, worlds_from, seed, check=self.check_runs)
        self.name = "packages-" + base.label + "-" + self.design()[:8]

    # -- the study guard -----------------------------------------------------------
    def planned_runs(self, n_worlds: Optional[int] = None) -> int:
        """Every package in every world, ``replications`` times (a search: the most
        packages it may run)."""
        return self._n_planned() * (n_worlds or len(self.worlds)) * self.replications

    def _n_planned(self) -> int:
        """The packages enumerated, or the most a search runs."""
        return self.search.max_packages if self.searched else len(self.packages)

    def runs_how(self, n_worlds: Optional[int] = None) -> str:
        return (f"{self._n_planned()} packages x {n_worlds or len(self.worlds)} worlds x {self.replications} "
                "replications")

    def check_runs(self, n_worlds: int) -> None:
        """The run limit for ``n_worlds`` worlds (before they are drawn)."""
        from . import guard

        guard.check_runs(self.planned_runs(n_worlds), "packages", self.runs_field, self.runs_how(n_worlds))

    def plan(self):
        from . import guard

        return guard.Plan("packages", self.name, self.design(), self.planned_runs(), source="packages",
                          field=self.runs_field, how=self.runs_how())

    def _costs(self, variants) -> tuple[dict[str, float], str]:
        costs, units = {}, {}
        for v in variants:
            amount, unit, _ = cost_of(v)
            costs[v.label], units[v.label] = amount, unit
        if len(set(units.values())) > 1:
            a, b = sorted(set(units.values()))[:2]
            raise ScenarioError("packages", "variant.cost.unit", f"the variants' costs are in different units "
                                f"({a} and {b}); give every variant of one study the same unit")
        return costs, next(iter(units.values()))

    def _check_budget(self, budget: float) -> None:
        if not math.isfinite(budget) or budget < 0:
            raise ScenarioError("packages", "--budget", f"must be a finite number of at least 0 (got {budget!r})")
        cheapest = min(self.costs.values())
        if budget < cheapest:
            raise ScenarioError("packages", "--budget", f"{budget:g} {self.unit} is below every option's cost (the "
                                f"cheapest, {min(self.costs, key=self.costs.get)}, costs {cheapest:g})")

    def _packages(self) -> tuple[list, list[dict]]:
        combos = self._combinations()
        by = {v.label: v for v in self.variants}
        out, excluded = [], []
        for combo in combos:
            try:
                out.append((combo, self._composed(combo, by)))
            except ScenarioError as exc:
                excluded.append({"variants": list(combo), "why": exc.one_line()})
        return out, excluded

    def _combinations(self) -> list[tuple[str, ...]]:
        """Every combination within the budget."""
        return combinations([v.label for v in self.variants], self.costs, self.budget)

    def _start(self, search: "SearchOptions") -> tuple[list, list[dict]]:
        """Whether to search (more than ``search.enumerate_max`` combinations within the
        budget); the packages to run and those excluded (or a search's start)."""
        self.search = search.checked()
        limit = self.search.enumerate_max
        self.searched = count_within(list(self.costs.values()), self.budget, limit) > limit
        return self._conflicting_pairs() if self.searched else self._packages()

    def _conflicting_pairs(self) -> tuple[list, list[dict]]:
        """A search's start: no package yet, and as ``excluded`` the pairs of variants
        within the budget that cannot be composed (every package holding one is infeasible)."""
        self.conflicts, why = conflict_matrix(self.base, self.variants)
        labels = [v.label for v in self.variants]
        pairs = [[labels[i], labels[j]] for i, j in why]
        return [], [{"variants": pair, "why": text} for pair, text in zip(pairs, why.values()) if self._affordable(pair)]

    def _affordable(self, labels: list[str]) -> bool:
        """Whether the variants ``labels`` together are within the budget."""
        return sum(self.costs[a] for a in labels) <= self.budget + BUDGET_SLACK

    def _composed(self, combo: tuple[str, ...], by: dict):
        """The member of the package ``combo`` (the base itself for the empty one)."""
        return compose(self.base, [by[a] for a in combo], "+".join(combo) or self.base.label)

    def design(self) -> str:
        return digest([[self.base.label, self.base.data], [[v.label, v.data] for v in self.variants], self.budget,
                       self.metrics, self.worlds, self.replications, self.days, self.seed, self.threshold, self.least]
                      + ([self.search.design()] if self.searched else []))

    def _jobs(self, first: int = 0) -> list[tuple[int, int, int, object]]:
        """The jobs of the packages from the ``first``-th on: (package, world, replication, job)."""
        return [j for p in range(first, len(self.packages)) for j in self._package_jobs(p)]

    def _package_jobs(self, p: int) -> list[tuple[int, int, int, object]]:
        """The ``p``-th package in every world, ``replications`` times, with the world's seeds."""
        from .execution import Job
        from .seeds import world_seed

        member = self.packages[p][1]
        held = self.space.held_by(member.data, self.base.data)
        out = []
        for w, world in enumerate(self.worlds):
            data = self.space.apply(member.data, world, member.source, held)
            out += [(p, w, r, Job.make(f"{member.label}@w{w}", data, f"{member.source} (world {w})", r,
                                       world_seed(self.seed, w, r), self.days)) for r in range(self.replications)]
        return out

    def run(self, folder: Optional[Path] = None, *, n_jobs: Optional[int] = None, dask=None,
            progress: bool = False) -> dict:
        """Run (or resume) every package in every world through the study guard
        (:mod:`.guard`); returns the result and its ``wall_time_s``."""
        from . import guard
        from .execution import progress_bar

        with guard.claim(folder, self.plan(), n_jobs=n_jobs, dask=dask) as g:
            bar = progress_bar(progress, self.planned_runs(), self.name)
            try:
                jobs, rows = self._search(g, bar) if self.searched else self._run_all(g, bar)
            finally:
                if bar is not None:
                    bar.close()
            result = self.result(self._means(jobs, rows))
            g.write("result.json", json.dumps(result, indent=2, default=str) + "\n")
            g.write("run.json", json.dumps({"study": self.name, "runs": len(jobs), "timings": guard.TIMINGS_FILE},
                                           indent=2) + "\n")
        return {**result, "wall_time_s": g.wall_s}

    def _run_all(self, g, bar) -> tuple[list, dict]:
        """Every enumerated package's jobs, run as one batch, and their rows."""
        jobs = self._jobs()
        return jobs, g.run([j for *_, j in jobs], bar)

    def _search(self, g, bar) -> tuple[list, dict]:
        """The NSGA-II search (:mod:`.package_search`): each generation's new packages run
        as one batch of jobs; every package run, its jobs and their rows."""
        search_packages = _search_function()
        jobs, rows, self.packages = [], {}, []

        def evaluate(batch: list[tuple[int, ...]]) -> np.ndarray:
            first = len(self.packages)
            self.packages += [self._indexed(combo) for combo in batch]
            new = self._jobs(first)
            jobs.extend(new)
            rows.update(g.run([j for *_, j in new], bar))
            return self._signed(self._means(new, rows, first))

        search_packages([self.costs[v.label] for v in self.variants], self.budget, self.conflicts, evaluate,
                        n_objectives=len(self.metrics), population=self.search.population,
                        generations=self.search.generations, max_packages=self.search.max_packages, seed=self.seed)
        return jobs, rows

    def _indexed(self, combo: tuple[int, ...]) -> tuple:
        """The package of the variants of indices ``combo``: (labels, member)."""
        labels = tuple(self.variants[i].label for i in combo)
        return labels, self._composed(labels, {v.label: v for v in self.variants})

    def _signed(self, means: dict[str, np.ndarray]) -> np.ndarray:
        """Packages' objectives (mean over worlds) in each metric's better direction (higher better)."""
        from ..metric_names import direction

        return np.column_stack([direction(m) * means[m].mean(axis=1) for m in self.metrics])

    def _means(self, jobs: list, rows: dict, first: int = 0) -> dict[str, np.ndarray]:
        """Per metric, the mean in each world (package x world) of each package from the
        ``first``-th on, from ``jobs`` (theirs) and their ``rows``."""
        shape = (len(self.packages) - first, len(self.worlds), self.replications)
        values = {m: np.full(shape, np.nan) for m in self.metrics}
        for p, w, r, job in jobs:
            for m in self.metrics:
                values[m][p - first, w, r] = _number(rows[job.key].get(m))
        return {m: np.nanmean(v, axis=2) for m, v in values.items()}

    def result(self, means: dict[str, np.ndarray]) -> dict:
        """The study as plain data from each package's per-world means (package x world)."""
        from ..metric_names import direction

        sign = direction(self.metrics[0])
        labels = [member.label for _, member in self.packages]
        rob = robustness_measures(means[self.metrics[0]], means[self.metrics[0]][0], sign, self.least,
                                  self.threshold)
        entries = self._entries(means, rob)
        satisficing = {"threshold": self.threshold} if self.threshold is not None else {"beats_base_by": self.least}
        return {"budget": self.budget, "unit": self.unit, "metrics": self.metrics, "base": self.base.label,
                "front": sorted([e for e in entries if e["on_front"]], key=lambda e: e["cost"]),
                "packages": entries, "excluded": self.excluded,
                "ranking": ranking_stability(rob, sign, labels),
                "satisficing": satisficing,
                "costs": self._cost_table(), "search": self._search_block(),
                "worlds": len(self.worlds), "worlds_source": self.worlds_source, "replications": self.replications,
                "days": self.days, "seed": self.seed,
                "runs": len(self.packages) * len(self.worlds) * self.replications}

    def _search_block(self) -> dict:
        """How the packages were found: every combination, or the search with its size."""
        if not self.searched:
            return {"method": "every combination", "combinations": len(self.packages) + len(self.excluded),
                    "enumerate_max": self.search.enumerate_max}
        return {"method": "NSGA-II (pymoo)", **self.search.block(), "evaluated": len(self.packages)}

    def _cost_table(self) -> dict:
        """Each variant's cost and the reason its file gives."""
        return {v.label: {"amount": self.costs[v.label], "reason": cost_of(v)[2]} for v in self.variants}

    def _entries(self, means: dict[str, np.ndarray], rob: dict) -> list[dict]:
        """Each package: its variants, cost, objectives, robustness and whether it is on the front."""
        from ..metric_names import direction

        costs = [sum(self.costs[a] for a in combo) for combo, _ in self.packages]
        objectives = {m: means[m].mean(axis=1) for m in self.metrics}
        front = set(pareto_front(costs, np.column_stack([direction(m) * objectives[m] for m in self.metrics])))
        return [_entry(p, combo, member, costs, objectives, rob, front)
                for p, (combo, member) in enumerate(self.packages)]


@dataclass
class SearchOptions:
    """When ``packages`` searches and how far (module docstring): above ``enumerate_max``
    combinations within the budget, NSGA-II with ``population`` packages a generation for
    at most ``generations`` generations and at most ``max_packages`` distinct packages run."""

    enumerate_max: int = ENUMERATE_MAX
    population: int = POPULATION
    generations: int = GENERATIONS
    max_packages: int = MAX_PACKAGES

    def checked(self) -> "SearchOptions":
        """The options, or a one-line error for a count out of range."""
        for name, low in [("enumerate_max", 1), ("population", 2), ("generations", 1), ("max_packages", 1)]:
            _check_count(name, getattr(self, name), low)
        return self

    def block(self) -> dict:
        """The search's size, for the result's ``search`` block."""
        return {"population": self.population, "generations": self.generations, "max_packages": self.max_packages,
                "enumerate_max": self.enumerate_max}

    def design(self) -> list:
        """What the search computes, for the study's design id."""
        return ["NSGA-II", self.population, self.generations, self.max_packages]


def _check_count(name: str, value, low: int) -> None:
    """A one-line error unless ``value`` is a whole number of at least ``low``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ScenarioError("packages", "--" + name.replace("_", "-"), f"must be a whole number of at least {low} "
                            f"(got {value!r})")


def _search_function():
    """:func:`.package_search.search_packages` (a one-line error when pymoo is missing)."""
    try:
        from .package_search import search_packages
    except ImportError:
        raise ScenarioError("packages", "--budget", SEARCH_INSTALL) from None
    return search_packages


def _entry(p: int, combo: tuple, member, costs: list, objectives: dict, rob: dict, front: set) -> dict:
    """The ``p``-th package of the result: its variants, cost, objectives, robustness
    and whether it is on the front."""
    return {"variants": list(combo), "label": member.label, "cost": costs[p],
            "objectives": {m: float(v[p]) for m, v in objectives.items()},
            "robustness": {k: float(v[p]) for k, v in rob.items()}, "on_front": p in front}


def _number(v) -> float:
    """A run's metric value as a float (NaN when the run has none)."""
    return np.nan if v is None else float(v)
