"""Experiments: replications, paired what-if comparisons, sweeps and sensitivity.

An experiment is data (a TOML file, or the arguments of ``reporting-sim compare``):

* a **comparison** runs a base scenario and variants, each for the same replications
  with the same seeds (common random numbers: replication ``r`` of every scenario
  uses seed ``seed + r`` and the same named random streams), and reports each metric's
  mean with a t-based 95% interval and, for each variant, the paired difference from
  the base with its interval;
* a **sweep** varies scenario parameters named by dotted path (``cells.u2.analysts``,
  ``links[soltg->asifu].p``) over a factorial grid, a Latin hypercube, or the designs of
  SALib's Morris and Sobol methods, runs every point with the same replications, and
  ranks the parameters by their effect on one metric.

The number of replications is fixed, or grown in batches until a target interval
half-width holds. Runs go through :mod:`.execution` (serial, a process pool, or Dask)
and are stored one file per run, so an interrupted experiment resumes where it
stopped; the folder then gets ``runs.parquet`` (one row per run), ``summary.csv``,
``result.json``, the resolved scenarios and ``run.json`` (versions, timing).
"""

from __future__ import annotations

import copy
import io
import itertools
import json
import math
import re
from pathlib import Path
from typing import Annotated, Literal, Optional

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..scenario import variants
from . import guard, output
from .. import arguments
from .. import scenario as scenario_mod
from ..measures import stats
from ..measures.stats import number_or_none
from ..errors import ScenarioError
from .execution import Job, close_bar, progress_bar, set_bar_total
from ..hashing import digest
from ..metric_names import JSON_UNITS, clip, examples, flat_names
from ..model.streams import replication_seed

KEY_OUTCOMES = ("in_time", "current.in_time", "long_term.in_time", "late", "not_shared", "withheld",
                "latency_p50", "current.latency_p50", "fidelity")


def default_metrics(consumers: list[str]) -> list[str]:
    """The metrics a comparison reports when none are named."""
    out = [f"{c}.{m}" for c in consumers for m in KEY_OUTCOMES]
    return out + ["bypass_rate", "duplication.share"]


def _examples(sc) -> str:
    """A few flat metric names of scenario ``sc``, for error messages."""
    return examples(sc.consumers, list(sc.cells))


# ------------------------------------------------------------------ experiment files

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class Target(_Strict):
    """Add replications in batches until the 95% half-width of ``metric`` is at most
    ``half_width`` (``on = "diff"``: every variant's paired difference; ``"mean"``:
    every scenario's mean), or ``max_replications`` is reached."""

    metric: str
    half_width: Annotated[float, Field(gt=0)]
    on: Literal["diff", "mean"] = "diff"
    min_replications: Annotated[int, Field(ge=2, le=100000)] = 5
    max_replications: Annotated[int, Field(ge=2, le=100000)] = 200
    batch: Annotated[int, Field(ge=1, le=100000)] = 5

    @model_validator(mode="after")
    def _min_below_max(self):
        if self.min_replications > self.max_replications:
            raise ValueError("min_replications: must be at most max_replications")
        return self


MAX_SWEPT = 1e15
"""The largest size of a swept number: beyond it an integer parameter loses its
meaning (and ``high - low`` of two doubles can overflow)."""


class Parameter(_Strict):
    """A swept parameter: ``values`` (grid), or ``low`` and ``high`` (sampled)."""

    values: Optional[Annotated[list, Field(strict=False, min_length=1)]] = None
    low: Optional[float] = None
    high: Optional[float] = None

    @model_validator(mode="after")
    def _one_form(self):
        problem = _range_problem(self.values, self.low, self.high) or _values_problem(self.values or ())
        if problem:
            raise ValueError(problem)
        return self


def _range_problem(values: Optional[list], low: Optional[float], high: Optional[float]) -> str:
    """What is wrong with a parameter's form (``values``, or ``low`` and ``high``) and
    its range (low below high, both within :data:`MAX_SWEPT`); ``""`` when nothing."""
    if (values is None) == (low is None or high is None):
        return "give either values = [...] or low and high"
    return "" if low is None or high is None else _bounds_problem(low, high)


def _bounds_problem(low: float, high: float) -> str:
    """What is wrong with a sampled parameter's bounds (low below high, both within
    :data:`MAX_SWEPT`), or ``""``."""
    if not low < high:
        return "low must be less than high"
    return f"low and high: at most {MAX_SWEPT:g} in size" if max(abs(low), abs(high)) > MAX_SWEPT else ""


