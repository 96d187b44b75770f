"""The per-report hot path, specialised once the network is built.

Most reports in most runs move through plain pieces: a staff cell without duty hours,
inbox limit, current pull or board seat, a link without a meeting, a node with no
classification to mark in a network without sharing gates. For those,
:func:`specialise` swaps the general methods of :mod:`.nodes` and the engine for
closures that do the same work with fewer calls: one function for the arrival of a
report at a cell (receive, accept and start in one), one for the end of its work
(account, start the next, route, send), and one per link for moving along it. They draw
the same random numbers from the same streams in the same order, and schedule the same
SimPy events in the same order, so every result is identical to the general path
(``tests/test_hotpath.py`` compares the two); pieces that are not plain, and every
traced run, keep the general path.

**Why callbacks.** The per-report path is written as SimPy callbacks, not as one SimPy
process per report: a report is itself the SimPy event of its next step
(:class:`.items.Report`, pushed on SimPy's own event queue), where a process costs
several events and a generator resumption per hop. On the reference network of
``benchmarks/`` (issue #12) the engine with this path does 4.1-4.6x the plain SimPy
process-per-report model in CPU time through the command line (2.4x at a29c454, 1.22x
before issue #12; measured on the shared 2-core machine in 2026-12, see
``benchmarks/README.md``). The
long-lived routines (boards, patrols, duty) are few and stay SimPy processes or plain
timeouts; routine work is played lazily by each cell (:mod:`.routine`), and SimPy's run
loop is written out (:mod:`.loop`). Where this path reads or writes SimPy's private
attributes (``Environment._queue``, ``_eid``, ``_now``), ``tests/test_simpy_contract.py``
checks them on SimPy itself.
"""

from __future__ import annotations

import math
from heapq import heappush

from . import hotcell
from .collectors import Collector
from .hotcell import pair as _pair
from .items import MISSION, Report
from .fifo import FifoCell
from .nodes import ABSORBED, DUPLICATE, Node
from .wake import MAX_ZERO_DELAY_DEPTH as _MAX_DEPTH, NORMAL


def specialise(sim) -> None:
    """Swap plain cells, collectors, links and routing for their specialised closures,
    in the order they depend on each other: arrivals (which links deliver to), links
    (which routing uses), routing, collectors (which may write their routing out), and
    last the cells' ends of work (which call the routing, or write a plain ``choose``
    out)."""
    if sim.tracing:
        return  # a traced run records every step: the general path does
    nodes = list(sim.nodes.values())
    cells = [node for node in nodes if node.__class__ is FifoCell and _plain_cell(node)]
    for cell in cells:
        _compile_arrival(sim, cell)
    for node in filter(_general_arrival, nodes):
        _compile_receive(sim, node)
    _specialise_routing(sim, nodes)
    for node in nodes:
        _specialise_collector(sim, node)
    for cell in cells:
        cell.on_done.append(hotcell.work_end(sim, cell, _ender(sim, cell.index, ABSORBED)))


def _specialise_collector(sim, col) -> None:
    """A plain collector's consideration of an event (without draws when they cannot
    matter), or a patrolling one's."""
    if col.__class__ is not Collector:
        return
    if _plain_collector(col):
        col.consider = _consider_certain(sim, col) if _certain(col) else _consider(sim, col)
    elif col.interval and col.pool is None:
        col.consider = _consider_patrols(sim, col)


def _specialise_routing(sim, nodes: list) -> None:
    """Plain links (without a meeting), then the routing of nodes whose links are all
    plain, in a network without gates."""
    for link in (link for node in nodes for link in node.links if link.meeting is None):
        link.go = _plain_link(sim, link)
    for node in nodes:
        if _plain_routing(sim, node):
            node.forward = (choose(sim, node) if node.choose else _each(sim, node))
        elif not node.choose:  # (``choose`` where gates apply keeps the general path)
            node.forward = _each_gated(sim, node)


def _plain_routing(sim, node) -> bool:
    """No gate anywhere, no classification here, and only plain links out."""
    return sim.ungated and not (node.p_unit or node.p_group) and all(link.go for link in node.links)


def _plain_cell(cell) -> bool:
    """A FIFO cell without an inbox limit or a board seat (duty hours and routine work
    are read by :func:`.hotcell.arrival`)."""
    return cell.inbox is None and not cell.boards


def _compile_arrival(sim, cell) -> None:
    """A plain cell's arrival as one closure; its end of work comes last (see
    :func:`specialise`) into ``on_done``, the list every report it works points to
    (also a report the general path starts)."""
    cell.on_done = []
    receive = hotcell.arrival(sim, cell, cell.on_done, _ender(sim, cell.index, DUPLICATE))
    cell.receive = receive
    cell.on_arrival = [receive]


