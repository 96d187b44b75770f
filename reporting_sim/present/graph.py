"""The reporting network as a picture: layout, SVG, DOT and Mermaid, and what a variant
changes against its base.

Everything here reads a validated :class:`~reporting_sim.scenario.Scenario`, and what a
run makes of its network from the network plan (:mod:`.model.plan`, worked out without
running anything: the SVG only), and is shared by ``reporting-sim scenario graph``
(files for slides) and the browser lab (:mod:`reporting_sim.lab`, which redraws the
SVG for every replay frame):

* :func:`layout`: nodes in layers from the field (collectors, top) down to the consumers
  they feed (longest path over the links, back edges of cycles left out), each layer
  ordered to keep links short;
* :func:`diff`: nodes and links a changed scenario adds, removes or changes;
* :func:`svg`: the diagram: nodes by type, links by channel (report, written, imagery),
  meetings and gates marked, a variant's changes highlighted, and optional replay
  states per node (``reached``, ``holding``, ``knows``, ``acts``). From the plan
  (:func:`run_links`): links no report passes along in a run are drawn dotted grey (an
  informal bridge its sender does not build; a fixed gate of the sender's coping, every
  report on it ``not_shared`` or ``withheld``), a meeting is marked where a run waits
  for it (not on a pull link pushed at once when ``[mechanisms] pull = false``), and a
  node's tooltip says how many consumers its reports can reach;
* :func:`dot` and :func:`mermaid`: the same graph as text for Graphviz or Mermaid.

Display names come from the scenario (a node's optional ``label``), never from code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from html import escape
from typing import Optional

NODE_TYPES = ("collector", "cell", "commander")
TYPE_FILL = {"collector": "#e5f5e0", "cell": "#deebf7", "commander": "#fee6ce"}
TYPE_STROKE = {"collector": "#31a354", "cell": "#3182bd", "commander": "#e6550d"}
CHANNEL_STYLE = {"report": ("#555555", ""), "written": ("#3182bd", "6,3"), "imagery": ("#756bb1", "2,3")}
STATE_FILL = {"reached": "#fff7bc", "holding": "#fec44f", "knows": "#a1d99b", "acts": "#31a354"}
CHANGE_COLOUR = "#d6006f"
IDLE_COLOUR = "#aaaaaa"
BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 128, 38, 18, 70, 20


def display(sc, name: str) -> str:
    """A node's display label: its ``label`` in the scenario, else its name."""
    node = sc.nodes.get(name)
    return (getattr(node, "label", None) or name) if node is not None else name


def channel(sc, link) -> str:
    """``imagery`` (from a node that sends imagery), ``written`` or ``report``."""
    src = sc.nodes.get(link.src)
    if getattr(src, "imagery", False) and link.channel != "written":
        return "imagery"
    return link.channel


def gates(node) -> list[str]:
    """Short marks for the gates a node applies: classification (C), INTREP
    sanitisation (S), holding back from rivals (H), accreditation (A)."""
    out = []
    if getattr(node, "classify", None) is not None:
        out.append("C")
    if getattr(node, "intrep_h", None) is not None:
        out.append("S")
    if getattr(node, "hoard", None) is not None:
        out.append("H")
    if getattr(node, "accreditation", None) is not None:
        out.append("A")
    return out


GATE_NAMES = {"C": "classification", "S": "INTREP sanitisation", "H": "held back from rivals",
              "A": "accreditation"}


def _link_key(link) -> tuple:
    return (link.src, link.to, link.channel, link.meeting or "")


def run_links(sc) -> tuple[object, list]:
    """The network plan of ``sc`` and what it makes of each of ``sc.active_links``
    (same order): the link's :class:`~reporting_sim.model.plan.LinkPlan`, or ``None``
    for a link that does not exist in a run (an informal bridge its sender does not
    build)."""
    from ..model.plan import build_plan, stream_keys

    plan = build_plan(sc)
    made = {lp.key: lp for lp in plan.links}
    return plan, [made.get(key) for key in stream_keys(sc.active_links)]


