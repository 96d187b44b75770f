"""The reporting network as a picture: layout, SVG, DOT and Mermaid, and what a variant
changes against its base.

Everything here reads a validated :class:`~reporting_sim.scenario.Scenario`, and what a
run makes of its network from the network plan (:mod:`.model.plan`, worked out without
running anything: the SVG only), and is shared by ``reporting-sim scenario graph``
(files for slides) and the browser lab (:mod:`reporting_sim.lab`, which draws it for
the size of each panel and animates the mission over it):

* :func:`unit_groups` and :func:`view`: the collectors grouped by sector (with the
  chiefs and staff only they feed), each group drawn as one box until opened;
* :func:`layout`: nodes in layers from the field (collectors, top) down to the consumers
  they feed, boxes sized to their labels and rows fitted to the panel (the algorithm is
  :mod:`.layout`'s, which knows no scenario);
* :func:`diff`: nodes and links a changed scenario adds, removes or changes;
* :func:`svg`: the diagram: nodes by type, links by channel (report, written, imagery),
  meetings and gates marked, a variant's changes highlighted, and optional replay
  states per node (``reached``, ``holding``, ``knows``, ``acts``); each box and link
  carries its place (``data-x``, ``data-curve``...) for the lab's animation. From the plan
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

from .layout import Layout, Style, arrange, text_width

NODE_TYPES = ("collector", "cell", "commander")
# A palette that stays apart for colour-blind eyes and on a washed-out projector:
# Okabe & Ito's colours (and Paul Tol's purple) as strokes, pale fills, dark text.
TYPE_FILL = {"collector": "#e3f2ea", "cell": "#e1eef9", "commander": "#fdebd7"}
TYPE_STROKE = {"collector": "#117733", "cell": "#0072b2", "commander": "#b35900"}
CHANNEL_STYLE = {"report": ("#333333", ""), "written": ("#0072b2", "7,4"), "imagery": ("#6a3d9a", "2,4")}
STATE_FILL = {"reached": "#fff2a8", "holding": "#f0b429", "knows": "#a6dba0", "acts": "#5aae61"}
CHANGE_COLOUR = "#aa3377"
ACTIVE_COLOUR = "#d55e00"
MEETING_COLOUR = "#b35900"
GATE_COLOUR = "#8c1a1a"
IDLE_COLOUR = "#999999"


def display(sc, name: str) -> str:
    """A node's display label: its ``label`` in the scenario, else its name."""
    node = sc.nodes.get(name)
    return (getattr(node, "label", None) or name.replace("_", " ")) if node is not None else name


def channel(sc, link) -> str:
    """``imagery`` (from a node that sends imagery), ``written`` or ``report``."""
    src = sc.nodes.get(link.src)
    if getattr(src, "imagery", False) and link.channel != "written":
        return "imagery"
    return link.channel


def gates(node) -> list[str]:
    """Short marks for the gates a node applies: classification (C), INTREP
    sanitisation (S), holding back from rivals (H), accreditation (A)."""
    return [mark for setting, mark in _GATE_SETTINGS if getattr(node, setting, None) is not None]


_GATE_SETTINGS = (("classify", "C"), ("intrep_h", "S"), ("hoard", "H"), ("accreditation", "A"))
"""The node setting that makes each gate, with its mark, in the order marks are shown."""


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

@dataclass(frozen=True)
class Group:
    """Units drawn as one box until opened: a sector's collectors (or those covering
    several sectors) with the chiefs and staff that only they feed."""

    key: str
    label: str
    members: tuple[str, ...]


def unit_groups(sc) -> list[Group]:
    """The collectors by sector (one sector each; ``mission-wide`` for those covering
    several), each group with the nodes that only its members feed and that are no
    consumer and apply no gate (a battalion's chief, its S2): the units' own chain."""
    by = _collectors_by_sector(sc)
    preds = _predecessors(sc)
    out = []
    for sector in sorted(by, key=lambda s: _sector_rank(sc, s)):
        members = _absorb(sc, list(by[sector]), preds)
        out.append(Group(f"group:{sector or 'mission'}", _group_label(sector), tuple(members)))
    return out


def _collectors_by_sector(sc) -> dict[str, list[str]]:
    """The collectors by their one sector (``""`` for those covering several)."""
    by: dict[str, list[str]] = {}
    for name, c in sc.collectors.items():
        by.setdefault(c.sectors[0] if len(c.sectors) == 1 else "", []).append(name)
    return by


