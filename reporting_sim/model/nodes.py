"""The nodes of the reporting network at run time: collectors, staff cells, commanders.

Every node receives reports (:meth:`Node.receive`), may record a consumer arrival,
drops repeats of an event it already holds (``dedupe``), does its own work
(:meth:`accept`) and passes reports on along its links (:meth:`Node.forward`):

* ``each`` routing: every link whose filter admits the event fires with its own
  chance ``p``; the first firing link takes the report, each further one a copy;
* ``choose`` routing: at most one link is picked, with chances ``p`` (the rest of the
  probability leaves the network), as in a Jackson queueing network.

Staff cells are FIFO queues served by ``analysts`` in parallel, written with SimPy
``Timeout`` callbacks rather than a process per report (several times cheaper), and keep
their own time-weighted monitors (busy analysts, queue length). Collectors turn
ground-truth events into reports (observation by patrols, the decision to report, the
delay to write). Commanders pass word on at once.
"""

from __future__ import annotations

from collections import deque

from ..records import REPORT_STATES, STEP_KINDS
from .items import Event, Report

ABSORBED = REPORT_STATES.index("absorbed")
DUPLICATE = REPORT_STATES.index("duplicate")
OVERFLOW = REPORT_STATES.index("overflow")
S_OBSERVE, S_WRITE, S_MEETING, S_TRANSIT, S_QUEUE, S_WORK, S_END = range(len(STEP_KINDS))


class Link:
    """A link at run time: its chance, transit sampler, meeting and kind filter."""

    __slots__ = ("src", "dst", "p", "transit", "meeting", "allowed")

    def __init__(self, src, dst, p, transit, meeting, allowed):
        self.src = src  # Node
        self.dst = dst  # Node
        self.p = p
        self.transit = transit  # zero-argument sampler
        self.meeting = meeting  # scenario.Meeting or None
        self.allowed = allowed  # frozenset of kind indices, or None for all


class Node:
    """Behaviour shared by all nodes (see the module docstring)."""

    kind = "node"
    knows_on_arrival = True  # a consumer knows of an event when the report reaches it

    def __init__(self, sim, name: str, index: int, spec, consumer_index: int):
        self.sim = sim
        self.name = name
        self.index = index
        self.bit = 1 << index
        self.dedupe = spec.dedupe
        self.choose = spec.routing == "choose"
        self.consumer = consumer_index
        self.links: list[Link] = []
        self.u = sim.streams.uniform_sampler(f"route:{name}")

    def receive(self, rep: Report) -> None:
        sim = self.sim
        ev = rep.event
        if self.consumer >= 0:
            sim.rec.count_arrival(ev.id, self.consumer)
            if self.knows_on_arrival:
                sim.rec.known(ev.id, self.consumer, sim.env.now, rep.prev)
        if self.dedupe:
            if ev.seen & self.bit:
                sim.end(rep, self.index, DUPLICATE)
                return
            ev.seen |= self.bit
        rep.t_in = sim.env.now
        self.accept(rep)

    def receive_event(self, timeout) -> None:
        """SimPy callback: a report whose transit ended (the timeout's value)."""
        self.receive(timeout._value)

    def accept(self, rep: Report) -> None:
        self.forward(rep)

    def forward(self, rep: Report) -> None:
        """Pass ``rep`` on along this node's links, or end it here."""
        sim = self.sim
        links = self.links
        kind = rep.event.kind
        if self.choose:
            u = self.u()
            acc = 0.0
            for link in links:
                if link.allowed is None or kind in link.allowed:
                    acc += link.p
                    if u < acc:
                        sim.send(rep, link)
                        return
            sim.end(rep, self.index, ABSORBED)
            return
        chosen = [link for link in links
                  if (link.allowed is None or kind in link.allowed)
                  and (link.p >= 1.0 or self.u() < link.p)]
        if not chosen:
            sim.end(rep, self.index, ABSORBED)
            return
        copies = [rep] + [sim.copy(rep) for _ in chosen[1:]]
        for r, link in zip(copies, chosen):
            sim.send(r, link)


class Commander(Node):
    """Hears and passes word on at once: no queue, no work time."""

    kind = "commander"


