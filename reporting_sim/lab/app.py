"""The lab's web page and its reactions (Shiny for Python).

Tabs: the network (the changed scenario drawn against its base), replay of one event,
what-if (base against changed over paired replications, run in the background with
progress), bottlenecks (time budget and ranked nodes of a traced run of the current
settings) and export (the settings as a variant file). The settings sit in the side
bar; every input is generated from the scenario, none is named in this code.
"""

from __future__ import annotations

import asyncio
import copy
import math
import threading
from pathlib import Path

from shiny import App, reactive, render, ui

from ..present import glossary, graph
from .. import scenario as scenario_mod
from ..errors import ScenarioError
from . import core

METRICS = {"current.in_time": "in time (current intelligence)",
           "long_term.in_time": "in time (long-term intelligence)",
           "current.late": "late (current)", "current.not_shared": "not shared (current)",
           "current.withheld": "withheld (current)", "current.latency_p50": "median latency (current, h)",
           "current.fidelity": "precise time and place (current)"}
TRACE_DAYS = 30.0

CSS = """
.network-box{overflow:auto;max-height:72vh;border:1px solid #ddd;background:#fff}
.network-box svg{width:100%;height:auto}
.lab-note{color:#555;font-size:.9em}
table.lab{font-size:.85em;border-collapse:collapse}table.lab td,table.lab th{border:1px solid #ddd;padding:2px 6px;text-align:right}
table.lab td:first-child,table.lab th:first-child{text-align:left}
.clock{font-size:1.15em;font-weight:bold}
"""


def _key_ids(knobs: core.Knobs) -> dict[str, str]:
    return {f"k{i}": key for i, key in enumerate(knobs.values)}


def _label(sc, key: str) -> str:
    parts = key.split(".")
    if key == "formats":
        return "report formats for commander-centric units"
    if parts[0] == "mechanisms":
        return parts[1].replace("_", " ")
    if parts[0] == "switches":
        return parts[1].replace("_", " ")
    if parts[0] in ("cells", "collectors"):
        return graph.display(sc, parts[1])
    return parts[1].replace("_", " ")


def _inputs(sc, knobs: core.Knobs) -> list:
    ids = {v: k for k, v in _key_ids(knobs).items()}
    groups: dict[str, list] = {"Mechanisms": [], "Switches": [], "Analysts per cell": [],
                               "Shelf life per kind (hours)": [], "Meetings: every ... hours": [],
                               "Accreditation time (days)": [], "Report formats": []}
    for key, value in knobs.values.items():
        iid, lab = ids[key], _label(sc, key)
        head = key.split(".")[0]
        if head == "mechanisms":
            groups["Mechanisms"].append(ui.input_switch(iid, lab, value=bool(value)))
        elif head == "switches":
            choices = list(sc.switches[key.split(".")[1]].choices)
            groups["Switches"].append(ui.input_select(iid, lab, choices=choices, selected=value))
        elif head == "cells":
            groups["Analysts per cell"].append(ui.input_numeric(iid, lab, value=value, min=0, max=1000, step=1))
        elif head == "kinds":
            groups["Shelf life per kind (hours)"].append(ui.input_numeric(iid, lab, value=value, min=0.1, step=1))
        elif head == "meetings":
            groups["Meetings: every ... hours"].append(ui.input_numeric(iid, lab, value=value, min=1, step=1))
        elif head == "collectors":
            groups["Accreditation time (days)"].append(ui.input_numeric(iid, lab, value=value, min=0, step=1))
        elif key == "formats":
            groups["Report formats"].append(ui.input_switch(iid, lab, value=bool(value)))
    return [ui.accordion_panel(title, *items) for title, items in groups.items() if items]


