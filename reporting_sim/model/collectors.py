"""Collectors at run time: units that turn ground-truth events into reports.

For each event in its sectors (and kinds) a collector always draws the same set of
random numbers, whether or not it observes the event, so that variants changing its
chances keep common random numbers. Then, in order:

1. **Accreditation**: a platform observes nothing before it is deployed and accredited.
2. **Observation**: with chance ``p_observe`` (``rotation.p_observe_new`` while a newly
   rotated contingent learns the area; ``tasking.p_observe`` while tasked), at
   the first moment a patrol is out at or after the event, provided that is within the
   event's shelf life (after that there is nothing left to see); a unit whose patrols
   need a pool (an escort) goes out only when a pool member is free, and events wait
   for the next patrol that actually leaves.
3. **Reporting**: the main report with chance ``p_report`` (for a branch-culture unit,
   ``tasking.p_written`` while tasked), after ``report_delay_h`` (plus the rest of the
   patrol when it reports after the patrol). A commander-centric unit's main report is
   the word its patrols give their chief; its **written** report (``[written]``) goes
   out with chance ``written.p`` (``tasking.p_written`` while tasked) on ``written``
   links only. A written report that the patrol cannot write itself (chance
   ``1 - literacy``) waits for dictation (``dictation_h``) unless the unit has formats.
4. **Fidelity**: a report keeps the precise time and place with chance ``precision``
   (always for imagery, until it is sanitised); with formats, every *written* report
   keeps them (a branch-culture unit's reports, a commander-centric unit's written
   ones), while the word a patrol gives its chief stays as precise as before.
"""

from __future__ import annotations

import math

from ..scenario.distributions import BATCH
from .records import STEP_KINDS
from .context import Sim
from .items import Event
from .nodes import Node
from .plan import NodePlan

S_OBSERVE, S_WRITE = STEP_KINDS.index("observe"), STEP_KINDS.index("write")


class Pool:
    """People or vehicles that patrols need (an escort); a patrol leaves only when one
    is free and gives it back when it returns."""

    def __init__(self, name: str, capacity: int):
        self.name = name
        self.capacity = capacity
        self.free = capacity
        self.taken = 0
        self.refused = 0

    def give_back(self) -> None:
        self.free += 1


def _plus(delay: float, since_patrol: float, after_patrol: bool, dictation: float, dictates: bool) -> float:
    """A report's delay, plus the rest of the patrol if it is written after it, plus
    the dictation if it waits for one."""
    if after_patrol:
        delay += since_patrol
    if dictates:
        delay += dictation
    return delay