def idle_note(lp) -> str:
    """Why no report passes along a link in a run (``""`` when reports can): ``lp`` is
    its plan (``None``: the link does not exist in a run)."""
    from ..model.records import REPORT_STATES

    if lp is None:
        return "not in a run: an informal bridge its sender does not build"
    if lp.blocked is not None:
        state = REPORT_STATES[lp.blocked]
        return f"no report passes: the sender's coping ends each one here ({state})"
    return ""


def reach_count(node_plan) -> int:
    """How many consumers a node's reports can reach, of any kind (itself included)."""
    mask = 0
    for m in node_plan.reach:
        mask |= m
    return bin(mask).count("1")


# ------------------------------------------------------------------------ layout

@dataclass
class Layout:
    """Positions (centre x, y) per node, and the layer of each node."""

    pos: dict[str, tuple[float, float]]
    layer: dict[str, int]
    width: float
    height: float


def _edges(sc) -> list[tuple[str, str]]:
    seen, out = set(), []
    for link in sc.active_links:
        if (link.src, link.to) not in seen and link.src != link.to:
            seen.add((link.src, link.to))
            out.append((link.src, link.to))
    return out


def _layers(names: list[str], edges: list[tuple[str, str]], roots: list[str]) -> dict[str, int]:
    succ: dict[str, list[str]] = {n: [] for n in names}
    for a, b in edges:
        succ[a].append(b)
    state: dict[str, int] = {}
    dag: dict[str, list[str]] = {n: [] for n in names}
    order: list[str] = []

    def visit(start: str) -> None:  # iterative DFS: drop back edges, record post-order
        stack = [(start, iter(succ[start]))]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                order.append(node)
                stack.pop()
            elif state.get(nxt) is None:
                dag[node].append(nxt)
                state[nxt] = 1
                stack.append((nxt, iter(succ[nxt])))
            elif state[nxt] == 2:
                dag[node].append(nxt)

    for n in roots + names:
        if n not in state:
            visit(n)
    layer = dict.fromkeys(names, 0)
    for n in reversed(order):  # topological order of the DAG
        for m in dag[n]:
            layer[m] = max(layer[m], layer[n] + 1)
    return layer


def layout(sc, extra_nodes: Optional[list[str]] = None, extra_edges: Optional[list[tuple[str, str]]] = None
           ) -> Layout:
    """Layers top-down from the collectors; each layer ordered by the mean position of
    its predecessors (a few sweeps), then spread evenly."""
    names = list(sc.nodes) + [n for n in (extra_nodes or []) if n not in sc.nodes]
    edges = _edges(sc) + [e for e in (extra_edges or []) if e[0] in names and e[1] in names]
    roots = [n for n in names if n in sc.collectors]
    layer = _layers(names, edges, roots)
    rows: dict[int, list[str]] = {}
    for n in names:
        rows.setdefault(layer[n], []).append(n)
    preds: dict[str, list[str]] = {n: [] for n in names}
    succs: dict[str, list[str]] = {n: [] for n in names}
    for a, b in edges:
        preds[b].append(a)
        succs[a].append(b)
    index = {n: float(i) for row in rows.values() for i, n in enumerate(row)}
    depth = max(rows) if rows else 0
    for sweep in range(4):
        rng = range(1, depth + 1) if sweep % 2 == 0 else range(depth - 1, -1, -1)
        for k in rng:
            row = rows.get(k, [])
            nbrs = preds if sweep % 2 == 0 else succs

            def key(n, nbrs=nbrs):
                near = [index[m] for m in nbrs[n] if m in index]
                return sum(near) / len(near) if near else index[n]
            row.sort(key=key)
            for i, n in enumerate(row):
                index[n] = float(i)
    widest = max((len(r) for r in rows.values()), default=1)
    width = 2 * MARGIN + widest * BOX_W + (widest - 1) * GAP_X
    pos = {}
    for k, row in rows.items():
        span = len(row) * BOX_W + (len(row) - 1) * GAP_X
        x0 = (width - span) / 2
        for i, n in enumerate(row):
            pos[n] = (x0 + i * (BOX_W + GAP_X) + BOX_W / 2, MARGIN + 24 + k * (BOX_H + GAP_Y) + BOX_H / 2)
    height = MARGIN * 2 + 24 + (depth + 1) * (BOX_H + GAP_Y) + 40
    return Layout(pos, layer, width, height)


