"""The names of the flat metrics a run produces.

Comparisons, sweeps, robustness verdicts, the study's claims and a scenario's
``[metrics] headline`` all name metrics by flat names such as ``u2.in_time``,
``force_commander.current.latency_p50``, ``bypass_rate`` or
``cell.asifu.utilisation``. This module says which names a scenario's runs produce,
from its consumers and staff cells alone, so that a file naming a metric can be
checked when it is read, before anything runs. Plain Python: no SimPy, no pandas.
"""

from __future__ import annotations

from .errors import ScenarioError

OUTCOMES = ("in_time", "late", "not_observed", "not_reported", "withheld", "not_shared", "in_flight")
"""Each (event, consumer) pair's one outcome (see :mod:`reporting_sim.outcomes`)."""

FAMILY_NAMES = ("current", "long_term")
"""The families of intelligence a consumer's block is also split by."""

BLOCK_NUMBERS = ("latency_p50", "latency_p90", "act_latency_p50", "act_latency_p90", "fidelity",
                 "fidelity_arrived", "known_in_time")
"""The numbers of a consumer's block besides the outcome shares."""


def flat_names(consumers: list[str], cells: list[str]) -> list[str]:
    """Every name :func:`reporting_sim.metrics.flat` produces for a scenario with these
    consumers and staff cells."""
    names = ["bypass_rate", "bypass_before_briefing", "events", "duplication.share", "duplication.mean_cells"]
    for c in consumers:
        names += _consumer_names(c)
    for cell in cells:
        names += [f"cell.{cell}.utilisation", f"cell.{cell}.mean_wait_h"]
    return names


def _consumer_names(c: str) -> list[str]:
    """The flat names of one consumer: its outcomes and numbers over all events and per
    family, and its long-term share within the planning horizon."""
    names = []
    for prefix in [c] + [f"{c}.{fam}" for fam in FAMILY_NAMES]:
        names += [f"{prefix}.{o}" for o in OUTCOMES]
        names += [f"{prefix}.{x}" for x in BLOCK_NUMBERS]
    return names + [f"{c}.long_term.within_planning"]


def examples(consumers: list[str], cells: list[str]) -> str:
    """A few flat names of a scenario with these consumers and cells, for error messages."""
    c = consumers[0] if consumers else "CONSUMER"
    cell = cells[0] if cells else "CELL"
    return f"{c}.in_time, {c}.current.latency_p50, {c}.fidelity, bypass_rate, cell.{cell}.utilisation"


SHARE_MEASURES = OUTCOMES + ("fidelity", "fidelity_arrived", "within_planning", "bypass_rate",
                             "bypass_before_briefing", "known_in_time", "share", "utilisation")
"""The measures (last parts of flat names) that are shares, from 0 to 1."""


JSON_UNITS = ("shares are fractions from 0 to 1 (0.25 = 25%; a difference of 0.01 = 1 percentage point), "
              "times are hours, counts are counts; intervals of means are clipped to what the quantity allows "
              "(a share to 0..1, hours and counts to 0 and above)")
"""What the JSON of a study says of its numbers (its ``units`` entry): JSON keeps fractions,
a person reads percent (``reporting_sim.present.glossary``)."""


def amount(value: float, metric: str) -> str:
    """A change of ``metric`` in words a person reads (the rule of
    ``reporting_sim.present.glossary``): percentage points for a share, hours for a
    time, else the number: ``+1.2 pp``, ``-0.5 h``."""
    scale, suffix = _reading_unit(metric)
    if not suffix:
        return f"{value:+.3g}"
    x = scale * value
    return f"{x:+.1f}{suffix}" if round(x, 1) else f"0.0{suffix}"


def size(value: float, metric: str) -> str:
    """The size of a change of ``metric``, without a sign (a spread, an error), in the
    unit of :func:`amount`: ``1.6 pp``, ``0.5 h``."""
    scale, suffix = _reading_unit(metric)
    return f"{scale * value:.1f}{suffix}" if suffix else f"{value:.3g}"


def _reading_unit(metric: str) -> tuple[float, str]:
    """How a change of ``metric`` is read: (scale, unit) of percentage points for a share,
    hours for a time, ``(1, "")`` for anything else."""
    last = metric.rsplit(".", 1)[-1]
    if last in SHARE_MEASURES:
        return 100.0, " pp"
    if "latency" in last or last.endswith("_h"):
        return 1.0, " h"
    return 1.0, ""


def bounds(metric: str) -> tuple[float, float]:
    """Where a flat metric's value can lie: every one is a share, hours or a count, so
    never below 0; a share is at most 1. A mean's interval is clipped to these (a t
    interval of a positive quantity can reach below 0 with few replications)."""
    return (0.0, 1.0 if metric.rsplit(".", 1)[-1] in SHARE_MEASURES else float("inf"))


def clip(metric: str, lo, hi) -> tuple:
    """A mean's 95% interval ``[lo, hi]`` within :func:`bounds` (``None`` kept)."""
    low, high = bounds(metric)
    return (None if lo is None else max(lo, low), None if hi is None else min(hi, high))


