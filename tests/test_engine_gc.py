"""The engine pauses Python's cyclic garbage collector while SimPy runs
(``reporting_sim.model.engine.cyclic_gc_paused``). That is safe only because a run
makes no reference cycles: these tests fail if a change makes the run leave garbage
that only the cyclic collector could free, or leaves the collector switched off."""

from __future__ import annotations

import gc

import pytest

from conftest import tiny_network
from reporting_sim import scenario
from reporting_sim.model import Simulation
from reporting_sim.model.engine import cyclic_gc_paused


def _cyclic_garbage_of_a_run(sc, days) -> int:
    gc.collect()
    sim = Simulation(sc, 3, days)
    was = gc.isenabled()
    gc.disable()
    try:
        sim.env.run(until=sim.horizon)
        found = gc.collect()  # what only the cyclic collector would have freed
    finally:
        if was:
            gc.enable()
    assert sim.next_report > 500
    return found


def test_a_minusma_run_makes_no_reference_cycles(minusma_2015):
    # duty hours, routine work, boards, gates, patrols, pools, INTREPs
    assert _cyclic_garbage_of_a_run(minusma_2015, 40.0) == 0


def test_a_plain_network_run_makes_no_reference_cycles():
    data = tiny_network(cells={"a": {"analysts": 2, "routing": "choose"}, "b": {"consumer": True}},
                        links=[{"from": "a", "to": "b", "p": 0.7}], rate_per_day=80.0)
    assert _cyclic_garbage_of_a_run(scenario.parse(data, "plain"), 30.0) == 0


def test_the_check_would_see_a_cycle():
    # the measure above can fail: a report pointing at itself is found
    from reporting_sim.model.items import Report

    gc.collect()
    gc.disable()
    try:
        rep = Report(0, -1, None, 0, 0.0)
        rep.callbacks = [rep]
        del rep
        assert gc.collect() >= 2
    finally:
        gc.enable()


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_left_as_it_was(enabled, minusma_2015):
    (gc.enable if enabled else gc.disable)()
    try:
        Simulation(minusma_2015, 1, 2.0).run()
        assert gc.isenabled() is enabled
        with pytest.raises(RuntimeError), cyclic_gc_paused():
            assert not gc.isenabled()
            raise RuntimeError
        assert gc.isenabled() is enabled
    finally:
        gc.enable()
