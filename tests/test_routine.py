"""Routine work played lazily (reporting_sim.model.routine) against the per-task path
(each task its own SimPy event: ``Simulation(..., per_task_routine=True)``), both in
the event-by-event cell (``event_starts=True``: every start of work a SimPy moment),
where the lazy replay serves cells with current pull; a first-in-first-out cell gives
starts on arrival and plays its tasks without any event (tests/test_fifo.py).

Exactness: the two give the same records, frame for frame, on scenarios that exercise
every branch (duty hours, an inbox limit that drops tasks, current pull, INTREPs, a
warm-up, tracing). Statistics: on a cell where routine work is half the load, the
reports' mean wait and the utilisation of independent runs of the two paths agree with
each other and with queueing theory (Erlang C), and not with the same cell without
routine work (the test can tell the difference); the same for U2 of minusma-2015 (duty
hours, 16 tasks a day); both compare today's default path (a FIFO cell gives starts on
arrival, tasks make no event) with the per-task path, the one before. Mechanism: the lazy path needs far
fewer SimPy events, and without its wakes the records differ."""

from __future__ import annotations

import math
import statistics

import pandas as pd
import pytest

from conftest import tiny_network
from reporting_sim import scenario
from reporting_sim.model import Simulation, routine


def records(sc, seed, days, **kw):
    return Simulation(sc, seed, days, **kw).run()


def assert_same_records(a, b):
    for what in ("ledger", "events", "reports", "cells"):
        pd.testing.assert_frame_equal(getattr(a, what), getattr(b, what), check_exact=True)
    if a.trace is not None or b.trace is not None:
        pd.testing.assert_frame_equal(a.trace, b.trace, check_exact=True)
    assert a.meta == b.meta


def both(sc, seed=3, days=30.0, **kw):
    lazy = records(sc, seed, days, event_starts=True, **kw)
    per_task = records(sc, seed, days, per_task_routine=True, **kw)
    return lazy, per_task


def routine_network(analysts=2, per_day=24.0, report_per_day=24.0, work=0.5, **cell):
    """One cell ``x`` fed by a Poisson stream of reports, with routine tasks of
    exponential work (mean ``work`` h), like the reports'."""
    spec = {"analysts": analysts, "work_h": {"dist": "exponential", "mean": work}, "consumer": True,
            "background": {"per_day": per_day, "work_h": {"dist": "exponential", "mean": work}}}
    spec.update(cell)
    return scenario.parse(tiny_network(cells={"x": spec}, rate_per_day=report_per_day), "routine")


# -- exactness ------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [{}, {"warmup_days": 5.0}, {"trace": True}])
def test_minusma_gives_the_same_records_with_tasks_played_lazily(minusma_2015, kw):
    # duty hours, current pull (asifu), INTREPs (the ISR cells), boards, gates
    lazy, per_task = both(minusma_2015, 5, 25.0, **kw)
    assert_same_records(lazy, per_task)
    assert lazy.cells["routine_done"].sum() > 2000


@pytest.mark.parametrize("cell", [
    {"duty": {"start_h": 8, "end_h": 17}},
    {"inbox": 3, "duty": {"start_h": 22, "end_h": 6}},  # a full inbox drops tasks; duty past midnight
    {"inbox": 6},
    {"analysts": 1, "current_pull": 0.4},
])
def test_each_kind_of_cell_gives_the_same_records(cell):
    sc = routine_network(per_day=30.0, report_per_day=30.0, **cell)
    lazy, per_task = both(sc, 7, 40.0, warmup_days=3.0)
    assert_same_records(lazy, per_task)
    assert lazy.cells["routine_done"].iloc[0] > 200
    if "inbox" in cell and "duty" in cell:
        assert lazy.cells["routine_dropped"].iloc[0] > 0


