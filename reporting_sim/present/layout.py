"""Where the network diagram puts its boxes: layers from the field down, each layer in
rows that fit the width it is given, boxes sized to their labels.

Generic: it reads names, labels and edges (:func:`arrange`), never a scenario, so
:mod:`.graph` can feed it the scenario's nodes or a view of them with units grouped.

* layers: the longest path from a root (the collectors) over the edges, back edges of
  cycles left out, so almost every link points down;
* order within a layer: a few sweeps placing each box at the mean position of its
  neighbours in the layer above (then below), which keeps links short and a sector's
  units together;
* boxes: each label wrapped into at most two lines and measured with a conservative
  estimate of a sans-serif font's glyph widths (:func:`text_width`), so no label spills
  out of its box in the fonts browsers use (DejaVu Sans, Verdana, Arial, Helvetica);
* rows: a layer wider than the width given wraps into several rows, each spread over
  the width; the gaps between layers grow to fill a given height (so the diagram uses
  the panel), never below what the links need.

Every size is in CSS pixels: the lab draws the diagram at one pixel per unit, so a
15-pixel label is 15 pixels tall on the screen.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Optional


@dataclass(frozen=True)
class Style:
    """Sizes of one drawing, in CSS pixels."""

    font: float = 15.0  # every label's font size
    line: float = 19.0  # distance between the lines of a label (taller than a line's box)
    pad_x: float = 10.0
    pad_y: float = 7.0
    gap_x: float = 18.0  # at least between two boxes of a row
    gap_y: float = 32.0  # at least between two layers: the links run here
    row_gap: float = 28.0  # between the rows of one wrapped layer (room for a gate badge)
    margin: float = 16.0
    max_gap_y: float = 96.0
    line_em: float = 10.0  # a label line is at most this many font sizes wide, unless one word is wider

    @classmethod
    def for_width(cls, width: Optional[float]) -> "Style":
        """Labels of 15 px up to a 1400-px panel, growing to 19 px on wide ones."""
        if not width:
            return cls()
        font = min(19.0, max(15.0, width / 92.0))
        k = font / 15.0
        return cls(font=font, line=19.0 * k, pad_x=10.0 * k, pad_y=7.0 * k, gap_x=18.0 * k)

    @classmethod
    def compact(cls) -> "Style":
        """14-px labels and the least room the links need: two diagrams side by side."""
        return cls(font=14.0, line=17.0, pad_x=8.0, pad_y=5.0, gap_x=14.0, gap_y=26.0, row_gap=22.0, margin=10.0)


# Glyph widths in font sizes (em), rounded up from common sans-serif fonts.
_EM = {**dict.fromkeys("ijl'|!.,:;", 0.32), **dict.fromkeys("frtI()[]-", 0.45), **dict.fromkeys("mwMW@", 1.0),
       " ": 0.34}


def text_width(text: str, font: float) -> float:
    """A conservative width of ``text`` at ``font`` px in a sans-serif font."""
    em = 0.0
    for ch in text:
        em += _glyph_em(ch)
    return em * font


def _glyph_em(ch: str) -> float:
    """The width of one character in font sizes: from :data:`_EM`, else by its kind."""
    return _EM.get(ch) or (0.78 if ch.isupper() else 0.66 if ch.isdigit() else 0.64)


def wrap(label: str, font: float, max_em: float = 10.0) -> list[str]:
    """``label`` in at most two lines of about ``max_em`` font sizes each (words are
    not split; what does not fit in two lines widens the second)."""
    lines = _fill_lines(label.replace("_", "_ ").split(), font, max_em)
    return _two_lines(lines) or [label]


def _fill_lines(words: list[str], font: float, max_em: float) -> list[str]:
    """``words`` in lines of at most ``max_em`` font sizes (a word wider stands alone)."""
    lines: list[str] = []
    for w in words:
        glue = _glue(lines)
        if lines and text_width(lines[-1] + glue + w, font) <= max_em * font:
            lines[-1] += glue + w
        else:
            lines.append(w)
    return lines


def _glue(lines: list[str]) -> str:
    """What joins the next word to the last line: nothing after an underscore."""
    return "" if lines and lines[-1].endswith("_") else " "


def _two_lines(lines: list[str]) -> list[str]:
    """``lines`` with all past the first joined into a second."""
    if len(lines) > 2:
        return [lines[0], " ".join(lines[1:]).replace("_ ", "_")]
    return lines


@dataclass
class Box:
    """A box's label lines and size."""

    lines: list[str]
    w: float
    h: float


