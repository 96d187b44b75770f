"""The network plan: what a scenario builds, worked out once, before anything runs.

:func:`build_plan` turns a :class:`~reporting_sim.scenario.Scenario` into a frozen
:class:`Plan`: the nodes in order with their consumer index and the kinds they see,
the links that exist (informal links only where a unit builds bridges) with their
chance, transit distribution, meeting, kind filter and fixed gate (from the sender's
coping strategy), which consumers each node can still reach for each kind of event
(for ``withheld``), each hoarding node's rivals, the boards that sit, the meeting
calendars, and whether the network has any sharing gate at all.

**Every ``[mechanisms]`` switch is applied here, once**: a node's plan carries what is
left of each mechanism (its classification chances, hoarding, coping strategies,
literacy, accreditation wait, tasking, rotation and escort pool are ``None``, empty or
neutral when the mechanism is off), links and boards are shaped by coping, pull and
boards, and :attr:`Plan.sanitise` says whether imagery is sanitised. The running model
reads the plan, never the switches. No SimPy and no random numbers: a plan can be
inspected and tested without running anything; the engine (:mod:`.engine`) takes a
plan and a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

from typing import Optional

from ..scenario import CHANNELS
from ..scenario.calendar import Calendar
from .records import REPORT_STATES, KnowingChannels

WITHHELD = REPORT_STATES.index("withheld")
NOT_SHARED = REPORT_STATES.index("not_shared")


@dataclass(frozen=True)
class LinkPlan:
    """One link that exists: ``key`` names its transit stream (``SRC->DST``, ``#2``... for
    a repeated pair); ``allowed`` is the set of kind indices it admits (``None``: all);
    ``blocked`` a terminal state every report on it meets (a fixed gate) or ``None``."""

    key: str
    src: str
    dst: str
    p: float
    transit: object  # a distributions.Distribution
    meeting: Optional[str]
    allowed: Optional[frozenset]
    blocked: Optional[int]
    written: bool


@dataclass(frozen=True)
class NodePlan:
    """One node: its type (``collector``, ``cell`` or ``commander``), index, consumer
    index (-1: not a consumer), kinds seen (collectors; ``None``: all), the consumers
    it can still reach per kind (bit masks), its rivals (node indices), its
    specification, and what the mechanism switches leave of its mechanisms
    (``None``, empty or neutral: switched off or not given)."""

    name: str
    type: str
    index: int
    consumer: int
    kinds_seen: Optional[frozenset]
    reach: tuple
    rivals: frozenset
    spec: object  # the scenario's node table (read-only)
    classify: object = None  # scenario.Classify
    hoard: object = None  # scenario.Hoard
    coping: frozenset = frozenset()
    literacy: float = 1.0
    accreditation_wait: bool = False  # collectors: the accreditation duration applies
    tasking: object = None
    rotation: object = None
    pool: Optional[str] = None


@dataclass(frozen=True)
class Plan:
    """The network of a scenario, ready to run (see the module docstring)."""

    scenario: object
    kinds: tuple
    nodes: tuple  # NodePlan, in scenario order
    links: tuple  # LinkPlan, in scenario order
    boards: tuple  # names of the boards that sit
    ungated: bool
    sanitise: bool  # raw imagery leaves its channel only as an INTREP
    meetings: dict  # name -> Calendar
    channels: KnowingChannels = KnowingChannels()  # which channel news came by, where it counts

    def node(self, name: str) -> NodePlan:
        return next(n for n in self.nodes if n.name == name)

    def links_from(self, name: str) -> list:
        return [link for link in self.links if link.src == name]


def build_plan(sc) -> Plan:
    """The plan of scenario ``sc`` (see the module docstring)."""
    kinds = tuple(sc.kinds)
    links = tuple(_links(sc, kinds))
    index = {name: i for i, name in enumerate(sc.nodes)}
    reach = _reach(sc, links, index, len(kinds))
    nodes = tuple(_node(sc, name, i, kinds, reach[i], index) for name, i in index.items())
    return Plan(scenario=sc, kinds=kinds, nodes=nodes, links=links,
                boards=tuple(sc.boards) if sc.mechanisms.boards else (),
                ungated=not _gated(sc, links), sanitise=sc.mechanisms.sanitisation,
                meetings={name: Calendar.of(m) for name, m in sc.meetings.items()},
                channels=knowing_channels(sc))


def briefing(sc, plan_links, src: str, dst: str) -> Optional[dict]:
    """The meeting at which ``src`` passes reports to ``dst`` over a link that exists
    (its first such link), as plain data (``first_h``, ``every_h``, ``from_day``,
    ``until_day``), or ``None`` when a direct link has no meeting or there is none."""
    link = _first_link(plan_links, src, dst)
    if link is None or link.meeting is None:
        return None
    return sc.meetings[link.meeting].model_dump(mode="python")


def _first_link(plan_links, src: str, dst: str) -> Optional[LinkPlan]:
    """The first of ``plan_links`` from ``src`` to ``dst``, or ``None``."""
    return next((lp for lp in plan_links if lp.src == src and lp.dst == dst), None)


NODE_CHANNEL = {"commander": "call", "cell": "product", "collector": "report"}
"""The channel of news that last left a node of each type (see ``scenario.CHANNELS``)."""


def knowing_channels(sc) -> KnowingChannels:
    """Each node's channel, and the consumers with rules for acting by channel
    (``acts``): the only ones whose knowing is recorded channel by channel."""
    of_node = tuple(CHANNELS.index(NODE_CHANNEL[sc.node_type(n)]) for n in sc.nodes)
    tracked = frozenset(c for c, name in enumerate(sc.consumers) if sc.nodes[name].acts is not None)
    return KnowingChannels(CHANNELS, of_node, tracked)


def _node(sc, name: str, i: int, kinds: tuple, reach: tuple, index: dict) -> NodePlan:
    spec, mech = sc.nodes[name], sc.mechanisms
    typ = sc.node_type(name)
    seen = _seen_kinds(spec, kinds) if typ == "collector" else None
    switched = _node_switches(spec, mech, typ)
    hoard = switched["hoard"]
    rivals = frozenset(index[r] for r in hoard.rivals) if hoard else frozenset()
    consumer = sc.consumers.index(name) if name in sc.consumers else -1
    return NodePlan(name, typ, i, consumer, seen, reach, rivals, spec, **switched)


def _node_switches(spec, mech, typ: str) -> dict:
    """A node's mechanisms (classification, hoarding, coping; a collector's own too),
    each neutral when switched off."""
    switched = dict(classify=spec.classify if mech.classification else None,
                    hoard=spec.hoard if mech.competition else None,
                    coping=frozenset(spec.coping) if mech.coping else frozenset())
    if typ == "collector":
        switched.update(_collector_switches(spec, mech))
    return switched


def _seen_kinds(spec, kinds: tuple) -> Optional[frozenset]:
    """The kinds (indices) a collector sees, or ``None``: every kind."""
    return None if spec.kinds is None else frozenset(kinds.index(k) for k in spec.kinds)


def _collector_switches(spec, mech) -> dict:
    """A collector's mechanisms, each neutral when switched off."""
    return dict(literacy=spec.literacy if mech.literacy else 1.0,
                accreditation_wait=mech.accreditation,
                tasking=spec.tasking if mech.tasking else None,
                rotation=spec.rotation if mech.rotations else None,
                pool=spec.pool if mech.escorts else None)


