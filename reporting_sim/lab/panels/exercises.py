"""The Exercises tab: predict, then run. The instructor picks a question, each team
enters its prediction of the change, the lab runs the scenario as it is against the
exercise's settings (paired replications) and draws the predictions against the result
and its interval; every run adds one row per team to the class record (CSV)."""

from __future__ import annotations

import asyncio
import copy
import math
from html import escape

from shiny import reactive, render, ui

from ...errors import ScenarioError
from ...present import glossary
from .. import core, exercises
from .common import html_table, note
from .context import Lab, Shared

MAX_TEAMS = 8


def ui_panel(lab: Lab):
    exs = exercises.load(lab.base_sc.name)
    if not exs:
        return ui.nav_panel("Exercises", note(f"No exercises are shipped for {lab.base_sc.name}; see "
                                              "docs/exercises.md for how to write them."))
    return ui.nav_panel(
        "Exercises",
        ui.layout_columns(
            ui.input_select("exercise", "question", choices={e.key: e.title for e in exs}),
            ui.input_numeric("teams", "teams", value=4, min=1, max=MAX_TEAMS), col_widths=(9, 3)),
        ui.output_ui("exercise_text"),
        team_rows(),
        ui.input_task_button("exercise_run", "Run, and show the predictions against the result"),
        ui.div(ui.output_ui("exercise_progress"), class_="progress-line"),
        ui.output_ui("exercise_result"),
        ui.download_button("exercise_csv", "Download the class record (CSV)"),
        note("The class record holds one row per team and run: the prediction, the result with its 95% "
             "interval, the error, and the runs that gave the result."))


def team_rows() -> ui.Tag:
    """A name and a prediction box per team, as many shown as there are teams (all on
    the page from the start: nothing typed is lost when the number changes)."""
    rows = [ui.panel_conditional(f"input.teams >= {i}",
                                 ui.div(ui.input_text(f"team_name_{i}", None, value=f"Team {i}"),
                                        ui.input_text(f"team_pred_{i}", None, value="",
                                                      placeholder="predicted change"), class_="team-row"))
            for i in range(1, MAX_TEAMS + 1)]
    return ui.div(*rows, class_="teams")


def server(input, output, lab: Lab, shared: Shared) -> None:
    exs = {e.key: e for e in exercises.load(lab.base_sc.name)}
    if not exs:
        return
    record: list[dict] = []
    prog = {"done": 0, "total": 0, "error": None}
    last = reactive.value(None, name="exercise run")

    def current() -> exercises.Exercise:
        return exs.get(input.exercise()) or next(iter(exs.values()))

    @render.ui
    def exercise_text():
        return describe(current())

    task = _task(prog)
    _start(input, lab, current, task, prog, last)
    _record(lab, task, last, record)
    _outputs(task, prog, last)

    @render.download_button(filename=lambda: f"class-record-{lab.base_sc.name}.csv")
    def exercise_csv():
        yield exercises.record_csv(record)


def describe(ex: exercises.Exercise) -> ui.Tag:
    """The question, the study's words, the settings and runs, and what to predict."""
    what = [f"the shipped variant {ex.variant}"] if ex.variant else []
    what += [f"{k} = {v}" for k, v in ex.set.items()]
    return ui.div(ui.h4(ex.question), note(ex.study),
                  note(f"Settings: {' and '.join(what)}. Runs: {ex.replications} paired replications of "
                       f"{ex.days:g} days from seed {ex.seed}."),
                  note(f"Predict the change (what-if minus as it is) in {exercises.unit(ex.measure)} of: "
                       f"{glossary.define(ex.measure)}."), class_="exercise-text")


def predictions(input) -> dict[str, float]:
    """Each shown team's name and prediction (a one-line error for one that is not a number)."""
    n = input.teams()
    n = max(1, min(MAX_TEAMS, int(n))) if isinstance(n, (int, float)) and math.isfinite(n) else 1
    out = {}
    for i in range(1, n + 1):
        team = (input[f"team_name_{i}"]() or "").strip() or f"Team {i}"
        out[team] = exercises.parse_prediction(team, input[f"team_pred_{i}"]())
    return out


def _task(prog: dict):
    @ui.bind_task_button(button_id="exercise_run")
    @reactive.extended_task
    async def run(base_d, changed_d, rs: core.RunSettings):
        prog.update(done=0, total=2 * rs.replications)

        def work():
            return core.paired_runs(base_d, changed_d, replications=rs.replications, days=rs.days, seed=rs.seed,
                                    on_progress=lambda d, t: prog.update(done=d, total=t))
        return await asyncio.to_thread(work)
    return run