def box(label: str, st: Style, extra_lines: tuple[str, ...] = ()) -> Box:
    """The box that holds ``label`` (and any ``extra_lines``)."""
    lines = wrap(label, st.font, st.line_em) + list(extra_lines)
    w = max(text_width(ln, st.font) for ln in lines) + 2 * st.pad_x
    return Box(lines, w, len(lines) * st.line + 2 * st.pad_y)


@dataclass
class Layout:
    """Positions (centre x, y) per box, each box's layer and size, the drawing's size."""

    pos: dict[str, tuple[float, float]]
    layer: dict[str, int]
    width: float
    height: float
    boxes: dict[str, Box] = field(default_factory=dict)
    style: Style = field(default_factory=Style)


MAX_TRIED = 8
"""Two-way links whose direction is tried both ways when layering (2**8 layerings at most)."""


def layers(names: list[str], edges: list[tuple[str, str]], roots: list[str]) -> dict[str, int]:
    """Each name's layer: the longest path to it from a root over ``edges``, back edges
    of cycles (found by a depth-first search from the roots) left out. Of a pair of
    nodes linked both ways, the link that points up is the one that makes the fewest
    layers (the first :data:`MAX_TRIED` pairs are tried both ways; a choice that leaves
    a node with no link into it is not taken), so the diagram is as short as the links
    allow."""
    tried = []
    for i, drop in enumerate(_choices(edges)):
        kept = _kept(edges, drop)
        if i == 0 or _all_fed(drop, kept):  # a node fed only by a dropped link would float to the top
            layer = _longest(names, kept, roots)
            tried.append((max(layer.values(), default=0), i, layer))
    return min(tried)[2]


def _kept(edges: list[tuple[str, str]], drop: set) -> list[tuple[str, str]]:
    """``edges`` but those in ``drop``."""
    return [e for e in edges if e not in drop]


def _all_fed(drop: set, kept: list[tuple[str, str]]) -> bool:
    """Whether every node a dropped link led to still has a link into it."""
    return {b for _, b in drop} <= {b for _, b in kept}


def _choices(edges: list[tuple[str, str]]):
    """For the first :data:`MAX_TRIED` two-way pairs, every way of dropping one link of
    each (the set of links dropped)."""
    pairs = _two_way_pairs(edges)[:MAX_TRIED]
    for choice in itertools.product((0, 1), repeat=len(pairs)):
        yield {p if c == 0 else (p[1], p[0]) for p, c in zip(pairs, choice)}


def _two_way_pairs(edges: list[tuple[str, str]]) -> list[tuple]:
    """The pairs of nodes linked both ways, each once (sorted), in order."""
    both = set(edges)
    return sorted({tuple(sorted(e)) for e in edges if (e[1], e[0]) in both and e[0] != e[1]})


def _successors(names: list[str], edges: list[tuple[str, str]]) -> dict[str, list[str]]:
    succ: dict[str, list[str]] = {n: [] for n in names}
    for a, b in edges:
        succ[a].append(b)
    return succ


def _longest(names: list[str], edges: list[tuple[str, str]], roots: list[str]) -> dict[str, int]:
    """Each name's layer: the longest path to it over the edges that are not back edges."""
    dag, order = _acyclic(names, _successors(names, edges), roots)
    layer = dict.fromkeys(names, 0)
    for n in reversed(order):  # a topological order of the acyclic part
        for m in dag[n]:
            layer[m] = max(layer[m], layer[n] + 1)
    return layer


