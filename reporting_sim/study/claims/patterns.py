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

from ...measures import patterns as pm
from ...measures import stats
from ...metric_names import bounds

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
    """A claim's field by its key in the file (``from`` is the field ``from_``)."""
    return getattr(spec, "from_" if key == "from" else key)


def check_form(ref) -> None:
    """What a pattern's form needs and allows, and a sound range (one-line errors)."""
    c = ref.spec
    if c.form is None:
        raise ref.error("form", f"a pattern needs a form: one of {', '.join(FORMS)}")
    _check_keys(ref)
    if c.accept is not None:
        check_range(ref, list(c.accept))
    _check_order(ref)


_FORM_KEYS = ("metric", "accept", "than", "expected", "series", "below", "statistic", "from", "until",
              "before", "after")
"""The keys that say what a pattern measures, in the order they are checked."""


def _check_keys(ref) -> None:
    """A pattern has every key its form needs and none that its form does not take."""
    c = ref.spec
    missing = _missing_keys(c)
    if missing:
        raise ref.error(missing[0], f"required for a {c.form} pattern")
    foreign = _foreign_keys(c)
    if foreign:
        raise ref.error(foreign[0], f"not part of a {c.form} pattern (it takes {', '.join(sorted(ALLOWED[c.form]))})")


def _missing_keys(c) -> list[str]:
    """The keys a pattern's form needs that it lacks."""
    return [key for key in NEEDS[c.form] if field_value(c, key) is None]


def _foreign_keys(c) -> list[str]:
    """The keys a pattern gives that its form does not take."""
    return [key for key in _FORM_KEYS if field_value(c, key) is not None and key not in ALLOWED[c.form]]


def _check_order(ref) -> None:
    """An ordering of two metrics, a step after its before, a window that is not empty."""
    check = _ORDER_CHECKS.get(ref.spec.form)
    problem = check(ref.spec) if check else None
    if problem:
        raise ref.error(*problem)


def _ordering_problem(c) -> Optional[tuple[str, str]]:
    """An ordering of a metric against itself."""
    if c.than == c.metric:
        return "than", f"orders {c.metric!r} against itself; name another metric"
    return None


def _step_problem(c) -> Optional[tuple[str, str]]:
    """A step whose ``after`` comes before its ``before``."""
    if c.after < c.before:
        return "after", (f"{c.after} is before `before` ({c.before}): a step compares the weeks before "
                         "`before` with the weeks from `after` on")
    return None


def _window_problem(c) -> Optional[tuple[str, str]]:
    """A window whose ``until`` is not after its ``from``."""
    if None not in (c.from_, c.until) and c.until <= c.from_:
        return "until", f"{c.until} is not after `from` ({c.from_}): the window is empty"
    return None


_ORDER_CHECKS = {"ordering": _ordering_problem, "step": _step_problem, "window": _window_problem}
"""Per form, the check that its two ends come in order: (field, message) or ``None``."""


def check_range(ref, accept: list) -> None:
    """An acceptance range is two finite numbers, low not above high (one line otherwise)."""
    problem = _range_problem(accept)
    if problem:
        raise ref.error("accept", problem)


def _range_problem(accept: list) -> str:
    """What is wrong with an acceptance range, or ``""``."""
    if len(accept) == 0:
        return "empty range: give [low, high]"
    if len(accept) != 2:
        return f"give two numbers [low, high], not {len(accept)}"
    if not all(_finite_number(v) for v in accept):
        return "low and high must be finite numbers"
    if accept[0] > accept[1]:
        return f"low {accept[0]:g} is above high {accept[1]:g}"
    return ""


def _finite_number(v) -> bool:
    """Whether ``v`` is a finite number (a boolean is not one)."""
    return not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)


def check_names(ref, names: pm.Names, sc_name: str) -> None:
    """Every metric and series a pattern names exists in the scenario."""
    _check_metric_names(ref, names, sc_name)
    for i, name in enumerate(ref.spec.series or ()):
        why = pm.series_problem(name, names)
        if why:
            raise ref.error(f"series[{i}]", f"unknown weekly series {name!r}: {why}")


def _check_metric_names(ref, names: pm.Names, sc_name: str) -> None:
    """The pattern's metric and ``than`` (those given) are measures of the scenario."""
    for key in ("metric", "than"):
        name = getattr(ref.spec, key)
        why = pm.metric_problem(name, names) if name is not None else ""
        if why:
            raise ref.error(key, f"unknown metric {name!r} for scenario {sc_name!r}: {why}")


def hours(start: _dt.date, day: Optional[_dt.date]) -> Optional[float]:
    """The hour of the run a date is (``None`` for no date)."""
    return None if day is None else (day - start).days * 24.0