def _start(input, lab: Lab, current, task, prog: dict, last) -> None:
    @reactive.effect
    @reactive.event(input.exercise_run)
    def _go():
        ex = current()
        try:
            preds = predictions(input)
            rs = core.check_run(ex.replications, ex.days, ex.seed)
            data, _ = core.resolve(lab.base_data, exercises.settings(ex, lab.base_ref, lab.presets_data))
        except ScenarioError as exc:
            prog["error"] = exc.one_line()
            ui.notification_show(prog["error"], type="error", duration=8)
            return
        prog["error"] = None
        last.set({"ex": ex, "preds": preds, "rs": rs, "recorded": False})
        task.invoke(copy.deepcopy(lab.base_data), data, rs)


def _record(lab: Lab, task, last, record: list) -> None:
    """Once a run is done: its result, and one row per team in the class record."""
    @reactive.effect
    def _keep():
        if task.status() != "success":
            return
        with reactive.isolate():
            got = last()
        if got is None or got["recorded"]:
            return
        res = exercises.result(task.result(), got["ex"].measure)
        if res is not None:
            record.extend(exercises.record_rows(got["ex"], got["preds"], res, got["rs"], lab.base_sc.name))
        last.set({**got, "recorded": True, "result": res})


def _outputs(task, prog: dict, last) -> None:
    @render.ui
    def exercise_progress():
        st = task.status()
        if prog["error"]:
            return ui.div(f"error: {prog['error']}", class_="lab-error")
        if st == "running":
            reactive.invalidate_later(0.3)
            return ui.div(ui.tags.progress(value=str(prog["done"]), max=str(max(1, prog["total"]))),
                          f" running: {prog['done']} of {prog['total']} runs")
        return f"done: {last()['rs'].describe()}" if st == "success" and last() is not None else None

    @render.ui
    def exercise_result():
        got = last()
        if got is None or not got.get("recorded"):
            return None
        if got.get("result") is None:
            return note("The measure has no value in these runs (no event of its kind).")
        return result_view(got["preds"], got["result"], exercises.unit(got["ex"].measure))


def result_view(preds: dict[str, float], res: dict, u: str) -> ui.Tag:
    """The predictions against the result: the strip, the result line, the table."""
    rows = [[t, f"{p:+.1f}", f"{p - res['diff']:+.1f}", "yes" if res["lo"] <= p <= res["hi"] else "no"]
            for t, p in preds.items()]
    return ui.div(ui.HTML(strip_svg(preds, res, u)),
                  ui.p(ui.tags.b(f"Result: {res['diff']:+.1f} {u} [{res['lo']:+.1f}, {res['hi']:+.1f}] "
                                 f"(95% paired interval, {res['n']} pairs)")),
                  html_table(["team", f"prediction ({u})", "error", "inside the interval"], rows))


def strip_svg(preds: dict[str, float], res: dict, u: str) -> str:
    """The predictions (one row per team) against the result and its interval (a band)
    on one axis; labels 15 px."""
    vals = list(preds.values()) + [res["lo"], res["hi"], res["diff"], 0.0]
    vals = [v for v in vals if math.isfinite(v)]
    lo, hi = min(vals), max(vals)
    pad = max(1.0, 0.1 * (hi - lo))
    lo, hi = lo - pad, hi + pad
    w, left, row = 760.0, 170.0, 30.0
    h = row * (len(preds) + 2) + 30

    def x(v):
        return left + (v - lo) / (hi - lo) * (w - left - 20)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="strip" width="{w:.0f}" height="{h:.0f}" '
           f'viewBox="0 0 {w:.0f} {h:.0f}" font-size="15" font-family="DejaVu Sans, Verdana, sans-serif">']
    if math.isfinite(res["lo"]) and math.isfinite(res["hi"]):
        out.append(f'<rect x="{x(res["lo"]):.1f}" y="6" width="{max(2.0, x(res["hi"]) - x(res["lo"])):.1f}" '
                   f'height="{h - 36:.0f}" fill="#56b4e9" opacity="0.35"/>')
    out.append(f'<line x1="{x(0):.1f}" y1="6" x2="{x(0):.1f}" y2="{h - 30:.0f}" stroke="#555" stroke-dasharray="3,3"/>')
    out.append(f'<line x1="{x(res["diff"]):.1f}" y1="6" x2="{x(res["diff"]):.1f}" y2="{h - 30:.0f}" '
               'stroke="#0072b2" stroke-width="3"/>')
    out.append(f'<text x="10" y="{row:.0f}" fill="#0072b2" font-weight="bold">result</text>')
    for i, (team, p) in enumerate(preds.items(), start=2):
        y = row * i
        out.append(f'<text x="10" y="{y + 5:.0f}">{escape(team[:18])}</text>'
                   f'<circle cx="{x(p):.1f}" cy="{y:.0f}" r="7" fill="#d55e00"/>')
    out.append(f'<text x="{left:.0f}" y="{h - 8:.0f}">{lo:+.1f}</text><text x="{w - 20:.0f}" y="{h - 8:.0f}" '
               f'text-anchor="end">{hi:+.1f} {escape(u)}</text>')
    out.append("</svg>")
    return "".join(out)