def _predecessors(sc) -> dict[str, set]:
    """The nodes that feed each node by an active link."""
    preds: dict[str, set] = {}
    for a, b in _edges(sc):
        preds.setdefault(b, set()).add(a)
    return preds


def _sector_rank(sc, sector: str) -> tuple:
    """Groups in the scenario's order of sectors, the mission-wide group last."""
    return sector == "", sc.sectors.index(sector) if sector in sc.sectors else 0


def _group_label(sector: str) -> str:
    return f"Sector {sector.replace('_', ' ').title()}" if sector else "Mission-wide"


def _absorb(sc, members: list[str], preds: dict[str, set]) -> list[str]:
    """``members`` and, repeatedly, every plain node fed only by them."""
    grown = True
    while grown:
        grown = False
        for name, node in sc.nodes.items():
            if name not in members and _plain(node) and _fed_only_by(preds.get(name), members):
                members.append(name)
                grown = True
    return members


def _plain(node) -> bool:
    """A node that a group may absorb: no consumer, no gate."""
    return not (node.consumer or gates(node))


def _fed_only_by(feeders: Optional[set], members: list[str]) -> bool:
    """Whether a node has feeders and all of them are ``members``."""
    return bool(feeders) and feeders <= set(members)


@dataclass
class View:
    """What one drawing shows: its boxes (nodes, and groups left closed), the box each
    node is drawn in, and the edges between boxes."""

    names: list[str]
    owner: dict[str, str]
    groups: dict[str, Group]
    edges: list[tuple[str, str]]
    roots: list[str]


def view(sc, collapsed=(), extra_nodes=(), extra_edges=()) -> View:
    """The boxes of ``sc``'s network with the groups named in ``collapsed`` closed
    (``extra_nodes`` / ``extra_edges``: a base's nodes and links a variant removed)."""
    every = unit_groups(sc)
    nodes = _box_order(sc, every, extra_nodes)
    groups = {g.key: g for g in every if g.key in set(collapsed)}
    owner = _owners(nodes, groups)
    names = list(dict.fromkeys(owner[n] for n in nodes))
    edges = _box_edges(owner, _edges(sc) + list(extra_edges))
    return View(names, owner, groups, edges, _roots(sc, names, groups))


def _owners(nodes: list[str], groups: dict[str, Group]) -> dict[str, str]:
    """The box each node is drawn in: its own, or its closed group's."""
    owner = {n: n for n in nodes}
    for g in groups.values():
        owner.update(dict.fromkeys(g.members, g.key))
    return owner


def _roots(sc, names: list[str], groups: dict[str, Group]) -> list[str]:
    """The boxes the layers start from: closed groups and collectors."""
    return [n for n in names if n in groups or n in sc.collectors]


def _box_order(sc, groups: list[Group], extra_nodes) -> list[str]:
    """Every node, the field first sector by sector (as the groups hold it), then the
    rest in the scenario's order, then a base's nodes a variant removed."""
    return list(dict.fromkeys([n for g in groups for n in g.members] + list(sc.nodes) + list(extra_nodes)))


