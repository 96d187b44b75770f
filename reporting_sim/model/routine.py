"""A staff cell's routine work without a SimPy event per task.

Routine tasks (``[cells.X.background]``) arrive as a Poisson stream into the cell's
inbox, each taking one analyst for its work time, first in first out with the reports
(:class:`.nodes.BackgroundJob`). Nothing outside the cell sees a task: it only takes
an analyst's time. So the cell need not hear of a task when it arrives or ends; it
works them out when it is next looked at. :class:`RoutineWork` keeps the time of the
next task's arrival and the end times of the tasks being worked (a small heap), and
:meth:`RoutineWork.advance` plays every arrival and end up to the present moment in
time order, before anything else happens at the cell (a report arriving, a report's
work ending, the duty starting, the statistics being read: :meth:`.nodes.Cell.catch_up`).
It does for each task what the per-task path's ``Cell._enqueue`` and ``Cell._free``
do, in the same order on the same numbers, so the cell's state, its monitors (the
time-weighted areas summed in the same order) and every random draw are exactly what
they are with one SimPy event per task.

The one thing that cannot wait is a report (or an INTREP) that an analyst takes up
when a task ends: its work must start at that moment, as a SimPy event. So whenever
work other than routine waits in the inbox while tasks are being worked, the earliest
task end is put on SimPy's queue as a :class:`.wake.Wake` (:meth:`RoutineWork.wake`);
when it comes, the cell advances to it and the analyst starts what is next (through
``Cell._free``). A year of minusma-2015 has about 43,000 routine tasks (two SimPy
events each on the per-task path) and about 6,700 such wakes.

``Simulation(..., per_task_routine=True)`` runs the per-task path instead (a SimPy
process feeding the tasks into the inbox, each task its own event while worked);
``tests/test_routine.py`` checks that the two give the same records.
"""

from __future__ import annotations

import math
from heapq import heappop, heappush, heapreplace

from .draws import buffered, draw
from .wake import NORMAL, Wake

INF = math.inf


class RoutineWork:
    """The routine work of one cell, played lazily (see the module docstring).
    ``gap`` and ``work`` give a batch of draws (the hours between tasks, a task's work
    time), handed out in order as their samplers would."""

    __slots__ = ("cell", "next_at", "ends", "due", "wake_at", "env", "advance", "_job", "_gap", "_work")

    def __init__(self, cell, gap, work, job_class):
        self.cell = cell
        self._job = job_class
        self._gap, self._work = buffered(gap), buffered(work)
        self.env = cell.sim.env
        self.next_at = draw(self._gap)  # the first task's arrival (the per-task process draws it at 0)
        self.ends: list[float] = []  # end times of the tasks being worked
        self.due = self.next_at  # the earliest of both: nothing to do before it
        self.wake_at = INF  # the earliest wake on SimPy's queue
        self.advance = self._advance if cell.inbox is not None else _OpenAdvance(self).advance

    def _advance(self, t: float) -> None:
        """Play every task arrival and task end at or before ``t``, in time order,
        through the cell's own methods (a cell with an inbox limit)."""
        ends, cell = self.ends, self.cell
        while self.due <= t:
            if ends and ends[0] < self.next_at:
                cell._free(heappop(ends))  # what the per-task path's end of a task does
                cell.routine_done += 1
            else:
                at = self.next_at
                job = self._job(draw(self._work), at)
                self.next_at = at + draw(self._gap)
                cell._enqueue(job, at)
            self.due = min(self.next_at, ends[0]) if ends else self.next_at

    def started(self, end: float) -> None:
        """An analyst took up a task that ends at ``end`` (from ``Cell._start``)."""
        heappush(self.ends, end)
        if end < self.due:
            self.due = end
        self.wake()

    def wake(self) -> None:
        """If other work waits and a task is being worked, make sure SimPy wakes the
        cell at the earliest task end (a wake already due by then is enough)."""
        ends = self.ends
        if ends and self.cell.work_waiting and ends[0] < self.wake_at:
            self.wake_at = at = ends[0]
            env = self.env
            # pushed at the exact end time (Environment.schedule adds a delay to now,
            # which need not give back the same float)
            heappush(env._queue, (at, NORMAL, next(env._eid), Wake(self._woken, None)))

    def _woken(self, _wake) -> None:
        now = self.env._now
        if now == self.wake_at:
            self.wake_at = INF
        self.advance(now)
        self.wake()