def _general_arrival(node) -> bool:
    """A node that receives reports with :meth:`.Node.receive` (not a collector, not a
    plain cell, whose arrival is compiled whole)."""
    return node.__class__ is not Collector and getattr(node.receive, "__func__", None) is Node.receive


def _compile_receive(sim, node) -> None:
    """:meth:`.Node.receive` as one closure for a node whose whole visit the hot path
    does not write out (a commander; a cell with a board seat, an inbox limit or
    current pull): the same steps in the same order, the node's fixed choices taken
    once, the consumer's arrival count written into its columns. Compiled before the
    links (which call it) and the routing: a commander's ``forward`` is read when a
    report passes on, so it is the specialised one."""
    receive = _general_receive(sim, node, *_arrival_steps(node))
    node.receive = receive
    node.on_arrival = [receive]


def _arrival_steps(node) -> tuple:
    """What a node does with a report on arrival besides counting it: record that a
    consumer knows of it, and analyse it (``None`` where it does not, on arrival)."""
    if not node.knows_on_arrival:
        return None, None
    return node._known, (node.analyse if node.analysis else None)


def _general_receive(sim, node, known, analyse):
    """The closure of :func:`_compile_receive`."""
    env, bit, dedupe, boards, peers = sim.env, node.bit, node.dedupe, bool(node.boards), node.peer_slots
    counts, reached = hotcell.arrival_columns(sim.rec, node.consumer)
    duplicate = _ender(sim, node.index, DUPLICATE)
    hold, deconflicted = node.hold_for_boards, node.deconflicted
    passes_on = node.accept.__func__ is Node.accept  # a commander: accept is forward
    accept = node.accept

    def receive(rep) -> None:
        ev = rep.event
        now = env._now  # the clock does not move in this call
        if counts is not None:  # Recorder.count_arrival on this consumer's columns, written out
            eid = ev.id
            counts[eid] += 1
            if (first := reached[eid]) != first:  # still nan (read once): the first arrival
                reached[eid] = now
            if known is not None:
                known(rep, now)
        if dedupe:
            if ev.seen & bit:
                duplicate(rep)
                return
            ev.seen |= bit
        if boards:
            hold(rep)
            if peers and deconflicted(rep):
                return
        if analyse is not None:
            analyse(rep)
        rep.t_in = now
        if passes_on:
            node.forward(rep)
        else:
            accept(rep)

    return receive


def _plain_collector(col) -> bool:
    """Watching all the time, on its own, with nothing that changes its chances or
    writes a second report."""
    return (col.interval == 0 and col.pool is None and col.rotation is None and col.tasking is None
            and col.active_from == -math.inf and col.written is None and col.literacy == 1.0)


def _consider(sim, col):
    """A plain collector considering an event: :meth:`.Collector.consider` and
    :meth:`.Collector._observed` with everything that cannot apply left out (adding a
    zero delay is left out too: it changes no number)."""
    shelf, bit = sim.shelf_lives, col.bit  # offered only kinds it sees (engine._collectors_by_kind)
    d_pop, d_refill = col.draws.pair  # col.draws(), from its buffer (see .draws)
    p_observe, p_report, precision, branch, formats = (col.p_observe, col.p_report, col.precision,
                                                       col.branch, col.formats)
    imagery, release, later = col.imagery is not None, col._release, sim.clock.after
    channel, index = col.imagery, col.index

    def consider(ev) -> None:
        try:
            d = d_pop()
        except IndexError:
            d = d_refill()
        _u, u_rep, u_prec, delay, _l, _d, _w, _wd = d
        if _u >= p_observe:
            return
        now = sim.env._now
        if now > ev.t + shelf[ev.kind]:
            return  # nothing left to see
        ev.observed += 1
        col.observed += 1
        ev.observers |= bit
        precise = (formats or u_prec < precision) if branch else u_prec < precision
        if u_rep < p_report:
            ev.pending += 1  # Simulation.hold written out (the event is live: it is being considered)
            if delay == 0:  # Collector._release and Simulation.new_report written out
                ev.reported += 1
                col.released += 1
                rid = sim.next_report
                sim.next_report = rid + 1
                rep = Report(rid, -1, ev, index, now)
                rep.precise = precise or imagery
                rep.imagery = channel
                col.forward(rep)
            else:
                later(delay, release, ev, now, precise or imagery, False)

    return consider


