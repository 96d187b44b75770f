"""The seeds of studies across plausible worlds: each world its own, common to the
scenarios of the world (used by robustness, select and packages alike)."""

from __future__ import annotations

from ..hashing import digest


def world_seed(seed: int, world: int, replication: int) -> int:
    """The seed of replication ``replication`` of world ``world`` in a study seeded
    ``seed``: a hash of the three (below 2**62), so every world has its own seeds and
    the base and the variants of one world share them (common random numbers)."""
    return int(digest(["world-seed", int(seed), int(world), int(replication)]), 16) % (2**62)
