"""Graph checks: what a scenario must satisfy as a whole, once every field is valid.

The schema (:mod:`.scenario_schema`) checks each table on its own; the rules here need
the whole scenario: every name a field refers to exists (kinds, sectors, nodes,
meetings, switches, pools, trust groups), links go from a node to a node that can
receive, boards and metrics name suitable nodes, some node is a consumer, and no cycle
of nodes can keep a report going for ever (:func:`_check_cycles`). :func:`check_graph`
runs the rules in a fixed order and the first broken one is raised as one
:class:`~reporting_sim.errors.ScenarioError` line naming the field; :func:`parse
<reporting_sim.scenario_loading.parse>` calls it after the schema. Each rule is one
small function. No SimPy; numpy only for the hop bound of a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..errors import ScenarioError
from ..metric_names import examples, flat_names
from .schema import ON_ARRIVAL, Scenario

NODE_SECTIONS = ("collectors", "cells", "commanders")

MAX_CYCLE_HOPS = 1000
"""At most this many hops, on average, that one report may make round a cycle of
nodes that keep repeats before it leaves it, so every run ends (see
docs/scenario-format.md, "cycles")."""


def _unknown(what: str, name: str, known) -> str:
    known = sorted(known)
    shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
    return f"unknown {what} {name!r} (known: {shown or 'none'})"


@dataclass
class _Context:
    """What every rule needs: the scenario, the source label of its messages, and the
    section each node is in (``collectors``, ``cells`` or ``commanders``)."""

    sc: Scenario
    source: str
    section: dict[str, str]
    nodes: dict = field(init=False)

    def __post_init__(self):
        self.nodes = self.sc.nodes

    def fail(self, where: str, message: str):
        raise ScenarioError(self.source, where, message)

    def known(self, where: str, what: str, name: str, known, more: str = "") -> None:
        """Refuse ``name`` unless it is one of ``known`` (a ``what``)."""
        if name not in known:
            self.fail(where, _unknown(what, name, known) + more)

    def known_each(self, where: str, what: str, names, known) -> None:
        """Refuse the first of ``names`` (``None``: none) that is not one of ``known``."""
        for name in names or ():
            self.known(where, what, name, known)

    def where(self, name: str) -> str:
        """A node's field prefix, e.g. ``cells.u2``."""
        return f"{self.section[name]}.{name}"


def check_graph(sc: Scenario, source: str) -> None:
    """Cross-reference checks that need the whole scenario (after field validation),
    in a fixed order: the first problem found is the one reported."""
    c = _Context(sc, source, _node_sections(sc, source))
    for rule in _RULES:
        rule(c)
    _check_cycles(c)


def _node_sections(sc: Scenario, source: str) -> dict[str, str]:
    """The section of each node; a name used twice (even in two sections) is refused."""
    seen: dict[str, str] = {}
    for kind in NODE_SECTIONS:
        for name in getattr(sc, kind):
            if name in seen:
                raise ScenarioError(source, f"{kind}.{name}", f"name already used by {seen[name]}.{name}; "
                                    "node names must be unique")
            seen[name] = kind
    return seen


# ------------------------------------------------------------------ names a field refers to

def _check_sources(c: _Context) -> None:
    """A source's mix names kinds that exist."""
    for sname, src in c.sc.sources.items():
        for kind in src.mix:
            c.known(f"sources.{sname}.mix.{kind}", "kind", kind, c.sc.kinds)


def _check_collectors(c: _Context) -> None:
    """A collector watches sectors that have sources, and kinds that exist."""
    sectors = set(c.sc.sectors)
    for cname, col in c.sc.collectors.items():
        c.known_each(f"collectors.{cname}.sectors", "sector", col.sectors, sectors)
        c.known_each(f"collectors.{cname}.kinds", "kind", col.kinds, c.sc.kinds)


def _check_consumer_fields(c: _Context) -> None:
    """Only a consumer has an area of interest (of known sectors and kinds) or acts at
    a meeting (one that exists)."""
    for name, node in c.nodes.items():
        if node.interest is not None:
            _check_interest(c, name, node)
        if node.acts_at is not None:
            _check_acts_at(c, name, node)
        _check_acting(c, name, node)