def _values_problem(values) -> str:
    """The complaint about the first value of a grid that is not a finite number within
    :data:`MAX_SWEPT`, a boolean or a string; ``""`` when every value is one."""
    for v in values:
        if not _sweepable(v):
            return (f"values: each a finite number (at most {MAX_SWEPT:g} in size), a boolean "
                    f"or a string (got {v!r})")
    return ""


def _sweepable(v) -> bool:
    """Whether ``v`` can be a grid value: not a table or list, and a number only when
    finite and within :data:`MAX_SWEPT` (booleans are settings, not numbers)."""
    if isinstance(v, (dict, list)) or (isinstance(v, float) and not math.isfinite(v)):
        return False
    return not isinstance(v, (int, float)) or isinstance(v, bool) or abs(v) <= MAX_SWEPT


class Sweep(_Strict):
    """``[sweep]``: which design, how many samples, and the metric to rank by."""

    method: Literal["grid", "lhs", "morris", "sobol"]
    parameters: Annotated[dict[str, Parameter], Field(min_length=1)]
    samples: Annotated[int, Field(ge=1, le=100000)] = 8
    metric: Optional[str] = None
    """The metric to rank by (default: ``CONSUMER.current.in_time`` of the base
    scenario's headline consumer, :func:`reporting_sim.metrics.headline_consumer`)."""
    levels: Annotated[int, Field(ge=2, le=20)] = 4

    @model_validator(mode="after")
    def _forms(self):
        for name, p in self.parameters.items():
            problem = _form_problem(self.method, p)
            if problem:
                raise ValueError(f"parameters.{name}: {problem}")
        return self


def _form_problem(method: str, p: Parameter) -> str:
    """What a parameter lacks for the sweep's ``method`` (a grid takes values, the
    sampled designs low and high), or ``""``."""
    if method == "grid":
        return "a grid needs values = [...]" if p.values is None else ""
    return f"{method} needs low and high" if p.low is None else ""



class Spec(_Strict):
    """``[experiment]``: what to run."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", max_length=120)]
    description: str = ""
    base: str
    variants: Annotated[list[str], Field(strict=False)] = []
    metrics: Optional[Annotated[list[str], Field(strict=False)]] = None
    days: Annotated[float, Field(gt=0, le=36600)] = 365.0
    seed: Annotated[int, Field(ge=0, le=arguments.MAX_STUDY_SEED)] = 1
    replications: Annotated[int, Field(ge=1, le=100000)] = 10
    warmup_days: Annotated[float, Field(ge=0)] = 0.0
    target: Optional[Target] = None


class ExperimentFile(_Strict):
    experiment: Spec
    sweep: Optional[Sweep] = None

    @model_validator(mode="after")
    def _check(self):
        """A sweep has no variants; the warm-up is shorter than the run."""
        if self.sweep is not None and self.experiment.variants:

            raise ValueError("experiment.variants: a sweep varies the base only; leave variants out")
        if self.experiment.warmup_days >= self.experiment.days:
            raise ValueError("experiment.warmup_days: must be less than days")
        return self


def load_spec(path: str | Path) -> ExperimentFile:
    """Read and validate an experiment file."""
    path = Path(path)
    data = scenario_mod.read_file(path)
    try:
        return ExperimentFile.model_validate(data)
    except ValidationError as exc:
        raise scenario_mod.first_error(exc, str(path)) from None


# ------------------------------------------------------------------ scenarios

class Member:
    """One scenario of an experiment: its label, data and source."""

    def __init__(self, label: str, data: dict, source: str, params: Optional[dict] = None):
        self.label = label
        self.data = data
        self.source = source
        self.params = params or {}
        self.scenario = scenario_mod.parse(copy.deepcopy(data), source)


def resolve_member(ref: str, folder: Optional[Path], source: str = "", field: str = "") -> Member:
    """A scenario, variant file or built-in named in an experiment; its label is its
    scenario name. In an experiment file (``folder`` is its folder) a path is relative
    to that folder only, never the working folder; a missing one is an error naming
    the experiment file (``source``) and the ``field``."""
    where = ref if folder is None else _in_folder(ref, folder, source, field)
    data, source = scenario_mod.load_data(where)
    sc = scenario_mod.parse(copy.deepcopy(data), source)
    return Member(sc.name, data, source)


def _in_folder(ref: str, folder: Path, source: str, field: str) -> Path:
    """What ``ref`` names in an experiment file in ``folder``: a built-in or an
    absolute path as it is, else a path in that folder, which must exist."""
    path = Path(ref)
    if ref in scenario_mod.builtin_names() or path.is_absolute():
        return path
    path = folder / path
    if not scenario_mod.path_exists(path, field):
        raise ScenarioError(source, field, f"no file {str(path)!r} (paths are relative to the experiment "
                            f"file) and no built-in scenario {ref!r}")
    return path


_LINK = re.compile(r"^links\[([^\]]+?)->([^\]]+?)\]\.(\w+)$")


def set_param(data: dict, path: str, value, source: str) -> None:
    """Set a swept parameter: a dotted path, or ``links[FROM->TO].FIELD`` (every link
    from FROM to TO)."""
    m = _LINK.match(path)
    if m:
        _set_links(data, m.groups(), path, value, source)
    else:
        variants.set_path(data, path, value, source, f"sweep.parameters.{path}")


def _set_links(data: dict, parts: tuple[str, str, str], path: str, value, source: str) -> None:
    """Set field ``parts[2]`` of every link from ``parts[0]`` to ``parts[1]`` (at least one)."""
    src, dst, fld = parts
    hits = _links_between(data, src, dst)
    if not hits:
        raise ScenarioError(source, f"sweep.parameters.{path}", f"no link from {src!r} to {dst!r}")
    for link in hits:
        link[fld] = value


def _links_between(data: dict, src: str, dst: str) -> list[dict]:
    """The scenario's links from ``src`` to ``dst`` (any number of them)."""
    return [link for link in data.get("links", []) if link.get("from") == src and link.get("to") == dst]