def _consider_patrols(sim, col):
    """:meth:`.Collector.consider` for a unit on patrols of its own (no pool): the same
    draws and steps, its chance to observe fixed unless a rotation or tasking changes
    it, the patrol's timing worked out in place."""
    shelf, active_from = sim.shelf_lives, col.active_from  # offered only kinds it sees
    d_pop, d_refill = col.draws.pair  # col.draws(), from its buffer (see .draws)
    interval, patrol_h, first_h, observed, after = col.interval, col.patrol_h, col.first_h, col._observed, sim.clock.after
    p_observe, env, tasked = col.p_observe, sim.env, _tasked_chance(col)
    rotation, (rot_first, rot_every, rot_learning, p_new) = col.rotation, _rotation_terms(col.rotation)

    def consider(ev) -> None:
        try:  # the same numbers whatever happens next (common random numbers)
            d = d_pop()
        except IndexError:
            d = d_refill()
        now = env._now
        if now < active_from:
            return
        p = p_observe  # Collector.chance_to_observe, written out
        if rotation is not None:
            day = now / 24.0
            if day >= rot_first and (day - rot_first) % rot_every < rot_learning:
                p = p_new  # a new contingent learning the area
        if tasked is not None and now < col.tasked_until:
            p = tasked
        if d[0] >= p:
            return
        ev.pending += 1  # Simulation.hold written out (the event is live: it is being considered)
        into = (now - first_h) % interval
        if into < patrol_h:
            t_obs, back = now, now - into + patrol_h
        else:
            t_obs = now + interval - into
            back = t_obs + patrol_h
        if t_obs > ev.t + shelf[ev.kind]:
            sim.release(ev)  # the next patrol comes too late: nothing left to see
        elif t_obs == now:
            observed(ev, back, d)
        else:
            after(t_obs - now, observed, ev, back, d)

    return consider


def _tasked_chance(col):
    """A collector's chance to observe while tasked, or ``None`` (no tasking changes it)."""
    return col.tasking.p_observe if col.tasking is not None else None


def _rotation_terms(rotation) -> tuple:
    """A rotation's first day, days between rotations, days of learning and the chance to
    observe meanwhile (four ``None`` without one)."""
    if rotation is None:
        return None, None, None, None
    return rotation.first_day, rotation.every_days, rotation.learning_days, rotation.p_observe_new


def _certain(col) -> bool:
    """A plain collector whose draws cannot change anything: it observes every event it
    sees, reports always or never, keeps the precise time and place always or never,
    after a fixed delay. Its streams are then never read (a stream serves one purpose
    only, so no other number changes)."""
    delay = col.spec.report_delay_h
    return (col.p_observe == 1.0 and col.p_report in (0.0, 1.0) and col.precision in (0.0, 1.0)
            and getattr(delay, "dist", None) == "fixed")


def _consider_certain(sim, col):
    """:func:`_consider` for a collector whose draws cannot matter (:func:`_certain`):
    the same, without drawing. When it reports at once, the function it calls to make
    and pass on the report is also its ``born``: a source calls it for a fresh event that
    only this collector sees (whose shelf life cannot have run out yet, and whose hold,
    taken by the source, becomes the report's: the same counts as a hold and a release
    around ``consider``)."""
    shelf, bit, index, channel = sim.shelf_lives, col.bit, col.index, col.imagery  # offered only kinds it sees
    precise = (col.formats or col.precision == 1.0) if col.branch else col.precision == 1.0
    precise = precise or channel is not None
    reports, delay, release, later = col.p_report == 1.0, float(col.spec.report_delay_h.value), col._release, sim.clock.after
    env = sim.env
    forward = col.forward
    new = object.__new__
    into = getattr(forward, "into", None)  # its routing always takes one link straight into a plain cell (_always)

    def consider(ev) -> None:
        now = env._now
        if now > ev.t + shelf[ev.kind]:
            return  # nothing left to see
        if at_once is not None:
            ev.pending += 1  # Simulation.hold written out (the event is live: it is being considered)
            at_once(ev, now)
            return
        ev.observed += 1
        col.observed += 1
        ev.observers |= bit
        if reports:
            ev.pending += 1
            later(delay, release, ev, now, precise, False)

    made = 0  # reports made here: the collector's observed and released, added at the end

    def reported(ev, now: float) -> None:
        """``ev`` observed, and its report made and passed on now (Collector._release
        and Simulation.new_report written out); the event is held for the report."""
        nonlocal made
        ev.observed += 1
        ev.observers |= bit
        ev.reported += 1
        made += 1
        rid = sim.next_report
        sim.next_report = rid + 1
        # Report(rid, -1, ev, index, now) with its precision and imagery, written out
        # (as the event in Simulation._start_source; tests/test_hotpath.py checks it)
        rep = new(Report)
        rep.id, rep.parent, rep.event, rep.prev, rep.t_in = rid, -1, ev, index, now
        rep.cls, rep.cls_group, rep.cls_org, rep.imagery, rep.precise = MISSION, None, None, channel, precise
        rep.lineage, rep.rework, rep._ok = 0, False, True
        if into is not None and sim.depth < _MAX_DEPTH:  # _always, written out (prev is index)
            into(rep)
        else:
            forward(rep)

    def flush() -> None:  # (Simulation._finish, before the collectors' counts are read)
        nonlocal made
        col.observed += made
        col.released += made
        made = 0

    sim.flushes.append(flush)
    at_once = reported if reports and delay == 0 else None
    consider.born = at_once  # (Simulation._start_source)
    return consider


