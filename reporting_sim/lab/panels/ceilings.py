"""The Ceilings tab: for one consumer, how far each stage of the chain caps the share
of intelligence it has in time (today's share, then the ceiling each stage allows), as
a waterfall. It reads :func:`reporting_sim.lab.core.ceilings`; without the library's
ceilings study the tab says which feature it needs."""

from __future__ import annotations

import asyncio
import copy
from html import escape

from shiny import reactive, render, ui

from ...present import graph
from .. import core
from .common import note
from .context import Lab, Shared


def ui_panel(lab: Lab):
    if core.ceilings_function() is None:
        return ui.nav_panel("Ceilings", ui.div(ui.h4("Ceilings"), ui.p(core.CEILINGS_NEEDED), id="ceilings_missing"))
    return ui.nav_panel(
        "Ceilings",
        ui.layout_columns(
            ui.input_select("ceil_consumer", "consumer",
                            choices={c: graph.display(lab.base_sc, c) for c in lab.consumers},
                            selected=lab.headline),
            ui.input_select("ceil_family", "intelligence", choices={"current": "current", "long_term": "long-term"}),
            col_widths=(6, 6)),
        ui.input_task_button("ceil_run", "Compute the ceilings of the current settings"),
        ui.output_ui("ceilings_view"))


def server(input, output, lab: Lab, shared: Shared) -> None:
    if core.ceilings_function() is None:
        return

    @ui.bind_task_button(button_id="ceil_run")
    @reactive.extended_task
    async def task(data, rs: core.RunSettings, family: str):
        return await asyncio.to_thread(core.ceilings, data, days=rs.days, seed=rs.seed,
                                       replications=rs.replications, family=family)

    @reactive.effect
    @reactive.event(input.ceil_run)
    def _start():
        _, data, _, err = shared.settings()
        rs = shared.run()
        if err or isinstance(rs, str):
            ui.notification_show(err or rs, type="error", duration=8)
            return
        task.invoke(copy.deepcopy(data), rs, input.ceil_family())

    @render.ui
    def ceilings_view():
        if task.status() != "success":
            return note("Press the button: the ceilings take the what-if's replications, days and seed.")
        stages = (task.result() or {}).get(input.ceil_consumer())
        if not stages:
            return note("No ceilings for this consumer and family.")
        return ui.HTML(waterfall_svg(stages, graph.display(lab.base_sc, input.ceil_consumer())))


def waterfall_svg(stages: list[tuple[str, float]], who: str) -> str:
    """Today's share, then each stage's ceiling as a step up from the one before (in
    percent), labels 15 px."""
    w, left, row = 820.0, 300.0, 34.0
    h = row * (len(stages) + 1) + 20

    def x(v):
        return left + max(0.0, min(1.0, v)) * (w - left - 70)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="waterfall" width="{w:.0f}" height="{h:.0f}" '
           f'viewBox="0 0 {w:.0f} {h:.0f}" font-size="15" font-family="DejaVu Sans, Verdana, sans-serif">',
           f"<title>ceilings of {escape(who)}</title>"]
    prev = 0.0
    for i, (stage, share) in enumerate(stages):
        y = 10 + row * i
        a, b = (0.0, share) if i == 0 else (prev, max(prev, share))
        colour = "#7f7f7f" if i == 0 else "#0072b2"
        out.append(f'<text x="10" y="{y + 20:.0f}">{escape(stage.replace("_", " "))}</text>'
                   f'<rect x="{x(a):.1f}" y="{y + 4:.0f}" width="{max(1.0, x(b) - x(a)):.1f}" height="{row - 10:.0f}" '
                   f'fill="{colour}"/><text x="{x(b) + 6:.1f}" y="{y + 20:.0f}">{100 * share:.1f}%</text>')
        prev = max(prev, share)
    out.append("</svg>")
    return "".join(out)
