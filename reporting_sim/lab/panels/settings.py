"""The side bar: where to start from (the scenario, or a shipped variant) and a switch
or box for every setting the scenario offers (:class:`~reporting_sim.lab.core.Knobs`);
every input is generated from the scenario, none is named here. Its server turns the
inputs into the what-if variant, validated by the scenario schema (an empty box or a
value the schema refuses is one line on the page, never a silent default)."""

from __future__ import annotations

import math

from shiny import reactive, ui

from ...errors import ScenarioError
from ...present import graph
from .. import core
from .context import Lab, Shared

GROUPS = {"mechanisms": "Mechanisms", "switches": "Switches", "cells": "Analysts per cell",
          "kinds": "Shelf life per kind (hours)", "meetings": "Meetings: every ... hours",
          "collectors": "Accreditation time (days)", "formats": "Report formats"}


def knob_label(sc, key: str) -> str:
    parts = key.split(".")
    if key == "formats":
        return "report formats for commander-centric units"
    if parts[0] in ("cells", "collectors"):
        return graph.display(sc, parts[1])
    return parts[1].replace("_", " ")


def _input(sc, iid: str, key: str, value):
    head, lab = key.split(".")[0], knob_label(sc, key)
    if head == "mechanisms" or key == "formats":
        return ui.input_switch(iid, lab, value=bool(value))
    if head == "switches":
        return ui.input_select(iid, lab, choices=list(sc.switches[key.split(".")[1]].choices), selected=value)
    return ui.input_numeric(iid, lab, value=value)  # bounds are the schema's to check, with a message


def inputs(lab: Lab) -> list:
    groups: dict[str, list] = {title: [] for title in GROUPS.values()}
    for iid, key in lab.ids.items():
        groups[GROUPS[key.split(".")[0]]].append(_input(lab.base_sc, iid, key, lab.knobs0.values[key]))
    return [ui.accordion_panel(title, *items) for title, items in groups.items() if items]


def sidebar(lab: Lab):
    return ui.sidebar(
        ui.tags.b(f"scenario {lab.base_sc.name}"),
        ui.input_select("preset", "start from", choices={"": "the scenario as it is",
                                                         **{n: n for n in lab.presets_data}}),
        ui.accordion(*inputs(lab), id="knobs", open=False, multiple=True),
        width=300, open="desktop", id="side")


def _update(iid: str, key: str, value) -> None:
    head = key.split(".")[0]
    if head == "mechanisms" or key == "formats":
        ui.update_switch(iid, value=bool(value))
    elif head == "switches":
        ui.update_select(iid, selected=value)
    else:
        ui.update_numeric(iid, value=value)


def server(input, lab: Lab, shared: Shared) -> None:
    @reactive.calc
    def start():
        name = input.preset()
        preset = lab.presets_data.get(name)
        if preset is None:  # "" (or a name the page never offered): the scenario as it is
            return lab.base_data, lab.base_sc, None
        data, sc = core.resolve(lab.base_data, core.variant_data(lab.base_ref, {}, preset=preset, name=name))
        return data, sc, preset

    @reactive.effect
    @reactive.event(input.preset)
    def _reset_inputs():
        k = core.Knobs.of(start()[1])
        for iid, key in lab.ids.items():
            if k.values.get(key) is not None:
                _update(iid, key, k.values[key])

    @reactive.calc
    def settings():
        return what_if(input, lab, *start())

    shared.start, shared.settings = start, settings
    _page(input, lab, shared)


def _variant_meta(input, lab: Lab, preset) -> dict:
    """The variant's name, question and expectation as typed (else the preset's), and its preset."""
    head = (lab.presets_data.get(input.preset()) or {}).get("variant", {})
    return dict(name=input.vname() or "lab-what-if", question=input.question() or head.get("question", ""),
                expectation=input.expectation() or head.get("expectation", ""), preset=preset)


def _knob_values(input, lab: Lab) -> dict:
    """Every side-bar setting, typed like the scenario's value (a one-line error for an empty box)."""
    return {key: core.knob_value(key, input[iid](), lab.knobs0.values[key], knob_label(lab.base_sc, key))
            for iid, key in lab.ids.items()}


def what_if(input, lab: Lab, data, sc, preset) -> tuple:
    """``(variant, data, changed scenario, error line)`` of the side bar's settings
    on top of where they start from (the scenario, or a shipped variant)."""
    meta = _variant_meta(input, lab, preset)
    try:
        changes = core.Knobs(_knob_values(input, lab)).changes(core.Knobs.of(sc), sc)
    except ScenarioError as exc:
        return core.variant_data(lab.base_ref, {}, **meta), None, None, exc.one_line()
    variant = core.variant_data(lab.base_ref, changes, **meta)
    if preset is None and not changes:
        return variant, lab.base_data, lab.base_sc, None  # nothing to resolve: the scenario as it is
    try:
        data, changed = core.resolve(lab.base_data, variant)
    except ScenarioError as exc:
        return variant, None, None, exc.one_line()
    return variant, data, changed, None


def _page(input, lab: Lab, shared: Shared) -> None:
    """The panel's size (from the lab's script) and the unit groups left closed."""
    @reactive.calc
    def size():
        got = input.lab_size()
        got = got if isinstance(got, dict) else {}
        return {"w": _px(got.get("w"), 900, 320), "h": _px(got.get("h"), 600, 360),
                "net_h": _px(got.get("net_h"), 560, 320), "class_view": bool(got.get("class_view"))}

    @reactive.calc
    def closed():
        opened = set(input.open_groups() or ())
        return [g.key for g in graph.unit_groups(lab.base_sc) if g.key not in opened]

    shared.size, shared.closed = size, closed


def _px(value, default: float, least: float) -> float:
    """A size the page sent, in CSS px: a finite number from ``least`` to 10000, else ``default``."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return default
    return min(10000.0, max(least, x)) if math.isfinite(x) else default
