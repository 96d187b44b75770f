"""The Bottlenecks tab: where the hours of current intelligence go, per consumer (the
traced run of the current settings the Replay tab shows), and the nodes ranked by the
late or lost intelligence they account for."""

from __future__ import annotations

from shiny import reactive, render, ui

from ...present import graph
from .common import html_table, note
from .context import Lab, Shared


def ui_panel(lab: Lab):
    return ui.nav_panel(
        "Bottlenecks",
        note("The traced run of the current settings (the what-if panel of the Replay tab): where the hours "
             "of current intelligence go, per consumer, and the nodes ranked by the late or lost "
             "intelligence they account for."),
        ui.output_ui("budget_table"), ui.output_ui("rank_table"))


def server(input, output, lab: Lab, shared: Shared) -> None:
    @reactive.calc
    def budgets():
        from ...measures import views

        sc, rec, _ = shared.traces()["changed"]
        b = views.time_budgets(rec, "current")
        return sc, b, views.bottlenecks(rec, "current", b)

    @render.ui
    def budget_table():
        from ...measures.views import BUDGET

        sc, b, _ = budgets()
        if not len(b):
            return None
        cols = list(BUDGET) + ["latency_h", "act_wait_h"]
        mean = b.groupby("consumer")[cols].mean()
        rows = [[graph.display(sc, n)] + [f"{row[p]:.2f}" for p in cols] for n, row in mean.iterrows()]
        return ui.div(ui.h5("Where the hours go (mean hours per first arrival; the parts sum to the latency)"),
                      html_table(["consumer", *BUDGET, "latency", "then to act"], rows))

    @render.ui
    def rank_table():
        sc, _, table = budgets()
        rows = []
        for n, row in table.head(12).iterrows():
            util = row.get("utilisation")
            rows.append([graph.display(sc, n) if n in sc.nodes else n, f"{row['late_hours']:.1f}",
                         int(row["late_pairs_led"]), int(row["lost_events"]),
                         "-" if util is None or util != util else f"{100 * util:.1f}"])
        return ui.div(ui.h5("Nodes ranked by late or lost current intelligence"),
                      html_table(["node", "late hours spent here", "late arrivals it delayed most",
                                  "events lost here", "utilisation %"], rows),
                      note("late hours: hours late first arrivals spent at the node (queue, work, sanitising, "
                           "waiting for meetings or holds); events lost: reported events that some consumer "
                           "never got because a report stopped here."))