def _acyclic(names: list[str], succ: dict[str, list[str]], roots: list[str]) -> tuple[dict, list]:
    """The edges that are not back edges, and the post-order of an iterative DFS."""
    state: dict[str, int] = {}
    dag: dict[str, list[str]] = {n: [] for n in names}
    order: list[str] = []
    for start in roots + names:
        if start not in state:
            _search(start, succ, state, dag, order)
    return dag, order


def _search(start: str, succ: dict[str, list[str]], state: dict[str, int], dag: dict[str, list[str]],
            order: list[str]) -> None:
    """One depth-first search from ``start`` (``state``: 1 on the stack, 2 done): keeps
    every edge but those back to a node on the stack, appends nodes in post-order."""
    stack = [(start, iter(succ[start]))]
    state[start] = 1
    while stack:
        node, it = stack[-1]
        nxt = next(it, None)
        if nxt is None:
            state[node] = 2
            order.append(node)
            stack.pop()
        elif nxt not in state:
            dag[node].append(nxt)
            state[nxt] = 1
            stack.append((nxt, iter(succ[nxt])))
        elif state[nxt] == 2:
            dag[node].append(nxt)


def order_rows(names: list[str], layer: dict[str, int], edges: list[tuple[str, str]], sweeps: int = 4
               ) -> dict[int, list[str]]:
    """The names of each layer, ordered to keep links short (barycentre sweeps down,
    then up); the first layer keeps the order given (the field, sector by sector)."""
    rows = _rows_by_layer(names, layer)
    preds, succs = _neighbours(names, edges)
    index = _positions(rows)
    depth = max(rows, default=0)
    for sweep in range(sweeps):
        down = sweep % 2 == 0
        for k in _sweep_layers(depth, down):
            _sort_row(rows.get(k, []), preds if down else succs, index)
    return dict(sorted(rows.items()))


def _rows_by_layer(names: list[str], layer: dict[str, int]) -> dict[int, list[str]]:
    """The names of each layer, in the order given."""
    rows: dict[int, list[str]] = {}
    for n in names:
        rows.setdefault(layer[n], []).append(n)
    return rows


def _positions(rows: dict[int, list[str]]) -> dict[str, float]:
    """Each name's place in its row."""
    return {n: float(i) for row in rows.values() for i, n in enumerate(row)}


def _sweep_layers(depth: int, down: bool) -> range:
    """The layers one sweep sorts: down from the second, or up from the last but one."""
    return range(1, depth + 1) if down else range(depth - 1, 0, -1)


def _neighbours(names: list[str], edges: list[tuple[str, str]]) -> tuple[dict, dict]:
    preds: dict[str, list[str]] = {n: [] for n in names}
    succs: dict[str, list[str]] = {n: [] for n in names}
    for a, b in edges:
        preds[b].append(a)
        succs[a].append(b)
    return preds, succs


def _sort_row(row: list[str], nbrs: dict[str, list[str]], index: dict[str, float]) -> None:
    def key(n: str) -> float:
        near = [index[m] for m in nbrs[n] if m in index]
        return sum(near) / len(near) if near else index[n]

    row.sort(key=key)
    for i, n in enumerate(row):
        index[n] = float(i)


def _split(row: list[str], boxes: dict[str, Box], room: float, gap: float) -> list[list[str]]:
    """``row`` cut into rows no wider than ``room`` (a box wider than it stands alone)."""
    out: list[list[str]] = [[]]
    used = 0.0
    for n in row:
        w = boxes[n].w
        if out[-1] and used + gap + w > room:
            out.append([])
            used = 0.0
        used += (gap if out[-1] else 0.0) + w
        out[-1].append(n)
    return out


def _spread(row: list[str], boxes: dict[str, Box], x0: float, room: float, gap: float) -> dict[str, float]:
    """Centre x of each box of ``row``, the free room shared out around the boxes."""
    total = sum(boxes[n].w for n in row) + gap * (len(row) - 1)
    extra = max(0.0, room - total) / (len(row) + 1)
    x = x0 + extra
    out = {}
    for n in row:
        out[n] = x + boxes[n].w / 2
        x += boxes[n].w + gap + extra
    return out