def _box_edges(owner: dict[str, str], edges: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The edges between boxes, once each (none within a closed group; none to a node
    not drawn)."""
    return list(dict.fromkeys(p for p in _drawn_pairs(owner, edges) if p[0] != p[1]))


def _drawn_pairs(owner: dict[str, str], edges: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The boxes each edge joins, for the edges between nodes drawn."""
    return [(owner[a], owner[b]) for a, b in edges if a in owner and b in owner]


def _edges(sc) -> list[tuple[str, str]]:
    seen, out = set(), []
    for link in sc.active_links:
        if (link.src, link.to) not in seen and link.src != link.to:
            seen.add((link.src, link.to))
            out.append((link.src, link.to))
    return out


def box_label(sc, v: View, name: str, base=None) -> tuple[str, tuple[str, ...]]:
    """A box's label and any extra line (a closed group says how many units it holds)."""
    if name in v.groups:
        return v.groups[name].label, (f"{len(v.groups[name].members)} units",)
    owner = sc if name in sc.nodes or base is None else base
    return display(owner, name), ()


def layout(sc, extra_nodes: Optional[list[str]] = None, extra_edges: Optional[list[tuple[str, str]]] = None,
           *, collapsed=(), width: Optional[float] = None, height: Optional[float] = None,
           base=None) -> Layout:
    """Layers top-down from the collectors (see :mod:`.layout`), boxes sized to their
    labels, in rows that fit ``width`` and spread to fill ``height`` (CSS px) when
    given; ``collapsed``: keys of :func:`unit_groups` drawn as one box each."""
    v = view(sc, collapsed, extra_nodes or (), extra_edges or ())
    return _arrange(sc, v, Style.for_width(width), width, height, base, 0.0)


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
        return not any((self.added_nodes, self.removed_nodes, self.changed_nodes, self.added_links,
                        self.removed_links, self.changed_links, self.other))

    def lines(self, base, changed) -> list[str]:
        """One line per change, for ``scenario diff`` and the lab."""
        return self._node_lines(base, changed) + self._link_lines(base, changed) + self.other

    def _node_lines(self, base, changed) -> list[str]:
        """Nodes added, removed, and each changed setting of a node."""
        out = [f"+ node {n} ({changed.node_type(n)})" for n in sorted(self.added_nodes)]
        out += [f"- node {n}" for n in sorted(self.removed_nodes)]
        for n in sorted(self.changed_nodes):
            for path, a, b in _dict_diff(_node_data(base, n), _node_data(changed, n)):
                out.append(f"~ {base.node_type(n)}s.{n}.{path}: {_short(a)} -> {_short(b)}")
        return out

    def _link_lines(self, base, changed) -> list[str]:
        """Links added, removed, and each changed setting of a link."""
        out = [f"+ link {k[0]} -> {k[1]}{_channel_note(k)}{_at(k)}" for k in sorted(self.added_links)]
        out += [f"- link {k[0]} -> {k[1]}{_at(k)}" for k in sorted(self.removed_links)]
        for k in sorted(self.changed_links):
            for path, x, y in _dict_diff(_link_data(base, k), _link_data(changed, k)):
                out.append(f"~ link {k[0]} -> {k[1]}: {path}: {_short(x)} -> {_short(y)}")
        return out


def _channel_note(key: tuple) -> str:
    return f" ({key[2]})" if key[2] != "report" else ""


def _at(key: tuple) -> str:
    return f" at {key[3]}" if key[3] else ""


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
    """The ``(dotted path, old, new)`` of every leaf that differs between ``a`` and ``b``."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in _union_keys(a, b):
            out += _dict_diff(a.get(k), b.get(k), _sub_path(prefix, k))
        return out
    return [] if a == b else [(prefix or "(value)", a, b)]


def _union_keys(a: dict, b: dict) -> list:
    """The keys of ``a``, then those only ``b`` has."""
    return list(a) + [k for k in b if k not in a]


def _sub_path(prefix: str, key) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def diff(base, changed) -> Changes:
    """Nodes and active links added, removed or changed, and the other top-level
    settings (kinds, meetings, switches, mechanisms...) that differ."""
    ch = Changes()
    bn, cn = set(base.nodes), set(changed.nodes)
    ch.added_nodes = cn - bn
    ch.removed_nodes = bn - cn
    ch.changed_nodes = {n for n in bn & cn if _node_changed(base, changed, n)}
    bl, cl = _links_by_key(base), _links_by_key(changed)
    ch.added_links = set(cl) - set(bl)
    ch.removed_links = set(bl) - set(cl)
    ch.changed_links = {k for k in set(bl) & set(cl) if bl[k] != cl[k]}
    ch.other = _other_changes(base, changed)
    return ch


def _links_by_key(sc) -> dict:
    """``sc``'s active links by :func:`_link_key`."""
    return {_link_key(k): k for k in sc.active_links}


def _other_changes(base, changed) -> list[str]:
    """A line per other top-level setting that differs (the scenario's name and
    description aside)."""
    out = []
    for section in ("scenario", "kinds", "sources", "meetings", "switches", "pools", "boards", "mechanisms",
                    "metrics"):
        for path, x, y in _dict_diff(_section(base, section), _section(changed, section), section):
            if path not in ("scenario.name", "scenario.description"):
                out.append(f"~ {path}: {_short(x)} -> {_short(y)}")
    return out


def _node_changed(base, changed, name: str) -> bool:
    return base.node_type(name) == changed.node_type(name) and _node_data(base, name) != _node_data(changed, name)


def _section(sc, section: str) -> dict:
    """A top-level section of a scenario as plain data (a table, or a table of tables)."""
    got = getattr(sc, section)
    if hasattr(got, "model_dump"):
        return got.model_dump(mode="json")
    return {k: v.model_dump(mode="json") for k, v in got.items()}


# ------------------------------------------------------------------------ SVG

FONT_FAMILY = "DejaVu Sans, Verdana, Arial, Helvetica, sans-serif"


def svg(sc, base=None, states: Optional[dict[str, str]] = None, active_links: Optional[set] = None,
        title: str = "", *, collapsed=(), width: Optional[float] = None, height: Optional[float] = None,
        legend: bool = True, uid: str = "", style: Optional[Style] = None) -> str:
    """The network diagram as an SVG document (a string), one unit a CSS pixel.

    ``base``: draw ``sc`` as a variant of ``base``, its changes highlighted (removed
    nodes and links drawn faded); ``states``: replay state per node (see
    :data:`STATE_FILL`); ``active_links``: ``(from, to)`` pairs a report is on right now;
    ``collapsed``: groups of :func:`unit_groups` drawn closed; ``width`` / ``height``:
    the panel to fill (px); ``legend``: draw the key below the diagram (the lab shows
    it beside); ``uid``: a prefix for the ids inside, when a page holds several;
    ``style``: the sizes (by default :meth:`Style.for_width`).
    """
    ch = diff(base, sc) if base is not None else Changes()
    removed_links = sorted(ch.removed_links)
    v = view(sc, collapsed, sorted(ch.removed_nodes), [(k[0], k[1]) for k in removed_links])
    st = style or Style.for_width(width)
    lay = _arrange(sc, v, st, width, height, base, _legend_room(st, legend))
    plan, run = run_links(sc)
    d = _Drawing(sc, base, ch, lay, plan, states or {}, active_links or set(), v, uid, _group_of(sc))
    foot = _legend(lay, uid) if legend else ("", 0.0)
    out = _svg_head(sc, lay, title, uid, foot[1], legend) + _body(d, run, removed_links)
    return "\n".join(out + [foot[0], "</svg>"])


def _legend_room(st: Style, legend: bool) -> float:
    """The room above the diagram kept for the key's first line (none without a key)."""
    return st.line + 8 if legend else 0.0


def _group_of(sc) -> dict[str, str]:
    """The key of the unit group each grouped node belongs to."""
    return {n: g.key for g in unit_groups(sc) for n in g.members}


def _body(d: _Drawing, run: list, removed_links: list) -> list[str]:
    """The links (those of the run, then those the variant removed), then the boxes."""
    out: list[str] = []
    drawn: set = set()
    for lk, lp in zip(d.sc.active_links, run):
        out += _svg_link(d, lk, False, lp, drawn)
    for k in removed_links:
        out += _svg_link(d, k, True, None, drawn)
    for name, (x, y) in d.lay.pos.items():
        out += _svg_group(d, name, x, y) if name in d.view.groups else _svg_node(d, name, x, y)
    return out


def _arrange(sc, v: View, st: Style, width, height, base, top: float) -> Layout:
    labels = {n: box_label(sc, v, n, base) for n in v.names}
    return arrange(v.names, v.edges, v.roots, labels, st, width, height, top)


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
    view: View
    uid: str = ""
    group_of: dict = field(default_factory=dict)


def _svg_head(sc, lay: Layout, title: str, uid: str, foot_h: float, caption: bool) -> list[str]:
    """The document's opening tag, title, arrow markers and caption."""
    markers = (("report", CHANNEL_STYLE["report"][0]), ("written", CHANNEL_STYLE["written"][0]),
               ("imagery", CHANNEL_STYLE["imagery"][0]), ("change", CHANGE_COLOUR), ("active", ACTIVE_COLOUR),
               ("idle", IDLE_COLOUR))
    w, h = lay.width, lay.height + foot_h
    st = lay.style
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="network" viewBox="0 0 {w:.0f} {h:.0f}" '
           f'width="{w:.0f}" height="{h:.0f}" font-family="{FONT_FAMILY}" font-size="{st.font:.1f}" '
           f'data-font="{st.font:.1f}" role="img">',
           f"<title>{escape(title or 'reporting network of ' + sc.name)}</title>",
           "<defs>" + "".join(
               f'<marker id="{uid}arrow-{n}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="10" '
               f'markerHeight="10" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
               f'<path d="M0,0 L10,5 L0,10 z" fill="{c}"/></marker>'
               for n, c in markers) + "</defs>"]
    if caption:
        out.append(f'<text x="{st.margin:.0f}" y="{st.margin + st.font:.0f}" fill="#333">field (collectors) at '
                   'the top; each layer one step further from the field</text>')
    return out


