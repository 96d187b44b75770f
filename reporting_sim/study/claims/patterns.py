"""The study's patterns as claims: their checks, the number each is judged on, and the verdict.

A pattern (a claim of ``kind = "pattern"``) takes one of five forms (see
``minusma-patterns.toml``): a *level* (a metric in ``accept = [low, high]``), an
*ordering* (``metric`` above or below ``than`` in the same runs) and three patterns
over time on weekly series: *stretches* (the share of weeks below a level, or the
longest run of them), a *window* (the mean over a span of weeks) and a *step* (the
mean after a date minus the mean before another). Each reduces every run to one
number (:func:`value`); ``check-study`` judges the mean of those numbers over the
replications by its 95% interval, and ``calibrate`` matches worlds to the same numbers.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Optional

from ...errors import ScenarioError
from ...measures import patterns as pm
from ...measures import stats

FORMS = ("level", "ordering", "stretches", "window", "step")
TIME_FORMS = ("stretches", "window", "step")
PATTERN_KEYS = ("form", "quote", "reading", "accept", "than", "series", "below", "statistic", "from",
                "until", "before", "after", "tolerance")
NEEDS = {"level": ("metric", "accept"), "ordering": ("metric", "than", "expected"),
         "stretches": ("series", "below", "statistic", "accept"), "window": ("series", "accept"),
         "step": ("series", "before", "after", "accept")}
ALLOWED = {"level": {"metric", "accept"}, "ordering": {"metric", "than", "expected"},
           "stretches": {"series", "below", "statistic", "accept"},
           "window": {"series", "from", "until", "accept"}, "step": {"series", "before", "after", "accept"}}
DEFAULT_TOLERANCE = 0.05


def field_value(spec, key: str):
    return getattr(spec, "from_" if key == "from" else key)


def check_form(ref) -> None:
    """What a pattern's form needs and allows, and a sound range (one-line errors)."""
    c = ref.spec
    if c.form is None:
        raise ref.error("form", f"a pattern needs a form: one of {', '.join(FORMS)}")
    for key in NEEDS[c.form]:
        if field_value(c, key) is None:
            raise ref.error(key, f"required for a {c.form} pattern")
    for key in ("metric", "accept", "than", "expected", "series", "below", "statistic", "from", "until",
                "before", "after"):
        if field_value(c, key) is not None and key not in ALLOWED[c.form]:
            raise ref.error(key, f"not part of a {c.form} pattern (it takes {', '.join(sorted(ALLOWED[c.form]))})")
    if c.accept is not None:
        check_range(ref, list(c.accept))
    if c.form == "ordering" and c.than == c.metric:
        raise ref.error("than", f"orders {c.metric!r} against itself; name another metric")
    if c.form == "step" and c.after < c.before:
        raise ref.error("after", f"{c.after} is before `before` ({c.before}): a step compares the weeks before "
                        "`before` with the weeks from `after` on")
    if c.form == "window" and c.from_ is not None and c.until is not None and c.until <= c.from_:
        raise ref.error("until", f"{c.until} is not after `from` ({c.from_}): the window is empty")


def check_range(ref, accept: list) -> None:
    if len(accept) == 0:
        raise ref.error("accept", "empty range: give [low, high]")
    if len(accept) != 2:
        raise ref.error("accept", f"give two numbers [low, high], not {len(accept)}")
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in accept):
        raise ref.error("accept", "low and high must be finite numbers")
    if accept[0] > accept[1]:
        raise ref.error("accept", f"low {accept[0]:g} is above high {accept[1]:g}")


def check_names(ref, names: pm.Names, sc_name: str) -> None:
    """Every metric and series a pattern names exists in the scenario."""
    c = ref.spec
    for key in ("metric", "than"):
        name = getattr(c, key)
        if name is not None:
            why = pm.metric_problem(name, names)
            if why:
                raise ref.error(key, f"unknown metric {name!r} for scenario {sc_name!r}: {why}")
    for i, name in enumerate(c.series or ()):
        why = pm.series_problem(name, names)
        if why:
            raise ref.error(f"series[{i}]", f"unknown weekly series {name!r}: {why}")


def hours(start: _dt.date, day: Optional[_dt.date]) -> Optional[float]:
    return None if day is None else (day - start).days * 24.0


def check_dates(ref, start: _dt.date, days: float, warmup_days: float = 0.0) -> None:
    """Every date inside the run, and at least one complete week in each window."""
    c = ref.spec
    end = start + _dt.timedelta(days=days)
    for key in ("from", "until", "before", "after"):
        d = field_value(c, key)
        if d is not None and not start <= d <= end:
            raise ref.error(key, f"{d} is outside the run ({start} to {end}, {days:g} days): give a date inside it")
    if c.form not in ("window", "step"):
        return
    weeks = pm.complete_weeks(days, warmup_days)
    spans = ([(hours(start, c.from_) or 0.0, hours(start, c.until) or math.inf)] if c.form == "window" else
             [(0.0, hours(start, c.before)), (hours(start, c.after), math.inf)])
    for lo, hi in spans:
        if not any(w * pm.WEEK_H >= lo - 1e-9 and (w + 1) * pm.WEEK_H <= hi + 1e-9 for w in weeks):
            raise ref.error("until" if c.form == "window" else "before", "no complete week of the run lies in "
                            f"the span between hour {lo:g} and {hi:g}: give dates a week or more apart, inside the run")


