"""A plain staff cell's per-report path as closures (see :mod:`.hotpath`).

A plain cell (first in, first out, without an inbox limit or a board seat: a
:class:`.fifo.FifoCell`) gets two functions: :func:`arrival` (a report reaches it:
receive, and take its start and end of work at once; with duty hours or routine work,
:func:`_arrival_timed`) and :func:`work_end`
(a report's work ends: record what a consumer now knows, pass the report on, with
``choose`` routing written out when the cell has it; its completion and sojourn were
counted when it was given its start). Every number is the one the
general path (:class:`.fifo.FifoCell`) computes, in the same order (a wait of zero
adds nothing to a sum, so it is not added).
"""

from __future__ import annotations

import math
from heapq import heappush, heapreplace

from .wake import NORMAL

INF = math.inf


def pair(sampler):
    """The ``(pop, refill)`` a sampler of :mod:`.draws` hands out from (a sampler of
    another kind, such as a fixed value's: the pair of a buffer that never empties)."""
    got = getattr(sampler, "pair", None)
    if got is not None:
        return got
    return (lambda: sampler()), sampler


def arrival(sim, cell, done_list, duplicate):
    """A report reaching a plain cell: receive, and take its start and end of work
    (:class:`.fifo.FifoCell`: the earliest free analyst's time, or now; no duty hours,
    no inbox limit, no routine work here). It never delivers anything at once (the
    work ends later), so callers need not count the depth of zero-delay hops for it.
    ``done_list`` holds the end of work; ``duplicate`` ends a report of an event the
    cell already holds (``dedupe``)."""
    if cell.duty is not None or cell.task_at < INF:
        return _arrival_timed(sim, cell, done_list, duplicate)
    env, free, waits = sim.env, cell.free, cell.waits
    heap, eid = env._queue, env._eid
    work_pop, work_refill = pair(cell.work)
    bit, dedupe = cell.bit, cell.dedupe
    counts, reached = arrival_columns(sim.rec, cell.consumer)
    screens = counts is not None or dedupe  # most cells of a plain network do neither
    popleft = waits.popleft

    def receive(rep) -> None:
        now = env._now
        if screens:
            if counts is not None:  # Recorder.count_arrival, written out
                eid_ = rep.event.id
                counts[eid_] += 1
                if (first := reached[eid_]) != first:  # still nan (read once): the first arrival
                    reached[eid_] = now
            if dedupe:
                ev = rep.event
                if ev.seen & bit:
                    duplicate(rep)
                    return
                ev.seen |= bit
        rep.t_in = now
        cell.arrivals += 1  # also the count of starts given: every arrival gets one (FifoCell.stats)
        s = free[0]
        if s > now:  # every analyst busy: it waits (FifoCell._queued and longest, written out)
            waits.append(s)
            if len(waits) > cell.max_queue:
                while waits[0] <= now:  # never empties: s > now is in it
                    popleft()
                if len(waits) > cell.max_queue:
                    cell.max_queue = len(waits)
            wait = s - now
            cell.queue_area += wait
            cell.sum_wait += wait
        else:
            s = now
        try:
            work = work_pop()
        except IndexError:
            work = work_refill()
        e = s + work
        heapreplace(free, e)
        cell.busy_area += work
        cell.sum_sojourn += e - now  # (its completion too is counted when read: FifoCell.stats)
        rep.t_start = s
        rep.callbacks = done_list
        heappush(heap, (e, NORMAL, next(eid), rep))

    receive.never_at_once = True
    return receive


def _arrival_timed(sim, cell, done_list, duplicate):
    """:func:`arrival` for a cell with duty hours or routine work: the routine tasks
    arrived by now are given their starts first, and a start is the first moment on
    duty (``FifoCell.accept`` with ``_slot``, ``_queued`` and ``_given`` written out;
    the same arithmetic, a wait of zero not added)."""
    env, free, waits, slot_from = sim.env, cell.free, cell.waits, cell.slot_from
    heap, eid = env._queue, env._eid
    work_pop, work_refill = pair(cell.work)
    bit, dedupe = cell.bit, cell.dedupe
    counts, reached = arrival_columns(sim.rec, cell.consumer)
    popleft = waits.popleft

    def receive(rep) -> None:
        now = env._now
        if counts is not None:  # Recorder.count_arrival, written out
            eid_ = rep.event.id
            counts[eid_] += 1
            if (first := reached[eid_]) != first:  # still nan (read once): the first arrival
                reached[eid_] = now
        if dedupe:
            ev = rep.event
            if ev.seen & bit:
                duplicate(rep)
                return
            ev.seen |= bit
        rep.t_in = now
        if cell.task_at <= now:
            cell._play_tasks(now)
        cell.arrivals += 1  # also the count of starts given (FifoCell.stats)
        s = free[0]
        s = slot_from(now if s < now else s)
        if s > now:  # every analyst busy, or off duty: it waits
            waits.append(s)
            if len(waits) > cell.max_queue:
                while waits[0] <= now:  # never empties: s > now is in it
                    popleft()
                if len(waits) > cell.max_queue:
                    cell.max_queue = len(waits)
            wait = s - now
            cell.queue_area += wait
            cell.sum_wait += wait
        try:
            work = work_pop()
        except IndexError:
            work = work_refill()
        e = s + work
        heapreplace(free, e)
        cell.busy_area += work
        cell.sum_sojourn += e - now  # (its completion too is counted when read: FifoCell.stats)
        rep.t_start = s
        rep.callbacks = done_list
        heappush(heap, (e, NORMAL, next(eid), rep))

    receive.never_at_once = True
    return receive


