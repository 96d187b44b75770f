"""Uncertainties in scenario files: coverage of the built-in's assumptions, one-line
errors for bad specifications, and worlds drawn reproducibly with the right types."""

from __future__ import annotations

import copy

import pytest
from click.testing import CliRunner

from reporting_sim import scenario
from reporting_sim.cli import cli
from reporting_sim.scenario.provenance import assumption_numbers, uncovered
from reporting_sim.scenario import uncertainties
from reporting_sim.scenario.uncertainties import Space, unequal_also


def builtin():
    text = scenario.builtin_text("minusma-2015")
    data, source = scenario.load_data("minusma-2015")
    return text, data, source, scenario.load("minusma-2015")


def test_every_assumption_number_of_minusma_has_a_range_or_is_declared_fixed():
    text, data, _, sc = builtin()
    missing = uncovered(text, data, sc.uncertainties)
    assert not missing, ("assumption-tagged numbers of minusma-2015 with neither a range nor fixed = true "
                         "in its [uncertainties] (add one, with its reason):\n  " + "\n  ".join(missing))


def test_the_coverage_check_names_a_number_that_lost_its_range():
    text, data, _, sc = builtin()
    assert len(assumption_numbers(text, data)) > 150
    uncs = dict(sc.uncertainties)
    del uncs["cells.u2.analysts"]
    del uncs["links[sector_west_commander->force_commander].p"]  # and its "also" links, copied from it
    assert uncovered(text, data, uncs) == ["cells.u2.analysts"] + [
        f"links[sector_{s}_commander->force_commander].p" for s in ("west", "east", "north")]


def test_settings_that_move_together_start_equal_in_minusma():
    _, data, _, sc = builtin()
    assert not unequal_also(data, sc.uncertainties)


def test_every_reason_is_given_and_ranges_hold_the_value_as_written():
    text, data, _, sc = builtin()
    space = Space(data, sc)
    assert len(space.items) > 100
    from reporting_sim.scenario.uncertainties import _get

    for path, u, kind in space.items:
        value = _get(data, path)
        if u.low is not None:
            assert u.low <= value <= u.high, f"{path}: {value} outside its own range [{u.low}, {u.high}]"
        else:
            assert value in u.values, path


def test_worlds_are_reproducible_and_keep_integers_and_switches():
    _, data, source, sc = builtin()
    space = Space(data, sc)
    a, b = space.worlds(12, seed=5), space.worlds(12, seed=5)
    assert a == b and a != space.worlds(12, seed=6)
    kinds = {p: k for p, _, k in space.items}
    for w in a:
        assert isinstance(w["cells.u2.analysts"], int) and not isinstance(w["cells.u2.analysts"], bool)
        assert isinstance(w["kinds.attack.shelf_life_h"], float)
        assert isinstance(w["collectors.soltg.report_after_patrol"], bool)
    assert kinds["cells.u2.analysts"] == "int" and kinds["kinds.attack.shelf_life_h"] == "float"
    assert {w["cells.u2.analysts"] for w in space.worlds(60, seed=1)} == set(range(1, 7))  # every whole number
    world = scenario.parse(space.apply(data, a[0], source), source)
    assert world.cells["u2"].analysts == a[0]["cells.u2.analysts"]
    assert world.cells["g2_north"].work_h.mean == pytest.approx(a[0]["cells.g2_west.work_h.mean"])  # "also"
    assert world.links[17].p == pytest.approx(a[0]["links[sector_west_commander->force_commander].p"])
    assert not world.uncertainties
    assert "uncertainties" not in scenario.load("minusma-2015").to_dict()  # one world


def test_latin_hypercube_puts_one_world_in_each_stratum():
    _, data, _, sc = builtin()
    space = Space(data, sc)
    n = 20
    lows = {p: u for p, u, k in space.items}
    u = lows["kinds.armed_group_movement.shelf_life_h"]
    xs = sorted((w["kinds.armed_group_movement.shelf_life_h"] - u.low) / (u.high - u.low) for w in space.worlds(n, 3))
    assert [int(x * n) for x in xs] == list(range(n))


