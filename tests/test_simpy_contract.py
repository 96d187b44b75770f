"""What the engine uses of SimPy beyond its public interface, each tested on SimPy
itself, so that a SimPy release changing any of it fails here first (and the pinned
range in setup.cfg says which releases were checked).

The model steps around SimPy's generality in a few hot places (see
``reporting_sim/model/hotpath.py``, ``hotcell.py``, ``routine.py``, ``wake.py``,
``items.py``, the event sources in ``engine.py``):

* ``Environment._queue``: the heap of ``(time, priority, event id, event)`` entries that
  ``Environment.schedule`` pushes and ``Environment.step`` pops; the model pushes its
  own entries with ``heapq.heappush``;
* ``Environment._eid``: the counter giving each scheduled entry its id (ties at one time
  and priority are taken in that order);
* ``Environment._now``: the current time, which ``step`` sets and ``now`` returns;
* an event is anything with ``callbacks`` and ``_ok`` (and ``_value`` when ``_ok`` is
  false): ``step`` reads nothing else, so reports, jobs and wakes are pushed as they
  are, without a SimPy ``Event`` around them;
* ``Environment.run(until=)`` and ``step`` themselves, written out in the engine's run
  loop (``reporting_sim/model/loop.py``: the stop event scheduled ``URGENT`` at the
  horizon, ``_defused`` and ``_value`` read as ``step`` reads them): the last tests here
  run a model both ways and the engine both ways.
"""

from __future__ import annotations

import configparser
import itertools
from heapq import heappush

import pytest
import simpy
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from helpers import ROOT
from reporting_sim.model.items import Report
from reporting_sim.model.nodes import BackgroundJob, IntrepJob
from reporting_sim.model.wake import NORMAL, Wake


def test_the_installed_simpy_is_in_the_pinned_range():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    requirement = next(line.strip() for line in cfg["options"]["install_requires"].splitlines()
                       if line.strip().startswith("simpy"))
    spec = SpecifierSet(requirement[len("simpy"):])
    assert spec, "setup.cfg must pin a range for simpy"
    assert Version(simpy.__version__) in spec
    assert Version("4.2") not in spec  # pinned below the next minor release, which these tests have not seen


def test_schedule_pushes_time_priority_id_event_onto_the_queue_heap():
    env = simpy.Environment()
    assert isinstance(env._queue, list) and env._queue == []
    ev = env.event()
    env.schedule(ev, NORMAL, 2.5)
    assert len(env._queue) == 1
    t, priority, eid, event = env._queue[0]
    assert (t, priority, event) == (2.5, NORMAL, ev)
    assert isinstance(eid, int)


def test_ids_come_from_the_eid_counter_in_order():
    env = simpy.Environment()
    assert isinstance(env._eid, itertools.count)
    first = next(env._eid)
    env.schedule(env.event(), NORMAL, 1.0)
    env.schedule(env.event(), NORMAL, 1.0)
    ids = sorted(entry[2] for entry in env._queue)
    assert ids == [first + 1, first + 2]
    assert next(env._eid) == first + 3


def test_step_pops_our_entries_in_time_priority_id_order_and_sets_now():
    env = simpy.Environment()
    seen = []

    def note(tag):
        def cb(event):
            seen.append((tag, env._now, env.now))
        return cb

    for tag, t in (("late", 3.0), ("tie-first", 1.0), ("tie-second", 1.0)):
        heappush(env._queue, (t, NORMAL, next(env._eid), Wake(note(tag), None)))
    env.schedule(Wake(note("urgent"), None), simpy.events.URGENT, 1.0)
    env.run()
    assert seen == [("urgent", 1.0, 1.0), ("tie-first", 1.0, 1.0), ("tie-second", 1.0, 1.0), ("late", 3.0, 3.0)]


@pytest.mark.parametrize("make", [
    lambda: Report(0, -1, None, 0, 0.0),
    lambda: BackgroundJob(1.0, 0.0),
    lambda: IntrepJob([Report(1, -1, None, 0, 0.0)], [None], 0.0),
    lambda: Wake(None, None),
])
def test_step_needs_only_callbacks_and_ok_of_an_event(make):
    env = simpy.Environment()
    item = make()
    assert item._ok is True
    got = []
    item.callbacks = [got.append]
    heappush(env._queue, (0.5, NORMAL, next(env._eid), item))
    env.step()
    assert got == [item] and env.now == 0.5
    assert item.callbacks is None  # step takes the callbacks off, as the model expects


def test_step_raises_a_failed_duck_event_value():
    # the one other attribute step reads: _value, and only when _ok is false (the model
    # never pushes a failed event; this pins down that _ok is what step looks at)
    env = simpy.Environment()
    wake = Wake(lambda ev: None, ValueError("boom"))
    wake._ok = False
    heappush(env._queue, (0.0, NORMAL, next(env._eid), wake))
    with pytest.raises(ValueError):
        env.step()


