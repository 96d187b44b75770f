"""The first-in-first-out cell (reporting_sim.model.fifo: a job's start given when it
arrives) against the event-by-event cell (``Simulation(..., event_starts=True)``: every
start of work a SimPy moment, the path before).

Exactness: the ledger, events, reports and meta are identical, frame for frame, on
scenarios that exercise every branch of a cell (duty hours, past midnight, an inbox
limit that drops reports and routine tasks, INTREPs, a warm-up, tracing, a cell without
analysts); the cells frame differs at most in the last bits of its time-weighted areas
and its sums of waits and of sojourns (totals from which the part after the reading is taken off again), and a traced run holds the same trace rows (a FIFO
cell writes a report's wait and work when it arrives, so the rows come in another
order). Mechanism: the FIFO cell is what a run uses by default, and it makes fewer
SimPy events (no start, no routine task, no wake is one)."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import tiny_network
from reporting_sim import scenario
from reporting_sim.model import Simulation
from reporting_sim.model.fifo import FifoCell, on_duty_from
from reporting_sim.model.nodes import Cell

AREAS = ["busy_area", "queue_area", "sum_wait_h", "sum_sojourn_h"]  # totals less what is after the reading


def run(sc, seed, days, **kw):
    sim = Simulation(sc, seed, days, **kw)
    return sim, sim.run()


def assert_same(a, b):
    for what in ("ledger", "events", "reports"):
        pd.testing.assert_frame_equal(getattr(a, what), getattr(b, what), check_exact=True)
    ca, cb = a.cells, b.cells
    pd.testing.assert_frame_equal(ca.drop(columns=AREAS), cb.drop(columns=AREAS), check_exact=True)
    pd.testing.assert_frame_equal(ca[AREAS], cb[AREAS], check_exact=False, rtol=1e-9, atol=1e-9)
    if a.trace is not None or b.trace is not None:
        cols = list(a.trace.columns)
        ta = a.trace.sort_values(cols).reset_index(drop=True)
        tb = b.trace.sort_values(cols).reset_index(drop=True)
        pd.testing.assert_frame_equal(ta, tb, check_exact=True)
    assert a.meta == b.meta


def network(analysts=2, per_day=24.0, report_per_day=30.0, work=0.5, background=True, **cell):
    spec = {"analysts": analysts, "work_h": {"dist": "exponential", "mean": work}, "consumer": True}
    if background:
        spec["background"] = {"per_day": per_day, "work_h": {"dist": "exponential", "mean": work}}
    spec.update(cell)
    return scenario.parse(tiny_network(cells={"x": spec}, rate_per_day=report_per_day), "fifo")


@pytest.mark.parametrize("kw", [{}, {"warmup_days": 5.0}, {"trace": True}, {"trace": True, "warmup_days": 3.0}])
def test_minusma_gives_the_same_records_with_starts_given_on_arrival(minusma_2015, kw):
    # duty hours, INTREPs (the ISR cells), boards, gates, routine work in staff cells
    (fifo_sim, fifo), (_, events) = run(minusma_2015, 5, 40.0, **kw), run(minusma_2015, 5, 40.0, event_starts=True, **kw)
    assert_same(fifo, events)
    kinds = {type(n) for n in fifo_sim.nodes.values() if isinstance(n, Cell)}
    assert FifoCell in kinds  # the default path is the FIFO cell (asifu, with current pull, is not)
    assert fifo.cells["intreps"].sum() > 0 and fifo.cells["routine_done"].sum() > 2000


@pytest.mark.parametrize("cell", [
    {"duty": {"start_h": 8, "end_h": 17}},
    {"inbox": 3, "duty": {"start_h": 22, "end_h": 6}},  # a full inbox drops; duty past midnight
    {"duty": {"start_h": 20, "end_h": 8}},  # past midnight, no inbox limit: routine tasks played in one loop
    {"inbox": 4},
    {"analysts": 1, "background": None},
    {"analysts": 3, "duty": {"start_h": 6, "end_h": 18}, "inbox": 8},
])
def test_each_kind_of_cell_gives_the_same_records(cell):
    background = cell.pop("background", True) is not None
    sc = network(background=background, **cell)
    for kw in ({"warmup_days": 3.0}, {"trace": True}):
        (_, fifo), (_, events) = run(sc, 7, 40.0, **kw), run(sc, 7, 40.0, event_starts=True, **kw)
        assert_same(fifo, events)
        row = fifo.cells.iloc[0]
        assert row["started"] > 300
        if "inbox" in cell and "duty" in cell:
            assert row["overflow"] > 0 and (not background or row["routine_dropped"] > 0)


def test_a_cell_without_analysts_works_nothing():
    sc = network(analysts=0)
    sim, rec = run(sc, 3, 10.0)
    assert not isinstance(sim.nodes["x"], FifoCell)  # nothing ever starts: the event cell
    assert rec.cells.iloc[0]["started"] == 0 and rec.cells.iloc[0]["queue_at_end"] > 0


def test_starts_on_arrival_make_fewer_simpy_events(minusma_2015):
    counts = {}
    for event_starts in (False, True):
        sim = Simulation(minusma_2015, 2, 30.0, event_starts=event_starts)
        sim.run()
        counts[event_starts] = next(sim.env._eid)
    assert counts[False] < 0.9 * counts[True]  # 4,427 against 5,123 (seed 2, 30 days)


@pytest.mark.parametrize("duty", [(8.0, 17.0), (22.0, 6.0)])
def test_the_first_moment_on_duty_agrees_with_the_cell(duty):
    class Duty:
        start_h, end_h = duty

    first = on_duty_from(Duty)
    probe = Cell.on_duty.__get__(type("C", (), {"duty": Duty})())
    for i in range(24 * 8 * 3):
        t = i / 8.0 + 1e-3
        s = first(t)
        assert s >= t and probe(s)
        if s > t:  # nothing on duty between t and s
            assert not probe(t) and not probe((t + s) / 2)
        else:
            assert probe(t)


def test_completed_counts_only_what_arrived_since_the_warm_up_and_was_finished():
    # a FIFO cell counts its completed reports when read (those given a start since the
    # warm-up, less those still open). Here a report from before the warm-up's end is
    # still being worked at the horizon (heavy-tailed work, two analysts) while reports
    # since have been finished: the count is the event-by-event cell's, which counts
    # each end of work
    from reporting_sim.model.fifo import REPORT
    sc = network(analysts=2, report_per_day=30.0, background=False,
                 work_h={"dist": "lognormal", "mean": 1.0, "sd": 10.0})
    (sim, fifo), (_, events) = run(sc, 2, 12.0, warmup_days=11.5), run(sc, 2, 12.0, warmup_days=11.5, event_starts=True)
    x = sim.nodes["x"]
    assert any(what == REPORT and a < x.t_reset for a, _s, _e, what in x._open())  # the case this is about
    assert_same(fifo, events)
    assert 0 < fifo.cells.set_index("cell").loc["x", "completed"]
