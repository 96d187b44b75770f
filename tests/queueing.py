"""Queueing theory for the analytic tests, written out here (not taken from the engine).

* :func:`erlang_b`, :func:`erlang_c`, :func:`mmc`: the M/M/c/c loss system and the
  M/M/c queue (Wq, Lq, W, L, utilisation);
* :func:`pollaczek_khinchine_wq`: the M/G/1 mean wait;
* :func:`traffic_equations`: per-node arrival rates of an open Jackson network;
* :func:`t_interval`: a t-based confidence interval over independent replications;
* :func:`network`: a plain queueing network as scenario data (Poisson sources, one
  pass-through collector per entry cell, FIFO cells with "choose" routing);
* :func:`replicate`: run a scenario over several seeds and collect the cell table.

Times are in hours; rates are per hour here and converted to per day for the file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from reporting_sim.measures.metrics import cell_table
from reporting_sim.model import simulate
from reporting_sim.scenario import parse


# ----------------------------------------------------------------------- formulas

def erlang_b(c: int, a: float) -> float:
    """Blocking probability of M/G/c/c with offered load ``a = lambda / mu`` (Erlangs),
    by the stable recursion B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1))."""
    if c < 0 or a < 0:
        raise ValueError("c and a must be non-negative")
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in M/M/c (offered load ``a``, needs ``a < c``):
    C = B / (1 - (a / c) (1 - B)) with B the Erlang B value."""
    if not 0 <= a < c:
        raise ValueError("Erlang C needs 0 <= a < c (a stable queue)")
    b = erlang_b(c, a)
    rho = a / c
    return b / (1 - rho * (1 - b))


@dataclass(frozen=True)
class MMc:
    """Steady-state means of an M/M/c queue."""

    lam: float  # arrivals per hour
    mu: float  # services per hour per analyst
    c: int
    rho: float  # utilisation
    p_wait: float  # Erlang C
    wq: float  # mean wait in queue (h)
    lq: float  # mean queue length
    w: float  # mean time in the cell (h)
    l: float  # mean number in the cell


def mmc(lam: float, mu: float, c: int) -> MMc:
    """M/M/c means: Wq = C / (c mu - lam), Lq = lam Wq, W = Wq + 1/mu, L = lam W."""
    a = lam / mu
    pw = erlang_c(c, a)
    wq = pw / (c * mu - lam)
    w = wq + 1 / mu
    return MMc(lam, mu, c, a / c, pw, wq, lam * wq, w, lam * w)


def pollaczek_khinchine_wq(lam: float, mean_s: float, var_s: float) -> float:
    """M/G/1 mean wait: Wq = lam E[S^2] / (2 (1 - rho))."""
    rho = lam * mean_s
    if not rho < 1:
        raise ValueError("needs rho < 1")
    return lam * (var_s + mean_s**2) / (2 * (1 - rho))


def traffic_equations(gamma, P) -> np.ndarray:
    """Solve lambda = gamma + lambda P (row i of ``P``: chances of going from i to j)."""
    gamma = np.asarray(gamma, dtype=float)
    P = np.asarray(P, dtype=float)
    n = len(gamma)
    return np.linalg.solve((np.eye(n) - P).T, gamma)


def t_interval(x, level: float) -> tuple[float, float, float]:
    """(mean, low, high): the two-sided ``level`` t interval of the mean of the
    independent replication values ``x``."""
    x = np.asarray(x, dtype=float)
    if len(x) < 2 or not np.isfinite(x).all():
        raise ValueError(f"need at least two finite values, got {x!r}")
    m = float(x.mean())
    half = float(stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return m, m - half, m + half


# ------------------------------------------------------------- scenarios and runs

def network(cells: dict, arrivals: dict, routes: dict | None = None, *, consumer: str | None = None) -> dict:
    """A plain queueing network as scenario data.

    ``cells``: name -> dict of Cell fields (``analysts``, ``work_h``, optional ``inbox``,
    ``duty``...); ``dedupe = false`` and ``routing = "choose"`` are filled in.
    ``arrivals``: entry cell -> external Poisson rate per *hour* (0 allowed).
    ``routes``: (from, to) -> chance; what is left of each row leaves the network.
    ``consumer``: the consumer cell (default: the first cell).
    """
    routes = routes or {}
    consumer = consumer or next(iter(cells))
    data = {
        "scenario": {"name": "queueing", "days": 1.0},
        "kinds": {"k": {"family": "long_term", "shelf_life_h": 1e6}},
        "sources": {},
        "collectors": {},
        "cells": {},
        "links": [],
    }
    for entry, lam in arrivals.items():
        sector = f"s_{entry}"
        data["sources"][f"src_{entry}"] = {"sector": sector, "rate_per_day": lam * 24.0, "mix": {"k": 1.0}}
        data["collectors"][f"col_{entry}"] = {
            "culture": "branch", "sectors": [sector], "watch": "continuous",
            "p_observe": 1.0, "p_report": 1.0, "report_delay_h": 0.0,
        }
        data["links"].append({"from": f"col_{entry}", "to": entry})
    for name, spec in cells.items():
        data["cells"][name] = {"dedupe": False, "routing": "choose", "consumer": name == consumer, **spec}
    for (src, dst), p in routes.items():
        data["links"].append({"from": src, "to": dst, "p": p})
    return data


def exp(mean_h: float) -> dict:
    return {"dist": "exponential", "mean": mean_h}


def replicate(data: dict, seeds, days: float, warmup_days: float) -> dict:
    """Run the scenario once per seed; returns cell -> column -> array over seeds (the
    columns of :func:`reporting_sim.metrics.cell_table` plus the raw ``arrivals``)."""
    sc = parse(data, "test")
    rows = []
    for seed in seeds:
        rec = simulate(sc, seed=seed, days=days, warmup_days=warmup_days)
        table = cell_table(rec.cells)
        table["arrivals"] = rec.cells.set_index("cell")["arrivals"]
        rows.append(table)
    out = {}
    for cell in rows[0].index:
        out[cell] = {col: np.array([r.loc[cell, col] for r in rows], dtype=float) for col in rows[0].columns}
    return out
