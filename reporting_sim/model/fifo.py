"""A first-in-first-out staff cell: a job's start is known the moment it arrives.

In a cell whose ``c`` analysts take work first in, first out, never interrupted, the
job arriving ``n``-th starts at the first moment on duty at or after
``max(a_n, f_n)``, where ``a_n`` is its arrival and ``f_n`` the earliest moment one of
the analysts is free once every job before it has been given its start (the
Kiefer-Wolfowitz recursion of the multi-server queue; the analysts' free times are the
ends of the work they took up, kept in a small heap). So :class:`FifoCell` gives each
job its start and its end when it arrives (:meth:`FifoCell._slot`): the only SimPy
event a report makes at the cell is the end of its work; routine tasks make none at
all (each is given its start as it arrives, played before anything else is given one:
:meth:`FifoCell.catch_up`); duty hours need no daily event. Starts given in arrival
order are non-decreasing, so the starts of the jobs still waiting form a sorted deque
(``waits``), which gives the inbox's length when it matters (its limit, its longest).

Statistics are totals: each job adds its work to the busy area and its wait to the
queue area when it is given its start; when they are read (the end of the run, the end
of the warm-up) the part after that moment of the jobs not finished is taken off again
(:meth:`FifoCell._unfinished`: reports and INTREP jobs are found on SimPy's queue as
the events of their end of work, routine tasks in ``tasks``). The completed reports are
counted when read as well: those given a start since the reset, less those still open;
so is the sum of their sojourns (each report's end less its arrival, added when it is
given its start): an end of work counts nothing.

Against the event-by-event cell (:class:`.nodes.Cell`, still used for a cell with
``current_pull``, which is not first in, first out, and for every cell with
``Simulation(..., event_starts=True)``): every random number is the same (a report's
work is drawn when it is given its start, there at the moment it starts; first in,
first out the two orders are one), so are the starts and ends of work. What differs:
the areas are summed in another order (the last bits); a report arriving at the very
moment a duty starts no longer overtakes those waiting for that start; and SimPy holds
events in another order where they fall at the same time. ``tests/test_fifo.py``
compares the two.
"""

from __future__ import annotations

import math
from collections import deque
from heapq import heappush, heapreplace

from .context import Sim
from .draws import buffered, draw
from .items import Report
from .nodes import OVERFLOW, S_QUEUE, S_SANITISE, S_WORK, Cell, IntrepJob
from .plan import NodePlan
from .wake import NORMAL

INF = math.inf
REPORT, INTREP_JOB, TASK = 0, 1, 2


def on_duty_from(duty):
    """The first moment at or after ``t`` within ``duty`` (``Cell.on_duty``; ``None``:
    always on duty), as a function of ``t``."""
    if duty is None:
        return lambda t: t
    start, end = duty.start_h, duty.end_h

    def day_work(t: float) -> float:  # duty from start to end within one day
        h = t % 24.0
        if h < start:
            return t - h + start
        return t if h < end else t - h + 24.0 + start

    def night_work(t: float) -> float:  # duty past midnight: off from end to start
        h = t % 24.0
        return t - h + start if end <= h < start else t

    return day_work if start < end else night_work


