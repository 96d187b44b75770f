"""Named random streams: one ``SeedSequence`` per run, one stream per source of randomness.

Every source of randomness in the model (the arrivals of one event source, the
observations of one collector, the work times of one staff cell, the routing choices
of one node, the transit times of one link...) draws from its own stream, named by what
it is for, e.g. ``"work:u2"``. A stream is derived from the run's seed and its name
only, never from the order in which the model asks for streams, so:

* the same seed gives the same numbers, serial or parallel, whatever ``PYTHONHASHSEED``;
* a what-if variant that adds, removes or re-links a unit leaves every other unit's
  stream untouched (common random numbers: paired comparisons compare like with like);
* replication ``r`` of an experiment uses seed ``seed + r`` (see ``replication_seed``).
"""

from __future__ import annotations

import functools
import hashlib

import numpy as np


@functools.lru_cache(maxsize=4096)  # the same few hundred names in every run of a scenario
def _name_key(name: str) -> tuple[int, ...]:
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


class Streams:
    """Hands out one ``numpy.random.Generator`` per stream name for a given seed."""

    def __init__(self, seed: int):
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = int(seed)
        self._made: dict[str, np.random.Generator] = {}

    def sequence(self, name: str) -> np.random.SeedSequence:
        """The seed sequence of stream ``name`` (a child of the run's root sequence)."""
        return np.random.SeedSequence(self.seed, spawn_key=_name_key(name))

    def get(self, name: str) -> np.random.Generator:
        """The generator of stream ``name``; asking twice gives the same object."""
        gen = self._made.get(name)
        if gen is None:
            gen = np.random.Generator(np.random.PCG64(self.sequence(name)))
            self._made[name] = gen
        return gen

    def uniform_sampler(self, name: str):
        """A zero-argument function giving the next U(0,1) of stream ``name``, batched."""
        rng = self.get(name)
        buf: list[float] = []

        def draw() -> float:
            if not buf:
                buf.extend(rng.random(512)[::-1].tolist())
            return buf.pop()

        return draw

    def exponential_sampler(self, name: str, mean: float):
        """A zero-argument function giving the next exponential draw of mean ``mean``
        from stream ``name``, batched like :meth:`uniform_sampler`."""
        rng = self.get(name)
        buf: list[float] = []

        def draw() -> float:
            if not buf:
                buf.extend(rng.exponential(mean, 512)[::-1].tolist())
            return buf.pop()

        return draw

    @property
    def names(self) -> list[str]:
        """The streams this run used, in the order they were first asked for."""
        return list(self._made)


def replication_seed(seed: int, replication: int) -> int:
    """The seed of replication ``replication`` (0-based) of an experiment seeded ``seed``."""
    return int(seed) + int(replication)
