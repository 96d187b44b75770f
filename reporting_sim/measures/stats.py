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


def number_or_none(x) -> float | None:
    """``x`` as a float for JSON: ``None`` when it is missing or NaN."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: the mean of ``values`` and its two-sided t interval; NaN
    values are left out; the interval is NaN with fewer than two values."""
    x = np.asarray([v for v in values if _present(v)], dtype=float)
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    m = float(x.mean())
    half = _half_width(x, level)
    if half == 0:
        return m, m, m  # all equal: the mean itself (keeps its sign, even a -0.0)
    return m, m - half, m + half


def _present(v) -> bool:
    """Whether ``v`` is a value (not missing, not NaN)."""
    return v is not None and not math.isnan(v)


def _half_width(x: np.ndarray, level: float) -> float:
    """The half-width of the t interval of the mean of ``x`` (NaN below two values, 0
    when they are all equal)."""
    if len(x) < 2:
        return math.nan
    sd = float(x.std(ddof=1))
    if sd == 0:
        return 0.0
    return float(stats.t.ppf(0.5 + level / 2, len(x) - 1)) * sd / math.sqrt(len(x))


def paired_ci(variant: Sequence[float], base: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)`` of the per-replication differences ``variant - base``
    (pairs where either side is NaN are left out)."""
    if len(variant) != len(base):
        raise ValueError("paired samples must have the same length")
    diffs = [v - b for v, b in zip(variant, base) if _present(v) and _present(b)]
    return mean_ci(diffs, level)


def holm(pvalues: list[float]) -> list[float]:
    """Holm-adjusted p-values (step-down; controls the family-wise error rate)."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    out = [1.0] * len(pvalues)
    running = 0.0
    m = len(pvalues)
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def p_from_ci(mean, ci, n: int) -> float:
    """Two-sided p-value of a paired t interval's mean (from the 95% half-width)."""
    lo, hi = ci
    if any(x is None for x in (mean, lo, hi)) or n < 2:
        return 1.0
    half = (hi - lo) / 2
    if half <= 0:
        return 0.0 if mean != 0 else 1.0
    se = half / stats.t.ppf(0.975, n - 1)
    return float(2 * stats.t.sf(abs(mean) / se, n - 1))
