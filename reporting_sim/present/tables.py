"""Plain-text tables of summaries, for the terminal and ``summary.txt``.

Rendering only: every number comes from a summary dict made by
:func:`reporting_sim.metrics.summary`.
"""

from __future__ import annotations

from ..metric_names import OUTCOMES
from .glossary import SHORT as _SHORT


def _pct(x) -> str:
    return "   -" if x is None else f"{100 * x:5.1f}"


def _h(x) -> str:
    return "    -" if x is None else f"{x:6.1f}"


def format_summary(s: dict, bypass=None) -> str:
    """The run summary as a readable table (shares in percent, latencies in hours);
    ``bypass``: the (consumer, branch) pair the bypass rate is of (the run's
    ``meta["bypass"]``)."""
    horizon = s.get("planning_horizon_h", 168.0)
    lines = [
        f"scenario {s['scenario']}  seed {s['seed']}  days {s['days']:g}"
        + (f"  (warm-up {s['warmup_days']:g} d left out)" if s.get("warmup_days") else ""),
        f"events {s['events']}  (current {s['events_by_family']['current']}, "
        f"long-term {s['events_by_family']['long_term']})  reports {s['reports']['created']}",
        "",
        "Current intelligence: per consumer, of the events in its area of interest (n), the share",
        "in each outcome (%); latency (h) from the event to knowing it and to when it could act",
        "(by the rule of the channel the news came by), over what arrived",
    ]
    lines += _outcome_table(s, "current")
    lines += ["", "Long-term (X-PMESII) intelligence; plan % = could act on it within "
              f"{horizon:g} h (its shelf life is weeks: 'late' is rare)"]
    lines += _outcome_table(s, "long_term")
    lines += _area_lines(s) + _bypass_lines(s, bypass) + _duplication_lines(s) + _cell_lines(s)
    return "\n".join(lines)


def _area_lines(s: dict) -> list[str]:
    """The consumers whose area of interest is not every event (none when all are)."""
    areas = [f"  {name}: {c['area_of_interest']}" for name, c in s["consumers"].items()
             if c.get("area_of_interest", "all events") != "all events"]
    if not areas:
        return []
    return ["", "Areas of interest (the denominators; every other consumer: all events):"] + areas


def _duplication_lines(s: dict) -> list[str]:
    """The share of events analysed twice (none when the summary has no such share)."""
    dup = s.get("duplication") or {}
    if dup.get("share_duplicated") is None:
        return []
    return [f"duplication: {100 * dup['share_duplicated']:.1f}% of the {dup['events_analysed']} events "
            "worked by an analysis cell were analysed independently by more than one"]


def _cell_lines(s: dict) -> list[str]:
    """The staff cells' table (none without cells)."""
    if not s.get("cells"):
        return []
    lines = ["", f"{'staff cell':<22}{'util %':>8}{'wait h':>8}{'queue':>8}{'worked':>8}{'overflow':>9}"]
    lines += [_cell_row(name, c) for name, c in s["cells"].items()]
    lines.append("(util: busy analyst-hours, reports and routine work, over analyst-hours round the clock)")
    return lines


def _cell_row(name: str, c: dict) -> str:
    """One staff cell's row of :func:`_cell_lines`."""
    util = "   -" if c["utilisation"] is None else f"{100 * c['utilisation']:6.1f}"
    return (f"{name:<22}{util:>8}{_h(c['mean_wait_h']):>8}"
            f"{(c['mean_queue'] or 0):8.2f}{c['started']:8d}{c['overflow']:9d}")


def _bypass_lines(s: dict, bypass=None) -> list[str]:
    """The two bypass measures, in words (none when the scenario defines no bypass)."""
    if s.get("bypass_rate") is None:
        return []
    who, branch = bypass or ("the headline consumer", "its intelligence branch")
    lines = ["", f"bypass rate: {100 * s['bypass_rate']:.1f}% of the current events {who} knew of, it "
             f"first heard through the command chain before any report reached {branch}"]
    if s.get("bypass_before_briefing") is not None:
        lines.append(f"bypass before briefing: {100 * s['bypass_before_briefing']:.1f}%, before {branch} could "
                     "have briefed it on them")
    return lines