def check_dates(ref, start: _dt.date, days: float, warmup_days: float = 0.0) -> None:
    """Every date inside the run, and at least one complete week in each window."""
    c = ref.spec
    _inside_run(ref, start, days)
    weeks = pm.complete_weeks(days, warmup_days)
    for lo, hi in _spans(c, start):
        if not _has_week(weeks, lo, hi):
            raise ref.error("until" if c.form == "window" else "before", "no complete week of the run lies in "
                            f"the span between hour {lo:g} and {hi:g}: give dates a week or more apart, inside the run")


def _has_week(weeks, lo: float, hi: float) -> bool:
    """Whether some complete week of ``weeks`` lies wholly between hours ``lo`` and ``hi``."""
    return any(_week_within(w, lo, hi) for w in weeks)


def _week_within(w: int, lo: float, hi: float) -> bool:
    """Whether week ``w`` of the run lies wholly between hours ``lo`` and ``hi``."""
    return w * pm.WEEK_H >= lo - 1e-9 and (w + 1) * pm.WEEK_H <= hi + 1e-9


def _inside_run(ref, start: _dt.date, days: float) -> None:
    """Every date the pattern gives lies within the run."""
    end = start + _dt.timedelta(days=days)
    for key in ("from", "until", "before", "after"):
        d = field_value(ref.spec, key)
        if _outside(d, start, end):
            raise ref.error(key, f"{d} is outside the run ({start} to {end}, {days:g} days): give a date inside it")


def _outside(d: Optional[_dt.date], start: _dt.date, end: _dt.date) -> bool:
    """Whether a date is given and lies outside ``[start, end]``."""
    return d is not None and not start <= d <= end


def _spans(c, start: _dt.date) -> list[tuple[float, float]]:
    """The spans of hours a window or step averages over (none for other forms)."""
    spans = _SPANS.get(c.form)
    return spans(c, start) if spans else []


def _window_span(c, start: _dt.date) -> list[tuple[float, float]]:
    """A window's span: from its ``from`` (the start) until its ``until`` (the end)."""
    return [(hours(start, c.from_) or 0.0, hours(start, c.until) or math.inf)]


def _step_spans(c, start: _dt.date) -> list[tuple[float, float]]:
    """A step's two spans: the weeks before its ``before``, and from its ``after`` on."""
    return [(0.0, hours(start, c.before)), (hours(start, c.after), math.inf)]


_SPANS = {"window": _window_span, "step": _step_spans}
"""The spans of hours of each form that averages over some (see :func:`_spans`)."""


def extra(spec, flat: set) -> list[str]:
    """The measures a pattern needs its runs to hold beyond the flat metrics."""
    return _beyond_flat((spec.metric, spec.than), flat) + [pm.SERIES_PREFIX + s for s in spec.series or ()]


def _beyond_flat(names, flat: set) -> list[str]:
    """The names given (not ``None``) that are not flat metrics."""
    return [n for n in names if n is not None and n not in flat]


def value(spec, row: dict, start: _dt.date) -> float:
    """The number one run gives a pattern: the metric (a level), the difference
    metric - than (an ordering), or the series' statistic (their mean over several)."""
    if spec.form == "level":
        return _num(row.get(spec.metric))
    if spec.form == "ordering":
        return _num(row.get(spec.metric)) - _num(row.get(spec.than))
    return _series_value(spec, row, start)


def _series_value(spec, row: dict, start: _dt.date) -> float:
    """The mean over a pattern's weekly series of its statistic in one run (``nan``
    when any series gives none)."""
    kw = _statistic_args(spec, start)
    vals = [pm.statistic(pm.series_of(row, s), spec.form, **kw) for s in spec.series]
    return math.nan if any(math.isnan(v) for v in vals) else sum(vals) / len(vals)


def _statistic_args(spec, start: _dt.date) -> dict:
    """The arguments of :func:`reporting_sim.measures.patterns.statistic` for a
    pattern over time (its level, statistic and hours; defaults where not given)."""
    return dict(below=spec.below or 0.0, statistic=spec.statistic or "share",
                start_h=_hour_or(start, spec.from_, -math.inf), end_h=_hour_or(start, spec.until, math.inf),
                before_h=_hour_or(start, spec.before, 0.0), after_h=_hour_or(start, spec.after, 0.0))


def _hour_or(start: _dt.date, day: Optional[_dt.date], default: float) -> float:
    """The hour of ``day`` in the run, or ``default`` when there is no date."""
    return hours(start, day) if day else default


def _num(x) -> float:
    """A run's value as a float (``nan`` when missing)."""
    return math.nan if x is None else float(x)


def target(spec) -> tuple[float, float]:
    """The range the pattern's number must lie in (an ordering: one side of zero)."""
    if spec.form == "ordering":
        return (0.0, math.inf) if spec.expected == "+" else (-math.inf, 0.0)
    return float(spec.accept[0]), float(spec.accept[1])


def tolerance(spec) -> float:
    return DEFAULT_TOLERANCE if spec.tolerance is None else float(spec.tolerance)


def _in(c) -> str:
    return f"in [{c.accept[0]:g}, {c.accept[1]:g}]"