def _fmt(x, share: bool, diff: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if share:
        return f"{100 * x:+.1f}" if diff else f"{100 * x:.1f}"
    return f"{x:+.2f}" if diff else f"{x:.2f}"


def _html_table(head: list[str], rows: list[list[str]], cls: str = "lab") -> ui.HTML:
    from html import escape

    out = [f"<table class='{cls}'><thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>")
    return ui.HTML("".join(out) + "</tbody></table>")


def make_app(scenario: str, *, variants_dir=None, days: float = 60.0, replications: int = 6) -> App:
    """The lab for scenario (a built-in name or a file)."""
    base_data, base_source = scenario_mod.load_data(scenario)
    base_sc = scenario_mod.parse(copy.deepcopy(base_data), base_source)
    base_ref = scenario if scenario in scenario_mod.builtin_names() and not Path(scenario).exists() \
        else str(Path(scenario).resolve())
    folder = Path(variants_dir) if variants_dir is not None else Path("experiments") / "variants"
    preset_paths = core.presets(folder, base_sc.name if base_ref == scenario else scenario)
    presets_data = {name: scenario_mod.read_file(p) for name, p in preset_paths.items()}
    drawn_against = scenario_mod.variant_base(scenario) or base_sc  # a variant's changes show against its own base
    knobs0 = core.Knobs.of(base_sc)
    ids = _key_ids(knobs0)
    headline = base_sc.metrics.bypass_consumer or (base_sc.consumers[-1] if base_sc.consumers else None)
    consumers = list(base_sc.consumers)

    page = ui.page_sidebar(
        ui.sidebar(
            ui.tags.b(f"scenario {base_sc.name}"),
            ui.input_select("preset", "start from", choices={"": "the scenario as it is",
                                                             **{n: n for n in presets_data}}),
            ui.accordion(*_inputs(base_sc, knobs0), id="knobs", open=False, multiple=True),
            width=330, open="always"),
        ui.tags.style(CSS),
        ui.head_content(ui.tags.link(rel="icon", href="data:,")),  # no favicon request
        ui.navset_tab(
            ui.nav_panel("Network",
                         ui.p(ui.output_text("changes_count"), class_="lab-note"),
                         ui.div(ui.output_ui("network"), class_="network-box"),
                         ui.tags.details(ui.tags.summary("what the settings change"),
                                         ui.output_code("changes_text"))),
            ui.nav_panel("Replay",
                         ui.layout_columns(
                             ui.input_select("event", "event", choices={}),
                             ui.div(ui.input_action_button("play", "Play / pause"),
                                    ui.input_action_button("step_back", "Step back"),
                                    ui.input_action_button("step", "Step"), style="padding-top:1.8em"),
                             col_widths=(6, 6)),
                         ui.div(ui.output_text("clock"), class_="clock"),
                         ui.output_ui("timeline"),
                         ui.p("Yellow: a report has been here; orange: a report is here now; light green: the "
                              "consumer knows; green: it can act (its meeting). Red links carry a report now.",
                              class_="lab-note"),
                         ui.div(ui.output_ui("replay_network"), class_="network-box"),
                         ui.output_ui("replay_table")),
            ui.nav_panel("What-if",
                         ui.layout_columns(
                             ui.input_numeric("reps", "paired replications", value=replications, min=2, max=200),
                             ui.input_numeric("days", "days per run", value=days, min=1, max=3660),
                             ui.input_numeric("seed", "seed", value=1, min=0),
                             ui.input_select("metric", "measure", choices=METRICS),
                             col_widths=(3, 3, 2, 4)),
                         ui.input_task_button("run", "Run base and changed"),
                         ui.output_text("progress"),
                         ui.p(ui.output_text("metric_definition"), class_="lab-note"),
                         ui.output_plot("outcome_plot", height="420px"),
                         ui.output_ui("outcome_table")),
            ui.nav_panel("Bottlenecks",
                         ui.p(f"A traced run of {TRACE_DAYS:g} days of the current settings (it is redone after "
                              "each what-if run): where the hours of current intelligence go, per consumer, and "
                              "the nodes ranked by the late or lost intelligence they account for.",
                              class_="lab-note"),
                         ui.output_ui("budget_table"), ui.output_ui("rank_table")),
            ui.nav_panel("Export",
                         ui.input_text("vname", "variant name", value="lab-what-if"),
                         ui.input_text("question", "question", value=""),
                         ui.input_text("expectation", "expectation", value=""),
                         ui.download_button("download", "Download the variant (TOML)"),
                         ui.p("Validate it with reporting-sim validate FILE; compare it with "
                              "reporting-sim compare BASE FILE.", class_="lab-note"),
                         ui.output_code("variant_text")),
            id="tabs"),
        title="reporting-sim lab", fillable=False)

    def server(input, output, session):
        prog = {"done": 0, "total": 0}
        traced = reactive.value(None)  # (scenario, records) of the current settings
        frame = reactive.value(0)
        playing = reactive.value(False)

        @reactive.calc
        def start():
            name = input.preset()
            if not name:
                return base_data, base_sc, None
            preset = presets_data[name]
            data, sc = core.resolve(base_data, core.variant_data(base_ref, {}, preset=preset, name=name))
            return data, sc, preset

        @reactive.effect
        @reactive.event(input.preset)
        def _reset_inputs():
            _, sc, _ = start()
            k = core.Knobs.of(sc)
            for iid, key in ids.items():
                v = k.values.get(key)
                if v is None:
                    continue
                head = key.split(".")[0]
                if head == "mechanisms" or key == "formats":
                    ui.update_switch(iid, value=bool(v))
                elif head == "switches":
                    ui.update_select(iid, selected=v)
                else:
                    ui.update_numeric(iid, value=v)

        @reactive.calc
        def settings():
            _, sc, preset = start()
            vals = {}
            for iid, key in ids.items():
                v = input[iid]()
                if v is None or v == "":
                    v = knobs0.values[key]
                if key.startswith("cells."):
                    v = int(v)
                elif isinstance(knobs0.values[key], float):
                    v = float(v)
                vals[key] = v
            changes = core.Knobs(vals).changes(core.Knobs.of(sc), sc)
            head = (presets_data.get(input.preset()) or {}).get("variant", {})
            variant = core.variant_data(base_ref, changes, name=input.vname() or "lab-what-if",
                                        question=input.question() or head.get("question", ""),
                                        expectation=input.expectation() or head.get("expectation", ""),
                                        preset=preset)
            try:
                data, changed = core.resolve(base_data, variant)
            except ScenarioError as exc:
                return variant, None, None, exc.one_line()
            return variant, data, changed, None

        @render.text
        def changes_count():
            variant, _, changed, err = settings()
            if err:
                return f"error: {err}"
            n = len(graph.diff(drawn_against, changed).lines(drawn_against, changed))
            return (f"{len(changed.nodes)} nodes, {len(changed.active_links)} links; {n} change"
                    f"{'s' if n != 1 else ''} against {drawn_against.name} (highlighted in magenta).")

        @render.ui
        def network():
            _, _, changed, err = settings()
            return ui.HTML(graph.svg(changed if changed is not None else base_sc, base=drawn_against))

        @render.code
        def changes_text():
            _, _, changed, err = settings()
            if err:
                return err
            return "\n".join(graph.diff(drawn_against, changed).lines(drawn_against, changed)) or "(no change)"

        # -- background runs: paired comparison, then a traced run for replay/bottlenecks
        @ui.bind_task_button(button_id="run")
        @reactive.extended_task
        async def comparison(base_d, changed_d, reps, ndays, seed):
            prog.update(done=0, total=2 * reps)

            def work():
                rows = core.paired_runs(base_d, changed_d, replications=reps, days=ndays, seed=seed,
                                        on_progress=lambda d, t: prog.update(done=d, total=t))
                sc = scenario_mod.parse(copy.deepcopy(changed_d), "lab settings")
                from ..model import simulate

                rec = simulate(sc, seed, min(TRACE_DAYS, ndays), trace=True)
                return rows, (sc, rec)
            return await asyncio.to_thread(work)

        @reactive.effect
        @reactive.event(input.run)
        def _start_run():
            _, data, changed, err = settings()
            if err:
                ui.notification_show(err, type="error")
                return
            reps = max(2, min(200, int(input.reps() or replications)))
            ndays = max(1.0, min(3660.0, float(input.days() or days)))
            comparison.invoke(copy.deepcopy(base_data), data, reps, ndays, int(input.seed() or 0))

        @reactive.effect
        def _after_run():
            if comparison.status() == "success":
                traced.set(comparison.result()[1])

        @render.text
        def progress():
            st = comparison.status()
            if st == "running":
                reactive.invalidate_later(0.3)
                return f"running: {prog['done']} of {prog['total']} runs done"
            if st == "success":
                return f"done: {prog['total']} runs ({prog['total'] // 2} paired replications)"
            if st == "error":
                return "the run failed"
            return "Press Run to compare the scenario as it is with the current settings."

        @render.text
        def metric_definition():
            return "Measure: " + glossary.define("CONSUMER." + input.metric()).replace("CONSUMER", "each consumer") \
                + ". " + glossary.UNITS_NOTE

        def _table():
            if comparison.status() != "success":
                return None
            rows, _ = comparison.result()
            return core.comparison_table(rows, input.metric(), consumers)

        @render.plot(alt="outcome bars per consumer, and the paired differences")
        def outcome_plot():
            tab = _table()
            if tab is None:
                return None
            return _bars(tab, base_sc, input.metric())

        @render.ui
        def outcome_table():
            tab = _table()
            if tab is None:
                return None
            share = glossary.is_share(input.metric())
            unit = "%" if share else "h"
            rows = [[graph.display(base_sc, r["consumer"]), _fmt(r["base"], share),
                     f"{_fmt(r['base_lo'], share)} .. {_fmt(r['base_hi'], share)}", _fmt(r["changed"], share),
                     f"{_fmt(r['changed_lo'], share)} .. {_fmt(r['changed_hi'], share)}",
                     _fmt(r["diff"], share, True), f"{_fmt(r['diff_lo'], share, True)} .. "
                     f"{_fmt(r['diff_hi'], share, True)}"] for r in tab]
            d = "pp" if share else "h"
            return ui.div(_html_table(["consumer", f"base ({unit})", "95% interval", f"changed ({unit})",
                                       "95% interval", f"difference ({d})", "95% interval"], rows),
                          ui.p("Differences are paired by replication (same seeds on both sides). "
                               + glossary.UNITS_NOTE, class_="lab-note"))

        # -- replay ------------------------------------------------------------------
        @reactive.effect
        def _initial_trace():
            if traced() is None:
                from ..model import simulate

                with reactive.isolate():
                    traced.set((base_sc, simulate(base_sc, base_sc.scenario.seed, min(TRACE_DAYS, days),
                                                  trace=True)))

        @reactive.effect
        def _events():
            t = traced()
            if t is None:
                return
            sc, rec = t
            choices = {}
            typ = core.typical_late(rec, headline)
            if typ is not None:
                choices[str(typ)] = f"a typical current event that reached {graph.display(sc, headline)} late " \
                                    f"(event {typ})"
            for e, text in core.candidate_events(rec, headline):
                choices.setdefault(str(e), text)
            ui.update_select("event", choices=choices, selected=next(iter(choices), None))
            frame.set(0)

        @reactive.calc
        def story():
            t = traced()
            ev = input.event()
            if t is None or not ev:
                return None
            sc, rec = t
            return sc, core.replay(rec, sc, int(ev))

        @reactive.effect
        @reactive.event(input.event)
        def _rewind():
            frame.set(0)
            playing.set(False)

        @reactive.effect
        @reactive.event(input.step)
        def _step():
            s = story()
            if s is not None:
                frame.set(min(frame() + 1, len(s[1]["frames"]) - 1))

        @reactive.effect
        @reactive.event(input.step_back)
        def _step_back():
            frame.set(max(frame() - 1, 0))

        @reactive.effect
        @reactive.event(input.play)
        def _play():
            playing.set(not playing())

        @reactive.effect
        def _tick():
            if not playing():
                return
            reactive.invalidate_later(0.8)
            with reactive.isolate():
                s = story()
                if s is None:
                    return
                if frame() >= len(s[1]["frames"]) - 1:
                    playing.set(False)
                else:
                    frame.set(frame() + 1)

        def _current():
            s = story()
            if s is None:
                return None, None, None
            sc, st = s
            i = min(frame(), len(st["frames"]) - 1)
            return sc, st, st["frames"][i]

        @render.text
        def clock():
            sc, st, fr = _current()
            if st is None:
                return "no event to replay"
            from ..measures.views import clock as _clock, hours

            return (f"step {frame() + 1} of {len(st['frames'])}: {_clock(sc.scenario.start_date, fr['t_h'])}, "
                    f"+{hours(fr['t_h'] - st['t_h'])} after the event ({st['kind']} in {st['sector']})")

        @render.ui
        def timeline():
            sc, st, fr = _current()
            if st is None:
                return None
            return ui.HTML(_timeline_svg(sc, st, fr["t_h"]))

        @render.ui
        def replay_network():
            sc, st, fr = _current()
            if st is None:
                return None
            return ui.HTML(graph.svg(sc, states=fr["states"], active_links=set(map(tuple, fr["links"])),
                                     title=f"event {st['event_id']} at hour {fr['t_h']:.1f}"))

        @render.ui
        def replay_table():
            sc, st, fr = _current()
            if st is None:
                return None
            from ..measures.views import hours

            rows = []
            for c in sc.consumers:
                arr, act = st["knows"].get(c, (None, None))
                state = fr["states"].get(c, "")
                rows.append([graph.display(sc, c), "-" if arr is None else f"+{hours(arr - st['t_h'])}",
                             "-" if act is None else f"+{hours(act - st['t_h'])}", st["outcome"].get(c, "-"),
                             {"acts": "can act", "knows": "knows"}.get(state, "")])
            return _html_table(["consumer", "knows after", "can act after", "outcome", "now"], rows)

        # -- bottlenecks ----------------------------------------------------------------
        @reactive.calc
        def budgets():
            t = traced()
            if t is None:
                return None
            from ..measures import views

            sc, rec = t
            b = views.time_budgets(rec, "current")
            return sc, b, views.bottlenecks(rec, "current", b)

        @render.ui
        def budget_table():
            got = budgets()
            if got is None or not len(got[1]):
                return None
            from ..measures.views import BUDGET

            sc, b, _ = got
            mean = b.groupby("consumer")[list(BUDGET) + ["latency_h", "act_wait_h"]].mean()
            rows = [[graph.display(sc, n)] + [f"{row[p]:.2f}" for p in list(BUDGET) + ["latency_h", "act_wait_h"]]
                    for n, row in mean.iterrows()]
            return ui.div(ui.h5("Where the hours go (mean hours per first arrival; the parts sum to the latency)"),
                          _html_table(["consumer", *BUDGET, "latency", "then to act"], rows))

        @render.ui
        def rank_table():
            got = budgets()
            if got is None:
                return None
            sc, _, table = got
            rows = []
            for n, row in table.head(12).iterrows():
                util = row.get("utilisation")
                rows.append([graph.display(sc, n) if n in sc.nodes else n, f"{row['late_hours']:.1f}",
                             int(row["late_pairs_led"]), int(row["lost_events"]),
                             "-" if util is None or util != util else f"{100 * util:.1f}"])
            return ui.div(ui.h5("Nodes ranked by late or lost current intelligence"),
                          _html_table(["node", "late hours spent here", "late arrivals it delayed most",
                                       "events lost here", "utilisation %"], rows),
                          ui.p("late hours: hours late first arrivals spent at the node (queue, work, sanitising, "
                               "waiting for meetings or holds); events lost: reported events that some consumer "
                               "never got because a report stopped here.", class_="lab-note"))

        # -- export ---------------------------------------------------------------------
        @render.code
        def variant_text():
            variant, _, _, err = settings()
            text = core.variant_toml(variant)
            return text if not err else f"# error: {err}\n{text}"

        @render.download_button(filename=lambda: f"{input.vname() or 'lab-what-if'}.toml")
        def download():
            variant, _, _, _ = settings()
            yield core.variant_toml(variant)

    return App(page, server)


def _bars(tab: list[dict], sc, metric: str):
    """Outcome bars per consumer (base and changed, 95% intervals) and the paired
    differences on one shared axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    share = glossary.is_share(metric)
    k = 100.0 if share else 1.0
    names = [graph.display(sc, r["consumer"]) for r in tab]
    y = np.arange(len(tab))
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 0.45 * len(tab) + 1.6), sharey=True,
                               gridspec_kw={"width_ratios": [3, 2]})
    for off, side, colour in ((-0.2, "base", "#9e9e9e"), (0.2, "changed", "#1f78b4")):
        m = np.array([r[side] for r in tab], dtype=float) * k
        lo = np.array([r[f"{side}_lo"] for r in tab], dtype=float) * k
        hi = np.array([r[f"{side}_hi"] for r in tab], dtype=float) * k
        a.barh(y + off, m, height=0.38, color=colour, label=side)
        err = np.vstack([np.nan_to_num(m - lo), np.nan_to_num(hi - m)])
        a.errorbar(m, y + off, xerr=err, fmt="none", ecolor="#333", capsize=2, lw=0.8)
    a.set_yticks(y, names)
    a.invert_yaxis()
    a.set_xlabel(f"{METRICS.get(metric, metric)} ({'%' if share else 'h'})")
    a.legend(loc="lower right", fontsize=8)
    d = np.array([r["diff"] for r in tab], dtype=float) * k
    dlo = np.array([r["diff_lo"] for r in tab], dtype=float) * k
    dhi = np.array([r["diff_hi"] for r in tab], dtype=float) * k
    b.axvline(0, color="#555", lw=0.8)
    b.errorbar(d, y, xerr=np.vstack([np.nan_to_num(d - dlo), np.nan_to_num(dhi - d)]), fmt="o", color="#d6006f",
               capsize=3)
    b.set_xlabel(f"changed - base ({'percentage points' if share else 'h'}), 95% paired interval")
    fig.tight_layout()
    return fig


def _timeline_svg(sc, st: dict, now: float) -> str:
    """A strip from the event to its last step: the deadline, the acting consumers'
    meetings, when each consumer knew (dot) and could act (square), and now."""
    from html import escape

    t0 = st["t_h"]
    t1 = max([f["t_h"] for f in st["frames"]] + [st["deadline_h"]]) + 1
    w, pad = 900, 20

    def x(t):
        return pad + (t - t0) / (t1 - t0) * (w - 2 * pad)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{w}" height="70" '
             'font-family="sans-serif" font-size="10">',
             f'<line x1="{pad}" y1="30" x2="{w - pad}" y2="30" stroke="#999"/>',
             f'<line x1="{x(st["deadline_h"]):.1f}" y1="12" x2="{x(st["deadline_h"]):.1f}" y2="48" stroke="#d73027" '
             f'stroke-dasharray="4,2"/><text x="{x(st["deadline_h"]) - 3:.1f}" y="12" text-anchor="end" '
             'fill="#d73027">shelf life ends</text>']
    for name, times in st["meetings"].items():
        for t in times:
            parts.append(f'<g class="briefing"><title>{escape(name)}</title><rect x="{x(t) - 3:.1f}" y="24" '
                         f'width="6" height="12" fill="#fd8d3c"/></g>')
    for c, (arr, act) in st["knows"].items():
        parts.append(f'<circle cx="{x(arr):.1f}" cy="30" r="4" fill="#a1d99b" stroke="#333"><title>'
                     f'{escape(graph.display(sc, c))} knows</title></circle>')
        if act == act:
            parts.append(f'<rect x="{x(act) - 4:.1f}" y="40" width="8" height="8" fill="#31a354"><title>'
                         f'{escape(graph.display(sc, c))} can act</title></rect>')
    parts.append(f'<line class="now" x1="{x(now):.1f}" y1="5" x2="{x(now):.1f}" y2="60" stroke="#e31a1c" '
                 'stroke-width="2"/>')
    parts.append(f'<text x="{pad}" y="64">event</text><text x="{w - pad}" y="64" text-anchor="end">'
                 f'+{t1 - t0:.0f} h</text><text x="{pad + 60}" y="64" fill="#555">orange bars: meetings at which '
                 'consumers act; dots: a consumer knows; squares: it can act; red line: now</text>')
    parts.append("</svg>")
    return "".join(parts)