BAD = [
    ('"cells.u2.analysts" = { low = 5, high = 2, reason = "staffing" }', "low must be less than high"),
    ('"cells.u2.analystz" = { low = 1, high = 2, reason = "staffing" }', "uncertainties.cells.u2.analystz: no setting"),
    ('"links[u2->force_commander].p" = { low = 0.5, high = 1.5, reason = "a guess" }',
     "uncertainties.links[u2->force_commander].p.high: 1.5 is outside what"),
    ('"cells.u2.analysts" = { low = -1, high = 2, reason = "staffing" }', "uncertainties.cells.u2.analysts.low: -1"),
    ('"cells.u2.analysts" = { low = 1.5, high = 2, reason = "staffing" }', "whole numbers"),
    ('"cells.u2.work_h" = { low = 1, high = 2, reason = "a guess" }', "is a table"),
    ('"collectors.soltg.report_after_patrol" = { low = 0, high = 1, reason = "a guess" }', "give values"),
    ('"collectors.soltg.report_after_patrol" = { values = [1, 2], reason = "a guess" }', "is not a value"),
    ('"cells.u2.analysts" = { low = 1, high = 2 }', "reason: required but missing"),
    ('"cells.u2.analysts" = { low = 1, high = 2, fixed = true, reason = "a guess" }', "exactly one"),
    ('"kinds.attack.shelf_life_h" = { low = 1, high = 9, also = ["cells.u2.analysts"], reason = "a guess" }',
     "must be of one type"),
    # hardening 3, item 5: a setting with no effect passed validate (and robustness failed on it)
    ('"scenario.name" = { values = ["a", "b"], reason = "a guess" }', "'scenario.name' cannot be an uncertainty"),
    # item 15: the horizon and seed were accepted as uncertainties, fake dimensions of the study
    ('"scenario.days" = { low = 1, high = 400, reason = "a guess" }', "'scenario.days' cannot be an uncertainty"),
    ('"scenario.seed" = { low = 1, high = 400, reason = "a guess" }', "'scenario.seed' cannot be an uncertainty"),
    ('"metrics.planning_horizon_h" = { low = 24, high = 400, reason = "a guess" }', "what is measured"),
    ('"cells.u2.label" = { values = ["a", "b"], reason = "a guess" }', "a display text"),
    # item 14: an also loop, or a setting moved by two uncertainties, recorded one value and ran another
    ('"kinds.attack.shelf_life_h" = { low = 2, high = 5, also = ["kinds.msr_threat.shelf_life_h"], reason = "a guess" }\n'
     '"kinds.msr_threat.shelf_life_h" = { low = 2, high = 5, also = ["kinds.attack.shelf_life_h"], reason = "a guess" }',
     "already moved by the uncertainty 'kinds.attack.shelf_life_h'"),
    ('"kinds.attack.shelf_life_h" = { low = 2, high = 5, also = ["kinds.attack.shelf_life_h"], reason = "a guess" }',
     "already moved"),
    # item 14: unequal also values passed
    ('"kinds.attack.shelf_life_h" = { low = 2, high = 5, also = ["cells.u2.work_h.mean"], reason = "a guess" }',
     "must start equal"),
    # item 16: fractional values on an integer setting passed validate and failed mid-study
    ('"cells.u2.analysts" = { values = [1.5, 2.5], reason = "a guess" }', "values must be whole numbers"),
    ('"cells.u2.analysts" = { values = ["1", "2"], reason = "a guess" }', "'1' is not a value of 'cells.u2.analysts'"),
    ('"cells.u2.analysts" = { low = "1", high = 2, reason = "a guess" }', "valid number"),
    # issue 19 item 2: each end is validated on the part it lies in, then the whole scenario's checks
    # run on the scenario with that part put back; a value that only the graph refuses is still named
    ('"commanders.force_commander.acts.call.at" = { values = ["arrival", "nowhere"], reason = "a guess" }',
     "uncertainties.commanders.force_commander.acts.call.at.values[1]: 'nowhere' is outside what "
     "commanders.force_commander.acts.call.at allows: 'nowhere' is neither 'arrival'"),
    ('"cells.u2.routing" = { values = ["each", "choose"], reason = "a guess" }',
     "cells.u2.routing allows: \"choose\" picks one link, so the p of its links must sum to at most 1"),
    ('"cells.u2.consumer" = { values = [true, false], reason = "a guess" }', "is outside what metrics allows"),
    # ends fine one by one, not together (two fields of one table)
    ('"cells.u2.hoard.p_hold" = { low = 0.1, high = 0.7, reason = "a guess" }\n'
     '"cells.u2.hoard.p_never" = { low = 0.0, high = 0.4, reason = "b guess" }',
     "uncertainties: every high at once makes an invalid scenario: cells.u2.hoard: p_hold + p_never"),
    # an end outside the field in several tables at once: the first named, the others counted
    ('"collectors.bn_west.p_observe" = { low = 1.2, high = 1.5, also = ["collectors.nigerbat.p_observe", '
     '"collectors.bn_east.p_observe"], reason = "a guess" }',
     "uncertainties.collectors.bn_west.p_observe.low: 1.2 is outside what collectors.bn_west.p_observe allows: "
     "input should be less than or equal to 1 (got 1.2) [and 2 more problems]"),
    ('"links[asifu->u2].transit_h.mean" = { low = -1, high = 3, reason = "a guess" }',
     "uncertainties.links[asifu->u2].transit_h.mean.low: -1.0 is outside what links[46].transit_h.mean allows"),
    ('"collectors.bn_west.patrols.per_day" = { low = 2, high = 10, reason = "a guess" }',
     "10.0 is outside what collectors.bn_west.patrols allows: duration_h: a patrol must end before"),
]