def _check_acts_at(c: _Context, name: str, node) -> None:
    """Only a consumer acts at a meeting, and one that exists."""
    where = f"{c.where(name)}.acts_at"
    if not node.consumer:
        c.fail(where, "only a consumer (consumer = true) acts at a meeting")
    c.known(where, "meeting", node.acts_at, c.sc.meetings)


def _check_interest(c: _Context, name: str, node) -> None:
    """A consumer's area of interest names sectors and kinds that exist."""
    where = f"{c.where(name)}.interest"
    if not node.consumer:
        c.fail(where, "only a consumer (consumer = true) has an area of interest")
    c.known_each(f"{where}.sectors", "sector", node.interest.sectors, set(c.sc.sectors))
    c.known_each(f"{where}.kinds", "kind", node.interest.kinds, c.sc.kinds)


def _check_acting(c: _Context, name: str, node) -> None:
    """A consumer's rules for acting by channel name meetings that exist (or
    ``"arrival"``)."""
    if node.acts is None:
        return
    where = f"{c.where(name)}.acts"
    if not node.consumer:
        c.fail(where, "only a consumer (consumer = true) has rules for when it acts")
    for channel, rule in node.acts.items():
        _check_acting_at(c, f"{where}.{channel}.at", rule.at)


def _check_acting_at(c: _Context, where: str, at: str) -> None:
    """A rule for acting names ``"arrival"`` or a meeting that exists."""
    if at != ON_ARRIVAL and at not in c.sc.meetings:
        c.fail(where, f"{at!r} is neither {ON_ARRIVAL!r} (act when it comes) nor a "
               f"meeting (meetings: {', '.join(c.sc.meetings) or 'none'})")


# ------------------------------------------------------------------ links

def _check_links(c: _Context) -> None:
    """Each link in file order: its ends, then its meeting, kinds and switches."""
    for i, link in enumerate(c.sc.links):
        _check_link_ends(c, i, link)
        _check_link_filters(c, i, link)


def _check_link_ends(c: _Context, i: int, link) -> None:
    """A link goes from a node to another node that is not a collector."""
    c.known(f"links[{i}].from", "node", link.src, c.nodes)
    c.known(f"links[{i}].to", "node", link.to, c.nodes)
    if link.to in c.sc.collectors:
        c.fail(f"links[{i}].to", f"{link.to!r} is a collector; collectors observe events and do not receive reports")
    if link.to == link.src:
        c.fail(f"links[{i}].to", "a node cannot pass reports to itself")


def _check_link_filters(c: _Context, i: int, link) -> None:
    """A link's meeting and kinds exist; its ``when`` names switches and their choices."""
    if link.meeting is not None:
        c.known(f"links[{i}].meeting", "meeting", link.meeting, c.sc.meetings)
    c.known_each(f"links[{i}].kinds", "kind", link.kinds, c.sc.kinds)
    for k, v in (link.when or {}).items():
        _check_switch_choice(c, f"links[{i}].when.{k}", k, v)


def _check_switch_choice(c: _Context, where: str, switch: str, choice: str) -> None:
    """``switch`` exists and ``choice`` is one of its choices."""
    c.known(where, "switch", switch, c.sc.switches)
    choices = c.sc.switches[switch].choices
    if choice not in choices:
        c.fail(where, f"{choice!r} is not a choice of switch {switch!r} (choices: {', '.join(choices)})")


def _check_choose_sums(c: _Context) -> None:
    """A "choose" node picks one of its links, so their chances sum to at most 1
    (over the links that exist under the switches)."""
    for name, node in c.nodes.items():
        if node.routing == "choose":
            _check_choose_sum(c, name)


def _check_choose_sum(c: _Context, name: str) -> None:
    """The chances of the links that leave the "choose" node ``name`` sum to at most 1."""
    total = sum(link.p for link in c.sc.active_links if link.src == name)
    if total > 1 + 1e-9:
        c.fail(f"{c.where(name)}.routing", '"choose" picks one link, so the p of its links must sum '
               f"to at most 1 (they sum to {total:g})")


def _check_written_links(c: _Context) -> None:
    """A "written" link leaves a collector that writes reports (has ``[written]``)."""
    for i, link in enumerate(c.sc.links):
        if link.channel == "written":
            src = c.sc.collectors.get(link.src)
            if src is None or src.written is None:
                c.fail(f"links[{i}].channel", '"written" links leave a collector that has a [written] table')


