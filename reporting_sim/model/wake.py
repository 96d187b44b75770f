"""Minimal events for SimPy's scheduler.

SimPy's ``Environment.step`` reads only an event's ``callbacks`` and ``_ok`` (and
``_value`` when ``_ok`` is false). A wake (:func:`Wake`) has just those set, so it is
much cheaper to make than a ``Timeout``; :class:`.clock.Clock` (``after``, ``first``),
routine work and the event sources put them on SimPy's queue as
``Environment.schedule`` would, and SimPy processes them like any other event, in the
same (time, priority, insertion) order. Reports and the jobs of a cell need no wrapper
at all: each is its own event while it waits (:class:`.items.Report`).

**One class.** A wake is an instance of :class:`.items.Report` (its ``callbacks``,
``_ok`` and ``_value`` set, nothing else), not of a class of its own: CPython 3.11
specialises an attribute read for the one type it sees at that place, and the run loop
(:mod:`.loop`) reads ``callbacks`` and ``_ok`` of every event. With wakes of their own
class, one event in four on the reference network of ``benchmarks/`` (a source's next
arrival) made those reads fall back and specialise again: 1.9% of the run's
instructions and 3.4% of its time (``benchmarks/README.md``, sixth round).
"""

from __future__ import annotations

import simpy

from .items import Report

NORMAL = simpy.events.NORMAL

# Zero-delay hops (a report passed on at once) are delivered inside the step that sent
# them, at most this many deep; the next one goes on SimPy's queue at the same time.
MAX_ZERO_DELAY_DEPTH = 50

_new = object.__new__


def Wake(fn, value) -> Report:
    """A minimal event: one callback, ``fn(wake)``, and a value (see the module
    docstring: an instance of :class:`.items.Report` with only these set)."""
    wake = _new(Report)
    wake.callbacks = [fn]
    wake._ok = True
    wake._value = value
    return wake