def _stretches(c) -> str:
    stat = "share of weeks" if c.statistic == "share" else "longest run of weeks"
    return f"stretches: {stat} with {' and '.join(c.series)} below {c.below:g}, {_in(c)}"


def _window(c) -> str:
    return f"window: mean weekly {' and '.join(c.series)} from {c.from_ or 'the start'} until {c.until or 'the end'}, {_in(c)}"


def _step(c) -> str:
    return f"step: mean weekly {' and '.join(c.series)} from {c.after} on minus before {c.before}, {_in(c)}"


def _ordering(c) -> str:
    return f"ordering: {c.metric} {'above' if c.expected == '+' else 'below'} {c.than}"


DESCRIBE = {"level": lambda c: f"level: {c.metric} {_in(c)}", "ordering": _ordering, "stretches": _stretches,
            "window": _window, "step": _step}


def describe(spec) -> str:
    """The pattern in words: what is measured and the range it must lie in."""
    return DESCRIBE[spec.form](spec)


def judged(spec) -> str:
    """How the pattern's verdict is reached."""
    if spec.form == "ordering":
        return ("pass = the 95% interval of the paired difference (metric - than, same runs) lies wholly "
                f"{'above' if spec.expected == '+' else 'below'} zero")
    per = "each run's value" if spec.form == "level" else "each run's statistic of its weekly series"
    return (f"pass = the 95% interval of the mean of {per} (over the replications; clipped to where the "
            "number can lie) lies inside the range")


def passes(spec, lo, hi) -> bool:
    """Whether a 95% interval ``[lo, hi]`` meets the pattern (inside its range; an
    ordering: wholly on its side of zero)."""
    if spec.form == "ordering":
        return on_expected_side(spec.expected, lo, hi)
    if lo is None or hi is None:
        return False
    low, high = target(spec)
    return low <= lo and hi <= high


def on_expected_side(expected: str, lo: Optional[float], hi: Optional[float]) -> bool:
    """Whether an interval ``[lo, hi]`` lies wholly on the expected side of zero
    (above for ``"+"``, below otherwise); ``False`` when it has no ends."""
    if lo is None or hi is None:
        return False
    return lo > 0 if expected == "+" else hi < 0


def judge(ref, rows: list[dict], start: _dt.date) -> dict:
    """One pattern's row of ``check-study``: its number's mean, 95% interval and verdict."""
    c = ref.spec
    m, lo, hi = _mean_ci(c, rows, start)
    row = {"id": c.id, "kind": "pattern", "form": c.form, "claim": c.claim, "section": c.section,
           "quote": c.quote, "reading": c.reading, "pattern": describe(c), "judged": judged(c),
           "value": m, "ci95": [lo, hi], "pass": passes(c, lo, hi), "tolerance": tolerance(c)}
    row.update(_measured(c, m))
    row.update(_given(c, ("holds_by", "change")))
    return row


def _mean_ci(c, rows: list[dict], start: _dt.date) -> tuple:
    """The mean of the runs' numbers for pattern ``c`` and its 95% interval (``None``
    for what cannot be computed)."""
    return interval(c, [value(c, r, start) for r in rows])


def domain(spec) -> tuple[float, float]:
    """Where a pattern's number can lie: a level within its metric's bounds (a share in
    [0, 1], hours and counts at least 0), a share of weeks in [0, 1], a longest run at
    least 0; orderings, windows and steps unbounded."""
    if spec.form == "level":
        return bounds(spec.metric)
    if spec.form == "stretches":
        return (0.0, 1.0 if (spec.statistic or "share") == "share" else math.inf)
    return (-math.inf, math.inf)


def interval(spec, values: list[float]) -> tuple:
    """The mean of ``values`` (one per run) and its 95% t interval, clipped to the
    pattern's :func:`domain` as every mean's interval is (:func:`reporting_sim.
    metric_names.clip`): with few replications a t interval of a share of weeks near 1
    reaches above 1, where the mean cannot lie."""
    m, lo, hi = (stats.number_or_none(x) for x in stats.mean_ci(values))
    low, high = domain(spec)
    return m, (None if lo is None else max(lo, low)), (None if hi is None else min(hi, high))


def _given(c, keys: tuple[str, ...]) -> dict:
    """The fields of ``keys`` that the claim gives (not empty)."""
    return {k: getattr(c, k) for k in keys if getattr(c, k)}


def _measured(c, m) -> dict:
    """What a pattern's row says it measured: an ordering's metrics, direction and
    difference (``m``); otherwise its acceptance range and its metric or series."""
    if c.form == "ordering":
        return {"metric": c.metric, "than": c.than, "expected": c.expected, "diff": m}
    return {"accept": [float(c.accept[0]), float(c.accept[1])],
            **({"metric": c.metric} if c.metric else {"series": list(c.series)})}



def scenario_start(sc) -> _dt.date:
    """Day 0 of a scenario's calendar (the dates of patterns count from it)."""
    return sc.scenario.start_date

