"""Figures (matplotlib, written as PNG and SVG): pictures of what a run or an
experiment says. Each function takes records or results (never SimPy) and a path
without suffix, writes ``PATH.png`` and ``PATH.svg``, and returns the PNG path.

* :func:`timeline`: one event followed hop by hop, a lane per unit (Gantt-like), with
  the consumers' arrivals, the deadline and the headline consumer's meetings;
* :func:`latency_distribution`: how long intelligence takes to reach each consumer;
* :func:`outcome_breakdown`: where the intelligence was lost, per consumer;
* :func:`weekly_timeliness`: timeliness and ISR coverage over the mission's time;
* :func:`time_budget`: where the hours go, per consumer;
* :func:`occupancy`: queue length of the busiest cells over time;
* :func:`forest`: what-if differences from the base with their 95% intervals;
* :func:`waterfall`: where a consumer's in-time share is lost, stage by stage
  (``reporting-sim ceilings``).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..metric_names import OUTCOMES  # noqa: E402
from ..measures.views import BUDGET, clock  # noqa: E402

OUTCOME_COLOURS = {"in_time": "#1a9850", "late": "#fdae61", "not_observed": "#bdbdbd", "not_reported": "#878787",
                   "withheld": "#d73027", "not_shared": "#7b3294", "in_flight": "#4393c3"}
STEP_COLOURS = {"observe": "#c7e9c0", "write": "#74c476", "transit": "#6baed6", "meeting": "#fd8d3c",
                "queue": "#fdd0a2", "work": "#2171b5", "sanitise": "#9e9ac8", "hold": "#e7298a", "board": "#000000"}


def save(fig, path: Path) -> Path:
    """Write ``path.png`` and ``path.svg``; return the PNG's path. The same figure gives
    the same bytes (no date in the files, SVG ids from a fixed salt), and matplotlib's
    "tight layout not applied" warning stays off the terminal: ``bbox_inches="tight"``
    keeps long labels whole anyway."""
    import warnings

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Tt]ight.?layout", category=UserWarning)
        fig.tight_layout()
    png = path.with_suffix(".png")
    with plt.rc_context({"svg.hashsalt": "reporting-sim"}):
        fig.savefig(png, dpi=110, bbox_inches="tight")  # long tick labels are never cut off
        fig.savefig(path.with_suffix(".svg"), bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return png


def timeline(story: dict, briefings: list[float], path: Path, meeting: str = "meeting") -> Path:
    """One event's reports, hop by hop: a lane per unit, a bar per step; ``briefings``:
    times of the headline consumer's ``meeting``, drawn as dotted lines."""
    lanes, bars = _timeline_lanes(story)
    t_ev = story["t_h"]
    end = _timeline_end(story, bars)
    fig, ax = plt.subplots(figsize=(11, 0.45 * max(len(lanes), 3) + 1.8))
    y = {n: i for i, n in enumerate(lanes)}
    _timeline_steps(ax, bars, y, t_ev, end)
    _timeline_knew(ax, story["knew"], y, t_ev)
    ax.axvline(story["deadline_h"] - t_ev, color=OUTCOME_COLOURS["withheld"], ls="--", lw=1.2,
               label=f"shelf life ends ({story['shelf_life_h']:g} h)")
    _timeline_briefings(ax, briefings, t_ev, end, meeting)
    _timeline_axes(ax, story, lanes)
    return save(fig, path)


def _timeline_end(story: dict, bars: list[tuple]) -> float:
    """The last hour :func:`timeline` shows: the last step's end, act or deadline (at
    least an hour after the event)."""
    return max([t1 for *_, t1, _ in bars] + [k["act_h"] or 0 for k in story["knew"]]
               + [story["deadline_h"], story["t_h"] + 1])


def _timeline_briefings(ax, briefings: list[float], t_ev: float, end: float, meeting: str) -> None:
    """A dotted line per meeting of the headline consumer within the drawn hours
    (named once in the legend)."""
    for i, b in enumerate(x for x in briefings if t_ev <= x <= end):
        ax.axvline(b - t_ev, color="grey", ls=":", lw=1, label=meeting if i == 0 else None)


def _timeline_lanes(story: dict) -> tuple[list[str], list[tuple]]:
    """The lanes of :func:`timeline` (units in the order the reports reach them, then
    consumers that knew) and its bars ``(node, step, t0, t1, to)``: every step that
    ends within the record (no ``end`` step)."""
    bars = _timeline_bars(story)
    lanes = list(dict.fromkeys(b[0] for b in bars))
    for k in story["knew"]:
        if k["arrival_h"] is not None and k["consumer"] not in lanes:
            lanes.append(k["consumer"])
    return lanes, bars


