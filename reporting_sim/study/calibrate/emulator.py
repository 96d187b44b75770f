"""Gaussian-process emulators of the patterns' numbers, on inputs screened first.

An emulator stands in for the simulation: from the worlds already run (their
uncertain settings as points of the unit cube, the mean of a pattern's number over
their replications, and that mean's variance), it predicts the number, with an
uncertainty, at worlds never run, in milliseconds. With 100+ uncertain settings and a
few dozen worlds, a Gaussian process over all inputs learns nothing; so the inputs are
**screened** first (the few whose rank correlation with the number is strongest, as
hmer keeps a few "active" variables per output), and the process is fitted on those,
with a white-noise term for what the other inputs and chance add. The library is
scikit-learn's :class:`~sklearn.gaussian_process.GaussianProcessRegressor` (kept up,
already installed with the EMA Workbench; its per-point ``alpha`` carries each world's
replication variance): docs/calibration.md says why.

:func:`held_out_coverage` measures whether the emulators' 95% intervals are honest:
each world is predicted by emulators fitted without its fold, and counted covered when
its run mean lies inside the predicted interval widened by its replication variance.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

Z95 = 1.959963984540054


def need_sklearn() -> None:
    """Fail early, with the command that installs it, when scikit-learn is missing."""
    from ...errors import ScenarioError

    try:
        import sklearn.gaussian_process  # noqa: F401
    except ImportError:
        raise ScenarioError("", "calibrate", 'the emulators need scikit-learn: pip install -e ".[explore]" '
                            "(or pip install scikit-learn)") from None


def screen(x: np.ndarray, y: np.ndarray, k: int) -> list[int]:
    """The ``k`` inputs (columns of ``x``) whose Spearman rank correlation with ``y``
    is strongest, strongest first (ties: the earlier column); constant inputs never."""
    from scipy.stats import rankdata

    ok = ~np.isnan(y)
    x, y = x[ok], y[ok]
    if len(y) < 3 or np.ptp(y) == 0:
        return []
    ry = rankdata(y)
    scores = [_rank_score(x[:, j], ry) for j in range(x.shape[1])]
    order = sorted(range(x.shape[1]), key=lambda j: (-scores[j], j))
    return [j for j in order[:k] if scores[j] >= 0]


def _rank_score(col: np.ndarray, ry: np.ndarray) -> float:
    """The strength of the Spearman correlation of one input with the ranks ``ry`` of
    the output (-1 for a constant input, never screened)."""
    from scipy.stats import rankdata

    if np.ptp(col) == 0:
        return -1.0
    return abs(float(np.corrcoef(rankdata(col), ry)[0, 1]))


@dataclass
class Emulator:
    """One pattern's emulator: the screened inputs and a fitted Gaussian process (or,
    with too little to learn from, the mean and spread of what was seen)."""

    active: list[int]
    mean: float
    scale: float
    gp: object = None
    kernel: str = ""
    spread: float = 0.0
    extra: dict = field(default_factory=dict)

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predicted mean and variance of the pattern's number at the worlds ``x``."""
        if self.gp is None or not self.active:
            n = len(x)
            return np.full(n, self.mean), np.full(n, self.spread ** 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mu, sd = self.gp.predict(x[:, self.active], return_std=True)
        return self.mean + self.scale * mu, (self.scale * sd) ** 2


def fit(x: np.ndarray, y: np.ndarray, var: np.ndarray, *, k: int = 5, seed: int = 0) -> Emulator:
    """An emulator of ``y`` (one value per world: a mean over replications, with its
    variance ``var``) on the ``k`` screened inputs of ``x`` (worlds in the unit cube)."""
    ok = ~np.isnan(y)
    x, y, var = x[ok], y[ok], np.nan_to_num(var[ok], nan=0.0)
    if len(y) == 0:
        return Emulator([], math.nan, 1.0, spread=math.nan)
    mean, scale = float(y.mean()), float(y.std()) or 1.0
    spread = float(y.std(ddof=1)) if len(y) > 1 else 0.0
    active = screen(x, y, min(k, max(1, len(y) // 8)))  # few inputs for few worlds: spurious ones overfit
    if len(y) < 4 or not active:
        return Emulator([], mean, scale, spread=spread)
    gp = _fitted_gp(x[:, active], (y - mean) / scale, var / scale ** 2 + 1e-8, seed)
    return Emulator(active, mean, scale, gp, str(gp.kernel_), spread)


def _fitted_gp(x: np.ndarray, z: np.ndarray, noise: np.ndarray, seed: int):
    """A Gaussian process fitted to the standardised ``z`` at the screened inputs ``x``,
    each world with its own ``noise`` variance (warnings of the optimiser silenced)."""
    gp = _gp(x.shape[1], seed, noise)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gp.fit(x, z)
    return gp


def _gp(d: int, seed: int, alpha: np.ndarray):
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, RBF, WhiteKernel

    # a floor under the white noise (5% of the spread) and under the length scales (a
    # fifth of a range): with a few dozen worlds the fit otherwise interpolates noise
    # and its intervals are too narrow (held-out coverage 70% instead of 85% on a
    # 12-world wave of minusma-2015)
    kernel = (ConstantKernel(1.0, (1e-3, 1e2)) * RBF(np.full(d, 0.5), (0.2, 20.0))
              + WhiteKernel(0.1, (0.05, 1.0)))
    return GaussianProcessRegressor(kernel, alpha=alpha, normalize_y=False, n_restarts_optimizer=0,
                                    random_state=seed)


def folds(n: int, k: int) -> list[np.ndarray]:
    """``k`` folds of ``0..n-1``, every ``k``-th index in one (deterministic)."""
    return [np.arange(i, n, k) for i in range(min(k, n))]


def held_out_coverage(x: np.ndarray, y: np.ndarray, var: np.ndarray, *, k: int = 5, seed: int = 0,
                      n_folds: int = 5) -> Optional[float]:
    """The share of worlds whose run mean lies inside the 95% interval of an emulator
    fitted without them (``n_folds``-fold), the interval widened by the world's own
    replication variance; ``None`` with fewer than 8 worlds to judge."""
    ok = np.flatnonzero(~np.isnan(y))
    if len(ok) < 8:
        return None
    hits = 0
    for test in folds(len(ok), n_folds):
        train = np.setdiff1d(np.arange(len(ok)), test)
        em = fit(x[ok[train]], y[ok[train]], var[ok[train]], k=k, seed=seed)
        mu, v = em.predict(x[ok[test]])
        half = Z95 * np.sqrt(v + np.nan_to_num(var[ok[test]], nan=0.0))
        hits += int(np.sum(np.abs(y[ok[test]] - mu) <= half))
    return hits / len(ok)