# ------------------------------------------------------------------------ changes

@dataclass
class Changes:
    """What a changed scenario does to its base (names and link keys)."""

    added_nodes: set = field(default_factory=set)
    removed_nodes: set = field(default_factory=set)
    changed_nodes: set = field(default_factory=set)
    added_links: set = field(default_factory=set)
    removed_links: set = field(default_factory=set)
    changed_links: set = field(default_factory=set)
    other: list = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added_nodes or self.removed_nodes or self.changed_nodes or self.added_links
                    or self.removed_links or self.changed_links or self.other)

    def lines(self, base, changed) -> list[str]:
        """One line per change, for ``scenario diff`` and the lab."""
        out = [f"+ node {n} ({changed.node_type(n)})" for n in sorted(self.added_nodes)]
        out += [f"- node {n}" for n in sorted(self.removed_nodes)]
        for n in sorted(self.changed_nodes):
            for path, a, b in _dict_diff(_node_data(base, n), _node_data(changed, n)):
                out.append(f"~ {base.node_type(n)}s.{n}.{path}: {_short(a)} -> {_short(b)}")
        out += [f"+ link {k[0]} -> {k[1]}" + (f" ({k[2]})" if k[2] != "report" else "")
                + (f" at {k[3]}" if k[3] else "") for k in sorted(self.added_links)]
        out += [f"- link {k[0]} -> {k[1]}" + (f" at {k[3]}" if k[3] else "") for k in sorted(self.removed_links)]
        for k in sorted(self.changed_links):
            a = _link_data(base, k)
            b = _link_data(changed, k)
            for path, x, y in _dict_diff(a, b):
                out.append(f"~ link {k[0]} -> {k[1]}: {path}: {_short(x)} -> {_short(y)}")
        return out + self.other


def _node_data(sc, name: str) -> dict:
    return sc.nodes[name].model_dump(mode="json", by_alias=True, exclude_none=True)


def _link_data(sc, key: tuple) -> dict:
    for link in sc.active_links:
        if _link_key(link) == key:
            return link.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {}