def get_param(data: dict, path: str):
    """The value at a sweep path (``None`` when there is none): the same paths as
    ``[uncertainties]`` read, so both resolve a path one way."""
    from ..scenario.uncertainties import get_path

    return get_path(data, path)


def design_size(sweep: Sweep) -> int:
    """How many points a sweep's design has, counted without building it."""
    d = len(sweep.parameters)
    if sweep.method == "grid":
        return math.prod(len(p.values) for p in sweep.parameters.values())
    return sweep.samples * {"lhs": 1, "morris": d + 1, "sobol": d + 2}[sweep.method]


def check_planned_runs(points: int, spec: Spec, source: str, field: str) -> None:
    """Refuse a plan of more runs than the limit (``REPORTING_SIM_MAX_RUNS``) before
    anything is expanded or run: ``points`` scenarios, each for the most replications
    the spec may ask for."""
    reps = spec.target.max_replications if spec.target is not None else spec.replications
    guard.check_runs(points * reps, source, field, f"{points} scenarios x {reps} replications")


def sweep_points(sweep: Sweep, seed: int) -> tuple[list[dict], Optional[dict], Optional[np.ndarray]]:
    """The parameter settings of a sweep; for Morris and Sobol also SALib's problem and
    sample matrix (needed to analyse the results)."""
    names = list(sweep.parameters)
    params = sweep.parameters
    if sweep.method == "grid":
        return _grid_points(params, names), None, None
    bounds = [[params[n].low, params[n].high] for n in names]
    if sweep.method == "lhs":
        x = _lhs_sample(sweep, bounds, seed)
        return _rows_as_points(names, x), None, x
    problem = {"num_vars": len(names), "names": names, "bounds": bounds}
    x = _SALIB_SAMPLES[sweep.method](problem, sweep, seed)
    return _rows_as_points(names, x), problem, x


def _grid_points(params: dict, names: list[str]) -> list[dict]:
    """Every combination of the parameters' values (the last varying fastest)."""
    return [dict(zip(names, vals)) for vals in itertools.product(*[params[n].values for n in names])]


def _rows_as_points(names: list[str], x: np.ndarray) -> list[dict]:
    """Each row of a sample matrix as a point: parameter name -> value."""
    return [dict(zip(names, row.tolist())) for row in x]


def _lhs_sample(sweep: Sweep, bounds: list[list[float]], seed: int) -> np.ndarray:
    """A Latin hypercube of ``sweep.samples`` points scaled to the parameters' bounds."""
    from scipy.stats import qmc

    unit = qmc.LatinHypercube(d=len(bounds), seed=np.random.default_rng(seed)).random(sweep.samples)
    return qmc.scale(unit, [b[0] for b in bounds], [b[1] for b in bounds])


