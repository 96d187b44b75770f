"""The JCB as deconfliction: members declare what they hold and work on; an event one
member holds is not analysed again by another (with chance ``p_deconflict``).

The study: intelligence efforts "were however hardly coordinated, which led to great
duplication of effort"; the Joint Coordination Board was installed "to improve this
situation and better coordinate all intelligence related activities" (§3 strategic
fit). On a tiny network (every event: two analysis cells, one board) each event's
duplication is hand-counted from its time; then on minusma-2015.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from helpers import base, collector, link
from reporting_sim import scenario
from reporting_sim.measures import metrics
from reporting_sim.model import simulate

DELAY = 3.0  # hours after cell A that the event reaches cell B, by another path
EVERY = 6.0  # the board sits at 0, 6, 12, 18 h


def two_cells(**board):
    """scout -> A (an analysis cell) at once; scout -> relay (a commander) -> B (an
    analysis cell) after 3 h; A and B sit on a board every 6 h that passes nothing on
    (p_bring = 0: only the register can keep B from working what A holds)."""
    data = base(rate=12.0, days=8.0, shelf=720.0, family="long_term")
    data["collectors"]["scout"] = collector()
    data["cells"]["a"] = {"analysts": 50, "work_h": 1.0, "analysis": True}
    data["cells"]["b"] = {"analysts": 50, "work_h": 1.0, "analysis": True, "consumer": True}
    data["commanders"] = {"relay": {}}
    data["meetings"]["m"] = {"first_h": 0.0, "every_h": EVERY}
    data["boards"] = {"jcb": {"meeting": "m", "members": ["a", "b"], "p_bring": 0.0, "p_rework": 0.0, **board}}
    data["links"] = [link("scout", "a"), link("scout", "relay"), link("relay", "b", DELAY)]
    return data


def events(data, seed=4):
    """The records, and the events some cell analysed that had time to reach both
    cells and be worked before the run ended."""
    rec = simulate(scenario.parse(copy.deepcopy(data), "<test>"), seed)
    ev = rec.events
    return rec, ev[(ev["n_analysed"] > 0) & (ev["t_h"] < rec.days * 24 - DELAY - 2)]


def test_by_hand_b_skips_what_a_declared_at_a_meeting_before_b_got_it():
    _, ev = events(two_cells(p_deconflict=1.0))
    assert len(ev) > 50
    t = ev["t_h"].to_numpy()
    # A declares the event at the first meeting after it happened; B gets it 3 h after
    # it happened: B works it (a duplicate) unless a meeting fell in between
    declared_before_b = (np.ceil(t / EVERY) * EVERY) < t + DELAY
    np.testing.assert_array_equal(ev["n_independent"].to_numpy(), np.where(declared_before_b, 1, 2))
    np.testing.assert_array_equal(ev["n_analysed"].to_numpy(), np.where(declared_before_b, 1, 2))
    share = metrics.duplication(ev)["share_duplicated"]
    assert share == pytest.approx((~declared_before_b).mean())
    assert 0.3 < share < 0.7


def test_by_hand_consulting_the_register_between_meetings_skips_them_all():
    _, ev = events(two_cells(p_deconflict=1.0, consult=True))
    assert (ev["n_independent"] == 1).all() and (ev["n_analysed"] == 1).all()


def test_without_deconfliction_every_event_is_analysed_twice():
    for board in ({"p_deconflict": 0.0}, {"p_deconflict": 0.0, "consult": True}):
        _, ev = events(two_cells(**board))
        assert (ev["n_independent"] == 2).all()
    data = two_cells(p_deconflict=1.0, consult=True)
    data["mechanisms"] = {"boards": False}
    _, ev = events(data)
    assert (ev["n_independent"] == 2).all()


def test_deconfliction_holds_with_its_chance():
    _, ev = events(two_cells(p_deconflict=0.5, consult=True), seed=5)
    skipped = (ev["n_independent"] == 1).mean()
    assert 0.35 < skipped < 0.65


def test_a_skipped_analysis_is_still_known_and_passed_on():
    # B notes what it does not analyse: it knows it when the report comes (no hour of work)
    rec, ev = events(two_cells(p_deconflict=1.0, consult=True))
    led = rec.ledger[(rec.ledger["consumer"] == "b") & rec.ledger["event_id"].isin(ev["event_id"])]
    np.testing.assert_allclose(led["arrival_h"], led["t_h"] + DELAY)


def test_rework_stays_possible_for_what_the_board_passes_on():
    # the board passes A's item to B at the meeting; with p_rework = 1 B redoes it, even
    # though the register says A holds it
    data = two_cells(p_deconflict=1.0, consult=True, p_bring=1.0, p_rework=1.0)
    _, ev = events(data)
    assert (ev["n_independent"] == 2).any()
    data["boards"]["jcb"]["p_rework"] = 0.0
    _, ev = events(data)
    assert (ev["n_independent"] == 1).all()


def test_a_board_without_deconfliction_draws_nothing_new():
    # the register's draws come from their own stream, only where the board deconflicts:
    # p_deconflict = 0 gives exactly the old board (same records)
    rec_a, _ = events(two_cells(p_deconflict=0.0))
    data = two_cells()
    data["boards"]["jcb"].pop("p_deconflict", None)
    rec_b, _ = events(data)
    assert rec_a.events.equals(rec_b.events) and rec_a.ledger.equals(rec_b.ledger)


# ------------------------------------------------------------------ minusma-2015: the finding

def test_in_minusma_the_jcb_that_deconflicts_cuts_duplication(minusma_2015):
    """Issue finding: the JCB could not reduce duplication for any setting (without it
    duplication was 6.8 points lower). With its register consulted between meetings,
    the board now cuts it."""
    data = minusma_2015.to_dict()
    data["boards"]["jcb"].update(consult=True, p_deconflict=0.9)
    off = copy.deepcopy(data)
    off["mechanisms"]["boards"] = False
    diffs = []
    for seed in (1, 2):
        on = metrics.summary(simulate(scenario.parse(copy.deepcopy(data), "on"), seed, 120))
        no = metrics.summary(simulate(scenario.parse(copy.deepcopy(off), "off"), seed, 120))
        diffs.append(on["duplication"]["share_duplicated"] - no["duplication"]["share_duplicated"])
    assert all(d < -0.02 for d in diffs), diffs
