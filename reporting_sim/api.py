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


def load(scenario="minusma-2015"):
    """A validated :class:`~reporting_sim.scenario.Scenario`: a built-in name, a
    scenario file or a what-if variant file. Bad input raises
    :class:`~reporting_sim.errors.ScenarioError` (``.one_line()`` names the field)."""
    from .scenario import Scenario, load as _load

    return scenario if isinstance(scenario, Scenario) else _load(scenario)


def simulate(scenario="minusma-2015", *, seed=None, days=None, trace=False, warmup_days=0.0):
    """Run a scenario (a :class:`Scenario`, a name or a file) once; returns its
    :class:`~reporting_sim.records.RunRecords` (pandas frames: ``ledger``, ``events``,
    ``cells``, ``reports`` and, with ``trace=True``, ``trace``). Seed and days default
    to the scenario's own; the same seed gives the same records."""
    from .model import simulate as _simulate

    return _simulate(load(scenario), seed, days, trace=trace, warmup_days=warmup_days)


def summary(records) -> dict:
    """The run summary of :func:`simulate`'s records as plain data (the ``run --json``
    contract), with a ``definitions`` entry: one line per measure."""
    from .present import glossary
    from .measures import metrics

    out = metrics.summary(records)
    out["definitions"] = {name: text for name, (_, text) in glossary.TERMS.items()}
    return out


def compare(base, *variants, replications=10, days=365.0, seed=1, metrics=None, warmup_days=0.0,
            n_jobs=1, folder=None) -> dict:
    """Run ``base`` and each variant (names or files) for the same replications with
    common random numbers; returns the comparison as plain data (per scenario and
    metric the mean and 95% interval, and each variant's paired difference from the
    base), as ``reporting-sim compare --json`` prints it. ``folder``: keep the runs
    there (rerunning resumes); ``n_jobs``: processes (1 runs serially)."""
    from pathlib import Path

    from .study.experiment import Experiment

    exp = Experiment.comparison(str(base), [str(v) for v in variants], replications=replications, days=days,
                                seed=seed, metrics=list(metrics) if metrics else None, warmup_days=warmup_days)
    return exp.run(Path(folder) if folder is not None else None, n_jobs=n_jobs)


def read_results(folder):
    """A results folder read back: a run's folder gives its
    :class:`~reporting_sim.records.RunRecords` (with the trace if it was traced); an
    experiment's folder gives its result (the dict that :func:`compare` returns)."""
    import json
    from pathlib import Path

    folder = Path(folder)
    if (folder / "result.json").exists():
        return json.loads((folder / "result.json").read_text("utf-8"))
    from .study.output import read_run

    return read_run(folder)