def _morris_sample(problem: dict, sweep: Sweep, seed: int) -> np.ndarray:
    """SALib's Morris trajectories (``sweep.samples`` of them, on ``sweep.levels`` levels)."""
    from SALib.sample import morris as morris_sample

    return morris_sample.sample(problem, sweep.samples, num_levels=sweep.levels, seed=seed)


def _sobol_sample(problem: dict, sweep: Sweep, seed: int) -> np.ndarray:
    """SALib's Saltelli sample for first-order and total Sobol indices."""
    from SALib.sample import sobol as sobol_sample

    return sobol_sample.sample(problem, sweep.samples, calc_second_order=False, seed=seed)


_SALIB_SAMPLES = {"morris": _morris_sample, "sobol": _sobol_sample}
"""The sample matrix of each SALib method, by name."""


def _typed(value, like):
    """A design point's value in the type of the base's own value ``like`` (a switch
    rounds to a boolean, an integer setting to a whole number)."""
    if isinstance(like, bool):
        return bool(round(value)) if isinstance(value, (int, float)) else value
    if isinstance(like, int) and isinstance(value, float):
        return int(round(value))
    return value


def sweep_members(base: Member, sweep: Sweep, seed: int):
    """The scenarios of a sweep (one per design point), SALib's problem and the sample matrix."""
    points, problem, x = sweep_points(sweep, seed)
    return [_point_member(base, i, point) for i, point in enumerate(points)], problem, x


def _point_member(base: Member, i: int, point: dict) -> Member:
    """Design point ``i``: the base with the point's settings, each in the type of the
    base's own value."""
    data = copy.deepcopy(base.data)
    data.pop("uncertainties", None)  # a sweep point is one world: the base's ranges may tie what it sets apart
    typed = {}
    for path, value in point.items():
        v = _typed(value, get_param(base.data, path))
        set_param(data, path, v, base.source)
        typed[path] = v
    return Member(f"p{i:04d}", data, f"{base.source} (sweep point {i})", typed)



# ------------------------------------------------------------------ running

DESIGN_FILE = guard.DESIGN_FILE
"""Marks an experiment's folder as its own (see :mod:`.guard`)."""