@pytest.mark.parametrize("line,expected", BAD)
def test_bad_uncertainty_specs_get_one_line_naming_the_path(tmp_path, line, expected):
    body = scenario.builtin_text("minusma-2015").split("\n[uncertainties]\n")[0]
    f = tmp_path / "bad.toml"
    f.write_text(body + "\n[uncertainties]\n" + line + "\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["validate", str(f)])
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines() if hasattr(res, "stderr") else res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {f}: uncertainties"), lines
    assert expected in lines[0], lines[0]
    assert "Traceback" not in res.output


def _full_validations(monkeypatch, text: str) -> int:
    """How many times parsing ``text`` validates a whole scenario."""
    calls = []
    whole = scenario.Scenario.model_validate.__func__

    def counted(cls, *args, **kwargs):
        calls.append(cls)
        return whole(cls, *args, **kwargs)

    monkeypatch.setattr(scenario.Scenario, "model_validate", classmethod(counted))
    monkeypatch.setattr(uncertainties, "_CHECKED", set())  # no memory of an earlier check
    sc = scenario.parse(scenario.read_toml_text(text, "many.toml"), "many.toml")
    assert sc.uncertainties
    return len(calls)


def test_loading_does_not_parse_the_scenario_again_per_uncertain_setting(monkeypatch):
    """Issue 19 item 2: the checks of the ends re-parsed the whole scenario (once for
    all lows, once for all highs, once per listed value: 9 times for minusma-2015, and
    one more for every further value). Each end is now validated on its own part."""
    text = scenario.builtin_text("minusma-2015")
    collectors = scenario.load("minusma-2015").collectors
    more = "".join(f'"collectors.{name}.formats" = {{ values = [false, true], reason = "formats or not" }}\n'
                   for name, col in collectors.items() if not col.formats)
    assert more.count("\n") >= 10
    assert _full_validations(monkeypatch, text) == 1  # the file itself
    assert _full_validations(monkeypatch, text + more) == 1


def test_a_choice_can_be_uncertain_and_every_world_is_valid():
    body = scenario.builtin_text("minusma-2015").split("\n[uncertainties]\n")[0]
    text = body + ('\n[uncertainties]\n"switches.asifu_position.value" = { values = ["apart", "in_u2_branch"], '
                   'reason = "where ASIFU sits" }\n"cells.u2.analysts" = { low = 1, high = 4, reason = "staffing" }\n')
    data = scenario.read_toml_text(text, "choice.toml")
    sc = scenario.parse(copy.deepcopy(data), "choice.toml")
    space = Space(data, sc)
    worlds = space.worlds(8, seed=2)
    assert {w["switches.asifu_position.value"] for w in worlds} == {"apart", "in_u2_branch"}  # LHS: half each
    for w in worlds:
        world = scenario.parse(space.apply(data, w, "choice.toml"), "choice.toml")
        assert world.switches["asifu_position"].value == w["switches.asifu_position.value"]
    bad = text.replace('values = ["apart", "in_u2_branch"]', 'values = ["apart", "nowhere"]')
    with pytest.raises(scenario.ScenarioError, match=r"uncertainties.switches.asifu_position.value.values\[1\]"):
        scenario.parse(scenario.read_toml_text(bad, "bad.toml"), "bad.toml")
