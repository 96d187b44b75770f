"""Samplers agree with the moments they claim; bad distributions are refused."""

import math

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError
from scipy import stats

from reporting_sim.scenario.distributions import Distribution


DIST = TypeAdapter(Distribution)


CASES = [
    {"dist": "fixed", "value": 2.5},
    {"dist": "exponential", "mean": 1.5},
    {"dist": "uniform", "low": 0.5, "high": 2.0},
    {"dist": "triangular", "low": 0.0, "mode": 1.0, "high": 4.0},
    {"dist": "lognormal", "mean": 3.0, "sd": 2.0},
    {"dist": "gamma", "mean": 2.0, "sd": 0.5},
]


@pytest.mark.parametrize("spec", CASES, ids=[c["dist"] for c in CASES])
def test_sample_moments_match_theory(spec):
    d = DIST.validate_python(spec)
    draw = d.sampler(np.random.default_rng(7))
    x = np.array([draw() for _ in range(40000)])
    assert (x >= 0).all(), "durations are never negative"
    assert (x >= d.minimum).all(), "no draw below the distribution's stated minimum"
    if d.variance == 0:
        assert (x == d.mean).all()
        return
    # the sample mean lies within a 99.9% normal interval around the true mean
    half = stats.norm.ppf(0.9995) * math.sqrt(d.variance / len(x))
    assert abs(x.mean() - d.mean) < half
    # and the sample variance within a generous 20% (fourth moments vary by family)
    assert x.var(ddof=1) == pytest.approx(d.variance, rel=0.2)


def test_a_plain_number_is_a_fixed_duration():
    d = DIST.validate_python(1.25)
    assert d.dist == "fixed" and d.mean == 1.25 and d.variance == 0


@pytest.mark.parametrize("bad", [
    {"dist": "exponential", "mean": -1.0},
    {"dist": "uniform", "low": 3.0, "high": 1.0},
    {"dist": "triangular", "low": 0.0, "mode": 5.0, "high": 4.0},
    {"dist": "lognormal", "mean": 1.0},
    {"dist": "weibull", "mean": 1.0},
    {"dist": "exponential", "mean": float("nan")},
    -0.5,
    "2 hours",
])
def test_bad_distributions_are_refused(bad):
    with pytest.raises(ValidationError):
        DIST.validate_python(bad)


def test_batched_sampler_gives_the_same_sequence_as_one_by_one():
    d = DIST.validate_python({"dist": "exponential", "mean": 2.0})
    a = d.sampler(np.random.default_rng(3))
    xs = [a() for _ in range(1500)]  # crosses several batch boundaries
    b = d.sampler(np.random.default_rng(3))
    assert xs == [b() for _ in range(1500)]