def _outcome_table(s: dict, family: str) -> list[str]:
    plan = family == "long_term"
    rows = [_outcome_head(plan)] + [_outcome_row(name, c["by_family"][family], plan) for name, c in s["consumers"].items()
                     if c["by_family"][family]["events"]]
    if len(rows) == 1:
        rows.append("(no events of this family)")
    return rows


def _outcome_head(plan: bool) -> str:
    """The header of :func:`_outcome_table` (with the planning column for long-term)."""
    return (f"{'consumer':<22}{'n':>6}" + "".join(f"{_SHORT[o]:>10}" for o in OUTCOMES)
            + f"{'know p50':>9}{'act p50':>9}{'act p90':>9}" + (f"{'plan %':>8}" if plan else ""))


def _outcome_row(name: str, f: dict, plan: bool) -> str:
    """One consumer's row of :func:`_outcome_table` (``f``: its numbers for one family)."""
    act = f.get("act_latency_h", {})
    return (f"{name:<22}{f['events']:>6}" + "".join(f"{_pct(f['outcomes'][o]):>10}" for o in OUTCOMES)
            + f"{_h(f['latency_h']['p50']):>9}{_h(act.get('p50')):>9}{_h(act.get('p90')):>9}"
            + (f"{_pct(f.get('within_planning')):>8}" if plan else ""))


def selection(block: dict, headline=()) -> list[str]:
    """The metrics a comparison shows by default: those of ``headline`` (the base
    scenario's, :func:`reporting_sim.metrics.headline`) it has, else all of them."""
    return [m for m in headline if m in block] or list(block)


def _numbers(result: dict, name: str) -> list:
    """Everything a comparison shows of metric ``name``, to tell two identical rows."""
    return [_shown_numbers(block["metrics"].get(name) or {}) for block in result["variants"].values()]


def _shown_numbers(m: dict) -> tuple:
    """A metric's mean and interval, and its difference from the base with its interval."""
    d = m.get("diff_vs_base") or {}
    return (m.get("mean"), tuple(m.get("ci95") or ()), d.get("mean"), tuple(d.get("ci95") or ()))