class FifoCell(Cell):
    """A staff cell whose analysts take work first in, first out (see the module
    docstring)."""

    def __init__(self, sim: Sim, plan: NodePlan):
        super().__init__(sim, plan)

    # -- building (the hooks of Cell.__init__) ---------------------------------------
    def _inbox(self, name: str) -> None:
        self.free = [-INF] * self.c  # each analyst's free time, a heap
        self.waits: deque = deque()  # the starts of the jobs that wait, in order (some past)
        self.tasks: deque = deque()  # (arrival, start, end) of routine tasks, some finished
        self.task_at = INF  # the next routine task's arrival
        self.routine = None  # (gap, work) draws of the routine tasks, as pairs (.draws)
        self.slot_from = on_duty_from(self.duty)
        duty = self.duty  # (start, end) of a duty within one day, (0, 24) of none; None past midnight
        self.day_hours = (0.0, 24.0) if duty is None else (duty.start_h, duty.end_h) if duty.start_h < duty.end_h else None

    def _duty_routine(self) -> None:
        pass  # duty hours are read when a job is given its start

    def _routine_work(self, name: str, mean_gap: float, work_h) -> None:
        streams = self.sim.streams
        r_gap, r_work = streams.get(f"background:{name}"), streams.get(f"background_work:{name}")
        self.routine = (buffered(lambda n: r_gap.exponential(mean_gap, n)),
                        buffered(lambda n: work_h.batch(r_work, n)))
        self.task_at = draw(self.routine[0])  # the first task (the per-task process draws it at 0)
        if self.inbox is None and self.day_hours is not None:
            self._play_tasks = self._play_open

    # -- giving starts ---------------------------------------------------------------
    def _slot(self, now: float) -> float:
        """The start of a job arriving ``now``, after those before it."""
        s = self.free[0]
        return self.slot_from(now if s < now else s)

    def _queued(self, now: float, s: float) -> bool:
        """A job arriving ``now`` that starts at ``s``: counted in the inbox while it
        waits; ``False`` when it would wait and the inbox is full."""
        if s > now:
            waits = self.waits
            if self.inbox is not None:
                self._trim(now)
                if len(waits) >= self.inbox:
                    return False
            waits.append(s)
            if len(waits) > self.max_queue:
                self.longest(now)
            self.queue_area += s - now
        return True

    def _trim(self, now: float) -> None:
        """Forget the starts in ``waits`` that have come by ``now``."""
        waits = self.waits
        while waits and waits[0] <= now:
            waits.popleft()

    def longest(self, now: float) -> None:
        """The inbox may be its longest yet: count it (``waits`` is trimmed only here
        and before an inbox limit is checked: more starts than the longest inbox
        yet are kept at most)."""
        self._trim(now)
        if len(self.waits) > self.max_queue:
            self.max_queue = len(self.waits)

    def _given(self, s: float, work: float) -> float:
        """An analyst takes up ``work`` hours at ``s``; gives its end."""
        e = s + work
        heapreplace(self.free, e)
        self.busy_area += work
        return e

    def catch_up(self, now: float) -> None:
        """Give every routine task arriving by ``now`` its start (called first whenever
        a job is given one, and before the statistics are read)."""
        if self.task_at <= now:
            self._play_tasks(now)

    def _play_tasks(self, now: float) -> None:
        """The routine tasks arriving by ``now``, each given its start (the work drawn
        as it arrives, then the next one's gap, as on the per-task path)."""
        (gap_pop, gap_refill), (work_pop, work_refill) = self.routine
        at, tasks = self.task_at, self.tasks
        while at <= now:
            try:
                work = work_pop()
            except IndexError:
                work = work_refill()
            s = self._slot(at)
            if self._queued(at, s):
                tasks.append((at, s, self._given(s, work)))
                self.routine_done += 1  # taken off again if not done when read (_unfinished)
            else:
                self.routine_dropped += 1
            try:
                at += gap_pop()
            except IndexError:
                at += gap_refill()
        self.task_at = at
        while tasks and tasks[0][2] <= now:
            tasks.popleft()

    def _play_open(self, now: float) -> None:
        """:meth:`_play_tasks` for a cell without an inbox limit (no task is dropped),
        ``_slot``, ``_queued`` and ``_given`` written out on local variables (a year of
        minusma-2015 plays about 43,000 tasks): the same arithmetic in the same order.
        Duty within one day (or none: from 0 to 24) is written out too (``day_work`` of
        :func:`on_duty_from`; a cell on duty past midnight plays its tasks through
        :meth:`_play_tasks`). A task that has
        ended by ``now`` is not kept in ``tasks`` (only the unfinished are read there,
        and ``now`` never goes back)."""
        (gap_pop, gap_refill), (work_pop, work_refill) = self.routine
        at, tasks, free, waits = self.task_at, self.tasks, self.free, self.waits
        busy_area, queue_area, done = self.busy_area, self.queue_area, 0
        start, end = self.day_hours
        while at <= now:
            try:
                work = work_pop()
            except IndexError:
                work = work_refill()
            s = free[0]
            if s < at:
                s = at
            h = s % 24.0  # day_work, written out
            if h < start:
                s = s - h + start
            elif h >= end:
                s = s - h + 24.0 + start
            if s > at:
                waits.append(s)
                if len(waits) > self.max_queue:
                    self.longest(at)
                queue_area += s - at
            e = s + work
            heapreplace(free, e)
            busy_area += work
            if e > now:
                tasks.append((at, s, e))
            done += 1
            try:
                at += gap_pop()
            except IndexError:
                at += gap_refill()
        self.busy_area, self.queue_area = busy_area, queue_area
        self.routine_done += done
        self.task_at = at
        while tasks and tasks[0][2] <= now:
            tasks.popleft()

    def accept(self, rep: Report) -> None:
        now = rep.t_in
        if self.task_at <= now:
            self._play_tasks(now)
        self.arrivals += 1
        s = self._slot(now)
        if not self._queued(now, s):
            self.overflow += 1
            self.sim.end(rep, self.index, OVERFLOW)
            return
        try:
            work = self._work_pop()  # self.work(), from its buffer (see .draws)
        except IndexError:
            work = self._work_refill()
        e = self._given(s, work)
        self.started += 1  # taken off again if not started when read (_unfinished)
        self.sum_wait += s - now
        self.sum_sojourn += e - now  # taken off again if not finished when read (_unfinished)
        rep.t_start = s
        sim = self.sim
        if sim.tracing and s < sim.horizon:
            sim.rec.step(rep.id, rep.parent, rep.event.id, self.index, S_QUEUE, now, s)
            sim.rec.step(rep.id, rep.parent, rep.event.id, self.index, S_WORK, s, e)
        rep.callbacks = self.on_done
        env = sim.env  # Environment.schedule written out (see tests/test_simpy_contract.py)
        heappush(env._queue, (e, NORMAL, next(env._eid), rep))

    def write_intrep(self, reps: list, links: list) -> None:
        sim = self.sim
        now = sim.env._now
        self.catch_up(now)
        for r in reps:
            r.t_in = now
        s = self._slot(now)
        if not self._queued(now, s):
            for r in reps:
                self.overflow += 1
                sim.end(r, self.index, OVERFLOW)
            return
        job = IntrepJob(reps, links, now)
        job.t_start = s
        e = self._given(s, self.intrep())
        if sim.tracing and s < sim.horizon:
            for r in reps:
                sim.rec.step(r.id, r.parent, r.event.id, self.index, S_QUEUE, now, s)
                sim.rec.step(r.id, r.parent, r.event.id, self.index, S_SANITISE, s, e)
        job.callbacks = self.on_intrep_done
        env = sim.env
        heappush(env._queue, (e, NORMAL, next(env._eid), job))

    # -- ends of work ------------------------------------------------------------------
    def _done(self, rep: Report) -> None:
        now = self.sim.env._now  # (its completion and sojourn were counted at its start: stats)
        if self.consumer >= 0:
            self._known(rep, now)
        if self.analysis:
            self.analyse(rep)
        self.forward(rep)

    def _done_intrep(self, job) -> None:
        self.intreps += 1
        self.sim.send_intrep(job.reps, job.links)

    # -- statistics ----------------------------------------------------------------------
    def _account(self, now: float) -> None:
        pass  # the areas are totals (see the module docstring)

    def _open(self):
        """``(arrival, start, end, what)`` of every job that may not be finished: the
        reports and INTREP jobs whose end is on SimPy's queue, the routine tasks kept."""
        done, intrep = self.on_done, self.on_intrep_done
        for e, _prio, _eid, ev in self.sim.env._queue:
            cbs = ev.callbacks
            if cbs is done:
                yield ev.t_in, ev.t_start, e, REPORT
            elif cbs is intrep:
                yield ev.t_in, ev.t_start, e, INTREP_JOB
        for a, s, e in self.tasks:
            yield a, s, e, TASK

    def _unfinished(self, now: float) -> dict:
        """What the jobs not finished by ``now`` hold after ``now``: their work and
        wait still to come, the reports among them not started (and their waits) and
        the routine tasks not done; how many are being worked and how many wait."""
        out = dict.fromkeys(("busy_area", "queue_area", "started", "sum_wait", "routine_done",
                             "busy", "queued", "open", "sum_sojourn"), 0)
        for a, s, e, what in self._open():
            if what == TASK and e <= now:
                continue  # done
            out["routine_done"] += what == TASK
            if what == REPORT and a >= self.t_reset:  # given its start since the reset
                out["open"] += 1
                out["sum_sojourn"] += e - a
            if s < now:
                out["busy"] += 1
                out["busy_area"] += e - now
                continue
            out["queued"] += 1
            out["busy_area"] += e - s
            out["queue_area"] += s - now
            if what == REPORT and a >= self.t_reset:
                out["started"] += 1
                out["sum_wait"] += s - a
        return out

    def reset_stats(self, now: float) -> None:
        super().reset_stats(now)
        late = self._unfinished(now)  # what the window starting now holds of the jobs in it
        self.busy_area, self.queue_area = late["busy_area"], late["queue_area"]
        self.routine_done, self.max_queue = late["routine_done"], late["queued"]

    def waiting(self) -> int:
        now = self.sim.env._now
        return sum(1 for s in self.waits if s > now)

    def waiting_jobs(self, now: float) -> list:
        """The reports and INTREP jobs not started by ``now``, in the order they came."""
        done, intrep = self.on_done, self.on_intrep_done
        heap = sorted(self.sim.env._queue, key=lambda entry: entry[2])  # the order they were given starts
        return [ev for _e, _p, _eid, ev in heap
                if (ev.callbacks is done or ev.callbacks is intrep) and ev.t_start >= now]

    def stats(self, now: float) -> dict:
        self.catch_up(now)
        late = self._unfinished(now)
        out = self._figures(now, late["queued"], late["busy"])
        given = self.arrivals if self.inbox is None else self.started
        out.update({
            # without an inbox limit every arrival is given its start (the hot path
            # counts arrivals only: .hotcell)
            "started": given - late["started"],
            # a report is given its start as it arrives: of those given one since the
            # reset, every one not still open (worked or waiting) is completed (the ends
            # of work count nothing)
            "completed": given - late["open"],
            "routine_done": self.routine_done - late["routine_done"],
            "sum_wait_h": self.sum_wait - late["sum_wait"],
            "sum_sojourn_h": self.sum_sojourn - late["sum_sojourn"],
            "busy_area": self.busy_area - late["busy_area"],
            "queue_area": self.queue_area - late["queue_area"],
        })
        return out
