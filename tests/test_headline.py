"""Headline metrics and the headline consumer come from the scenario, never from unit
names in the code: a scenario without any of the built-in units gets sensible
comparison tables, forest-plot selections, a followed event and meeting marks."""

from __future__ import annotations

import copy

import pytest
import tomli_w
from click.testing import CliRunner

from reporting_sim.measures import metrics, views
from reporting_sim import scenario
from reporting_sim.cli import cli
from reporting_sim.errors import ScenarioError
from reporting_sim.study.experiment import Experiment
from reporting_sim.model import simulate
from reporting_sim.present.tables import format_comparison, format_summary, selection

HAND = {
    "scenario": {"name": "hand", "days": 5, "seed": 1},
    "kinds": {"clash": {"family": "current", "shelf_life_h": 12.0}},
    "sources": {"field": {"sector": "area", "rate_per_day": 24.0, "mix": {"clash": 1.0}}},
    "collectors": {"scout": {"culture": "branch", "sectors": ["area"], "watch": "continuous", "p_observe": 1.0,
                             "p_report": 1.0, "report_delay_h": 0.0}},
    "cells": {"desk": {"analysts": 1, "work_h": 0.5, "consumer": True},
              "clerk": {"analysts": 1, "work_h": 0.5, "consumer": True}},
    "commanders": {"chief": {"consumer": True, "acts_at": "daily"}},
    "meetings": {"daily": {"first_h": 9.0, "every_h": 24.0}},
    # every event reaches desk and clerk; chief hears of about a third of them
    "links": [{"from": "scout", "to": "desk"}, {"from": "scout", "to": "clerk"},
              {"from": "scout", "to": "chief", "p": 0.3}],
}


def hand(**metrics_section) -> scenario.Scenario:
    data = copy.deepcopy(HAND)
    if metrics_section:
        data["metrics"] = metrics_section
    return scenario.parse(data, "hand")


def write(path, **metrics_section):
    data = copy.deepcopy(HAND)
    if metrics_section:
        data["metrics"] = metrics_section
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


# ------------------------------------------------------------------ which metrics, which consumer

def test_default_headline_is_every_consumers_in_time_then_the_shared_measures():
    assert metrics.headline(hand()) == ["desk.in_time", "clerk.in_time", "chief.in_time", "duplication.share"]
    assert metrics.headline_consumer(hand()) == "desk"


def test_the_bypass_consumer_leads_and_brings_the_bypass_rate():
    sc = hand(bypass_consumer="chief", bypass_branch="desk")
    assert metrics.headline(sc) == ["chief.in_time", "desk.in_time", "clerk.in_time", "bypass_rate",
                                    "duplication.share"]
    assert metrics.headline_consumer(sc) == "chief"


def test_a_stated_headline_is_kept_in_its_order_and_names_the_headline_consumer():
    sc = hand(headline=["chief.current.in_time", "desk.fidelity"])
    assert metrics.headline(sc) == ["chief.current.in_time", "desk.fidelity"]
    assert metrics.headline_consumer(sc) == "chief"


def test_an_unknown_headline_metric_is_an_error_of_the_file_when_it_is_read():
    with pytest.raises(ScenarioError) as err:
        hand(headline=["desk.in_time", "force_commander.in_time"])
    assert str(err.value).startswith("hand: metrics.headline: unknown metric 'force_commander.in_time'")
    assert "desk.in_time" in str(err.value)  # the examples come from the scenario itself


@pytest.mark.parametrize("command", [["validate"], ["run", "--days", "1", "--out", "out"]])
def test_validate_and_run_refuse_a_bad_headline_in_one_line(tmp_path, command):
    """Once only a comparison noticed: ``validate`` said ok and ``run`` ran."""
    path = write(tmp_path / "hand.toml", headline=["chief.in_tme"])
    args = [command[0], str(path), *[a if a != "out" else str(tmp_path / "out") for a in command[1:]]]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "hand.toml: metrics.headline: unknown metric 'chief.in_tme'" in lines[0]
    assert not (tmp_path / "out").exists()


def test_the_built_in_scenario_states_the_headline_its_tables_always_showed():
    assert metrics.headline(scenario.load("minusma-2015")) == [
        "force_commander.in_time", "force_commander.current.in_time", "force_commander.fidelity",
        "u2.in_time", "u2.current.in_time", "u2.fidelity", "asifu.in_time", "asifu.current.in_time",
        "jmac.in_time", "jmac.long_term.in_time", "sector_west_commander.current.in_time",
        "sector_east_commander.current.in_time", "sector_north_commander.current.in_time",
        "srsg.in_time", "bypass_rate", "duplication.share"]


# ------------------------------------------------------------------ tables