def _curve(lay: Layout, src: str, dst: str) -> tuple[float, ...]:
    """A link's cubic curve, box edge to box edge: down, up, or over the top when both
    boxes sit in one row."""
    (x1, y1), (x2, y2) = lay.pos[src], lay.pos[dst]
    h1, h2 = lay.boxes[src].h / 2, lay.boxes[dst].h / 2
    if abs(y2 - y1) < 1:
        lift = min(h1, h2) + 34
        return (x1, y1 - h1, x1, y1 - lift, x2, y2 - lift, x2, y2 - h2)
    s = 1 if y2 > y1 else -1
    a, b = y1 + s * h1, y2 - s * h2
    mid = (a + b) / 2
    return (x1, a, x1, mid, x2, mid, x2, b)


def _point(c: tuple[float, ...], t: float) -> tuple[float, float]:
    """The point at ``t`` (0..1) of cubic curve ``c``."""
    u = 1 - t
    k = (u ** 3, 3 * u * u * t, 3 * u * t * t, t ** 3)
    return (sum(k[i] * c[2 * i] for i in range(4)), sum(k[i] * c[2 * i + 1] for i in range(4)))


def _link_parts(d: _Drawing, lk, removed: bool, lp) -> tuple:
    """``(key, from box, to box, channel, meeting)`` of a link (``lk``: a scenario link,
    or the key of a link the variant removed; ``lp``: its plan)."""
    key = lk if removed else _link_key(lk)
    if removed:
        kind, meeting = key[2], key[3]
    else:
        kind, meeting = channel(d.sc, lk), (lp.meeting if lp is not None else lk.meeting) or ""
    return key, d.view.owner.get(key[0]), d.view.owner.get(key[1]), kind, meeting


