"""Ceilings per stage: which lever can move a consumer's in-time share at all.

Issue finding: about half of the current events are never observed or never reported,
no variant touches collection, and nothing showed a user which stage caps a
consumer's share. ``reporting-sim ceilings`` (and :func:`reporting_sim.study.ceilings.
ceilings`) give, per consumer and family, today's share and the share with each stage
perfect. Checked on tiny networks where the answers are counted by hand, for the
property that a stage already perfect leaves its ceiling at today's share, and for the
command's JSON contract.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from helpers import base, collector, invoke, link
from reporting_sim import scenario
from reporting_sim.measures.ceilings import LEDGER_STAGES, RERUN_STAGES, STAGES
from reporting_sim.model import simulate
from reporting_sim.study.ceilings import MANY_ANALYSTS, ceilings, perfect


def chain(**changes):
    """scout -> chief (a commander consumer) -> desk (a cell consumer with many
    analysts, round the clock): every stage already perfect unless ``changes`` say."""
    data = base(rate=10.0, days=6.0, shelf=6.0)
    data["collectors"]["scout"] = collector()
    data["commanders"] = {"chief": {"consumer": True}}
    data["cells"] = {"desk": {"analysts": MANY_ANALYSTS, "work_h": 0.5, "consumer": True}}
    data["meetings"] = {"brief": {"first_h": 8.0, "every_h": 24.0}}
    data["links"] = [link("scout", "chief"), link("chief", "desk")]
    for path, value in changes.items():
        node = data
        *head, last = path.split(".")
        for k in head:
            node = node[k]
        node[last] = value
    return scenario.parse(data, "<test>")


def result(sc, reps=2):
    return ceilings(sc, replications=reps, seed=3, n_jobs=1)


def test_a_network_with_every_stage_perfect_has_every_ceiling_at_todays_share():
    sc = chain()
    today = simulate(sc, 3).ledger
    for stage in RERUN_STAGES:  # making a perfect stage perfect changes nothing that happens
        world = simulate(scenario.parse(perfect(sc.to_dict(), [stage]), "<p>"), 3).ledger
        assert world.equals(today), stage
    r = result(sc)
    for who in ("chief", "desk"):
        b = r["consumers"][who]["current"]
        assert b["in_time"] == pytest.approx(1.0)
        assert all(b["ceilings"][s] == b["in_time"] for s in STAGES)
        assert all(step["in_time"] == b["in_time"] for step in b["waterfall"])


def test_by_hand_half_the_events_observed_and_the_observation_ceiling_is_all():
    sc = chain(**{"collectors.scout.p_observe": 0.5})
    rec = simulate(sc, 3)
    observed = (rec.events["n_observed"] > 0).mean()
    b = result(sc, reps=1)["consumers"]["chief"]["current"]
    assert b["in_time"] == pytest.approx(observed)  # what is observed arrives at once
    assert 0.3 < observed < 0.7
    assert b["ceilings"]["every_event_observed"] == pytest.approx(1.0)
    for stage in STAGES[1:]:  # the other stages are perfect already
        assert b["ceilings"][stage] == b["in_time"], stage


def test_by_hand_a_transit_longer_than_the_shelf_life_and_its_ceiling():
    sc = chain(**{"links": [link("scout", "chief", 30.0), link("chief", "desk")]})
    b = result(sc, reps=1)["consumers"]["chief"]["current"]
    assert b["in_time"] == 0.0
    assert b["ceilings"]["no_transit_time"] == pytest.approx(1.0)
    assert b["ceilings"]["every_event_observed"] == 0.0


def test_by_hand_acting_on_arrival_comes_from_the_ledger_exactly():
    sc = chain(**{"commanders.chief.acts_at": "brief"})
    rec = simulate(sc, 3)
    t = rec.events["t_h"].to_numpy()
    hour = t % 24
    by_hand = ((np.where(hour <= 8.0, 8.0 - hour, 32.0 - hour)) <= 6.0).mean()  # the next 08:00 within 6 h
    b = result(sc, reps=1)["consumers"]["chief"]["current"]
    assert b["in_time"] == pytest.approx(by_hand)
    assert b["ceilings"]["acting_on_arrival"] == pytest.approx(1.0)
    assert "acting_on_arrival" in LEDGER_STAGES


def test_a_queue_ceiling_and_a_stage_that_swamps_a_small_staff():
    # a slow one-analyst desk behind a scout that sees only some events: observing
    # every event swamps the desk (as run below today's share); the ceiling stays at
    # today's share; no queue lifts it
    sc = chain(**{"collectors.scout.p_observe": 0.3, "cells.desk.analysts": 1, "cells.desk.work_h": 4.0,
                  "scenario.days": 20.0})
    b = result(sc, reps=4)["consumers"]["desk"]["current"]
    assert b["as_run"]["every_event_observed"] < b["in_time"]
    assert b["ceilings"]["every_event_observed"] == b["in_time"]
    # without a queue, all it observes is in time (4 h of work, 6 h of shelf life); seeds 3 to 6
    observed = np.mean([(simulate(sc, seed).events["n_observed"] > 0).mean() for seed in (3, 4, 5, 6)])
    assert b["ceilings"]["no_analysis_queue"] == pytest.approx(observed, abs=0.03)
    assert b["ceilings"]["no_analysis_queue"] > b["in_time"] + 0.1
    lo, hi = b["change_ci95"]["no_analysis_queue"]
    assert lo > 0


def test_the_waterfall_adds_up_from_today_to_every_stage_perfect():
    sc = chain(**{"collectors.scout.p_observe": 0.5, "commanders.chief.acts_at": "brief"})
    b = result(sc)["consumers"]["chief"]["current"]
    levels = [b["in_time"]] + [s["in_time"] for s in b["waterfall"]]
    assert levels == sorted(levels) and [s["stage"] for s in b["waterfall"]] == list(STAGES)
    assert levels[-1] == pytest.approx(1.0)


# ------------------------------------------------------------------ the command's contract

def test_the_ceilings_command_prints_the_contract(tmp_path):
    res = invoke("ceilings", "minusma-2015", "--days", "20", "--replications", "2", "--seed", "1", "--json",
                 "--jobs", "1")
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    sc = scenario.load("minusma-2015")
    assert set(d["consumers"]) == set(sc.consumers)
    assert {s: v["method"] for s, v in d["stages"].items()} == {s: ("ledger" if s in LEDGER_STAGES else "rerun")
                                                                for s in STAGES}
    fc = d["consumers"]["force_commander"]["current"]
    assert set(fc["ceilings"]) == set(STAGES) and len(STAGES) >= 6
    for who, fams in d["consumers"].items():
        for fam, b in fams.items():
            assert all(b["in_time"] <= y <= 1 for y in b["ceilings"].values()), (who, fam)
    assert all(s in d["definitions"] for s in STAGES)


def test_the_text_names_the_headline_consumer_and_draws_the_waterfall(tmp_path):
    res = invoke("ceilings", "minusma-2015", "--days", "10", "-r", "2", "--jobs", "1", "--out", tmp_path / "f")
    assert res.exit_code == 0, res.output
    assert "force_commander, current intelligence" in res.stdout and "waterfall" in res.stdout
    assert (tmp_path / "f" / "waterfall-force_commander-current.png").is_file()


def test_an_unknown_consumer_is_one_line():
    res = invoke("ceilings", "--days", "5", "--consumer", "nobody")
    assert res.exit_code == 2 and res.stderr.startswith("error: --consumer") and len(res.stderr.splitlines()) == 1


def test_the_lab_can_call_one_function_for_plain_data(minusma_2015):
    r = ceilings(minusma_2015, days=5, replications=1, waterfall=False, n_jobs=1)
    json.dumps(r)  # plain data
    assert "waterfall" not in r["consumers"]["force_commander"]["current"]


def test_a_run_report_has_the_ceilings_section(run_folder, tmp_path):
    from reporting_sim.present.report import build

    html = build(run_folder, tmp_path / "r.html").read_text("utf-8")
    assert "Ceilings: which stage caps the share" in html
    assert all(s in html for s in STAGES)


def test_bottlenecks_shows_the_ceilings(tmp_path):
    res = invoke("bottlenecks", "--days", "5", "--seed", "1", "--out", tmp_path / "b")
    assert res.exit_code == 0, res.output
    assert "ceiling per stage" in res.stdout and "one replication" in res.stdout
    res = invoke("bottlenecks", "--days", "5", "--seed", "1", "--no-ceilings", "--out", tmp_path / "b")
    assert "ceiling per stage" not in res.stdout