def _links(sc, kinds: tuple):
    """The links that exist, with every switch applied (informal links need a unit
    that builds bridges; a pull link without the stovepipe is a plain push)."""
    families = {k: v.family for k, v in sc.kinds.items()}
    active = sc.active_links
    for key, link in zip(stream_keys(active), active):
        planned = _link_plan(sc, key, link, kinds, families)
        if planned is not None:
            yield planned


def _link_plan(sc, key: str, link, kinds: tuple, families: dict) -> Optional[LinkPlan]:
    """The plan of one scenario link, or ``None`` for an informal link whose sender
    does not build bridges."""
    mech = sc.mechanisms
    coping = set(sc.nodes[link.src].coping) if mech.coping else set()
    if link.informal and "building_bridges" not in coping:
        return None
    meeting, p = link.meeting, link.p
    if link.pull and not mech.pull:
        meeting, p = None, 1.0  # no stovepipe: the report is pushed
    return LinkPlan(key, link.src, link.to, p, link.transit_h, meeting, _allowed(link, kinds, families),
                    _fixed_gate(sc, link, coping), link.channel == "written")


def _allowed(link, kinds: tuple, families: dict) -> Optional[frozenset]:
    """The kinds (indices) ``link`` takes, or ``None``: every kind."""
    if link.families is None and link.kinds is None:
        return None
    return frozenset(i for i, k in enumerate(kinds) if _admits(link, k, families))


