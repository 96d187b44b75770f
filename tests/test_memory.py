"""Memory stays flat as the horizon grows (no tracing): what grows is only the ledger's
fixed number of numbers per event; the engine's own working memory does not. And
repeated runs in one process leak nothing."""

import array
import gc
import tracemalloc

import pytest

from reporting_sim.measures import metrics
from reporting_sim import scenario
from reporting_sim.model import simulate
from reporting_sim.model.engine import Simulation


def _array_bytes(recorder) -> int:
    total = 0
    for value in vars(recorder).values():
        for a in (value if isinstance(value, list) else [value]):
            if isinstance(a, array.array):
                total += a.buffer_info()[1] * a.itemsize
    return total


def _run_memory(sc, days: float) -> dict:
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        sim = Simulation(sc, 3, days)
        probe = {}

        def at_end():
            _, peak = tracemalloc.get_traced_memory()
            probe.update(peak=peak - base, arrays=_array_bytes(sim.rec), events=sim.rec.n_events)

        sim.clock.after(days * 24.0 - 1e-6, at_end)
        sim.run()
    finally:
        tracemalloc.stop()
    return probe


@pytest.mark.slow
def test_engine_memory_is_flat_as_the_horizon_grows():
    sc = scenario.load("minusma-2015")
    _run_memory(sc, 5)  # first-use costs (lazy imports, caches) out of the way
    one, four = _run_memory(sc, 365), _run_memory(sc, 4 * 365)
    other1 = one["peak"] - one["arrays"]
    other4 = four["peak"] - four["arrays"]
    # the engine's working memory (SimPy, live events and reports, queues): flat
    assert other4 < 1.5 * other1 + 1024 * 1024, (other1, other4)
    # the per-event record: linear, a fixed number of bytes per event
    per1 = one["arrays"] / one["events"]
    per4 = four["arrays"] / four["events"]
    assert four["events"] > 3.5 * one["events"]
    assert per4 < 1.3 * per1, (per1, per4)


@pytest.mark.slow
def test_repeated_runs_do_not_leak_memory():
    """100 runs of a short horizon in one process: the memory still held after the
    100th run is no more than after the 10th (within a small tolerance), and no run's
    peak grows."""
    sc = scenario.load("minusma-2015")
    simulate(sc, 1, 5)  # warm up imports and caches before measuring
    metrics.summary(simulate(sc, 1, 5))
    gc.collect()
    tracemalloc.start()
    try:
        held, peaks = {}, []
        for i in range(1, 101):
            tracemalloc.reset_peak()
            rec = simulate(sc, 1, 5)
            metrics.summary(rec)
            del rec
            gc.collect()
            current, peak = tracemalloc.get_traced_memory()
            peaks.append(peak)
            held[i] = current
    finally:
        tracemalloc.stop()
    growth = held[100] - held[10]
    assert growth < 64 * 1024, f"memory held grew by {growth / 1024:.0f} kB from run 10 to run 100"
    assert peaks[-1] <= peaks[9] * 1.05 + 64 * 1024, (peaks[9], peaks[-1])
