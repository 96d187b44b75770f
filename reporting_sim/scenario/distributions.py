"""Probability distributions of durations, as they are written in a scenario file.

A duration in a scenario is either a plain number of hours (a fixed value) or a table
naming a distribution and its parameters, for example ``{ dist = "lognormal", mean =
1.5, sd = 1.0 }``. Every distribution knows its own ``mean``, ``variance`` and ``minimum`` (so tests
can compare simulated output with theory) and builds a fast buffered sampler bound to
one random stream (see :mod:`reporting_sim.streams`).

Parameters are given by mean and spread rather than by the library's shape/scale
parameters, because that is what a staff officer can estimate.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Callable, Literal, Union

if TYPE_CHECKING:  # numpy is needed only once a run draws numbers (keeps `validate` fast)
    import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

BATCH = 512

Hours = Annotated[float, Field(ge=0, le=1e6)]
PositiveHours = Annotated[float, Field(gt=0, le=1e6)]


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False, defer_build=True)

    @property
    def mean(self) -> float:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    @property
    def variance(self) -> float:  # pragma: no cover
        raise NotImplementedError

    @property
    def minimum(self) -> float:
        """The least value a draw can take (0 for unbounded-below-at-zero families)."""
        return 0.0

    def _batch(self, rng: np.random.Generator, n: int) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def batch(self, rng: np.random.Generator, n: int = 0) -> np.ndarray:
        """The next ``n`` draws (default: one batch) as the sampler would hand them out,
        for code that zips several streams' batches into one buffer."""
        return self._batch(rng, n or BATCH)

    def sampler(self, rng: np.random.Generator) -> Callable[[], float]:
        """A zero-argument function returning the next draw from ``rng``.

        Draws are made in batches and handed out one at a time; the sequence of
        values is a pure function of the stream, so common random numbers hold.
        """
        buf: list[float] = []

        def draw() -> float:
            if not buf:
                buf.extend(self._batch(rng, BATCH)[::-1].tolist())
            return buf.pop()

        return draw


class Fixed(_Dist):
    """Always the same value (a plain number in the file means this)."""

    dist: Literal["fixed"] = "fixed"
    value: Hours

    @property
    def mean(self) -> float:
        return self.value

    @property
    def variance(self) -> float:
        return 0.0

    @property
    def minimum(self) -> float:
        return self.value

    def sampler(self, rng: np.random.Generator) -> Callable[[], float]:
        value = float(self.value)

        def draw() -> float:
            return value

        draw.fixed = value  # lets the hot path skip a fixed zero transit time
        return draw

    def batch(self, rng: np.random.Generator, n: int = 0) -> np.ndarray:
        import numpy as np

        return np.full(n or BATCH, float(self.value))  # draws nothing from rng


class Exponential(_Dist):
    """Memoryless durations (M/M/c service, Poisson gaps)."""

    dist: Literal["exponential"]
    mean_h: PositiveHours = Field(alias="mean")

    @property
    def mean(self) -> float:
        return self.mean_h

    @property
    def variance(self) -> float:
        return self.mean_h**2

    def _batch(self, rng, n):
        return rng.exponential(self.mean_h, n)


class Uniform(_Dist):
    """Any value between ``low`` and ``high`` equally likely."""

    dist: Literal["uniform"]
    low: Hours
    high: Hours

    @model_validator(mode="after")
    def _order(self):
        if self.high < self.low:
            raise ValueError("high must be at least low")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    @property
    def variance(self) -> float:
        return (self.high - self.low) ** 2 / 12

    @property
    def minimum(self) -> float:
        return self.low

    def _batch(self, rng, n):
        return rng.uniform(self.low, self.high, n)


class Triangular(_Dist):
    """A minimum, a most likely value and a maximum: the usual expert estimate."""

    dist: Literal["triangular"]
    low: Hours
    mode: Hours
    high: Hours

    @model_validator(mode="after")
    def _order(self):
        if not (self.low <= self.mode <= self.high) or self.low == self.high:
            raise ValueError("needs low <= mode <= high and low < high")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3

    @property
    def variance(self) -> float:
        a, c, b = self.low, self.mode, self.high
        return (a * a + b * b + c * c - a * b - a * c - b * c) / 18

    @property
    def minimum(self) -> float:
        return self.low

    def _batch(self, rng, n):
        return rng.triangular(self.low, self.mode, self.high, n)


class _MeanSd(_Dist):
    mean_h: PositiveHours = Field(alias="mean")
    sd: PositiveHours

    @model_validator(mode="after")
    def _parameters_finite(self):
        # the sampler's own parameters must be finite numbers: a mean and sd very far
        # apart (1e-200 and 1) overflowed when the run began
        try:
            params = self._parameters()
        except (OverflowError, ZeroDivisionError, ValueError):
            params = (math.inf,)
        if not all(math.isfinite(p) and p > 0 for p in params):
            raise ValueError("mean and sd are too far apart for a "
                             f"{self.dist} distribution (sd / mean = {self.sd / self.mean_h:.3g})")
        return self

    @property
    def mean(self) -> float:
        return self.mean_h

    @property
    def variance(self) -> float:
        return self.sd**2


class Lognormal(_MeanSd):
    """Right-skewed durations (most reports quick, a few very slow), by mean and sd."""

    dist: Literal["lognormal"]

    def _parameters(self) -> tuple[float, float]:
        """``(exp(mu), sigma)`` of the underlying normal (``exp(mu)`` is the median)."""
        sigma2 = math.log(1 + (self.sd / self.mean_h) ** 2)
        return self.mean_h * math.exp(-sigma2 / 2), math.sqrt(sigma2) or math.ulp(0.0)

    def _batch(self, rng, n):
        sigma2 = math.log(1 + (self.sd / self.mean_h) ** 2)
        mu = math.log(self.mean_h) - sigma2 / 2
        return rng.lognormal(mu, math.sqrt(sigma2), n)


class Gamma(_MeanSd):
    """Gamma durations by mean and sd (Erlang when the shape is a whole number)."""

    dist: Literal["gamma"]

    def _parameters(self) -> tuple[float, float]:
        """``(shape, scale)``."""
        shape = (self.mean_h / self.sd) ** 2
        return shape, self.mean_h / shape

    def _batch(self, rng, n):
        shape = (self.mean_h / self.sd) ** 2
        return rng.gamma(shape, self.mean_h / shape, n)


def _number_is_fixed(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"dist": "fixed", "value": float(value)}
    return value


Distribution = Annotated[
    Union[Fixed, Exponential, Uniform, Triangular, Lognormal, Gamma],
    Field(discriminator="dist"),
    BeforeValidator(_number_is_fixed),
]
"""A duration field: a number of hours, or a table with ``dist`` and its parameters."""

DIST_NAMES = ("fixed", "exponential", "uniform", "triangular", "lognormal", "gamma")