def _hop(sim, dst, transit):
    """Moving a report to ``dst`` after a ``transit`` sampler's time, as one function:
    at once when the time is zero and fewer than ``_MAX_DEPTH`` such hops are under way
    (counting them unless ``dst`` never delivers anything at once), else on SimPy's
    queue with the report as its own event. A fixed zero transit skips the draw."""
    env = sim.env
    heap, eid, receive = env._queue, env._eid, dst.receive
    receive_list = [receive]
    direct = getattr(receive, "never_at_once", False)

    def later(rep, delay: float) -> None:
        rep.callbacks = receive_list
        heappush(heap, (env._now + delay, NORMAL, next(eid), rep))

    if direct and getattr(transit, "fixed", None) == 0:
        def hop(rep) -> None:
            if sim.depth < _MAX_DEPTH:
                receive(rep)
            else:
                later(rep, 0.0)
        hop.receive = receive  # callers may write the hop out: this, when the depth allows
        return hop

    def hop(rep) -> None:
        delay = transit()
        if delay == 0 and sim.depth < _MAX_DEPTH:
            if direct:
                receive(rep)
            else:
                sim.depth += 1
                receive(rep)
                sim.depth -= 1
        else:
            rep.callbacks = receive_list
            heappush(heap, (env._now + delay, NORMAL, next(eid), rep))

    return hop


def _plain_link(sim, link):
    """Moving a report along a link without a meeting, nothing held back: the transit
    time, then the next node (at once when it is zero, as the general path does)."""
    src_index, hop = link.src.index, _hop(sim, link.dst, link.transit)

    def go(rep) -> None:
        rep.prev = src_index
        hop(rep)

    return go


def choose(sim, node):
    """``choose`` routing without gates: one draw, cumulative chances per kind of event,
    and the plain link's move (:func:`_hop`; a fixed zero hop into a plain cell written
    out). The function keeps its ``tables`` (per kind: ``(cumulative chance, move,
    arrival or None)``) and its ``draws`` for a cell's end of work to write it out
    (:func:`.hotcell.work_end`)."""
    general, index = node.forward, node.index
    u_pop, u_refill = _pair(node.u)
    absorbed = _ender(sim, index, ABSORBED)
    tables = []
    for kind in range(len(sim.kind_names)):
        acc, table = 0.0, []
        for link in node.links:
            if link.allowed is None or kind in link.allowed:
                acc += link.p
                hop = _hop(sim, link.dst, link.transit)
                table.append((acc, hop, getattr(hop, "receive", None)))
        tables.append(table)

    def forward(rep, links=None) -> None:
        if links is not None:
            general(rep, links)
            return
        try:
            x = u_pop()
        except IndexError:
            x = u_refill()
        for acc, hop, receive in tables[rep.event.kind]:
            if x < acc:
                rep.prev = index
                if receive is not None and sim.depth < _MAX_DEPTH:
                    receive(rep)
                else:
                    hop(rep)
                return
        absorbed(rep)

    forward.tables, forward.draws = tables, (u_pop, u_refill)
    return forward


def _ender(sim, index: int, state: int):
    """:meth:`.Simulation.end` for reports ending at node ``index`` in ``state``, in an
    untraced run: count the end, settle the event if nothing else is pending. The count
    is kept here and added to the recorder's when the records are made
    (``Simulation.flushes``; nothing reads it before)."""
    rec, live, key, settle = sim.rec, sim.live, (index, state), sim._settle
    ends, observed, reported, observers = rec.report_ends, rec.ev_observed, rec.ev_reported, rec.ev_observers
    count = 0

    def end(rep) -> None:
        nonlocal count
        count += 1
        ev = rep.event
        ev.pending -= 1
        if not ev.pending:
            if ev.analysed:
                settle(ev)
            else:  # Simulation._settle written out, for an event no analysis cell worked
                eid = ev.id
                if ev.observed:
                    observed[eid] = ev.observed
                    reported[eid] = ev.reported
                    observers[eid] = ev.observers
                del live[eid]

    def flush() -> None:
        nonlocal count
        if count:
            ends[key] = ends.get(key, 0) + count
            count = 0

    sim.flushes.append(flush)
    return end