class Experiment:
    """A comparison or a sweep, ready to run (see the module docstring)."""

    def __init__(self, spec: Spec, members: list[Member], sweep: Optional[Sweep] = None,
                 problem=None, design=None, spec_text: str = "", extra: tuple = (),
                 where: tuple[str, str] = ("", "replications")):
        self.spec = spec
        self.extra = tuple(extra)  # measures beyond the flat metrics (the study's patterns)
        self.where = where  # the source and field that set the number of runs (for the run limit's message)
        self.members = members
        self.sweep = _ranked_by(sweep, members[0])
        self.problem = problem
        self.design = design
        self.spec_text = spec_text
        self.metrics = _experiment_metrics(spec, self.sweep, members[0].scenario.consumers)
        for m in members:
            _check_known(self.metrics, m, spec.name)
        self.rows: list[dict] = []
        self.run_seconds = 0.0

    @classmethod
    def from_file(cls, path: str | Path) -> "Experiment":
        """An experiment file: a comparison of its base and variants, or a sweep of its base."""
        path = Path(path)
        ef = load_spec(path)
        folder = path.parent
        base = resolve_member(ef.experiment.base, folder, str(path), "experiment.base")
        if ef.sweep is None:
            check_planned_runs(1 + len(ef.experiment.variants), ef.experiment, str(path), "experiment.replications")
            members = [base] + [resolve_member(v, folder, str(path), f"experiment.variants[{i}]")
                                for i, v in enumerate(ef.experiment.variants)]
            unique_labels(members, str(path))
            return cls(ef.experiment, members, spec_text=path.read_text("utf-8"),
                       where=(str(path), "experiment.replications"))
        check_planned_runs(design_size(ef.sweep), ef.experiment, str(path), "sweep")
        members, problem, design = sweep_members(base, ef.sweep, ef.experiment.seed)
        return cls(ef.experiment, members, ef.sweep, problem, design, path.read_text("utf-8"), where=(str(path), "sweep"))

    @classmethod
    def comparison(cls, base: str, variant_refs: list[str], *, replications: int, days: float, seed: int,
                   metrics: Optional[list[str]] = None, warmup_days: float = 0.0) -> "Experiment":
        n = 1 + len(variant_refs)
        guard.check_runs(n * replications, "compare", "--replications", f"{n} scenarios x {replications} replications")
        members = [resolve_member(ref, None) for ref in [base, *variant_refs]]
        unique_labels(members, "compare")
        name = "compare-" + members[0].label + "-" + digest([[m.label, m.data] for m in members]
                                                            + [replications, days, seed, warmup_days])[:8]
        spec = Spec(name=name, base=base, variants=list(variant_refs), metrics=metrics, days=days,
                    seed=seed, replications=replications, warmup_days=warmup_days)
        return cls(spec, members, where=("compare", "--replications"))

    # -- jobs --------------------------------------------------------------------
    def jobs(self, replications: range) -> list[Job]:
        s = self.spec
        return [Job.make(m.label, m.data, m.source, r, replication_seed(s.seed, r), s.days, s.warmup_days,
                         self.extra) for r in replications for m in self.members]

    def override(self, *, replications: Optional[int] = None, days: Optional[float] = None) -> str:
        """Replace the file's replications (a fixed number, no target) and days per run
        (a smaller trial of the same design); returns the name the overrides give the
        experiment's default folder (``NAME-r4-d30``)."""
        update, name = {}, self.spec.name
        if replications is not None:
            update.update(replications=replications, target=None)
            name += f"-r{replications}"
        if days is not None:
            self._check_days(days)
            update["days"] = days
            name += f"-d{days:g}"
        self.spec = self.spec.model_copy(update=update)
        return name

    def _check_days(self, days: float) -> None:
        """``--days`` must exceed the file's warm-up (one line otherwise)."""
        if self.spec.warmup_days >= days:
            raise ScenarioError("", "--days", f"must be more than the file's warmup_days ({self.spec.warmup_days:g})")

    def run(self, folder: Optional[Path] = None, *, n_jobs: Optional[int] = None, dask=None,
            progress: bool = False) -> dict:
        """Run (or resume) the experiment; returns its result (see :meth:`result`) and
        its ``wall_time_s``. It goes through the study guard (:mod:`.guard`): the run
        limit, and ``folder`` new, empty or this experiment's own (same design), locked
        while it runs, cleaned up after a failed start."""
        with guard.claim(folder, self.plan(), n_jobs=n_jobs, dask=dask) as g:
            self._write_inputs(g)
            result = self._run(g, progress)
            self._write_outputs(g, result)
        return {**result, "wall_time_s": g.wall_s}

    def plan(self) -> guard.Plan:
        """The experiment for the study guard: its design and the most runs it may plan."""
        target = self.spec.target
        reps = target.max_replications if target is not None else self.spec.replications
        n = len(self.members)
        return guard.Plan("experiment", self.spec.name, self.design_id(), n * reps, source=self.where[0],
                          field=self.where[1], how=f"{n} scenarios x {reps} replications")

    def design_id(self) -> str:
        """What the experiment computes, whatever its replication count or metrics:
        its scenarios, horizon, warm-up, seed and sweep (a rerun with more
        replications extends the same folder; a different design is refused)."""
        return digest([[[m.label, m.data] for m in self.members], self.spec.days, self.spec.warmup_days,
                       self.spec.seed, self.sweep.model_dump() if self.sweep else None])

    def _run(self, g: guard.Claim, progress) -> dict:
        """Run the replications (with a target, in batches until it holds) and return the result."""
        target = self.spec.target
        reps = target.min_replications if target else self.spec.replications
        bar = progress_bar(progress, len(self.members) * reps, self.spec.name)
        try:
            self._run_batches(g, bar, reps)
        finally:
            close_bar(bar)
        self.run_seconds = g.run_seconds
        return self.result()

    def _run_batches(self, g: guard.Claim, bar, reps: int) -> None:
        """Run replications ``0..reps``, then ``target.batch`` more at a time until the
        target's half-width holds or its ``max_replications`` is reached."""
        target, done = self.spec.target, 0
        while True:
            g.run(self.jobs(range(done, reps)), bar)
            done = reps
            self.rows = self._ordered(g.rows, reps)
            if self._enough(target, reps):
                return
            reps = min(reps + target.batch, target.max_replications)
            set_bar_total(bar, len(self.members) * reps)

    def _enough(self, target: Optional[Target], reps: int) -> bool:
        """Whether ``reps`` replications are all the experiment runs: it has no target,
        the target's cap is reached, or the target holds."""
        return target is None or reps >= target.max_replications or self._target_met(target)

    def _ordered(self, rows: dict, reps: int) -> list[dict]:
        """Each job's row in job order, under its own label (two points of a design can
        hold the same scenario: one run serves both labels)."""
        return [{**_untimed(rows[j.key]), "label": j.label, "replication": j.replication}
                for j in self.jobs(range(reps))]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def _target_met(self, target: Target) -> bool:
        """Whether every half-width the target judges is at most its ``half_width``
        (and there is at least one)."""
        res = self.result([target.metric])
        judged = [_judged_ci(block["metrics"][target.metric], target.on) for block in res["variants"].values()]
        widths = [_half(ci) for ci in judged if ci is not None]
        return bool(widths) and all(w <= target.half_width for w in widths)

    # -- results -------------------------------------------------------------------
    def result(self, metric_names: Optional[list[str]] = None) -> dict:
        """The experiment's numbers as plain data: for a comparison, per scenario and
        metric the mean, its 95% interval and (variants) the paired difference from the
        base; for a sweep also each point's parameters and means, and the ranking."""
        names = metric_names or self.metrics
        df = self.frame()
        base = self.members[0].label
        reps = int(df["replication"].nunique()) if len(df) else 0
        out = {"experiment": self.spec.name, "base": base, "replications": reps, "days": self.spec.days,
               "seed": self.spec.seed, "units": JSON_UNITS, "variants": self._blocks(_by_label(df), names)}
        if self.sweep is not None:
            out["sweep"] = self._sensitivity(df)
        return out

    def _blocks(self, by_label: dict[str, pd.DataFrame], names: list[str]) -> dict:
        """Each scenario's entry (those with runs, in order); a comparison's variants
        paired with the base."""
        out = {}
        for m in self.members:
            if m.label in by_label:
                out[m.label] = self._block(m, by_label[m.label], names, self._paired_base(m, by_label))
        return out

    def _paired_base(self, m: Member, by_label: dict[str, pd.DataFrame]) -> Optional[pd.DataFrame]:
        """The base's runs that scenario ``m`` is paired with: a comparison's variant
        only (the base, and a sweep's points, have no difference from the base)."""
        base = self.members[0].label
        return by_label.get(base) if m.label != base and self.sweep is None else None

    def _block(self, m: Member, rows: pd.DataFrame, names: list[str], base_rows: Optional[pd.DataFrame]) -> dict:
        """Scenario ``m``'s entry of the result: per metric its mean and interval (and,
        given ``base_rows``, its paired difference from the base); a sweep point's parameters."""
        block = {"metrics": {name: self._entry(m, rows, name, base_rows) for name in names}}
        if m.params:
            block["parameters"] = m.params
        return block

    def _entry(self, m: Member, rows: pd.DataFrame, name: str, base_rows: Optional[pd.DataFrame]) -> dict:
        """One metric of scenario ``m``: its mean and 95% interval (clipped to the
        metric's range), and its paired difference from ``base_rows`` when given."""
        if name not in rows:
            raise ScenarioError(self.spec.name, "metrics", f"unknown metric {name!r} "
                                f"(e.g. {', '.join(default_metrics(m.scenario.consumers)[:4])}, bypass_rate)")
        mean, lo, hi = stats.mean_ci(rows[name].tolist())
        lo, hi = clip(name, number_or_none(lo), number_or_none(hi))  # a share stays in 0..1, hours >= 0
        entry = {"mean": number_or_none(mean), "ci95": [lo, hi]}
        if base_rows is not None:
            d, dlo, dhi = stats.paired_ci(rows[name].tolist(), base_rows[name].tolist())
            entry["diff_vs_base"] = {"mean": number_or_none(d), "ci95": [number_or_none(dlo), number_or_none(dhi)]}
        return entry

    def _sensitivity(self, df: pd.DataFrame) -> dict:
        """The sweep's indices of each parameter on its metric (Morris, Sobol, or rank
        correlations for a grid or a Latin hypercube) and the parameters ranked by them."""
        sw = self.sweep
        metric = sw.metric
        means = df.groupby("label", sort=False)[metric].mean()
        y = np.array([means[m.label] for m in self.members])
        names = list(sw.parameters)
        res: dict = {"method": sw.method, "metric": metric, "points": len(self.members)}
        table, score = _INDICES.get(sw.method, _rank_indices)(self, y, names)
        res["indices"] = table
        res["ranking"] = sorted(names, key=lambda n: -score[n])
        return res

    # -- folder --------------------------------------------------------------------
    def _write_inputs(self, g: guard.Claim) -> None:
        """The experiment file (or its spec as JSON), each scenario as run and the base's sources."""
        if self.spec_text:
            g.write("experiment.toml", self.spec_text)
        else:
            g.write("experiment.json", json.dumps(self.spec.model_dump(), indent=2, default=str) + "\n")
        for m in self.members:
            g.write(f"scenarios/{m.label}.toml", m.scenario.to_toml())
        for name, text in self._base_sources().items():
            g.write(name, text)

    def _base_sources(self) -> dict[str, str]:
        """The source files of the base scenario (its file as loaded, or a built-in's by name)."""
        from ..scenario.provenance import source_texts

        base = self.members[0].source  # the base's file as loaded, or a built-in's label
        return source_texts(base if Path(base).is_file() else self.spec.base)

    def _write_outputs(self, g: guard.Claim, result: dict) -> None:
        """runs.parquet, summary.csv, result.json and run.json hold only what the runs
        computed and how (identical however and whenever they ran); the timings go to
        the guard's timings.jsonl."""
        if g.folder is None:
            return
        buf = io.BytesIO()
        self.frame().to_parquet(buf, index=False)
        g.write("runs.parquet", buf.getvalue())
        g.write("summary.csv", summary_frame(result).to_csv(index=False))
        g.write("result.json", json.dumps(result, indent=2) + "\n")
        info = {"experiment": self.spec.name, "members": [m.label for m in self.members],
                "replications": result["replications"], "days": self.spec.days, "seed": self.spec.seed,
                "seeds": f"seed + replication ({self.spec.seed}..{self.spec.seed + result['replications'] - 1})",
                "versions": output.versions(), "timings": guard.TIMINGS_FILE}
        g.write("run.json", json.dumps(info, indent=2) + "\n")