def _admits(link, kind: str, families: dict) -> bool:
    """Whether ``link`` takes reports of ``kind``: of a family and a kind it names
    (either unnamed: any)."""
    return ((link.families is None or families[kind] in link.families)
            and (link.kinds is None or kind in link.kinds))


def stream_keys(links) -> list[str]:
    """The key of each of ``links`` (scenario links, in file order): ``SRC->DST``, then
    ``SRC->DST#2``... for a repeated pair, counting links that do not exist too. It
    names the link's transit stream, so it must not change; :mod:`..graph` uses it to
    find what the plan made of each link it draws."""
    used: dict[str, int] = {}
    out = []
    for link in links:
        key = f"{link.src}->{link.to}"
        used[key] = used.get(key, 0) + 1
        out.append(key if used[key] == 1 else f"{key}#{used[key]}")
    return out


def _fixed_gate(sc, link, coping: set) -> Optional[int]:
    """The sender's coping strategy as a gate on the link, if any."""
    if "voltaires_garden" in coping and not link.task:
        return NOT_SHARED
    if "othering" in coping and not (set(sc.nodes[link.src].groups) & set(sc.nodes[link.to].groups)):
        return WITHHELD
    return None


def _reach(sc, links: tuple, index: dict, n_kinds: int) -> list:
    """Per node, per kind: the bit mask of the consumers reachable from it (itself
    included) over the links that exist and admit the kind."""
    consumer_bit = _consumer_bits(sc, index)
    out = [[0] * n_kinds for _ in index]
    for k in range(n_kinds):
        succ = _successors(links, index, k)
        for i in range(len(index)):
            out[i][k] = _reachable_mask(i, succ, consumer_bit)
    return [tuple(r) for r in out]


def _consumer_bits(sc, index: dict) -> list[int]:
    """Per node (index): its consumer's bit, 0 for a node that is no consumer."""
    consumer_bit = [0] * len(index)
    for c, name in enumerate(sc.consumers):
        consumer_bit[index[name]] = 1 << c
    return consumer_bit


def _successors(links: tuple, index: dict, k: int) -> list:
    """Per node (index): the nodes its links admitting kind ``k`` lead to."""
    succ = [set() for _ in index]
    for link in links:
        if link.allowed is None or k in link.allowed:
            succ[index[link.src]].add(index[link.dst])
    return succ


def _reachable_mask(start: int, succ: list, consumer_bit: list) -> int:
    stack, seen, mask = [start], {start}, 0
    while stack:
        i = stack.pop()
        mask |= consumer_bit[i]
        for j in succ[i]:
            if j not in seen:
                seen.add(j)
                stack.append(j)
    return mask


def _gated(sc, links: tuple) -> bool:
    """Whether any sharing gate can stop or hold a report in this network."""
    mech = sc.mechanisms
    return (any(_gates_at(spec, mech) for spec in sc.nodes.values())
            or any(_blocks_spoken(link) for link in links)
            or any(c.imagery for c in sc.collectors.values()))


def _blocks_spoken(link: LinkPlan) -> bool:
    """Whether a link that is not written blocks some reports."""
    return link.blocked is not None and not link.written


def _gates_at(spec, mech) -> bool:
    """Whether a node's classification or hoarding can stop or hold a report."""
    cl = spec.classify if mech.classification else None
    return bool(cl and (cl.unit or cl.group)) or (spec.hoard is not None and mech.competition)
