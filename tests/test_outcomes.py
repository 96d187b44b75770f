"""Outcome classification: a pure function of the recorder's raw frames and each
consumer's terms (the meeting it acts at, its area of interest).

Tiny hand-made raw frames with exact expected outcomes, the edge cases included
(arrival exactly at the deadline, never arrived, withheld, still in flight), and the
recorder's own raw output judged the same way."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from reporting_sim.model.outcomes import OUTCOMES, RAW_LEDGER, ConsumerTerms, classify, judge, judge_records
from reporting_sim.model.records import EventLabels, Recorder
from reporting_sim.scenario import Interest, Meeting

NAN = math.nan
LEDGER = ["event_id", "consumer", "outcome", "interest", "reached_h", "arrival_h", "act_h", "latency_h", "via",
          "arrivals", "precise", "report", "t_h", "kind", "family", "shelf_life_h"]


def names(codes) -> list[str]:
    return [OUTCOMES[c] for c in codes]


# ------------------------------------------------------------------ classify, element by element

def test_arrival_exactly_at_the_deadline_is_in_time_and_a_moment_later_is_late():
    deadline = np.array([10.0, 10.0, 10.0])
    act = np.array([10.0, np.nextafter(10.0, 11.0), 9.0])
    out = classify(act, act, deadline, live=[False] * 3, observed=[1] * 3, reported=[1] * 3, withheld=[0] * 3)
    assert names(out) == ["in_time", "late", "in_time"]


def test_the_time_it_could_act_decides_not_the_arrival():
    # arrived at 5, deadline 10: in time if it acts at once, late if its meeting is at 12
    out = classify([5.0, 5.0], [5.0, 12.0], [10.0, 10.0], [False] * 2, [1] * 2, [1] * 2, [0] * 2)
    assert names(out) == ["in_time", "late"]


def test_never_arrived_is_explained_by_how_far_the_event_got():
    n = 6
    out = classify(arrival=[NAN] * n, act=[NAN] * n, deadline=[10.0] * n,
                   live=[True, True, False, False, False, False],
                   observed=[0, 1, 0, 1, 1, 1],
                   reported=[0, 1, 0, 0, 1, 1],
                   withheld=[1, 0, 1, 1, 1, 0])
    assert names(out) == ["in_flight",      # pending at the end beats everything else
                          "in_flight",
                          "not_observed",   # no collector saw it (a withheld mark cannot matter)
                          "not_reported",   # seen, never reported
                          "withheld",       # a sharing gate stopped a report bound for it
                          "not_shared"]     # reports existed, none came its way


def test_an_arrival_beats_any_note_of_loss():
    # a report was withheld and the event is still live, but another report got through
    out = classify([3.0, 30.0], [3.0, 30.0], [10.0, 10.0], [True, True], [1, 1], [1, 1], [1, 1])
    assert names(out) == ["in_time", "late"]


# ------------------------------------------------------------------ judge: tiny raw frames

def events_frame() -> pd.DataFrame:
    """Three events: 0 at 1 h (shelf life 9 h: deadline 10 h, sector east), 1 at 2 h
    (deadline 4 h, west) and 2 at 30 h (deadline 54 h, long-term, east, live at the end)."""
    kinds = ["clash", "trend"]
    return pd.DataFrame({
        "event_id": np.array([0, 1, 2], dtype=np.int64),
        "t_h": [1.0, 2.0, 30.0],
        "source": pd.Categorical(["e", "w", "e"]),
        "sector": np.array(["east", "west", "east"], dtype=object),
        "kind": pd.Categorical.from_codes([0, 0, 1], categories=kinds),
        "family": pd.Categorical.from_codes([0, 0, 1], categories=["current", "long_term"]),
        "shelf_life_h": [9.0, 2.0, 24.0],
        "n_observed": np.array([1, 1, 1], dtype=np.int64),
        "n_reported": np.array([1, 1, 0], dtype=np.int64),
        "n_analysed": np.zeros(3, dtype=np.int64),
        "n_independent": np.zeros(3, dtype=np.int64),
        "live_at_end": [False, False, True],
    })


def raw_frame(rows) -> pd.DataFrame:
    """A raw ledger from ``(event, consumer, arrival_h, withheld)`` rows."""
    consumers = ["desk", "chief"]
    ev, cons, arr, held = zip(*rows)
    return pd.DataFrame({
        "event_id": np.array(ev, dtype=np.int64),
        "consumer": pd.Categorical(cons, categories=consumers),
        "reached_h": np.array(arr, dtype=float),
        "arrival_h": np.array(arr, dtype=float),
        "via": pd.Categorical(["scout" if a == a else None for a in arr], categories=["scout"]),
        "arrivals": np.array([0 if a != a else 1 for a in arr], dtype=np.int32),
        "precise": np.array([a == a for a in arr]),
        "report": np.array([-1 if a != a else 7 for a in arr], dtype=np.int64),
        "withheld": np.array(held, dtype=bool),
    })[list(RAW_LEDGER)]


ROWS = [(0, "desk", 10.0, False),   # exactly at the deadline: in time
        (1, "desk", NAN, True),     # never arrived, a report bound for it withheld
        (2, "desk", NAN, False),    # still in flight at the end
        (0, "chief", 5.0, False),   # arrives at 5 h; acts at the 8 h meeting: in time
        (1, "chief", 3.0, False),   # arrives at 3 h, before its deadline (4 h); acts at 8 h: late
        (2, "chief", NAN, False)]
DAILY_AT_8 = Meeting(first_h=8.0, every_h=24.0).calendar()


def test_judge_gives_the_exact_outcomes_and_act_times():
    led = judge(raw_frame(ROWS), events_frame(), {"chief": ConsumerTerms(acts_at=DAILY_AT_8)})
    assert list(led.columns) == LEDGER
    assert led["outcome"].astype(str).tolist() == ["in_time", "withheld", "in_flight", "in_time", "late", "in_flight"]
    np.testing.assert_array_equal(led["act_h"], [10.0, NAN, NAN, 8.0, 8.0, NAN])
    np.testing.assert_array_equal(led["latency_h"], [9.0, NAN, NAN, 4.0, 1.0, NAN])
    assert led["interest"].all()  # no area of interest: every event
    assert led["family"].astype(str).tolist() == ["current", "current", "long_term"] * 2
    assert led["precise"].tolist() == [True, False, False, True, True, False]


def test_without_the_meeting_the_late_arrival_is_in_time():
    # the mechanism under test: acting at a meeting, not on arrival, makes event 1 late
    led = judge(raw_frame(ROWS), events_frame(), {})
    assert led["outcome"].astype(str).tolist()[3:5] == ["in_time", "in_time"]
    np.testing.assert_array_equal(led["act_h"], led["arrival_h"])


def test_area_of_interest_marks_rows_without_changing_outcomes():
    terms = {"desk": ConsumerTerms(interest=Interest(sectors=("east",))),
             "chief": ConsumerTerms(interest=Interest(families=("long_term",)))}
    led = judge(raw_frame(ROWS), events_frame(), terms)
    assert led["interest"].tolist() == [True, False, True, False, False, True]
    assert led["outcome"].astype(str).tolist() == ["in_time", "withheld", "in_flight", "in_time", "in_time",
                                                   "in_flight"]


def test_rows_in_any_order_are_judged_by_event_id_not_by_position():
    shuffled = [ROWS[i] for i in (4, 2, 0, 5, 1, 3)]
    led = judge(raw_frame(shuffled), events_frame(), {"chief": ConsumerTerms(acts_at=DAILY_AT_8)})
    got = dict(zip(zip(led["event_id"], led["consumer"].astype(str)), led["outcome"].astype(str)))
    assert got == {(0, "desk"): "in_time", (1, "desk"): "withheld", (2, "desk"): "in_flight",
                   (0, "chief"): "in_time", (1, "chief"): "late", (2, "chief"): "in_flight"}


def test_a_raw_row_for_an_unknown_event_is_refused():
    with pytest.raises(ValueError, match="events frame"):
        judge(raw_frame([(5, "desk", 1.0, False)]), events_frame(), {})


# ------------------------------------------------------------------ the recorder records, outcomes judge

def recorded():
    """A recorder fed by hand: two consumers, three events (one live at the end)."""
    rec = Recorder(["desk", "chief"], ["scout", "desk", "chief"])
    for t in (1.0, 2.0, 30.0):
        rec.new_event(t, 0, 0)
    rec.count_arrival(0, 0, 10.0)
    rec.known(0, 0, 10.0, via=0, report=1)
    rec.mark_withheld(1, 0b01)                      # bound for desk, stopped
    rec.count_arrival(1, 1, 3.0)
    rec.known(1, 1, 3.0, via=1, precise=False, report=2)
    rec.event_counts(0, 1, 1)
    rec.event_counts(1, 1, 1)
    labels = EventLabels(kinds=["clash"], families=["current"], shelf_lives=[9.0], sources=["e"],
                         source_sectors=["east"], collectors={"scout": 0})
    return rec.finish(scenario="hand", seed=0, days=2.0, warmup_days=0.0, live_events={2: (1, 0)},
                      cells=[], labels=labels)


def test_the_recorders_ledger_is_raw_and_judging_it_gives_the_outcomes():
    raw = recorded()
    assert list(raw.ledger.columns) == list(RAW_LEDGER)  # no outcome, no act time: nothing judged
    assert raw.ledger["withheld"].tolist() == [False, True, False, False, False, False]
    assert raw.events["live_at_end"].tolist() == [False, False, True]
    judged = judge_records(raw, {"chief": ConsumerTerms(acts_at=DAILY_AT_8)})
    assert list(judged.ledger.columns) == LEDGER
    # deadlines 10, 11, 39 h; desk knows event 0 at 10 h; chief knows event 1 at 3 h, acts at 8 h
    assert judged.ledger["outcome"].astype(str).tolist() == [
        "in_time", "withheld", "in_flight", "not_shared", "in_time", "in_flight"]
    assert judged.ledger["via"].astype(str).tolist()[:1] == ["scout"]
    assert judged.ledger["precise"].tolist() == [True, False, False, False, False, False]
    assert judged.events is raw.events and judged.meta == raw.meta