def _timeline_bars(story: dict) -> list[tuple]:
    """Every step of the event's paths that ends within the record, path by path."""
    bars = []
    for p in story["paths"].values():
        for node, step, t0, t1, to in zip(p["node"], p["step"], p["t0_h"], p["t1_h"], p["to"]):
            if step != "end" and math.isfinite(t1):
                bars.append((node, step, t0, t1, to))
    return bars


def _timeline_steps(ax, bars: list[tuple], y: dict[str, int], t_ev: float, end: float) -> None:
    """A bar per step, coloured by step (each step named once in the legend)."""
    seen_steps = set()
    for node, step, t0, t1, _to in bars:
        width = max(t1 - t0, (end - t_ev) * 0.002)
        ax.barh(y[node], width, left=t0 - t_ev, color=STEP_COLOURS.get(step, "#999999"), edgecolor="none",
                height=0.6, label=step if step not in seen_steps else None)
        seen_steps.add(step)


def _timeline_knew(ax, knew: list[dict], y: dict[str, int], t_ev: float) -> None:
    """A diamond where each consumer first knew, and a star where it could act when
    that came later (joined by a dotted line)."""
    for k in knew:
        if k["arrival_h"] is None:
            continue
        ax.plot(k["arrival_h"] - t_ev, y[k["consumer"]], marker="D", color="black", ms=6)
        if k["act_h"] is not None and k["act_h"] > k["arrival_h"]:
            ax.plot([k["arrival_h"] - t_ev, k["act_h"] - t_ev], [y[k["consumer"]]] * 2, ls=":", color="black")
            ax.plot(k["act_h"] - t_ev, y[k["consumer"]], marker="*", color="black", ms=10)


def _timeline_axes(ax, story: dict, lanes: list[str]) -> None:
    """Lane names, the hours axis, the event's title and the legend of :func:`timeline`."""
    ax.set_yticks(range(len(lanes)), lanes)
    ax.invert_yaxis()
    ax.set_xlabel("hours after the event")
    ax.set_title(f"event {story['event_id']}: {story['kind']} in sector {story['sector']}, "
                 f"{clock(story['start'], story['t_h'])}  (diamond: knew; star: could act)", fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), fontsize=7, ncol=6)
    ax.grid(axis="x", alpha=0.3)


def latency_distribution(ledger: pd.DataFrame, path: Path, family: str = "current") -> Path:
    """Empirical distribution of the latency of ``family`` intelligence per consumer."""
    led = ledger[(ledger["family"] == family) & ledger["arrival_h"].notna()]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, g in led.groupby("consumer", observed=True):
        x = np.sort(np.maximum(g["latency_h"].to_numpy(), 1e-2))
        if len(x):
            ax.step(x, np.arange(1, len(x) + 1) / len(x), where="post", label=f"{name} (n={len(x)})")
    ax.set_xscale("log")
    ax.set_xlabel(f"hours from event to first knowing ({family.replace('_', '-')} intelligence)")
    ax.set_ylabel("share of what arrived")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    return save(fig, path)


def outcome_breakdown(ledger: pd.DataFrame, path: Path, family: str = "current") -> Path:
    """Share of the events of its interest in each outcome, per consumer (stacked bars,
    in percent; a consumer with no event of ``family`` in its interest has no bar)."""
    from ..measures.metrics import of_interest

    led = of_interest(ledger)
    led = led[led["family"] == family]
    tab = 100 * pd.crosstab(led["consumer"], led["outcome"], normalize="index", dropna=False)
    tab = tab.reindex(columns=list(OUTCOMES), fill_value=0.0)
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(tab) + 1.6))
    left = np.zeros(len(tab))
    for o in OUTCOMES:
        ax.barh(tab.index.astype(str), tab[o], left=left, color=OUTCOME_COLOURS[o], label=o)
        left += tab[o].to_numpy()
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"% of the {family.replace('_', '-')} events of each consumer's interest")
    ax.legend(ncol=4, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    return save(fig, path)


def weekly_timeliness(weekly: pd.DataFrame, path: Path, consumers=None, start=None, days=None,
                      headline: str | None = None) -> Path:
    """Share of each week's current events known in time: small multiples, one panel
    per consumer (``headline`` first), on one shared percent axis, dated when ``start``
    is given; the collector tags' coverage in a last panel; a last week cut short by the
    run's end (``days``) shaded."""
    panels, seen = _weekly_panels(weekly, consumers, headline)
    nrow, ncol = _panel_grid(len(panels))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 2.2 * nrow + 0.6), sharex=True, sharey=True,
                             squeeze=False)
    x = _weekly_x(weekly, start)
    partial = _cut_short(weekly, days)
    for ax, col in zip(axes.flat, panels):
        _weekly_panel(ax, x, weekly, col, seen, headline)
        _weekly_frame(ax, x, partial and len(x), start is not None)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    if start is not None:
        _date_ticks(axes)
    fig.supylabel("% of the week's current events known in time", fontsize=8)
    fig.supxlabel(_weekly_caption(weekly, start is not None, partial), fontsize=8)
    return save(fig, path)


