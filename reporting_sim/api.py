"""The Python API for notebooks and scripts (docs/api.md): five functions, each loading
what it needs only when called, so that importing the package stays cheap.

* :func:`load`: a validated scenario (a built-in name, a scenario or a variant file);
* :func:`simulate`: one run, as pandas frames;
* :func:`summary`: a run's summary as plain data (the ``run --json`` contract);
* :func:`compare`: paired replications of a base and its variants;
* :func:`read_results`: a results folder read back.

This module sits at the top of the layers (it may use any of them); the package's
``__init__`` re-exports these names, so ``reporting_sim.simulate`` works as before.
"""

from __future__ import annotations


def _start():
    """What every API call checks first, as every command does: the limit variables."""
    from .scenario.limits import check_environment

    check_environment()


def _ref(value, field: str):
    """A scenario named by a built-in name or a file path (a string or a path)."""
    import os

    from .errors import ScenarioError

    if isinstance(value, (str, os.PathLike)) and str(value):
        return value
    raise ScenarioError("", field, f"{str(type(value).__name__)} {repr(value)[:40]} is not a scenario: give a built-in "
                        "name, a scenario or variant file, or a loaded Scenario")


def load(scenario="minusma-2015"):
    """A validated :class:`~reporting_sim.scenario.Scenario`: a built-in name, a
    scenario file or a what-if variant file. Bad input raises
    :class:`~reporting_sim.errors.ScenarioError` (``.one_line()`` names the field)."""
    from .scenario import Scenario, load as _load

    _start()
    return scenario if isinstance(scenario, Scenario) else _load(_ref(scenario, "scenario"))


def simulate(scenario="minusma-2015", *, seed=None, days=None, trace=False, warmup_days=0.0):
    """Run a scenario (a :class:`Scenario`, a name or a file) once; returns its
    :class:`~reporting_sim.records.RunRecords` (pandas frames: ``ledger``, ``events``,
    ``cells``, ``reports`` and, with ``trace=True``, ``trace``). Seed and days default
    to the scenario's own; the same seed gives the same records. The arguments are
    checked as ``reporting-sim run`` checks its options (:mod:`reporting_sim.arguments`):
    a bad one raises :class:`~reporting_sim.errors.ScenarioError` naming it."""
    from . import arguments
    from .model import simulate as _simulate

    sc = load(scenario)
    seed = sc.scenario.seed if seed is None else arguments.seed(seed, "seed")
    days = sc.scenario.days if days is None else arguments.days(days, "days")
    trace = arguments.flag(trace, "trace")
    warmup_days = arguments.warmup(warmup_days, days, "warmup_days")
    return _simulate(sc, seed, days, trace=trace, warmup_days=warmup_days)


def summary(records) -> dict:
    """The run summary of :func:`simulate`'s records as plain data (the ``run --json``
    contract), with a ``definitions`` entry: one line per measure."""
    from .errors import ScenarioError
    from .measures import metrics
    from .model.records import RunRecords
    from .present import glossary

    if not isinstance(records, RunRecords):
        raise ScenarioError("", "records", f"{type(records).__name__} is not a run's records: give what "
                            "simulate() or read_results() of a run's folder returns")
    out = metrics.summary(records)
    out["definitions"] = {name: text for name, (_, text) in glossary.TERMS.items()}
    return out


def compare(base, *variants, replications=10, days=365.0, seed=1, metrics=None, warmup_days=0.0,
            n_jobs=1, folder=None) -> dict:
    """Run ``base`` and each variant (names or files) for the same replications with
    common random numbers; returns the comparison as plain data (per scenario and
    metric the mean and 95% interval, and each variant's paired difference from the
    base), as ``reporting-sim compare --json`` prints it. ``folder``: keep the runs
    there (rerunning resumes; the same guarded folder as ``compare --out``);
    ``n_jobs``: processes (1 runs serially). The arguments are checked as ``compare``
    checks its options."""
    from pathlib import Path

    from . import arguments
    from .errors import ScenarioError
    from .study.experiment import Experiment

    _start()
    if not variants:
        raise ScenarioError("", "variants", "give at least one variant to compare with the base")
    refs = [str(_ref(base, "base"))] + [str(_ref(v, "variants")) for v in variants]
    replications = arguments.count(replications, "replications", 2)
    days = arguments.days(days, "days")
    seed = arguments.seed(seed, "seed", arguments.MAX_STUDY_SEED)
    warmup_days = arguments.warmup(warmup_days, days, "warmup_days")
    metrics = arguments.names(metrics, "metrics") if metrics is not None else None
    n_jobs = arguments.count(n_jobs, "n_jobs", 1, 4096) if n_jobs is not None else None
    folder = Path(_ref(folder, "folder")) if folder is not None else None
    exp = Experiment.comparison(refs[0], refs[1:], replications=replications, days=days,
                                seed=seed, metrics=metrics or None, warmup_days=warmup_days)
    return exp.run(folder, n_jobs=n_jobs)


def read_results(folder):
    """A results folder read back: a run's folder gives its
    :class:`~reporting_sim.records.RunRecords` (with the trace if it was traced); a
    study's folder gives its result (the dict that :func:`compare` returns). A folder
    that is missing or damaged raises :class:`~reporting_sim.errors.ScenarioError`."""
    from pathlib import Path

    from .study import output

    _start()
    folder = Path(_ref(folder, "folder"))
    output.check_results_folder(folder)
    if (folder / "result.json").exists():
        return output.read_json(folder, "result.json")
    return output.read_run(folder)
