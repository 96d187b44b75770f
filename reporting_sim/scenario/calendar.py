"""When a meeting sits, as plain numbers: the one calendar arithmetic that the schema's
meetings, the plan the engine reads, the command line and the lab all use."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Calendar:
    """A meeting held every ``every_h`` hours from hour ``start_h``, until hour
    ``until_h`` (``inf``: for good)."""

    start_h: float
    every_h: float
    until_h: float

    @classmethod
    def of(cls, meeting) -> "Calendar":
        """The calendar of a ``[meetings.NAME]`` table (``first_h``, ``every_h``,
        ``from_day``, ``until_day``)."""
        until = math.inf if meeting.until_day is None else meeting.until_day * 24
        return cls(meeting.from_day * 24 + meeting.first_h, meeting.every_h, until)

    def next_at(self, t: float) -> float:
        """The first meeting at or after hour ``t`` (``inf`` when none is left, or when
        ``t`` itself is ``inf``: after a wait for a meeting that never comes)."""
        if t == math.inf:
            return math.inf
        start = self.start_h
        k = 0 if t <= start else math.ceil((t - start) / self.every_h - 1e-12)
        at = max(start + k * self.every_h, t)  # never before t, whatever the rounding
        return math.inf if at > self.until_h else at

    def next_at_array(self, t):
        """:meth:`next_at` over a numpy array of hours (``nan`` stays ``nan``)."""
        import numpy as np  # here, not at the top: reading a scenario needs no numpy

        t = np.asarray(t, dtype=float)
        with np.errstate(invalid="ignore"):
            k = np.maximum(np.ceil((t - self.start_h) / self.every_h - 1e-12), 0)
            at = np.maximum(self.start_h + k * self.every_h, t)
            at = np.where(at > self.until_h, np.inf, at)
        return np.where(np.isnan(t), np.nan, at)

    def times(self, t0: float, t1: float, limit: int = 100000) -> list[float]:
        """The meetings from hour ``t0`` to hour ``t1`` (both included), at most ``limit``."""
        out: list[float] = []
        t = self.next_at(t0)
        while t <= t1 and len(out) < limit:
            out.append(t)
            t = self.next_at(t + 1e-6)
        return out