class Collector(Node):
    """A unit that observes events and releases reports (see the module docstring)."""

    kind = "collector"

    def __init__(self, sim: Sim, plan: NodePlan):
        super().__init__(sim, plan)
        spec = self.spec = plan.spec
        name = plan.name
        self.kinds_seen = plan.kinds_seen  # frozenset of kind indices, or None for all
        self.p_observe = spec.p_observe
        self.p_report = spec.p_report
        self.precision = spec.precision
        self.branch = spec.culture == "branch"
        self.imagery = spec.imagery_channel if spec.imagery else None
        self.formats = spec.formats
        self.written = spec.written
        self.written_links: list = []
        self.literacy = plan.literacy
        self.draws = self._draw_buffer(sim.streams, name, spec)
        self._patrol_rhythm(spec.patrols)
        self.after_patrol = spec.report_after_patrol
        self.active_from = self._accredited_from(sim.streams, name, spec.accreditation,
                                                 plan.accreditation_wait)
        self.tasking = plan.tasking
        self.tasked_until = -math.inf
        self.tasks = 0
        self.rotation = plan.rotation
        self.pool = sim.pools.get(plan.pool) if plan.pool else None
        self.patrols_out = 0
        self.patrols_cancelled = 0
        self.observed = 0
        self.released = 0
        self.released_written = 0
        self._start_routines(sim)

    def _draw_buffer(self, st, name: str, spec):
        """One zero-argument function handing out, per event considered, the tuple
        ``(u_observe, u_report, u_precise, delay, u_literacy, dictation, u_written,
        written_delay)``: each stream batched 512 at a time exactly as its own sampler
        would (so the numbers are the same), zipped into one buffer."""
        rngs = [st.get(f"{what}:{name}") for what in ("observe", "report", "precision", "report_delay")]
        cols = [lambda n, r=r: r.random(n) for r in rngs[:3]]
        cols.append(lambda n, r=rngs[3]: spec.report_delay_h.batch(r, n))
        written = [(1.0,), (0.0,)]
        if self.written is not None:
            r_w, r_wd = st.get(f"written:{name}"), st.get(f"written_delay:{name}")
            written = [lambda n: r_w.random(n), lambda n: self.written.delay_h.batch(r_wd, n)]
        literacy = [(1.0,), (0.0,)]
        if self.literacy < 1.0:
            r_l, r_ld = st.get(f"literacy:{name}"), st.get(f"dictation:{name}")
            literacy = [lambda n: r_l.random(n), lambda n: spec.dictation_h.batch(r_ld, n)]
        cols += literacy + written
        buf: list[tuple] = []

        def refill() -> tuple:
            batch = [c * BATCH if c.__class__ is tuple else c(BATCH).tolist() for c in cols]
            buf.extend(zip(*batch))
            buf.reverse()
            return buf.pop()

        def draw() -> tuple:
            try:
                return buf.pop()
            except IndexError:
                return refill()

        draw.pair = (buf.pop, refill)  # for the hot path (see .draws)
        return draw

    def _patrol_rhythm(self, pat) -> None:
        self.interval = 24.0 / pat.per_day if pat else 0.0
        self.patrol_h = pat.duration_h if pat else 0.0
        self.first_h = pat.first_h if pat else 0.0

    @staticmethod
    def _accredited_from(st, name: str, acc, mechanism: bool) -> float:
        """When a platform starts observing: deployed, then (with the mechanism) accredited."""
        if acc is None:
            return -math.inf
        days = acc.deployed_day
        if mechanism:
            days += acc.duration_days.sampler(st.get(f"accreditation:{name}"))()
        return days * 24.0

    def _start_routines(self, sim: Sim) -> None:
        """Tasking and escorted patrol departures, as routines (SimPy processes)."""
        if self.tasking is not None and self.tasking.per_week > 0:
            gaps = sim.streams.get(f"tasking:{self.name}")
            mean_gap = 168.0 / self.tasking.per_week
            task_gap = lambda: float(gaps.exponential(mean_gap))
            sim.clock.routine(task_gap(), lambda: self._tasked(task_gap))
        if self.pool is not None:
            self.waiting: list = []
            self.out_until = -math.inf
            sim.clock.routine(self.first_h % self.interval, self._patrols)

    # -- processes -------------------------------------------------------------------
    def _tasked(self, task_gap):
        """The unit's tasking (a routine): a task arrives, the next one after a gap."""
        env = self.sim.env
        while True:
            self.tasks += 1
            self.tasked_until = max(self.tasked_until, env._now + self.tasking.window_h)
            yield env.timeout(task_gap())

    def _patrols(self):
        """Escorted patrols (a routine): one tries to leave every ``interval`` hours."""
        while True:
            self._depart()
            yield self.sim.env.timeout(self.interval)

    def _depart(self) -> None:
        """A scheduled patrol departure of a unit whose patrols need a pool member."""
        sim = self.sim
        now = sim.env._now
        pool = self.pool
        if pool.free > 0:
            pool.free -= 1
            pool.taken += 1
            self.patrols_out += 1
            back = now + self.patrol_h
            self.out_until = back
            sim.clock.first(self.patrol_h, pool.give_back)
            waiting, self.waiting = self.waiting, []
            shelf = sim.shelf_lives
            for ev, draws in waiting:
                if now > ev.t + shelf[ev.kind]:
                    sim.release(ev)  # nothing left to see by now
                else:
                    self._observed(ev, back, draws)
        else:
            pool.refused += 1
            self.patrols_cancelled += 1

    # -- events ----------------------------------------------------------------------
    def consider(self, ev: Event) -> None:
        """Called when ``ev``, of a kind it sees, happens in one of this collector's
        sectors (the engine offers it no other kind: ``Simulation._collectors_by_kind``)."""
        draws = self.draws()  # the same numbers whatever happens next (common random numbers)
        u_obs = draws[0]
        sim = self.sim
        now = sim.env._now
        if now < self.active_from:
            return
        if u_obs >= self.chance_to_observe(now):
            return
        sim.hold(ev)  # the observation is pending
        if self.pool is not None:
            self._with_escort(ev, now, draws)
            return
        t_obs, back = self._patrol_times(now) if self.interval else (now, now)
        if t_obs > ev.t + sim.shelf_lives[ev.kind]:
            sim.release(ev)  # the next patrol comes too late: nothing left to see
            return
        if t_obs == now:
            self._observed(ev, back, draws)
        else:
            sim.clock.after(t_obs - now, self._observed, ev, back, draws)

    def _with_escort(self, ev: Event, now: float, draws) -> None:
        """A collector that needs an escort: observed on the patrol out now, or
        waiting for the next one that gets an escort."""
        if now < self.out_until:
            self._observed(ev, self.out_until, draws)
        else:
            self.waiting.append((ev, draws))

    def _patrol_times(self, now: float) -> tuple[float, float]:
        """``(t_obs, back)``: when the patrol out at ``now`` (or the next one) sees an
        event of ``now``, and when it is back."""
        into = (now - self.first_h) % self.interval
        if into < self.patrol_h:
            return now, now - into + self.patrol_h
        t_obs = now + self.interval - into
        return t_obs, t_obs + self.patrol_h

    def chance_to_observe(self, now: float) -> float:
        """``p_observe`` at ``now``: lower while a new contingent learns the area, and
        the tasked chance (if any) while tasked."""
        p_obs = self.p_observe
        rot = self.rotation
        if rot is not None:
            since = (now / 24.0 - rot.first_day) % rot.every_days
            if now / 24.0 >= rot.first_day and since < rot.learning_days:
                p_obs = rot.p_observe_new
        if (self.tasking is not None and self.tasking.p_observe is not None
                and now < self.tasked_until):
            p_obs = self.tasking.p_observe
        return p_obs

    def _observed(self, ev: Event, back: float, draws) -> None:
        """``ev`` is observed now (its patrol back at ``back``): the main report and a
        written one are released, each with its own chance and delay."""
        sim = self.sim
        now = sim.env._now
        _u_obs, u_rep, u_prec, delay, u_lit, dictation, u_wr, w_delay = draws
        ev.observed += 1
        self.observed += 1
        ev.observers |= self.bit
        tasked = now < self.tasked_until
        # formats shape written reports; a commander-centric unit's main report is the
        # word its patrol gives the chief, which formats do not touch
        precise_written = self.formats or u_prec < self.precision
        dictates = u_lit >= self.literacy and not self.formats  # waits for dictation
        p = self.tasking.p_written if tasked and self.branch else self.p_report
        if u_rep < p:
            self._main_report(ev, now, back, u_prec, delay, dictation, dictates, precise_written)
        if self.written is not None:
            self._written_report(ev, now, back, tasked, u_wr, w_delay, dictation, dictates, precise_written)
        sim.release(ev)  # the observation is settled; its reports keep the event live

    def _main_report(self, ev: Event, now: float, back: float, u_prec: float, delay: float, dictation: float,
                     dictates: bool, precise_written: bool) -> None:
        """The main report of ``ev`` (observed now, the patrol back at ``back``): precise
        as a written one in a branch-centric unit, by its own chance otherwise (or
        always with imagery); a branch-centric unit's waits for dictation too."""
        precise = precise_written if self.branch else u_prec < self.precision
        delay = _plus(delay, back - now, self.after_patrol, dictation, self.branch and dictates)
        self._will_release(ev, now, delay, precise or self.imagery is not None, False)

    def _written_report(self, ev: Event, now: float, back: float, tasked: bool, u_wr: float, w_delay: float,
                        dictation: float, dictates: bool, precise: bool) -> None:
        """The written report of ``ev`` (observed now, the patrol back at ``back``), with
        its own chance (the tasking's while tasked) and delay."""
        pw = self.tasking.p_written if tasked else self.written.p
        if u_wr < pw:
            w_delay = _plus(w_delay, back - now, self.written.after_patrol, dictation, dictates)
            self._will_release(ev, now, w_delay, precise, True)

    def _will_release(self, ev: Event, now: float, delay: float, precise: bool, written: bool) -> None:
        """A report of ``ev`` will be released after ``delay`` (the main report at once
        when it is zero)."""
        sim = self.sim
        sim.hold(ev)  # the report is pending
        if delay == 0 and not written:
            self._release(ev, now, precise, False)
        else:
            sim.clock.after(delay, self._release, ev, now, precise, written)

    def _release(self, ev: Event, t_obs: float, precise: bool, written: bool) -> None:
        sim = self.sim
        ev.reported += 1
        self.released += 1
        self.released_written += written
        rep = sim.new_report(ev, self.index, pending_taken=True)
        rep.precise = precise
        rep.imagery = self.imagery
        if sim.tracing:
            sim.rec.step(rep.id, -1, ev.id, self.index, S_OBSERVE, ev.t, t_obs)
            sim.rec.step(rep.id, -1, ev.id, self.index, S_WRITE, t_obs, sim.env._now)
        self.forward(rep, self.written_links if written else None)