# ------------------------------------------------------------------ gates, boards, metrics

def _check_hoards_and_pools(c: _Context) -> None:
    """A hoarding node's rivals and meeting exist; a collector's pool exists."""
    for name, node in c.nodes.items():
        where = c.where(name)
        if node.hoard is not None:
            c.known_each(f"{where}.hoard.rivals", "node", node.hoard.rivals, c.nodes)
            c.known(f"{where}.hoard.until", "meeting", node.hoard.until, c.sc.meetings)
        if getattr(node, "pool", None) is not None:
            c.known(f"{where}.pool", "pool", node.pool, c.sc.pools)


def _check_imagery(c: _Context) -> None:
    """Imagery travels in a trust group that some node belongs to."""
    groups = {g for node in c.nodes.values() for g in node.groups}
    for cname, col in c.sc.collectors.items():
        if col.imagery_channel is not None:
            c.known(f"collectors.{cname}.imagery_channel", "trust group", col.imagery_channel, groups,
                    "; imagery travels raw only among nodes of this group")


def _check_boards(c: _Context) -> None:
    """A board sits at a meeting that exists, with members listed once each."""
    for bname, board in c.sc.boards.items():
        c.known(f"boards.{bname}.meeting", "meeting", board.meeting, c.sc.meetings)
        if len(set(board.members)) != len(board.members):
            c.fail(f"boards.{bname}.members", "a member is listed twice")
        for m in board.members:
            _check_board_member(c, f"boards.{bname}.members", m)


def _check_board_member(c: _Context, where: str, m: str) -> None:
    """A board member is a cell or commander that drops repeats."""
    c.known(where, "node", m, c.nodes)
    if m in c.sc.collectors:
        c.fail(where, f"{m!r} is a collector; board members are cells or commanders")
    if not c.nodes[m].dedupe:
        c.fail(where, f"{m!r} has dedupe = false; a board passes members only what they do not hold yet, "
               "so its members must drop repeats (dedupe = true), or every meeting would pass the same "
               "items round again")


def _check_metrics(c: _Context) -> None:
    """The bypass rate compares two consumers, named together or not at all; every
    headline metric is one the scenario's runs produce."""
    metrics = c.sc.metrics
    for m in (metrics.bypass_consumer, metrics.bypass_branch):
        if m is not None:
            _check_bypass_node(c, m)
    if (metrics.bypass_consumer is None) != (metrics.bypass_branch is None):
        c.fail("metrics", "bypass_consumer and bypass_branch go together")
    if metrics.headline:
        _check_headline(c, metrics.headline)


def _check_bypass_node(c: _Context, m: str) -> None:
    """A node the bypass rate compares exists and is a consumer."""
    c.known("metrics", "node", m, c.nodes)
    if not c.nodes[m].consumer:
        c.fail("metrics", f"{m!r} must be a consumer (consumer = true) to compare arrivals")


def _check_headline(c: _Context, headline) -> None:
    """Every headline metric is a flat name the scenario's runs produce."""
    cells = list(c.sc.cells)
    known = set(flat_names(c.sc.consumers, cells))
    for name in headline:
        if name not in known:
            c.fail("metrics.headline", f"unknown metric {name!r} (names look like "
                   f"{examples(c.sc.consumers, cells)})")


def _check_some_consumer(c: _Context) -> None:
    """Some node is measured."""
    if not c.sc.consumers:
        c.fail("(top level)", "no node is a consumer (consumer = true): nothing would be measured")


_RULES = (_check_sources, _check_collectors, _check_consumer_fields, _check_links, _check_choose_sums,
          _check_hoards_and_pools, _check_written_links, _check_imagery, _check_boards, _check_metrics,
          _check_some_consumer)
"""The rules :func:`check_graph` runs before the cycle checks, in this order."""


# ------------------------------------------------------------------ cycles