def _panel_grid(panels: int) -> tuple[int, int]:
    """Rows and columns for ``panels`` small multiples: up to four in a row, else three."""
    n = max(panels, 1)
    ncol = 3 if n > 4 else n
    return math.ceil(n / ncol), ncol


def _weekly_x(weekly: pd.DataFrame, start) -> list:
    """The weeks of ``weekly`` as dates from ``start``, or as week numbers without it."""
    import datetime as _dt

    if start is None:
        return list(weekly.index)
    return [_dt.datetime.combine(start, _dt.time()) + _dt.timedelta(weeks=int(w)) for w in weekly.index]


def _cut_short(weekly: pd.DataFrame, days) -> bool:
    """Whether the last week of ``weekly`` ends after the run's ``days`` (cut short)."""
    return days is not None and len(weekly) and (int(weekly.index[-1]) + 1) * 7 > days + 1e-9


def _weekly_frame(ax, x: list, shade_last: bool, dated: bool) -> None:
    """A panel's frame: the last week shaded when it was cut short, ticks, percent axis."""
    import datetime as _dt

    if shade_last:
        width = _dt.timedelta(days=7) if dated else 1
        ax.axvspan(x[-1], x[-1] + width, color="#bbbbbb", alpha=0.35, lw=0)
    ax.xaxis.set_tick_params(labelbottom=True)
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=7)


def _date_ticks(axes) -> None:
    """Concise date ticks (at most five) on every panel."""
    import matplotlib.dates as mdates

    loc = mdates.AutoDateLocator(maxticks=5)
    for ax in axes.flat:
        ax.xaxis.set_major_locator(loc)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))


def _weekly_caption(weekly: pd.DataFrame, dated: bool, partial: bool) -> str:
    """The x caption of :func:`weekly_timeliness`: what a week is, the shading, and the
    consumers not drawn."""
    absent = no_current_interest(weekly)
    return (("week starting" if dated else "week of the mission")
            + ("; shaded: last week, cut short by the run's end" if partial else "")
            + (f"\nnot drawn (no current events of their interest): {', '.join(absent)}" if absent else ""))


def _weekly_panels(weekly: pd.DataFrame, consumers, headline: str | None) -> tuple[list[str], list[str]]:
    """The panels of :func:`weekly_timeliness` (``in_time:`` columns, the headline
    consumer's first, then ``"seen"`` if any tag's coverage is there) and the ``seen:``
    columns."""
    cols = _headline_first(_in_time_columns(weekly, consumers), f"in_time:{headline}" if headline else None)
    seen = [c for c in weekly.columns if c.startswith("seen:")]
    return _with_data(weekly, cols) + (["seen"] if seen else []), seen


def _with_data(weekly: pd.DataFrame, cols: list[str]) -> list[str]:
    """The columns of ``cols`` with a value in some week (none of its interest: no
    empty panel; the caption names them)."""
    return [c for c in cols if weekly[c].notna().any()]


def _in_time_columns(weekly: pd.DataFrame, consumers) -> list[str]:
    """The ``in_time:`` columns of ``weekly``, only those of ``consumers`` when given."""
    cols = [c for c in weekly.columns if c.startswith("in_time:")]
    if consumers:
        cols = [c for c in cols if c[8:] in consumers]
    return cols


def _headline_first(cols: list[str], first: str | None) -> list[str]:
    """``cols`` with ``first`` moved to the front when it is there."""
    if first not in cols:
        return cols
    return [first] + [c for c in cols if c != first]