def _untimed(row: dict) -> dict:
    """A run's row without its wall time: the metric files are the same however the runs went."""
    return {k: v for k, v in row.items() if k != "wall_s"}


def _ranked_by(sweep: Optional[Sweep], base: Member) -> Optional[Sweep]:
    """The sweep with its ranking metric (default: the base's headline consumer's
    current in-time share)."""
    if sweep is None or sweep.metric is not None:
        return sweep
    from ..measures.metrics import headline_consumer

    return sweep.model_copy(update={"metric": f"{headline_consumer(base.scenario)}.current.in_time"})


def _experiment_metrics(spec: Spec, sweep: Optional[Sweep], consumers: list[str]) -> list[str]:
    """The metrics reported: the spec's (default: the standard set), then the sweep's
    and the target's metric when not among them."""
    metrics = spec.metrics or default_metrics(consumers)
    for extra in [x.metric for x in (sweep, spec.target) if x is not None]:
        if extra not in metrics:
            metrics = list(metrics) + [extra]
    return metrics


def _check_known(metrics: list[str], m: Member, source: str) -> None:
    """Every metric of ``metrics`` is one of scenario ``m``'s (one line naming it otherwise)."""
    known = set(flat_names(m.scenario.consumers, list(m.scenario.cells)))
    for name in metrics:
        if name not in known:
            raise ScenarioError(source, "metrics", f"unknown metric {name!r} for scenario {m.label!r} "
                                f"(names look like {_examples(m.scenario)})")