def _check_cycles(c: _Context) -> None:
    """A cycle must contain a node that drops repeats (``dedupe = true``) or consist of
    "choose" nodes only (one copy goes round, as in a queueing network with feedback);
    otherwise copies of one report would multiply without end. And a cycle of nodes
    that keep repeats must take time on every way round, or a report could go round
    for ever at one instant.

    Only nodes that keep repeats matter (a node that drops them ends any cycle through
    it for a report). Every cycle is found: the check works on the strongly connected
    components, not on the cycles one depth-first search happens to meet."""
    succ = _repeat_keeping_graph(c.sc, c.nodes)
    comps = _cycles(succ)
    _refuse_copying_cycles(c, succ, comps)
    for comp in comps:
        _check_hops(c, comp, _within(succ, comp))
    _refuse_instant_cycles(c, succ)


def _repeat_keeping_graph(sc: Scenario, nodes: dict) -> dict[str, list[str]]:
    """Successors over the links that exist, among the nodes that keep repeats."""
    risky = {n for n, node in nodes.items() if not node.dedupe}
    succ: dict[str, list[str]] = {n: [] for n in sorted(risky)}
    for link in sc.active_links:
        if _new_edge(succ, link.src, link.to):
            succ[link.src].append(link.to)
    return succ


def _new_edge(succ: dict[str, list[str]], a: str, b: str) -> bool:
    """Whether ``a -> b`` joins two nodes of the graph ``succ`` and is not in it yet."""
    return a in succ and b in succ and b not in succ[a]


def _within(succ: dict[str, list[str]], comp: list[str]) -> dict[str, list[str]]:
    """The graph ``succ`` restricted to the nodes of ``comp``."""
    return {n: [m for m in succ[n] if m in comp] for n in comp}


def _refuse_copying_cycles(c: _Context, succ: dict[str, list[str]], comps: list[list[str]]) -> None:
    """No cycle of repeat-keeping nodes has a node that copies to every link."""
    for comp in comps:
        each = [n for n in comp if c.nodes[n].routing == "each"]
        if each:
            m = each[0]
            cycle = _a_cycle(_within(succ, comp), m)
            c.fail(f"{c.section[m]}.{m}.dedupe", f"cycle {' -> '.join(cycle)} has a node that copies reports "
                   "to every link and no node that drops repeats; set dedupe = true on one of them")


def _refuse_instant_cycles(c: _Context, succ: dict[str, list[str]]) -> None:
    """No cycle of repeat-keeping nodes can be gone round in no time."""
    instant = {n: [m for m in succ[n] if _may_take_no_time(c.sc, n, m)] for n in succ}
    for comp in _cycles(instant):
        m = comp[0]
        cycle = _a_cycle(_within(instant, comp), m)
        c.fail(f"{c.section[m]}.{m}", f"cycle {' -> '.join(cycle)} can take no time (no work or transit on "
               "some way round; a meeting does not delay a report that arrives as it starts): a report "
               "could go round for ever at one instant")


def _may_take_no_time(sc: Scenario, a: str, b: str) -> bool:
    """Whether a report can go from node ``a`` to node ``b`` in no time: ``a`` has no
    work (a cell with positive mean work always takes time) and some link ``a -> b``
    has no transit. A meeting does not count as time: a report that reaches a link just
    as its meeting starts goes on at once."""
    if a in sc.cells and sc.cells[a].work_h.mean > 0:
        return False
    return any(_instant_link(link) for link in sc.active_links if (link.src, link.to) == (a, b))


def _instant_link(link) -> bool:
    """Whether ``link`` may pass a report on (``p > 0``) with no transit time."""
    return link.p > 0 and not link.transit_h.mean > 0


def _check_hops(c: _Context, comp: list[str], sub: dict) -> None:
    """Refuse a cycle of "choose" nodes round which a report would go for ever, or for
    more than :data:`MAX_CYCLE_HOPS` hops on average (see :func:`_mean_hops`)."""
    import numpy as np

    hops = _mean_hops(c.sc, comp)
    bad = ~np.isfinite(hops) | (hops < 0) | (hops > MAX_CYCLE_HOPS)
    if not bad.any():
        return
    worst = comp[int(np.argmax(np.where(np.isfinite(hops) & (hops >= 0), hops, np.inf)))]
    how = ("for ever (the p of its links leave no way out)" if not np.isfinite(hops).all() or (hops < 0).any()
           else f"for {float(np.max(hops)):.3g} hops on average")
    c.fail(f"{c.section[worst]}.{worst}.routing",
           f"cycle {' -> '.join(_a_cycle(sub, worst))} keeps a report going round {how} (at most "
           f"{MAX_CYCLE_HOPS} allowed); lower the p of a link on it, or set dedupe = true on one of its nodes")


