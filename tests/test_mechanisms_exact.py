"""The mechanisms follow the study, on tiny scenarios where the answer is exact.

* the coordination board passes only what members bring and are willing to share
  (competition still applies at the board), and a member told of analysed work takes
  note of it instead of redoing it, unless it reworks it (``p_rework``);
* report formats shape written reports; the word a patrol gives its chief stays as it
  was;
* a staff cell's routine work keeps its analysts busy at the rate the scenario gives
  (an M/G/c check on the utilisation) and delays the reports behind it.
Each test fails when the mechanism's code is taken out (what it checks is a difference
the mechanism makes, not a number it writes).
"""

from __future__ import annotations

import copy

import pytest

from helpers import base, collector, link
from reporting_sim.measures import metrics, stats
from reporting_sim import scenario
from reporting_sim.model import simulate


def run(data, seed=None, days=None):
    rec = simulate(scenario.parse(copy.deepcopy(data), "<test>"), seed, days)
    return rec, metrics.summary(rec)


def board_scenario(**board):
    """A collector feeds cell A only; A and B (both analysis cells, consumers) sit on a
    board that meets every 6 hours; long-term events, so nothing goes stale."""
    data = base(rate=6.0, days=10.0, shelf=720.0, family="long_term")
    data["collectors"]["c"] = collector()
    data["cells"]["a"] = {"analysts": 50, "work_h": 1.0, "analysis": True, "consumer": True}
    data["cells"]["b"] = {"analysts": 50, "work_h": 1.0, "analysis": True, "consumer": True}
    data["meetings"]["m"] = {"first_h": 0.0, "every_h": 6.0}
    data["meetings"]["brief"] = {"first_h": 8.0, "every_h": 24.0}
    data["boards"] = {"jcb": {"meeting": "m", "members": ["a", "b"], **board}}
    data["links"] = [link("c", "a")]
    return data


def test_board_passes_what_members_bring():
    _, s = run(board_scenario(p_bring=1.0))
    assert s["consumers"]["b"]["outcomes"]["in_time"] > 0.9
    _, s = run(board_scenario(p_bring=0.0))
    assert s["consumers"]["b"]["outcomes"]["in_time"] == 0.0
    _, s = run(board_scenario(p_bring=0.5))
    assert 0.3 < s["consumers"]["b"]["outcomes"]["in_time"] < 0.7


def test_competition_applies_at_the_board():
    data = board_scenario()
    data["cells"]["a"]["hoard"] = {"rivals": ["b"], "until": "brief", "p_hold": 0.0, "p_never": 1.0}
    _, s = run(data)
    assert s["consumers"]["b"]["outcomes"]["in_time"] == 0.0
    assert s["consumers"]["b"]["outcomes"]["not_shared"] > 0.9
    data["mechanisms"] = {"competition": False}
    _, s = run(data)
    assert s["consumers"]["b"]["outcomes"]["in_time"] > 0.9


def test_board_holds_from_a_rival_until_the_holders_briefing():
    data = board_scenario()
    data["cells"]["a"]["hoard"] = {"rivals": ["b"], "until": "brief", "p_hold": 1.0, "p_never": 0.0}
    rec, _ = run(data)
    led = rec.ledger
    b = led[(led["consumer"] == "b") & led["arrival_h"].notna()]
    # B knows only after A's next 08:00 briefing (plus its own hour of work)
    assert len(b) and ((b["arrival_h"] - 1.0) % 24.0 >= 8.0 - 1e-9).all()


def test_a_member_told_of_analysed_work_takes_note_instead_of_redoing_it():
    rec, s = run(board_scenario(p_rework=0.0))
    assert s["duplication"]["share_duplicated"] == 0.0
    ev = rec.events
    assert (ev.loc[ev["n_analysed"] > 0, "n_independent"] == 1).all()
    # and B knows at the meeting itself, without an hour of work
    led = rec.ledger
    b = led[(led["consumer"] == "b") & led["arrival_h"].notna()]
    assert (b["arrival_h"] % 6.0 < 1e-9).all()
    rec, s = run(board_scenario(p_rework=1.0))
    assert s["duplication"]["share_duplicated"] > 0.9


def commander_collector(formats):
    data = base(rate=12.0, days=5.0)
    data["collectors"]["bn"] = collector(culture="commander", precision=0.0, formats=formats,
                                         written={"p": 1.0, "delay_h": 2.0})
    data["commanders"]["chief"] = {"consumer": True}
    data["cells"]["g2"] = {"analysts": 50, "work_h": 0.5, "consumer": True}
    data["links"] = [link("bn", "chief"), link("bn", "g2", channel="written")]
    return data


def test_formats_shape_written_reports_not_the_word_to_the_chief():
    _, s = run(commander_collector(formats=True))
    assert s["consumers"]["chief"]["fidelity_arrived"] == 0.0
    assert s["consumers"]["g2"]["fidelity_arrived"] == 1.0
    _, s = run(commander_collector(formats=False))
    assert s["consumers"]["g2"]["fidelity_arrived"] == 0.0


def routine_cell(per_day, work=1.0, analysts=2, days=60.0):
    data = base(rate=12.0, days=days)
    data["collectors"]["c"] = collector()
    data["cells"]["x"] = {"analysts": analysts, "work_h": 0.1, "consumer": True,
                          "background": {"per_day": per_day, "work_h": {"dist": "exponential", "mean": work}}}
    data["links"] = [link("c", "x")]
    return data


def test_routine_work_loads_the_cell_as_queueing_theory_says():
    # offered load: reports 12/day x 0.1 h + routine 24/day x 1 h = 25.2 analyst-hours a
    # day over 48 available: utilisation 0.525 (any service distribution, c servers)
    expected = (12 * 0.1 + 24 * 1.0) / (2 * 24)
    util = [run(routine_cell(24.0), seed=s)[1]["cells"]["x"]["utilisation"] for s in range(8)]
    _, lo, hi = stats.mean_ci(util)
    assert lo - 0.01 <= expected <= hi + 0.01
    util0 = run(routine_cell(0.0), seed=1)[1]["cells"]["x"]["utilisation"]
    assert util0 == pytest.approx(12 * 0.1 / 48, rel=0.2)


def test_routine_work_delays_the_reports_behind_it():
    waits = [run(routine_cell(per_day, analysts=1, days=30.0), seed=3)[1]["cells"]["x"]["mean_wait_h"]
             for per_day in (0.0, 12.0)]
    assert waits[1] > waits[0] + 0.1


def test_in_2014_the_scaneagle_sees_nothing_until_accredited():
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "experiments" / "scenarios" / "minusma-2014.toml"
    sc = scenario.load(path)
    s = metrics.summary(simulate(sc, 1, 120))
    assert s["collectors"]["nld_uav"]["observed"] == 0  # accreditation takes 140-180 days
    assert s["collectors"]["nld_uav"]["active_from_day"] >= 140
    assert s["collectors"]["swe_uav"]["observed"] == 0 and s["collectors"]["est_humint"]["observed"] == 0
