"""The measures the study's patterns need beyond the flat metrics, and weekly series.

A pattern of the field study (``study/claims/minusma-patterns.toml``) names a flat
metric (:func:`reporting_sim.measures.metrics.flat`) or one of these, computed only
when a run is asked for them (a :class:`~reporting_sim.study.execution.Job`'s
``extra``), so ordinary runs stay as they were:

* ``CONSUMER.reach.SOURCE``: of the events in the consumer's area of interest that
  ``SOURCE`` observed (a collector, or any collector with that tag), the share that
  reached the consumer by the end of the run;
* ``CONSUMER.via.NODE`` / ``CONSUMER.FAMILY.via.NODE``: of the events of its interest
  (of that family) that reached the consumer, the share whose first arrival came from
  ``NODE``;
* ``collector.NAME.written_per_patrol`` / ``reports_per_patrol``: written reports (all
  reports) the collector released per patrol it sent out; ``observed_per_week`` /
  ``reports_per_week`` / ``written_per_week``: per week of the run;
* weekly series (``week:SERIES`` in a job's ``extra``; one value per complete week
  after any warm-up, in columns ``SERIES@wNN``): ``CONSUMER.FAMILY.in_time`` (of the
  week's events of that family in its area of interest, the share it could act on in
  time), ``duplication.share`` (of the week's events some analysis cell worked, the
  share analysed independently by more than one) and ``collector.NAME.observed`` (the
  week's events that collector observed).

:func:`statistic` turns a weekly series into the one number a pattern over time is
judged on (the share of weeks below a level, the longest run of such weeks, the
mean over a window, a step between two windows). Pure pandas and numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np
import pandas as pd

from ..metric_names import FAMILY_NAMES, flat_names
from ..model.records import RunRecords

WEEK_H = 168.0
COLLECTOR_RATES = ("written_per_patrol", "reports_per_patrol", "observed_per_week", "reports_per_week",
                   "written_per_week")
SERIES_PREFIX = "week:"


@dataclass(frozen=True)
class Names:
    """What a scenario's pattern metrics may name: its consumers, cells, collectors
    (with their tags) and nodes."""

    consumers: tuple
    cells: tuple
    collectors: tuple
    tags: frozenset
    nodes: tuple

    @classmethod
    def of(cls, sc) -> "Names":
        tags = frozenset(t for c in sc.collectors.values() for t in c.tags)
        return cls(tuple(sc.consumers), tuple(sc.cells), tuple(sc.collectors), tags, tuple(sc.nodes))

    def flat(self) -> set:
        return set(flat_names(list(self.consumers), list(self.cells)))


def metric_problem(name: str, names: Names) -> Optional[str]:
    """Why ``name`` is not a metric of the scenario (``None`` when it is one)."""
    if name in names.flat():
        return None
    parts = name.split(".")
    if parts[0] == "collector":
        return _collector_problem(parts, names, COLLECTOR_RATES)
    if len(parts) >= 3 and parts[-2] in ("reach", "via"):
        return _consumer_problem(parts, names)
    return "not a metric of this scenario"


def _collector_problem(parts: list, names: Names, allowed: tuple) -> Optional[str]:
    if len(parts) != 3 or parts[1] not in names.collectors:
        return f"collector.NAME.MEASURE needs a collector of the scenario (one of {', '.join(names.collectors)})"
    if parts[2] not in allowed:
        return f"collector measures: {', '.join(allowed)}"
    return None


def _consumer_problem(parts: list, names: Names) -> Optional[str]:
    who, what, target = parts[0], parts[-2], parts[-1]
    if who not in names.consumers:
        return f"{who!r} is not a consumer (consumers: {', '.join(names.consumers)})"
    if not _consumer_shape(parts):
        return "CONSUMER.reach.SOURCE, CONSUMER.via.NODE or CONSUMER.FAMILY.via.NODE"
    return _reach_problem(target, names) if what == "reach" else _via_problem(target, names)


def _consumer_shape(parts: list) -> bool:
    """At most four parts, and four only as ``CONSUMER.FAMILY.via.NODE``."""
    if len(parts) != 4:
        return len(parts) < 4
    return parts[2] == "via" and parts[1] in FAMILY_NAMES


def _reach_problem(target: str, names: Names) -> Optional[str]:
    if target in names.collectors or target in names.tags:
        return None
    return f"reach.SOURCE needs a collector or a collector tag ({', '.join(sorted(names.tags))})"


def _via_problem(target: str, names: Names) -> Optional[str]:
    return None if target in names.nodes else f"via.NODE needs a node of the scenario, not {target!r}"


def series_problem(name: str, names: Names) -> Optional[str]:
    """Why ``name`` is not a weekly series of the scenario (``None`` when it is one)."""
    parts = name.split(".")
    if name == "duplication.share":
        return None
    if parts[0] == "collector":
        return _collector_problem(parts, names, ("observed",))
    if _is_family_in_time(parts, names):
        return None
    return ("weekly series: CONSUMER.FAMILY.in_time, duplication.share or collector.NAME.observed "
            f"(consumers: {', '.join(names.consumers)})")


def _is_family_in_time(parts: list, names: Names) -> bool:
    """``CONSUMER.FAMILY.in_time`` of a consumer of the scenario."""
    return len(parts) == 3 and parts[0] in names.consumers and parts[1] in FAMILY_NAMES and parts[2] == "in_time"


# ------------------------------------------------------------------ computing

def _after_warmup(rec: RunRecords) -> tuple[pd.DataFrame, pd.DataFrame]:
    cut = rec.warmup_days * 24.0
    ledger, events = rec.ledger, rec.events
    if cut:
        ledger, events = ledger[ledger["t_h"] >= cut], events[events["t_h"] >= cut]
    return ledger, events


def compute(rec: RunRecords, wanted: Iterable[str], sc=None) -> dict:
    """The values of the ``wanted`` pattern metrics and weekly series (``week:SERIES``)
    of one run of scenario ``sc``, as flat columns (a series gives ``SERIES@wNN`` per
    complete week)."""
    ledger, events = _after_warmup(rec)
    interest = ledger[ledger["interest"].to_numpy(dtype=bool)] if "interest" in ledger else ledger
    out: dict = {}
    for name in wanted:
        if name.startswith(SERIES_PREFIX):
            out.update(weekly_columns(rec, interest, events, name[len(SERIES_PREFIX):]))
        else:
            out[name] = _one(rec, interest, events, name, sc)
    return out


def _one(rec: RunRecords, interest: pd.DataFrame, events: pd.DataFrame, name: str, sc) -> float:
    parts = name.split(".")
    if parts[0] == "collector":
        return collector_rate(rec, parts[1], parts[2], patrols_sent(rec, sc, parts[1]), _branch(sc, parts[1]))
    if parts[-2] == "reach":
        return reach(interest, events, parts[0], _sources(rec, parts[-1]))
    family = parts[1] if len(parts) == 4 else None
    return via(interest, parts[0], parts[-1], family)


def _sources(rec: RunRecords, source: str) -> list[str]:
    """The collectors a source names: itself, or every collector with that tag."""
    tags = rec.meta.get("collector_tags", {})
    return [source] if source in tags else [n for n, t in tags.items() if source in t]


def reach(interest: pd.DataFrame, events: pd.DataFrame, consumer: str, collectors: list[str]) -> float:
    """Of the events of ``consumer``'s interest observed by any of ``collectors``, the
    share that reached it (NaN when they observed none of them)."""
    cols = [f"obs:{c}" for c in collectors if f"obs:{c}" in events]
    if not cols:
        return math.nan
    seen = events.loc[events[cols].to_numpy(dtype=bool).any(axis=1), "event_id"]
    mine = interest[(interest["consumer"] == consumer).to_numpy() & interest["event_id"].isin(seen).to_numpy()]
    return float(mine["arrival_h"].notna().mean()) if len(mine) else math.nan


def via(interest: pd.DataFrame, consumer: str, node: str, family: Optional[str] = None) -> float:
    """Of the events of ``consumer``'s interest (of ``family``) that reached it, the
    share whose first arrival came from ``node`` (NaN when none reached it)."""
    mine = interest[(interest["consumer"] == consumer).to_numpy() & interest["arrival_h"].notna().to_numpy()]
    if family is not None:
        mine = mine[(mine["family"] == family).to_numpy()]
    return float((mine["via"].astype(str) == node).mean()) if len(mine) else math.nan


def patrols_sent(rec: RunRecords, sc, name: str) -> float:
    """The patrols a collector sent out in the run: those that left (a unit whose
    patrols need an escort from a pool), else its schedule's ``per_day`` x days (0 for
    a collector that watches continuously, or when the scenario is not at hand)."""
    c = rec.meta.get("collectors", {}).get(name, {})
    if c.get("patrols_out"):
        return float(c["patrols_out"])
    patrols = _scheduled_patrols(sc, name)
    return float(patrols.per_day) * rec.days if patrols is not None else 0.0


def _scheduled_patrols(sc, name: str):
    """The ``[patrols]`` of collector ``name`` if it goes on patrol (``None`` without a scenario)."""
    spec = sc.collectors.get(name) if sc is not None else None
    return getattr(spec, "patrols", None) if spec is not None and spec.watch == "patrols" else None


def _branch(sc, name: str) -> bool:
    spec = sc.collectors.get(name) if sc is not None else None
    return spec is not None and spec.culture == "branch"


def collector_rate(rec: RunRecords, name: str, measure: str, patrols: float = 0.0, branch: bool = False) -> float:
    """A collector's reports (written reports, observations) per patrol sent out
    (``patrols``; NaN when none) or per week, over the whole run. Written reports: a
    branch-culture unit's every report (its patrol report is written), a
    commander-centric unit's written reports only (not the word to its chief)."""
    c = rec.meta.get("collectors", {}).get(name, {})
    weeks = rec.days * 24.0 / WEEK_H
    what, per = measure.split("_per_")
    written = c.get("reports", 0) if branch else c.get("written_reports", 0)
    count = {"written": written, "reports": c.get("reports", 0), "observed": c.get("observed", 0)}[what]
    if per == "patrol":
        return count / patrols if patrols else math.nan
    return count / weeks if weeks else math.nan