class _OpenAdvance:
    """:meth:`RoutineWork._advance` for a cell without an inbox limit, written out on
    the cell's numbers, copied into slots while it runs (:meth:`load`, :meth:`store`).
    The arithmetic is the cell's own (``Cell._account``, ``_enqueue``, ``_start``,
    ``_free``), in the same order; a task ending while other work waits goes through
    ``Cell._free`` itself (the analyst may take up a report). Since the first-in-
    first-out cell (:mod:`.fifo`) plays its tasks itself, this serves cells with
    current pull (asifu of minusma-2015: about 7,000 tasks a simulated year)."""

    __slots__ = ("rw", "cell", "ends", "job", "gap", "work", "inbox", "lo", "hi", "wraps", "c",
                 "busy", "t_last", "busy_area", "queue_area", "waiting", "longest")

    def __init__(self, rw: RoutineWork):
        cell = self.cell = rw.cell
        self.rw, self.ends, self.job, self.gap, self.work = rw, rw.ends, rw._job, rw._gap, rw._work
        self.inbox = cell.queue if cell.pull is None else cell.queue_lt  # a task is long-term work
        self.lo, self.hi, self.wraps = _duty_hours(cell)
        self.c = cell.c

    def load(self) -> None:
        cell = self.cell
        self.busy, self.t_last, self.busy_area, self.queue_area = cell.busy, cell.t_last, cell.busy_area, cell.queue_area
        self.waiting, self.longest = len(cell.queue) + len(cell.queue_lt), cell.max_queue

    def store(self) -> None:
        cell = self.cell
        cell.busy, cell.t_last, cell.busy_area, cell.queue_area = self.busy, self.t_last, self.busy_area, self.queue_area
        cell.max_queue = self.longest

    def task_ends(self, now: float) -> None:
        """The task ending first ends ``now``."""
        ends = self.ends
        if self.cell.work_waiting:  # the analyst may take up a report: the cell's own method
            self.store()
            self.cell._free(heappop(ends))
            self.load()
            return
        dt = now - self.t_last  # Cell._account, written out (here and below)
        if dt:
            self.busy_area += self.busy * dt
            self.queue_area += self.waiting * dt
            self.t_last = now
        if self.waiting and (self.lo <= now % 24.0 < self.hi) != self.wraps:  # on duty, only tasks wait
            self.waiting -= 1
            heapreplace(ends, now + self.inbox.popleft().work)
        else:
            heappop(ends)
            self.busy -= 1

    def task_arrives(self, now: float) -> float:
        """The task arriving ``now``; gives the next one's arrival."""
        pop, refill = self.work
        try:
            work = pop()
        except IndexError:
            work = refill()
        dt = now - self.t_last
        if dt:
            self.busy_area += self.busy * dt
            self.queue_area += self.waiting * dt
            self.t_last = now
        if self.busy < self.c and (self.lo <= now % 24.0 < self.hi) != self.wraps:  # free, on duty
            self.busy += 1
            heappush(self.ends, now + work)
        else:
            self.inbox.append(self.job(work, now))
            self.waiting += 1
            if self.waiting > self.longest:
                self.longest = self.waiting
        return now + draw(self.gap)

    def advance(self, t: float) -> None:
        """Play every task arrival and end at or before ``t``, in time order."""
        self.load()
        rw, ends = self.rw, self.ends
        at, done = rw.next_at, 0
        while True:
            end = ends[0] if ends else INF
            if end < at:
                if end > t:
                    break
                self.task_ends(end)
                done += 1
            elif at <= t:
                at = self.task_arrives(at)
            else:
                break
        self.store()
        self.cell.routine_done += done
        rw.next_at = at
        rw.due = min(at, ends[0]) if ends else at


def _duty_hours(cell) -> tuple[float, float, bool]:
    """``(lo, hi, wraps)``: the cell is on duty at hour ``t`` when ``(lo <= t % 24 < hi)
    != wraps`` (``Cell.on_duty``: duty past midnight is off duty from its end to its
    start; without duty hours always, as ``t % 24`` is below 24)."""
    duty = cell.duty
    if duty is None:
        return 0.0, 24.0, False
    if duty.start_h < duty.end_h:
        return duty.start_h, duty.end_h, False
    return duty.end_h, duty.start_h, True
