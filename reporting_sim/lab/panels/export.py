"""The Export tab: the current settings as a variant file (name, question and
expectation included) that ``validate``, ``compare`` and ``robustness`` accept."""

from __future__ import annotations

from shiny import render, ui

from .. import core
from .common import note
from .context import Lab, Shared


def ui_panel(lab: Lab):
    return ui.nav_panel(
        "Export",
        ui.input_text("vname", "variant name", value="lab-what-if"),
        ui.input_text("question", "question", value=""),
        ui.input_text("expectation", "expectation", value=""),
        ui.download_button("download", "Download the variant (TOML)"),
        note("Validate it with reporting-sim validate FILE; compare it with reporting-sim compare BASE FILE."),
        ui.output_code("variant_text"))


def server(input, output, lab: Lab, shared: Shared) -> None:
    @render.code
    def variant_text():
        variant, _, _, err = shared.settings()
        text = core.variant_toml(variant)
        return text if not err else f"# error: {err}\n{text}"

    @render.download_button(filename=lambda: f"{input.vname() or 'lab-what-if'}.toml")
    def download():
        variant, _, _, _ = shared.settings()
        yield core.variant_toml(variant)
