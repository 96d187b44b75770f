"""``reporting-sim calibrate``: history matching of a scenario's assumptions to the study's patterns.

The robustness study samples every ``[uncertainties]`` range uniformly, so its
verdicts count worlds that the study's own observations rule out. Calibration cuts
the input space down to the worlds consistent with what the study observed (history
matching: Vernon, Goldstein & Bower 2014; the R package hmer), in waves:

1. draw worlds by Latin hypercube, run each for a few replications, and judge each
   against every pattern (``study/claims/minusma-patterns.toml``): an implausibility
   per pattern (:mod:`.history`), a world non-implausible when its measure is at most
   the cut-off;
2. fit one Gaussian-process emulator per pattern on inputs screened first
   (:mod:`.emulator`), and measure the emulators' held-out coverage;
3. the next wave screens many candidate worlds through the emulators, runs the
   non-implausible ones, and so on (:mod:`.runner`).

The worlds whose own runs leave them non-implausible are written as a plausible-worlds
file (:mod:`..worlds`) that ``robustness --worlds-from`` uses. When no world is
non-implausible, the result names the patterns that conflict: a finding about the
model, not an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ... import scenario as scenario_mod
from ...errors import ScenarioError
from ..experiment import Spec, resolve_member
from .history import CUTOFF
from .runner import WORLDS_FILE, Calibration

__all__ = ["CUTOFF", "Calibration", "CalibrateSpec", "WORLDS_FILE", "from_args", "from_file", "is_calibration_file"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class CalibrateSpec(_Strict):
    """``[calibrate]`` of an experiment file: waves, worlds per wave, candidates each
    later wave screens, the cut-off, how many inputs each emulator keeps, and the
    patterns file (default: the study's built-in patterns)."""

    waves: Annotated[int, Field(ge=1, le=20)] = 2
    worlds: Annotated[int, Field(ge=2, le=100000)] = 40
    candidates: Optional[Annotated[int, Field(ge=1, le=10_000_000)]] = None
    cutoff: Annotated[float, Field(gt=0, le=100, strict=False)] = CUTOFF
    screen: Annotated[int, Field(ge=1, le=50)] = 5
    patterns: Optional[str] = None


class CalibrateFile(_Strict):
    experiment: Spec
    calibrate: CalibrateSpec


def is_calibration_file(path) -> bool:
    """Whether an experiment file has a ``[calibrate]`` section."""
    p = Path(path)
    if not p.suffix == ".toml" or not scenario_mod.path_exists(p) or not p.is_file():
        return False
    data = scenario_mod.read_file(p)
    return isinstance(data, dict) and "calibrate" in data


def patterns_of(path: Optional[str], sc, days: float, warmup_days: float = 0.0):
    """The patterns to match (a file's, or the built-in ones), those left out and why,
    and the patterns file's text (its digest is the calibration's provenance)."""
    from .. import claims

    refs, text = _read_patterns(path)
    left = [{"id": r.spec.id, "why": _why_not(r.spec)} for r in refs if _why_not(r.spec)]
    refs, more = claims.fit_run([r for r in refs if not _why_not(r.spec)], sc, days, warmup_days)
    return refs, left + more, text


def _read_patterns(path: Optional[str]):
    """The patterns of the file ``path`` (the built-in ones when ``None``) and its text."""
    from .. import claims

    if path is None:
        return claims.load_builtin_patterns(), claims.builtin_text(claims.BUILTIN_PATTERNS)
    return claims.load(path), Path(path).read_text("utf-8")


def _why_not(spec) -> str:
    """Why a claim is not matched in a calibration ('' when it is)."""
    if spec.kind != "pattern":
        return "a mechanism check, not a pattern"
    if spec.has_change():
        return "a pattern with a change needs its own runs in every world; calibration matches the base scenario"
    return ""


def from_args(scenario_ref: str, *, waves: int, worlds: int, replications: int, days: float, seed: int,
              patterns: Optional[str] = None, candidates: Optional[int] = None, cutoff: float = CUTOFF,
              screen: int = 5) -> Calibration:
    base = resolve_member(scenario_ref, None)
    refs, left, text = patterns_of(patterns, base.scenario, days)
    return Calibration(base, refs, waves=waves, worlds=worlds, replications=replications, days=days, seed=seed,
                       candidates=candidates, cutoff=cutoff, screen=screen, patterns_text=text, left_out=left)


def _read_calibrate_file(path: Path):
    """The ``[experiment]`` and ``[calibrate]`` of a calibration file, validated (no target)."""
    data = scenario_mod.read_file(path)
    try:
        cf = CalibrateFile.model_validate(data)
    except ValidationError as exc:
        raise scenario_mod.first_error(exc, str(path)) from None
    if cf.experiment.target is not None:
        raise ScenarioError(str(path), "experiment.target", "a calibration runs a fixed number of replications "
                            "per world; leave the target out")
    return cf.experiment, cf.calibrate


def from_file(path, **overrides) -> Calibration:
    """A calibration experiment file (``[experiment]`` and ``[calibrate]``); keyword
    arguments that are not ``None`` override the file's (a smaller trial)."""
    path = Path(path)
    e, c = _read_calibrate_file(path)
    o = {k: v for k, v in overrides.items() if v is not None}
    days = o.get("days", e.days)
    base = resolve_member(e.base, path.parent, str(path), "experiment.base")
    pfile = None if c.patterns is None else str(path.parent / c.patterns)
    refs, left, text = patterns_of(pfile, base.scenario, days, e.warmup_days)
    return Calibration(base, refs, waves=o.get("waves", c.waves), worlds=o.get("worlds", c.worlds),
                       replications=o.get("replications", e.replications), days=days, seed=o.get("seed", e.seed),
                       candidates=c.candidates, cutoff=c.cutoff, screen=c.screen, warmup_days=e.warmup_days,
                       name=e.name, patterns_text=text, left_out=left, spec_text=path.read_text("utf-8"))
