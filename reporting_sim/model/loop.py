"""SimPy's run loop for the engine's runs: ``Environment.run(until=...)`` with
``Environment.step`` written out in it.

A run steps through one SimPy event per report's arrival, per cell visit and per delay
(4.3 a report on the reference network of ``benchmarks/``), so the call of ``step``
per event and its ``try`` around the callbacks are a few per cent of a run
(``benchmarks/README.md``: about 3% of a simulated year of minusma-2015, 1% of the
network). :func:`run_until` does what ``run`` and ``step`` do, in the same order: the
stop event scheduled first among the events of its time (SimPy's ``URGENT``), each
popped entry setting the clock, its callbacks taken off and called in order, a failed
event that nobody defused raised as SimPy raises it. (One difference: SimPy puts its
stop event back on the queue, with no callbacks left, when it stops; this does not,
and nothing of the model reads it.) An event with one callback, nearly every event of a
run, has it called without iterating its list (its one item unpacked: fewer
instructions than testing the list's length): the same call, as no callback of the
model adds to a list being called. It reads what ``step`` reads
(``Environment._queue``, ``_now``; an event's ``callbacks``, ``_ok``, ``_value``,
``_defused``), each checked on SimPy itself in ``tests/test_simpy_contract.py``, which
also runs a model both ways and compares every record.
"""

from __future__ import annotations

from heapq import heappop

from simpy.events import URGENT, Event


def run_until(env, until: float) -> None:
    """``env.run(until=until)`` for a time ``until`` (see the module docstring)."""
    at = float(until)
    if at <= env._now:
        raise ValueError(f"until ({at}) must be greater than the current simulation time")
    stop = Event(env)
    stop._ok = True
    stop._value = None
    env.schedule(stop, URGENT, at - env._now)
    queue = env._queue
    while True:
        env._now, _, _, event = heappop(queue)  # never empty: the stop event is on it
        if event is stop:
            return
        callbacks, event.callbacks = event.callbacks, None
        try:
            (callback,) = callbacks  # nearly every event: a report's, a job's or a wake's one callback
        except ValueError:
            for callback in callbacks:
                callback(event)
        else:
            callback(event)
        if not event._ok and not hasattr(event, "_defused"):
            exc = type(event._value)(*event._value.args)
            exc.__cause__ = event._value
            raise exc