def _svg_link(d: _Drawing, lk, removed: bool, lp, drawn: set) -> list[str]:
    """One link as a curve from box to box, with a clock mark where it waits for a
    meeting; links that a closed group makes one are drawn once."""
    key, src, dst, kind, meeting = _link_parts(d, lk, removed, lp)
    if not _first_drawing(src, dst, (src, dst, kind, meeting, removed), drawn):
        return []
    idle = "" if removed else idle_note(lp)
    cls, colour, marker, dash, width = _link_style(d, lk, key, kind, removed, idle)
    c = _curve(d.lay, src, dst)
    path = f"M{c[0]:.1f},{c[1]:.1f} C{c[2]:.1f},{c[3]:.1f} {c[4]:.1f},{c[5]:.1f} {c[6]:.1f},{c[7]:.1f}"
    tip = _link_tip(d, key, kind, meeting, removed, idle)
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    out = [f'<g class="{" ".join(cls)}" data-from="{escape(src)}" data-to="{escape(dst)}" '
           f'data-meeting="{escape(meeting)}" data-curve="{" ".join(f"{x:.1f}" for x in c)}">'
           f"<title>{escape(tip)}</title>"
           f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="{width}"{dash_attr} '
           f'marker-end="url(#{d.uid}arrow-{marker})"/>']
    if meeting:
        out.append(_meeting_mark(*_point(c, 0.5)))
    out.append("</g>")
    return out


def _first_drawing(src: Optional[str], dst: Optional[str], sig: tuple, drawn: set) -> bool:
    """Whether a link joins two different boxes drawn and is the first of that look
    between them (then it is recorded in ``drawn``)."""
    if src is None or dst is None or src == dst or sig in drawn:
        return False
    drawn.add(sig)
    return True


def _link_tip(d: _Drawing, key: tuple, kind: str, meeting: str, removed: bool, idle: str) -> str:
    notes = [kind] + ([f"at {meeting.replace('_', ' ')}"] if meeting else []) + (["removed"] if removed else [])
    return f"{_name(d, key[0])} → {_name(d, key[1])} ({', '.join(notes)}{'; ' + idle if idle else ''})"


def _meeting_mark(mx: float, my: float) -> str:
    """A clock at the middle of a link that waits for a meeting."""
    return (f'<circle class="meeting-mark" cx="{mx:.1f}" cy="{my:.1f}" r="7" fill="#fff" stroke="{MEETING_COLOUR}" '
            f'stroke-width="2"/><path d="M{mx:.1f},{my - 4:.1f} L{mx:.1f},{my:.1f} L{mx + 3.5:.1f},{my:.1f}" '
            f'stroke="{MEETING_COLOUR}" stroke-width="1.6" fill="none"/>')


def _name(d: _Drawing, name: str) -> str:
    owner = d.sc if name in d.sc.nodes or d.base is None else d.base
    return display(owner, name) if name in owner.nodes else name


