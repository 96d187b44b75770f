"""The lab's web page (Shiny for Python), put together from its panels.

The side bar holds the settings (:mod:`.panels.settings`); the tabs are the network
(the first view), the replay of the mission in motion (the scenario as it is and the
what-if side by side), the what-if's paired runs, the exercises (predict, then run),
the ceilings waterfall, the bottlenecks and the export of a variant. Each panel is a
small module of :mod:`.panels`; what they compute lives in :mod:`.core`,
:mod:`.mission` and :mod:`.exercises`. The page's own script and style
(``static/lab.js``, ``static/lab.css``) are served by the lab itself: zoom and pan,
opening groups of units, the class view, the animation and its keyboard controls.
"""

from __future__ import annotations

from pathlib import Path

from shiny import App, ui

from .panels import bottlenecks, ceilings, exercises, export, mission, network, settings, whatif
from .panels.context import Lab, Shared

STATIC = Path(__file__).resolve().parent / "static"
PANELS = (network, mission, whatif, exercises, ceilings, bottlenecks, export)


def page(lab: Lab):
    """The page: the side bar of settings and one tab per panel."""
    return ui.page_sidebar(
        settings.sidebar(lab),
        ui.head_content(ui.tags.link(rel="icon", href="data:,"),  # no favicon request
                        ui.tags.link(rel="stylesheet", href="lab-static/lab.css"),
                        ui.tags.script(src="lab-static/lab.js")),
        ui.navset_tab(*(p.ui_panel(lab) for p in PANELS), id="tabs"),
        title=f"reporting-sim lab: {lab.base_sc.name}", fillable=False)


def make_app(scenario: str, *, variants_dir=None, days: float = 60.0, replications: int = 6) -> App:
    """The lab for ``scenario`` (a built-in name or a file)."""
    lab = Lab.of(scenario, variants_dir=variants_dir, days=days, replications=replications)
    lab.warm(seed=1)  # the what-if's default seed

    def server(input, output, session):
        shared = Shared()
        settings.server(input, lab, shared)
        whatif.server(input, output, lab, shared)
        network.server(input, output, session, lab, shared)
        mission.server(input, output, session, lab, shared)
        exercises.server(input, output, lab, shared)
        ceilings.server(input, output, lab, shared)
        bottlenecks.server(input, output, lab, shared)
        export.server(input, output, lab, shared)

    return App(page(lab), server, static_assets={"/lab-static": STATIC})