def complete_weeks(days: float, warmup_days: float = 0.0) -> list[int]:
    """The weeks (from hour 0) wholly inside the run and after the warm-up."""
    last = int(math.floor(days * 24.0 / WEEK_H + 1e-9))
    first = int(math.ceil(warmup_days * 24.0 / WEEK_H - 1e-9))
    return list(range(first, last))


def column(series: str, week: int) -> str:
    return f"{series}@w{week:03d}"


def weekly_columns(rec: RunRecords, interest: pd.DataFrame, events: pd.DataFrame, series: str) -> dict:
    """One weekly series of a run as columns ``SERIES@wNN`` (NaN where the week had no
    events to share over)."""
    weeks = complete_weeks(rec.days, rec.warmup_days)
    values = _weekly(interest, events, series).reindex(weeks)
    if series.startswith("collector."):
        values = values.fillna(0.0)
    return {column(series, w): (None if pd.isna(v) else float(v)) for w, v in values.items()}


def _weekly(interest: pd.DataFrame, events: pd.DataFrame, series: str) -> pd.Series:
    """Week -> value of ``series`` (duplication, a collector's observations, a consumer's in-time share)."""
    week = (events["t_h"] // WEEK_H).astype(int)
    if series == "duplication.share":
        return _weekly_duplication(events, week)
    parts = series.split(".")
    if parts[0] == "collector":
        return _weekly_observed(events, week, parts[1])
    return _weekly_in_time(interest, parts[0], parts[1])


def _weekly_duplication(events: pd.DataFrame, week: pd.Series) -> pd.Series:
    """Of each week's events some analysis cell worked, the share analysed independently more than once."""
    worked = events["n_analysed"].to_numpy() > 0
    indep = events["n_independent"] if "n_independent" in events else events["n_analysed"]
    return (indep[worked] > 1).groupby(week[worked]).mean()


def _weekly_observed(events: pd.DataFrame, week: pd.Series, collector: str) -> pd.Series:
    """Each week's events ``collector`` observed (0 for a collector the run did not record)."""
    col = f"obs:{collector}"
    seen = events[col].astype(float) if col in events else pd.Series(0.0, index=events.index)
    return seen.groupby(week).sum()


def _weekly_in_time(interest: pd.DataFrame, consumer: str, family: str) -> pd.Series:
    """Of each week's events of ``consumer``'s interest and ``family``, the share it could act on in time."""
    led = interest[(interest["consumer"] == consumer).to_numpy() & (interest["family"] == family).to_numpy()]
    ok = (led["outcome"] == "in_time").astype(float)
    return ok.groupby((led["t_h"] // WEEK_H).astype(int)).mean()


# ------------------------------------------------------------------ statistics of a series

def series_of(row: dict, series: str) -> dict[int, float]:
    """Week -> value of one weekly series, from a run's row (weeks with no value left out)."""
    head = f"{series}@w"
    out = {int(k[len(head):]): float(v) for k, v in row.items() if k.startswith(head) and _has_value(v)}
    return dict(sorted(out.items()))


def _has_value(v) -> bool:
    """Not missing, not a NaN."""
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def share_below(values: dict[int, float], below: float) -> float:
    """The share of the weeks whose value is below ``below`` (NaN with no weeks)."""
    if not values:
        return math.nan
    return sum(v < below for v in values.values()) / len(values)


def longest_below(values: dict[int, float], below: float) -> float:
    """The longest run of consecutive weeks whose value is below ``below`` (a week
    without a value breaks no run and adds none)."""
    best = run = 0
    for v in values.values():
        run = run + 1 if v < below else 0
        best = max(best, run)
    return float(best) if values else math.nan


def window_mean(values: dict[int, float], start_h: float = -math.inf, end_h: float = math.inf) -> float:
    """The mean over the weeks lying wholly in ``[start_h, end_h)`` (NaN with none)."""
    inside = [v for w, v in values.items() if w * WEEK_H >= start_h - 1e-9 and (w + 1) * WEEK_H <= end_h + 1e-9]
    return float(np.mean(inside)) if inside else math.nan


def statistic(values: dict[int, float], form: str, *, below: float = 0.0, statistic: str = "share",
              start_h: float = -math.inf, end_h: float = math.inf, before_h: float = 0.0,
              after_h: float = 0.0) -> float:
    """The number a pattern over time is judged on, from one weekly series."""
    if form == "stretches":
        return share_below(values, below) if statistic == "share" else longest_below(values, below)
    if form == "window":
        return window_mean(values, start_h, end_h)
    return window_mean(values, after_h) - window_mean(values, -math.inf, before_h)