def _same_quantity(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are one consumer's measure over all events and over one
    family (``jmac.in_time``, ``jmac.long_term.in_time``)."""
    pa, pb = a.split("."), b.split(".")
    return len({len(pa), len(pb)}) == 2 and pa[0] == pb[0] and pa[-1] == pb[-1] and min(len(pa), len(pb)) == 2


def distinct(result: dict, names: list[str]) -> tuple[list[str], dict[str, str]]:
    """``names`` without a consumer's measure over one family whose every number equals
    its measure over all events, or the other way round (JMAC's ``in_time`` is its
    ``long_term.in_time`` when its interest is long-term only), and which each left-out
    one repeats."""
    kept, same = [], {}
    for name in names:
        twin = _twin(result, kept, name)
        if twin is None:
            kept.append(name)
        else:
            same[name] = twin
    return kept, same


def _twin(result: dict, kept: list[str], name: str) -> str | None:
    """The kept metric ``name`` repeats (the same quantity with the same numbers), if any."""
    return next((k for k in kept if _same_quantity(k, name) and _numbers(result, k) == _numbers(result, name)),
                None)


def shown_metrics(result: dict, metrics: list[str] | None = None, headline=()) -> tuple[list[str], dict]:
    """The metrics :func:`format_comparison` shows, and the duplicates it leaves out."""
    block = result["variants"][result["base"]]["metrics"]
    names = [m for m in (metrics or selection(block, headline)) if m in block]
    return distinct(result, names)


def format_comparison(result: dict, metrics: list[str] | None = None, headline=()) -> str:
    """A comparison as a table: the base's mean and 95% interval, and for each variant
    the paired difference from the base; ``*`` marks a difference whose interval
    excludes zero. Shows ``metrics``, or by default the ``headline`` ones
    (:func:`selection`), each once. Shares in percent, their differences in percentage
    points, times in hours (:func:`reporting_sim.present.glossary.number`)."""
    names, _ = shown_metrics(result, metrics, headline)
    lines = [f"{result.get('experiment', '')}: {result['replications']} replications of "
             f"{result['days']:g} days, seeds {result['seed']}..{result['seed'] + result['replications'] - 1}, "
             "common random numbers; 95% t intervals; * = the difference's interval excludes 0", ""]
    for label, block in result["variants"].items():
        lines += _scenario_block(label, block, label == result["base"], names) + [""]
    return "\n".join(lines).rstrip()


def _scenario_block(label: str, block: dict, is_base: bool, names: list[str]) -> list[str]:
    """One scenario's lines of :func:`format_comparison`: the base's means, or a
    variant's differences from the base."""
    head = f"{'scenario ' + label:<44}" + ("base: mean [95% interval]" if is_base
                                           else "difference from the base [95% interval]")
    row = _base_row if is_base else _difference_row
    return [head] + [row(name, block["metrics"][name]) for name in names if block["metrics"].get(name) is not None]


def _base_row(name: str, m: dict) -> str:
    """The base's mean of metric ``name`` and its 95% interval, one line."""
    from .glossary import interval, number

    return f"  {name:<42}{number(m['mean'], name):>10} {interval(*m['ci95'], name)}"


def _difference_row(name: str, m: dict) -> str:
    """A variant's paired difference in ``name`` with its interval, ``*`` when that
    interval excludes zero."""
    from .glossary import change, interval

    d = m["diff_vs_base"]
    lo, hi = d["ci95"]
    star = " *" if _excludes_zero(lo, hi) else ""
    return f"  {name:<42}{change(d['mean'], name):>10} {interval(lo, hi, name, diff=True)}{star}"


def _excludes_zero(lo, hi) -> bool:
    """Whether the interval [lo, hi] has both ends and leaves zero out."""
    return lo is not None and hi is not None and (lo > 0 or hi < 0)


def ranking_line(result: dict, metric: str, labels: dict | None = None) -> str:
    """One sentence for the chosen measure: the options ranked, best first, each with
    its change from the base and interval, e.g. "For the force commander's current
    intelligence in time (base 11.0%; higher is better): trained-u2 +1.8 pp [+1.3,
    +2.3], ..."."""
    from .glossary import change, interval, number, plain

    base = result["base"]
    rows = _differences(result, metric)
    way = _way(metric)
    rows.sort(key=lambda r: -(way * r[1]["mean"]) if r[1]["mean"] is not None else float("inf"))
    better = "higher is better" if way > 0 else "lower is better"
    head = (f"For {plain(metric, labels)} ({metric}; base {number(result['variants'][base]['metrics'][metric]['mean'], metric)}"
            f"; {better}): ")
    return head + "; ".join(f"{label} {change(d['mean'], metric)} {interval(*d['ci95'], metric, diff=True)}"
                            for label, d in rows) + "."


def _differences(result: dict, metric: str) -> list[tuple[str, dict]]:
    """Each variant's paired difference in ``metric`` from the base, where it has one."""
    rows = []
    for label, block in result["variants"].items():
        d = (block["metrics"].get(metric) or {}).get("diff_vs_base")
        if label != result["base"] and d is not None:
            rows.append((label, d))
    return rows


def _way(metric: str) -> int:
    """Which way ``metric`` is better (+1 higher, -1 lower); +1 for a metric with no
    better direction (utilisation), which is then ranked by size."""
    from ..metric_names import direction

    try:
        return direction(metric)
    except Exception:
        return 1


def format_sweep(result: dict) -> str:
    """A sweep: each point's parameters and mean metric, then the ranking."""
    from .glossary import interval, number

    sw = result["sweep"]
    metric = sw["metric"]
    lines = [f"{result.get('experiment', '')}: {sw['method']} sweep, {sw['points']} points x "
             f"{result['replications']} replications; metric {metric}", ""]
    for label, block in list(result["variants"].items())[:40]:
        params = _settings(block.get("parameters", {}))
        m = block["metrics"][metric]
        lines.append(f"  {label}  {number(m['mean'], metric):>10} {interval(*m['ci95'], metric)}  {params}")
    if len(result["variants"]) > 40:
        lines.append(f"  ... {len(result['variants']) - 40} more points in summary.csv")
    lines += ["", f"parameters ranked by their effect on {metric}:"]
    lines += [f"  {i}. {name}  ({_settings(sw['indices'][name])})" for i, name in enumerate(sw["ranking"], 1)]
    return "\n".join(lines)


def _settings(values: dict) -> str:
    """``k=v`` pairs, floats to four significant digits."""
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())


_LINK_WORDS = {"transit": "transit to", "meeting": "waits for the meeting, then to",
               "hold": "held back from rival", "board": "passed at the board to"}
