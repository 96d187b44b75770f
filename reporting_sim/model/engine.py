"""The SimPy engine: builds the network of a scenario and runs it for one seed.

:class:`Simulation` owns the SimPy environment, the named random streams, the recorder
and the run-time nodes (see :mod:`.nodes`). Ground truth comes from event sources
(Poisson processes per sector); every collector covering the sector considers each
event; reports then move from node to node through links (:meth:`Simulation.send`),
waiting for a meeting where the link says so, until they end in one terminal state
(:meth:`Simulation.end`) or are still in flight when the horizon is reached.

Time is in hours from the scenario's start date. Ties: SimPy runs events due at the
same time in the order they were scheduled; a hop with no delay at all is delivered at
once, inside the step that sent it (up to a recursion guard).
"""

from __future__ import annotations

import bisect
import math
from typing import Optional

import simpy

from ..records import REPORT_STATES, Recorder, RunRecords
from ..scenario import Scenario
from ..streams import Streams
from .items import Event, Report
from .nodes import S_END, S_MEETING, S_TRANSIT, Cell, Collector, Commander, Link

IN_FLIGHT = REPORT_STATES.index("in_flight")
_MAX_DEPTH = 50


class Simulation:
    """One run of one scenario with one seed. Use :func:`simulate` for the usual case."""

    def __init__(self, scenario: Scenario, seed: Optional[int] = None, days: Optional[float] = None,
                 *, trace: bool = False, warmup_days: float = 0.0):
        self.scenario = sc = scenario
        self.seed = sc.scenario.seed if seed is None else int(seed)
        self.days = float(sc.scenario.days if days is None else days)
        if not self.days > 0:
            raise ValueError("days must be positive")
        if not 0 <= warmup_days < self.days:
            raise ValueError("warmup_days must be at least 0 and less than days")
        self.warmup_days = float(warmup_days)
        self.tracing = bool(trace)
        self.env = simpy.Environment()
        self.streams = Streams(self.seed)
        self.kind_names = list(sc.kinds)
        self.kind_index = {k: i for i, k in enumerate(self.kind_names)}
        names = list(sc.nodes)
        consumers = sc.consumers
        self.rec = Recorder(consumers, names, trace=self.tracing)
        self.live: dict[int, Event] = {}
        self.live_reports: dict[int, Report] = {}  # only when tracing
        self.next_report = 0
        self.depth = 0
        self.nodes: dict[str, object] = {}
        for i, name in enumerate(names):
            spec = sc.nodes[name]
            cidx = consumers.index(name) if name in consumers else -1
            if name in sc.collectors:
                seen = None if spec.kinds is None else frozenset(self.kind_index[k] for k in spec.kinds)
                node = Collector(self, name, i, spec, cidx, seen)
            elif name in sc.cells:
                node = Cell(self, name, i, spec, cidx)
            else:
                node = Commander(self, name, i, spec, cidx)
            self.nodes[name] = node
        self._build_links()
        self.collectors_by_sector = {
            s: [self.nodes[n] for n, c in sc.collectors.items() if s in c.sectors] for s in sc.sectors
        }
        for si, (sname, src) in enumerate(sc.sources.items()):
            self._start_source(si, sname, src)
        if self.warmup_days:
            self.at(self.warmup_days * 24, self._end_warmup)

    # -- building ------------------------------------------------------------------
    def _build_links(self) -> None:
        sc = self.scenario
        families = {k: v.family for k, v in sc.kinds.items()}
        used: dict[str, int] = {}
        for link in sc.links:
            key = f"{link.src}->{link.to}"
            used[key] = used.get(key, 0) + 1
            if used[key] > 1:
                key += f"#{used[key]}"
            allowed = None
            if link.families is not None or link.kinds is not None:
                ok = [k for k in self.kind_names
                      if (link.families is None or families[k] in link.families)
                      and (link.kinds is None or k in link.kinds)]
                allowed = frozenset(self.kind_index[k] for k in ok)
            transit = link.transit_h.sampler(self.streams.get(f"transit:{key}"))
            src = self.nodes[link.src]
            src.links.append(Link(src, self.nodes[link.to], link.p, transit,
                                  sc.meetings[link.meeting] if link.meeting else None, allowed))

    def _start_source(self, si: int, name: str, src) -> None:
        if src.rate_per_day <= 0:
            return
        gap = self.streams.get(f"arrivals:{name}")
        mean_gap = 24.0 / src.rate_per_day
        u_kind = self.streams.uniform_sampler(f"kinds:{name}")
        kinds = [self.kind_index[k] for k in src.mix]
        cum, acc = [], 0.0
        for share in src.mix.values():
            acc += share
            cum.append(acc)
        cum[-1] = 1.0 + 1e-12
        collectors = self.collectors_by_sector[src.sector]
        rec, env, live = self.rec, self.env, self.live
        buf: list[float] = []

        def next_gap() -> float:
            if not buf:
                buf.extend(gap.exponential(mean_gap, 512)[::-1].tolist())
            return buf.pop()

        def arrive(_timeout=None) -> None:
            if _timeout is not None:
                now = env.now
                kind = kinds[bisect.bisect_right(cum, u_kind())]
                eid = rec.new_event(now, si, kind)
                ev = Event(eid, now, kind)
                ev.pending = 1  # held while the collectors consider it
                live[eid] = ev
                for col in collectors:
                    col.consider(ev)
                self.release(ev)
            env.timeout(next_gap()).callbacks.append(arrive)

        arrive()

    # -- scheduling helpers --------------------------------------------------------
    def at(self, delay: float, fn, *args) -> None:
        """Call ``fn(*args)`` after ``delay`` hours."""
        self.env.timeout(delay).callbacks.append(lambda _t: fn(*args))

    def every_day_at(self, hour: float, fn) -> None:
        """Call ``fn()`` every day at ``hour`` (hours after midnight)."""
        def tick(_t=None):
            fn()
            self.env.timeout(24.0).callbacks.append(tick)
        self.env.timeout(hour % 24.0).callbacks.append(tick)

    def _end_warmup(self) -> None:
        now = self.env.now
        for node in self.nodes.values():
            if isinstance(node, Cell):
                node._account(now)
                node.reset_stats(now)

    # -- reports -------------------------------------------------------------------
    def new_report(self, ev: Event, origin: int, parent: int = -1) -> Report:
        rid = self.next_report
        self.next_report += 1
        ev.pending += 1
        rep = Report(rid, parent, ev, origin, self.env.now)
        if self.tracing:
            self.live_reports[rid] = rep
        return rep

    def copy(self, rep: Report) -> Report:
        """A child copy of ``rep`` at the same node (for a second outgoing link)."""
        return self.new_report(rep.event, rep.prev, rep.id)

    def send(self, rep: Report, link: Link) -> None:
        """Move ``rep`` along ``link``: wait for its meeting (if any), then transit."""
        env = self.env
        now = env.now
        rep.prev = link.src.index
        transit = link.transit()
        start = now if link.meeting is None else link.meeting.next_at(now)
        if self.tracing:
            rid, parent, eid, src, dst = rep.id, rep.parent, rep.event.id, link.src.index, link.dst.index
            if start > now:
                self.rec.step(rid, parent, eid, src, S_MEETING, now, start, dst)
            if start < math.inf:
                self.rec.step(rid, parent, eid, src, S_TRANSIT, start, start + transit, dst)
        if start == math.inf:
            return  # waits for a meeting that never comes: in flight at the end
        delay = start - now + transit
        if delay == 0 and self.depth < _MAX_DEPTH:
            self.depth += 1
            link.dst.receive(rep)
            self.depth -= 1
        else:
            env.timeout(delay, rep).callbacks.append(link.dst.receive_event)

    def end(self, rep: Report, node: int, state: int) -> None:
        """``rep`` ends here in terminal ``state``."""
        self.rec.report_end(node, state)
        if self.tracing:
            now = self.env.now
            self.rec.step(rep.id, rep.parent, rep.event.id, node, S_END, now, now, state)
            del self.live_reports[rep.id]
        self.release(rep.event)

    def release(self, ev: Event) -> None:
        """One pending thing of ``ev`` is settled; forget the event when none is left."""
        ev.pending -= 1
        if ev.pending == 0:
            self.rec.event_counts(ev.id, ev.observed, ev.reported)
            del self.live[ev.id]

    # -- running -------------------------------------------------------------------
    def run(self) -> RunRecords:
        horizon = self.days * 24.0
        self.env.run(until=horizon)
        return self._finish(horizon)

    def _finish(self, horizon: float) -> RunRecords:
        sc = self.scenario
        rec = self.rec
        rec.reports_created = self.next_report
        ended = sum(rec.report_ends.values())
        in_flight = self.next_report - ended
        if in_flight:
            if self.tracing:
                for rep in self.live_reports.values():
                    rec.step(rep.id, rep.parent, rep.event.id, rep.prev, S_END, horizon, horizon, IN_FLIGHT)
            # in-flight reports are attributed to the last node they left or reached
            rec.report_ends[(-1, IN_FLIGHT)] = in_flight
        cells = [node.stats(horizon) for node in self.nodes.values() if isinstance(node, Cell)]
        records = rec.finish(
            scenario=sc.name, seed=self.seed, days=self.days, warmup_days=self.warmup_days,
            live_events={eid: (ev.observed, ev.reported) for eid, ev in self.live.items()},
            cells=cells, kinds=self.kind_names,
            families=[k.family for k in sc.kinds.values()],
            shelf_lives=[k.shelf_life_h for k in sc.kinds.values()],
            sources=list(sc.sources), source_sectors=[s.sector for s in sc.sources.values()],
            acts_at=[sc.meetings[sc.nodes[c].acts_at] if sc.nodes[c].acts_at else None
                     for c in sc.consumers],
        )
        records.meta.update({
            "node_types": {n: sc.node_type(n) for n in sc.nodes},
            "chain_nodes": list(sc.commanders),
            "bypass": ([sc.metrics.bypass_consumer, sc.metrics.bypass_branch]
                       if sc.metrics.bypass_consumer else None),
            "streams": self.streams.names,
        })
        return records


def simulate(scenario: Scenario, seed: Optional[int] = None, days: Optional[float] = None, *,
             trace: bool = False, warmup_days: float = 0.0) -> RunRecords:
    """Run ``scenario`` once and return its records (seed and days default to the file's)."""
    return Simulation(scenario, seed, days, trace=trace, warmup_days=warmup_days).run()
