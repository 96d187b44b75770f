"""reporting-sim: how intelligence reports travel through a peace operation.

The package is layered without import circles (``tests/test_layers.py`` checks it);
from the bottom up:

* plain pieces: ``errors``, ``hashing``, ``stats``, ``metric_names`` (the flat metric
  names), ``distributions``, ``streams`` (one named random stream per source of
  randomness: common random numbers across what-if variants);
* the scenario, before any simulation exists (no SimPy): ``scenario_schema`` (immutable
  pydantic tables), ``scenario_checks``, ``uncertainties``, ``variants``,
  ``scenario_loading``, and ``scenario``, the face to import them from;
* a run: ``model`` (the network worked out into a plan, then the SimPy engine that
  turns a plan and a seed into records), ``records`` (what a run produced, as
  recorded), ``outcomes`` (each event and consumer's one outcome), ``metrics`` and
  ``views`` (pure pandas functions from records to numbers and stories);
* around runs: ``provenance``, ``output`` (results folders), ``tables``, ``glossary``,
  ``graph``, ``plots``, ``execution`` (serial, process pool, Dask), ``experiment``,
  ``robustness``, ``claims``, ``lab``, ``report``;
* ``cli``: the ``reporting-sim`` command.

The Python API for notebooks and scripts (see docs/api.md) is four functions, each
loading what it needs only when called, so ``import reporting_sim`` stays cheap:
:func:`load`, :func:`simulate`, :func:`compare` and :func:`read_results`.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["load", "simulate", "compare", "read_results", "summary", "lazy_module", "__version__"]


def lazy_module(name: str):
    """Module ``name``, imported for real on first attribute access (stdlib
    :class:`importlib.util.LazyLoader`); already-imported modules are returned as is."""
    import importlib.util
    import sys

    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


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
    from . import glossary, metrics

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

    from .experiment import Experiment

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
    from .output import read_run

    return read_run(folder)
