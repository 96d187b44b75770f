"""The Replay tab: the mission in motion, the scenario as it is and the what-if side by
side on one clock. The server runs both traced (the what-if's first seed, so the two
panels replay the same events: common random numbers) and sends each run's marks,
meetings and counters (:mod:`reporting_sim.lab.mission`); the lab's script animates
them in the browser (play, pause, step, scrub, an hour to a week a second). It also
shows the running paired difference of the chosen measure as the what-if's pairs
come in, and can follow one event (its reports drawn large, the nodes it reached lit)."""

from __future__ import annotations

from shiny import reactive, render, ui

from ...hashing import digest
from ...present import glossary, graph
from ...present.layout import Style
from .. import core
from .common import fmt, interval, note
from .context import Lab, Shared
from .network import zoom_bar

SPEEDS = {"1": "an hour a second", "3": "3 hours a second", "6": "6 hours a second", "12": "12 hours a second",
          "24": "a day a second", "84": "half a week a second", "168": "a week a second"}
DAYS = {"7": "7 days shown", "30": "30 days shown", "90": "90 days shown"}
MARK_KEY = (("mark-current", "current intelligence (a report on its way)"),
            ("mark-long_term", "long-term intelligence"), ("mark-wait", "waiting for a meeting"),
            ("mark-hold", "held back from a rival"), ("mark-sanitise", "sanitised into an INTREP"),
            ("mark-queue", "queued at a cell"), ("mark-stop", "stopped: withheld, not passed on, or lost"),
            ("mark-flash", "a meeting sits"))


def _button(bid: str, text: str, tip: str) -> ui.Tag:
    return ui.tags.button(text, id=bid, type="button", class_="btn btn-outline-dark", title=tip)


def controls() -> ui.Tag:
    speed = ui.tags.select(*(ui.tags.option(v, value=k, selected="selected" if k == "6" else None)
                             for k, v in SPEEDS.items()), id="speed", class_="form-select", title="speed")
    return ui.div(
        _button("play", "▶ Play", "play or pause (space)"), _button("step_back", "◀ Step", "back to the last "
                                                                    "moment something happened (left arrow)"),
        _button("step", "Step ▶", "on to the next moment something happens (right arrow)"), speed,
        ui.tags.input(type="range", id="scrub", min="0", max="720", step="0.25", value="0", title="the mission clock"),
        ui.span("", id="clock", class_="clock"),
        class_="controls mission-controls")


def options() -> ui.Tag:
    family = ui.tags.select(ui.tags.option("counting current intelligence", value="current"),
                            ui.tags.option("counting long-term intelligence", value="long_term"),
                            ui.tags.option("counting all intelligence", value="all"), id="count_family",
                            class_="form-select", title="what the counters count")
    return ui.div(family, ui.input_select("mission_days", None, choices=DAYS, selected="30"),
                  ui.input_select("follow", None, choices={"": "follow one event: none"}),
                  _button("class_view", "Class view", "full screen for the class, controls out of the way (c)"),
                  class_="controls mission-options")


def ui_panel(lab: Lab):
    key = "".join(f'<span class="key {k}"><i></i>{t}</span>' for k, t in MARK_KEY)
    return ui.nav_panel(
        "Replay",
        controls(),
        options(),
        ui.div(_side("base", ui.output_text("base_title")), _side("changed", ui.output_text("changed_title")),
               class_="mission-pair"),
        ui.div("", id="mission_now", class_="mission-now"),
        ui.HTML(f'<div class="legend-html">{key}</div>'),
        ui.div(ui.input_select("diff_consumer", "paired difference for",
                               choices={c: graph.display(lab.base_sc, c) for c in lab.consumers},
                               selected=lab.headline),
               ui.output_ui("running_diff"), class_="controls"),
        ui.div(ui.output_text("mission_note"), class_="lab-note"))


def _side(side: str, title) -> ui.Tag:
    return ui.div(ui.h4(title), zoom_bar(f"mission_{side}"),
                  ui.div(ui.output_ui(f"mission_{side}"), class_="network-box mission-box"),
                  ui.div(id=f"counters_{side}", class_="counters"), class_="mission-panel")


def server(input, output, session, lab: Lab, shared: Shared) -> None:
    opened = reactive.value(False, name="replay opened")
    shared.traces = _traces(input, lab, shared)

    @reactive.effect
    @reactive.event(input.tabs)
    def _room():
        if input.tabs() == "Replay":  # two diagrams side by side want the width: the side bar folds away
            ui.update_sidebar("side", show=False)
            opened.set(True)

    _messages(input, session, lab, shared.traces, opened)
    _texts(lab, shared)
    _diagrams(lab, shared)

    @render.ui
    def running_diff():
        return running(lab, shared, input)


