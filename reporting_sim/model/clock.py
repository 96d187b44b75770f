"""Scheduling on SimPy: the one small interface the model uses for timed work.

* :meth:`Clock.after` calls a function after a delay (a minimal event on SimPy's own
  queue, :class:`.wake.Wake`);
* :meth:`Clock.first` does the same before anything else due at that time (a patrol
  handing back its escort before the next patrol asks for one);
* :meth:`Clock.routine` starts a long-lived routine, a SimPy generator process, whose
  first wait is scheduled at once (so routines started while the network is built keep
  the order in which they were started); :meth:`Clock.daily` is a routine calling a
  function every day at one hour; :meth:`Clock.process` starts any other process.

Routines (patrol departures, duty rosters, tasking, boards, routine work) are SimPy
processes written with ``yield env.timeout(...)``. What happens to one report or one
event is not scheduled here: a report or a queued job is itself a SimPy event, put on
SimPy's queue by the engine, the cells and the hot path (:mod:`.hotpath`), and a
source's next arrival is one reused event, for speed.
"""

from __future__ import annotations

from heapq import heappush
from typing import Callable, Generator

import simpy

from .wake import NORMAL, Wake

URGENT = simpy.events.URGENT


def _apply(wake) -> None:
    fn, args = wake._value
    fn(*args)


class Clock:
    """Timed work on one SimPy environment (see the module docstring)."""

    __slots__ = ("env",)

    def __init__(self, env: simpy.Environment):
        self.env = env

    def after(self, delay: float, fn: Callable[..., None], *args) -> None:
        """Call ``fn(*args)`` after ``delay`` hours (``Environment.schedule`` written out:
        the same entry on SimPy's queue; see tests/test_simpy_contract.py)."""
        env = self.env
        heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), Wake(_apply, (fn, args))))

    def first(self, delay: float, fn: Callable[..., None], *args) -> None:
        """Call ``fn(*args)`` after ``delay`` hours, before anything else due then."""
        env = self.env
        heappush(env._queue, (env._now + delay, URGENT, next(env._eid), Wake(_apply, (fn, args))))

    def process(self, generator: Generator) -> simpy.Process:
        """Start a SimPy process."""
        return self.env.process(generator)

    def routine(self, delay: float, body: Callable[[], Generator]) -> simpy.Process:
        """After ``delay`` hours (a wait scheduled now), run the generator ``body()`` as
        a SimPy process, for good or until it returns."""
        start = self.env.timeout(delay)

        def run():
            yield start
            yield from body()

        return self.env.process(run())

    def daily(self, hour: float, fn: Callable[[], None]) -> simpy.Process:
        """Call ``fn()`` every day at ``hour`` (hours after midnight)."""
        env = self.env

        def days():
            while True:
                fn()
                yield env.timeout(24.0)

        return self.routine(hour % 24.0, days)
