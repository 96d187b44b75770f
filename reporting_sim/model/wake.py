"""Minimal events for SimPy's scheduler.

SimPy's ``Environment.step`` reads only an event's ``callbacks`` and ``_ok`` (and
``_value`` when ``_ok`` is false). A :class:`Wake` has just those, so it is much cheaper
to make than a ``Timeout``; :class:`.clock.Clock` (``after``, ``first``) and the event
sources schedule them with SimPy's own ``Environment.schedule``, and SimPy processes
them like any other event, in the same (time, priority, insertion) order. Reports and
the jobs of a cell need no wrapper at all: each is its own event while it waits
(:class:`.items.Report`).
"""

from __future__ import annotations

import simpy

NORMAL = simpy.events.NORMAL

# Zero-delay hops (a report passed on at once) are delivered inside the step that sent
# them, at most this many deep; the next one goes on SimPy's queue at the same time.
MAX_ZERO_DELAY_DEPTH = 50


class Wake:
    """One callback and a value, for ``Environment.schedule``."""

    __slots__ = ("callbacks", "_ok", "_value")

    def __init__(self, fn, value):
        self.callbacks = [fn]
        self._ok = True
        self._value = value