def extra(spec, flat: set) -> list[str]:
    """The measures a pattern needs its runs to hold beyond the flat metrics."""
    out = [n for n in (spec.metric, spec.than) if n is not None and n not in flat]
    return out + [pm.SERIES_PREFIX + s for s in spec.series or ()]


def value(spec, row: dict, start: _dt.date) -> float:
    """The number one run gives a pattern: the metric (a level), the difference
    metric - than (an ordering), or the series' statistic (their mean over several)."""
    if spec.form == "level":
        return _num(row.get(spec.metric))
    if spec.form == "ordering":
        return _num(row.get(spec.metric)) - _num(row.get(spec.than))
    kw = dict(below=spec.below or 0.0, statistic=spec.statistic or "share",
              start_h=hours(start, spec.from_) if spec.from_ else -math.inf,
              end_h=hours(start, spec.until) if spec.until else math.inf,
              before_h=hours(start, spec.before) or 0.0, after_h=hours(start, spec.after) or 0.0)
    vals = [pm.statistic(pm.series_of(row, s), spec.form, **kw) for s in spec.series]
    return math.nan if any(math.isnan(v) for v in vals) else sum(vals) / len(vals)


def _num(x) -> float:
    return math.nan if x is None else float(x)


def target(spec) -> tuple[float, float]:
    """The range the pattern's number must lie in (an ordering: one side of zero)."""
    if spec.form == "ordering":
        return (0.0, math.inf) if spec.expected == "+" else (-math.inf, 0.0)
    return float(spec.accept[0]), float(spec.accept[1])


def tolerance(spec) -> float:
    return DEFAULT_TOLERANCE if spec.tolerance is None else float(spec.tolerance)


def describe(spec) -> str:
    """The pattern in words: what is measured and the range it must lie in."""
    c = spec
    if c.form == "level":
        return f"level: {c.metric} in [{c.accept[0]:g}, {c.accept[1]:g}]"
    if c.form == "ordering":
        return f"ordering: {c.metric} {'above' if c.expected == '+' else 'below'} {c.than}"
    what = " and ".join(c.series)
    if c.form == "stretches":
        stat = "share of weeks" if c.statistic == "share" else "longest run of weeks"
        return f"stretches: {stat} with {what} below {c.below:g}, in [{c.accept[0]:g}, {c.accept[1]:g}]"
    if c.form == "window":
        span = f"from {c.from_ or 'the start'} until {c.until or 'the end'}"
        return f"window: mean weekly {what} {span}, in [{c.accept[0]:g}, {c.accept[1]:g}]"
    return (f"step: mean weekly {what} from {c.after} on minus before {c.before}, "
            f"in [{c.accept[0]:g}, {c.accept[1]:g}]")


def judged(spec) -> str:
    """How the pattern's verdict is reached."""
    if spec.form == "ordering":
        return ("pass = the 95% interval of the paired difference (metric - than, same runs) lies wholly "
                f"{'above' if spec.expected == '+' else 'below'} zero")
    per = "each run's value" if spec.form == "level" else "each run's statistic of its weekly series"
    return f"pass = the 95% interval of the mean of {per} (over the replications) lies inside the range"


def judge(ref, rows: list[dict], start: _dt.date) -> dict:
    """One pattern's row of ``check-study``: its number's mean, 95% interval and verdict."""
    c = ref.spec
    m, lo, hi = stats.mean_ci([value(c, r, start) for r in rows])
    m, lo, hi = stats.number_or_none(m), stats.number_or_none(lo), stats.number_or_none(hi)
    low, high = target(c)
    ok = lo is not None and hi is not None and (
        (lo > 0 if c.expected == "+" else hi < 0) if c.form == "ordering" else (low <= lo and hi <= high))
    row = {"id": c.id, "kind": "pattern", "form": c.form, "claim": c.claim, "section": c.section,
           "quote": c.quote, "reading": c.reading, "pattern": describe(c), "judged": judged(c),
           "value": m, "ci95": [lo, hi], "pass": bool(ok), "tolerance": tolerance(c)}
    if c.form == "ordering":
        row.update(metric=c.metric, than=c.than, expected=c.expected, diff=m)
    else:
        row["accept"] = [float(c.accept[0]), float(c.accept[1])]
        row.update({"metric": c.metric} if c.metric else {"series": list(c.series)})
    if c.holds_by:
        row["holds_by"] = c.holds_by
    if c.change:
        row["change"] = c.change
    return row


def scenario_start(sc) -> _dt.date:
    return sc.scenario.start_date


def bad(source: str, field: str, message: str) -> ScenarioError:
    return ScenarioError(source, field, message)