def work_end(sim, cell, absorbed):
    """The end of a report's work at a plain cell (the report is its own SimPy event,
    see :class:`.items.Report`): record what a consumer now knows, pass the
    report on (:func:`_routed`: a plain ``choose`` written out). ``absorbed`` ends a
    report no link takes."""
    env = sim.env
    analysis, forward = cell.analysis, cell.forward
    known = knows(sim.rec, cell.consumer)
    if getattr(forward, "tables", None) is not None:
        return _routed(sim, cell, known, absorbed)

    def done(rep) -> None:
        now = env._now
        if known is not None:
            known(rep, now)
        if analysis:
            cell.analyse(rep)
        forward(rep)

    return done


def _routed(sim, cell, known, absorbed):
    """:func:`work_end` for a cell with plain ``choose`` routing, the routing written
    out (its forward's ``tables`` and ``draws``: see :func:`.hotpath.choose`). The end
    of work is a SimPy callback, so no zero-delay hop is under way (the depth is 0): a
    fixed zero hop into a plain cell is that cell's arrival, called at once."""
    env, analysis, index = sim.env, cell.analysis, cell.index
    u_pop, u_refill = cell.forward.draws
    moves = [[(acc, hop if receive is None else receive) for acc, hop, receive in table]
             for table in cell.forward.tables]

    times, via, precise, report = known_columns(sim.rec, cell.consumer)
    if times is not None:
        known = None  # written out below

    def done(rep) -> None:
        now = env._now
        if times is not None:  # knows(): Recorder.known on this consumer's columns, written out
            eid_ = rep.event.id
            if (first := times[eid_]) != first:  # still nan (read once): the first time counts
                times[eid_] = now
                via[eid_] = rep.prev
                precise[eid_] = 1 if rep.precise else 0
                report[eid_] = rep.id
        elif known is not None:
            known(rep, now)
        if analysis:
            cell.analyse(rep)
        try:
            x = u_pop()
        except IndexError:
            x = u_refill()
        for acc, move in moves[rep.event.kind]:
            if x < acc:
                rep.prev = index
                move(rep)
                return
        absorbed(rep)

    return done


def known_columns(rec, consumer: int) -> tuple:
    """The columns :func:`knows` writes for one consumer whose channels do not count
    (when it first knew each event, from which node, whether precisely, by which
    report), or four ``None``."""
    if consumer < 0 or rec.by_channel[consumer] is not None:
        return None, None, None, None
    return rec.arr_t[consumer], rec.arr_via[consumer], rec.arr_precise[consumer], rec.arr_report[consumer]


def knows(rec, consumer: int):
    """:meth:`.Recorder.known` for one consumer, on its own columns (``None`` for a
    node that is not a consumer)."""
    if consumer < 0:
        return None
    if rec.by_channel[consumer] is not None:  # its channels count: the recorder's own method keeps them
        return lambda rep, now: rec.known(rep.event.id, consumer, now, rep.prev, rep.precise, rep.id)
    times, via, precise, report = known_columns(rec, consumer)

    def known(rep, now: float) -> None:
        eid = rep.event.id
        if (first := times[eid]) != first:  # still nan (read once): the first time counts
            times[eid] = now
            via[eid] = rep.prev
            precise[eid] = 1 if rep.precise else 0
            report[eid] = rep.id

    return known


def arrival_columns(rec, consumer: int) -> tuple:
    """The columns :meth:`.Recorder.count_arrival` writes for one consumer (how many
    reports of each event reached it, and when the first did), or ``(None, None)``
    for a node that is not a consumer."""
    if consumer < 0:
        return None, None
    return rec.arr_n[consumer], rec.reach_t[consumer]


def counts_arrival(rec, consumer: int):
    """:meth:`.Recorder.count_arrival` for one consumer, on its own columns."""
    if consumer < 0:
        return None
    count, reached = rec.arr_n[consumer], rec.reach_t[consumer]

    def count_arrival(eid: int, now: float) -> None:
        count[eid] += 1
        if (first := reached[eid]) != first:  # still nan (read once)
            reached[eid] = now

    return count_arrival
