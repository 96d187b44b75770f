"""Each headline measure means what its definition says (issue: measures that mean
what a planner reads).

Tiny scenarios with fixed durations and chances of 0 or 1, where the answer can be
worked out by hand; each test fails under the definition the measure had before
(every consumer over every event, bypass against U2 finishing work, withheld marked
past family filters, sequential analysis counted as duplication, fidelity over
arrivals only, weekly series by event week, no measure for long-term timeliness).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest

from helpers import base, collector, link
from reporting_sim.measures import metrics
from reporting_sim import scenario
from reporting_sim.model import simulate


def run(data, seed=None, days=None):
    sc = scenario.parse(copy.deepcopy(data), "<test>")
    rec = simulate(sc, seed, days)
    return rec, metrics.summary(rec)


def two_sectors():
    data = base(rate=12.0, days=5.0)
    data["sources"]["t"] = {"sector": "y", "rate_per_day": 12.0, "mix": {"k": 1.0}}
    data["collectors"]["c"] = collector(sectors=["x", "y"])
    data["commanders"]["cx"] = {"consumer": True, "interest": {"sectors": ["x"]}}
    data["commanders"]["all"] = {"consumer": True}
    data["links"] = [link("c", "cx", kinds=["k"], p=1.0), link("c", "all")]
    return data


def test_a_consumer_is_measured_over_its_area_of_interest_only():
    rec, s = run(two_sectors())
    ev = rec.events
    in_x = int((ev["sector"] == "x").sum())
    assert 0 < in_x < len(ev)
    assert s["consumers"]["cx"]["events"] == in_x
    assert s["consumers"]["all"]["events"] == len(ev)
    assert s["consumers"]["cx"]["area_of_interest"] == "sectors: x"
    assert s["consumers"]["all"]["area_of_interest"] == "all events"
    # it hears of every event of both sectors: over its own sector all are in time
    assert s["consumers"]["cx"]["outcomes"]["in_time"] == 1.0


def test_an_area_of_interest_naming_an_unknown_sector_is_refused():
    data = two_sectors()
    data["commanders"]["cx"]["interest"] = {"sectors": ["z"]}
    with pytest.raises(scenario.ScenarioError, match=r"commanders\.cx\.interest\.sectors: unknown sector 'z'"):
        scenario.parse(data, "<test>")


def bypass_scenario(work=5.0):
    """A collector tells a commander (who calls the top at once, 1 h later) and sends a
    report to U2 (arriving after 0.5 h, worked for ``work`` h); a long-term kind too."""
    data = base(rate=4.0, days=4.0)
    data["kinds"]["lt"] = {"family": "long_term", "shelf_life_h": 720.0}
    data["sources"]["s"]["mix"] = {"k": 0.5, "lt": 0.5}
    data["collectors"]["c"] = collector()
    data["commanders"]["cmd"] = {}
    data["commanders"]["top"] = {"consumer": True}
    data["cells"]["u2"] = {"analysts": 50, "work_h": work, "consumer": True}
    data["links"] = [link("c", "cmd"), link("cmd", "top", transit=1.0), link("c", "u2", transit=0.5)]
    data["metrics"] = {"bypass_consumer": "top", "bypass_branch": "u2"}
    return data


def test_bypass_is_against_u2_first_receiving_not_finishing_work():
    # U2 receives every report at +0.5 h, before the top hears at +1 h: no bypass,
    # although U2 finishes its work only at +5.5 h
    _, s = run(bypass_scenario(work=5.0))
    assert s["bypass_rate"] == 0.0


def test_bypass_counts_current_events_only():
    # U2 now receives after the top (+0.5 h transit, top at +1 h): make U2 slower to
    # receive; every current event is a bypass, and long-term events do not dilute it
    data = bypass_scenario()
    data["links"][2]["transit_h"] = 2.0
    rec, s = run(data)
    assert (rec.events["family"] == "long_term").any()
    assert s["bypass_rate"] == 1.0


def test_withheld_only_for_consumers_the_stopped_report_could_reach():
    # the collector marks every report for its trust group; the relay is outside it, so
    # the report is stopped there; past the relay, only long-term reports go on to
    # the consumer: for a current event it was never on the way, so it is not_shared
    data = base(rate=6.0, days=3.0)
    data["collectors"]["c"] = collector(groups=["g"], classify={"group": 1.0})
    data["commanders"]["relay"] = {}
    data["commanders"]["end"] = {"consumer": True}
    data["commanders"]["other"] = {"consumer": True, "groups": ["g"]}
    data["links"] = [link("c", "relay"), link("relay", "end", families=["long_term"]), link("c", "other")]
    rec, s = run(data)
    out = s["consumers"]["end"]["outcomes"]
    assert out["withheld"] == 0.0
    assert out["not_shared"] == pytest.approx(1.0 - out["not_observed"] - out["in_flight"])
    # the same report on a link the consumer is past does count as withheld
    data["links"][1]["families"] = ["current"]
    _, s = run(data)
    assert s["consumers"]["end"]["outcomes"]["withheld"] > 0.9


def branch_scenario(parallel=False):
    data = base(rate=6.0, days=3.0)
    data["collectors"]["c"] = collector()
    data["cells"]["g2"] = {"analysts": 50, "work_h": 1.0, "analysis": True}
    data["cells"]["u2"] = {"analysts": 50, "work_h": 1.0, "analysis": True, "consumer": True}
    data["links"] = [link("c", "g2"), link("g2", "u2")]
    if parallel:
        data["links"].append(link("c", "u2"))
    return data


def test_passing_up_the_branch_is_not_duplication():
    rec, s = run(branch_scenario())
    dup = s["duplication"]
    assert dup["events_analysed"] > 0
    assert (rec.events.loc[rec.events["n_analysed"] > 0, "n_analysed"] == 2).all()
    assert dup["share_duplicated"] == 0.0


def test_cells_that_each_get_the_event_directly_duplicate():
    _, s = run(branch_scenario(parallel=True))
    assert s["duplication"]["share_duplicated"] == 1.0


def test_latency_to_act_includes_the_briefing_wait():
    data = base(rate=6.0, days=4.0)
    data["collectors"]["c"] = collector()
    data["meetings"]["brief"] = {"first_h": 8, "every_h": 24}
    data["commanders"]["fc"] = {"consumer": True, "acts_at": "brief"}
    data["links"] = [link("c", "fc", transit=1.0)]
    rec, s = run(data)
    led = rec.ledger
    t = led["t_h"].to_numpy()
    arrival = t + 1.0
    act = np.array([8.0 + 24.0 * math.ceil((a - 8.0) / 24.0) if a > 8.0 else 8.0 for a in arrival])
    block = s["consumers"]["fc"]
    assert block["latency_h"]["p50"] == pytest.approx(1.0)
    assert block["act_latency_h"]["p50"] == pytest.approx(float(np.quantile(act - t, 0.5)))
    assert block["act_latency_h"]["p50"] > block["latency_h"]["p50"]


def test_fidelity_is_over_the_events_of_interest_and_over_what_arrived():
    # a precise report reaches the consumer half the time (p = 0.5 on the link)
    data = base(rate=24.0, days=5.0)
    data["collectors"]["c"] = collector(precision=1.0)
    data["commanders"]["x"] = {"consumer": True}
    data["links"] = [link("c", "x", p=0.5)]
    rec, s = run(data)
    block = s["consumers"]["x"]
    arrived = 1.0 - block["outcomes"]["not_shared"] - block["outcomes"]["in_flight"]
    assert 0.3 < arrived < 0.7
    assert block["fidelity_arrived"] == 1.0
    assert block["fidelity"] == pytest.approx(arrived)


def test_long_term_intelligence_has_a_measure_that_can_move():
    # shelf life 720 h, arrival after 200 h: in time, but not within a week's planning
    data = base(rate=6.0, days=20.0, shelf=720.0, family="long_term")
    data["collectors"]["c"] = collector()
    data["commanders"]["x"] = {"consumer": True}
    data["links"] = [link("c", "x", transit=200.0)]
    rec, s = run(data)
    lt = s["consumers"]["x"]["by_family"]["long_term"]
    assert lt["outcomes"]["in_time"] > 0
    assert lt["within_planning"] == 0.0
    data["links"][0]["transit_h"] = 100.0
    _, s = run(data)
    lt = s["consumers"]["x"]["by_family"]["long_term"]
    assert lt["within_planning"] == pytest.approx(lt["outcomes"]["in_time"])
    flat = metrics.flat(s)
    assert flat["x.long_term.within_planning"] == lt["within_planning"]


def test_weekly_series_counts_what_was_learned_in_the_week_it_was_learned():
    # two events in week 0, one learned in week 0, one learned in week 2; the run lasts
    # 17.5 days, so week 2 is cut short
    ledger = pd.DataFrame({
        "event_id": [0, 1], "consumer": pd.Categorical(["a", "a"]), "outcome": ["in_time", "in_time"],
        "t_h": [10.0, 20.0], "act_h": [30.0, 350.0], "arrival_h": [30.0, 350.0],
        "family": ["long_term", "long_term"], "interest": [True, True]})
    events = pd.DataFrame({"event_id": [0, 1], "t_h": [10.0, 20.0], "family": ["long_term"] * 2})
    w = metrics.weekly(ledger, events, family="long_term", days=17.5)
    assert list(w.index) == [0, 1, 2]
    assert w["in_time:a"].tolist()[0] == 0.5
    assert math.isnan(w["in_time:a"].tolist()[2])  # no events happened in week 2...
    by_event = metrics.weekly(ledger, events, family="long_term", index="event", days=17.5)
    assert by_event["in_time:a"].tolist()[0] == 1.0
    assert w["complete"].tolist() == [True, True, False]


def test_weekly_learned_shows_a_late_backlog_in_the_week_it_arrives():
    ledger = pd.DataFrame({
        "event_id": [0, 1, 2], "consumer": pd.Categorical(["a"] * 3), "outcome": ["in_time"] * 3,
        "t_h": [10.0, 20.0, 200.0], "act_h": [300.0, 300.0, 300.0], "arrival_h": [300.0] * 3,
        "family": ["long_term"] * 3, "interest": [True] * 3})
    events = pd.DataFrame({"event_id": [0, 1, 2], "t_h": [10.0, 20.0, 200.0], "family": ["long_term"] * 3})
    w = metrics.weekly(ledger, events, family="long_term")
    assert w.loc[0, "in_time:a"] == 0.0
    assert w.loc[1, "in_time:a"] == 3.0