def _short(v) -> str:
    text = repr(v) if not isinstance(v, dict) else str(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _dict_diff(a, b, prefix: str = "") -> list[tuple[str, object, object]]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in list(a) + [k for k in b if k not in a]:
            out += _dict_diff(a.get(k), b.get(k), f"{prefix}.{k}" if prefix else str(k))
        return out
    return [] if a == b else [(prefix or "(value)", a, b)]


def diff(base, changed) -> Changes:
    """Nodes and active links added, removed or changed, and the other top-level
    settings (kinds, meetings, switches, mechanisms...) that differ."""
    ch = Changes()
    bn, cn = set(base.nodes), set(changed.nodes)
    ch.added_nodes = cn - bn
    ch.removed_nodes = bn - cn
    ch.changed_nodes = {n for n in bn & cn if base.node_type(n) == changed.node_type(n)
                        and _node_data(base, n) != _node_data(changed, n)}
    bl = {_link_key(k): k for k in base.active_links}
    cl = {_link_key(k): k for k in changed.active_links}
    ch.added_links = set(cl) - set(bl)
    ch.removed_links = set(bl) - set(cl)
    ch.changed_links = {k for k in set(bl) & set(cl) if bl[k] != cl[k]}
    for section in ("scenario", "kinds", "sources", "meetings", "switches", "pools", "boards", "mechanisms",
                    "metrics"):
        a = getattr(base, section)
        b = getattr(changed, section)
        a = a.model_dump(mode="json") if hasattr(a, "model_dump") else {k: v.model_dump(mode="json")
                                                                        for k, v in a.items()}
        b = b.model_dump(mode="json") if hasattr(b, "model_dump") else {k: v.model_dump(mode="json")
                                                                        for k, v in b.items()}
        for path, x, y in _dict_diff(a, b, section):
            if path in ("scenario.name", "scenario.description"):
                continue
            ch.other.append(f"~ {path}: {_short(x)} -> {_short(y)}")
    return ch


# ------------------------------------------------------------------------ SVG

def _wrap(text: str, width: int = 18) -> list[str]:
    if len(text) <= width:
        return [text]
    parts = text.replace("_", "_\u200b").replace(" ", " \u200b").split("\u200b")
    lines, cur = [], ""
    for p in parts:
        if cur and len(cur) + len(p) > width:
            lines.append(cur)
            cur = p
        else:
            cur += p
    lines.append(cur)
    if len(lines) > 2:
        lines = [lines[0], "".join(lines[1:])]
    return [ln if len(ln) <= width + 2 else ln[: width] + "…" for ln in lines]


def svg(sc, base=None, states: Optional[dict[str, str]] = None, active_links: Optional[set] = None,
        title: str = "") -> str:
    """The network diagram as an SVG document (a string).

    ``base``: draw ``sc`` as a variant of ``base``, its changes highlighted (removed
    nodes and links drawn faded); ``states``: replay state per node (see
    :data:`STATE_FILL`); ``active_links``: ``(from, to)`` pairs a report is on right now.
    """
    ch = diff(base, sc) if base is not None else Changes()
    removed_links = list(ch.removed_links)
    lay = layout(sc, sorted(ch.removed_nodes), [(k[0], k[1]) for k in removed_links])
    plan, run = run_links(sc)
    d = _Drawing(sc, base, ch, lay, plan, states or {}, active_links or set())
    out = _svg_head(sc, lay, title)
    for lk, lp in zip(sc.active_links, run):
        out += _svg_link(d, lk, False, lp)
    for k in removed_links:
        out += _svg_link(d, k, True, None)
    for name, (x, y) in lay.pos.items():
        out += _svg_node(d, name, x, y)
    out.append(_legend(lay))
    out.append("</svg>")
    return "\n".join(out)


@dataclass
class _Drawing:
    """What every part of one :func:`svg` drawing reads."""

    sc: object
    base: object
    ch: Changes
    lay: Layout
    plan: object
    states: dict
    active_links: set


def _svg_head(sc, lay: Layout, title: str) -> list[str]:
    """The document's opening tag, title, arrow markers and caption."""
    markers = (("report", CHANNEL_STYLE["report"][0]), ("written", CHANNEL_STYLE["written"][0]),
               ("imagery", CHANNEL_STYLE["imagery"][0]), ("change", CHANGE_COLOUR), ("active", "#e31a1c"),
               ("idle", IDLE_COLOUR))
    return [f'<svg xmlns="http://www.w3.org/2000/svg" class="network" viewBox="0 0 {lay.width:.0f} {lay.height:.0f}" '
            f'width="{lay.width:.0f}" height="{lay.height:.0f}" font-family="sans-serif" font-size="11" role="img">',
            f"<title>{escape(title or 'reporting network of ' + sc.name)}</title>",
            "<defs>" + "".join(
                f'<marker id="arrow-{n}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
                f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{c}"/></marker>'
                for n, c in markers) + "</defs>",
            f'<text x="{MARGIN}" y="{MARGIN}" font-size="12" fill="#444">field (collectors) at the top; '
            'each layer one step further from the field</text>']


def _svg_link(d: _Drawing, lk, removed: bool, lp) -> list[str]:
    """One link (``lk``: a scenario link, or the key of a link the variant removed;
    ``lp``: its plan) as a curve from box to box, with a clock mark where it waits for
    a meeting."""
    key = lk if removed else _link_key(lk)
    src, dst = key[0], key[1]
    if src not in d.lay.pos or dst not in d.lay.pos:
        return []
    (x1, y1), (x2, y2) = d.lay.pos[src], d.lay.pos[dst]
    y1s = y1 + BOX_H / 2 if y2 > y1 else y1 - BOX_H / 2
    y2s = y2 - BOX_H / 2 if y2 > y1 else y2 + BOX_H / 2
    if removed:
        kind, meeting = key[2], key[3]
    else:
        kind, meeting = channel(d.sc, lk), ((lp.meeting if lp is not None else lk.meeting) or "")
    idle = "" if removed else idle_note(lp)
    cls, colour, marker, dash, width = _link_style(d, lk, key, kind, removed, idle)
    mid = (y1s + y2s) / 2
    path = f"M{x1:.1f},{y1s:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2s:.1f}"
    tip = f"{_name(d.sc, src)} → {_name(d.sc, dst)} ({kind}{', at ' + meeting if meeting else ''}" \
          f"{', removed' if removed else ''}{'; ' + idle if idle else ''})"
    out = [f'<g class="{" ".join(cls)}" data-from="{escape(src)}" data-to="{escape(dst)}">'
           f"<title>{escape(tip)}</title>"
           f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="{width}" '
           f'{"stroke-dasharray=" + chr(34) + dash + chr(34) if dash else ""} opacity="0.85" '
           f'marker-end="url(#arrow-{marker})"/>']
    if meeting:  # a link that waits for a meeting: a clock mark at its middle
        mx, my = (x1 + x2) / 2, mid
        out.append(f'<circle class="meeting-mark" cx="{mx:.1f}" cy="{my:.1f}" r="5" fill="#fff" '
                   f'stroke="#e6550d" stroke-width="1.5"/><path d="M{mx:.1f},{my - 3:.1f} L{mx:.1f},{my:.1f} '
                   f'L{mx + 2.5:.1f},{my:.1f}" stroke="#e6550d" fill="none"/>')
    out.append("</g>")
    return out


def _name(sc, name: str) -> str:
    return display(sc, name) if name in sc.nodes else name


def _link_style(d: _Drawing, lk, key: tuple, kind: str, removed: bool, idle: str) -> tuple:
    """``(classes, colour, marker, dash, width)`` of a link: by channel, then idle in a
    run, removed, added or changed by the variant, carrying a report in a replay."""
    colour, dash = CHANNEL_STYLE.get(kind, CHANNEL_STYLE["report"])
    marker, cls, width = kind, ["link", kind], 1.1
    if idle:
        cls.append("idle")
        colour, marker, dash = IDLE_COLOUR, "idle", "1,3"
    if removed:
        cls.append("removed")
        colour, marker, dash = CHANGE_COLOUR, "change", "3,4"
    elif key in d.ch.added_links or key in d.ch.changed_links:
        cls.append("added" if key in d.ch.added_links else "changed")
        colour, marker, width = CHANGE_COLOUR, "change", 2.4
    if (key[0], key[1]) in d.active_links:
        cls.append("active")
        colour, marker, width = "#e31a1c", "active", 3.2
    if not removed and lk.informal:
        cls.append("informal")
    if not removed and lk.pull:
        cls.append("pull")
    return cls, colour, marker, dash, width


def _svg_node(d: _Drawing, name: str, x: float, y: float) -> list[str]:
    """One node as a box (shape by type) with its label, its meeting mark if it acts
    at one, and its gate marks."""
    removed = name in d.ch.removed_nodes
    owner = d.sc if not removed else d.base
    node = owner.nodes[name]
    ntype = owner.node_type(name)
    cls, fill, stroke, sw = _node_style(d, name, node, ntype, removed)
    st = d.states.get(name)
    rx = 12 if ntype == "commander" else 4 if ntype == "cell" else 0
    label = display(owner, name)
    marks = gates(node)
    out = [f'<g class="{" ".join(cls)}" data-node="{escape(name)}"'
           f'{" data-state=" + chr(34) + st + chr(34) if st else ""}>'
           f"<title>{escape(_node_tip(d, name, node, ntype, label, marks, removed))}</title>"
           f'<rect x="{x - BOX_W / 2:.1f}" y="{y - BOX_H / 2:.1f}" width="{BOX_W}" height="{BOX_H}" '
           f'rx="{rx}" fill="{fill}" stroke="{stroke}" stroke-width="{sw}"'
           f'{" stroke-dasharray=" + chr(34) + "4,3" + chr(34) if removed else ""}/>']
    lines = _wrap(label)
    for i, ln in enumerate(lines):
        ty = y + (i - (len(lines) - 1) / 2) * 12 + 4
        out.append(f'<text x="{x:.1f}" y="{ty:.1f}" text-anchor="middle">{escape(ln)}</text>')
    if node.acts_at:
        out.append(f'<circle cx="{x - BOX_W / 2 + 8:.1f}" cy="{y - BOX_H / 2 + 8:.1f}" r="5" fill="#fff" '
                   f'stroke="#e6550d" stroke-width="1.5"><title>acts at {escape(node.acts_at)}</title></circle>')
    if marks:
        out.append(f'<text class="gates" x="{x + BOX_W / 2 - 3:.1f}" y="{y - BOX_H / 2 + 10:.1f}" '
                   f'text-anchor="end" font-size="9" font-weight="bold" fill="#b30000">{"".join(marks)}</text>')
    out.append("</g>")
    return out


def _node_style(d: _Drawing, name: str, node, ntype: str, removed: bool) -> tuple:
    """``(classes, fill, stroke, stroke width)`` of a node: by type, consumer, changed
    by the variant, replay state."""
    cls = ["node", ntype]
    stroke, sw = TYPE_STROKE[ntype], 1.2
    fill = TYPE_FILL[ntype]
    if node.consumer:
        cls.append("consumer")
        sw = 2.6
    if name in d.ch.added_nodes or name in d.ch.changed_nodes or removed:
        cls.append("added" if name in d.ch.added_nodes else "removed" if removed else "changed")
        stroke, sw = CHANGE_COLOUR, 3.0
    st = d.states.get(name)
    if st:
        cls.append(f"state-{st}")
        fill = STATE_FILL[st]
    return cls, fill, stroke, sw


def _node_tip(d: _Drawing, name: str, node, ntype: str, label: str, marks: list, removed: bool) -> str:
    """A node's tooltip: type, consumer, meeting, gates, and how far its reports reach."""
    tip = f"{label} ({ntype}{', consumer' if node.consumer else ''}"
    tip += f"{', acts at ' + node.acts_at if node.acts_at else ''}"
    tip += "".join(f", {GATE_NAMES[m]}" for m in marks) + (", removed by the variant" if removed else "")
    if not removed:
        tip += f"; its reports can reach {reach_count(d.plan.node(name))} of {len(d.sc.consumers)} consumers"
    return tip + ")"


def _legend(lay: Layout) -> str:
    y = lay.height - 22
    items = []
    x = MARGIN
    for t in NODE_TYPES:
        items.append(f'<rect x="{x}" y="{y - 10}" width="14" height="12" fill="{TYPE_FILL[t]}" '
                     f'stroke="{TYPE_STROKE[t]}"/><text x="{x + 18}" y="{y}">{t}</text>')
        x += 90
    items.append(f'<rect x="{x}" y="{y - 10}" width="14" height="12" fill="#fff" stroke="#333" stroke-width="2.6"/>'
                 f'<text x="{x + 18}" y="{y}">consumer (measured)</text>')
    x += 150
    for kind, (c, dash) in CHANNEL_STYLE.items():
        items.append(f'<line x1="{x}" y1="{y - 4}" x2="{x + 24}" y2="{y - 4}" stroke="{c}" stroke-width="1.5"'
                     f'{" stroke-dasharray=" + chr(34) + dash + chr(34) if dash else ""}/>'
                     f'<text x="{x + 28}" y="{y}">{kind}</text>')
        x += 95
    items.append(f'<circle cx="{x + 5}" cy="{y - 4}" r="5" fill="#fff" stroke="#e6550d" stroke-width="1.5"/>'
                 f'<text x="{x + 14}" y="{y}">waits for a meeting</text>')
    x += 140
    items.append(f'<text x="{x}" y="{y}" fill="#b30000" font-weight="bold">C S H A</text>'
                 f'<text x="{x + 52}" y="{y}">gates: classification, sanitisation, held back, accreditation</text>')
    y2 = y + 16
    items.append(f'<line x1="{MARGIN}" y1="{y2 - 4}" x2="{MARGIN + 24}" y2="{y2 - 4}" stroke="{CHANGE_COLOUR}" '
                 f'stroke-width="2.4"/><text x="{MARGIN + 28}" y="{y2}">changed by the variant</text>')
    x2 = MARGIN + 200
    items.append(f'<line x1="{x2}" y1="{y2 - 4}" x2="{x2 + 24}" y2="{y2 - 4}" stroke="{IDLE_COLOUR}" '
                 f'stroke-width="1.5" stroke-dasharray="1,3"/><text x="{x2 + 28}" y="{y2}">no report passes in a run '
                 "(a bridge not built, or the sender's coping)</text>")
    return f'<g class="legend">{"".join(items)}</g>'


# ------------------------------------------------------------------------ text formats

def _q(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(sc) -> str:
    """The network in Graphviz DOT (``dot -Tsvg`` draws it)."""
    shape = {"collector": "box", "cell": "box", "commander": "ellipse"}
    out = [f"digraph {_q(sc.name)} {{", "  rankdir=TB;", '  node [fontname="sans-serif", fontsize=10];']
    for name, node in sc.nodes.items():
        t = sc.node_type(name)
        attrs = [f"label={_q(display(sc, name))}", f"shape={shape[t]}", "style=filled",
                 f"fillcolor={_q(TYPE_FILL[t])}", f"color={_q(TYPE_STROKE[t])}"]
        if node.consumer:
            attrs.append("penwidth=2.5")
        out.append(f"  {_q(name)} [{', '.join(attrs)}];")
    for lk in sc.active_links:
        kind = channel(sc, lk)
        colour, dash = CHANNEL_STYLE[kind]
        attrs = [f"color={_q(colour)}"]
        if dash:
            attrs.append("style=dashed" if kind == "written" else "style=dotted")
        if lk.meeting:
            attrs.append(f"label={_q('at ' + lk.meeting)}")
        out.append(f"  {_q(lk.src)} -> {_q(lk.to)} [{', '.join(attrs)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _mid(name: str) -> str:
    return "n_" + name.replace("-", "_")


_MERMAID_ENTITIES = {'"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "#": "#35;", "`": "#96;", "%": "#37;"}


def mermaid_text(text: str) -> str:
    """``text`` safe inside a quoted Mermaid label: one line (newlines and other
    control characters become spaces, so a label cannot start a line of its own: no
    ``click``, no ``%%{init}%%``) and the characters Mermaid or HTML would read
    written as Mermaid's entity codes."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in str(text)).split())
    return "".join(_MERMAID_ENTITIES.get(c, c) for c in flat)


def mermaid(sc) -> str:
    """The network as a Mermaid flowchart (top-down); every label escaped (:func:`mermaid_text`)."""
    out = ["flowchart TD"]
    for name in sc.nodes:
        t = sc.node_type(name)
        label = mermaid_text(display(sc, name))
        out.append(f'  {_mid(name)}["{label}"]:::{t}' if t != "commander" else f'  {_mid(name)}(["{label}"]):::{t}')
    for lk in sc.active_links:
        kind = channel(sc, lk)
        arrow = "-->" if kind == "report" else "-.->"
        text = f"|at {mermaid_text(lk.meeting)}|" if lk.meeting else ""
        out.append(f"  {_mid(lk.src)} {arrow}{text} {_mid(lk.to)}")
    for t in NODE_TYPES:
        out.append(f"  classDef {t} fill:{TYPE_FILL[t]},stroke:{TYPE_STROKE[t]}")
    return "\n".join(out) + "\n"


def drawing_paths(sc, folder: Path) -> list[Path]:
    """The files :func:`write_drawings` writes for ``sc`` into ``folder``."""
    return [Path(folder) / f"{sc.name}.{ext}" for ext in ("svg", "dot", "mmd")]


def write_drawings(sc, base, folder: Path) -> list[Path]:
    """Write ``sc``'s network to ``folder`` as NAME.svg (what it changes against
    ``base`` highlighted, when given), NAME.dot and NAME.mmd; returns the paths."""
    from ..study.execution import write_atomic

    files = {f"{sc.name}.svg": svg(sc, base=base), f"{sc.name}.dot": dot(sc), f"{sc.name}.mmd": mermaid(sc)}
    for name, text in files.items():
        write_atomic(Path(folder) / name, text)
    return [Path(folder) / name for name in files]