class Cell(Node):
    """A staff cell: a FIFO inbox served by a fixed number of analysts."""

    kind = "cell"
    knows_on_arrival = False  # a consumer cell knows of an event once it has worked it

    def __init__(self, sim, name, index, spec, consumer_index):
        super().__init__(sim, name, index, spec, consumer_index)
        self.c = spec.analysts
        self.inbox = spec.inbox
        self.work = spec.work_h.sampler(sim.streams.get(f"work:{name}"))
        self.duty = spec.duty
        self.queue: deque[Report] = deque()
        self.busy = 0
        self.reset_stats(0.0)
        if self.duty is not None:
            sim.every_day_at(self.duty.start_h, self._duty_starts)

    def reset_stats(self, now: float) -> None:
        self.t_last = now
        self.t_reset = now
        self.busy_area = 0.0
        self.queue_area = 0.0
        self.arrivals = 0
        self.started = 0
        self.completed = 0
        self.overflow = 0
        self.sum_wait = 0.0
        self.sum_sojourn = 0.0
        self.max_queue = len(self.queue)

    def _account(self, now: float) -> None:
        dt = now - self.t_last
        if dt:
            self.busy_area += self.busy * dt
            self.queue_area += len(self.queue) * dt
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
        now = self.sim.env.now
        self._account(now)
        self.arrivals += 1
        if self.busy < self.c and (self.duty is None or self.on_duty(now)):
            self._start(rep, now)
        elif self.inbox is not None and len(self.queue) >= self.inbox:
            self.overflow += 1
            self.sim.end(rep, self.index, OVERFLOW)
        else:
            self.queue.append(rep)
            if len(self.queue) > self.max_queue:
                self.max_queue = len(self.queue)

    def _start(self, rep: Report, now: float) -> None:
        sim = self.sim
        if rep.t_in >= self.t_reset:
            self.started += 1
            self.sum_wait += now - rep.t_in
        self.busy += 1
        work = self.work()
        if sim.tracing:
            sim.rec.step(rep.id, rep.parent, rep.event.id, self.index, S_QUEUE, rep.t_in, now)
            sim.rec.step(rep.id, rep.parent, rep.event.id, self.index, S_WORK, now, now + work)
        timeout = sim.env.timeout(work, rep)
        timeout.callbacks.append(self._done)

    def _done(self, timeout) -> None:
        rep = timeout._value
        now = self.sim.env.now
        self._account(now)
        self.busy -= 1
        if rep.t_in >= self.t_reset:
            self.completed += 1
            self.sum_sojourn += now - rep.t_in
        if self.consumer >= 0:
            self.sim.rec.known(rep.event.id, self.consumer, now, rep.prev)
        if self.queue and (self.duty is None or self.on_duty(now)):
            self._start(self.queue.popleft(), now)
        self.forward(rep)

    def _duty_starts(self) -> None:
        now = self.sim.env.now
        self._account(now)
        while self.queue and self.busy < self.c:
            self._start(self.queue.popleft(), now)

    def stats(self, now: float) -> dict:
        """The cell's counters and areas since the last reset, up to ``now``."""
        self._account(now)
        return {
            "cell": self.name,
            "analysts": self.c,
            "observed_h": now - self.t_reset,
            "arrivals": self.arrivals,
            "started": self.started,
            "completed": self.completed,
            "overflow": self.overflow,
            "sum_wait_h": self.sum_wait,
            "sum_sojourn_h": self.sum_sojourn,
            "busy_area": self.busy_area,
            "queue_area": self.queue_area,
            "queue_at_end": len(self.queue),
            "busy_at_end": self.busy,
            "max_queue": self.max_queue,
        }


class Collector(Node):
    """A unit that observes ground-truth events in its sectors and releases reports.

    For each event it could see, it draws (always, so that common random numbers hold
    across variants that change its chances) whether it observes it, whether it
    reports it and how long writing takes. A patrolling unit observes an event when the
    first patrol is out at or after the event; a unit that reports only after its
    patrol returns adds the rest of the patrol to the delay.
    """

    kind = "collector"

    def __init__(self, sim, name, index, spec, consumer_index, kinds_seen):
        super().__init__(sim, name, index, spec, consumer_index)
        self.spec = spec
        self.kinds_seen = kinds_seen  # frozenset of kind indices, or None for all
        self.u_observe = sim.streams.uniform_sampler(f"observe:{name}")
        self.u_report = sim.streams.uniform_sampler(f"report:{name}")
        self.delay = spec.report_delay_h.sampler(sim.streams.get(f"report_delay:{name}"))
        self.p_observe = spec.p_observe
        self.p_report = spec.p_report
        pat = spec.patrols
        self.interval = 24.0 / pat.per_day if pat else 0.0
        self.patrol_h = pat.duration_h if pat else 0.0
        self.first_h = pat.first_h if pat else 0.0
        self.after_patrol = spec.report_after_patrol

    def consider(self, ev: Event) -> None:
        """Called when ``ev`` happens in one of this collector's sectors."""
        if self.kinds_seen is not None and ev.kind not in self.kinds_seen:
            return
        u_obs, u_rep, delay = self.u_observe(), self.u_report(), self.delay()
        if u_obs >= self.p_observe:
            return
        sim = self.sim
        now = sim.env.now
        if self.interval:
            into = (now - self.first_h) % self.interval
            if into < self.patrol_h:
                t_obs, back = now, now - into + self.patrol_h
            else:
                t_obs = now + self.interval - into
                back = t_obs + self.patrol_h
        else:
            t_obs = back = now
        if self.after_patrol:
            delay += back - t_obs
        reports = u_rep < self.p_report
        ev.pending += 1
        sim.at(t_obs - now, self._observed, ev, reports, delay)

    def _observed(self, ev: Event, reports: bool, delay: float) -> None:
        sim = self.sim
        ev.observed += 1
        if not reports:
            sim.release(ev)
            return
        sim.at(delay, self._release, ev, sim.env.now)

    def _release(self, ev: Event, t_obs: float) -> None:
        sim = self.sim
        ev.reported += 1
        rep = sim.new_report(ev, self.index)
        if sim.tracing:
            sim.rec.step(rep.id, -1, ev.id, self.index, S_OBSERVE, ev.t, t_obs)
            sim.rec.step(rep.id, -1, ev.id, self.index, S_WRITE, t_obs, sim.env.now)
        sim.release(ev)  # the observation is settled; the report now keeps the event live
        self.forward(rep)
