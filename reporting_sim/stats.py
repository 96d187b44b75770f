"""Confidence intervals over replications (t-based), for single and paired samples.

Replications are independent runs with different seeds, so each metric's values across
replications are independent and identically distributed; a t interval on their mean
is the standard estimate (STRESS-DES 1.2). For a what-if comparison the base and the
variant run with the same seeds (common random numbers), and the interval is taken on
the per-replication differences (a paired comparison), which is far narrower than
comparing two independent means.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy import stats


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: the mean of ``values`` and its two-sided t interval; NaN
    values are left out; the interval is NaN with fewer than two values."""
    x = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    m = float(x.mean())
    if len(x) < 2:
        return m, math.nan, math.nan
    sd = float(x.std(ddof=1))
    if sd == 0:
        return m, m, m
    half = float(stats.t.ppf(0.5 + level / 2, len(x) - 1)) * sd / math.sqrt(len(x))
    return m, m - half, m + half


def paired_ci(variant: Sequence[float], base: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)`` of the per-replication differences ``variant - base``
    (pairs where either side is NaN are left out)."""
    if len(variant) != len(base):
        raise ValueError("paired samples must have the same length")
    diffs = [v - b for v, b in zip(variant, base)
             if v is not None and b is not None and not (math.isnan(v) or math.isnan(b))]
    return mean_ci(diffs, level)
