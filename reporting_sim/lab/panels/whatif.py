"""The What-if tab: the scenario as it is against the current settings over N paired
replications (replication r of both with seed + r: the runs ``reporting-sim compare``
makes), in the background with progress, the paired differences growing pair by pair;
the inputs checked by the rules ``compare`` and the scenario schema apply, the horizon
used said with the result."""

from __future__ import annotations

import asyncio
import copy

from shiny import reactive, render, ui

from ...errors import ScenarioError
from ...present import glossary, graph
from .. import core
from .common import METRICS, fmt, html_table, interval, note
from .context import Lab, Shared


def ui_panel(lab: Lab):
    return ui.nav_panel(
        "What-if",
        ui.layout_columns(
            ui.input_numeric("reps", "paired replications", value=lab.replications),
            ui.input_numeric("days", "days per run", value=lab.days),
            ui.input_numeric("seed", "seed", value=1),
            ui.input_select("metric", "measure", choices=METRICS),
            col_widths=(3, 3, 2, 4)),
        ui.input_task_button("run", "Run base and changed"),
        ui.div(ui.output_ui("progress"), class_="progress-line"),
        note(ui.output_text("metric_definition")),
        ui.output_ui("outcome_table"),
        ui.output_plot("outcome_plot", height="420px"))


def server(input, output, lab: Lab, shared: Shared) -> None:
    prog: dict = {"done": 0, "total": 0, "rows": None, "settings": None, "error": None}

    @reactive.calc
    def run_settings():
        try:
            return core.check_run(input.reps(), input.days(), input.seed())
        except ScenarioError as exc:
            return exc.one_line()

    shared.run = run_settings
    task = _task(prog)
    _start(input, lab, shared, task, prog)
    shared.pairs = _pairs(task, prog)
    _progress(task, prog, run_settings)
    _results(input, lab, shared, task)


def _task(prog: dict):
    """The paired runs in the background, reporting each run and each pair to ``prog``."""
    @ui.bind_task_button(button_id="run")
    @reactive.extended_task
    async def comparison(base_d, changed_d, rs: core.RunSettings):
        prog.update(done=0, total=2 * rs.replications, rows=None, settings=rs)

        def work():
            return core.paired_runs(base_d, changed_d, replications=rs.replications, days=rs.days, seed=rs.seed,
                                    on_progress=lambda d, t: prog.update(done=d, total=t),
                                    on_pair=lambda rows: prog.update(rows=rows))
        return await asyncio.to_thread(work), rs
    return comparison


def _start(input, lab: Lab, shared: Shared, task, prog: dict) -> None:
    @reactive.effect
    @reactive.event(input.run)
    def _start_run():
        _, data, _, err = shared.settings()
        rs = shared.run()
        prog["error"] = err or (rs if isinstance(rs, str) else None)
        if prog["error"]:
            ui.notification_show(prog["error"], type="error", duration=8)
            return
        task.invoke(copy.deepcopy(lab.base_data), data, rs)


def _pairs(task, prog: dict):
    @reactive.calc
    def pairs():
        """The rows so far: polled while the runs go on, the result once done."""
        st = task.status()
        if st == "running":
            reactive.invalidate_later(0.4)
            return {"rows": prog["rows"], "settings": prog["settings"]} if prog["rows"] else None
        if st == "success":
            rows, rs = task.result()
            return {"rows": rows, "settings": rs}
        return None
    return pairs


def _progress(task, prog: dict, run_settings) -> None:
    @render.ui
    def progress():
        st = task.status()
        rs = run_settings()
        if st == "running":
            reactive.invalidate_later(0.3)
            return ui.div(ui.tags.progress(value=str(prog["done"]), max=str(max(1, prog["total"]))),
                          f" running: {prog['done']} of {prog['total']} runs done ({prog['settings'].describe()})")
        problem = prog["error"] or ("the run failed" if st == "error" else None) or (rs if isinstance(rs, str) else None)
        if problem:
            return ui.div(f"error: {problem}", class_="lab-error")
        if st == "success":
            return f"done: {prog['total']} runs, {prog['settings'].describe()}"
        return f"Press Run to compare the scenario as it is with the current settings: {rs.describe()}."


