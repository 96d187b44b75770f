"""Collectors at run time (reporting_sim.model.collectors) on tiny networks (fixtures
in conftest.py): chances to observe and report, patrol windows, accreditation, report
delays, and the zipped draw buffer handing out each stream's own numbers."""

from __future__ import annotations

import numpy as np

from reporting_sim.model import Simulation
from reporting_sim.model.streams import Streams

BOSS = {"boss": {"consumer": True}}


def test_draw_buffer_gives_each_stream_the_numbers_its_own_sampler_would(network):
    sc = network(commanders=BOSS, collector={"report_delay_h": {"dist": "lognormal", "mean": 2.0, "sd": 1.0},
                                             "literacy": 0.5, "dictation_h": {"dist": "exponential", "mean": 3.0}})
    sim = Simulation(sc, 11, 1.0)
    col = sim.nodes["watcher"]
    got = [col.draws() for _ in range(1100)]  # more than two batches
    own = Streams(11)
    expect = {
        0: own.uniform_sampler("observe:watcher"), 1: own.uniform_sampler("report:watcher"),
        2: own.uniform_sampler("precision:watcher"),
        3: sc.collectors["watcher"].report_delay_h.sampler(own.get("report_delay:watcher")),
        4: own.uniform_sampler("literacy:watcher"),
        5: sc.collectors["watcher"].dictation_h.sampler(own.get("dictation:watcher")),
    }
    for col_index, sampler in expect.items():
        assert [g[col_index] for g in got] == [sampler() for _ in range(1100)]
    assert all(g[6] == 1.0 and g[7] == 0.0 for g in got)  # no written reports: fixed values


def test_a_collector_that_never_observes_leaves_every_event_not_observed(network, run):
    _sim, rec = run(network(commanders=BOSS, collector={"p_observe": 0.0}), days=5)
    assert len(rec.events) > 50
    assert (rec.events["n_observed"] == 0).all()
    assert (rec.ledger["outcome"] == "not_observed").all()


def test_a_collector_that_never_reports_observes_but_releases_nothing(network, run):
    _sim, rec = run(network(commanders=BOSS, collector={"p_report": 0.0}), days=5)
    assert (rec.events["n_observed"] == 1).all() and (rec.events["n_reported"] == 0).all()
    assert (rec.ledger["outcome"] == "not_reported").all()


def test_observations_fall_inside_patrols(network, run):
    patrols = {"per_day": 2.0, "duration_h": 3.0, "first_h": 6.0}
    sc = network(commanders=BOSS, collector={"watch": "patrols", "patrols": patrols})
    _sim, rec = run(sc, days=10, trace=True)
    obs = rec.trace[rec.trace["step"] == "observe"]
    into = (obs["t1_h"].to_numpy() - 6.0) % 12.0
    assert len(obs) > 100
    assert ((into <= 3.0 + 1e-9) | (into >= 12.0 - 1e-9)).all()
    waited = obs["t1_h"] > obs["t0_h"]
    assert waited.any() and (~waited).any()  # some seen while out, some at the next patrol


def test_nothing_is_observed_before_accreditation(network, run):
    acc = {"deployed_day": 2.0, "duration_days": 3.0}
    _sim, rec = run(network(commanders=BOSS, collector={"accreditation": acc}), days=10)
    ev = rec.events
    assert (ev.loc[ev["t_h"] < 5 * 24, "n_observed"] == 0).all()
    assert (ev.loc[ev["t_h"] >= 5 * 24, "n_observed"] == 1).all()


def test_the_report_delay_is_added_before_the_report_leaves(network, run):
    _sim, rec = run(network(commanders=BOSS, collector={"report_delay_h": 3.0}), days=5)
    led = rec.ledger.dropna(subset=["arrival_h"])
    assert len(led) > 50
    assert np.allclose(led["arrival_h"] - led["t_h"], 3.0)