def test_run_until_stops_before_normal_events_at_the_horizon():
    # the engine's horizon: SimPy's run(until=) stops before NORMAL events due then
    env = simpy.Environment()
    seen = []
    heappush(env._queue, (5.0, NORMAL, next(env._eid), Wake(lambda ev: seen.append(5.0), None)))
    heappush(env._queue, (4.0, NORMAL, next(env._eid), Wake(lambda ev: seen.append(4.0), None)))
    env.run(until=5.0)
    assert seen == [4.0] and env.now == 5.0


# -- the run loop written out (reporting_sim/model/loop.py) --------------------------------
def _toy_model(env, seen):
    """Processes, timeouts, a condition, a defused failure and events at the horizon."""
    def worker(name, gap):
        while True:
            yield env.timeout(gap)
            seen.append((name, env.now))

    def failing():
        yield env.timeout(1.5)
        ev = env.event()
        ev.fail(KeyError("handled"))
        ev.defused = True  # a failure somebody handled: run goes on
        seen.append(("defused", env.now))

    env.process(worker("a", 1.0))
    env.process(worker("b", 0.7))
    env.process(failing())
    heappush(env._queue, (3.0, NORMAL, next(env._eid), Wake(lambda ev: seen.append(("wake", env._now)), None)))


def test_run_until_written_out_steps_as_simpy_runs():
    from reporting_sim.model.loop import run_until

    got = {}
    for name, run in (("simpy", lambda env: env.run(until=3.0)), ("loop", lambda env: run_until(env, 3.0))):
        env, seen = simpy.Environment(), []
        _toy_model(env, seen)
        run(env)
        # SimPy leaves its stop event on the queue (priority -1, no callbacks left); the
        # loop does not, and nothing of the model reads it (FifoCell._open looks for its
        # own callbacks)
        got[name] = (seen, env.now, sorted((t, p, e) for t, p, e, ev in env._queue if p >= 0))
    assert got["loop"] == got["simpy"]
    assert ("wake", 3.0) not in got["loop"][0] and got["loop"][1] == 3.0  # stops before NORMAL events at the horizon


def test_run_until_written_out_raises_an_undefused_failure_as_step_does():
    from reporting_sim.model.loop import run_until

    raised = {}
    for name, run in (("simpy", lambda env: env.run(until=5.0)), ("loop", lambda env: run_until(env, 5.0))):
        env = simpy.Environment()
        ev = env.event()
        env.schedule(ev, NORMAL, 1.0)
        ev._ok, ev._value = False, ValueError("boom")  # failed, nobody defused it
        with pytest.raises(ValueError, match="boom") as info:
            run(env)
        raised[name] = (type(info.value.__cause__), env.now)
    assert raised["loop"] == raised["simpy"] == (ValueError, 1.0)
    with pytest.raises(ValueError, match="greater than the current"):
        run_until(simpy.Environment(), 0.0)


def test_the_engine_gives_the_same_records_with_simpy_s_own_run(monkeypatch):
    import reporting_sim as rs
    import reporting_sim.model.engine as engine

    sc = rs.load("minusma-2015")
    ours = rs.simulate(sc, seed=3, days=40, warmup_days=5)
    monkeypatch.setattr(engine, "run_until", lambda env, until: env.run(until=until))
    theirs = rs.simulate(sc, seed=3, days=40, warmup_days=5)
    for name in ("ledger", "events", "reports", "cells"):
        a, b = getattr(ours, name), getattr(theirs, name)
        assert a.equals(b), name


def test_the_clock_pushes_the_entries_environment_schedule_would():
    # Clock.after and Clock.first write Environment.schedule out: the same entries
    # (time, priority, id, event) in the same order, so SimPy steps through them alike
    from reporting_sim.model.clock import URGENT, Clock

    def entries(push):
        env, order = simpy.Environment(), []
        env.run(until=1.5)
        push(env, lambda label: order.append((env.now, label)))
        shape = [(t, p, i, type(ev)) for t, p, i, ev in sorted(env._queue)]
        env.run()
        return shape, order

    def by_clock(env, note):
        clock = Clock(env)
        clock.after(2.0, note, "a")
        clock.first(2.0, note, "b")
        clock.after(0.0, note, "c")

    def by_schedule(env, note):
        from reporting_sim.model.clock import _apply
        env.schedule(Wake(_apply, (note, ("a",))), NORMAL, 2.0)
        env.schedule(Wake(_apply, (note, ("b",))), URGENT, 2.0)
        env.schedule(Wake(_apply, (note, ("c",))), NORMAL, 0.0)

    assert entries(by_clock) == entries(by_schedule)
    assert entries(by_clock)[1] == [(1.5, "c"), (3.5, "b"), (3.5, "a")]