def _each(sim, node):
    """``each`` routing without gates: one draw per link, always (common random numbers)."""
    general, u, index, links = node.forward, node.u, node.index, node.links
    absorbed = _ender(sim, index, ABSORBED)
    if len(links) == 1:
        return _each_one(sim, node)

    def forward(rep, chosen_links=None) -> None:
        if chosen_links is not None:
            general(rep, chosen_links)
            return
        kind = rep.event.kind
        chosen = [link for link in links if u() < link.p and (link.allowed is None or kind in link.allowed)]
        if not chosen:
            absorbed(rep)
        elif len(chosen) == 1:
            chosen[0].go(rep)
        else:
            sim.dispatch(node, rep, chosen)

    return forward


def _each_gated(sim, node):
    """:meth:`.Node.forward` for ``each`` routing that is not plain (gates, classification or a meeting):
    :meth:`.Node._each_firing` written out (one draw per link, always), and a single
    chosen link that every gate passes (as in :meth:`.Node.forward`: no gate in the run,
    or ``Link.open`` and a mission-wide report without raw imagery) taken by its ``go``
    when it has no meeting (the same move as
    :meth:`.Simulation.send`, see :func:`_plain_link`); anything else through
    :meth:`.Simulation.dispatch`."""
    general, links = node.forward, node.links
    u_pop, u_refill = node._u_pop, node._u_refill
    classify = node.classify if node.classifies else None
    absorbed = _ender(sim, node.index, ABSORBED)
    send, dispatch, ungated = sim.send, sim.dispatch, sim.ungated
    terms = [(link, link.p, link.allowed) for link in links]  # (a link's chance and kinds are fixed)

    def forward(rep, chosen_links=None) -> None:
        if chosen_links is not None:
            general(rep, chosen_links)
            return
        if classify is not None:
            classify(rep)
        kind = rep.event.kind
        chosen = []
        for link, p, allowed in terms:
            try:
                u = u_pop()
            except IndexError:
                u = u_refill()
            if u < p and (allowed is None or kind in allowed):
                chosen.append(link)
        if not chosen:
            absorbed(rep)
        elif len(chosen) == 1 and (ungated or chosen[0].open and not rep.cls and rep.imagery is None):
            link = chosen[0]
            if link.go is not None:
                link.go(rep)
            else:
                send(rep, link)
        else:
            dispatch(node, rep, chosen)

    return forward


def _each_one(sim, node):
    """``each`` routing over a single link without gates: one draw, then that link or
    nowhere (a fixed zero hop into a plain cell written out). A link taken with chance
    1 by every kind needs no draw when only this function draws from the node's route
    stream (a collector with written links also draws from it for them)."""
    general, index = node.forward, node.index
    u_pop, u_refill = _pair(node.u)
    absorbed = _ender(sim, index, ABSORBED)
    link = node.links[0]
    p, allowed = link.p, link.allowed
    hop = _hop(sim, link.dst, link.transit)
    receive = getattr(hop, "receive", None)
    if p >= 1.0 and allowed is None and not getattr(node, "written_links", None):
        return _always(sim, general, index, hop, receive)

    def forward(rep, chosen_links=None) -> None:
        if chosen_links is not None:
            general(rep, chosen_links)
            return
        try:
            x = u_pop()
        except IndexError:
            x = u_refill()
        if x < p and (allowed is None or rep.event.kind in allowed):
            rep.prev = index
            if receive is not None and sim.depth < _MAX_DEPTH:
                receive(rep)
            else:
                hop(rep)
        else:
            absorbed(rep)

    return forward


def _always(sim, general, index: int, hop, receive):
    """:func:`_each_one` for a link every report takes: the move, without a draw. A
    fixed zero hop into a plain cell is kept as ``into`` (that cell's arrival) for a
    collector to write this out."""
    def forward(rep, chosen_links=None) -> None:
        if chosen_links is not None:
            general(rep, chosen_links)
            return
        rep.prev = index
        if receive is not None and sim.depth < _MAX_DEPTH:
            receive(rep)
        else:
            hop(rep)

    forward.into = receive
    return forward
