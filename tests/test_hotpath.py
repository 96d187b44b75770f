"""The specialised hot path (reporting_sim.model.hotpath) on the pieces this round
added: fixed-zero transits, deliveries straight into a plain cell, the depth bound on
zero-delay hops, reports as their own SimPy events, and consumers writing their own
recorder columns. Each case must give exactly what the general path gives."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from conftest import KIND, tiny_network
from reporting_sim import scenario
from reporting_sim.model import Simulation, engine, hotpath
from reporting_sim.model.items import Report


def assert_same(sc, seed=3, days=20.0, **kw):
    fast = Simulation(sc, seed, days, **kw).run()
    general = Simulation(sc, seed, days, specialised=False, **kw).run()
    for a, b in zip((fast.ledger, fast.events, fast.reports, fast.cells),
                    (general.ledger, general.events, general.reports, general.cells)):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert fast.meta == general.meta
    return fast


def test_a_long_chain_of_zero_delay_hops_meets_the_depth_bound_the_same_way(monkeypatch):
    # 60 commanders in a row pass word on at once: past 50 nested hops the rest goes
    # through SimPy's queue (at the same time), in both paths; the chain ends in a
    # plain cell, which the fast path feeds without counting the depth
    names = [f"c{i}" for i in range(60)]
    links = ([{"from": "watcher", "to": "c0"}] + [{"from": a, "to": b} for a, b in zip(names, names[1:])]
             + [{"from": names[-1], "to": "desk"}])
    data = tiny_network(commanders={n: {} for n in names}, cells={"desk": {"consumer": True, "analysts": 2}},
                        rate_per_day=30.0)
    data["links"] = links
    sc = scenario.parse(data, "chain")
    rec = assert_same(sc)
    assert rec.meta["reports_created"] > 400
    # the bound is met: raised past the chain's length, SimPy handles fewer events
    # (no hop is deferred), with every outcome the same (the hops take no time)
    bounded = _events_handled(sc)
    monkeypatch.setattr(hotpath, "_MAX_DEPTH", 1000)
    monkeypatch.setattr(engine, "_MAX_DEPTH", 1000)
    assert _events_handled(sc) < bounded


def _events_handled(sc) -> int:
    sim = Simulation(sc, 3, 20.0)
    sim.run()
    return next(sim.env._eid)


@pytest.mark.parametrize("transit", [0.0, {"dist": "exponential", "mean": 0.5}])
def test_choose_routing_into_plain_cells_with_fixed_zero_or_random_transit(network, transit):
    sc = network(cells={"a": {"analysts": 2, "routing": "choose"}, "b": {"consumer": True},
                        "c": {"consumer": True, "analysts": 2}},
                 links=[{"from": "a", "to": "b", "p": 0.5, "transit_h": transit},
                        {"from": "a", "to": "c", "p": 0.4, "transit_h": transit}],
                 rate_per_day=60.0)
    rec = assert_same(sc)
    assert rec.meta["reports_created"] > 1000


def test_a_report_is_its_own_event_for_simpy():
    # what SimPy's Environment.step reads of an event it pops
    rep = Report(0, -1, None, 0, 0.0)
    assert rep._ok is True
    rep.callbacks = [print]
    assert rep.callbacks == [print]


def test_a_link_every_report_takes_skips_its_draw_only_without_written_links(network):
    # a commander-centric unit: the word to its chief on a link taken always, written
    # reports on a link taken half the time; both draw from the unit's route stream, so
    # the always-taken link must keep drawing (the general path draws for both)
    data = tiny_network(collector={"culture": "commander", "written": {"p": 0.7, "delay_h": 1.0}},
                        commanders={"chief": {"consumer": True}},
                        cells={"g2": {"analysts": 3, "consumer": True}}, rate_per_day=40.0)
    data["links"] = [{"from": "watcher", "to": "chief"},
                     {"from": "watcher", "to": "g2", "channel": "written", "p": 0.5}]
    rec = assert_same(scenario.parse(data, "written"))
    assert rec.meta["collectors"]["watcher"]["written_reports"] > 100


def test_open_links_pass_what_the_gates_would_pass(minusma_2015):
    # Node.forward sends a mission-wide report without imagery along an open link (no
    # fixed gate, no rival) straight away; through the gates every time, the same
    fast = Simulation(minusma_2015, 4, 30.0).run()
    sim = Simulation(minusma_2015, 4, 30.0)
    links = [link for node in sim.nodes.values() for link in node.links + getattr(node, "written_links", [])]
    assert sum(link.open for link in links) > 20
    for link in links:
        link.open = False
    slow = sim.run()
    for a, b in zip((fast.ledger, fast.events, fast.reports, fast.cells),
                    (slow.ledger, slow.events, slow.reports, slow.cells)):
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_the_written_out_event_and_report_set_every_slot_as_their_classes_do(network):
    # the source's arrival and a certain collector's report build Event and Report
    # without calling them (engine._start_source, hotpath._consider_certain): every
    # slot a class call sets must be set, to the same value where it is a default
    sc = network(cells={"desk": {"consumer": True, "analysts": 2}}, rate_per_day=48.0)
    sim = Simulation(sc, 3, 2.0)
    desk = sim.nodes["desk"]
    seen = []
    desk.on_done.insert(0, seen.append)  # every report the desk works, before its end of work
    sim.run()
    assert len(seen) > 50
    rep = seen[0]
    ev = rep.event
    made_ev = engine.Event(ev.id, ev.t, ev.kind)
    for slot in engine.Event.__slots__:
        assert hasattr(ev, slot), slot
        if slot not in ("pending", "seen", "observed", "reported", "observers"):  # moved on since
            assert getattr(ev, slot) == getattr(made_ev, slot), slot
    made = Report(rep.id, -1, ev, 0, rep.t_in)
    for slot in set(Report.__slots__) - {"t_start", "callbacks", "_value"}:  # set when worked; a wake's
        assert hasattr(rep, slot), slot
        if slot not in ("prev", "t_in", "precise", "imagery"):  # given by the collector or moved on
            assert getattr(rep, slot) == getattr(made, slot), slot


def test_a_fresh_event_one_certain_collector_sees_is_born_reported_as_through_its_consider(monkeypatch):
    # engine._start_source hands a fresh event of a kind that only one certain
    # collector sees, reporting at once, to that collector's ``born`` (the report takes
    # the event's hold); a kind two collectors see goes through both considers: either
    # way exactly what the general path gives
    data = tiny_network(cells={"desk": {"consumer": True, "analysts": 2}}, rate_per_day=96.0)
    data["kinds"]["other"] = dict(KIND["item"])
    data["sources"]["feed"]["mix"] = {"item": 0.6, "other": 0.4}
    data["collectors"]["second"] = {**data["collectors"]["watcher"], "kinds": ["other"], "p_observe": 0.5}
    data["links"].append({"from": "second", "to": "desk"})
    sc = scenario.parse(data, "tiny")
    rec = assert_same(sc, seed=3, days=20.0)
    kinds = rec.events.kind.value_counts()
    assert kinds["item"] > 1000 and kinds["other"] > 600

    calls = {"consider": 0, "born": 0}
    certain = hotpath._consider_certain

    def counted(sim, col):
        consider, born = certain(sim, col), None

        def counted_consider(ev):
            calls["consider"] += 1
            consider(ev)

        if consider.born is not None:
            def born(ev, now):
                calls["born"] += 1
                consider.born(ev, now)
        counted_consider.born = born
        return counted_consider

    monkeypatch.setattr(hotpath, "_consider_certain", counted)
    again = Simulation(sc, 3, 20.0).run()
    pd.testing.assert_frame_equal(again.events, rec.events, check_exact=True)
    assert calls == {"born": kinds["item"], "consider": kinds["other"]}


VARIANTS = sorted((Path(__file__).resolve().parents[1] / "experiments" / "variants").glob("*.toml"))


@pytest.mark.parametrize("path", [None, *VARIANTS], ids=lambda p: "minusma-2015" if p is None else p.stem)
def test_a_general_node_s_compiled_arrival_and_gated_routing_give_the_general_path(minusma_2015, path):
    # commanders and cells with a board seat or current pull get Node.receive as one
    # closure; in a run with gates, each node's ``each`` routing has Node._each_firing
    # written out and takes a single open link by its ``go``: every frame the same
    sc = minusma_2015 if path is None else scenario.load(str(path))
    sim = Simulation(sc, 6, 1.0)
    compiled = [n for n in sim.nodes.values() if "receive" in vars(n) and not hasattr(n.receive, "never_at_once")]
    assert {"force_commander", "srsg", "u2", "asifu"} <= {n.name for n in compiled}
    assert sum("forward" in vars(n) for n in sim.nodes.values()) > 20
    rec = assert_same(sc, seed=6, days=150.0, warmup_days=5.0)  # deconfliction first shows between days 90 and 150
    assert rec.reports.set_index(["node", "state"]).loc[("force_commander", "duplicate"), "count"] > 0


def test_the_run_loop_pops_one_type_of_event_nearly_always(monkeypatch, network, minusma_2015):
    # wakes (a source's next arrival, Clock.after, routine work's wake) are Report
    # instances, so the loop's reads of callbacks and _ok see one type (.wake): on the
    # plain network every event the loop pops is one; in minusma-2015 all but
    # SimPy's own timeouts and processes (boards, patrols) and the INTREP jobs
    from collections import Counter
    import heapq
    from reporting_sim.model import loop

    def types(sc, days):
        seen = Counter()

        def pop(queue):
            entry = heapq.heappop(queue)
            seen[type(entry[3]).__name__] += 1
            return entry

        monkeypatch.setattr(loop, "heappop", pop)
        Simulation(sc, 2, days).run()
        return seen

    net = types(network(cells={"desk": {"consumer": True, "analysts": 2}}, rate_per_day=48.0), 20.0)
    assert set(net) == {"Report", "Event"} and net["Event"] == 1  # the stop event
    year = types(minusma_2015, 60.0)
    assert year["Report"] > 0.9 * sum(year.values())
    assert set(year) <= {"Report", "Timeout", "Initialize", "IntrepJob", "Event"}


@pytest.mark.parametrize("tracing", [False, True])
def test_new_report_and_copy_set_every_slot_as_the_class_and_its_overrides_do(tracing):
    # Simulation.new_report and (untraced) Simulation.copy build a Report without
    # calling it: every slot must be what Report(...) and copy's overrides give
    sc = scenario.parse(tiny_network(cells={"desk": {"consumer": True}}), "tiny")
    sim = Simulation(sc, 3, 2.0, trace=tracing)
    ev = engine.Event(0, 0.0, 0)
    sim.live[0] = ev
    rep = sim.new_report(ev, 1)
    made = Report(rep.id, -1, ev, 1, sim.env._now)
    for slot in set(Report.__slots__) - {"t_start", "callbacks", "_value"}:
        assert getattr(rep, slot) == getattr(made, slot), slot
    rep.cls, rep.cls_group, rep.cls_org, rep.imagery, rep.precise, rep.lineage = 2, "g", "org", "grp", False, 5
    rep.rework = True
    c = sim.copy(rep, 1)
    want = Report(rep.id + 1, rep.id, ev, rep.prev, sim.env._now, 2, "g", "org", "grp", False)
    want.lineage = 5  # (a copy redoes nothing on its own: rework stays False)
    for slot in set(Report.__slots__) - {"t_start", "callbacks", "_value"}:
        assert getattr(c, slot) == getattr(want, slot), slot
    assert ev.pending == 2 and sim.next_report == rep.id + 2