def _by_label(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The runs of each scenario label, in replication order (none for no runs)."""
    if not len(df):
        return {}
    return {label: g.sort_values("replication") for label, g in df.groupby("label", sort=False)}


def _judged_ci(m: dict, on: str) -> Optional[list]:
    """The interval a target judges in one metric's entry: the paired difference's
    (``on = "diff"``; ``None`` for the base, which has none) or the mean's."""
    if on == "diff":
        return m["diff_vs_base"]["ci95"] if "diff_vs_base" in m else None
    return m["ci95"]


def _morris_indices(ex: Experiment, y: np.ndarray, names: list[str]) -> tuple[dict, dict]:
    """Morris's mu*, mu, sigma and mu*'s interval per parameter; scored by |mu*|."""
    from SALib.analyze import morris as morris_analyze

    si = morris_analyze.analyze(ex.problem, ex.design, y, num_levels=ex.sweep.levels, seed=ex.spec.seed)
    table = {n: {"mu_star": number_or_none(si["mu_star"][i]), "mu": number_or_none(si["mu"][i]),
                 "sigma": number_or_none(si["sigma"][i]), "mu_star_conf": number_or_none(si["mu_star_conf"][i])}
             for i, n in enumerate(names)}
    return table, {n: abs(table[n]["mu_star"] or 0) for n in names}


def _sobol_indices(ex: Experiment, y: np.ndarray, names: list[str]) -> tuple[dict, dict]:
    """Sobol's first-order and total indices per parameter; scored by the total index."""
    from SALib.analyze import sobol as sobol_analyze

    si = sobol_analyze.analyze(ex.problem, y, calc_second_order=False, seed=ex.spec.seed)
    table = {n: {"S1": number_or_none(si["S1"][i]), "ST": number_or_none(si["ST"][i]),
                 "ST_conf": number_or_none(si["ST_conf"][i])} for i, n in enumerate(names)}
    return table, {n: abs(table[n]["ST"] or 0) for n in names}


def _rank_indices(ex: Experiment, y: np.ndarray, names: list[str]) -> tuple[dict, dict]:
    """Per parameter of a grid or a Latin hypercube, its association with ``y``
    (:func:`_association`) and its score."""
    table, score = {}, {}
    for n in names:
        table[n], score[n] = _association([m.params[n] for m in ex.members], y)
    return table, score


def _association(x: list, y: np.ndarray) -> tuple[dict, float]:
    """A numeric setting's Spearman rho with ``y`` (scored by |rho|; ``nan`` when it
    takes one value); a switch's or a string's correlation ratio (how much of the
    spread the setting explains)."""
    if _all_numbers(x):
        entry = {"spearman_rho": number_or_none(_spearman(x, y))}
        return entry, abs(entry["spearman_rho"] or 0)
    entry = {"correlation_ratio": number_or_none(correlation_ratio([str(v) for v in x], y))}
    return entry, entry["correlation_ratio"] or 0


def _all_numbers(x: list) -> bool:
    """Whether every value of a setting is a number (a switch counts as one, as before)."""
    return all(isinstance(v, (int, float)) for v in x)


def _spearman(x: list, y: np.ndarray) -> float:
    """Spearman's rho of a numeric setting with ``y`` (``nan`` when it takes one value)."""
    from scipy.stats import spearmanr

    return spearmanr(np.array(x, float), y).statistic if len(set(x)) > 1 else math.nan



_INDICES = {"morris": _morris_indices, "sobol": _sobol_indices}
"""The sensitivity indices of each SALib method (other designs: :func:`_rank_indices`)."""


def correlation_ratio(groups: list[str], y: np.ndarray) -> float:
    """Eta, the correlation ratio of ``y`` on a categorical setting: the square root
    of the share of ``y``'s spread between the settings' means (0: the setting makes
    no difference; 1: it decides ``y`` entirely); like Spearman's |rho|, from 0 to 1;
    ``nan`` when ``y`` does not vary or there is one setting."""
    y = np.asarray(y, float)
    total = float(((y - y.mean()) ** 2).sum())
    labels = sorted(set(groups))
    if len(labels) < 2 or not total > 0:
        return math.nan
    return math.sqrt(min(_between_squares(np.array(groups), y, labels) / total, 1.0))


def _between_squares(g: np.ndarray, y: np.ndarray, labels: list[str]) -> float:
    """The sum of squares of ``y`` between the settings' means (each weighted by its count)."""
    return sum(float((g == v).sum()) * (float(y[g == v].mean()) - float(y.mean())) ** 2 for v in labels)


def unique_labels(members: list[Member], source: str) -> None:
    seen = set()
    for m in members:
        if m.label in seen:
            raise ScenarioError(source, "variants", f"two scenarios are both named {m.label!r}; give each variant its own name")
        seen.add(m.label)


def _half(ci) -> float:
    lo, hi = ci
    return math.inf if lo is None or hi is None else (hi - lo) / 2


def summary_frame(result: dict) -> pd.DataFrame:
    """The result as a long table: one row per scenario and metric."""
    return pd.DataFrame([_summary_row(label, name, m) for label, block in result["variants"].items()
                         for name, m in block["metrics"].items()])


def _summary_row(label: str, name: str, m: dict) -> dict:
    """One scenario's metric as a row of summary.csv (the difference's columns empty for the base)."""
    d = m.get("diff_vs_base") or {"mean": None, "ci95": [None, None]}
    return {"scenario": label, "metric": name, "mean": m["mean"], "ci95_low": m["ci95"][0],
            "ci95_high": m["ci95"][1], "diff_vs_base": d["mean"], "diff_ci95_low": d["ci95"][0],
            "diff_ci95_high": d["ci95"][1]}

