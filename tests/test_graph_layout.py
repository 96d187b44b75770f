"""The network diagram's layout (present/layout.py, present/graph.py): readable at the
size it is drawn (labels 14 px and more, one SVG unit a CSS pixel), no two boxes on
top of each other, every label inside its box, the panel's width respected, two-way
links pointed so the diagram is as short as it can be, and units grouped by sector
and drawn closed on request. (The lab's browser test measures the same in Chromium.)"""

from __future__ import annotations

import re

import pytest

from helpers import VARIANTS
from reporting_sim import scenario as scenario_mod
from reporting_sim.present import graph
from reporting_sim.present.layout import Style, layers, text_width


@pytest.fixture(scope="module")
def sc():
    return scenario_mod.load("minusma-2015")


def _closed(sc):
    return [g.key for g in graph.unit_groups(sc)]


def _overlap(a, b) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > 0 and min(a[3], b[3]) - max(a[1], b[1]) > 0


@pytest.mark.parametrize("width, height, closed", [(600, None, True), (926, 470, True), (926, 470, False),
                                                   (1690, 900, True), (None, None, False)])
def test_boxes_fit_their_labels_the_width_and_each_other(sc, width, height, closed):
    lay = graph.layout(sc, collapsed=_closed(sc) if closed else (), width=width, height=height)
    st = lay.style
    assert st.font >= 14
    rects = {}
    for n, (x, y) in lay.pos.items():
        b = lay.boxes[n]
        rects[n] = (x - b.w / 2, y - b.h / 2, x + b.w / 2, y + b.h / 2)
        assert all(text_width(ln, st.font) <= b.w - 2 * st.pad_x + 1e-6 for ln in b.lines), n
        assert len(b.lines) <= 3 and b.h >= len(b.lines) * st.line
        if width:
            assert rects[n][0] >= 0 and rects[n][2] <= width + 1e-6, n
    names = list(rects)
    hits = [(a, b) for i, a in enumerate(names) for b in names[i + 1:] if _overlap(rects[a], rects[b])]
    assert hits == []
    if height:
        assert lay.height >= height  # it uses the panel's height


def test_a_two_way_link_points_up_where_that_makes_fewer_layers():
    # a depth-first search from r meets c, d, b and then a: it would keep b -> a and
    # drop a -> b, putting a below b (4 layers); keeping a -> b makes 3
    edges = [("r", "c"), ("c", "d"), ("d", "b"), ("b", "a"), ("a", "b"), ("r", "a")]
    got = layers(["r", "a", "b", "c", "d"], edges, ["r"])
    assert got == {"r": 0, "a": 1, "c": 1, "d": 2, "b": 3}


def test_the_field_is_grouped_by_sector_and_drawn_closed_on_request(sc):
    groups = graph.unit_groups(sc)
    members = [n for g in groups for n in g.members]
    assert sorted(n for n in members if n in sc.collectors) == sorted(sc.collectors)
    assert len(members) == len(set(members))  # each unit in one group
    assert all(not sc.nodes[n].consumer and not graph.gates(sc.nodes[n]) for n in members if n not in sc.collectors)
    west = next(g for g in groups if g.key == "group:west")
    assert {"bn_west", "bn_west_cmd", "riverine_west", "s2_riverine", "swe_uav"} <= set(west.members)
    assert "swe_isr_analysts" not in west.members  # it applies gates: drawn on its own
    svg = graph.svg(sc, collapsed=_closed(sc), width=926, legend=False)
    boxes = re.findall(r'<g class="node ([a-z ]+)" data-node="([^"]+)"', svg)
    assert sum(cls == "group" for cls, _ in boxes) == len(groups)
    drawn = {n for _, n in boxes}
    assert not drawn & set(members) and drawn >= set(sc.nodes) - set(members)
    links = re.findall(r'data-from="([^"]+)" data-to="([^"]+)"', svg)
    assert all(a != b for a, b in links) and ("group:west", "g2_west") in links
    assert 'data-members="' + " ".join(west.members) + '"' in svg
    opened = graph.svg(sc, collapsed=[g.key for g in groups if g.key != "group:west"], width=926, legend=False)
    assert 'data-node="bn_west_cmd"' in opened and 'data-group="group:west"' in opened


def test_every_label_is_drawn_at_the_style_font_and_the_file_keeps_every_node(sc):
    svg = graph.svg(sc)  # the file `scenario graph` writes: no groups, the key included
    assert svg.count('class="node ') == len(sc.nodes)
    assert 'font-size="15.0"' in svg and "font-size=" not in svg.replace('font-size="15.0"', "")
    assert 'class="legend"' in svg
    for name, node in sc.nodes.items():
        assert node.label, name  # minusma-2015 names every node for the class
    assert ">Force Commander<" in svg and ">U2<" in svg and "force_commander<" not in svg


def test_a_variant_that_adds_units_is_laid_out_with_them(sc):
    lo = scenario_mod.load(VARIANTS / "liaison-officers-and-formats.toml")
    lay = graph.layout(lo, collapsed=_closed(lo), width=926, height=470)
    assert set(lo.nodes) - {n for g in graph.unit_groups(lo) for n in g.members} <= set(lay.pos)


def test_compact_style_stays_at_14_px(sc):
    assert Style.compact().font == 14
    assert Style.for_width(300).font == 15 and Style.for_width(5000).font == 19
