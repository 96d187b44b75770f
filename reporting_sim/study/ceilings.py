"""Ceilings per stage: which lever can move a consumer's in-time share at all.

:func:`ceilings` runs a scenario as it is and, with the same seeds (common random
numbers), once per stage made perfect (:data:`~reporting_sim.measures.ceilings.STAGES`),
and, for the waterfall, with the stages made perfect one after another; the numbers
are assembled by :mod:`reporting_sim.measures.ceilings`. A stage is made perfect on the
scenario as data (:func:`perfect`), shelf lives unchanged:

* ``every_event_observed``: every collector watches all the time and observes every
  event of its sectors and kinds when it happens (no patrol gaps, accreditation wait,
  rotation dip or escort pool);
* ``every_observation_reported``: every observation gives its main report (``p_report``
  and, for a branch-culture unit under tasking, ``tasking.p_written`` are 1);
* ``no_transit_time``: every link's transit is 0;
* ``no_analysis_queue``: every staff cell starts each report when it comes (as many
  analysts as the schema allows, no duty hours, no inbox limit); the work itself stays;
* ``no_classification_loss``: the classification and sanitisation mechanisms are off;
* ``no_meeting_wait``: no link waits for a meeting (briefings, summaries, requests);
* ``acting_on_arrival``: from the ledger of today's runs (``known_in_time``), exact.

A stage's ceiling is the higher of today's share and the share in its perfect world
(see :mod:`reporting_sim.measures.ceilings`).

:func:`ceilings` returns plain data (the ``reporting-sim ceilings --json`` contract),
so a command, a report or a lab panel can call it. It computes; figures and text are
drawn by :mod:`reporting_sim.present.ceilings`.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Optional, Union

from .. import scenario as scenario_mod
from ..errors import ScenarioError
from ..hashing import digest
from ..measures import ceilings as ceil
from ..scenario import limits
from .experiment import Experiment, Member, Spec

MANY_ANALYSTS = 100000
"""Analysts of a cell without a queue (the schema's largest number)."""


def _observe_all(data: dict) -> None:
    """Every collector observes every event of its area."""
    for col in data.get("collectors", {}).values():
        _watch_continuously(col)


def _watch_continuously(col: dict) -> None:
    """One collector made to observe everything, always: no patrols, vehicles,
    accreditation or rotation to wait for, and sure to observe when tasked too."""
    col["p_observe"] = 1.0
    col["watch"] = "continuous"
    for key in ("patrols", "pool", "accreditation", "rotation"):
        col.pop(key, None)
    col["report_after_patrol"] = False
    _no_patrol_in_subtables(col)


def _no_patrol_in_subtables(col: dict) -> None:
    """A collector's written reports wait for no patrol's end; a tasking observes surely."""
    if isinstance(col.get("written"), dict):
        col["written"]["after_patrol"] = False
    if isinstance(col.get("tasking"), dict) and "p_observe" in col["tasking"]:
        col["tasking"]["p_observe"] = 1.0


def _report_all(data: dict) -> None:
    """Every collector reports every observation (a branch's tasked reports are written too)."""
    for col in data.get("collectors", {}).values():
        _report_everything(col)


def _report_everything(col: dict) -> None:
    """One collector reports every observation; a branch's taskings are always written up."""
    col["p_report"] = 1.0
    if col.get("culture") == "branch" and isinstance(col.get("tasking"), dict):
        col["tasking"]["p_written"] = 1.0


def _no_transit(data: dict) -> None:
    """Every link passes reports on at once."""
    for link in data.get("links", []):
        link["transit_h"] = 0.0


def _no_queue(data: dict) -> None:
    """Every cell has analysts enough that no report waits, at any hour."""
    for cell in data.get("cells", {}).values():
        cell["analysts"] = MANY_ANALYSTS
        cell.pop("duty", None)
        cell.pop("inbox", None)


def _no_classification(data: dict) -> None:
    """Nothing is lost to classification or sanitisation."""
    data.setdefault("mechanisms", {}).update(classification=False, sanitisation=False)


def _no_meetings(data: dict) -> None:
    """No link waits for a meeting."""
    for link in data.get("links", []):
        link.pop("meeting", None)


PERFECT = {"every_event_observed": _observe_all, "every_observation_reported": _report_all,
           "no_transit_time": _no_transit, "no_analysis_queue": _no_queue,
           "no_classification_loss": _no_classification, "no_meeting_wait": _no_meetings}
"""How each stage computed by reruns is made perfect, on the scenario's data."""


def perfect(data: dict, stages) -> dict:
    """A copy of scenario ``data`` (plain data, as ``Scenario.to_dict`` gives it) with
    each of ``stages`` made perfect (see the module docstring)."""
    out = copy.deepcopy(data)
    for stage in stages:
        PERFECT[stage](out)
    return out


def members(sc, waterfall: bool = True) -> list[Member]:
    """Today's scenario, one world per rerun stage made perfect alone, and (for the
    waterfall) one per rerun stage after the first with every stage up to it perfect."""
    data = sc.to_dict()
    source = f"{sc.name} (ceilings)"
    out = [Member(ceil.BASE, data, source)]
    out += [Member(stage, perfect(data, [stage]), f"{source}: {stage}") for stage in ceil.RERUN_STAGES]
    return out + (_waterfall_members(data, source) if waterfall else [])


def _waterfall_members(data: dict, source: str) -> list[Member]:
    """One world per rerun stage after the first, with every stage up to it perfect."""
    stages = ceil.RERUN_STAGES
    return [Member(ceil.up_to(s), perfect(data, stages[: i + 1]), f"{source}: up to {s}")
            for i, s in enumerate(stages) if i > 0]


def _check_size(worlds: int, replications: int, days: float, warmup_days: float) -> None:
    """A warm-up shorter than the run, and no more runs than the limit (one-line errors)."""
    if not 0 <= warmup_days < days:
        raise ScenarioError("ceilings", "--warmup-days", "must be at least 0 and less than days")
    if worlds * replications > limits.limit("RUNS"):
        raise limits.too_much("ceilings", "--replications", "RUNS",
                              f"{worlds} scenarios x {replications} replications = {worlds * replications}")


def _scenario(scenario) -> object:
    """A loaded scenario (a name or file is loaded)."""
    if isinstance(scenario, (str, Path)):
        return scenario_mod.load(scenario)
    return scenario


def ceilings(scenario: Union[str, Path, object] = "minusma-2015", *, days: Optional[float] = None,
             replications: int = 4, seed: int = 1, warmup_days: float = 0.0, waterfall: bool = True,
             n_jobs: Optional[int] = None, dask=None, progress: bool = False) -> dict:
    """Each consumer's in-time share today and its ceiling per stage, per family.

    ``scenario``: a built-in's name, a scenario or variant file, or a loaded
    :class:`~reporting_sim.scenario.Scenario`; ``days`` (default: the scenario's),
    ``replications`` (seeds ``seed``, ``seed + 1``...; at least 2 for intervals),
    ``warmup_days``; ``waterfall``: also the runs with the stages made perfect one
    after another; ``n_jobs`` / ``dask`` / ``progress`` as for comparisons.

    Returns plain data: ``{"scenario", "days", "replications", "seed", "warmup_days",
    "stages": {STAGE: {"method": "ledger" | "rerun"}}, "consumers": {CONSUMER: {FAMILY:
    {"in_time": x, "in_time_ci95": [lo, hi], "ceilings": {STAGE: y}, "as_run": {STAGE:
    z}, "change_ci95": {STAGE: [lo, hi]}, "waterfall": [{"stage", "in_time", "as_run",
    "change_ci95"}]}}}}``: shares 0..1 over the events of the consumer's interest; ``y
    = max(x, z)``; ``change_ci95`` is the 95% interval of the paired change ``z - x``
    (see :mod:`reporting_sim.measures.ceilings`); a family with no events of the
    consumer's interest is left out."""
    sc = _scenario(scenario)
    days = float(sc.scenario.days if days is None else days)
    group = members(sc, waterfall)
    _check_size(len(group), replications, days, warmup_days)
    spec = Spec(name=f"ceilings-{sc.name}-{digest([sc.to_dict(), days, seed, warmup_days])[:8]}", base=sc.name,
                metrics=ceil.metrics_needed(sc.consumers), days=days, seed=seed, replications=replications,
                warmup_days=warmup_days)
    exp = Experiment(spec, group)
    exp.run(None, n_jobs=n_jobs, dask=dask, progress=progress)
    return {"scenario": sc.name, "days": days, "replications": replications, "seed": seed,
            "warmup_days": warmup_days, "stages": {s: {"method": m} for s, m in ceil.stage_methods().items()},
            "consumers": ceil.assemble(exp.frame(), sc.consumers, waterfall)}
