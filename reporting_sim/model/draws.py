"""Random draws handed out from a buffer, for the hottest loops.

A sampler (:meth:`reporting_sim.streams.Streams.uniform_sampler`, a distribution's
``sampler``) is a Python function: a call per draw. :func:`buffered` gives the same
numbers in the same order (batches of 512 from the same stream, handed out first to
last) as the pair ``(pop, refill)``: ``pop`` is the buffer's own ``list.pop`` (no
Python frame), which raises ``IndexError`` when the batch is used up; then
``refill()`` draws the next batch and returns its first number. A loop writes::

    try:
        x = pop()
    except IndexError:
        x = refill()
"""

from __future__ import annotations

from ..distributions import _BATCH


def buffered(batch):
    """``(pop, refill)`` over ``batch(n)``, a function giving the stream's next ``n``
    draws as a numpy array (see the module docstring)."""
    buf: list[float] = []

    def refill() -> float:
        buf.extend(batch(_BATCH)[::-1].tolist())
        return buf.pop()

    return buf.pop, refill