BETTER: dict[str, int] = {
    "in_time": +1, "known_in_time": +1, "within_planning": +1, "fidelity": +1, "fidelity_arrived": +1,
    "late": -1, "not_observed": -1, "not_reported": -1, "not_shared": -1, "withheld": -1, "in_flight": -1,
    "latency_p50": -1, "latency_p90": -1, "act_latency_p50": -1, "act_latency_p90": -1,
    "bypass_rate": -1, "bypass_before_briefing": -1, "share": -1, "mean_wait_h": -1,
}
"""Which way is better, by the last part of a metric's name: +1 higher is better (in
time, within the planning horizon, fidelity), -1 lower is better (late, lost in any way,
latency, the two bypass rates, duplicated work, waits). A metric not named here (events,
utilisation) has no better direction and cannot be judged."""


def direction(metric: str) -> int:
    """+1 when a higher value of ``metric`` is better, -1 when lower is better."""
    last = metric.rsplit(".", 1)[-1]
    if last not in BETTER:
        raise ScenarioError("", "metric", f"{metric!r} has no better direction, so no variant can be judged "
                            f"better on it (judged: names ending in {', '.join(sorted(BETTER))})")
    return BETTER[last]


MIN_EFFECT: dict[str, tuple[float, str]] = {
    "in_time": (0.01, "one percentage point of the events of interest: a change a staff would "
                "not notice in what it knows (no source gives a threshold)"),
    "within_planning": (0.01, "as in_time"),
    "fidelity": (0.01, "as in_time: one report in a hundred keeping its time and place"),
    "fidelity_arrived": (0.01, "as fidelity"),
    "late": (0.01, "as in_time"), "not_observed": (0.01, "as in_time"), "not_reported": (0.01, "as in_time"),
    "not_shared": (0.01, "as in_time"), "withheld": (0.01, "as in_time"), "in_flight": (0.01, "as in_time"),
    "latency_p50": (1.0, "an hour: shelf lives of current intelligence are hours, so an hour can decide "
                    "whether a report is in time"),
    "latency_p90": (1.0, "as latency_p50"), "act_latency_p50": (1.0, "as latency_p50"),
    "act_latency_p90": (1.0, "as latency_p50"),
    "bypass_rate": (0.01, "one percentage point of the current events the headline consumer knew of"),
    "bypass_before_briefing": (0.01, "as bypass_rate"),
    "known_in_time": (0.01, "as in_time"),
    "share": (0.01, "one percentage point of the events worked (duplication.share)"),
    "mean_wait_h": (0.5, "half an hour of a report's wait in an inbox"),
}
"""The minimum effect worth counting, by the last part of a metric's name (as
:data:`BETTER`): a difference smaller than this is *equivalent* (no difference a
planner would act on), in the metric's own units (a fraction for shares, hours for
times), with the reason for the number [assumption]. The glossary
(:mod:`reporting_sim.present.glossary`) shows it beside each definition; a study
may override it per metric (``robustness --min-effect METRIC=VALUE``)."""


def min_effect(metric: str, overrides: dict | None = None) -> float:
    """The minimum effect worth counting on ``metric``: ``overrides[metric]`` when
    given, else :data:`MIN_EFFECT` of its last part."""
    if overrides and metric in overrides:
        return float(overrides[metric])
    last = metric.rsplit(".", 1)[-1]
    if last not in MIN_EFFECT:
        raise ScenarioError("", "metric", f"{metric!r} has no minimum effect worth counting (judged: names ending "
                            f"in {', '.join(sorted(MIN_EFFECT))})")
    return MIN_EFFECT[last][0]


def parse_min_effects(items, known: list[str] | None = None, field: str = "--min-effect") -> dict[str, float]:
    """``["METRIC=VALUE", ...]`` (or a mapping) as a mapping metric -> value; each value a
    positive finite number, each metric one that can be judged (and in ``known``, when given)."""
    pairs = items.items() if isinstance(items, dict) else [_split_pair(s, field) for s in items or ()]
    return {name: _min_effect(name, value, known, field) for name, value in pairs}


def _min_effect(name: str, value, known: list[str] | None, field: str) -> float:
    """One minimum effect checked: a positive finite number, on a metric that can be
    judged (and in ``known``, when given)."""
    x = _positive_number(value)
    if x is None:
        raise ScenarioError("", f"{field} {name}", f"must be a positive number (got {value!r})")
    if known is not None and name not in known:
        raise ScenarioError("", field, f"unknown metric {name!r} (names look like {examples(['CONSUMER'], ['CELL'])})")
    direction(name)
    return x


def _positive_number(value):
    """``value`` as a positive finite float (a number or its text), else ``None``."""
    import math

    if isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) and x > 0 else None


def _split_pair(text: str, field: str) -> tuple[str, str]:
    name, eq, value = str(text).partition("=")
    if not eq or not name.strip():
        raise ScenarioError("", field, f"expected METRIC=VALUE, e.g. asifu.in_time=0.03 (got {text!r})")
    return name.strip(), value.strip()