def _traces(input, lab: Lab, shared: Shared):
    """The two traced runs, ``(scenario, records, mission data)`` per side: the
    scenario as it is and the settings, both with the what-if's first seed."""
    @reactive.calc
    def traces():
        got = shared.run()
        seed = got.seed if isinstance(got, core.RunSettings) else 1
        days = float(input.mission_days()) if input.mission_days() in DAYS else 30.0
        _, data, changed, _ = shared.settings()
        base = lab.traced("base", lab.base_sc, days, seed)
        if changed is None or not graph.diff(lab.base_sc, changed).lines(lab.base_sc, changed):
            return {"base": base, "changed": base}
        return {"base": base, "changed": lab.traced(digest(data), changed, days, seed)}
    return traces


def _messages(input, session, lab: Lab, traces, opened) -> None:
    """What goes to the lab's script: each side's run, once the replay is first wanted
    (the first view is not kept waiting), the events worth following, and the frames
    of the event followed."""
    @reactive.effect
    async def _send():
        if not opened():
            return
        t = traces()
        await session.send_custom_message("mission", {"panel": "base", "data": t["base"][2]})
        same = {"same": "base"} if t["changed"] is t["base"] else {"data": t["changed"][2]}
        await session.send_custom_message("mission", {"panel": "changed", **same})

    @reactive.effect
    def _events():
        if not opened():
            return
        choices = follow_choices(lab, *traces()["base"][:2])
        with reactive.isolate():
            keep = input.follow() if input.follow() in choices else ""
        ui.update_select("follow", choices=choices, selected=keep)

    @reactive.effect
    async def _follow():
        ev, t = input.follow(), traces()
        known = isinstance(ev, str) and ev.isdigit() and int(ev) < len(t["base"][1].events)
        msg = {"event": int(ev), **{side: core.replay(t[side][1], t[side][0], int(ev)) for side in t}} if known \
            else {"event": None}
        await session.send_custom_message("follow", msg)


def follow_choices(lab: Lab, sc, rec) -> dict[str, str]:
    """Events worth following: a typical late one of the headline consumer first."""
    choices = {"": "follow one event: none"}
    typ = core.typical_late(rec, lab.headline)
    if typ is not None:
        choices[str(typ)] = f"a typical current event that reached {graph.display(sc, lab.headline)} late"
    for e, text in core.candidate_events(rec, lab.headline):
        choices.setdefault(str(e), text)
    return choices


def _texts(lab: Lab, shared: Shared) -> None:
    @render.text
    def mission_note():
        rec = shared.traces()["base"][1]
        return (f"Both panels replay {rec.days:g} days of seed {rec.seed} (the what-if's first seed): the same "
                "events on both sides. Marks are the traced reports; the counters count each consumer's events "
                "of its area of interest as they are settled (in time or late: when it could act; lost: at the "
                "end of the shelf life). The side bar folds away here; open it with the arrow at its edge.")

    @render.text
    def base_title():
        return f"As it is: {lab.base_sc.name}"

    @render.text
    def changed_title():
        variant, _, changed, err = shared.settings()
        if err:
            return f"What-if: error in the settings ({err})"
        n = len(graph.diff(lab.base_sc, changed).lines(lab.base_sc, changed))
        return f"What-if: {variant['variant']['name']}" + ("" if n else " (no change yet: use the side bar)")


def _diagrams(lab: Lab, shared: Shared) -> None:
    def panel_svg(side: str):
        sc = shared.traces()[side][0]
        w = (shared.size()["w"] - 24) / 2
        return ui.HTML(graph.svg(sc, base=lab.base_sc if side == "changed" else None, collapsed=shared.closed(),
                                 width=w, legend=False, uid=f"m{side[0]}-", style=Style.compact()))

    @render.ui
    def mission_base():
        return panel_svg("base")

    @render.ui
    def mission_changed():
        return panel_svg("changed")


def running(lab: Lab, shared: Shared, input) -> ui.Tag:
    """The running paired difference of the chosen measure (the What-if tab's) for the
    chosen consumer (the headline one at first), over the what-if's pairs so far."""
    got = shared.pairs()
    metric = input.metric()
    who = input.diff_consumer() if input.diff_consumer() in lab.consumers else lab.headline
    if not got or not got["rows"]["changed"] or who is None:
        return note("Run the what-if (What-if tab) to see the paired difference build up here, pair by pair.")
    name = f"{who}.{metric}"
    row = core.metric_row(got["rows"], name)
    share = glossary.is_share(name)
    unit = "points" if share else "h"
    head = f"{graph.display(lab.base_sc, who)}, {metric.replace('.', ' ').replace('_', ' ')}"
    if row is None:
        return note(f"{head}: no event of this kind in its area of interest.")
    done = len(got["rows"]["changed"])
    ci = f" [{interval(row['diff_lo'], row['diff_hi'], share, True)}]" if done >= 2 else " (an interval needs two pairs)"
    return ui.div(
        ui.tags.b(f"{head}: as it is {fmt(row['base'], share)}, what-if {fmt(row['changed'], share)}; "
                  f"difference {fmt(row['diff'], share, True)} {unit}{ci}"),
        note(f"After {done} of {got['settings'].replications} pairs ({got['settings'].describe()}); "
             f"the 95% interval is paired by replication, as reporting-sim compare gives it."),
        class_="running-diff")
