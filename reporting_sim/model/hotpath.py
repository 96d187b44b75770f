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
``benchmarks/`` (issue #12) the engine with this path does 2.65x the plain SimPy
process-per-report model in CPU time (1.22x before the refactor; 2.7x on the original
network; measured in one run on a quiet 2-core machine, see ``benchmarks/README.md``).
The long-lived routines (boards, patrols, duty, routine work) are few and stay SimPy
processes or plain timeouts.
"""

from __future__ import annotations

import math
from heapq import heappush

from .collectors import Collector
from .items import Report
from .nodes import ABSORBED, DUPLICATE, Cell
from .wake import MAX_ZERO_DELAY_DEPTH as _MAX_DEPTH, NORMAL



def specialise(sim) -> None:
    """Swap plain cells, links and routing for their specialised closures, in the order
    they depend on each other: arrivals (which links deliver to), links (which routing
    uses), routing (which the end of work calls)."""
    if sim.tracing:
        return  # a traced run records every step: the general path does
    nodes = list(sim.nodes.values())
    for node in nodes:
        _specialise_arrival(sim, node)
    for link in (link for node in nodes for link in node.links if link.meeting is None):
        link.go = _plain_link(sim, link)
    for node in nodes:
        if _plain_routing(sim, node):
            node.forward = (_choose(sim, node) if node.choose else _each(sim, node))
    for node in nodes:
        if node.__class__ is Cell and hasattr(node.on_done[0], "bind"):
            node.on_done[0].bind()  # the end of work calls the cell's final forward directly


def _specialise_arrival(sim, node) -> None:
    if node.__class__ is Cell and _plain_cell(node):
        _compile_cell(sim, node)
    elif node.__class__ is Collector and _plain_collector(node):
        node.consider = _consider(sim, node)


def _plain_routing(sim, node) -> bool:
    """No gate anywhere, no classification here, and only plain links out."""
    return sim.ungated and not (node.p_unit or node.p_group) and all(link.go for link in node.links)


def _plain_cell(cell) -> bool:
    return cell.duty is None and cell.inbox is None and cell.pull is None and not cell.boards


def _compile_cell(sim, cell) -> None:
    """A plain cell's arrival and end of work, each as one closure."""
    done = _cell_work(sim, cell)
    receive = _cell_arrival(sim, cell, done)
    cell.receive = receive
    cell.on_arrival = [receive]
    cell.on_done = [done]  # also for a report the general path starts


def _cell_work(sim, cell):
    """The end of a report's work at a plain cell (the report is its own SimPy event,
    see :class:`.items.Report`): account, start the next job, count, record what a
    consumer now knows, pass the report on."""
    env, queue = sim.env, cell.queue
    done_list: list = []  # SimPy only iterates an event's callbacks: one list serves all
    next_job = _cell_next_job(sim, cell, done_list)
    consumer, analysis, forward = cell.consumer, cell.analysis, cell.forward
    known = _knows(sim.rec, consumer)

    def done(rep) -> None:
        now = env._now
        dt = now - cell.t_last
        if dt:
            cell.busy_area += cell.busy * dt
            cell.queue_area += len(queue) * dt
            cell.t_last = now
        if queue:
            next_job(now)
        else:
            cell.busy -= 1
        if rep.t_in >= cell.t_reset:
            cell.completed += 1
            cell.sum_sojourn += now - rep.t_in
        if known is not None:
            known(rep, now)
        if analysis:
            cell.analyse(rep)
        forward(rep)

    def bind() -> None:
        nonlocal forward
        forward = cell.forward

    done.bind = bind
    done_list.append(done)
    return done


def _cell_next_job(sim, cell, done_list):
    """When an analyst at a plain cell finishes and the inbox is not empty: a report
    next in line starts at once (its end is ``done_list``'s function); an INTREP or
    routine work goes to the general path."""
    queue, heap, eid, work = cell.queue, sim.env._queue, sim.env._eid, cell.work

    def next_job(now) -> None:
        job = queue.popleft()
        if job.__class__ is Report:  # the analyst goes on with it (busy unchanged)
            if job.t_in >= cell.t_reset:
                cell.started += 1
                cell.sum_wait += now - job.t_in
            job.callbacks = done_list
            heappush(heap, (now + work(), NORMAL, next(eid), job))
        else:
            cell.busy -= 1
            cell._start(job, now)

    return next_job


def _knows(rec, consumer: int):
    """:meth:`.Recorder.known` for one consumer, on its own columns (``None`` for a
    node that is not a consumer)."""
    if consumer < 0:
        return None
    if rec.by_channel[consumer] is not None:  # its channels count: the recorder's own method keeps them
        return lambda rep, now: rec.known(rep.event.id, consumer, now, rep.prev, rep.precise, rep.id)
    times, via, precise, report = (rec.arr_t[consumer], rec.arr_via[consumer],
                                   rec.arr_precise[consumer], rec.arr_report[consumer])

    def known(rep, now: float) -> None:
        eid = rep.event.id
        if times[eid] != times[eid]:  # still nan: the first time counts
            times[eid] = now
            via[eid] = rep.prev
            precise[eid] = 1 if rep.precise else 0
            report[eid] = rep.id

    return known


def _counts_arrival(rec, consumer: int):
    """:meth:`.Recorder.count_arrival` for one consumer, on its own columns."""
    if consumer < 0:
        return None
    count, reached = rec.arr_n[consumer], rec.reach_t[consumer]

    def count_arrival(eid: int, now: float) -> None:
        count[eid] += 1
        if reached[eid] != reached[eid]:  # still nan
            reached[eid] = now

    return count_arrival


def _cell_arrival(sim, cell, done):
    """A report reaching a plain cell: receive, accept and start (or queue) in one. It
    never delivers anything at once (the work ends later), so callers need not count
    the depth of zero-delay hops for it."""
    env, queue = sim.env, cell.queue
    heap, eid, work = env._queue, env._eid, cell.work
    c, bit, index, dedupe = cell.c, cell.bit, cell.index, cell.dedupe
    done_list = [done]
    count_arrival = _counts_arrival(sim.rec, cell.consumer)
    duplicate = _ender(sim, index, DUPLICATE)

    def receive(rep) -> None:
        now = env._now
        if count_arrival is not None:
            count_arrival(rep.event.id, now)
        if dedupe:
            ev = rep.event
            if ev.seen & bit:
                duplicate(rep)
                return
            ev.seen |= bit
        rep.t_in = now
        dt = now - cell.t_last
        if dt:
            cell.busy_area += cell.busy * dt
            cell.queue_area += len(queue) * dt
            cell.t_last = now
        cell.arrivals += 1
        if cell.busy < c:  # start at once: it arrived now (t_in >= t_reset), no wait
            cell.busy += 1
            cell.started += 1
            rep.callbacks = done_list
            heappush(heap, (now + work(), NORMAL, next(eid), rep))
        else:
            queue.append(rep)
            if len(queue) > cell.max_queue:
                cell.max_queue = len(queue)

    receive.never_at_once = True
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
    kinds_seen, draws, shelf, bit = col.kinds_seen, col.draws, sim.shelf_lives, col.bit
    p_observe, p_report, precision, branch, formats = (col.p_observe, col.p_report, col.precision,
                                                       col.branch, col.formats)
    imagery, release, later = col.imagery is not None, col._release, sim.clock.after
    channel, index = col.imagery, col.index

    def consider(ev) -> None:
        if kinds_seen is not None and ev.kind not in kinds_seen:
            return
        _u, u_rep, u_prec, delay, _l, _d, _w, _wd = d = draws()
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


def _choose(sim, node):
    """``choose`` routing without gates: one draw, cumulative chances per kind of event,
    and the plain link's move (:func:`_hop`)."""
    general, u, index = node.forward, node.u, node.index
    absorbed = _ender(sim, index, ABSORBED)
    tables = []
    for kind in range(len(sim.kind_names)):
        acc, table = 0.0, []
        for link in node.links:
            if link.allowed is None or kind in link.allowed:
                acc += link.p
                table.append((acc, _hop(sim, link.dst, link.transit)))
        tables.append(table)

    def forward(rep, links=None) -> None:
        if links is not None:
            general(rep, links)
            return
        x = u()
        for acc, hop in tables[rep.event.kind]:
            if x < acc:
                rep.prev = index
                hop(rep)
                return
        absorbed(rep)

    return forward


def _ender(sim, index: int, state: int):
    """:meth:`.Simulation.end` for reports ending at node ``index`` in ``state``, in an
    untraced run: count the end, settle the event if nothing else is pending."""
    ends, key, settle = sim.rec.report_ends, (index, state), sim._settle

    def end(rep) -> None:
        ends[key] = ends.get(key, 0) + 1
        ev = rep.event
        ev.pending -= 1
        if not ev.pending:
            settle(ev)

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


def _each_one(sim, node):
    """``each`` routing over a single link without gates: one draw, then that link or
    nowhere."""
    general, u, index = node.forward, node.u, node.index
    absorbed = _ender(sim, index, ABSORBED)
    link = node.links[0]
    p, allowed, go = link.p, link.allowed, link.go

    def forward(rep, chosen_links=None) -> None:
        if chosen_links is not None:
            general(rep, chosen_links)
        elif u() < p and (allowed is None or rep.event.kind in allowed):
            go(rep)
        else:
            absorbed(rep)

    return forward