def no_current_interest(weekly: pd.DataFrame) -> list[str]:
    """The consumers of a weekly table with no current event of their interest in any
    week (JMAC's interest is long-term only): they get no panel, and are named under
    the figure."""
    return [c[8:] for c in weekly.columns if c.startswith("in_time:") and not weekly[c].notna().any()]


def _weekly_panel(ax, x, weekly: pd.DataFrame, col: str, seen: list[str], headline: str | None) -> None:
    """One panel: a consumer's weekly in-time share, or every tag's coverage."""
    if col == "seen":
        for c in seen:
            ax.plot(x, 100 * weekly[c], lw=1.1, label=c[5:])
        ax.set_title("events seen by collectors of a tag", fontsize=8, loc="left")
        ax.legend(fontsize=6, loc="upper left")
    else:
        ax.plot(x, 100 * weekly[col], lw=1.2, color="#1f78b4")
        ax.set_title(col[8:] + (" (headline)" if col[8:] == headline else ""), fontsize=8, loc="left",
                     fontweight="bold" if col[8:] == headline else "normal")


def time_budget(budgets: pd.DataFrame, path: Path) -> Path:
    """Mean hours per part of the time budget, per consumer (stacked bars)."""
    mean = budgets.groupby("consumer")[list(BUDGET)].mean()
    fig, ax = plt.subplots(figsize=(9, 0.45 * max(len(mean), 2) + 1.8))
    left = np.zeros(len(mean))
    for part in BUDGET:
        ax.barh(mean.index.astype(str), mean[part], left=left, color=STEP_COLOURS[part], label=part)
        left += mean[part].to_numpy()
    ax.invert_yaxis()
    ax.set_xlabel("mean hours from event to first knowing, by where they went")
    ax.legend(ncol=4, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    return save(fig, path)


def occupancy(series: dict[str, pd.Series], path: Path, freq_label: str = "day") -> Path:
    """Mean inbox length over time for a few cells."""
    fig, ax = plt.subplots(figsize=(10, 4))
    for name, s in series.items():
        ax.plot(s.index / 24.0, s.to_numpy(), lw=1, label=name)
    ax.set_xlabel("day of the mission")
    ax.set_ylabel(f"reports waiting (mean per {freq_label})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save(fig, path)


def forest(result: dict, path: Path, metrics=None, headline=()) -> Path:
    """Each variant's paired difference from the base with its 95% interval: shares on
    ONE shared axis in percentage points (a row per metric and variant), times (hours)
    on a second panel; filled markers where the interval excludes zero. Shows
    ``metrics``, or by default the base scenario's ``headline`` ones."""
    from .tables import selection

    variants = [v for v in result["variants"] if v != result["base"]]
    block = result["variants"][result["base"]]["metrics"]
    groups = _forest_groups(list(metrics or selection(block, headline)))
    heights = [len(g[1]) * len(variants) for g in groups]
    fig, axes = plt.subplots(len(groups), 1, figsize=(9, 0.2 * sum(heights) + 1.2 * len(groups) + 0.6),
                             squeeze=False, gridspec_kw={"height_ratios": heights})
    for ax, (_, ms, k, unit) in zip(axes[:, 0], groups):
        _forest_frame(ax, _forest_rows(ax, result, variants, ms, k), result["base"], unit)
    return save(fig, path)


def _forest_frame(ax, labels: list[str], base: str, unit: str) -> None:
    """A panel's frame: the zero line, the rows' labels, the axis caption in ``unit``."""
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(labels)), labels, fontsize=6)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.tick_params(axis="x", labelsize=7)
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlabel(f"difference from {base} ({unit}; paired, 95% interval; filled: excludes 0)", fontsize=8)


def _forest_groups(names: list[str]) -> list[tuple[str, list[str], float, str]]:
    """The panels of :func:`forest` that have metrics: ``(name, metrics, scale, unit)``,
    shares in percentage points, then times in hours."""
    from .glossary import is_share

    shares, times = [], []
    for m in names:
        (shares if is_share(m) else times).append(m)
    groups = [("shares", shares, 100.0, "percentage points"), ("times", times, 1.0, "hours")]
    return [g for g in groups if g[1]]


