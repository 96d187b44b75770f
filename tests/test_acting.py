"""When a consumer can act depends on the channel the news came by (``acts``).

The study: a sector commander phones the Force Commander, who then, "when [he] sits in
the daily morning briefing and listens to the U2", may say "no way, because I heard
this and that" (§3 operational fit): he has the call's news before the briefing. So a
call can be acted on when it comes (within his day), a staff product at the briefing.
Checked by hand on a recorder fed one event, on a tiny network where every event's act
time has a closed form, and on minusma-2015 (where, before, every channel waited for
the 08:00 briefing).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from helpers import base, collector, link
from reporting_sim import scenario
from reporting_sim.model import simulate
from reporting_sim.model.outcomes import ActRule, ConsumerTerms, judge_records, off_duty_wait
from reporting_sim.model.records import EventLabels, KnowingChannels, Recorder
from reporting_sim.scenario import CHANNELS, Duty, Meeting

BRIEF = Meeting(first_h=8.0, every_h=24.0).calendar()
DAY = Duty(start_h=6.0, end_h=23.0)


def one_event(call_h: float, product_h: float, shelf_h: float = 6.0):
    """A recorder fed by hand: one event at 1:00 (deadline 1 + shelf), known to the
    commander ``fc`` by a call (from node ``sector``) at ``call_h`` and by a product
    (from node ``staff``) at ``product_h``."""
    nodes = ["scout", "sector", "staff", "fc"]
    of_node = (CHANNELS.index("report"), CHANNELS.index("call"), CHANNELS.index("product"),
               CHANNELS.index("call"))
    rec = Recorder(["fc"], nodes, channels=KnowingChannels(CHANNELS, of_node, frozenset({0})))
    rec.new_event(1.0, 0, 0)
    for t, via in sorted([(call_h, 1), (product_h, 2)]):
        rec.count_arrival(0, 0, t)
        rec.known(0, 0, t, via=via, report=via)
    rec.event_counts(0, 1, 1)
    labels = EventLabels(kinds=["clash"], families=["current"], shelf_lives=[shelf_h], sources=["e"],
                         source_sectors=["x"], collectors={"scout": 0})
    return rec.finish(scenario="hand", seed=0, days=2.0, warmup_days=0.0, live_events={}, cells=[],
                      labels=labels)


FC_TERMS = {"fc": ConsumerTerms(acts={"call": ActRule(None, DAY), "product": ActRule(BRIEF)})}


def test_a_night_call_is_acted_on_when_the_day_starts_and_beats_the_briefing():
    # event at 1:00, shelf 6 h (deadline 7:00); call at 3:00 (night: acts at 6:00), product
    # at 8:00 (acts at 8:00): he acts at 6:00, in time
    raw = one_event(call_h=3.0, product_h=8.0)
    assert raw.ledger["known_call_h"].tolist() == [3.0]
    assert raw.ledger["known_product_h"].tolist() == [8.0]
    led = judge_records(raw, FC_TERMS).ledger
    assert led["arrival_h"].tolist() == [3.0] and led["act_h"].tolist() == [6.0]
    assert led["outcome"].astype(str).tolist() == ["in_time"]
    # the rule switched off (every channel at the briefing, as before): late
    old = judge_records(raw, {"fc": ConsumerTerms(acts_at=BRIEF)}).ledger
    assert old["act_h"].tolist() == [8.0] and old["outcome"].astype(str).tolist() == ["late"]


def test_a_call_within_duty_is_acted_on_when_it_comes():
    raw = one_event(call_h=6.5, product_h=5.0, shelf_h=6.0)  # the product came first (5:00)
    led = judge_records(raw, FC_TERMS).ledger
    # product at 5:00 waits for 8:00; the call at 6:30 is acted on at 6:30
    assert led["arrival_h"].tolist() == [5.0] and led["act_h"].tolist() == [6.5]
    assert led["outcome"].astype(str).tolist() == ["in_time"]


def test_a_channel_without_a_rule_follows_acts_at():
    raw = one_event(call_h=3.0, product_h=8.0)
    terms = {"fc": ConsumerTerms(acts_at=BRIEF, acts={"product": ActRule(None)})}
    led = judge_records(raw, terms).ledger
    assert led["act_h"].tolist() == [8.0]  # the call at 3:00 waits for the 8:00 briefing; the product too


def test_off_duty_wait_by_hand_including_hours_that_wrap_midnight():
    t = np.array([5.0, 6.0, 22.99, 23.0, 24.0 + 7.0, np.nan])
    np.testing.assert_allclose(off_duty_wait(t, 6.0, 23.0), [1.0, 0.0, 0.0, 7.0, 0.0, np.nan])
    np.testing.assert_allclose(off_duty_wait(np.array([21.0, 3.0, 12.0]), 20.0, 4.0), [0.0, 0.0, 8.0])


# ------------------------------------------------------------------ on a tiny network

def network(**fc):
    """scout -> sector (a commander) -> fc: a call; scout -> staff (a cell, one hour of
    work, many analysts) -> fc at the 08:00 briefing: a product."""
    data = base(rate=12.0, days=6.0, shelf=6.0)
    data["collectors"]["scout"] = collector()
    data["cells"]["staff"] = {"analysts": 50, "work_h": 1.0}
    data["commanders"] = {"sector": {}, "fc": {"consumer": True, **fc}}
    data["meetings"]["brief"] = {"first_h": 8.0, "every_h": 24.0}
    data["links"] = [link("scout", "sector"), link("sector", "fc"), link("scout", "staff"),
                     link("staff", "fc", meeting="brief")]
    return data


def ledger(data, seed=3):
    rec = simulate(scenario.parse(copy.deepcopy(data), "<test>"), seed)
    return rec.ledger[rec.ledger["consumer"] == "fc"]


def test_every_events_act_time_has_the_hand_formula():
    led = ledger(network(acts={"call": {"duty": {"start_h": 6.0, "end_h": 23.0}},
                               "product": {"at": "brief"}}))
    assert len(led) > 30
    t = led["t_h"].to_numpy()
    call_act = t + off_duty_wait(t, 6.0, 23.0)        # the call comes at once
    product_act = BRIEF.next_at_array(t + 1.0)        # worked for an hour, then the next briefing
    np.testing.assert_allclose(led["arrival_h"], t)
    np.testing.assert_allclose(led["act_h"], np.minimum(call_act, product_act))
    hour = t % 24
    day = (hour >= 6) & (hour < 23)
    assert (led.loc[day, "outcome"].astype(str) == "in_time").all()
    assert led["outcome"].astype(str).eq("late").any()  # some night events miss their 6 hours


def test_acting_at_the_briefing_on_every_channel_is_what_the_rule_changes():
    now = ledger(network(acts={"call": {}, "product": {"at": "brief"}}))
    before = ledger(network(acts_at="brief"))
    assert (now["act_h"] == now["arrival_h"]).all()
    assert (before["act_h"] >= before["arrival_h"]).all()
    assert (now["outcome"] == "in_time").mean() > (before["outcome"] == "in_time").mean() + 0.3


def test_a_rule_naming_an_unknown_meeting_is_one_line_naming_the_field():
    data = network(acts={"call": {"at": "lunch"}})
    with pytest.raises(scenario.ScenarioError) as exc:
        scenario.parse(data, "<test>")
    assert "commanders.fc.acts.call.at" in exc.value.one_line() and "lunch" in exc.value.one_line()


def test_only_a_consumer_has_rules_for_acting():
    data = network()
    data["commanders"]["sector"] = {"acts": {"call": {}}}
    with pytest.raises(scenario.ScenarioError, match="only a consumer"):
        scenario.parse(data, "<test>")


# ------------------------------------------------------------------ minusma-2015: the finding

def test_the_force_commander_acts_on_a_call_within_his_day_when_it_comes(minusma_2015):
    """Issue finding: the Force Commander acted only at the 08:00 briefing, even on news
    a sector commander phoned him; now a call within his day is acted on at once."""
    rec = simulate(minusma_2015, 1, 60)
    led = rec.ledger
    fc = led[(led["consumer"] == "force_commander") & led["arrival_h"].notna()]
    by_phone = fc["via"].astype(str).str.startswith("sector_")
    hour = fc["arrival_h"] % 24
    in_day = by_phone & (hour >= 6) & (hour < 23)
    assert in_day.sum() > 20
    np.testing.assert_allclose(fc.loc[in_day, "act_h"], fc.loc[in_day, "arrival_h"])
    # what came first from his staff he acts on at the briefing it came to (or on a
    # later call, if one came before the next briefing)
    staff = fc["via"].astype(str).isin(["u2", "asifu", "joc"])
    assert staff.sum() > 20
    at_brief = np.isclose((fc.loc[staff, "act_h"] - 8.0) % 24, 0.0)
    assert at_brief.mean() > 0.9
    assert (fc.loc[staff, "act_h"] <= BRIEF.next_at_array(fc.loc[staff, "arrival_h"]) + 1e-9).all()


def test_the_study_quote_is_beside_the_rule():
    text = scenario.builtin_text("minusma-2015")
    line = next(ln for ln in text.splitlines() if ln.startswith("acts.call"))
    assert "heard this and that" in line and "[paper §3 operational fit]" in line and "[assumption]" in line
    sc = scenario.load("minusma-2015")
    assert sc.uncertainties["commanders.force_commander.acts.call.at"].values == ("arrival", "morning_briefing")
    assert math.isclose(sc.nodes["force_commander"].acts["call"].duty.start_h, 6.0)