def _results(input, lab: Lab, shared: Shared, task) -> None:
    @render.text
    def metric_definition():
        return "Measure: " + glossary.define("CONSUMER." + input.metric()).replace("CONSUMER", "each consumer") \
            + ". " + glossary.UNITS_NOTE

    def table():
        got = shared.pairs()
        return None if got is None else core.comparison_table(got["rows"], input.metric(), lab.consumers)

    @render.ui
    def outcome_table():
        tab = table()
        if tab is None:
            return None
        return ui.div(table_html(tab, lab.base_sc, input.metric()),
                      note(f"{len(shared.pairs()['rows']['changed'])} pairs so far. Differences are paired by "
                           "replication (same seeds on both sides). " + glossary.UNITS_NOTE))

    @render.plot(alt="outcome bars per consumer, and the paired differences")
    def outcome_plot():
        tab = table()
        if tab is None or task.status() != "success":
            return None
        return bars(tab, lab.base_sc, input.metric())


def table_html(tab: list[dict], sc, metric: str):
    """Per consumer: both means with their intervals and the paired difference."""
    share = glossary.is_share(metric)
    unit, d = ("%", "pp") if share else ("h", "h")
    rows = [[graph.display(sc, r["consumer"]), fmt(r["base"], share), interval(r["base_lo"], r["base_hi"], share),
             fmt(r["changed"], share), interval(r["changed_lo"], r["changed_hi"], share), fmt(r["diff"], share, True),
             interval(r["diff_lo"], r["diff_hi"], share, True)] for r in tab]
    return html_table(["consumer", f"base ({unit})", "95% interval", f"changed ({unit})", "95% interval",
                       f"difference ({d})", "95% interval"], rows)


def bars(tab: list[dict], sc, metric: str):
    """Outcome bars per consumer (base and changed, 95% intervals) and the paired
    differences on one shared axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    share = glossary.is_share(metric)
    k = 100.0 if share else 1.0
    y = np.arange(len(tab))
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 0.5 * len(tab) + 1.8), sharey=True,
                               gridspec_kw={"width_ratios": [3, 2]})
    for off, side, colour in ((-0.2, "base", "#7f7f7f"), (0.2, "changed", "#0072b2")):
        m, lo, hi = _columns(tab, (side, f"{side}_lo", f"{side}_hi"), k)
        a.barh(y + off, m, height=0.38, color=colour, label=side)
        a.errorbar(m, y + off, xerr=_spans(m, lo, hi), fmt="none", ecolor="#111", capsize=2, lw=0.9)
    a.set_yticks(y, [graph.display(sc, r["consumer"]) for r in tab], fontsize=12)
    a.invert_yaxis()
    a.set_xlabel(f"{METRICS.get(metric, metric)} ({'%' if share else 'h'})", fontsize=12)
    a.legend(loc="lower right", fontsize=11)
    d, dlo, dhi = _columns(tab, ("diff", "diff_lo", "diff_hi"), k)
    b.axvline(0, color="#555", lw=0.8)
    b.errorbar(d, y, xerr=_spans(d, dlo, dhi), fmt="o", color="#aa3377", capsize=3)
    b.set_xlabel(f"changed - base ({'percentage points' if share else 'h'}), 95% paired interval", fontsize=12)
    fig.tight_layout()
    return fig


def _columns(tab: list[dict], fields: tuple[str, ...], k: float) -> list:
    """Each of ``fields`` over the table's rows, as an array of floats scaled by ``k``."""
    import numpy as np

    return [np.array([r[f] for r in tab], dtype=float) * k for f in fields]


def _spans(m, lo, hi):
    """Error-bar lengths below and above ``m`` for the interval ``[lo, hi]`` (0 where unknown)."""
    import numpy as np

    return np.vstack([np.nan_to_num(m - lo), np.nan_to_num(hi - m)])