def arrange(names: list[str], edges: list[tuple[str, str]], roots: list[str],
            labels: dict[str, tuple[str, tuple[str, ...]]], st: Style, width: Optional[float] = None,
            height: Optional[float] = None, top: float = 0.0) -> Layout:
    """The layout of a graph whose boxes hold ``labels`` (a label and any extra lines
    per name): ``width`` and ``height`` (px) of the panel to fill, if known; ``top``:
    room kept free above the first layer. Labels wrap at a width that lets the widest
    layer fit in one row of ``width`` where it can."""
    layer = layers(names, edges, roots)
    rows = order_rows(names, layer, edges)
    st = _fit_lines(st, rows, width)
    boxes = {n: box(label, st, extra) for n, (label, extra) in labels.items()}
    room = _room(rows, boxes, st, width)
    cut = {k: _split(r, boxes, room, st.gap_x) for k, r in rows.items()}
    top += st.font + 4  # room for the gate badges above the first row
    gap_y = _layer_gap(cut, boxes, st, height, top)
    pos, bottom = _place(cut, boxes, st, room, st.margin + top, gap_y)
    return Layout(pos, layer, room + 2 * st.margin, max(bottom + st.margin, height or 0.0), boxes, st)


def _room(rows: dict[int, list[str]], boxes: dict[str, Box], st: Style, width: Optional[float]) -> float:
    """The width rows may take: the panel's inside (or the widest box, if wider), or
    without a panel the widest layer in one row."""
    if width:
        return max(width - 2 * st.margin, max(b.w for b in boxes.values()))
    return max((_row_width(r, boxes, st) for r in rows.values()), default=0.0)


def _row_width(row: list[str], boxes: dict[str, Box], st: Style) -> float:
    """The width of ``row``'s boxes side by side."""
    return sum(boxes[n].w for n in row) + st.gap_x * (len(row) - 1)


def _fit_lines(st: Style, rows: dict[int, list[str]], width: Optional[float]) -> Style:
    """The style with label lines as wide as the widest layer allows in ``width``."""
    if not width:
        return st
    most = max((len(r) for r in rows.values()), default=1)
    per = (width - 2 * st.margin - st.gap_x * (most - 1)) / most - 2 * st.pad_x
    return replace(st, line_em=min(16.0, max(st.line_em, per / st.font)))


def _place(cut: dict[int, list[list[str]]], boxes: dict[str, Box], st: Style, room: float, y: float,
           gap_y: float) -> tuple[dict[str, tuple[float, float]], float]:
    """Centres of the boxes, row by row from ``y``; and the bottom of the last row."""
    pos: dict[str, tuple[float, float]] = {}
    bottom = y
    for parts in cut.values():
        for i, part in enumerate(parts):
            h = max(boxes[n].h for n in part)
            for n, x in _spread(part, boxes, st.margin, room, st.gap_x).items():
                pos[n] = (x, y + h / 2)
            bottom = y + h
            y = bottom + (st.row_gap if i < len(parts) - 1 else gap_y)
    return pos, bottom


def _layer_gap(cut: dict[int, list[list[str]]], boxes: dict[str, Box], st: Style, height: Optional[float],
               top: float) -> float:
    """The gap between layers: the least the links need, grown to fill ``height``."""
    if not height or len(cut) < 2:
        return st.gap_y
    free = height - 2 * st.margin - top - _rows_height(cut, boxes, st)
    return min(st.max_gap_y, max(st.gap_y, free / (len(cut) - 1)))


def _rows_height(cut: dict[int, list[list[str]]], boxes: dict[str, Box], st: Style) -> float:
    """The height of every row of boxes and the gaps between rows of one layer."""
    rows_h = sum(max(boxes[n].h for n in part) for parts in cut.values() for part in parts)
    return rows_h + st.row_gap * sum(len(parts) - 1 for parts in cut.values())