def test_without_its_wakes_the_lazy_path_would_start_reports_late(minusma_2015, monkeypatch):
    # the exactness tests above can fail: a report waiting behind routine work must be
    # taken up when a task ends, which only the wake makes happen on time
    per_task = records(minusma_2015, 5, 25.0, per_task_routine=True)
    monkeypatch.setattr(routine.RoutineWork, "wake", lambda self: None)
    broken = records(minusma_2015, 5, 25.0, event_starts=True)
    assert not broken.cells["sum_wait_h"].equals(per_task.cells["sum_wait_h"])


def test_the_lazy_path_needs_far_fewer_simpy_events(minusma_2015):
    counts = {}
    for per_task in (False, True):
        sim = Simulation(minusma_2015, 2, 30.0, per_task_routine=per_task, event_starts=True)
        sim.run()
        counts[per_task] = next(sim.env._eid)
    assert counts[False] < 0.6 * counts[True]


# -- statistics -------------------------------------------------------------------------

def erlang_c_wait(lam: float, mean: float, c: int) -> float:
    """Mean wait in queue of M/M/c (Erlang C)."""
    a = lam * mean
    tail = a**c / math.factorial(c) / (1 - a / c)
    p_wait = tail / (sum(a**k / math.factorial(k) for k in range(c)) + tail)
    return p_wait / (c / mean - lam)


def cell_figures(sc, seeds, **kw):
    """Per run: the reports' mean wait (h) and the utilisation of cell ``x``."""
    out = []
    for seed in seeds:
        row = records(sc, seed, 150.0, warmup_days=5.0, **kw).cells.iloc[0]
        out.append((row["sum_wait_h"] / row["started"], row["busy_area"] / (row["analysts"] * row["observed_h"])))
    return out


def mean_se(xs):
    return statistics.fmean(xs), statistics.stdev(xs) / math.sqrt(len(xs))


@pytest.mark.slow
def test_waits_and_utilisation_agree_between_the_paths_and_with_theory():
    # two analysts; reports and routine tasks each 1 an hour, exponential work of mean
    # 0.5 h: FIFO, one service distribution, so every job (report or task) waits as in
    # M/M/2 with the total load (wait 1/6 h, utilisation 0.5); without routine work the
    # wait would be 1/30 h
    sc = routine_network()
    lazy = cell_figures(sc, range(6))  # the default path: a FIFO cell gives starts on arrival
    per_task = cell_figures(sc, range(100, 106), per_task_routine=True)  # independent runs
    theory = {"wait": erlang_c_wait(2.0, 0.5, 2), "util": 0.5}
    without = erlang_c_wait(1.0, 0.5, 2)
    for i, what in enumerate(("wait", "util")):
        (m1, s1), (m2, s2) = mean_se([r[i] for r in lazy]), mean_se([r[i] for r in per_task])
        assert abs(m1 - m2) < 4 * math.hypot(s1, s2), (what, m1, m2)
        for m, s in ((m1, s1), (m2, s2)):
            assert abs(m - theory[what]) < 4 * s + 0.01 * theory[what], (what, m, theory[what])
    (m1, s1) = mean_se([r[0] for r in lazy])
    assert abs(m1 - without) > 10 * s1  # the test would see routine work gone missing


@pytest.mark.slow
def test_minusma_u2_waits_agree_between_the_paths(minusma_2015):
    # where routine work matters most: U2 (duty hours, 16 tasks a day); independent seeds
    def u2(seeds, **kw):
        rows = [records(minusma_2015, s, 60.0, **kw).cells.set_index("cell").loc["u2"] for s in seeds]
        return ([r["sum_wait_h"] / r["started"] for r in rows],
                [r["busy_area"] / (r["analysts"] * r["observed_h"]) for r in rows])

    lazy, per_task = u2(range(1, 7)), u2(range(50, 56), per_task_routine=True)  # the default path, the old one
    for a, b in zip(lazy, per_task):
        (m1, s1), (m2, s2) = mean_se(a), mean_se(b)
        assert abs(m1 - m2) < 4 * math.hypot(s1, s2), (m1, m2)
