"""History matching's arithmetic: implausibility, the cut-off, and conflicting patterns.

For a world and a pattern whose number must lie in ``[low, high]`` (an ordering: on one
side of zero), the **implausibility** is the distance of the world's number from that
range (0 inside it) over the square root of the sum of the pattern's tolerance
squared, the variance of the number's mean over the world's replications, and (for a
world not run, only emulated) the emulator's variance (Vernon, Goldstein & Bower
2014). A world is **non-implausible** when its implausibility measure is at most the
cut-off (3 by default, by Pukelsheim's three-sigma rule); the measure is the largest
implausibility over the patterns, or with 10 patterns or more the second largest (as
hmer does), so that one pattern missed by chance does not rule a world out.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

CUTOFF = 3.0
SECOND_FROM = 10


def distance(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """How far each value of ``x`` lies outside ``[low, high]`` (0 inside; NaN stays)."""
    x = np.asarray(x, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(x < low, low - x, np.where(x > high, x - high, 0.0))


def implausibility(x: np.ndarray, var: np.ndarray, low: float, high: float, tolerance: float) -> np.ndarray:
    """Each world's implausibility on one pattern (``var``: replication variance of
    the mean plus, for emulated worlds, the emulator's variance)."""
    d = distance(x, low, high)
    denom = np.sqrt(tolerance ** 2 + np.nan_to_num(np.asarray(var, float), nan=0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(d == 0, 0.0, d / denom)
    return out


def measure(imp: np.ndarray) -> np.ndarray:
    """Each world's implausibility measure from its row of pattern implausibilities
    (worlds x patterns): the largest, or the second largest with >= 10 patterns; a
    pattern a world cannot be judged on (NaN) counts as 0."""
    imp = np.nan_to_num(np.asarray(imp, float), nan=0.0)
    if imp.shape[1] == 0:
        return np.zeros(imp.shape[0])
    ordered = np.sort(imp, axis=1)[:, ::-1]
    return ordered[:, 1] if imp.shape[1] >= SECOND_FROM else ordered[:, 0]


def which_rank(n_patterns: int) -> str:
    return "second-largest" if n_patterns >= SECOND_FROM else "largest"


def conflicts(imp: np.ndarray, ids: list[str], cutoff: float) -> list[dict]:
    """What keeps worlds out: each pattern no world run meets (implausibility above the
    cut-off in every world), and each pair of patterns that some worlds meet one by one
    but none both. Empty when some world meets every pattern."""
    met = np.nan_to_num(np.asarray(imp, float), nan=0.0) <= cutoff
    if len(met) == 0 or met.all(axis=1).any():
        return []
    return _unmet(met, ids) + [c for a, b in itertools.combinations(range(len(ids)), 2) for c in _pair(met, ids, a, b)]


def _unmet(met: np.ndarray, ids: list[str]) -> list[dict]:
    """A conflict for each pattern no world run meets."""
    return [{"patterns": [ids[j]], "worlds_meeting": [0], "worlds_meeting_all": 0,
             "why": "no world run meets this pattern"} for j in range(len(ids)) if not met[:, j].any()]


def _pair(met: np.ndarray, ids: list[str], a: int, b: int) -> list[dict]:
    na, nb, both = int(met[:, a].sum()), int(met[:, b].sum()), int((met[:, a] & met[:, b]).sum())
    if not (na and nb) or both:
        return []
    return [{"patterns": [ids[a], ids[b]], "worlds_meeting": [na, nb], "worlds_meeting_all": 0,
             "why": "some worlds meet each, none both"}]


def summary(values: np.ndarray, cutoff: float = CUTOFF) -> dict:
    """The distribution of one pattern's implausibility over a wave's worlds."""
    v = np.asarray(values, float)
    v = v[~np.isnan(v)]
    if not len(v):
        return {"p50": None, "p90": None, "max": None, "share_above_cutoff": None}
    q = np.quantile(v, [0.5, 0.9])
    return {"p50": float(q[0]), "p90": float(q[1]), "max": float(v.max()),
            "share_above_cutoff": float((v > cutoff).mean())}


def finite(x: float):
    return None if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))) else float(x)