def _forest_rows(ax, result: dict, variants: list[str], ms: list[str], k: float) -> list[str]:
    """One panel's rows (a row per metric and variant, a thin line after each metric);
    returns the rows' labels."""
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    labels = []
    for m in ms:
        for i, v in enumerate(variants):
            d = result["variants"][v]["metrics"].get(m, {}).get("diff_vs_base")
            labels.append(f"{m}  |  {v}" if i == 0 else v)
            if d and d["mean"] is not None:
                _forest_point(ax, d, len(labels) - 1, k, colours[i % len(colours)])
        ax.axhline(len(labels) - 0.5, color="#ddd", lw=0.6)
    return labels


def _forest_point(ax, d: dict, row: int, k: float, c: str) -> None:
    """A difference ``d`` at ``row``: its interval as a line (when it has one) and its
    mean as a marker, filled when the interval excludes zero."""
    lo, hi = d["ci95"]
    bounded = lo is not None and hi is not None
    if bounded:
        ax.plot([k * lo, k * hi], [row, row], color=c, lw=2)
    excl = bounded and (lo > 0 or hi < 0)
    ax.plot(k * d["mean"], row, "o", color=c, mfc=c if excl else "white", ms=5)


def waterfall(block: dict, path: Path, title: str = "") -> Path:
    """Where a consumer's in-time share is lost, from ``block`` (one consumer and
    family of ``reporting-sim ceilings``): from today's share, each stage made perfect
    in turn (in the order a report meets them) adds a step, up to the share with every
    stage perfect; what is left to 100% is lost otherwise. Horizontal bars, percent."""
    rows = _waterfall_rows(block)
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(rows) + 1.4))
    _waterfall_bars(ax, rows)
    ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, 108)
    ax.set_xlabel("% of the events of interest: in time today, then regained as each stage is made perfect "
                  "in turn (the order a report meets them)", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    if title:
        ax.set_title(title, fontsize=9)
    return save(fig, path)


def _waterfall_rows(block: dict) -> list[tuple]:
    """The bars of :func:`waterfall`, ``(label, left, width, colour)`` as shares:
    today, each stage's gain in turn, what is lost otherwise."""
    from .glossary import STAGES

    rows = [("today", 0.0, block["in_time"], "#1a9850")]
    prev = block["in_time"]
    for step in block["waterfall"]:
        gain = step["in_time"] - prev
        rows.append((f"+ {STAGES[step['stage']][0]}", prev, gain, "#fdae61" if gain > 0 else "#dddddd"))
        prev = step["in_time"]
    rows.append(("lost otherwise", prev, 1.0 - prev, "#878787"))
    return rows


def _waterfall_bars(ax, rows: list[tuple]) -> None:
    """A bar per row in percent, its value at its end (signed for the stages' gains)."""
    for i, (label, left, width, colour) in enumerate(rows):
        ax.barh(i, 100 * width, left=100 * left, color=colour, edgecolor="white", height=0.65)
        signed = 0 < i < len(rows) - 1
        ax.text(100 * (left + width) + 0.8, i, f"{100 * width:+.1f}" if signed else f"{100 * width:.1f}",
                va="center", fontsize=7)


def run_figures(rec, out: Path, start=None, headline: str | None = None) -> list[Path]:
    """Every figure the HTML report draws for a run (the time budget and the busiest
    queues too when the run was traced), written to ``out``; returns the PNG paths."""
    from ..measures import metrics

    out = Path(out)
    made = [outcome_breakdown(rec.ledger, out / "outcomes-current"),
            outcome_breakdown(rec.ledger, out / "outcomes-long-term", "long_term"),
            latency_distribution(rec.ledger, out / "latency-current"),
            weekly_timeliness(metrics.weekly(rec.ledger, rec.events, metrics.tag_groups(rec.meta)), out / "weekly",
                              start=start, days=rec.days, headline=headline)]
    if rec.trace is not None:
        made += _traced_figures(rec, out)
    return made


def _traced_figures(rec, out: Path) -> list[Path]:
    """A traced run's time budget and the queues of its (at most four) busiest cells."""
    from ..measures import views

    budgets = views.time_budgets(rec, "current")
    if not len(budgets):
        return []
    made = [time_budget(budgets, out / "time-budget")]
    cells = _busiest_cells(rec, views.bottlenecks(rec, "current", budgets))
    if cells:
        made.append(occupancy({n: views.occupancy(rec, n, "queue", 24.0) for n in cells}, out / "queues"))
    return made


def _busiest_cells(rec, table: pd.DataFrame) -> list[str]:
    """The (at most four) cells that head the bottleneck ``table``, in its order."""
    return [n for n in table.index if n in set(rec.cells["cell"])][:4]