def _link_style(d: _Drawing, lk, key: tuple, kind: str, removed: bool, idle: str) -> tuple:
    """``(classes, colour, marker, dash, width)`` of a link: by channel, then idle in a
    run, removed, added or changed by the variant, carrying a report in a replay."""
    colour, dash = CHANNEL_STYLE.get(kind, CHANNEL_STYLE["report"])
    look = _LinkLook(["link", kind], colour, kind, dash, 1.6)
    if idle:
        look.idle()
    change = "removed" if removed else _link_change(d, key)
    if change:
        look.changed(change, removed)
    if (key[0], key[1]) in d.active_links:
        look.active()
    if not removed:
        look.cls += _link_traits(lk)
    return look.cls, look.colour, look.marker, look.dash, look.width


@dataclass
class _LinkLook:
    """How a link is drawn, restyled step by step by :func:`_link_style`."""

    cls: list
    colour: str
    marker: str
    dash: str
    width: float

    def idle(self) -> None:
        """Grey and dotted: no report passes along it in a run."""
        self.cls.append("idle")
        self.colour, self.marker, self.dash = IDLE_COLOUR, "idle", "1,4"

    def changed(self, change: str, removed: bool) -> None:
        """In the change colour: dashed when the variant removed it, thick otherwise."""
        self.cls.append(change)
        self.colour, self.marker = CHANGE_COLOUR, "change"
        self.dash, self.width = ("4,5", self.width) if removed else (self.dash, 3.0)

    def active(self) -> None:
        """Thick, in the active colour: a report is on it in a replay."""
        self.cls.append("active")
        self.colour, self.marker, self.width = ACTIVE_COLOUR, "active", 3.6


def _link_traits(lk) -> list[str]:
    """The classes of a link's own traits: informal, pull."""
    return [c for c in ("informal", "pull") if getattr(lk, c)]


def _link_change(d: _Drawing, key: tuple) -> str:
    return "added" if key in d.ch.added_links else "changed" if key in d.ch.changed_links else ""


def _box_attrs(d: _Drawing, name: str, x: float, y: float) -> str:
    b = d.lay.boxes[name]
    return f'data-node="{escape(name)}" data-x="{x:.1f}" data-y="{y:.1f}" data-w="{b.w:.1f}" data-h="{b.h:.1f}"'


def _label_lines(d: _Drawing, name: str, x: float, y: float, weight: str = "") -> list[str]:
    b, st = d.lay.boxes[name], d.lay.style
    out = []
    for i, ln in enumerate(b.lines):
        ty = y + (i - (len(b.lines) - 1) / 2) * st.line + st.font * 0.36
        out.append(f'<text x="{x:.1f}" y="{ty:.1f}" text-anchor="middle" fill="#111"{weight}>{escape(ln)}</text>')
    return out


def _svg_node(d: _Drawing, name: str, x: float, y: float) -> list[str]:
    """One node as a box (shape by type) with its label, its meeting mark if it acts
    at one, and its gate marks (a badge above the box's right corner)."""
    removed = name in d.ch.removed_nodes
    owner = d.sc if not removed else d.base
    node = owner.nodes[name]
    ntype = owner.node_type(name)
    cls, fill, stroke, sw = _node_style(d, name, node, ntype, removed)
    st = d.states.get(name)
    b = d.lay.boxes[name]
    rx = _CORNER_RADIUS.get(ntype, 0)
    marks = gates(node)
    group = d.group_of.get(name, "")
    state = f' data-state="{st}"' if st else ""
    dash = ' stroke-dasharray="5,4"' if removed else ""
    out = [f'<g class="{" ".join(cls)}" {_box_attrs(d, name, x, y)} data-group="{group}"{state}>'
           f"<title>{escape(_node_tip(d, name, node, ntype, display(owner, name), marks, removed))}</title>"
           f'<rect x="{x - b.w / 2:.1f}" y="{y - b.h / 2:.1f}" width="{b.w:.1f}" height="{b.h:.1f}" '
           f'rx="{rx}" fill="{fill}" stroke="{stroke}" stroke-width="{sw}"{dash}/>']
    out += _label_lines(d, name, x, y, ' font-weight="bold"' if node.consumer else "")
    out += _node_marks(node, marks, b, x, y)
    out.append("</g>")
    return out


_CORNER_RADIUS = {"commander": 14, "cell": 5}


