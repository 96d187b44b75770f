"""Predict-then-run exercises: the instructor picks a question, each team predicts the
change of one measure, the lab runs the scenario as it is against the exercise's
settings over paired replications, and puts the predictions against the result. The
class record (one row per team and run) is exported as CSV. No web framework.

Exercises are data: ``exercises/NAME.toml`` beside this module, one file per built-in
scenario (docs/exercises.md discusses them), each ``[[exercise]]`` with its question,
the settings it changes (a shipped variant by name, or a ``set`` of dotted paths), the
measure predicted (a flat metric name) and the runs that answer it.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..errors import ScenarioError
from ..version import __version__
from . import core

FOLDER = Path(__file__).resolve().parent / "exercises"

RECORD_COLUMNS = ("recorded_at", "exercise", "question", "measure", "unit", "team", "prediction", "result",
                  "ci_low", "ci_high", "error", "inside_interval", "replications", "days", "seed", "scenario",
                  "reporting_sim")
"""The class record's columns: when, which exercise, the team's prediction of the change
(what-if minus as it is, in the measure's unit: points for shares, hours for times),
the result with its 95% paired interval, the prediction's error, whether the interval
holds the prediction, and the runs that gave the result."""


@dataclass(frozen=True)
class Exercise:
    """One exercise (see the module docstring)."""

    key: str
    title: str
    question: str
    measure: str
    study: str = ""
    discuss: str = ""
    variant: str = ""
    set: dict = field(default_factory=dict)
    days: float = 90.0
    replications: int = 4
    seed: int = 1


def load(scenario_name: str) -> list[Exercise]:
    """The exercises shipped for a scenario (none for a scenario without a file)."""
    path = FOLDER / f"{scenario_name}.toml"
    if not path.is_file():
        return []
    with path.open("rb") as f:
        raw = tomllib.load(f)
    return [Exercise(**{**e, "days": float(e.get("days", 90.0))}) for e in raw.get("exercise", [])]


def settings(ex: Exercise, base_ref: str, presets: dict[str, dict]) -> dict:
    """The exercise's what-if as a variant's data: its shipped variant (from
    ``presets``, by name) and its ``set``. A variant that is not there is a one-line
    error naming it."""
    preset = None
    if ex.variant:
        preset = presets.get(ex.variant)
        if preset is None:
            raise ScenarioError(f"exercise {ex.key}", "variant", f"needs the shipped variant {ex.variant!r}: start "
                                "the lab in the project's folder or give --variants FOLDER")
    return core.variant_data(base_ref, dict(ex.set), name=f"exercise-{ex.key}", question=ex.question,
                             preset=preset)


def unit(measure: str) -> str:
    from ..present.glossary import is_share

    return "points" if is_share(measure) else "h"


def scale(measure: str) -> float:
    """How a difference of ``measure`` becomes the unit teams predict in (points for shares)."""
    return 100.0 if unit(measure) == "points" else 1.0


def result(rows: dict[str, list[dict]], measure: str) -> Optional[dict]:
    """The paired difference of ``measure`` with its 95% interval, in the prediction's
    unit, from the exercise's runs."""
    got = core.metric_row(rows, measure)
    if got is None:
        return None
    k = scale(measure)
    return {"diff": got["diff"] * k, "lo": got["diff_lo"] * k, "hi": got["diff_hi"] * k,
            "base": got["base"], "changed": got["changed"], "n": got["n"]}


def parse_prediction(team: str, text) -> float:
    """A team's prediction as a number (``+3``, ``-1.5``, ``2,5``); a one-line error
    naming the team otherwise."""
    try:
        value = float(str(text).strip().replace(",", ".").replace("−", "-"))
    except ValueError:
        raise ScenarioError("exercise", f"prediction of {team}", f"must be a number (got {text!r})") from None
    if not math.isfinite(value):
        raise ScenarioError("exercise", f"prediction of {team}", f"must be a finite number (got {text!r})")
    return value


def record_rows(ex: Exercise, predictions: dict[str, float], res: dict, run: core.RunSettings,
                scenario: str, when: Optional[_dt.datetime] = None) -> list[dict]:
    """The class record's rows for one run of an exercise: one per team."""
    stamp = (when or _dt.datetime.now()).isoformat(timespec="seconds")
    out = []
    for team, pred in predictions.items():
        inside = res["lo"] <= pred <= res["hi"] if math.isfinite(res["lo"]) and math.isfinite(res["hi"]) else ""
        out.append({"recorded_at": stamp, "exercise": ex.key, "question": ex.question, "measure": ex.measure,
                    "unit": unit(ex.measure), "team": team, "prediction": pred, "result": round(res["diff"], 4),
                    "ci_low": round(res["lo"], 4), "ci_high": round(res["hi"], 4),
                    "error": round(pred - res["diff"], 4), "inside_interval": inside,
                    "replications": run.replications, "days": run.days, "seed": run.seed, "scenario": scenario,
                    "reporting_sim": __version__})
    return out


def record_csv(rows: list[dict]) -> str:
    """The class record as CSV text (header row first, columns :data:`RECORD_COLUMNS`)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(RECORD_COLUMNS), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in RECORD_COLUMNS})
    return buf.getvalue()
