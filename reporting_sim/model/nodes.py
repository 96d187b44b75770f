"""The nodes of the reporting network at run time: collectors, staff cells, commanders.

Every node receives reports (:meth:`Node.receive`), may record a consumer arrival,
drops repeats of an event it already holds (``dedupe``), does its own work
(:meth:`accept`) and passes reports on (:meth:`Node.forward`): it first marks the
report's classification (``classify``), then picks links,

* ``each`` routing: every link whose filter admits the event fires with its own
  chance ``p``; the first firing link takes the report, each further one a copy;
* ``choose`` routing: at most one link is picked, with chances ``p`` (the rest of the
  probability leaves the network), as in a Jackson queueing network,

and hands the chosen links to the engine's sharing gates (:mod:`.gates`).

Staff cells are FIFO queues served by ``analysts`` in parallel, written as callbacks
on the report itself as a SimPy event (:class:`.items.Report`) rather than a process
per report (several times cheaper); with
``current_pull`` they keep current and long-term reports apart and an analyst picks
current work first with that chance. They also write INTREPs (sanitised reports of
imagery) as queued work, do their routine work (a SimPy process feeding tasks into
the same inbox), and keep their own time-weighted monitors. Collectors turn
ground-truth events into reports (see :class:`Collector`). Commanders pass word on at
once.
"""

from __future__ import annotations

from collections import deque
from heapq import heappush

from .records import REPORT_STATES, STEP_KINDS
from .context import Sim
from .items import GROUP, UNIT, Report
from . import draws, hotcell
from .plan import NodePlan
from .routine import RoutineWork
from .wake import NORMAL

ABSORBED = REPORT_STATES.index("absorbed")
DUPLICATE = REPORT_STATES.index("duplicate")
OVERFLOW = REPORT_STATES.index("overflow")
WITHHELD = REPORT_STATES.index("withheld")
NOT_SHARED = REPORT_STATES.index("not_shared")
(S_OBSERVE, S_WRITE, S_MEETING, S_TRANSIT, S_QUEUE, S_WORK, S_END, S_SANITISE,
 S_HOLD, S_BOARD, S_COPY) = range(len(STEP_KINDS))


class Link:
    """A link at run time: its chance, transit sampler, meeting, kind filter, and a
    fixed gate (``blocked``: a terminal state every report on it meets, or ``None``)."""

    __slots__ = ("src", "dst", "p", "transit", "meeting", "allowed", "blocked", "go", "open", "fixed",
                 "t_pop", "t_refill", "src_index")

    def __init__(self, src, dst, p, transit, meeting, allowed, blocked=None):
        self.src = src  # Node
        self.src_index = src.index  # what a report on it has as ``prev`` (Simulation.send)
        self.dst = dst  # Node
        self.p = p
        self.transit = transit  # zero-argument sampler
        self.fixed = getattr(transit, "fixed", None)  # a fixed transit time: no call needed
        self.t_pop, self.t_refill = hotcell.pair(transit)  # transit(), from its buffer (see .draws)
        self.meeting = meeting  # plan.Calendar or None
        self.allowed = allowed  # frozenset of kind indices, or None for all
        self.blocked = blocked
        self.go = None  # a specialised send for a plain link (see .hotpath)
        # no fixed gate and no competition on it: a report marked for the whole mission
        # without raw imagery passes every gate (see .gates.gate)
        self.open = blocked is None and not (src.hoard is not None and dst.index in src.rivals)