def fake_result(names) -> dict:
    entry = {"mean": 0.5, "ci95": [0.4, 0.6], "diff_vs_base": {"mean": 0.1, "ci95": [0.05, 0.15]}}
    block = {n: dict(entry) for n in names}
    return {"experiment": "x", "base": "hand", "replications": 3, "days": 5.0, "seed": 1,
            "variants": {"hand": {"metrics": block}, "other": {"metrics": block}}}


def shown(text: str) -> list[str]:
    return [line.split()[0] for line in text.splitlines()
            if line.startswith("  ") and line.split()[0] != "scenario"][:50]


def test_comparison_table_shows_the_scenarios_headline_in_order():
    names = ["desk.late", "chief.in_time", "desk.in_time", "duplication.share", "cell.desk.utilisation"]
    headline = metrics.headline(hand())
    table = format_comparison(fake_result(names), headline=headline)
    base_rows = shown(table)[:3]
    assert base_rows == ["desk.in_time", "chief.in_time", "duplication.share"]  # clerk's is not in the result
    assert "desk.late" not in table and "force_commander" not in table
    assert selection(fake_result(names)["variants"]["hand"]["metrics"], ()) == names  # no headline: all


def test_summary_names_the_bypass_pair_of_the_run():
    s = {"scenario": "hand", "seed": 1, "days": 5, "events": 0, "reports": {"created": 0},
         "events_by_family": {"current": 0, "long_term": 0}, "consumers": {}, "bypass_rate": 0.25}
    text = format_summary(s, ["chief", "desk"])
    assert "25.0% of the current events chief knew of" in text and "reached desk" in text
    assert "Force Commander" not in format_summary(s) and "U2" not in format_summary(s)


# ------------------------------------------------------------------ following an event

@pytest.fixture(scope="module")
def traced():
    return simulate(hand(), 1, 5, trace=True)


def test_pick_event_prefers_the_consumer_it_is_given(traced):
    led = traced.ledger
    heard = led[(led["consumer"] == "chief") & led["arrival_h"].notna()]["event_id"]
    assert 0.1 < len(heard) / traced.events["event_id"].nunique() < 0.6  # so a blind pick would miss it
    for seed in range(5):
        eid = views.pick_event(traced, "current", seed, consumer="chief")
        row = led[(led["event_id"] == eid) & (led["consumer"] == "chief")]
        assert row["arrival_h"].notna().all()
        assert (led[led["event_id"] == eid]["arrival_h"].notna().sum()) >= 2


def test_pick_event_without_a_headline_consumer_still_picks_a_shared_event(traced):
    assert traced.meta.get("bypass") is None
    eid = views.pick_event(traced, "current", 0)
    assert (traced.ledger[traced.ledger["event_id"] == eid]["arrival_h"].notna().sum()) >= 2


def test_trace_marks_the_headline_consumers_meetings(tmp_path):
    f = write(tmp_path / "hand.toml", bypass_consumer="chief", bypass_branch="desk")
    res = CliRunner().invoke(cli, ["trace", str(f), "--days", "5", "--out", str(tmp_path / "fig")])
    assert res.exit_code == 0, res.output
    assert "chief's daily" in res.output and "Force Commander" not in res.output


# ------------------------------------------------------------------ experiments

def test_a_bad_headline_stops_a_comparison_before_any_run(tmp_path):
    base = write(tmp_path / "hand.toml", headline=["nobody.in_time"])
    data = copy.deepcopy(HAND)
    data["scenario"]["name"] = "hand-2"
    variant = tmp_path / "hand-2.toml"
    variant.write_text(tomli_w.dumps(data), encoding="utf-8")
    res = CliRunner().invoke(cli, ["compare", str(base), str(variant), "-r", "2", "--days", "1",
                                   "--out", str(tmp_path / "cmp")])
    assert res.exit_code == 2
    assert "metrics.headline: unknown metric 'nobody.in_time'" in res.output
    assert len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "cmp" / "runs.parquet").exists()


def test_a_sweep_ranks_by_the_headline_consumer_by_default(tmp_path):
    write(tmp_path / "hand.toml", bypass_consumer="chief", bypass_branch="desk")
    spec = tmp_path / "sweep.toml"
    spec.write_text('[experiment]\nname = "sw"\nbase = "hand.toml"\ndays = 1\nreplications = 2\n'
                    '[sweep]\nmethod = "grid"\n[sweep.parameters."cells.desk.analysts"]\nvalues = [1, 2]\n',
                    encoding="utf-8")
    exp = Experiment.from_file(spec)
    assert exp.sweep.metric == "chief.current.in_time"
    assert "chief.current.in_time" in exp.metrics
