"""Nodes at run time (reporting_sim.model.nodes), each behaviour on a tiny network
built for it (fixtures in conftest.py): a staff cell's analysts, FIFO inbox, inbox
limit and duty hours; routing; repeats dropped; what a consumer knows and when; and the
specialised hot path (reporting_sim.model.hotpath) giving exactly what the general path
gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reporting_sim.model import Simulation, simulate

WORK = {"dist": "exponential", "mean": 0.5}


def steps(rec, node, kind):
    tr = rec.trace
    return tr[(tr["node"] == node) & (tr["step"] == kind)]


def ends(rec, node, state):
    r = rec.reports
    return int(r[(r["node"] == node) & (r["state"] == state)]["count"].sum())


def test_cell_works_at_most_analysts_reports_at_once_in_fifo_order(network, run):
    sc = network(cells={"desk": {"analysts": 2, "work_h": WORK, "consumer": True}}, rate_per_day=96.0)
    _sim, rec = run(sc, days=5, trace=True)
    work = steps(rec, "desk", "work").sort_values("t0_h")
    assert len(work) > 300
    t = np.concatenate([work["t0_h"], work["t1_h"]])
    d = np.concatenate([np.ones(len(work)), -np.ones(len(work))])
    order = np.lexsort((d, t))  # at equal times a finish comes before a start
    assert np.cumsum(d[order]).max() == 2  # both analysts busy at times, never three
    queue = steps(rec, "desk", "queue").sort_values(["t0_h", "report"])
    assert (np.diff(queue["t1_h"].to_numpy()) >= 0).all()  # first in, first started


def test_full_inbox_overflows_and_an_unlimited_one_does_not(network, run):
    busy = {"analysts": 1, "work_h": {"dist": "exponential", "mean": 2.0}, "consumer": True}
    _s, limited = run(network(cells={"desk": dict(busy, inbox=1)}), days=10)
    _s, unlimited = run(network(cells={"desk": busy}), days=10)
    assert ends(limited, "desk", "overflow") == int(limited.cells["overflow"].sum()) > 0
    assert ends(unlimited, "desk", "overflow") == 0
    assert limited.cells["max_queue"].max() <= 1 < unlimited.cells["max_queue"].max()


def test_no_work_starts_outside_duty_hours(network, run):
    sc = network(cells={"desk": {"analysts": 1, "work_h": WORK, "consumer": True,
                                 "duty": {"start_h": 8.0, "end_h": 16.0}}})
    _sim, rec = run(sc, days=10, trace=True)
    hour = steps(rec, "desk", "work")["t0_h"].to_numpy() % 24.0
    assert len(hour) > 50
    assert ((hour >= 8.0) & (hour < 16.0)).all()


def test_choose_routing_leaves_the_network_with_the_rest_of_the_chance(network, run):
    sc = network(commanders={"hub": {"routing": "choose"}, "boss": {"consumer": True}},
                 links=[{"from": "hub", "to": "boss", "p": 0.3}], rate_per_day=200.0)
    _sim, rec = run(sc, days=20)
    passed, absorbed = ends(rec, "boss", "absorbed"), ends(rec, "hub", "absorbed")
    share = passed / (passed + absorbed)
    assert passed + absorbed == rec.meta["reports_created"] > 3000
    assert abs(share - 0.3) < 4 * np.sqrt(0.3 * 0.7 / (passed + absorbed))


@pytest.mark.parametrize("dedupe", [True, False])
def test_a_node_that_dedupes_drops_the_second_report_of_an_event(network, run, dedupe):
    sc = network(commanders={"a": {}, "b": {}, "c": {"dedupe": dedupe, "consumer": True}},
                 links=[{"from": "watcher", "to": "b"}, {"from": "a", "to": "c"}, {"from": "b", "to": "c"}])
    _sim, rec = run(sc, days=5)
    events = len(rec.events)
    assert ends(rec, "c", "duplicate") == (events if dedupe else 0)
    assert ends(rec, "c", "absorbed") == (events if dedupe else 2 * events)
    assert (rec.ledger["arrivals"] == 2).all()


def test_a_commander_knows_on_arrival_and_a_cell_once_it_has_worked_the_report(network, run):
    # watcher -> desk (a cell) -> boss (a commander), no transit time
    sc = network(cells={"desk": {"consumer": True}}, commanders={"boss": {"consumer": True}},
                 links=[{"from": "desk", "to": "boss"}])
    _sim, rec = run(sc, days=5)
    led = rec.ledger.set_index(["consumer", "event_id"])
    desk = led.loc["desk"].dropna(subset=["arrival_h"])  # not still being worked at the end
    boss = led.loc["boss"].loc[desk.index]
    assert len(desk) > 50
    assert (desk["reached_h"] == desk["t_h"]).all()
    assert (desk["arrival_h"] > desk["reached_h"]).all()  # known once worked
    assert (boss["arrival_h"] == desk["arrival_h"]).all()  # known as soon as it arrives
    assert (boss["reached_h"] == boss["arrival_h"]).all()


def test_cell_statistics_obey_littles_law(network, run):
    sc = network(cells={"desk": {"analysts": 2, "work_h": WORK, "consumer": True}}, rate_per_day=72.0)
    _sim, rec = run(sc, days=200)
    c = rec.cells.iloc[0]
    lam = c["arrivals"] / c["observed_h"]
    in_queue = c["queue_area"] / c["observed_h"]
    wait = c["sum_wait_h"] / c["started"]
    assert in_queue == pytest.approx(lam * wait, rel=0.05)
    assert c["busy_area"] / c["observed_h"] == pytest.approx(lam * 0.5, rel=0.05)


# -- the specialised hot path --------------------------------------------------------

def frames(rec):
    return [rec.ledger, rec.events, rec.reports, rec.cells]


def assert_same_records(a, b):
    for x, y in zip(frames(a), frames(b)):
        pd.testing.assert_frame_equal(x, y, check_exact=True)
    assert a.meta == b.meta


@pytest.mark.parametrize("cells", [
    {"desk": {"analysts": 2, "consumer": True, "routing": "choose"}},
    {"desk": {"analysts": 1, "consumer": True, "dedupe": False, "analysis": True}},
    {"desk": {"analysts": 1, "consumer": True, "duty": {"start_h": 6.0, "end_h": 18.0}, "inbox": 3}},
    # duty hours and routine work: the compiled arrival gives the tasks their starts first
    {"desk": {"analysts": 2, "consumer": True, "duty": {"start_h": 6.0, "end_h": 18.0},
              "background": {"per_day": 12.0, "work_h": {"dist": "exponential", "mean": 0.5}}}},
    {"desk": {"analysts": 2, "duty": {"start_h": 20.0, "end_h": 4.0},
              "background": {"per_day": 12.0, "work_h": {"dist": "exponential", "mean": 0.5}}}},
])
def test_specialised_path_gives_exactly_what_the_general_path_gives(network, cells):
    sc = network(cells=cells, commanders={"boss": {"consumer": True}},
                 links=[{"from": "desk", "to": "boss", "p": 0.8,
                         "transit_h": {"dist": "exponential", "mean": 1.0}}], rate_per_day=60.0)
    fast = Simulation(sc, 3, 30.0).run()
    general = Simulation(sc, 3, 30.0, specialised=False).run()
    assert_same_records(fast, general)
    assert fast.meta["reports_created"] > 1000


def test_specialised_path_gives_the_same_minusma_run(minusma_2015):
    fast = simulate(minusma_2015, 5, 30.0, warmup_days=5.0)
    general = Simulation(minusma_2015, 5, 30.0, warmup_days=5.0, specialised=False).run()
    assert_same_records(fast, general)


def test_only_plain_pieces_are_specialised(network):
    sc = network(cells={"plain": {}, "on_duty": {"duty": {"start_h": 8.0, "end_h": 16.0}},
                        "limited": {"consumer": True, "inbox": 4}},
                 links=[{"from": "plain", "to": "on_duty"}, {"from": "on_duty", "to": "limited"}])
    sim = Simulation(sc, 1, 1.0)
    assert getattr(sim.nodes["plain"].receive, "never_at_once", False)  # the plain cell's arrival
    assert getattr(sim.nodes["on_duty"].receive, "never_at_once", False)  # duty hours: the compiled arrival too
    limited = sim.nodes["limited"].receive  # an inbox limit: Node.receive compiled, then FifoCell.accept
    assert "receive" in vars(sim.nodes["limited"]) and not getattr(limited, "never_at_once", False)
    assert all(link.go is not None for link in sim.nodes["plain"].links)
    traced = Simulation(sc, 1, 1.0, trace=True)
    assert "receive" not in vars(traced.nodes["plain"])  # traced runs keep the general path


def test_a_rare_routine_task_rate_the_schema_allows_runs(network):
    """``background.per_day`` may be any rate >= 0; a rate under 2.4e-5 a day (a mean gap
    over a million hours) once failed while the network was built, as the gap
    distribution was re-validated with the schema's bound on a mean."""
    sc = network(cells={"desk": {"analysts": 1, "work_h": WORK, "consumer": True,
                                 "background": {"per_day": 1e-6, "work_h": 1.0}}})
    rec = simulate(sc, 1, 10.0)
    assert rec.cells.set_index("cell").loc["desk", "completed"] > 0  # the reports were still worked