class Node:
    """Behaviour shared by all nodes (see the module docstring)."""

    kind = "node"
    knows_on_arrival = True  # a consumer knows of an event when the report reaches it

    def __init__(self, sim: Sim, plan: NodePlan):
        """A node at run time from its :class:`.plan.NodePlan` (switches applied)."""
        spec = plan.spec
        name = self.name = plan.name
        self.sim = sim
        self.index = plan.index
        self.bit = 1 << plan.index
        self.dedupe = spec.dedupe
        self.choose = spec.routing == "choose"
        self._route = self._choose_one if self.choose else self._each_firing  # kind, links -> chosen
        self.consumer = plan.consumer
        self.links: list[Link] = []
        self.u = draws.uniform(sim.streams, f"route:{name}")
        self._u_pop, self._u_refill = self.u.pair  # the same buffer, for _each_firing
        self.groups = frozenset(spec.groups)
        self.home_group = spec.groups[0] if spec.groups else None
        self.org = spec.org or name
        self._set_classify(sim, plan.classify)
        self.intrep = spec.intrep_h.sampler(sim.streams.get(f"intrep:{name}")) if spec.intrep_h else None
        hoard = self.hoard = plan.hoard
        self.rivals = plan.rivals  # node indices
        self.coping = plan.coping
        if hoard:
            self.u_hoard = sim.streams.uniform_sampler(f"hoard:{name}")
        self.analysis = spec.analysis
        self.on_arrival = [self.receive]  # a report in transit is its own event (.items.Report)
        self.boards: list = []  # (board, list of held items) for boards this node sits on
        # board registers (set by the engine for analysis members of deconflicting boards):
        # the places of the other members, its own places entered at once (consult), the chance
        self.peer_slots = 0
        self.live_slots = 0
        self.deconflict = 0.0
        self.reach = list(plan.reach)  # per kind: bit mask of the consumers reachable from here
        self._count_arrival = hotcell.counts_arrival(sim.rec, self.consumer)
        self._known = hotcell.knows(sim.rec, self.consumer)

    def _set_classify(self, sim: Sim, cl) -> None:
        """This node's chances to mark a report unit- or group-only (``cl``: the plan's
        classification, or ``None``), and their stream."""
        self.p_unit = cl.unit if cl else 0.0
        self.p_group = cl.group if cl else 0.0
        self.classifies = any((self.p_unit, self.p_group))  # forward marks reports here
        if cl:
            self.u_classify = sim.streams.uniform_sampler(f"classify:{self.name}")

    # -- arriving ------------------------------------------------------------------
    def receive(self, rep: Report) -> None:
        sim = self.sim
        ev = rep.event
        now = sim.env._now  # the clock does not move in this call
        if self.consumer >= 0:  # Recorder.count_arrival and .known, on this consumer's columns
            self._count_arrival(ev.id, now)
            if self.knows_on_arrival:
                self._known(rep, now)
        if self.dedupe:
            if ev.seen & self.bit:
                sim.end(rep, self.index, DUPLICATE)
                return
            ev.seen |= self.bit
        if self.boards:
            self.hold_for_boards(rep)
            if self.peer_slots and self.deconflicted(rep):
                return
        if self.analysis and self.knows_on_arrival:
            self.analyse(rep)
        rep.t_in = now
        self.accept(rep)

    def deconflicted(self, rep: Report) -> bool:
        """A board's register says another member holds or works on ``rep``'s event, and
        ``rep`` would be independent work here (it did not come from an analysis cell):
        with chance ``deconflict`` this member does not analyse it again but notes it
        (knows it now and passes it on). One draw per report that would be independent
        work, whether or not the event is declared (common random numbers)."""
        if rep.lineage:
            return False
        u = self.u_deconflict()
        if not rep.event.declared & self.peer_slots or u >= self.deconflict:
            return False
        sim = self.sim
        if self.consumer >= 0 and not self.knows_on_arrival:
            sim.rec.known(rep.event.id, self.consumer, sim.env._now, rep.prev, rep.precise, rep.id)
        rep.t_in = sim.env._now
        self.forward(rep)
        return True

    def take_note(self, rep: Report) -> None:
        """Told of an event at a board that another member has already analysed: know
        it and pass it on without working it again (no duplication of effort)."""
        sim = self.sim
        ev = rep.event
        if self.consumer >= 0:
            sim.rec.count_arrival(ev.id, self.consumer, sim.env._now)
            sim.rec.known(ev.id, self.consumer, sim.env._now, rep.prev, rep.precise, rep.id)
        ev.seen |= self.bit
        if self.boards:
            self.hold_for_boards(rep)
        rep.t_in = sim.env._now
        self.forward(rep)

    def analyse(self, rep: Report) -> None:
        """This analysis cell has worked ``rep``: independently if no other analysis
        cell worked it before it came here, or if it redid such work on purpose."""
        ev = rep.event
        if not ev.analysed & self.bit:
            ev.analysed |= self.bit
            if not rep.lineage or rep.rework:
                ev.independent += 1
        rep.lineage |= self.bit

    def hold_for_boards(self, rep: Report) -> None:
        if self.live_slots:  # it enters what it gets in its boards' registers at once (consult)
            rep.event.declared |= self.live_slots
        item = (rep.event, rep.cls, rep.cls_group, rep.cls_org, rep.imagery, rep.precise, rep.lineage)
        for _board, held in self.boards:
            held.append(item)

    def accept(self, rep: Report) -> None:
        self.forward(rep)

    # -- passing on ----------------------------------------------------------------
    def classify(self, rep: Report) -> None:
        """Mark ``rep`` group- or unit-only with this node's chances (never lower)."""
        u = self.u_classify()
        if u < self.p_unit:
            if rep.cls < UNIT:
                rep.cls, rep.cls_org = UNIT, self.org
        elif u < self.p_unit + self.p_group and rep.cls < GROUP and self.home_group:
            rep.cls, rep.cls_group = GROUP, self.home_group

    def forward(self, rep: Report, links=None) -> None:
        """Pass ``rep`` on along this node's links (or ``links``), or end it here."""
        sim = self.sim
        if self.classifies:
            self.classify(rep)
        chosen = self._route(rep.event.kind, self.links if links is None else links)
        if not chosen:
            sim.end(rep, self.index, ABSORBED)
        elif len(chosen) == 1 and (sim.ungated or chosen[0].open and not rep.cls and rep.imagery is None):
            sim.send(rep, chosen[0])  # Link.open, a mission-wide report, no raw imagery: every gate passes it
        else:
            sim.dispatch(self, rep, chosen)

    def _choose_one(self, kind: int, links: list) -> list:
        """``choose`` routing: one draw picks at most one of the links admitting ``kind``."""
        u = self.u()
        acc = 0.0
        for link in links:
            if link.allowed is None or kind in link.allowed:
                acc += link.p
                if u < acc:
                    return [link]
        return []

    def _each_firing(self, kind: int, links: list) -> list:
        """``each`` routing: every link admitting ``kind`` fires with its own chance, one
        draw per link always (common random numbers survive edits of ``p``)."""
        pop = self._u_pop  # self.u(), from its buffer (see .draws)
        out = []
        for link in links:
            try:
                u = pop()
            except IndexError:
                u = self._u_refill()
            if u < link.p and (link.allowed is None or kind in link.allowed):
                out.append(link)
        return out

    def write_intrep(self, reps: list, links: list) -> None:
        """Sanitise imagery into an INTREP, then send it on ``links`` (a plain delay
        here; cells queue it as work)."""
        sim = self.sim
        delay = self.intrep()
        if sim.tracing:
            now = sim.env._now
            for r in reps:
                sim.rec.step(r.id, r.parent, r.event.id, self.index, S_SANITISE, now, now + delay)
        sim.clock.after(delay, sim.send_intrep, reps, links)


