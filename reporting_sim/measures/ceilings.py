"""Ceilings: what each consumer's in-time share could be if one stage of the chain were
perfect, from the flat metrics of paired runs (pure pandas; the runs are made by
:mod:`reporting_sim.study.ceilings`).

The stages, in the order a report meets them (:data:`STAGES`): every event observed,
every observation reported, no transit time, no analysis queue, no classification or
sanitisation loss, no wait for a link's meeting, acting on arrival. Shelf lives stay
as they are. For each consumer and family (over the events of its interest):

* **as run**: its in-time share in the world where that stage is perfect, side
  effects and all (observing everything can swamp a small staff downstream), with the
  95% interval of the paired change from today's share;
* the stage's **ceiling**: the higher of today's share and the as-run share, the most
  making that stage perfect can give (a stage that, made perfect, would lower the
  share as the network stands is a lever that cannot raise it alone). A ceiling is at
  least today's share and equal to it when the stage is already perfect (its world is
  today's).

How each world is had (:func:`method`): **from the ledger**, exactly, for acting on
arrival (the share of events the consumer *knew of* within the shelf life,
``known_in_time``, from today's own runs); **from paired reruns** of the scenario with
the stage made perfect (the same seeds and named random streams: common random numbers)
for every other stage.

The **waterfall** makes the stages perfect one after another, in that order (each
rerun keeps the earlier ones perfect; acting on arrival last, from the ledger of the
last rerun), never lower than the step before: its steps are what each stage costs the
share given the stages before it, adding up from today's share to the share with every
stage perfect; what is left to 100% is lost in ways no stage here removes (work time,
routing that never reaches the consumer, hoarding, trust).
"""

from __future__ import annotations

import math

import pandas as pd

from ..metric_names import FAMILY_NAMES
from .stats import mean_ci, number_or_none, paired_ci

STAGES = ("every_event_observed", "every_observation_reported", "no_transit_time", "no_analysis_queue",
          "no_classification_loss", "no_meeting_wait", "acting_on_arrival")
"""The stages, in the order a report meets them."""

LEDGER_STAGES = frozenset({"acting_on_arrival"})
"""The stages whose world the ledger of today's runs gives exactly; the others are had
from paired reruns."""

RERUN_STAGES = tuple(s for s in STAGES if s not in LEDGER_STAGES)

BASE = "today"
"""The label of the runs of the scenario as it is."""


def method(stage: str) -> str:
    """``"ledger"`` (exact, from today's runs) or ``"rerun"`` (paired reruns)."""
    return "ledger" if stage in LEDGER_STAGES else "rerun"


def stage_methods() -> dict[str, str]:
    """Each stage's method: ``ledger`` or ``rerun``."""
    return {s: method(s) for s in STAGES}


def up_to(stage: str) -> str:
    """The label of the waterfall's rerun with every stage up to ``stage`` perfect."""
    return f"up_to:{stage}"


def metrics_needed(consumers: list[str]) -> list[str]:
    """The flat metrics the runs must give: per consumer and family, the in-time share
    and the share known within the shelf life."""
    return [f"{c}.{f}.{m}" for c in consumers for f in FAMILY_NAMES for m in ("in_time", "known_in_time")]


def _values(frame: pd.DataFrame, label: str, metric: str) -> list[float]:
    rows = frame[frame["label"] == label].sort_values("replication")
    return [float(v) for v in rows[metric]]


def _world(frame: pd.DataFrame, label: str, stage: str, prefix: str) -> list[float]:
    """Per replication, the in-time share of ``prefix`` (``CONSUMER.FAMILY``) in world
    ``label``, where ``stage`` is the last one made perfect (a ledger stage: acting on
    arrival in that world)."""
    metric = "known_in_time" if stage in LEDGER_STAGES else "in_time"
    return _values(frame, label, f"{prefix}.{metric}")


def stage_world(stage: str) -> str:
    """The runs whose ledger gives the world of ``stage`` made perfect alone."""
    return BASE if stage in LEDGER_STAGES else stage


def waterfall_world(stage: str) -> str:
    """The runs whose ledger gives the world with every stage up to ``stage`` perfect."""
    if stage in LEDGER_STAGES:
        return up_to(RERUN_STAGES[-1])
    return stage if stage == STAGES[0] else up_to(stage)


def _mean(values: list[float]) -> float:
    return mean_ci(values)[0]


def _change_ci(values: list[float], base: list[float]) -> list:
    _, lo, hi = paired_ci(values, base)
    return [number_or_none(lo), number_or_none(hi)]


def family_block(frame: pd.DataFrame, prefix: str, waterfall: bool = True) -> dict | None:
    """For ``prefix`` (``CONSUMER.FAMILY``): today's in-time share with its 95%
    interval; per stage the ceiling, the as-run share and the 95% interval of its paired
    change from today (``change_ci95``); and the waterfall (``None`` when the consumer
    has no events of that family)."""
    today = _values(frame, BASE, f"{prefix}.in_time")
    now, lo, hi = mean_ci(today)
    if math.isnan(now):
        return None
    block = {"in_time": now, "in_time_ci95": [number_or_none(lo), number_or_none(hi)], "ceilings": {},
             "as_run": {}, "change_ci95": {}}
    for stage in STAGES:
        values = _world(frame, stage_world(stage), stage, prefix)
        ran = _mean(values)
        block["as_run"][stage] = number_or_none(ran)
        block["ceilings"][stage] = max(now, ran) if not math.isnan(ran) else now
        block["change_ci95"][stage] = _change_ci(values, today)
    if waterfall:
        block["waterfall"] = _waterfall(frame, prefix, today)
    return block


def _waterfall(frame: pd.DataFrame, prefix: str, today: list[float]) -> list[dict]:
    """The stages made perfect one after another: each step's share (never below the
    step before), the world's own share, and the 95% interval of its paired change from
    the world before."""
    steps, level, previous = [], _mean(today), today
    for stage in STAGES:
        values = _world(frame, waterfall_world(stage), stage, prefix)
        ran = _mean(values)
        level = max(level, ran) if not math.isnan(ran) else level
        steps.append({"stage": stage, "in_time": level, "as_run": number_or_none(ran),
                      "change_ci95": _change_ci(values, previous)})
        previous = values
    return steps


def assemble(frame: pd.DataFrame, consumers: list[str], waterfall: bool = True) -> dict:
    """``{CONSUMER: {FAMILY: block}}`` (:func:`family_block`) from the runs' rows
    (``label``, ``replication`` and the :func:`metrics_needed`); a family with no
    events of the consumer's interest is left out."""
    out: dict = {}
    for c in consumers:
        fams = {f: family_block(frame, f"{c}.{f}", waterfall) for f in FAMILY_NAMES}
        out[c] = {f: b for f, b in fams.items() if b is not None}
    return out


def losses(block: dict) -> list[tuple[str, float]]:
    """The waterfall as losses, from 100% down: ``("not reached by any stage", x)``
    (what stays lost with every stage perfect), then each stage's step, in reverse
    order (what it costs), ending at today's share."""
    steps = block["waterfall"]
    out = [("lost otherwise", 1.0 - steps[-1]["in_time"])]
    prev = block["in_time"]
    costs = []
    for step in steps:
        costs.append((step["stage"], step["in_time"] - prev))
        prev = step["in_time"]
    return out + costs[::-1]