def _node_marks(node, marks: list, b, x: float, y: float) -> list[str]:
    """A node's meeting mark (top left, if it acts at one) and its gate marks (top right)."""
    out = []
    if node.acting_meetings():
        out.append(f'<circle class="acts-mark" cx="{x - b.w / 2:.1f}" cy="{y - b.h / 2:.1f}" r="7" fill="#fff" '
                   f'stroke="{MEETING_COLOUR}" stroke-width="2"><title>{escape(node.describe_acting())}</title></circle>')
    if marks:
        out.append(f'<text class="gates" x="{x + b.w / 2:.1f}" y="{y - b.h / 2 - 5:.1f}" text-anchor="end" '
                   f'font-weight="bold" fill="{GATE_COLOUR}">{" ".join(marks)}</text>')
    return out


def _svg_group(d: _Drawing, key: str, x: float, y: float) -> list[str]:
    """A closed group: a stack of boxes with the group's name and how many units it
    holds (click to open, in the lab)."""
    g, b = d.view.groups[key], d.lay.boxes[key]
    ntype = "collector"
    names = ", ".join(display(d.sc, n) for n in g.members)
    out = [f'<g class="node group" {_box_attrs(d, key, x, y)} data-members="{escape(" ".join(g.members))}">'
           f"<title>{escape(g.label)}: {escape(names)}</title>"
           f'<rect x="{x - b.w / 2 + 5:.1f}" y="{y - b.h / 2 - 5:.1f}" width="{b.w:.1f}" height="{b.h:.1f}" '
           f'fill="{TYPE_FILL[ntype]}" stroke="{TYPE_STROKE[ntype]}" stroke-width="1.4"/>'
           f'<rect x="{x - b.w / 2:.1f}" y="{y - b.h / 2:.1f}" width="{b.w:.1f}" height="{b.h:.1f}" '
           f'fill="{TYPE_FILL[ntype]}" stroke="{TYPE_STROKE[ntype]}" stroke-width="2"/>']
    out += _label_lines(d, key, x, y)
    out.append("</g>")
    return out


def _node_style(d: _Drawing, name: str, node, ntype: str, removed: bool) -> tuple:
    """``(classes, fill, stroke, stroke width)`` of a node: by type, consumer, changed
    by the variant, replay state."""
    cls = ["node", ntype]
    stroke, sw = TYPE_STROKE[ntype], 1.6
    fill = TYPE_FILL[ntype]
    if node.consumer:
        cls.append("consumer")
        sw = 3.4
    change = _node_change(d, name, removed)
    if change:
        cls.append(change)
        stroke, sw = CHANGE_COLOUR, 3.6
    st = d.states.get(name)
    if st:
        cls.append(f"state-{st}")
        fill = STATE_FILL[st]
    return cls, fill, stroke, sw


def _node_change(d: _Drawing, name: str, removed: bool) -> str:
    """What the variant did to a node: ``added``, ``removed``, ``changed`` or ``""``."""
    if name in d.ch.added_nodes:
        return "added"
    if removed:
        return "removed"
    return "changed" if name in d.ch.changed_nodes else ""


def _node_tip(d: _Drawing, name: str, node, ntype: str, label: str, marks: list, removed: bool) -> str:
    """A node's tooltip: type, consumer, meeting, gates, and how far its reports reach."""
    tip = f"{label} ({ntype}{', consumer' if node.consumer else ''}"
    tip += f"{', ' + node.describe_acting() if node.describe_acting() else ''}"
    tip += "".join(f", {GATE_NAMES[m]}" for m in marks) + (", removed by the variant" if removed else "")
    if not removed:
        tip += f"; its reports can reach {reach_count(d.plan.node(name))} of {len(d.sc.consumers)} consumers"
    return tip + ")"


def legend_items() -> list[tuple[str, str]]:
    """The key of the diagram: ``(swatch kind, text)`` pairs, for the SVG and the lab."""
    items = [(f"type:{t}", t) for t in NODE_TYPES] + [("consumer", "consumer (measured)")]
    items += [(f"channel:{k}", k) for k in CHANNEL_STYLE]
    items += [("meeting", "waits for a meeting"), ("gates", "gates: C classification, S sanitisation, "
                                                            "H held back, A accreditation"),
              ("change", "changed by the variant"), ("idle", "no report passes in a run")]
    return items