class IntrepJob:
    """Writing one INTREP for the reports (one per outgoing link) of an imagery report."""

    __slots__ = ("reps", "links", "t_in", "t_start", "event", "callbacks")
    _ok = True  # its own SimPy event while it is worked (see .items.Report)

    def __init__(self, reps: list, links: list, t_in: float):
        self.reps = reps
        self.links = links
        self.t_in = t_in
        self.event = reps[0].event


class BackgroundJob:
    """A piece of a cell's routine work (not a report): it takes an analyst for
    ``work`` hours and passes nothing on."""

    __slots__ = ("work", "t_in", "callbacks")
    _ok = True  # its own SimPy event while it is worked (see .items.Report)
    event = None
    reps = ()

    def __init__(self, work: float, t_in: float):
        self.work = work
        self.t_in = t_in


class Commander(Node):
    """Hears and passes word on at once: no queue, no work time."""

    kind = "commander"


class Cell(Node):
    """A staff cell: a FIFO inbox served by a fixed number of analysts."""

    kind = "cell"
    knows_on_arrival = False  # a consumer cell knows of an event once it has worked it

    def __init__(self, sim: Sim, plan: NodePlan):
        super().__init__(sim, plan)
        spec, name = plan.spec, plan.name
        self.c = spec.analysts
        self.inbox = spec.inbox
        self.work = draws.of(spec.work_h, sim.streams.get(f"work:{name}"))
        self._work_pop, self._work_refill = hotcell.pair(self.work)
        self.duty = spec.duty
        self.pull = spec.current_pull
        self.current_kinds = sim.current_kinds
        # what a job's own SimPy event calls when its work ends (see .items.Report)
        self.on_done = [self._done]
        self.on_routine_done = [self._done_routine]
        self.on_intrep_done = [self._done_intrep]
        self._inbox(name)
        self.reset_stats(0.0)
        self._duty_routine()
        bg = spec.background
        if bg is not None and bg.per_day > 0:
            self._routine_work(name, 24.0 / bg.per_day, bg.work_h)

    def _inbox(self, name: str) -> None:
        """The inbox (and the stream of current pull's choices)."""
        # queue entries: (report or list of reports, links of an INTREP job or None)
        self.queue: deque = deque()
        self.queue_lt: deque = deque()  # long-term work, only with current_pull
        if self.pull is not None:
            self.u_pull = self.sim.streams.uniform_sampler(f"pull:{name}")
        self.busy = 0
        self.routine = None  # a RoutineWork: routine tasks played lazily (see .routine)
        self.work_waiting = 0  # jobs other than routine tasks in the inbox

    def _duty_routine(self) -> None:
        """With duty hours, a daily event at the duty's start takes up what waits."""
        if self.duty is not None:
            self.sim.clock.daily(self.duty.start_h, self._duty_starts)

    def _routine_work(self, name: str, mean_gap: float, work_h) -> None:
        """Routine tasks every ``mean_gap`` hours on average (Poisson), each taking
        ``work_h``: played lazily, or one SimPy event each on the per-task path."""
        sim = self.sim
        if sim.per_task_routine:
            gap = sim.streams.exponential_sampler(f"background:{name}", mean_gap)
            work = work_h.sampler(sim.streams.get(f"background_work:{name}"))
            sim.clock.process(self._routine(gap, work))
        else:  # the same streams, the same batches
            r_gap, r_work = sim.streams.get(f"background:{name}"), sim.streams.get(f"background_work:{name}")
            self.routine = RoutineWork(self, lambda n: r_gap.exponential(mean_gap, n),
                                       lambda n: work_h.batch(r_work, n), BackgroundJob)

    def _routine(self, gap, work):
        """The cell's routine work on the per-task path: a task after each ``gap()``
        hours (Poisson), into the same inbox as the reports."""
        env = self.sim.env
        while True:
            yield env.timeout(gap())
            self._enqueue(BackgroundJob(work(), env._now))

    def catch_up(self, now: float) -> None:
        """Play the routine tasks that arrived or ended by ``now`` (see .routine); called
        first whenever anything happens at the cell."""
        routine = self.routine
        if routine is not None and routine.due <= now:
            routine.advance(now)

    def end_warmup(self, now: float) -> None:
        """The warm-up ends ``now``: the statistics start afresh from the cell's state."""
        self.catch_up(now)
        self._account(now)
        self.reset_stats(now)

    def waiting_jobs(self, now: float) -> list:
        """The jobs (reports, INTREP jobs, routine tasks) in the inbox ``now``, in order."""
        return list(self.queue) + list(self.queue_lt)

    def reset_stats(self, now: float) -> None:
        self.t_last = now
        self.t_reset = now
        self.busy_area = 0.0
        self.queue_area = 0.0
        self.arrivals = 0
        self.started = 0
        self.completed = 0
        self.overflow = 0
        self.intreps = 0
        self.routine_done = 0
        self.routine_dropped = 0
        self.sum_wait = 0.0
        self.sum_sojourn = 0.0
        self.max_queue = self.waiting()

    def waiting(self) -> int:
        return len(self.queue) + len(self.queue_lt)

    def _account(self, now: float) -> None:
        dt = now - self.t_last
        if dt:
            self.busy_area += self.busy * dt
            self.queue_area += (len(self.queue) + len(self.queue_lt)) * dt
            self.t_last = now

    def on_duty(self, now: float) -> bool:
        duty = self.duty
        if duty is None:
            return True
        h = now % 24.0
        if duty.start_h < duty.end_h:
            return duty.start_h <= h < duty.end_h
        return h >= duty.start_h or h < duty.end_h

    def accept(self, rep: Report) -> None:
        """A report reaches the inbox (the hot path: written out for speed)."""
        now = rep.t_in
        routine = self.routine
        if routine is not None and routine.due <= now:
            routine.advance(now)
        dt = now - self.t_last
        if dt:
            self.busy_area += self.busy * dt
            self.queue_area += (len(self.queue) + len(self.queue_lt)) * dt
            self.t_last = now
        self.arrivals += 1
        if self.busy < self.c and (self.duty is None or self.on_duty(now)):
            self._start(rep, now)
        else:
            self._wait(rep)

    def write_intrep(self, reps: list, links: list) -> None:
        now = self.sim.env._now
        for r in reps:
            r.t_in = now
        self._enqueue(IntrepJob(reps, links, now))

    def _enqueue(self, job, now=None) -> None:
        """``job`` is a report to work, an :class:`IntrepJob` or a routine task
        arriving at ``now`` (default: the present moment)."""
        if now is None:
            now = self.sim.env._now
            self.catch_up(now)
        self._account(now)
        normal = job.__class__ is Report
        if normal:
            self.arrivals += 1
        if self.busy < self.c and (self.duty is None or self.on_duty(now)):
            self._start(job, now)
        else:
            self._wait(job)

    def _wait(self, job) -> None:
        """No analyst free (or off duty): into the inbox, unless it is full."""
        if self.inbox is not None and len(self.queue) + len(self.queue_lt) >= self.inbox:
            self._overflow(job)
            return
        if self.pull is not None and (job.event is None or job.event.kind not in self.current_kinds):
            self.queue_lt.append(job)
        else:
            self.queue.append(job)
        waiting = len(self.queue) + len(self.queue_lt)
        if waiting > self.max_queue:
            self.max_queue = waiting
        if job.__class__ is not BackgroundJob:
            self.work_waiting += 1
            if self.routine is not None:
                self.routine.wake()  # an analyst ending a task must take it up at once

    def _overflow(self, job) -> None:
        """The inbox is full: a routine task is dropped, a report (or an INTREP's
        reports) ends here."""
        if job.__class__ is BackgroundJob:
            self.routine_dropped += 1
        for r in ((job,) if job.__class__ is Report else job.reps):
            self.overflow += 1
            self.sim.end(r, self.index, OVERFLOW)

    def _next(self):
        job = self._pick()
        if job.__class__ is not BackgroundJob:
            self.work_waiting -= 1
        return job

    def _pick(self):
        if self.pull is None or not self.queue_lt:
            return self.queue.popleft()
        if not self.queue or self.u_pull() >= self.pull:
            return self.queue_lt.popleft()
        return self.queue.popleft()

    def _start(self, job, now: float) -> None:
        sim = self.sim
        self.busy += 1
        if job.__class__ is Report:
            if job.t_in >= self.t_reset:
                self.started += 1
                self.sum_wait += now - job.t_in
            try:
                work = self._work_pop()  # self.work(), from its buffer (see .draws)
            except IndexError:
                work = self._work_refill()
            if sim.tracing:
                sim.rec.step(job.id, job.parent, job.event.id, self.index, S_QUEUE, job.t_in, now)
                sim.rec.step(job.id, job.parent, job.event.id, self.index, S_WORK, now, now + work)
            job.callbacks = self.on_done
            env = sim.env  # Environment.schedule written out (see tests/test_simpy_contract.py)
            heappush(env._queue, (env._now + work, NORMAL, next(env._eid), job))
            return
        if job.__class__ is BackgroundJob:
            if self.routine is not None:
                self.routine.started(now + job.work)
                return
            job.callbacks = self.on_routine_done
            sim.schedule(job, NORMAL, job.work)
            return
        work = self.intrep()
        if sim.tracing:
            for r in job.reps:
                sim.rec.step(r.id, r.parent, r.event.id, self.index, S_QUEUE, r.t_in, now)
                sim.rec.step(r.id, r.parent, r.event.id, self.index, S_SANITISE, now, now + work)
        job.callbacks = self.on_intrep_done
        sim.schedule(job, NORMAL, work)

    def _free(self, now: float) -> None:
        """An analyst is free at ``now``: account, and start the next job if on duty."""
        self._account(now)
        self.busy -= 1
        if (self.queue or self.queue_lt) and (self.duty is None or self.on_duty(now)):
            self._start(self._next(), now)

    def _done(self, rep) -> None:
        sim = self.sim
        now = sim.env._now
        self.catch_up(now)
        dt = now - self.t_last
        if dt:
            self.busy_area += self.busy * dt
            self.queue_area += (len(self.queue) + len(self.queue_lt)) * dt
            self.t_last = now
        self.busy -= 1
        if (self.queue or self.queue_lt) and (self.duty is None or self.on_duty(now)):
            self._start(self._next(), now)
        if rep.t_in >= self.t_reset:
            self.completed += 1
            self.sum_sojourn += now - rep.t_in
        if self.consumer >= 0:
            self._known(rep, now)
        if self.analysis:
            self.analyse(rep)
        self.forward(rep)

    def _done_routine(self, _job) -> None:
        self._free(self.sim.env._now)
        self.routine_done += 1

    def _done_intrep(self, job) -> None:
        now = self.sim.env._now
        self.catch_up(now)
        self._free(now)
        self.intreps += 1
        self.sim.send_intrep(job.reps, job.links)

    def _duty_starts(self) -> None:
        now = self.sim.env._now
        self.catch_up(now)
        self._account(now)
        while (self.queue or self.queue_lt) and self.busy < self.c:
            self._start(self._next(), now)

    def stats(self, now: float) -> dict:
        """The cell's counters and areas since the last reset, up to ``now``."""
        self.catch_up(now)
        self._account(now)
        return self._figures(now, self.waiting(), self.busy)

    def _figures(self, now: float, queued: int, busy: int) -> dict:
        return {
            "cell": self.name,
            "analysts": self.c,
            "observed_h": now - self.t_reset,
            "arrivals": self.arrivals,
            "started": self.started,
            "completed": self.completed,
            "overflow": self.overflow,
            "intreps": self.intreps,
            "routine_done": self.routine_done,
            "routine_dropped": self.routine_dropped,
            "sum_wait_h": self.sum_wait,
            "sum_sojourn_h": self.sum_sojourn,
            "busy_area": self.busy_area,
            "queue_area": self.queue_area,
            "queue_at_end": queued,
            "busy_at_end": busy,
            "max_queue": self.max_queue,
        }
