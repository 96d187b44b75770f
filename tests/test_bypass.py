"""The bypass of the intelligence branch, two measures named apart.

The study: the Force Commander, listening to the U2 at his morning briefing, says "no
way, because I heard this and that" (§3 operational fit). ``bypass_rate``: he heard of
an event through the command line before any report of it reached U2 (U2's speed
cannot change this one); ``bypass_before_briefing``: before U2 could have briefed him
on it (its next briefing after it had worked the event), which a faster U2 lowers.
"""

from __future__ import annotations

import copy

import pytest

from helpers import base, collector, link
from reporting_sim import scenario
from reporting_sim.measures import metrics
from reporting_sim.model import simulate


def network(work_h: float, meeting: bool = False):
    """scout -> sector (a commander) -> fc, a call taking half an hour; scout -> u2 (a
    cell with ``work_h`` of work, many analysts) -> fc, reaching U2 after 0.1 h."""
    data = base(rate=12.0, days=6.0, shelf=24.0)
    data["collectors"]["scout"] = collector()
    data["cells"]["u2"] = {"analysts": 50, "work_h": work_h, "consumer": True}
    data["commanders"] = {"sector": {}, "fc": {"consumer": True}}
    data["meetings"]["brief"] = {"first_h": 8.0, "every_h": 24.0}
    data["links"] = [link("scout", "sector"), link("sector", "fc", 0.5), link("scout", "u2", 0.1),
                     link("u2", "fc", **({"meeting": "brief"} if meeting else {}))]
    data["metrics"] = {"bypass_consumer": "fc", "bypass_branch": "u2"}
    return data


def summary(data, seed=2):
    return metrics.summary(simulate(scenario.parse(copy.deepcopy(data), "<test>"), seed))


def test_by_hand_only_the_briefing_measure_moves_with_the_branchs_speed():
    # U2 always hears first (0.1 h before the call's 0.5 h): never bypassed before it heard.
    # It could brief at 0.1 + work_h: after the call (bypass) when work_h > 0.4, before it when less.
    slow, fast = summary(network(work_h=1.0)), summary(network(work_h=0.1))
    assert slow["bypass_rate"] == 0.0 and fast["bypass_rate"] == 0.0
    assert slow["bypass_before_briefing"] == 1.0
    assert fast["bypass_before_briefing"] == 0.0


def test_a_briefing_meeting_makes_the_branch_later_to_brief():
    # U2 works in 0.1 h but briefs only at 08:00: the call (0.5 h) comes first unless an
    # event falls in the 0.3 h just before a briefing
    s = summary(network(work_h=0.1, meeting=True))
    assert s["bypass_rate"] == 0.0
    assert s["bypass_before_briefing"] > 0.9


def test_the_glossary_names_both_plainly():
    from reporting_sim.present import glossary

    assert "before any report" in glossary.define("bypass_rate")
    assert "could have briefed" in glossary.define("bypass_before_briefing")
    assert "cannot change" in glossary.define("bypass_rate")


def test_a_u2_that_works_and_briefs_at_once_lowers_only_the_briefing_measure(minusma_2015):
    """Issue finding: bypass was counted at U2's first receiving, so a U2 no one could
    staff moved it by +0.1 points (n.s.). The briefing measure moves with U2: a U2 that
    works at once and briefs the Force Commander as soon as it knows lowers it. (Its
    speed alone hardly does in minusma-2015, -0.2 to -0.3 points: U2 hears of almost
    every event he hears by phone only after the call, and briefs at 08:00.)"""
    data = minusma_2015.to_dict()
    fast = copy.deepcopy(data)
    fast["cells"]["u2"].update(analysts=30, work_h=0.05, background={"per_day": 0.0, "work_h": 1.0})
    fast["cells"]["u2"]["hoard"] = {**fast["cells"]["u2"]["hoard"], "p_hold": 0.0, "p_never": 0.0}
    for lk in fast["links"]:
        if lk["from"] == "u2" and lk["to"] == "force_commander":
            lk.pop("meeting")
    diffs = {"bypass_rate": [], "bypass_before_briefing": []}
    for seed in (1, 2):
        a = metrics.summary(simulate(minusma_2015, seed, 90))
        b = metrics.summary(simulate(scenario.parse(copy.deepcopy(fast), "fast"), seed, 90))
        for k in diffs:
            diffs[k].append(b[k] - a[k])
    assert all(d < -0.02 for d in diffs["bypass_before_briefing"]), diffs
    assert all(abs(d) < 0.01 for d in diffs["bypass_rate"]), diffs


@pytest.mark.parametrize("name", ["bypass_rate", "bypass_before_briefing"])
def test_both_are_flat_metrics_lower_is_better(name):
    from reporting_sim.metric_names import direction, flat_names

    assert name in flat_names(["fc"], ["u2"]) and direction(name) == -1


def test_by_hand_on_a_ledger_in_no_order_with_an_event_the_branch_has_no_row_for():
    # fc hears e1 through the chain before u2 (bypassed), e0 after u2 (not), e2 through
    # the chain while u2 has no row for it at all (bypassed: the branch never knew), e3
    # never (not in the denominator); e4 is long-term (not counted). Rows shuffled.
    import numpy as np
    import pandas as pd

    nan = np.nan
    rows = [  # event, consumer, reached_h, arrival_h, via, family, t_h
        (2, "fc", 6.0, 6.0, "sector", "current", 1.0),
        (1, "u2", 4.0, 4.5, "scout", "current", 1.0),
        (0, "fc", 5.0, 5.0, "u2", "current", 0.0),
        (4, "fc", 1.0, 1.0, "sector", "long_term", 0.0),
        (1, "fc", 2.0, 2.0, "sector", "current", 1.0),
        (0, "u2", 3.0, 3.5, "scout", "current", 0.0),
        (3, "fc", nan, nan, "sector", "current", 2.0),
        (4, "u2", 9.0, 9.0, "scout", "long_term", 0.0),
    ]
    ledger = pd.DataFrame(rows, columns=["event_id", "consumer", "reached_h", "arrival_h", "via", "family", "t_h"])
    ledger["interest"] = True
    for name in ("consumer", "via", "family"):
        ledger[name] = ledger[name].astype("category")
    assert metrics.bypass_rate(ledger, "fc", "u2", ["sector"]) == pytest.approx(2 / 3)
    t, heard, first = metrics._bypass_rows(ledger, "fc", "u2", ["sector"])
    assert list(t) == [1.0, 0.0, 1.0, 2.0]
    assert list(heard) == [True, True, True, False]
    assert list(first) == [True, False, True, False]  # e2, e0, e1, e3 in ledger order
    # briefed at once after it worked the event (arrival_h): the same here
    assert metrics.bypass_before_briefing(ledger, "fc", "u2", ["sector"], None) == pytest.approx(2 / 3)
