"""The SimPy engine: runs the network plan of a scenario for one seed.

The network is worked out first, without SimPy, as a :class:`~.plan.Plan` (nodes,
links, reach, rivals, boards, calendars, every mechanism switch applied);
:class:`Simulation` takes a plan (or a scenario, and builds its plan) and a seed, and
owns the SimPy environment, the named random streams, the recorder
and the run-time nodes (see :mod:`.nodes`). Ground truth comes from event sources
(Poisson processes per sector); every collector covering the sector considers each
event (:mod:`.collectors`); reports then move from node to node through links: a node
picks links, the sharing gates decide what may pass (:mod:`.gates`), and
:meth:`Simulation.send` moves what passes, waiting for a meeting where the link says
so, until each report ends in one terminal state (:meth:`Simulation.end`) or is still
in flight when the horizon is reached. Coordination boards (the JCB) are SimPy
processes that meet at their meeting's times; at each meeting the members pass each
other part of what they hold, as competition, classification and othering allow, and a
member told of analysed work takes note of it or redoes it
(:meth:`Simulation._board_meets`); a deconflicting board's analysis members also declare
what they hold in its register, which keeps the others from analysing it again
(:meth:`Simulation._register`, :meth:`.nodes.Node.deconflicted`).

Once built, the plain pieces of the per-report path are swapped for specialised
callbacks (:mod:`.hotpath`, where the benchmark figure and the reason for callbacks are
given); routines (boards, routine work) are SimPy processes.

Time is in hours from the scenario's start date. Ties: SimPy runs events due at the
same time in the order they were scheduled; a hop with no delay at all is delivered at
once, inside the step that sent it (up to a recursion guard).
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import itertools
import math
from heapq import heappush
from typing import Optional

import simpy

from . import outcomes
from .records import REPORT_STATES, EventLabels, Recorder, RunRecords
from ..scenario import Scenario
from .streams import Streams
from .clock import Clock
from .fifo import FifoCell
from .collectors import Collector, Pool
from . import draws, gates
from .gates import INTREP, PASS, gate
from .hotpath import specialise
from .loop import run_until
from .plan import Plan, briefing, build_plan
from .items import MISSION, Event, Report
from .wake import MAX_ZERO_DELAY_DEPTH as _MAX_DEPTH, NORMAL as _NORMAL, Wake
from .nodes import (
    DUPLICATE,
    NOT_SHARED,
    S_BOARD,
    S_COPY,
    S_END,
    S_QUEUE,
    S_HOLD,
    S_MEETING,
    S_TRANSIT,
    WITHHELD,
    Cell,
    Commander,
    Link,
)

IN_FLIGHT = REPORT_STATES.index("in_flight")
_INF = math.inf  # a module constant: one lookup fewer per report sent
_new = object.__new__


def _collector_meta(c) -> dict:
    """A collector's counts for the records' ``meta``."""
    return {"observed": c.observed, "reports": c.released, "written_reports": c.released_written,
            "tasks": c.tasks, "patrols_out": c.patrols_out, "patrols_cancelled": c.patrols_cancelled,
            "active_from_day": (c.active_from / 24.0 if c.active_from > -math.inf else None)}


def _horizon(sc, days, warmup_days) -> tuple[float, float]:
    """The days simulated (default the scenario's) and the warm-up, checked."""
    days = float(sc.scenario.days if days is None else days)
    if not days > 0:
        raise ValueError("days must be positive")
    if not 0 <= warmup_days < days:
        raise ValueError("warmup_days must be at least 0 and less than days")
    return days, float(warmup_days)


def _kinds(seen, n: int):
    """The kinds (indices) a collector sees: ``seen``, or all ``n`` for ``None``."""
    return range(n) if seen is None else seen


class Simulation:
    """One run of one scenario with one seed. Use :func:`simulate` for the usual case."""

    def __init__(self, scenario: Scenario, seed: Optional[int] = None, days: Optional[float] = None,
                 *, trace: bool = False, warmup_days: float = 0.0, specialised: bool = True,
                 per_task_routine: bool = False, event_starts: bool = False):
        self.plan = scenario if isinstance(scenario, Plan) else build_plan(scenario)
        self.scenario = sc = self.plan.scenario
        self.seed = sc.scenario.seed if seed is None else int(seed)
        self.days, self.warmup_days = _horizon(sc, days, warmup_days)
        self.horizon = self.days * 24.0
        self.tracing = bool(trace)
        # True: each routine task of a cell is its own SimPy event (tests compare the
        # two; see .routine)
        self.per_task_routine = bool(per_task_routine)
        # True: every start of work at a cell is a SimPy moment (the path before issue
        # #23's second round: a FIFO cell gives starts on arrival, see .fifo); the
        # per-task routine needs it
        self.event_starts = bool(event_starts) or self.per_task_routine
        self.env = simpy.Environment()
        self.clock = Clock(self.env)
        self.schedule = self.env.schedule
        self.streams = Streams(self.seed)
        self.kind_names = list(sc.kinds)
        self.kind_index = {k: i for i, k in enumerate(self.kind_names)}
        self.rec = Recorder(sc.consumers, list(sc.nodes), trace=self.tracing, channels=self.plan.channels)
        self.live: dict[int, Event] = {}
        self.live_reports: dict[int, Report] = {}  # only when tracing
        self.next_report = 0
        self.depth = 0
        self.sanitise = self.plan.sanitise
        self.shelf_lives = [k.shelf_life_h for k in sc.kinds.values()]
        self.current_kinds = frozenset(i for i, k in enumerate(sc.kinds.values()) if k.family == "current")
        self._settle = self._settler()
        self.flushes: list = []  # counts kept by the hot path, added to the records at the end
        self._build()
        if specialised:  # False: the general path everywhere (tests compare the two)
            specialise(self)
        self._start()

    # -- building ------------------------------------------------------------------
    def _build(self) -> None:
        """The plan's nodes, links and boards at run time, and the event sources."""
        sc = self.scenario
        self.pools = {name: Pool(name, p.capacity) for name, p in sc.pools.items()}
        self.nodes: dict[str, object] = {}
        for np_ in self.plan.nodes:
            self.nodes[np_.name] = self._make_node(np_)
        self._build_links()
        self.ungated = self.plan.ungated  # without any sharing gate, reports skip the gate checks
        self._build_boards()
        self.collectors_by_sector = {
            s: [self.nodes[n] for n, c in sc.collectors.items() if s in c.sectors] for s in sc.sectors
        }

    def _start(self) -> None:
        """The event sources and the end of the warm-up, once the network is built (and
        specialised: a source calls its collectors' ``consider`` as they are then)."""
        for si, (sname, src) in enumerate(self.scenario.sources.items()):
            self._start_source(si, sname, src)
        if self.warmup_days:
            self.clock.after(self.warmup_days * 24, self._end_warmup)

    def _build_boards(self) -> None:
        """Each board's seats, register and meetings."""
        sc = self.scenario
        self.register_slots: dict[tuple[str, str], int] = {}  # (board, member) -> its place in the register
        for bname in self.plan.boards:
            board = sc.boards[bname]
            members = [self.nodes[m] for m in board.members]
            for m in members:
                m.boards.append((bname, []))
            self._register(bname, board, members)
            self._schedule_board(bname, board, members)

    def _make_node(self, np_):
        if np_.type == "cell":  # first in, first out unless current pull picks (see .fifo)
            # (a cell without analysts never starts anything: the event-by-event cell)
            fifo = np_.spec.current_pull is None and np_.spec.analysts > 0 and not self.event_starts
            return (FifoCell if fifo else Cell)(self, np_)
        return {"collector": Collector, "commander": Commander}[np_.type](self, np_)

    def _build_links(self) -> None:
        """The plan's links at run time, each with its own transit stream."""
        meetings = self.plan.meetings
        for lp in self.plan.links:
            transit = draws.of(lp.transit, self.streams.get(f"transit:{lp.key}"))
            src, dst = self.nodes[lp.src], self.nodes[lp.dst]
            meeting = meetings[lp.meeting] if lp.meeting else None
            link = Link(src, dst, lp.p, transit, meeting, lp.allowed, lp.blocked)
            (src.written_links if lp.written else src.links).append(link)

    def _start_source(self, si: int, name: str, src) -> None:
        """Source ``si``'s arrivals: one Poisson stream of events, each of a kind drawn
        from the source's mix, offered at once to the collectors of its sector."""
        if src.rate_per_day <= 0:
            return
        gap_pop, gap_refill = draws.exponential(self.streams, f"arrivals:{name}", 24.0 / src.rate_per_day).pair
        pick_kind = self._kind_picker(name, src)
        by_kind = [[col.consider for col in cols] for cols in self._collectors_by_kind(src.sector)]
        # per kind, when one collector sees it and is certain to report it at once, its
        # consideration of a fresh event (``consider.born``, .hotpath._consider_certain:
        # a call and the hold's count up and down fewer an event), else None
        births = [getattr(c[0], "born", None) if len(c) == 1 else None for c in by_kind]
        rec, env, live, settle = self.rec, self.env, self.live, self._settle
        ev_t, ev_source, ev_kind = rec.ev_t, rec.ev_source, rec.ev_kind  # grown in place (Recorder._grow)
        heap, seq = env._queue, env._eid
        new = object.__new__
        tick = Wake(None, None)  # one pending arrival at a time: the same event serves

        only = getattr(pick_kind, "only", None)  # a one-kind mix: that kind, no draw

        def arrive(_tick) -> None:
            now = env._now
            kind = only if only is not None else pick_kind()
            eid = rec.n_events  # Recorder.new_event, written out
            if eid == rec.capacity:
                rec._grow()
            ev_t[eid] = now
            if si:  # the columns start at 0 (Recorder._grow): a zero is not written
                ev_source[eid] = si
            if kind:
                ev_kind[eid] = kind
            rec.n_events = eid + 1
            # Event(eid, now, kind), written out (a class call runs __init__ through C,
            # about 30 ns more an event; tests/test_hotpath.py checks every slot is set),
            # held while the collectors consider it (Simulation.hold written out)
            ev = new(Event)
            ev.id, ev.t, ev.kind, ev.pending = eid, now, kind, 1
            ev.seen = ev.observed = ev.reported = ev.observers = ev.analysed = ev.independent = ev.declared = 0
            live[eid] = ev
            born = births[kind]
            if born is not None:  # one certain collector reports it at once: its report holds it
                born(ev, now)
            else:
                for consider in by_kind[kind]:
                    consider(ev)
                ev.pending -= 1  # Simulation.release, written out
                if not ev.pending:
                    settle(ev)
            tick.callbacks = tick_callbacks  # the next arrival (scheduled last, as it always was)
            try:
                gap = gap_pop()
            except IndexError:
                gap = gap_refill()
            heappush(heap, (env._now + gap, _NORMAL, next(seq), tick))

        tick_callbacks = tick.callbacks = [arrive]
        try:
            gap = gap_pop()
        except IndexError:
            gap = gap_refill()
        heappush(heap, (env._now + gap, _NORMAL, next(seq), tick))

    def _collectors_by_kind(self, sector: str) -> list:
        """Per kind (index), the collectors of ``sector`` that see it, in their order: a
        collector's ``consider`` returns at once, drawing nothing, for a kind outside its
        ``kinds_seen``, so it is not offered one (the same numbers, a call fewer)."""
        n = len(self.kind_index)
        table: list[list] = [[] for _ in range(n)]
        for col in self.collectors_by_sector[sector]:
            for k in _kinds(col.kinds_seen, n):
                table[k].append(col)
        return table

    def _kind_picker(self, name: str, src):
        """A zero-argument function giving the kind (index) of source ``name``'s next
        event: a draw from its mix, or, for a one-kind mix, that kind without a draw
        (the stream serves only this choice)."""
        u_kind = draws.uniform(self.streams, f"kinds:{name}")
        kinds = [self.kind_index[k] for k in src.mix]
        if len(kinds) == 1:
            pick = lambda only=kinds[0]: only  # noqa: E731
            pick.only = kinds[0]
            return pick
        cum = list(itertools.accumulate(src.mix.values()))
        cum[-1] = 1.0 + 1e-12
        return lambda: kinds[bisect.bisect_right(cum, u_kind())]

    def _end_warmup(self) -> None:
        now = self.env._now
        for node in self.nodes.values():
            if isinstance(node, Cell):
                node.end_warmup(now)

    # -- reports -------------------------------------------------------------------
    def new_report(self, ev: Event, origin: int, parent: int = -1, pending_taken: bool = False) -> Report:
        """A new report of ``ev`` at node ``origin`` (``pending_taken``: the event is
        already held for it)."""
        rid = self.next_report
        self.next_report = rid + 1
        if not pending_taken:
            self.hold(ev)
        # Report(rid, parent, ev, origin, now), written out (no __init__ call: tests/test_hotpath.py)
        rep = _new(Report)
        rep.id, rep.parent, rep.event, rep.prev, rep.t_in = rid, parent, ev, origin, self.env._now
        rep.cls, rep.cls_group, rep.cls_org, rep.imagery, rep.precise = MISSION, None, None, None, True
        rep.lineage, rep.rework, rep._ok = 0, False, True
        if self.tracing:
            self.live_reports[rid] = rep
        return rep

    def copy(self, rep: Report, at: int) -> Report:
        """A child copy of ``rep`` made at node ``at`` (for a second outgoing link); in an
        untraced run :meth:`new_report` and :meth:`hold` written out (the event is live:
        ``rep`` holds it), about 14,000 copies a robustness run."""
        if self.tracing:
            c = self.new_report(rep.event, rep.prev, rep.id)
            now = self.env._now
            self.rec.step(c.id, rep.id, rep.event.id, at, S_COPY, now, now)
        else:
            ev = rep.event
            ev.pending += 1
            rid = self.next_report
            self.next_report = rid + 1
            c = _new(Report)
            c.id, c.parent, c.event, c.prev, c.t_in = rid, rep.id, ev, rep.prev, self.env._now
            c.rework, c._ok = False, True
        c.cls, c.cls_group, c.cls_org = rep.cls, rep.cls_group, rep.cls_org
        c.imagery, c.precise, c.lineage = rep.imagery, rep.precise, rep.lineage
        return c

    def dispatch(self, src, rep: Report, links: list) -> None:
        """Pass ``rep`` from ``src`` along the chosen ``links`` through the gates."""
        reps = [rep] + [self.copy(rep, src.index) for _ in links[1:]] if len(links) > 1 else [rep]
        intrep_reps, intrep_links = [], []
        for r, link in zip(reps, links):
            if link.open and not r.cls and r.imagery is None:  # every gate would say PASS,
                self.send(r, link)  # held 0 (see .gates.gate and Link.open)
            elif self._gated(src, r, link):
                intrep_reps.append(r)
                intrep_links.append(link)
        if intrep_reps:
            src.write_intrep(intrep_reps, intrep_links)

    def _gated(self, src, rep: Report, link: Link) -> bool:
        """Put ``rep`` through the gates of ``link``: sent on or stopped (``False``), or
        to be sanitised into an INTREP first (``True``)."""
        verdict, hold = gate(self, src, rep, link)
        if verdict == PASS:
            self.send(rep, link, hold)
        elif verdict != INTREP:
            self.stop(rep, src, link, verdict)
        return verdict == INTREP

    def send_intrep(self, reps: list, links: list) -> None:
        """An INTREP is written: its reports lose their imagery and precision and go on
        through the remaining gates."""
        for r, link in zip(reps, links):
            r.imagery = None
            r.precise = False
            verdict, hold = gate(self, link.src, r, link)
            if verdict == PASS:
                self.send(r, link, hold)
            else:
                self.stop(r, link.src, link, verdict)

    def stop(self, rep: Report, src, link: Link, state: int) -> None:
        """A gate stopped ``rep`` on ``link``: it ends at ``src``; the consumers
        downstream are marked as having had a report withheld."""
        if state == WITHHELD:
            self.rec.mark_withheld(rep.event.id, link.dst.reach[rep.event.kind])
        self.end(rep, src.index, state)

    def send(self, rep: Report, link: Link, hold: float = 0.0) -> None:
        """Move ``rep`` along ``link``: held back (competition), then wait for the
        link's meeting (if any), then transit."""
        env = self.env
        now = env._now
        rep.prev = link.src_index
        transit = link.fixed
        if transit is None:  # link.transit(), from its buffer (see .draws)
            try:
                transit = link.t_pop()
            except IndexError:
                transit = link.t_refill()
        ready = now + hold
        start = ready if link.meeting is None else link.meeting.next_at(ready)
        if self.tracing:
            self._trace_send(rep, link, now, hold, start, transit)
        if start == _INF:  # the link's meeting is over for good: not passed on
            self.end(rep, link.src.index, NOT_SHARED)
            return
        delay = start - now + transit
        if delay == 0 and self.depth < _MAX_DEPTH:
            self.depth += 1
            link.dst.receive(rep)
            self.depth -= 1
        else:
            rep.callbacks = link.dst.on_arrival
            heappush(env._queue, (now + delay, _NORMAL, next(env._eid), rep))  # Environment.schedule

    def _trace_send(self, rep: Report, link: Link, now: float, hold: float, start: float,
                    transit: float) -> None:
        """The steps of a move along a link: held, waiting for the meeting, in transit
        (steps that would begin after the horizon are not recorded)."""
        rid, parent, eid, src, dst = rep.id, rep.parent, rep.event.id, link.src.index, link.dst.index
        ready = now + hold
        if hold and ready < math.inf:
            self.rec.step(rid, parent, eid, src, S_HOLD, now, ready, dst)
        if start > ready and ready < self.horizon and start < math.inf:
            self.rec.step(rid, parent, eid, src, S_MEETING, ready, start, dst)
        if start < self.horizon:
            self.rec.step(rid, parent, eid, src, S_TRANSIT, start, start + transit, dst)

    def end(self, rep: Report, node: int, state: int) -> None:
        """``rep`` ends here in terminal ``state``."""
        self.rec.report_end(node, state)
        if self.tracing:
            now = self.env._now
            self.rec.step(rep.id, rep.parent, rep.event.id, node, S_END, now, now, state)
            del self.live_reports[rep.id]
        self.release(rep.event)

    # -- coordination boards -------------------------------------------------------
    def _register(self, name: str, board, members: list) -> None:
        """A deconflicting board's register: a place (one bit of ``Event.declared``) for
        each analysis member; each analysis member consults the others' places (and with
        ``consult`` enters its own at once, not only at the meeting)."""
        if board.p_deconflict <= 0:
            return
        analysts = [m for m in members if m.analysis]
        slots = {m.name: 1 << (len(self.register_slots) + i) for i, m in enumerate(analysts)}
        self.register_slots.update({(name, n): bit for n, bit in slots.items()})
        everyone = sum(slots.values())
        for m in analysts:
            self._seat(m, everyone & ~slots[m.name], slots[m.name] if board.consult else 0, board.p_deconflict)

    def _seat(self, m, peers: int, live: int, p: float) -> None:
        """Analysis member ``m`` consults the register places ``peers``, enters its own
        ``live`` ones at once, and leaves work to others with chance ``p`` (the highest
        of its boards'); its draws come from its own stream."""
        if m.deconflict == 0.0:
            m.u_deconflict = self.streams.uniform_sampler(f"deconflict:{m.name}")
        m.peer_slots |= peers
        m.live_slots |= live
        m.deconflict = max(m.deconflict, p)

    def _schedule_board(self, name: str, board, members: list) -> None:
        self.clock.process(self._board(name, board, members))

    def _board(self, name: str, board, members: list):
        """The board's routine: it meets at each of its meeting's times, for good."""
        meeting = self.plan.meetings[board.meeting]
        env = self.env
        u_bring = self.streams.uniform_sampler(f"board_bring:{name}")
        u_rework = self.streams.uniform_sampler(f"board_rework:{name}")
        nxt = meeting.next_at(0.0)
        while nxt < math.inf:
            yield env.timeout(nxt - env._now)
            self._board_meets(name, board, members, u_bring, u_rework)
            nxt = meeting.next_at(env._now + 1e-9)

    def _board_meets(self, name: str, board, members: list, u_bring, u_rework) -> None:
        """Each member brings what it learned since the last meeting, is still within
        its shelf life and it chooses to bring (``p_bring``); the others who do not hold
        it yet hear of it, unless competition (a rival: never, or only after the
        holder's leadership meeting), classification or othering stops it. An analysis
        cell told of an event another member has analysed takes note of it, or redoes
        the work with chance ``p_rework``."""
        held = {m.index: next(h for b, h in m.boards if b == name) for m in members}
        self._declare(name, members, held)
        for m in members:
            items = held[m.index]
            if items:
                batch = list(items)
                items.clear()
                self._bring(m, batch, members, board, u_bring, u_rework)

    def _bring(self, m, batch: list, members: list, board, u_bring, u_rework) -> None:
        """Member ``m`` brings the items of ``batch`` it chooses to, still within their
        shelf life, to the members who do not hold them yet."""
        now = self.env._now
        shelf = self.shelf_lives
        othering = "othering" in m.coping
        for ev, cls, cls_group, cls_org, imagery, precise, lineage in batch:
            # draws made whatever happens next (common random numbers)
            brings = u_bring() < board.p_bring
            if ev.t + shelf[ev.kind] < now or not brings:
                continue  # stale, or the holder does not think the others need it
            if m.analysis:  # it has worked the event, or is working it
                lineage |= m.bit
            for n in members:
                if n is m or ev.seen & n.bit:
                    continue
                rework = u_rework() < board.p_rework
                item = (ev, cls, cls_group, cls_org, imagery, precise, lineage)
                self._board_tell(m, n, item, othering, rework, now)

    def _declare(self, name: str, members: list, held: dict) -> None:
        """At the meeting the analysis members declare in the register every event they
        have got since the last one (held or in work)."""
        for m in members:
            slot = self.register_slots.get((name, m.name))
            if slot:
                for item in held[m.index]:
                    item[0].declared |= slot

    def _board_tell(self, m, n, item, othering: bool, rework: bool, now: float) -> None:
        """At the board, ``m`` tells ``n`` of an item it holds: a new report, which the
        gates (othering, classification, then competition) may stop or hold back."""
        ev, cls, cls_group, cls_org, imagery, precise, lineage = item
        rep = self.new_report(ev, m.index)
        rep.cls, rep.cls_group, rep.cls_org = cls, cls_group, cls_org
        rep.precise = precise and imagery is None
        rep.lineage = lineage
        rep.prev = m.index
        if self.tracing:
            self.rec.step(rep.id, -1, ev.id, m.index, S_BOARD, now, now, n.index)
        if (othering and gates.othering(m, n)) or gates.withheld_by_mark(cls, cls_group, cls_org, n):
            self.rec.mark_withheld(ev.id, n.reach[ev.kind])
            self.end(rep, m.index, WITHHELD)
            return
        self._board_hold(m, n, rep, rework, now)

    def _board_hold(self, m, n, rep: Report, rework: bool, now: float) -> None:
        """Competition may hold ``rep`` back from ``n`` (until ``m``'s leadership
        meeting) or stop it; otherwise ``n`` is told now."""
        hold = gates.competition(self, m, n)
        if hold is None or hold == math.inf:  # never told, or held until a meeting that is over
            self.end(rep, m.index, NOT_SHARED)  # for good (as on a link: Simulation.send)
        elif hold > 0:
            if self.tracing:  # held from now (in progress at the horizon if it lasts beyond)
                self.rec.step(rep.id, -1, rep.event.id, m.index, S_HOLD, now, now + hold, n.index)
            self.clock.after(hold, self._deliver, n, rep, rework)
        else:
            self._deliver(n, rep, rework)

    def _deliver(self, n, rep: Report, rework: bool) -> None:
        ev = rep.event
        if ev.seen & n.bit:  # it heard of it meanwhile
            self.end(rep, n.index, DUPLICATE)
        elif n.analysis and rep.lineage and not rework:
            n.take_note(rep)
        else:
            rep.rework = bool(rep.lineage)
            n.receive(rep)

    # -- an event's lifetime ----------------------------------------------------------
    # An event is live while anything about it is pending: the collectors considering it,
    # an observation, a report moving. ``hold`` and ``release`` change its count (the
    # hot path and a source's arrival write them out inline, marked so); when nothing
    # is left, ``_settle`` hands its counts to the recorder and forgets it.

    def hold(self, ev: Event) -> None:
        """Something about ``ev`` is now pending; a board may bring a settled event
        back to life this way."""
        if ev.pending == 0 and ev.id not in self.live:
            self.live[ev.id] = ev
        ev.pending += 1

    def release(self, ev: Event) -> None:
        """One pending thing of ``ev`` is settled; forget the event when none is left."""
        ev.pending -= 1
        if ev.pending == 0:
            self._settle(ev)

    def _settle(self, ev: Event) -> None:
        """Nothing about ``ev`` is pending: hand its counts to the recorder, forget it
        (replaced by :meth:`_settler`'s function when the simulation is built)."""
        self.rec.event_counts(ev.id, *ev.counts())
        del self.live[ev.id]

    def _settler(self):
        """:meth:`_settle` as one function on the recorder's own columns (it runs once
        per event and more: :meth:`.Recorder.event_counts` and :meth:`.Event.counts`
        written out)."""
        rec, live = self.rec, self.live
        observed, reported, observers = rec.ev_observed, rec.ev_reported, rec.ev_observers
        analysed, independent = rec.ev_analysed, rec.ev_independent

        def settle(ev: Event) -> None:
            eid = ev.id
            # every column starts at 0 (Recorder._grow) and an event settles once: a zero
            # is not written (an event nobody observed, no analysis cell worked)
            if ev.observed:  # observers and reports come with observing
                observed[eid] = ev.observed
                reported[eid] = ev.reported
                observers[eid] = ev.observers
            if ev.analysed:  # independent analyses come with analyses
                analysed[eid] = ev.analysed.bit_count()
                independent[eid] = ev.independent
            del live[eid]

        return settle

    # -- running -------------------------------------------------------------------
    def run(self) -> RunRecords:
        """Run SimPy up to the horizon, then make the records."""
        with cyclic_gc_paused():
            run_until(self.env, self.horizon)  # env.run(until=...), its step written out (.loop)
        return self.records()

    def records(self) -> RunRecords:
        """The records of the run, once SimPy has run up to the horizon."""
        return self._finish(self.horizon)

    def _finish(self, horizon: float) -> RunRecords:
        sc = self.scenario
        rec = self.rec
        for flush in self.flushes:
            flush()
        rec.reports_created = self.next_report
        in_flight = self.next_report - sum(rec.report_ends.values())
        if in_flight:
            if self.tracing:
                self._place_in_flight(horizon)
            # without a trace, in-flight reports are counted, not placed
            rec.report_ends[(-1, IN_FLIGHT)] = in_flight
        cells = [node.stats(horizon) for node in self.nodes.values() if isinstance(node, Cell)]
        raw = rec.finish(
            scenario=sc.name, seed=self.seed, days=self.days, warmup_days=self.warmup_days,
            live_events={eid: ev.counts() for eid, ev in self.live.items()},
            cells=cells, labels=EventLabels.of(sc, {n: self.nodes[n].index for n in sc.collectors}),
        )
        records = outcomes.judge_records(raw, outcomes.terms_of(sc, self.plan.meetings))
        records.meta.update(self._meta())
        return records

    def _place_in_flight(self, horizon: float) -> None:
        """Traced runs: reports still waiting in an inbox get their wait so far, and
        every report still in flight its end where it is."""
        rec, where = self.rec, {}
        for node in self.nodes.values():
            if isinstance(node, Cell):
                for job in node.waiting_jobs(horizon):
                    for r in ((job,) if job.__class__ is Report else job.reps):
                        rec.step(r.id, r.parent, r.event.id, node.index, S_QUEUE, r.t_in, horizon)
                        where[r.id] = node.index
        for rep in self.live_reports.values():
            rec.step(rep.id, rep.parent, rep.event.id, where.get(rep.id, rep.prev), S_END,
                     horizon, horizon, IN_FLIGHT)

    def _meta(self) -> dict:
        """What the run adds to its records' ``meta``: per collector and pool counts,
        the network's shape, and the streams used."""
        sc = self.scenario
        return {
            "collector_tags": {n: list(c.tags) for n, c in sc.collectors.items()},
            "collectors": {n: _collector_meta(self.nodes[n]) for n in sc.collectors},
            "pools": {p.name: {"capacity": p.capacity, "taken": p.taken, "refused": p.refused}
                      for p in self.pools.values()},
            "node_types": {n: sc.node_type(n) for n in sc.nodes},
            "chain_nodes": list(sc.commanders),
            "interest": {c: (sc.nodes[c].interest.describe() if sc.nodes[c].interest else "all events")
                         for c in sc.consumers},
            "planning_horizon_h": sc.metrics.planning_horizon_h,
            "bypass": ([sc.metrics.bypass_consumer, sc.metrics.bypass_branch]
                       if sc.metrics.bypass_consumer else None),
            "bypass_briefing": self._bypass_briefing(),
            "streams": self.streams.names,
        }

    def _bypass_briefing(self):
        """The meeting at which the bypass branch briefs the bypass consumer (plain
        data), or ``None``."""
        m = self.scenario.metrics
        return briefing(self.scenario, self.plan.links, m.bypass_branch, m.bypass_consumer) if m.bypass_consumer else None


@contextlib.contextmanager
def cyclic_gc_paused():
    """Python's cyclic garbage collector off while SimPy runs, as it was before after.

    A run makes no reference cycles (reports, events, heap entries and jobs are freed by
    reference counting as they finish: ``tests/test_engine_gc.py`` checks that a run
    leaves nothing for the collector), but it allocates enough objects that the
    collector, counting allocations, now and then walks every object of the process
    (the scenario, pandas, numpy): one such pass took about 55 ms of a 0.5 s simulated
    year of minusma-2015. Reference counting still frees everything as before."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def simulate(scenario: Scenario, seed: Optional[int] = None, days: Optional[float] = None, *,
             trace: bool = False, warmup_days: float = 0.0) -> RunRecords:
    """Run ``scenario`` once and return its records (seed and days default to the file's)."""
    return Simulation(scenario, seed, days, trace=trace, warmup_days=warmup_days).run()