def _mean_hops(sc: Scenario, comp: list[str]):
    """The mean hops a report makes round the cycle ``comp`` before it leaves, from
    each of its nodes: with ``Q[i, j]`` the chance that node ``i`` passes a report to
    node ``j`` of the cycle (the p of its links, an upper bound: link filters and gates
    only lower it), they solve ``(I - Q) h = 1`` (``inf`` when ``I - Q`` is singular)."""
    import numpy as np

    q = _passing_chances(sc, comp)
    try:
        return np.linalg.solve(np.eye(len(comp)) - q, np.ones(len(comp)))
    except np.linalg.LinAlgError:
        return np.full(len(comp), np.inf)


# ------------------------------------------------------------------ graph algorithms

def _cycles(succ: dict[str, list[str]]) -> list[list[str]]:
    """The strongly connected components of the graph ``succ`` that contain a cycle
    (more than one node; a node cannot link to itself), each in a stable order."""
    search = _Components(succ)
    for root in sorted(succ):
        if root not in search.index:
            search.visit(root)
    return search.found


class _Components:
    """Tarjan's strongly connected components, iterative (no recursion limit on long
    chains): ``index`` numbers nodes in visiting order, ``low`` is the lowest index
    reachable through nodes still on the stack; a node whose ``low`` is its own index
    closes a component. Components of more than one node go to ``found``, sorted, in
    the order they close."""

    def __init__(self, succ: dict[str, list[str]]):
        self.succ = succ
        self.index: dict[str, int] = {}
        self.low: dict[str, int] = {}
        self.stack: list[str] = []
        self.on_stack: set[str] = set()
        self.found: list[list[str]] = []

    def visit(self, root: str) -> None:
        work = [self._enter(root)]
        while work:
            n, it = work[-1]
            m = self._next_unvisited(n, it)
            if m is not None:
                work.append(self._enter(m))
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                self.low[parent] = min(self.low[parent], self.low[n])
            if self.low[n] == self.index[n]:
                self._close(n)

    def _enter(self, n: str):
        self.index[n] = self.low[n] = len(self.index)
        self.stack.append(n)
        self.on_stack.add(n)
        return n, iter(self.succ[n])

    def _next_unvisited(self, n: str, it) -> Optional[str]:
        """The next successor of ``n`` not yet visited; those met on the way that are
        on the stack lower ``low[n]``."""
        for m in it:
            if m not in self.index:
                return m
            if m in self.on_stack:
                self.low[n] = min(self.low[n], self.index[m])
        return None

    def _close(self, n: str) -> None:
        comp = []
        while True:
            m = self.stack.pop()
            self.on_stack.discard(m)
            comp.append(m)
            if m == n:
                break
        if len(comp) > 1:
            self.found.append(sorted(comp))


def _passing_chances(sc: Scenario, comp: list[str]):
    """``Q[i, j]``: the summed p of the links from node ``i`` to node ``j`` of ``comp``."""
    import numpy as np

    pos = {n: i for i, n in enumerate(comp)}
    q = np.zeros((len(comp), len(comp)))
    for link in sc.active_links:
        if link.src in pos and link.to in pos:
            q[pos[link.src], pos[link.to]] += link.p
    return q


def _walk_back(prev: dict[str, Optional[str]], n: str) -> list[str]:
    """The path from the start to ``n`` along the breadth-first ``prev`` links."""
    path = [n]
    while prev[path[-1]] is not None:
        path.append(prev[path[-1]])
    return path[::-1]


def _a_cycle(succ: dict[str, list[str]], start: str) -> list[str]:
    """A shortest closed walk ``[start, ..., start]`` in ``succ`` (``start`` lies on a
    cycle)."""
    prev: dict[str, Optional[str]] = {start: None}
    queue = [start]
    for n in queue:  # breadth first; the list grows while it is read
        for m in succ[n]:
            if m == start:
                return _walk_back(prev, n) + [start]
            if m not in prev:
                prev[m] = n
                queue.append(m)
    raise AssertionError(f"{start} lies on no cycle")