_STEP_WORDS = {"observe": "observed (waiting for a patrol)", "write": "report written", "queue": "in the inbox",
               "work": "worked by an analyst", "sanitise": "sanitised into an INTREP"}


def format_event_story(story: dict, briefings: list[float], meeting: str = "meeting") -> str:
    """One event followed hop by hop, and what each consumer knew and when; then the
    times of ``briefings`` (the headline consumer's ``meeting``) around it."""
    from ..measures.views import clock, hours

    start = story["start"]
    t_ev = story["t_h"]
    lines = _story_head(story)
    for rid, p in story["paths"].items():
        lines += _report_lines(rid, p, start, t_ev) + [""]
    lines.append("what each consumer knew, and when:")
    lines += [_knew_line(k, start) for k in story["knew"]]
    lines += _briefings_near(story, briefings, meeting)
    return "\n".join(lines)


def _story_head(story: dict) -> list[str]:
    """The event of :func:`format_event_story`: what, where, when, until when, and how many reports."""
    from ..measures.views import clock, hours

    start = story["start"]
    return [f"event {story['event_id']}: {story['kind']} ({story['family'].replace('_', '-')}) in sector "
            f"{story['sector']} at {clock(start, story['t_h'])}; useful until {clock(start, story['deadline_h'])} "
            f"(shelf life {hours(story['shelf_life_h'])})",
            f"observed by {story['n_observed']} collector(s); {story['n_reported']} report(s) released; "
            f"{len(story['reports'])} report copies in all", ""]


def _briefings_near(story: dict, briefings: list[float], meeting: str) -> list[str]:
    """The ``meeting`` times from a day before the event to a day after its deadline (none: no lines)."""
    from ..measures.views import clock

    near = [b for b in briefings if story["t_h"] - 24 <= b <= story["deadline_h"] + 24]
    if not near:
        return []
    return ["", f"around it, {meeting}: " + ", ".join(clock(story["start"], b) for b in near)]


def _report_lines(rid: int, p, start, t_ev: float) -> list[str]:
    """One report's path (its ancestors' steps included), a line per step."""
    from ..measures.views import clock, hours

    return [_report_head(rid, p)] + [_step_line(r, start, t_ev) for r in p.itertuples(index=False)
                                      if not (r.step == "end" and r.report != rid)]


def _step_line(r, start, t_ev: float) -> str:
    """One step of a report's path: when, how long after the event, where, what, how long."""
    from ..measures.views import clock, hours

    dur = r.t1_h - r.t0_h
    return (f"    {clock(start, r.t0_h):<28} +{hours(r.t0_h - t_ev):>7}  {r.node:<24} {_step_words(r)}"
            + (f"  ({hours(dur)})" if dur > 0 and r.step != "end" else ""))


def _report_head(rid: int, p) -> str:
    """A report's first line: whose copy it is, and how and where it ended."""
    own = p[p["report"] == rid]
    end = own[own["step"] == "end"]
    state, where = (end["state"].iloc[-1], end["node"].iloc[-1]) if len(end) else ("?", "?")
    parent = int(own["parent"].iloc[0]) if len(own) else -1
    return f"report {rid}" + (f" (copy of {parent})" if parent >= 0 else "") + f": ends {state} at {where}"


def _step_words(r) -> str:
    """A step of a report's path in words (its end, a link to a node, or a stay)."""
    if r.step == "end":
        return f"ends: {r.state}"
    if r.step in _LINK_WORDS:
        return f"{_LINK_WORDS[r.step]} {r.to}"
    return _STEP_WORDS.get(r.step, r.step)


def _knew_line(k: dict, start) -> str:
    """What one consumer knew of the event, when, and where the time went."""
    from ..measures.views import clock, hours

    if k["arrival_h"] is None:
        return f"  {k['consumer']:<24} never ({k['outcome']})"
    parts = _budget_words(k.get("budget") or {})
    return (f"  {k['consumer']:<24} {clock(start, k['arrival_h'])} (+{hours(k['latency_h'])}) via "
            f"{k['via']}, {'precise' if k['precise'] else 'imprecise'}{_act_words(k, start)}: {k['outcome']}"
            + (f"\n  {'':<24} where the time went: {parts}" if parts else ""))


