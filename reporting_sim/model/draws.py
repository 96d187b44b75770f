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

from ..scenario.distributions import BATCH


def buffered(batch):
    """``(pop, refill)`` over ``batch(n)``, a function giving the stream's next ``n``
    draws as a numpy array (see the module docstring)."""
    buf: list[float] = []

    def refill() -> float:
        buf.extend(batch(BATCH)[::-1].tolist())
        return buf.pop()

    return buf.pop, refill


def draw(pair) -> float:
    """The next number of ``(pop, refill)`` (the loop of the module docstring, for a
    draw off the per-report path)."""
    pop, refill = pair
    try:
        return pop()
    except IndexError:
        return refill()


def sampler(pair):
    """A zero-argument sampler over ``(pop, refill)`` (for the general path), keeping
    the pair as ``.pair`` for the hot path, which draws from the same buffer."""
    pop, refill = pair

    def draw_next() -> float:
        try:
            return pop()
        except IndexError:
            return refill()

    draw_next.pair = pair
    return draw_next


def uniform(streams, name: str):
    """:meth:`~reporting_sim.streams.Streams.uniform_sampler`: the same numbers."""
    rng = streams.get(name)
    return sampler(buffered(rng.random))


def exponential(streams, name: str, mean: float):
    """:meth:`~reporting_sim.streams.Streams.exponential_sampler`: the same numbers."""
    rng = streams.get(name)
    return sampler(buffered(lambda n: rng.exponential(mean, n)))


def of(dist, rng):
    """``dist.sampler(rng)``: the same numbers (a fixed value stays the distribution's
    own sampler, which the hot path recognises by its ``fixed`` attribute)."""
    if getattr(dist, "dist", None) == "fixed":
        return dist.sampler(rng)
    return sampler(buffered(lambda n: dist.batch(rng, n)))
