"""A robustness study's settings: the ``[robustness]`` section of an experiment file,
the metrics judged when none are named, and the one check that scenario discovery's
library (the EMA Workbench) is installed."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ... import scenario as scenario_mod
from ...errors import ScenarioError
from ..experiment import Spec

INSTALL = 'scenario discovery needs the EMA Workbench: pip install -e ".[explore]" (or pip install ema_workbench)'


def default_metrics(consumers: list[str], first: Optional[str] = None) -> list[str]:
    """The metrics a study reports when none are named: ``first`` (the scenario's
    headline consumer; by default its first consumer) first."""
    first = first if first in consumers else consumers[0]
    out = [f"{first}.current.in_time"]
    out += [f"{c}.{fam}.in_time" for c in consumers for fam in ("current", "long_term")]
    out += [f"{first}.current.latency_p50", "bypass_rate"]
    return list(dict.fromkeys(out))


# ------------------------------------------------------------------ study files

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class RobustnessSpec(_Strict):
    """``[robustness]``: how many worlds, how they are drawn, and the verdict metric."""

    worlds: Annotated[int, Field(ge=2, le=100000)] = 50
    sampling: Literal["lhs", "random"] = "lhs"
    metric: Optional[str] = None
    verdicts: Annotated[dict[str, str], Field(strict=False)] = {}
    prim_density: Annotated[float, Field(gt=0, le=1)] = 0.9
    max_boxes: Annotated[int, Field(ge=1, le=10)] = 2
    min_effect: Annotated[dict[str, Annotated[float, Field(gt=0)]], Field(strict=False)] = {}
    """Metric -> the minimum effect worth counting in this question (default: the
    glossary's, :data:`reporting_sim.metric_names.MIN_EFFECT`)."""
    max_replications: Optional[Annotated[int, Field(ge=1, le=100000)]] = None
    """The most replications a world gets while its verdicts are undecided (default:
    three times the experiment's replications, at least 6)."""
    windows: Optional[Annotated[int, Field(ge=2, le=1000)]] = None
    """Each run cut into this many equal windows, and a world's within-world error
    estimated from the windows' paired differences (batch means) instead of from its
    replications alone, so a world can be judged after one replication (default: no
    windows)."""
    batch: Optional[Annotated[int, Field(ge=1, le=1000)]] = None
    """Replications added per round to an undecided world (default 2; 1 with windows)."""
    worlds_from: Optional[str] = None
    """A plausible-worlds file (``reporting-sim calibrate``), relative to the study
    file: its rows are the worlds, instead of ``worlds`` drawn by ``sampling``."""


class StudyFile(_Strict):
    experiment: Spec
    robustness: RobustnessSpec


def is_study_file(path: str | Path) -> bool:
    """Whether an experiment file has a ``[robustness]`` section."""
    data = scenario_mod.read_file(path)
    return isinstance(data, dict) and "robustness" in data


def load_study_file(path: str | Path) -> StudyFile:
    """Read and validate a robustness study file (one-line errors)."""
    path = Path(path)
    data = scenario_mod.read_file(path)
    try:
        sf = StudyFile.model_validate(data)
    except ValidationError as exc:
        raise scenario_mod.first_error(exc, str(path)) from None
    _check_experiment(sf.experiment, path)
    return sf


def _check_experiment(e: Spec, path: Path) -> None:
    """A study's ``[experiment]``: a fixed number of replications (no target), a
    warm-up shorter than the run."""
    if e.target is not None:
        raise ScenarioError(str(path), "experiment.target", "a robustness study runs a fixed number of "
                            "replications per world; leave the target out")
    if e.warmup_days >= e.days:
        raise ScenarioError(str(path), "experiment.warmup_days", "must be less than days")


def need_explore() -> None:
    """Fail early, with the command that installs it, when the EMA Workbench is missing."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import ema_workbench.analysis.prim  # noqa: F401
    except ImportError:
        raise ScenarioError("", "robustness", INSTALL) from None
