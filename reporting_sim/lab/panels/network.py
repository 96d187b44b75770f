"""The Network tab, the lab's first view: the changed scenario drawn against its base,
laid out for the panel's size (labels 15 px or more, one diagram unit a CSS pixel),
units grouped by sector until opened, zoom and pan (the lab's script), and the key."""

from __future__ import annotations

from html import escape

from shiny import render, ui

from ...present import graph
from .context import Lab, Shared


def zoom_bar(target: str) -> ui.Tag:
    """Zoom in, out and back to one pixel a unit, for the diagram in ``#target``."""
    return ui.div(*(ui.tags.button(text, type="button", class_="btn btn-sm btn-outline-dark", title=tip,
                                   **{"data-zoom": how, "data-target": target})
                    for text, how, tip in (("+", "in", "zoom in (or the mouse wheel)"),
                                           ("−", "out", "zoom out"),
                                           ("1:1", "reset", "back to the whole diagram, labels at full size"))),
                  class_="zoom-bar")


def legend_html() -> ui.HTML:
    """The diagram's key (the same items the SVG file draws), as HTML beside the diagram."""
    items = []
    for kind, text in graph.legend_items():
        items.append(f'<span class="key key-{escape(kind.replace(":", "-"))}"><i></i>{escape(text)}</span>')
    return ui.HTML(f'<div class="legend-html">{"".join(items)}</div>')


def ui_panel(lab: Lab):
    groups = {g.key: f"{g.label} ({len(g.members)})" for g in graph.unit_groups(lab.base_sc)}
    return ui.nav_panel(
        "Network",
        ui.div(ui.input_checkbox_group("open_groups", "open the units of:", choices=groups, inline=True),
               zoom_bar("network"), class_="net-controls controls"),
        ui.output_ui("network", class_="network-box net-box shiny-report-size"),
        legend_html(),
        ui.div(ui.output_text("changes_count"), class_="lab-note"),
        ui.tags.details(ui.tags.summary("what the settings change"), ui.output_code("changes_text")))


def panel_size(session, shared: Shared) -> tuple[float, float]:
    """The network output's own size (the page reports it with its first message, so
    the first view needs no second trip), else the size the lab's script sent."""
    w, h = session.clientdata.output_width("network"), session.clientdata.output_height("network")
    if w and h:
        return float(w) - 6, float(h) - 6
    size = shared.size()
    return size["w"], size["net_h"]


def server(input, output, session, lab: Lab, shared: Shared) -> None:
    @render.text
    def changes_count():
        _, _, changed, err = shared.settings()
        if err:
            return f"error: {err}"
        n = len(graph.diff(lab.drawn_against, changed).lines(lab.drawn_against, changed))
        return (f"{len(changed.nodes)} nodes, {len(changed.active_links)} links; {n} change"
                f"{'s' if n != 1 else ''} against {lab.drawn_against.name} (drawn in purple). Click a group of "
                "units to open it (double-click one of its units to close it); wheel or +/− to zoom, drag to pan.")

    @render.ui
    def network():
        _, _, changed, _ = shared.settings()
        w, h = panel_size(session, shared)
        return ui.HTML(graph.svg(changed if changed is not None else lab.base_sc, base=lab.drawn_against,
                                 collapsed=shared.closed(), width=w, height=h, legend=False, uid="net-"))

    @render.code
    def changes_text():
        _, _, changed, err = shared.settings()
        if err:
            return err
        return "\n".join(graph.diff(lab.drawn_against, changed).lines(lab.drawn_against, changed)) or "(no change)"
