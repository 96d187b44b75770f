"""A minimal event for SimPy's scheduler, used on the per-report hot path.

SimPy's ``Environment.step`` needs only an event's ``callbacks``, ``_ok`` and
``_value``. A :class:`Wake` has just those, so it is much cheaper to make than a
``Timeout``; it is scheduled with SimPy's own ``Environment.schedule`` and processed by
SimPy's event loop like any other event, in the same (time, priority, insertion) order.
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