def _act_words(k: dict, start) -> str:
    """When the consumer could act, if later than the report arrived (else nothing)."""
    from ..measures.views import clock

    if k["act_h"] is not None and k["act_h"] > k["arrival_h"] + 1e-9:
        return f"; could act at {clock(start, k['act_h'])}"
    return ""


def _budget_words(b: dict) -> str:
    """The parts of a time budget that took time, e.g. ``queue 2.0 h, work 1.5 h``."""
    from ..measures.views import BUDGET, hours

    return ", ".join(f"{part} {hours(b[part])}" for part in BUDGET if b.get(part, 0) > 1e-9)


def format_bottlenecks(budgets, table, family: str = "current", top: int = 10) -> str:
    """Mean time budget per consumer, then the nodes ranked by late or lost intelligence."""
    lines = [f"Where the hours go ({family.replace('_', '-')} intelligence, first arrivals; mean hours)", ""]
    lines += _budget_table(budgets)
    lines += ["", f"Nodes ranked by the late and lost {family.replace('_', '-')} intelligence they account for",
              f"{'node':<24}{'late h':>9}{'led late':>9}{'stopped':>9}{'util %':>8}{'wait h':>8}{'queue':>7}"]
    lines += [_node_row(name, row) for name, row in table.head(top).iterrows()]
    lines += ["", "late h: hours late first arrivals spent at the node (queue, work, sanitising, waiting for a",
              "meeting or held back on its links); led late: late pairs for which it was the largest single",
              "delay; stopped: events that some other consumer wanted but never got, whose reports went no",
              "further than this node (a consumer that kept them, as commanders and cells do, counts here: it is",
              "where the news stopped, not what the node itself lost)."]
    return "\n".join(lines)


def _budget_table(budgets) -> list[str]:
    """The mean time budget per consumer, a row each, or a line saying nothing arrived."""
    from ..measures.views import BUDGET

    if not len(budgets):
        return ["(nothing arrived)"]
    mean = budgets.groupby("consumer")[list(BUDGET) + ["latency_h", "act_wait_h"]].mean()
    lines = [f"{'consumer':<24}" + "".join(f"{p:>9}" for p in BUDGET) + f"{'latency':>9}{'to act':>8}"]
    return lines + [_budget_row(name, row) for name, row in mean.iterrows()]


def _budget_row(name: str, row) -> str:
    """One consumer's mean time budget, a column per part."""
    from ..measures.views import BUDGET

    return (f"{name:<24}" + "".join(f"{row[p]:9.2f}" for p in BUDGET)
            + f"{row['latency_h']:9.2f}{row['act_wait_h']:8.2f}")


def _node_row(name: str, row) -> str:
    """One node's row of the bottlenecks ranking (``-`` for a number it lacks)."""
    util = row.get("utilisation")
    util = None if _missing(util) else 100 * util
    return (f"{name:<24}{row['late_hours']:9.1f}{int(row['late_pairs_led']):9d}{int(row['lost_events']):9d}"
            f"{_cell(util, '8.1f')}{_cell(row.get('mean_wait_h'), '8.2f')}{_cell(row.get('mean_queue'), '7.2f')}")


def _missing(x) -> bool:
    """Whether ``x`` is none or NaN."""
    return x is None or x != x


def _cell(x, spec: str) -> str:
    """``x`` formatted by ``spec`` (one-digit width), or ``-`` right-aligned in that width."""
    return " " * (int(spec[0]) - 1) + "-" if _missing(x) else format(x, spec)


def multiplicity_note(result: dict, metrics: list[str] | None = None, headline=()) -> str:
    """Under a comparison table: what a star means among the differences shown, the
    rows left out as repeats, and the units."""
    from .glossary import TEXT_UNITS

    names, same = shown_metrics(result, metrics, headline)
    n = _differences_shown(result, names)
    text = (f"\nNote: * marks a 95% interval that excludes zero, unadjusted; among the {n} differences shown about "
            f"{0.05 * n:.0f} may be starred by chance. `reporting-sim report FOLDER` stars with Holm's adjustment. "
            f"Units: {TEXT_UNITS}.")
    if same:
        text += " Not shown twice: " + "; ".join(f"{k} (the same numbers as {v})" for k, v in same.items()) + "."
    return text


def _differences_shown(result: dict, names: list[str]) -> int:
    """How many differences from the base a comparison table of ``names`` shows."""
    return sum(1 for v, b in result["variants"].items() if v != result["base"] for m in names if m in b["metrics"])
