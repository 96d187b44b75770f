"""The engine against queueing theory: M/M/c (Erlang C), M/G/1 (Pollaczek-Khinchine),
an open Jackson network with feedback, Little's law, the Erlang B loss system, and
extreme inputs.

How the tolerances are set
--------------------------
Every statistical check runs R independent replications (seeds differ, so every named
random stream differs), takes one number per replication (e.g. the mean queue wait of
the reports that arrived after the warm-up) and asks that the two-sided t confidence
interval of its mean, ``mean +- t(R-1) s / sqrt(R)``, contain the value from theory.
No percentage is made up: the width comes from the replications themselves.

Level: 99.9% per interval. This file checks 41 intervals; with a 95% or 99%
level, a correct engine would be expected to miss 2 or 0.5 of them by chance, and once
the seeds are fixed the only remedy would be hunting for seeds that pass. At 99.9% the
Bonferroni bound puts the chance of any false alarm in the whole file below 5%.
So that a wide interval cannot hide a wrong engine, each check also asserts that its
interval is narrow (half-width at most a stated share of the theoretical value): that
bound is the test's resolution, fixed by the run lengths chosen below.

Replications rather than batch means: replications are independent by construction,
so the t interval needs no assumption about correlation between batches; the price is
one warm-up per replication, which is small next to the run (see each test). Each
replication is made long against the queue's relaxation time, so that its mean is
close to normal, as the t interval assumes.

Warm-up: the engine starts empty; ``warmup_days`` resets each cell's counters and
areas, and from then on only reports that arrived after the reset count towards waits
and sojourns. The warm-up is set to several relaxation times of the queue,
tau ~ 1 / (c mu (1 - sqrt(rho))^2), the time scale on which an M/M/c queue forgets its
start (exact for M/M/1, a good guide for c > 1).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from queueing import (
    erlang_b,
    erlang_c,
    exp,
    mmc,
    network,
    pollaczek_khinchine_wq,
    replicate,
    t_interval,
    traffic_equations,
)
from reporting_sim.measures.metrics import cell_table
from reporting_sim.model import simulate
from reporting_sim.scenario import parse

LEVEL = 0.999  # per interval; see the module docstring


def check_ci(what: str, values, theory: float, max_rel_half: float, ref: str = "theory") -> None:
    """The ``LEVEL`` t interval of ``values`` (one per replication) contains ``theory``,
    and is no wider than ``max_rel_half * theory`` on each side (the test's power)."""
    mean, low, high = t_interval(values, LEVEL)
    half = (high - low) / 2
    line = (f"{what}: {ref} {theory:.4f}, simulated {mean:.4f}, {LEVEL:.1%} CI "
            f"[{low:.4f}, {high:.4f}] (R={len(values)}, half-width {half / abs(theory):.1%})")
    print(line)
    assert low <= theory <= high, line
    assert half <= max_rel_half * abs(theory), f"interval too wide to be a test: {line}"


def relaxation_h(c: int, lam: float, mu: float) -> float:
    rho = lam / (c * mu)
    return 1.0 / (c * mu * (1 - math.sqrt(rho)) ** 2)


# ------------------------------------------------------------------ the formulas

def test_formulas_against_textbook_values():
    """The helper formulas reproduce known closed forms (so the tests below compare
    the engine with theory, not with a second bug)."""
    # M/M/1: P(wait) = rho, Wq = rho / (mu - lam)
    assert erlang_c(1, 0.7) == pytest.approx(0.7)
    assert mmc(0.7, 1.0, 1).wq == pytest.approx(0.7 / 0.3)
    # Erlang B by its defining sum, and Erlang C by its defining sum
    for c, a in [(1, 0.5), (3, 2.0), (5, 4.2), (10, 7.0)]:
        terms = [a**k / math.factorial(k) for k in range(c + 1)]
        assert erlang_b(c, a) == pytest.approx(terms[-1] / sum(terms))
        top = a**c / math.factorial(c) * c / (c - a)
        assert erlang_c(c, a) == pytest.approx(top / (sum(terms[:-1]) + top))
    # M/M/2, rho = 0.9: P(wait) = 16.2 / 19, Wq = P(wait) / (2 - 1.8)
    assert mmc(1.8, 1.0, 2).wq == pytest.approx(16.2 / 19 / 0.2)
    # P-K with exponential service is M/M/1
    assert pollaczek_khinchine_wq(0.5, 1.0, 1.0) == pytest.approx(mmc(0.5, 1.0, 1).wq)
    # a tandem with feedback: b sends half back to a
    lam = traffic_equations([1.0, 0.0], [[0.0, 1.0], [0.5, 0.0]])
    assert lam == pytest.approx([2.0, 2.0])


# ------------------------------------------------------------- 1. M/M/c, Erlang C

# (c, rho, days per replication, replications, max relative half-width of the Wq CI)
# Work takes 1 h on average, so lam = rho * c per hour. The heavy-traffic case needs
# far more work: the variance of a time average grows like 1 / (1 - rho)^4, and its
# relaxation time is about 190 h, so each replication runs 640 days (about 80
# relaxation times, ~28,000 reports) after a warm-up of 5 relaxation times; 30
# replications give a Wq interval of about +-7%.
MMC_CASES = [
    pytest.param(2, 0.3, 300, 20, 0.12, id="c2-rho0.3"),
    pytest.param(3, 0.6, 250, 20, 0.12, id="c3-rho0.6"),
    pytest.param(2, 0.9, 640, 30, 0.10, id="c2-rho0.9", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("c, rho, days, reps, max_rel", MMC_CASES)
def test_mmc_cell_matches_erlang_c(c, rho, days, reps, max_rel):
    mu = 1.0
    lam = rho * c * mu
    th = mmc(lam, mu, c)
    warmup = math.ceil(5 * relaxation_h(c, lam, mu) / 24)
    data = network({"a": {"analysts": c, "work_h": exp(1 / mu)}}, {"a": lam})
    sim = replicate(data, range(1000, 1000 + reps), days + warmup, warmup)["a"]
    tag = f"M/M/{c} rho={rho}"
    check_ci(f"{tag} Wq (h)", sim["mean_wait_h"], th.wq, max_rel)
    check_ci(f"{tag} Lq", sim["mean_queue"], th.lq, max_rel)
    check_ci(f"{tag} utilisation", sim["utilisation"], th.rho, 0.03)
    check_ci(f"{tag} W (h)", sim["mean_sojourn_h"], th.w, max_rel)


# ----------------------------------------------------------------- M/G/1, P-K

@pytest.mark.slow
@pytest.mark.parametrize("work, var", [
    pytest.param(1.0, 0.0, id="M/D/1"),
    pytest.param({"dist": "gamma", "mean": 1.0, "sd": 1.5}, 2.25, id="M/G/1-gamma-cv1.5"),
])
def test_mg1_cell_matches_pollaczek_khinchine(work, var):
    """The mean wait depends on the second moment of the work time: this catches a
    sampler with the right mean and the wrong spread."""
    lam = 0.7
    wq = pollaczek_khinchine_wq(lam, 1.0, var)
    data = network({"a": {"analysts": 1, "work_h": work}}, {"a": lam})
    warmup = math.ceil(5 * relaxation_h(1, lam, 1.0) / 24)
    sim = replicate(data, range(2000, 2020), 300 + warmup, warmup)["a"]
    check_ci(f"M/G/1 var={var} Wq (h)", sim["mean_wait_h"], wq, 0.13)


# ---------------------------------------------------------- 2. a Jackson network

JACKSON_CELLS = {"a": (3, 1.5), "b": (2, 1.0), "c": (2, 0.8)}  # analysts, mean work (h)
JACKSON_GAMMA = {"a": 0.8, "b": 0.4, "c": 0.0}  # external arrivals per hour
JACKSON_ROUTES = {  # the rest of each row leaves: a 0.2, b 0.3, c 0.6
    ("a", "b"): 0.4, ("a", "c"): 0.4,
    ("b", "a"): 0.2, ("b", "c"): 0.5,
    ("c", "a"): 0.3, ("c", "b"): 0.1,
}


@pytest.mark.slow
def test_jackson_network_with_feedback_is_product_form():
    """Three M/M/c cells with probabilistic routing and feedback (a -> b -> a, a -> c ->
    a, b -> c -> b). By Jackson's theorem each cell behaves as an M/M/c queue fed at the
    rate lambda_i that solves lambda = gamma + lambda P, although its arrivals are not
    Poisson; in an open Jackson network arrivals see time averages, so the mean wait
    per visit is Erlang C's as well. Loads: a 0.66, b 0.52, c 0.42."""
    names = list(JACKSON_CELLS)
    P = np.zeros((3, 3))
    for (i, j), p in JACKSON_ROUTES.items():
        P[names.index(i), names.index(j)] = p
    lam = traffic_equations([JACKSON_GAMMA[n] for n in names], P)
    cells = {n: {"analysts": c, "work_h": exp(m)} for n, (c, m) in JACKSON_CELLS.items()}
    data = network(cells, {n: g for n, g in JACKSON_GAMMA.items() if g > 0}, JACKSON_ROUTES)
    # Slowest cell (a) relaxes in about 10 h: 5 days of warm-up is ample.
    sim = replicate(data, range(3000, 3020), 400 + 5, 5)
    for n, lam_n in zip(names, lam):
        c, mean = JACKSON_CELLS[n]
        th = mmc(lam_n, 1 / mean, c)
        s = sim[n]
        check_ci(f"Jackson {n} arrivals per h", s["arrival_rate_h"], lam_n, 0.02)
        check_ci(f"Jackson {n} utilisation", s["utilisation"], th.rho, 0.03)
        check_ci(f"Jackson {n} Wq (h)", s["mean_wait_h"], th.wq, 0.12)
        check_ci(f"Jackson {n} W (h)", s["mean_sojourn_h"], th.w, 0.05)
        check_ci(f"Jackson {n} L", s["mean_in_cell"], th.l, 0.05)


# ------------------------------------------------------------------ 3. Little's law

@pytest.mark.slow
def test_littles_law_on_simulated_output():
    """L = lambda W with no distributional assumption: an M/G/2 cell (uniform work)
    feeding a cell with duty hours (nothing new is started from 20:00 to 06:00), whose
    arrivals are neither Poisson nor served around the clock.

    L comes from the cell's time-weighted areas (``mean_in_cell``), lambda from its
    arrival count and W from the sojourns of single reports: three separate records.
    The check: the CI of L over the replications contains the mean over replications
    of lambda * W (and the same for the inbox: Lq = lambda Wq).

    Not a CI of the paired difference L - lambda W: on a finite window that difference
    is the edge terms (reports present at the start and at the end), whose mean is
    about lambda Var(W) / T > 0 and whose spread is of the same order, so its own
    interval would exclude 0 at any horizon even for a correct engine. The interval of
    L, of order 1 / sqrt(T), dwarfs those edge terms; a bookkeeping error in areas,
    counts or sojourns does not shrink with T and shows."""
    cells = {
        "g": {"analysts": 2, "work_h": {"dist": "uniform", "low": 0.2, "high": 1.8}},
        "d": {"analysts": 3, "work_h": exp(0.8), "duty": {"start_h": 6.0, "end_h": 20.0}},
    }
    data = network(cells, {"g": 1.4}, {("g", "d"): 1.0})
    sim = replicate(data, range(4000, 4020), 200 + 5, 5)
    for n in cells:
        s = sim[n]
        check_ci(f"Little {n}: L vs lambda*W", s["mean_in_cell"],
                 float(np.mean(s["arrival_rate_h"] * s["mean_sojourn_h"])), 0.08, ref="lambda*W")
        check_ci(f"Little {n}: Lq vs lambda*Wq", s["mean_queue"],
                 float(np.mean(s["arrival_rate_h"] * s["mean_wait_h"])), 0.15, ref="lambda*Wq")


# ---------------------------------------------------------------- 4. Erlang B

@pytest.mark.slow
@pytest.mark.parametrize("work", [
    pytest.param(exp(1.0), id="M/M/3/3"),
    pytest.param({"dist": "lognormal", "mean": 1.0, "sd": 2.0}, id="M/G/3/3-lognormal"),
    pytest.param(1.0, id="M/D/3/3"),
])
def test_loss_cell_matches_erlang_b(work):
    """A cell with no waiting room (``inbox = 0``) turns away what finds every analyst
    busy; the share turned away is Erlang B whatever the work-time distribution (its
    insensitivity), so the same number must come out for all three."""
    c, lam = 3, 2.0  # offered load 2 Erlangs: B(3, 2) = 0.2105
    data = network({"a": {"analysts": c, "inbox": 0, "work_h": work}}, {"a": lam})
    sim = replicate(data, range(5000, 5020), 60 + 1, 1)["a"]
    assert (sim["mean_queue"] == 0).all() and (sim["mean_wait_h"] == 0).all()
    lost = sim["overflow"] / sim["arrivals"]
    check_ci(f"Erlang B {work}: share lost", lost, erlang_b(c, lam), 0.08)
    # what is not lost is carried: utilisation = a (1 - B) / c
    check_ci(f"Erlang B {work}: utilisation", sim["utilisation"], lam * (1 - erlang_b(c, lam)) / c, 0.03)


# ----------------------------------------------------------------- 5. extremes

def test_no_arrivals_means_no_events():
    data = network({"a": {"analysts": 2, "work_h": exp(1.0)}}, {"a": 0.0})
    rec = simulate(parse(data, "test"), seed=1, days=30)
    assert len(rec.events) == 0
    assert len(rec.ledger) == 0
    assert rec.reports["count"].sum() == 0 and rec.meta["reports_created"] == 0
    cells = rec.cells.set_index("cell").loc["a"]
    for col in ("arrivals", "started", "completed", "overflow", "busy_area", "queue_area",
                "queue_at_end", "busy_at_end", "max_queue"):
        assert cells[col] == 0, col
    table = cell_table(rec.cells).loc["a"]
    assert table["utilisation"] == 0 and table["mean_in_cell"] == 0
    assert math.isnan(table["mean_wait_h"])  # no report started: no mean to take


def test_a_huge_cell_never_queues():
    """M/M/infinity: 100,000 analysts, 20 reports in work on average. Nobody waits,
    and the number in the cell averages the offered load lambda / mu."""
    lam, mean = 10.0, 2.0
    data = network({"a": {"analysts": 100000, "work_h": exp(mean)}}, {"a": lam})
    sim = replicate(data, range(6000, 6010), 30 + 1, 1)["a"]
    assert (sim["mean_wait_h"] == 0).all()
    assert (sim["mean_queue"] == 0).all()
    assert (sim["arrivals"] > 0).all()
    check_ci("M/M/inf L", sim["mean_in_cell"], lam * mean, 0.05)
    check_ci("M/M/inf W (h)", sim["mean_sojourn_h"], mean, 0.05)


def test_no_analysts_means_nothing_is_worked():
    """A cell with zero analysts starts nothing: every report stays in its inbox and
    every event is still in flight for the consumer when the run ends."""
    data = network({"a": {"analysts": 0, "work_h": exp(1.0)}}, {"a": 2.0})
    rec = simulate(parse(data, "test"), seed=7, days=10)
    n_events = len(rec.events)
    assert n_events > 300  # about 480 expected
    created = rec.meta["reports_created"]
    assert created == n_events  # one collector, observes and reports everything
    assert set(rec.reports["state"]) == {"in_flight"}
    assert rec.reports["count"].sum() == created
    cells = rec.cells.set_index("cell").loc["a"]
    assert cells["started"] == 0 and cells["completed"] == 0 and cells["busy_area"] == 0
    assert cells["queue_at_end"] == cells["arrivals"] == created
    ledger = rec.ledger[rec.ledger["consumer"] == "a"]
    assert len(ledger) == n_events
    assert (ledger["outcome"] == "in_flight").all()
    assert ledger["arrival_h"].isna().all()
    assert (rec.events["live_at_end"]).all()