def _swatch(kind: str, x: float, y: float) -> str:
    """A legend swatch at ``(x, y)`` (its left end, on the text's middle)."""
    if kind.startswith("type:"):
        t = kind[5:]
        return f'<rect x="{x}" y="{y - 7}" width="18" height="14" fill="{TYPE_FILL[t]}" stroke="{TYPE_STROKE[t]}" stroke-width="1.6"/>'
    if kind == "consumer":
        return f'<rect x="{x}" y="{y - 7}" width="18" height="14" fill="#fff" stroke="#111" stroke-width="3.4"/>'
    if kind == "meeting":
        return f'<circle cx="{x + 9}" cy="{y}" r="7" fill="#fff" stroke="{MEETING_COLOUR}" stroke-width="2"/>'
    if kind == "gates":
        return f'<rect x="{x}" y="{y - 7}" width="18" height="14" fill="{GATE_COLOUR}"/>'
    colour, dash = {"change": (CHANGE_COLOUR, ""), "idle": (IDLE_COLOUR, "1,4")}.get(
        kind, CHANNEL_STYLE.get(kind.partition(":")[2], ("#333", "")))
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    return f'<line x1="{x}" y1="{y}" x2="{x + 24}" y2="{y}" stroke="{colour}" stroke-width="2.4"{dash_attr}/>'


def _legend(lay: Layout, uid: str = "") -> tuple[str, float]:
    """The key below the diagram, in rows that fit its width; returns the SVG and the
    height it adds."""
    st = lay.style
    x, y = st.margin, lay.height + st.line / 2
    items = []
    for kind, text in legend_items():
        w = 32 + text_width(text, st.font) + 22
        if x + w > lay.width - st.margin and x > st.margin:
            x, y = st.margin, y + st.line + 6
        items.append(_swatch(kind, x, y) + f'<text x="{x + 30:.1f}" y="{y + st.font * 0.36:.1f}" fill="#111">'
                     f"{escape(text)}</text>")
        x += w
    return f'<g class="legend">{"".join(items)}</g>', y - lay.height + st.line


# ------------------------------------------------------------------------ text formats

def _q(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(sc) -> str:
    """The network in Graphviz DOT (``dot -Tsvg`` draws it)."""
    out = [f"digraph {_q(sc.name)} {{", "  rankdir=TB;", '  node [fontname="sans-serif", fontsize=10];']
    out += [_dot_node(sc, name, node) for name, node in sc.nodes.items()]
    out += [_dot_link(sc, lk) for lk in sc.active_links]
    out.append("}")
    return "\n".join(out) + "\n"


_DOT_SHAPE = {"collector": "box", "cell": "box", "commander": "ellipse"}


def _dot_node(sc, name: str, node) -> str:
    """A node's DOT line: shape and colours by type, a thick border for a consumer."""
    t = sc.node_type(name)
    attrs = [f"label={_q(display(sc, name))}", f"shape={_DOT_SHAPE[t]}", "style=filled",
             f"fillcolor={_q(TYPE_FILL[t])}", f"color={_q(TYPE_STROKE[t])}"]
    if node.consumer:
        attrs.append("penwidth=2.5")
    return f"  {_q(name)} [{', '.join(attrs)}];"


def _dot_link(sc, lk) -> str:
    """A link's DOT line: colour and dashes by channel, the meeting it waits for."""
    kind = channel(sc, lk)
    colour, dash = CHANNEL_STYLE[kind]
    attrs = [f"color={_q(colour)}"]
    if dash:
        attrs.append("style=dashed" if kind == "written" else "style=dotted")
    if lk.meeting:
        attrs.append(f"label={_q('at ' + lk.meeting)}")
    return f"  {_q(lk.src)} -> {_q(lk.to)} [{', '.join(attrs)}];"


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
    out += [_mermaid_node(sc, name) for name in sc.nodes]
    out += [_mermaid_link(sc, lk) for lk in sc.active_links]
    out += [f"  classDef {t} fill:{TYPE_FILL[t]},stroke:{TYPE_STROKE[t]}" for t in NODE_TYPES]
    return "\n".join(out) + "\n"


def _mermaid_node(sc, name: str) -> str:
    """A node's Mermaid line: a stadium for a commander, a box otherwise."""
    t = sc.node_type(name)
    label = mermaid_text(display(sc, name))
    return f'  {_mid(name)}["{label}"]:::{t}' if t != "commander" else f'  {_mid(name)}(["{label}"]):::{t}'


def _mermaid_link(sc, lk) -> str:
    """A link's Mermaid line: solid for reports, dotted otherwise, with its meeting."""
    arrow = "-->" if channel(sc, lk) == "report" else "-.->"
    text = f"|at {mermaid_text(lk.meeting)}|" if lk.meeting else ""
    return f"  {_mid(lk.src)} {arrow}{text} {_mid(lk.to)}"


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
